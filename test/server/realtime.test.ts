import { afterEach, describe, expect, it } from 'vitest';
import { channelFor } from '../../runtime/connectors/postgres/index';
import type { ChangeListeners } from '../../runtime/scheduler/changeListeners';
import { createTestSchema, databaseUrl, skipPostgres, type TestSchema } from '../connectors/support/postgres';
import { addContact, auth, contacts, deployPeople, eventually, peopleFlow, recordPasses, testRuntime, unprocessedEvents, type TestRuntime } from './support';

/**
 * Real-time changes from PostgreSQL (`notify: true`) on a deployed flow: the runtime listens, and a row written in
 * PostgreSQL reaches the SQLite side long before the postgres trigger's own schedule would have brought it.
 */
const HOUR = 60 * 60 * 1000;

let t: TestRuntime | undefined;
let schema: TestSchema | undefined;
afterEach(async () => {
  await t?.close();
  await schema?.drop();
  t = undefined;
  schema = undefined;
});

/** The people flow with its `a` side a PostgreSQL table that reports its changes. */
function postgresPeopleFlow(schemaName: string, detect: unknown): Record<string, unknown> {
  const flow = peopleFlow({ detect }) as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
  const a = flow.nodes.find((node) => node.id === 'a')!;
  a.config = { ...a.config, connector: 'postgres', connection: { url: databaseUrl, notify: true }, collection: `${schemaName}.people` };
  return flow;
}

async function setUp(detect: unknown): Promise<{ t: TestRuntime; schema: TestSchema; listeners: ChangeListeners; table: string }> {
  schema = await createTestSchema('syncline_realtime');
  const table = `"${schema.name}".people`;
  await schema.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, name text, email text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
  t = await testRuntime();
  await deployPeople(t, postgresPeopleFlow(schema.name, detect));
  const listeners = t.runtime.deps.scheduler.listeners!;
  return { t, schema, listeners, table };
}

/** The server's sessions that LISTEN on the table's channel: the subscriptions as PostgreSQL sees them. */
async function listenersAtServer(schema: TestSchema): Promise<number> {
  const rows = await schema.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()`, [
    `LISTEN "${channelFor(schema.name, 'people')}"`,
  ]);
  return Number(rows[0]?.n ?? 0);
}

async function listening(t: TestRuntime, schema: TestSchema, count: number): Promise<void> {
  await eventually(async () => {
    expect(t.runtime.deps.scheduler.listeners!.listening()).toHaveLength(count);
    expect(await listenersAtServer(schema)).toBe(count);
  });
}

async function insertPerson(schema: TestSchema, table: string, name: string, email: string): Promise<number> {
  const [row] = await schema.query<{ id: number }>(`INSERT INTO ${table} (name, email) VALUES ($1, $2) RETURNING id`, [name, email]);
  return row!.id;
}

const names = (t: TestRuntime) => contacts(t.dir).map((contact) => contact.full_name);

/** Every change event stored in the inbox so far, processed or not. */
async function storedEvents(t: TestRuntime): Promise<number> {
  return (await t.inbox.selectFrom('webhook_events').select('id').execute()).length;
}

describe.skipIf(skipPostgres())('real-time changes from PostgreSQL (notify)', () => {
  it('brings a row written in PostgreSQL to SQLite within moments, though the trigger polls hourly', async () => {
    const { t, schema, listeners, table } = await setUp({ mode: 'poll', intervalMs: HOUR });
    await listening(t, schema, 1);
    expect(listeners.listening()).toEqual(['people/a']);
    // The deploy's own passes (the first poll, the catch-up after subscribing) are done before the changes start.
    await t.runtime.deps.runner.idle();
    const passes = recordPasses(t);

    // Each change is brought by a pass with the notification's hint: the trigger's next poll is an hour away.
    const id = await insertPerson(schema, table, 'Ada Lovelace', 'ada@example.com');
    await eventually(() => expect(names(t)).toEqual(['Ada Lovelace']));
    await schema.query(`UPDATE ${table} SET name = 'Ada King', updated_at = clock_timestamp() WHERE id = $1`, [id]);
    await eventually(() => expect(names(t)).toEqual(['Ada King']));
    await schema.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
    await eventually(() => expect(contacts(t.dir)).toEqual([]));
    await t.runtime.deps.worker.idle();
    await eventually(async () => expect(await unprocessedEvents(t)).toBe(0));
    await t.runtime.deps.runner.idle();
    expect(passes.map((pass) => pass.reason)).toEqual(passes.map(() => 'webhook'));
    expect(passes.flatMap((pass) => pass.hints ?? []).map((hint) => hint.type)).toEqual(['upsert', 'upsert', 'delete']);
  });

  it('merges a burst into one pass with one hint per record, in order, one pass of the flow at a time', async () => {
    const { t, schema, table } = await setUp({ mode: 'poll', intervalMs: HOUR });
    await listening(t, schema, 1);
    await t.runtime.deps.runner.idle();
    const passes = recordPasses(t);
    let running = 0;
    let most = 0;
    const engine = t.runtime.deps.engine;
    const recording = engine.runPass.bind(engine);
    engine.runPass = async (flow, options) => {
      running += 1;
      most = Math.max(most, running);
      try {
        return await recording(flow, options);
      } finally {
        running -= 1;
      }
    };

    // With the worker stopped the whole burst is heard and stored before any of it is taken into a pass.
    const { worker } = t.runtime.deps;
    await worker.stop();
    const ada = await insertPerson(schema, table, 'Ada 0', 'ada@example.com');
    for (let n = 1; n <= 20; n += 1) await schema.query(`UPDATE ${table} SET name = $1, updated_at = clock_timestamp() WHERE id = $2`, [`Ada ${n}`, ada]);
    const others: number[] = [];
    for (const n of [1, 2, 3]) others.push(await insertPerson(schema, table, `Person ${n}`, `p${n}@example.com`));
    await schema.query(`DELETE FROM ${table} WHERE id = $1`, [others[2]]);
    await eventually(async () => expect(await unprocessedEvents(t)).toBe(25));
    const stored = await t.inbox.selectFrom('webhook_events').select(['record_id', 'type']).where('record_id', 'in', [String(ada), String(others[2])]).orderBy('id').execute();
    expect(stored.filter((event) => event.record_id === String(others[2])).map((event) => event.type)).toEqual(['upsert', 'delete']);
    expect(stored.filter((event) => event.record_id === String(ada))).toHaveLength(21);

    await worker.resumeAll();
    await eventually(() => expect([...names(t)].sort()).toEqual(['Ada 20', 'Person 1', 'Person 2']));
    await worker.idle();
    await t.runtime.deps.runner.idle();
    const hinted = passes.filter((pass) => pass.hints !== undefined);
    expect(hinted).toHaveLength(1);
    expect(hinted[0]!.hints).toHaveLength(4);
    expect(hinted[0]!.hints).toEqual(
      expect.arrayContaining([
        { nodeId: 'a', recordId: String(ada), type: 'upsert' },
        { nodeId: 'a', recordId: String(others[2]), type: 'delete' },
      ]),
    );
    expect(await unprocessedEvents(t)).toBe(0);

    // Live, changes that arrive while a pass runs are merged into the one pass that follows it, never run beside it.
    // The first live pass is held open until the whole burst is stored, so how much merges does not depend on timing.
    passes.length = 0;
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    engine.runPass = async (flow, options) => {
      running += 1;
      most = Math.max(most, running);
      try {
        if (!holding) {
          holding = true;
          await hold;
        }
        return await recording(flow, options);
      } finally {
        running -= 1;
      }
    };
    const storedBefore = await storedEvents(t);
    await schema.query(`UPDATE ${table} SET name = 'Ada 21', updated_at = clock_timestamp() WHERE id = $1`, [ada]);
    await eventually(() => expect(holding).toBe(true));
    for (let n = 22; n <= 60; n += 1) await schema.query(`UPDATE ${table} SET name = $1, updated_at = clock_timestamp() WHERE id = $2`, [`Ada ${n}`, ada]);
    await eventually(async () => expect(await storedEvents(t)).toBe(storedBefore + 40));
    release();
    await eventually(() => expect(names(t)).toContain('Ada 60'));
    await worker.idle();
    await t.runtime.deps.runner.idle();
    const live = passes.filter((pass) => pass.hints !== undefined);
    // The held pass took the one change stored before it started; the pass after it took the other 39, as one hint.
    expect(live).toHaveLength(2);
    expect(live.map((pass) => pass.hints)).toEqual([[expect.objectContaining({ recordId: String(ada) })], [expect.objectContaining({ recordId: String(ada) })]]);
    expect(most).toBe(1);
    expect(await unprocessedEvents(t)).toBe(0);
  });

  it('listens once per deployed flow and trigger, stops on pause and removal, and catches up when it listens again', async () => {
    const { t, schema, table } = await setUp({ mode: 'webhook', secret: { credential: 'hook-secret' } });
    await listening(t, schema, 1);
    expect((await t.post('/api/flows/people/deploy')).status).toBe(200);
    await t.runtime.deps.scheduler.listeners!.settled();
    await listening(t, schema, 1);

    expect((await t.post('/api/flows/people/pause')).status).toBe(200);
    await listening(t, schema, 0);
    await t.runtime.deps.runner.idle();
    const passes = recordPasses(t);
    // Nobody listens (the server says so above), so PostgreSQL notifies no one of this row.
    const grace = await insertPerson(schema, table, 'Grace Hopper', 'grace@example.com');
    expect(contacts(t.dir)).toEqual([]);

    // Listening again starts with a pass that reads what changed while nobody listened.
    expect((await t.post('/api/flows/people/deploy')).status).toBe(200);
    await listening(t, schema, 1);
    await eventually(() => expect(names(t)).toEqual(['Grace Hopper']));
    // It was that catch-up pass, not a notification heard while paused, that brought the row.
    await t.runtime.deps.runner.idle();
    expect(passes.filter((pass) => pass.hints !== undefined)).toEqual([]);
    expect(await t.inbox.selectFrom('webhook_events').select('id').where('record_id', '=', String(grace)).execute()).toEqual([]);

    // A replaced flow that still asks for notify keeps its one subscription.
    const replaced = await t.request('/api/flows/people', {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ ...postgresPeopleFlow(schema.name, { mode: 'webhook', secret: { credential: 'hook-secret' } }), name: 'People, renamed' }),
    });
    expect(replaced.status).toBe(200);
    await listening(t, schema, 1);

    expect((await t.request('/api/flows/people', { method: 'DELETE', headers: auth })).status).toBe(204);
    await listening(t, schema, 0);
  });

  it('listens again after a restart of the runtime, and after losing its connection', async () => {
    const { t, schema, table } = await setUp({ mode: 'webhook', secret: { credential: 'hook-secret' } });
    await listening(t, schema, 1);

    await t.runtime.stop();
    await listening(t, schema, 0);
    await insertPerson(schema, table, 'Alan Turing', 'alan@example.com');
    await t.runtime.deps.catalog.load();
    await t.runtime.start();
    await listening(t, schema, 1);
    await eventually(() => expect(names(t)).toEqual(['Alan Turing']));
    await insertPerson(schema, table, 'Edsger Dijkstra', 'edsger@example.com');
    await eventually(() => expect(names(t)).toEqual(['Alan Turing', 'Edsger Dijkstra']));

    // The server drops the listening session: the runtime listens again and reads what it missed.
    await schema.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${channelFor(schema.name, 'people')}"`]);
    await insertPerson(schema, table, 'Barbara Liskov', 'barbara@example.com');
    await eventually(() => expect(names(t)).toEqual(['Alan Turing', 'Edsger Dijkstra', 'Barbara Liskov']));
    await listening(t, schema, 1);
  });

  it("drops its own writes' notifications unread, and hears a person's edit right after them", async () => {
    schema = await createTestSchema('syncline_realtime');
    const table = `"${schema.name}".people`;
    await schema.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, name text, email text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp(), sync_tag text)`);
    const own = await testRuntime();
    t = own;
    const flow = postgresPeopleFlow(schema.name, { mode: 'poll', intervalMs: HOUR }) as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
    flow.nodes.find((node) => node.id === 'a')!.config.tagColumn = 'sync_tag';
    await deployPeople(own, flow);
    await listening(own, schema, 1);
    await own.runtime.deps.runner.idle();

    // The runtime writes two people into PostgreSQL: their notifications carry this flow's tags.
    addContact(own.dir, { full_name: 'Ada Lovelace', email: 'ada@example.com' });
    addContact(own.dir, { full_name: 'Alan Turing', email: 'alan@example.com' });
    expect((await own.post('/api/flows/people/run')).status).toBe(200);
    const [ada] = await schema.query<{ id: number }>(`SELECT id FROM ${table} WHERE email = 'ada@example.com'`);
    expect(ada).toBeDefined();
    // Then a person edits one. PostgreSQL delivers a channel's notifications in commit order, so once this edit's
    // event is stored, the two writes' notifications have been heard before it: stored, or dropped as echoes.
    await schema.query(`UPDATE ${table} SET name = 'Ada King', updated_at = clock_timestamp() WHERE id = $1`, [ada!.id]);
    await eventually(async () => expect(await storedEvents(own)).toBeGreaterThanOrEqual(1));
    expect((await own.inbox.selectFrom('webhook_events').select('record_id').execute()).map((event) => event.record_id)).toEqual([String(ada!.id)]);
    await eventually(() => expect(names(own).sort()).toEqual(['Ada King', 'Alan Turing']));
  });
});
