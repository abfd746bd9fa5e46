import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import pg from 'pg';
import pino from 'pino';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { createTestSchema, databaseUrl, skipPostgres } from '../../test/connectors/support/postgres';
import { Cluster, type PassJob } from './cluster';

const logger = pino({ level: 'silent' });
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** A fresh state schema (and its job schema), dropped when the test ends. */
async function stateSchema(): Promise<{ name: string; pool: () => pg.Pool }> {
  const schema = await createTestSchema('syncline_cluster');
  onTestFinished(async () => {
    await schema.query(`drop schema if exists "${schema.name}_jobs" cascade`);
    await schema.drop();
  });
  return {
    name: schema.name,
    pool: () => {
      const pool = new pg.Pool({ connectionString: databaseUrl, options: `-c TimeZone=UTC -c search_path=${schema.name}`, max: 6 });
      onTestFinished(() => pool.end());
      return pool;
    },
  };
}

async function member(pool: pg.Pool, name: string, concurrency = 2): Promise<Cluster> {
  const cluster = await Cluster.join({ pool, role: 'serve', name, logger, monitorIntervalMs: 200, concurrency });
  onTestFinished(() => cluster.leave());
  return cluster;
}

/** Starts test/support/clusterMember.ts and resolves with it once it joined; its lines go to `lines`. */
async function childMember(schema: string, lines: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/clusterMember.ts', databaseUrl, schema], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const reader = createInterface({ input: child.stdout! });
  reader.on('line', (line) => lines.push(line));
  await waitFor(() => lines.some((line) => line.startsWith('joined ')), () => `the member did not join: ${lines.join(' | ')}`);
  return child;
}

/** Waits for a condition, re-checked as it changes (polled), failing with `why` after a generous bound. */
async function waitFor(condition: () => boolean | Promise<boolean>, why: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.skipIf(skipPostgres())('the cluster of processes on one PostgreSQL state', () => {
  it('lets one connection at a time hold a flow: a second lockFlow waits in PostgreSQL until the first is released', async () => {
    const schema = await stateSchema();
    const a = await member(schema.pool(), 'a');
    const b = await member(schema.pool(), 'b');
    const releaseA = await a.lockFlow('leads');
    const order: string[] = [];
    const waitingB = b.lockFlow('leads').then((release) => {
      order.push('b locked');
      return release;
    });
    // B's backend is blocked on the advisory lock, as PostgreSQL itself reports.
    const observer = schema.pool();
    await waitFor(
      async () => (await observer.query(`select 1 from pg_locks where locktype = 'advisory' and not granted`)).rowCount! > 0,
      () => 'the second lock request never waited',
    );
    // Another flow is not held up by it.
    const releaseOther = await a.lockFlow('tickets');
    await releaseOther();
    order.push('a releases');
    await releaseA();
    const releaseB = await waitingB;
    expect(order).toEqual(['a releases', 'b locked']);
    await releaseB();
  });

  it("lets one process at a time register a trigger's webhook, apart from other triggers and from the flow's passes", async () => {
    const schema = await stateSchema();
    const a = await member(schema.pool(), 'a');
    const b = await member(schema.pool(), 'b');
    const releaseA = await a.lockTrigger('leads', 'crm');
    let bLocked = false;
    const waitingB = b.lockTrigger('leads', 'crm').then((release) => {
      bLocked = true;
      return release;
    });
    const observer = schema.pool();
    await waitFor(
      async () => (await observer.query(`select 1 from pg_locks where locktype = 'advisory' and not granted`)).rowCount! > 0,
      () => 'the second trigger lock never waited',
    );
    // The flow's other trigger and the flow's pass lock are free.
    await (await b.lockTrigger('leads', 'marketing'))();
    await (await b.lockFlow('leads'))();
    expect(bLocked).toBe(false);
    await releaseA();
    await (await waitingB)();
    expect(bLocked).toBe(true);
  });

  it('lets one process listen for a trigger, and another take over when it lets go or dies', async () => {
    const schema = await stateSchema();
    const pool = schema.pool();
    const [a, b, c] = [await member(pool, 'a'), await member(pool, 'b'), await member(pool, 'c')];
    const heldByA = await a.claimListening('leads', 'crm');
    expect(heldByA).not.toBeNull();
    expect(await b.claimListening('leads', 'crm')).toBeNull();
    // Claims are per trigger.
    const otherTrigger = await b.claimListening('leads', 'marketing');
    expect(otherTrigger).not.toBeNull();
    await heldByA!();
    const heldByB = await b.claimListening('leads', 'crm');
    expect(heldByB).not.toBeNull();
    expect(await a.claimListening('leads', 'crm')).toBeNull();
    // A member that dies (its connections end) takes its claims with it.
    const observer = schema.pool();
    const ended = await observer.query(
      `select pg_terminate_backend(pid) from pg_locks
        where locktype = 'advisory' and granted and classid = $1 and objid = (hashtext(current_schema() || ':leads:crm')::bigint & 4294967295)::oid`,
      [0x5359_0005],
    );
    expect(ended.rowCount).toBe(1);
    await waitFor(async () => (await c.claimListening('leads', 'crm')) !== null, () => 'the claims of the ended connection never freed');
  });

  it('fires a scheduled poll once per interval whichever processes ask', async () => {
    const schema = await stateSchema();
    const pool = schema.pool();
    const members = [await member(pool, 'a'), await member(pool, 'b'), await member(pool, 'c')];
    const first = await Promise.all(members.map((cluster) => cluster.claimTick('leads', 60_000)));
    expect(first.filter(Boolean)).toHaveLength(1);
    // Not due again within the interval…
    expect((await Promise.all(members.map((cluster) => cluster.claimTick('leads', 60_000)))).filter(Boolean)).toHaveLength(0);
    // …and due once the interval has passed (the row says so; time is the database's).
    await pool.query(`update cluster_ticks set due_at = now() - interval '1 second' where flow_id = 'leads'`);
    expect((await Promise.all(members.map((cluster) => cluster.claimTick('leads', 60_000)))).filter(Boolean)).toHaveLength(1);
    // A rate limit's reset puts the next poll off.
    await pool.query(`update cluster_ticks set due_at = now() - interval '1 second' where flow_id = 'leads'`);
    await members[0]!.deferTick('leads', new Date(Date.now() + 3_600_000));
    expect(await members[1]!.claimTick('leads', 60_000)).toBe(false);
    // A flow deployed again polls at once, on one member, however far off its due time was.
    await members[2]!.clearTick('leads');
    expect((await Promise.all(members.map((cluster) => cluster.claimTick('leads', 60_000)))).filter(Boolean)).toHaveLength(1);
  });

  it('keeps one waiting job per flow and kind, and runs each on one member', async () => {
    const schema = await stateSchema();
    const pool = schema.pool();
    const a = await member(pool, 'a');
    const b = await member(pool, 'b');
    for (let i = 0; i < 5; i++) {
      await a.requestPass({ flowId: 'leads', kind: 'webhook' });
      await b.requestPass({ flowId: 'leads', kind: 'webhook' });
    }
    await a.requestPass({ flowId: 'leads', kind: 'schedule' });
    expect((await a.status()).queue.waiting).toBe(2);
    const ran: Array<PassJob & { by: string }> = [];
    await a.work(async (job) => void ran.push({ ...job, by: 'a' }));
    await b.work(async (job) => void ran.push({ ...job, by: 'b' }));
    await waitFor(() => ran.length === 2, () => `ran ${JSON.stringify(ran)}`);
    expect(ran.map((job) => job.kind).sort()).toEqual(['schedule', 'webhook']);
    await waitFor(async () => (await a.status()).queue.active === 0, () => 'jobs stayed active');
    const status = await b.status();
    expect(status.members.map((m) => m.name)).toEqual(['a', 'b']);
    expect(status.queue).toEqual({ waiting: 0, active: 0, oldestWaitingSeconds: null });
  });

  it('hands the pass job of a member killed mid-pass to a live member, which then holds the flow', async () => {
    const schema = await stateSchema();
    const pool = schema.pool();
    const lines: string[] = [];
    const child = await childMember(schema.name, lines);
    const survivor = await member(pool, 'survivor', 1);
    await survivor.requestPass({ flowId: 'leads', kind: 'webhook' });
    await waitFor(() => lines.includes('running leads webhook'), () => `the child never ran the job: ${lines.join(' | ')}`);
    expect((await survivor.status()).members.find((m) => m.name !== 'survivor')?.running).toEqual(['leads']);

    const taken: PassJob[] = [];
    await survivor.work(async (job) => void taken.push(job));
    child.kill('SIGKILL');
    await once(child, 'exit');
    await waitFor(() => taken.length === 1, () => 'the job of the killed member was never taken over');
    expect(taken).toEqual([{ flowId: 'leads', kind: 'webhook' }]);
    // The dead member is gone from the cluster. (How long the hand-over takes is a figure of `npm run bench`.)
    expect((await survivor.status()).members.map((m) => m.name)).toEqual(['survivor']);
  });
});
