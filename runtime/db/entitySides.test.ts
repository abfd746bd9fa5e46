import Sqlite from 'better-sqlite3';
import { sql } from 'kysely';
import { describe, expect, it, onTestFinished } from 'vitest';
import { stateDatabases } from '../../test/support/stateDatabases';
import { storedLinks } from '../../test/support/links';
import { linkFromSides, linksOfSides, parseSides, removeLink, setLink, storedLink } from './entitySides';
import { migrateToLatest, migrateUpTo, wrapSqlite, type StateDb } from './index';
import { insertMany, saveEntityRows, setEntitySides, upsertLinks } from './queries';
import { up } from './migrations/2026_12_07_0900_entity_sides';
import type { Database, EntityRow, LinkRow } from './schema';

const link = (nodeId: string, recordId: string, entityId: string, more: Partial<LinkRow> = {}): LinkRow => ({
  flow_id: 'f',
  node_id: nodeId,
  record_id: recordId,
  entity_id: entityId,
  shadow: `{"name":"${recordId} on ${nodeId}"}`,
  shadow_hash: null,
  version: '"2026-12-01T00:00:00Z"',
  deleted: 0,
  updated_at: '2026-12-02T00:00:00.000Z',
  written_tag: null,
  written_hash: null,
  ...more,
});

describe('an entity’s sides', () => {
  it('hold each link’s state without its null fields, and give it back whole', () => {
    const sides = parseSides('{}');
    const written = link('b', '2', 'e', { written_tag: 't', written_hash: 'h', shadow_hash: 'sh', deleted: 1 });
    setLink(sides, 'a', '1', storedLink(link('a', '1', 'e', { shadow: null, version: null })));
    setLink(sides, 'b', '2', storedLink(written));
    expect(JSON.parse(JSON.stringify(sides))).toEqual({
      a: { '1': { updated_at: '2026-12-02T00:00:00.000Z' } },
      b: { '2': { updated_at: '2026-12-02T00:00:00.000Z', shadow: written.shadow, shadow_hash: 'sh', version: written.version, written_tag: 't', written_hash: 'h', deleted: 1 } },
    });
    expect(linksOfSides({ id: 'e', flow_id: 'f', sides: JSON.stringify(sides) })).toEqual([link('a', '1', 'e', { shadow: null, version: null }), written]);
    expect(removeLink(sides, 'a', '1')).toBe(true);
    expect(removeLink(sides, 'a', '1')).toBe(false);
    expect(Object.keys(sides)).toEqual(['b']);
    // A narrow row its entity holds no entry for reads as a link with nothing synced: never as no link.
    expect(linkFromSides(sides, { flow_id: 'f', node_id: 'c', record_id: '9', entity_id: 'e', deleted: 0 })).toMatchObject({ record_id: '9', shadow: null, version: null });
  });
});

/** A state as the release before one row per entity left it: wide links, entities without sides. */
async function stateBeforeSides(name: string, open: () => Promise<StateDb>): Promise<StateDb> {
  if (name === 'sqlite') {
    const db = wrapSqlite<Database>(new Sqlite(':memory:'));
    onTestFinished(() => db.destroy());
    await migrateUpTo(db, '2026_12_06_1100_run_process');
    return db;
  }
  // PostgreSQL: a migrated schema given back the old columns (the migration's `down` keeps the new layout).
  const db = await open();
  await sql`alter table entities drop column sides`.execute(db);
  for (const column of ['shadow', 'shadow_hash', 'version', 'updated_at', 'written_tag', 'written_hash']) await sql`alter table links add column ${sql.ref(column)} text`.execute(db);
  return db;
}

describe.each(stateDatabases)('migration 2026_12_07_0900_entity_sides on $name', ({ name, open }) => {
  it('moves every link’s state into its entity without loss, and narrows the links', async () => {
    const db = await stateBeforeSides(name, open);
    const entities = Array.from({ length: 1203 }, (_, index) => `e${String(index).padStart(5, '0')}`);
    const entity = (id: string) => ({ id, flow_id: 'f', golden: '{}', match_key: null, deleted: 0, breaker_window_start: null, breaker_writes: 0, quarantined: 0, created_at: 'x', updated_at: 'x' });
    for (let start = 0; start < entities.length; start += 400) await sql`insert into entities ${sql.raw('(id, flow_id, golden, match_key, deleted, breaker_window_start, breaker_writes, quarantined, created_at, updated_at)')} values ${sql.join(entities.slice(start, start + 400).map((id) => sql`(${sql.join(Object.values(entity(id)))})`))}`.execute(db);
    const links: LinkRow[] = [];
    entities.forEach((entityId, index) => {
      links.push(link('a', `a${index}`, entityId, index % 7 === 0 ? { shadow: null, version: null } : {}));
      if (index % 3 !== 0) links.push(link('b', `b${index}`, entityId, { written_tag: `t${index}`, written_hash: `h${index}`, shadow_hash: `s${index}`, deleted: index % 11 === 0 ? 1 : 0 }));
    });
    const columns = ['flow_id', 'node_id', 'record_id', 'entity_id', 'shadow', 'shadow_hash', 'version', 'deleted', 'updated_at', 'written_tag', 'written_hash'] as const;
    for (let start = 0; start < links.length; start += 400) {
      const rows = links.slice(start, start + 400).map((row) => sql`(${sql.join(columns.map((column) => row[column]))})`);
      await sql`insert into links (${sql.join(columns.map((column) => sql.ref(column)))}) values ${sql.join(rows)}`.execute(db);
    }

    // SQLite runs the dated migrations as a state file would; PostgreSQL this one, on the columns given back above.
    if (name === 'sqlite') await migrateToLatest(db);
    else await up(db as never);
    const byKey = (a: LinkRow, b: LinkRow) => (a.node_id + a.record_id < b.node_id + b.record_id ? -1 : 1);
    expect((await storedLinks(db)).sort(byKey)).toEqual([...links].sort(byKey));
    const narrow = await db.selectFrom('links').selectAll().limit(1).executeTakeFirstOrThrow();
    expect(Object.keys(narrow).sort()).toEqual(['deleted', 'entity_id', 'flow_id', 'node_id', 'record_id']);
  });
});

describe.each(stateDatabases)('the sides of entities on $name', ({ open }) => {
  const entity = (id: string, sides: string): EntityRow => ({
    id,
    flow_id: 'f',
    golden: `{"name":"${id}"}`,
    match_key: null,
    deleted: 0,
    breaker_window_start: null,
    breaker_writes: 0,
    quarantined: 0,
    created_at: '2026-12-04T00:00:00.000Z',
    updated_at: '2026-12-04T00:00:00.000Z',
    provenance: null,
    sides,
  });

  it('are set for the entities given, in chunks of every size, and nowhere else', async () => {
    const db = await open();
    // 300 rows: chunks of 256, 32, 8 and 4, each its own statement.
    const ids = Array.from({ length: 301 }, (_, index) => `e${String(index).padStart(3, '0')}`);
    await insertMany(db, 'entities', ids.map((id) => entity(id, '{}')));
    const changed = ids.slice(0, 300).map((id) => ({ id, sides: JSON.stringify({ a: { [id]: { updated_at: id } } }) }));
    // An id that is not stored changes nothing and adds no row.
    await setEntitySides(db, [...changed, { id: 'absent', sides: '{"a":{}}' }]);
    const stored = await db.selectFrom('entities').select(['id', 'sides', 'golden']).orderBy('id').execute();
    expect(stored).toHaveLength(301);
    expect(stored.slice(0, 300)).toEqual(changed.map(({ id, sides }) => ({ id, sides, golden: `{"name":"${id}"}` })));
    expect(stored[300]).toEqual({ id: 'e300', sides: '{}', golden: '{"name":"e300"}' });
  });

  it('are left as they are by a save of the entity’s golden record', async () => {
    const db = await open();
    await insertMany(db, 'entities', [entity('e1', '{"a":{"1":{"updated_at":"t"}}}')]);
    await saveEntityRows(db, [{ ...entity('e1', '{}'), golden: '{"name":"changed"}' }]);
    expect(await db.selectFrom('entities').select(['golden', 'sides']).execute()).toEqual([{ golden: '{"name":"changed"}', sides: '{"a":{"1":{"updated_at":"t"}}}' }]);
  });
});

describe('entities on SQLite', () => {
  it('keep an entity with its links’ state on its page, up to a few kilobytes, and in no interior page', async () => {
    const sqlite = new Sqlite(':memory:');
    const db = wrapSqlite<Database>(sqlite);
    onTestFinished(() => db.destroy());
    await migrateToLatest(db);
    const ids = Array.from({ length: 2000 }, (_, index) => `e${String(index).padStart(5, '0')}`);
    for (let start = 0; start < ids.length; start += 500) {
      await db.insertInto('entities').values(ids.slice(start, start + 500).map((id) => ({ id, flow_id: 'f', golden: '{}', match_key: null, deleted: 0, breaker_window_start: null, breaker_writes: 0, quarantined: 0, created_at: 'x', updated_at: 'x' }))).execute();
    }
    // Three sides of about 900 bytes each: a WITHOUT ROWID table spills anything over about 1,000 bytes to overflow
    // pages, and copies rows into its interior pages.
    const shadow = JSON.stringify({ notes: 'x'.repeat(850) });
    await upsertLinks(db, ids.flatMap((id) => ['a', 'b', 'c'].map((side) => link(side, `${side}-${id}`, id, { shadow }))));
    const pages = sqlite.prepare("select pagetype, count(*) as n from dbstat where name = 'entities' group by pagetype").all() as Array<{ pagetype: string; n: number }>;
    const count = (type: string) => pages.find((page) => page.pagetype === type)?.n ?? 0;
    expect(count('overflow')).toBe(0);
    expect(count('leaf')).toBeGreaterThan(1000);
    expect(count('internal')).toBeLessThan(20);
  });
});
