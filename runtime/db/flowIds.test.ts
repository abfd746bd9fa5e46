import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { FLOW_ID_PATTERN } from '../../nodes';
import { stateDatabases } from '../../test/support/stateDatabases';
import { up } from './migrations/2026_12_02_1000_flow_ids';

const document = (id: string) => `${JSON.stringify({ version: 3, id, name: `flow ${id}`, nodes: [], edges: [] }, null, 2)}\n`;

describe.each(stateDatabases)('migration 2026_12_02_1000_flow_ids on $name', ({ open }) => {
  it('renames stored flows whose ids the API could not address, with everything of theirs, and leaves the rest', async () => {
    const db = await open();
    const now = new Date().toISOString();
    const ids = ['.', '..', 'a/b', '<script>', 'ok', 'a-b', 'x'.repeat(300)];
    for (const id of ids) {
      await db.insertInto('flows').values({ id, document: document(id), deployed: 0, alert_url: null, created_at: now, updated_at: now }).execute();
      await db
        .insertInto('runs')
        .values({ id: `run of ${id}`, flow_id: id, started_at: now, finished_at: now, status: 'ok', reason: 'manual', dry_run: 0, summary: null, error: null })
        .execute();
    }

    await up(db as never);

    const flows = await db.selectFrom('flows').select(['id', 'document']).orderBy('id').execute();
    const renamed = Object.fromEntries((await db.selectFrom('runs').select(['id', 'flow_id']).execute()).map((run) => [run.id.slice('run of '.length), run.flow_id]));
    // Every id now fits, "a/b" became "a-b-2" because "a-b" was taken, and untouched ids stayed.
    expect(flows.every((flow) => FLOW_ID_PATTERN.test(flow.id))).toBe(true);
    expect(renamed).toMatchObject({ ok: 'ok', 'a-b': 'a-b', 'a/b': 'a-b-2', '.': 'flow', '..': 'flow-2', '<script>': 'script-' });
    expect(new Set(Object.values(renamed)).size).toBe(ids.length);
    // Each flow's document carries its new id, and its runs moved with it.
    for (const flow of flows) expect((JSON.parse(flow.document) as { id: string }).id).toBe(flow.id);
    expect(flows.map((flow) => flow.id).sort()).toEqual(Object.values(renamed).sort());

    // Run again, it has nothing left to do.
    const before = JSON.stringify(await sql`select * from flows order by id`.execute(db));
    await up(db as never);
    expect(JSON.stringify(await sql`select * from flows order by id`.execute(db))).toBe(before);
  });
});
