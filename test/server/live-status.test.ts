/**
 * GET /api/flows/:id/status: what the canvas shows on its nodes while the runtime runs, computed from the state real
 * passes leave (links, runs and their logs, failing records, conflicts), and the trigger whose system a pass could not
 * reach.
 */
import Sqlite from 'better-sqlite3';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { flowStatusSchema } from '../../runtime/api/schemas';
import { addContact, auth, eventually, peopleFlow, testRuntime, upsertPerson, type TestRuntime } from './support';

describe('the live status of a flow', () => {
  let t: TestRuntime;
  afterEach(async () => {
    await t?.close();
  });

  async function status(flowId = 'people') {
    const response = await t.request(`/api/flows/${flowId}/status`, { headers: auth });
    expect(response.status).toBe(200);
    return flowStatusSchema.parse(await response.json());
  }

  async function pass(): Promise<{ status: string; error: string | null }> {
    return (await t.post('/api/flows/people/run')).json() as Promise<{ status: string; error: string | null }>;
  }

  it('counts each trigger’s records in sync, the last hour’s writes on it, and open conflicts where they meet', async () => {
    t = await testRuntime();
    await t.post('/api/flows', peopleFlow({ detect: { mode: 'manual' }, namePolicy: 'manual' }));
    let live = await status();
    expect(live.nodes.a).toEqual({ lastPassAt: null, synced: 0, changesLastHour: 0, failing: 0, openConflicts: 0, problem: null, webhook: null });
    expect(live.conflictNodes).toEqual({ resolve: { openConflicts: 0 } });

    const ada = upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    upsertPerson(t.dir, { name: 'Alan Turing', email: 'alan@example.com' });
    addContact(t.dir, { full_name: 'Grace Hopper', email: 'grace@example.com' });
    expect((await pass()).status).toBe('ok');
    // Three people on each side; two created on b, one on a. (The canvas polls: a count may catch up a poll later.)
    live = await eventually(async () => {
      const now = await status();
      expect(now.nodes.a).toMatchObject({ synced: 3, changesLastHour: 1, failing: 0, openConflicts: 0, problem: null, webhook: null });
      expect(now.nodes.b).toMatchObject({ synced: 3, changesLastHour: 2 });
      return now;
    });
    expect(live.nodes.a?.lastPassAt).not.toBeNull();

    // Both sides rename Ada differently: the manual policy files a conflict naming both.
    upsertPerson(t.dir, { id: ada, name: 'Ada King', email: 'ada@example.com' });
    const b = new Sqlite(join(t.dir, 'b.db'));
    b.prepare("UPDATE contacts SET full_name = 'Ada Byron', modified_at = ? WHERE email = 'ada@example.com'").run(new Date().toISOString());
    b.close();
    expect((await pass()).status).toBe('ok');
    live = await status();
    expect([live.nodes.a?.openConflicts, live.nodes.b?.openConflicts]).toEqual([1, 1]);
    expect(live.conflictNodes).toEqual({ resolve: { openConflicts: 1 } });
  });

  it('shows which trigger’s system the last pass could not reach, until a pass reaches it again', async () => {
    t = await testRuntime();
    await t.post('/api/flows', peopleFlow({ detect: { mode: 'manual' } }));
    upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    expect((await pass()).status).toBe('ok');

    renameSync(join(t.dir, 'b.db'), join(t.dir, 'b.db.away'));
    const failed = await pass();
    expect(failed.status).toBe('failed');
    let live = await status();
    expect(live.nodes.a?.problem).toBeNull();
    expect(live.nodes.b?.problem?.status).toBe('failed');
    // The connector's own words, without the engine's prefix naming the trigger (the node shows whose it is).
    expect(failed.error).toBe(`trigger "b": ${live.nodes.b?.problem?.message}`);
    // What was synced stays counted.
    await eventually(async () => expect((await status()).nodes.b?.synced).toBe(1));

    renameSync(join(t.dir, 'b.db.away'), join(t.dir, 'b.db'));
    expect((await pass()).status).toBe('ok');
    live = await status();
    expect(live.nodes.b?.problem).toBeNull();
  });

  it('answers 404 for a flow it does not store', async () => {
    t = await testRuntime();
    const response = await t.request('/api/flows/ghost/status', { headers: auth });
    expect(response.status).toBe(404);
  });
});
