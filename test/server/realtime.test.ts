import { afterEach, describe, expect, it } from 'vitest';
import { channelFor } from '../../runtime/connectors/postgres/index';
import type { ChangeHint, PassOptions } from '../../runtime/engine/types';
import type { ChangeListeners } from '../../runtime/scheduler/changeListeners';
import { createTestSchema, databaseUrl, skipPostgres, type TestSchema } from '../connectors/support/postgres';
import { auth, contacts, deployPeople, eventually, peopleFlow, testRuntime, type TestRuntime } from './support';

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

/** Records the reason and hints of every pass. */
function recordPasses(t: TestRuntime): Array<{ reason: string | undefined; hints: ChangeHint[] | undefined }> {
  const engine = t.runtime.deps.engine;
  const original = engine.runPass.bind(engine);
  const seen: Array<{ reason: string | undefined; hints: ChangeHint[] | undefined }> = [];
  engine.runPass = async (flow, options: PassOptions) => {
    seen.push({ reason: options.reason, hints: options.hints });
    return original(flow, options);
  };
  return seen;
}

async function pending(t: TestRuntime): Promise<number> {
  return (await t.inbox.selectFrom('webhook_events').select('id').where('processed_at', 'is', null).execute()).length;
}

describe.skipIf(skipPostgres())('real-time changes from PostgreSQL (notify)', () => {
  it('brings a row written in PostgreSQL to SQLite within moments, though the trigger polls hourly', async () => {
    const { t, schema, listeners, table } = await setUp({ mode: 'poll', intervalMs: HOUR });
    await listening(t, schema, 1);
    expect(listeners.listening()).toEqual(['people/a']);
    // The deploy's own passes (the first poll, the catch-up after subscribing) are done before the clock starts.
    await t.runtime.deps.runner.idle();

    const started = Date.now();
    const id = await insertPerson(schema, table, 'Ada Lovelace', 'ada@example.com');
    await eventually(() => expect(names(t)).toEqual(['Ada Lovelace']), 5000);
    expect(Date.now() - started).toBeLessThan(5000);

    await schema.query(`UPDATE ${table} SET name = 'Ada King', updated_at = clock_timestamp() WHERE id = $1`, [id]);
    await eventually(() => expect(names(t)).toEqual(['Ada King']), 5000);

    await schema.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
    await eventually(() => expect(contacts(t.dir)).toEqual([]), 5000);
    await t.runtime.deps.worker.idle();
    await eventually(async () => expect(await pending(t)).toBe(0));
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
    await eventually(async () => expect(await pending(t)).toBe(25));
    const stored = await t.inbox.selectFrom('webhook_events').select(['record_id', 'type']).where('record_id', 'in', [String(ada), String(others[2])]).orderBy('id').execute();
    expect(stored.filter((event) => event.record_id === String(others[2])).map((event) => event.type)).toEqual(['upsert', 'delete']);
    expect(stored.filter((event) => event.record_id === String(ada))).toHaveLength(21);

    await worker.resumeAll();
    await eventually(() => expect([...names(t)].sort()).toEqual(['Ada 20', 'Person 1', 'Person 2']), 5000);
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
    expect(await pending(t)).toBe(0);

    // Live, a burst is merged into the passes that follow each other as the changes arrive, never two at once.
    passes.length = 0;
    for (let n = 21; n <= 60; n += 1) await schema.query(`UPDATE ${table} SET name = $1, updated_at = clock_timestamp() WHERE id = $2`, [`Ada ${n}`, ada]);
    await eventually(() => expect(names(t)).toContain('Ada 60'), 5000);
    await worker.idle();
    await t.runtime.deps.runner.idle();
    expect(passes.filter((pass) => pass.hints !== undefined).length).toBeLessThan(20);
    expect(most).toBe(1);
  });

  it('listens once per deployed flow and trigger, stops on pause and removal, and catches up when it listens again', async () => {
    const { t, schema, table } = await setUp({ mode: 'webhook', secret: { credential: 'hook-secret' } });
    await listening(t, schema, 1);
    expect((await t.post('/api/flows/people/deploy')).status).toBe(200);
    await t.runtime.deps.scheduler.listeners!.settled();
    await listening(t, schema, 1);

    expect((await t.post('/api/flows/people/pause')).status).toBe(200);
    await listening(t, schema, 0);
    await insertPerson(schema, table, 'Grace Hopper', 'grace@example.com');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(contacts(t.dir)).toEqual([]);

    // Listening again starts with a pass that reads what changed while nobody listened.
    expect((await t.post('/api/flows/people/deploy')).status).toBe(200);
    await listening(t, schema, 1);
    await eventually(() => expect(names(t)).toEqual(['Grace Hopper']), 5000);

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
    await eventually(() => expect(names(t)).toEqual(['Alan Turing']), 5000);
    await insertPerson(schema, table, 'Edsger Dijkstra', 'edsger@example.com');
    await eventually(() => expect(names(t)).toEqual(['Alan Turing', 'Edsger Dijkstra']), 5000);

    // The server drops the listening session: the runtime listens again and reads what it missed.
    await schema.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${channelFor(schema.name, 'people')}"`]);
    await insertPerson(schema, table, 'Barbara Liskov', 'barbara@example.com');
    await eventually(() => expect(names(t)).toEqual(['Alan Turing', 'Edsger Dijkstra', 'Barbara Liskov']), 10_000);
    await listening(t, schema, 1);
  });
});
