import Sqlite from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FlowDocument } from '../../nodes/index';
import { loadFlow } from '../../nodes/flow/load';
import { connectorRegistry, loadOptionsFor } from '../../runtime/connectors/index';
import { createMemoryStore, deleteMemoryStore, type MemoryCollectionOptions } from '../../runtime/connectors/memory/index';
import { listConflicts } from '../../runtime/db/conflictQueries';
import { openStateDb, type StateDb } from '../../runtime/db/index';
import { SyncEngine } from '../../runtime/engine/index';
import { EngineInputError } from '../../runtime/engine/types';
import { createFlowLoader } from '../../runtime/flows/flowLoader';
import { createTestSchema, databaseUrl, skipPostgres, type TestSchema } from '../connectors/support/postgres';
import { tick } from './sqlite-fixtures';

// Two databases of one schema, both triggers with keys "shared": a row has the same key on both sides, and a key held
// on the other side by another row is a conflict for a person, never overwritten.

const table = 'CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, name TEXT, kind TEXT, updated_at TEXT)';

function trigger(id: string, connector: Record<string, unknown>, x: number): Record<string, unknown> {
  return { id, type: 'trigger', typeVersion: 1, position: { x, y: 0 }, config: { ...connector, collection: 'people', key: 'id', updatedAt: 'updated_at', keys: 'shared', detect: { mode: 'manual' } } };
}

/** a → filter → hub ← b: rows of kind "internal" stay on a, out of the sync (they still hold their keys there). */
function flowInput(b: Record<string, unknown> = { connector: 'sqlite', connection: { file: 'b.db' } }): Record<string, unknown> {
  return {
    format: 'syncline.flow',
    version: 1,
    id: 'shared-keys',
    name: 'Shared keys',
    nodes: [
      trigger('a', { connector: 'sqlite', connection: { file: 'a.db' } }, 0),
      { id: 'outside', type: 'filter', typeVersion: 1, position: { x: 200, y: 0 }, config: { condition: "kind != 'internal'" } },
      { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 400, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } },
      trigger('b', b, 600),
    ],
    edges: [
      { id: 'e1', source: 'a', target: 'outside' },
      { id: 'e2', source: 'outside', target: 'hub' },
      { id: 'e3', source: 'hub', target: 'b' },
    ],
  };
}

function loaded(input: Record<string, unknown>): FlowDocument {
  const { document, issues } = loadFlow(input);
  if (!document) throw new Error(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  return document;
}

describe('keys "shared" between two SQLite databases', () => {
  let dir: string;
  let a: Sqlite.Database;
  let b: Sqlite.Database;
  let db: StateDb;
  let engine: SyncEngine;
  const rows = (side: Sqlite.Database) => side.prepare('SELECT id, email, name, kind FROM people ORDER BY id').all();
  const row = (side: Sqlite.Database, id: number) => side.prepare('SELECT * FROM people WHERE id = ?').get(id);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'syncline-shared-keys-'));
    a = new Sqlite(join(dir, 'a.db'));
    b = new Sqlite(join(dir, 'b.db'));
    a.exec(table);
    b.exec(table);
    db = await openStateDb(':memory:');
    engine = new SyncEngine({ db, connectors: connectorRegistry });
  });

  afterEach(async () => {
    await engine.close();
    await db.destroy();
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates rows under the same keys both ways, syncs edits both ways, and files a key held by another row as one conflict until it is freed', async () => {
    const flow = loaded(flowInput());
    const pass = () => engine.runPass(flow, { baseDir: dir });
    const insertA = a.prepare('INSERT INTO people (id, email, name, kind, updated_at) VALUES (?, ?, ?, ?, ?)');
    insertA.run(3, 'ada@example.com', 'Ada', 'customer', tick());
    insertA.run(7, 'grace@example.com', 'Grace', 'customer', tick());
    insertA.run(9, 'edsger@example.com', 'Edsger', 'customer', tick());
    insertA.run(50, 'ops@example.com', 'Ops account', 'internal', tick());

    // The first sync onto an empty B: the rows keep their keys; the internal one stays on A.
    expect((await pass()).summary).toMatchObject({ created: 3, failed: 0, conflicts: 0 });
    expect(rows(b)).toEqual([
      { id: 3, email: 'ada@example.com', name: 'Ada', kind: 'customer' },
      { id: 7, email: 'grace@example.com', name: 'Grace', kind: 'customer' },
      { id: 9, email: 'edsger@example.com', name: 'Edsger', kind: 'customer' },
    ]);

    // Edits come back both ways, and rows created on either side keep the key they were given there.
    a.prepare('UPDATE people SET name = ?, updated_at = ? WHERE id = 7').run('Grace Hopper', tick());
    b.prepare('UPDATE people SET name = ?, updated_at = ? WHERE id = 9').run('Edsger Dijkstra', tick());
    a.prepare('INSERT INTO people (email, name, kind, updated_at) VALUES (?, ?, ?, ?)').run('alan@example.com', 'Alan', 'customer', tick());
    b.prepare('INSERT INTO people (email, name, kind, updated_at) VALUES (?, ?, ?, ?)').run('barbara@example.com', 'Barbara', 'customer', tick());
    expect((await pass()).summary).toMatchObject({ created: 2, updated: 2, failed: 0, conflicts: 0 });
    // Each database made the new row's key itself: A after its internal row 50, B after 9.
    const synced = [
      { id: 3, email: 'ada@example.com', name: 'Ada', kind: 'customer' },
      { id: 7, email: 'grace@example.com', name: 'Grace Hopper', kind: 'customer' },
      { id: 9, email: 'edsger@example.com', name: 'Edsger Dijkstra', kind: 'customer' },
      { id: 10, email: 'barbara@example.com', name: 'Barbara', kind: 'customer' },
      { id: 51, email: 'alan@example.com', name: 'Alan', kind: 'customer' },
    ];
    expect(rows(b)).toEqual(synced);
    expect(rows(a)).toEqual([...synced.slice(0, 4), { id: 50, email: 'ops@example.com', name: 'Ops account', kind: 'internal' }, ...synced.slice(4)]);

    // B makes a row under 50, which A's internal row holds: one key conflict; neither row is touched.
    b.prepare('INSERT INTO people (id, email, name, kind, updated_at) VALUES (?, ?, ?, ?, ?)').run(50, 'linus@example.com', 'Linus', 'customer', tick());
    const heldOnA = row(a, 50);
    const madeOnB = row(b, 50);
    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, failed: 0, conflicts: 1 });
    expect(row(a, 50)).toEqual(heldOnA);
    expect(row(b, 50)).toEqual(madeOnB);
    const [conflict, ...others] = await listConflicts(db, { flowId: flow.id, status: 'open' });
    expect(others).toEqual([]);
    expect(conflict).toMatchObject({
      kind: 'key',
      field: 'a',
      sides: {
        a: { key: '50', record: { email: 'ops@example.com', name: 'Ops account', kind: 'internal' } },
        b: { key: '50', record: { email: 'linus@example.com', name: 'Linus', kind: 'customer' } },
      },
    });

    // Every pass tries again; while the key is held it files nothing new and writes nothing.
    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, conflicts: 0, failed: 0 });
    expect(await listConflicts(db, { flowId: flow.id, status: 'open' })).toHaveLength(1);
    expect(row(a, 50)).toEqual(heldOnA);

    // Nothing to pick: a person frees the key.
    const refusal = await engine.resolveConflict(conflict?.id as string, { side: 'b' }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(EngineInputError);
    expect((refusal as EngineInputError).message).toBe(
      'a key conflict is resolved by freeing key 50 on "a" (remove the record that holds it there, or give that record another key); the next pass creates the record',
    );

    a.prepare('DELETE FROM people WHERE id = 50').run();
    expect((await pass()).summary).toMatchObject({ created: 1, updated: 0, failed: 0, conflicts: 0 });
    expect(row(a, 50)).toMatchObject({ id: 50, email: 'linus@example.com', name: 'Linus', kind: 'customer' });
    expect(await listConflicts(db, { flowId: flow.id, status: 'open' })).toEqual([]);
    expect((await listConflicts(db, { flowId: flow.id })).map((each) => [each.kind, each.status])).toEqual([['key', 'applied']]);

    // In sync: a quiet pass writes nothing.
    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, conflicts: 0, failed: 0 });
    expect(rows(a).filter((each) => (each as { kind: string }).kind !== 'internal')).toEqual(rows(b));
  });

  it('refuses keys "shared" on a connector that cannot take a given key: when the flow is validated, and when a pass opens it', async () => {
    const input = flowInput({ connector: 'http', connection: { baseUrl: 'http://127.0.0.1:9', list: { path: '/people' } } });
    const message = 'keys "shared" needs a connector that can create a record under a given key (sqlite, memory, postgres); the http connector cannot: set keys to "own"';

    // syncline validate and `PUT /api/flows/:id` check the flow against the registry.
    const validated = loadFlow(input, loadOptionsFor(connectorRegistry));
    expect(validated.document).toBeNull();
    expect(validated.issues).toEqual([expect.objectContaining({ path: 'nodes[3].config.keys', message, nodeId: 'b' })]);
    const stored = createFlowLoader(connectorRegistry)(input);
    expect(stored.ok).toBe(false);
    expect(stored.ok ? [] : stored.issues.map((issue) => [issue.path, issue.message])).toEqual([['nodes[3].config.keys', message]]);

    // A document that reaches the engine without that check is refused when the pass opens the connector.
    const result = await engine.runPass(loaded(input), { baseDir: dir });
    expect(result.status).toBe('failed');
    expect(result.error).toBe(`trigger "b": ${message}`);
    expect(rows(b)).toEqual([]);
  });
});

describe('which key a create takes', () => {
  const store = 'shared-keys-order';
  let db: StateDb;
  let engine: SyncEngine;

  beforeEach(async () => {
    db = await openStateDb(':memory:');
    engine = new SyncEngine({ db, connectors: connectorRegistry });
  });
  afterEach(async () => {
    await engine.close();
    await db.destroy();
    deleteMemoryStore(store);
  });

  /** Sides meeting at one conflict node that matches on email; `shared` lists the sides with keys "shared". */
  function hub(sides: string[], shared: string[], collections: Record<string, MemoryCollectionOptions> = {}) {
    const memory = createMemoryStore(store);
    const collection = Object.fromEntries(sides.map((side) => [side, memory.createCollection(side, collections[side])]));
    const nodes: unknown[] = sides.map((side, index) => ({
      id: side,
      type: 'trigger',
      typeVersion: 1,
      position: { x: index * 200, y: 0 },
      config: { connector: 'memory', connection: { store }, collection: side, key: 'id', updatedAt: 'updated', detect: { mode: 'manual' }, ...(shared.includes(side) ? { keys: 'shared' } : {}) },
    }));
    nodes.push({ id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 0, y: 200 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } });
    const edges = sides.map((side) => ({ id: `e-${side}`, source: side, target: 'hub' }));
    return { collection, flow: loaded({ format: 'syncline.flow', version: 1, id: 'order', name: 'order', nodes, edges }) };
  }
  const ids = (records: Array<{ id: string; fields: Record<string, unknown> }>) => records.map((record) => [record.id, record.fields.email]);

  it('is the key of the first side in document order that shares keys and holds the record; a side with its own keys gives none', async () => {
    const { collection, flow } = hub(['own', 'first', 'second', 'third'], ['first', 'second', 'third']);
    collection.own?.insert({ email: 'own@example.com' }, { id: 'O-1' });
    collection.second?.insert({ email: 'both@example.com' }, { id: 'S-2' });
    collection.third?.insert({ email: 'both@example.com' }, { id: 'T-2' });
    expect((await engine.runPass(flow, { baseDir: '.' })).summary).toMatchObject({ failed: 0, conflicts: 0 });
    // From a side with its own keys every side makes its own key; from two sides, the earlier one's key goes out.
    expect(ids(collection.first?.all() ?? [])).toEqual([
      ['00000001', 'own@example.com'],
      ['S-2', 'both@example.com'],
    ]);
    expect(ids(collection.own?.all() ?? [])).toEqual([
      ['O-1', 'own@example.com'],
      ['00000001', 'both@example.com'],
    ]);
    expect(ids(collection.second?.all() ?? [])).toEqual([
      ['S-2', 'both@example.com'],
      ['00000001', 'own@example.com'],
    ]);
    expect(ids(collection.third?.all() ?? [])).toEqual([
      ['T-2', 'both@example.com'],
      ['00000001', 'own@example.com'],
    ]);
  });

  it('refuses a collection whose connector takes given keys but not there, naming the trigger and the collection', async () => {
    const { collection, flow } = hub(['a', 'b'], ['a', 'b'], { b: { givenKeys: false } });
    collection.a?.insert({ email: 'a@example.com' });
    const result = await engine.runPass(flow, { baseDir: '.' });
    expect(result.status).toBe('failed');
    expect(result.error).toBe('trigger "b": keys "shared" needs a connector that can create a record under a given key (sqlite, memory, postgres); the memory connector cannot for collection "b": set keys to "own"');
    expect(collection.b?.size).toBe(0);
  });
});

describe.skipIf(skipPostgres())('keys "shared" between two PostgreSQL tables', () => {
  let schema: TestSchema;
  let db: StateDb;
  let engine: SyncEngine;

  beforeEach(async () => {
    schema = await createTestSchema();
    for (const name of ['a', 'b']) await schema.query(`CREATE TABLE "${schema.name}".${name} (id serial PRIMARY KEY, email text, name text, updated_at timestamptz, sync_tag text)`);
    db = await openStateDb(':memory:');
    engine = new SyncEngine({ db, connectors: connectorRegistry });
  });
  afterEach(async () => {
    await engine.close();
    await db.destroy();
    await schema.drop();
  });

  it('copies 1,000 rows under their keys, then edits and new rows both ways, and a quiet pass writes nothing', async () => {
    const side = (id: string, x: number) => ({
      id,
      type: 'trigger',
      typeVersion: 1,
      position: { x, y: 0 },
      config: { connector: 'postgres', connection: { url: databaseUrl }, collection: `${schema.name}.${id}`, key: 'id', updatedAt: 'updated_at', tagColumn: 'sync_tag', keys: 'shared', detect: { mode: 'manual' } },
    });
    const flow = loaded({
      format: 'syncline.flow',
      version: 1,
      id: 'pg-shared-keys',
      name: 'PostgreSQL shared keys',
      nodes: [side('a', 0), { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 200, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } }, side('b', 400)],
      edges: [
        { id: 'e1', source: 'a', target: 'hub' },
        { id: 'e2', source: 'hub', target: 'b' },
      ],
    });
    const pass = () => engine.runPass(flow, { baseDir: '/' });
    const rows = (table: string) => schema.query<{ id: number; email: string; name: string }>(`SELECT id, email, name FROM "${schema.name}".${table} ORDER BY id`);
    // Keys with gaps, as a table that has seen deletes has them.
    await schema.query(`INSERT INTO "${schema.name}".a (id, email, name, updated_at) SELECT n * 3, 'p' || n || '@example.com', 'Person ' || n, clock_timestamp() FROM generate_series(1, 1000) n`);
    await schema.query(`SELECT setval(pg_get_serial_sequence('"${schema.name}".a', 'id'), 3000)`);

    expect((await pass()).summary).toMatchObject({ created: 1000, failed: 0, conflicts: 0 });
    expect(await rows('b')).toEqual(await rows('a'));

    await schema.query(`UPDATE "${schema.name}".b SET name = 'Edited on B', updated_at = clock_timestamp() WHERE id = 300`);
    await schema.query(`INSERT INTO "${schema.name}".a (email, name, updated_at) VALUES ('new@example.com', 'New on A', clock_timestamp())`);
    expect((await pass()).summary).toMatchObject({ created: 1, updated: 1, failed: 0, conflicts: 0 });
    const a = await rows('a');
    expect(a.find((row) => row.id === 300)?.name).toBe('Edited on B');
    expect(a.at(-1)).toEqual({ id: 3001, email: 'new@example.com', name: 'New on A' });
    expect(await rows('b')).toEqual(a);

    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, conflicts: 0, failed: 0 });
  });
});
