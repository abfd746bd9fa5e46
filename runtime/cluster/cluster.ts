/**
 * Several `syncline serve` (and `syncline worker`) processes on one PostgreSQL state form one runtime. What they share
 * lives in PostgreSQL, and nothing here is a queue of our own:
 *
 * - **Passes are jobs** on pg-boss (a PostgreSQL job queue: FOR UPDATE SKIP LOCKED, retries, no other server), queue
 *   `syncline-passes`, policy `short` keyed by flow and kind: while a flow's webhook drain (or scheduled poll) waits
 *   to run, asking again adds nothing, and any process may take it.
 * - **At most one pass per flow at a time** is held by a session advisory lock per flow (`lockFlow`), taken by every
 *   pass whatever started it (a job, "run now", a dry run): PostgreSQL grants it to one connection at a time and
 *   releases it when that connection ends, so a process killed mid-pass frees its flows at once.
 * - **Liveness** is another advisory lock, one per process, held on a connection of its own for as long as the
 *   process lives. Every process's monitor looks for members whose lock is gone (pg_locks): such a member is dead, its
 *   row is deleted by whichever monitor sees it first, and the pass jobs it held are failed back to pg-boss, which
 *   hands them to a live process within a polling interval. Crash recovery (the write journal) then adopts what the
 *   dead pass had written.
 * - **Scheduled polls fire once per interval** for the whole cluster: each process keeps its timers, and a tick runs
 *   only when it claims the flow's due time (`claimTick`), one row per flow.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Kysely, PostgresDialect, sql, type Generated, type Migration } from 'kysely';
import PgBoss from 'pg-boss';
import type pg from 'pg';
import type { Logger } from 'pino';
import { applyMigrations } from '../db/index';
import * as clusterTables from './clusterMigrations/2026_12_06_1000_cluster';

/** What a process is in the cluster: `serve` answers HTTP and takes passes, `worker` only takes passes. */
export type ClusterRole = 'serve' | 'worker';

/** A pass job: drain the flow's pending webhook events, or run its scheduled poll. */
export type PassKind = 'webhook' | 'schedule';
export interface PassJob {
  flowId: string;
  kind: PassKind;
}

export interface ClusterOptions {
  /** A pool on the state's database, its connections in the state's schema (search_path). */
  pool: pg.Pool;
  role: ClusterRole;
  /** How the process is shown (health, runs): default host:pid. */
  name?: string;
  logger: Logger;
  /** How often the monitor beats and looks for dead members (default 1 s). */
  monitorIntervalMs?: number;
  /** Pass jobs this process runs at once (default 4; passes of one flow still run one at a time). */
  concurrency?: number;
}

export interface ClusterMember {
  id: string;
  name: string;
  role: ClusterRole;
  host: string;
  pid: number;
  startedAt: string;
  seenAt: string;
  /** The flows whose pass jobs it is running now. */
  running: string[];
}

export interface ClusterStatus {
  self: { id: string; name: string; role: ClusterRole };
  members: ClusterMember[];
  queue: { waiting: number; active: number; oldestWaitingSeconds: number | null };
}

interface ClusterDatabase {
  cluster_processes: { id: string; name: string; role: string; host: string; pid: number; lock_key: number; started_at: Generated<Date>; seen_at: Generated<Date> };
  cluster_passes: { job_id: string; flow_id: string; kind: string; process_id: string; started_at: Generated<Date> };
  cluster_ticks: { flow_id: string; due_at: Date };
}

const migrations: Record<string, Migration> = { '2026_12_06_1000_cluster': clusterTables };

export const PASS_QUEUE = 'syncline-passes';
/** The first key of our advisory locks ("SY" + a kind), apart from any other application's use of them. */
const PROCESS_LOCKS = 0x5359_0001;
const FLOW_LOCKS = 0x5359_0002;
const SETUP_LOCK = 0x5359_0003;
const TRIGGER_LOCKS = 0x5359_0004;
const LISTEN_LOCKS = 0x5359_0005;
/** A job active this long with no member owning it was taken by a process that died before saying so. */
const ORPHAN_AFTER_SECONDS = 30;
/** pg-boss fails a job whose handler runs longer than this (a pass that long goes on, and its retry waits for it). */
const PASS_EXPIRE_HOURS = 23;

type Listener = () => Promise<void> | void;

/**
 * This process's membership of the cluster. `join` registers it and starts its monitor; `work` takes pass jobs;
 * `leave` stops taking them and unregisters.
 */
export class Cluster {
  private readonly workerIds: string[] = [];
  private readonly onMonitor: Listener[] = [];
  private readonly onMembersLost: Listener[] = [];
  private liveness: pg.PoolClient | null = null;
  private monitorTimer: NodeJS.Timeout | null = null;
  private monitoring: Promise<void> = Promise.resolve();
  private readonly running = new Set<Promise<void>>();
  private working = true;
  private left = false;

  private constructor(
    private readonly options: ClusterOptions,
    private readonly db: Kysely<ClusterDatabase>,
    private readonly boss: PgBoss,
    readonly id: string,
    readonly name: string,
    readonly jobsSchema: string,
  ) {}

  /** Registers this process in the cluster of the state the pool reaches, and starts its monitor. */
  static async join(options: ClusterOptions): Promise<Cluster> {
    const db = new Kysely<ClusterDatabase>({ dialect: new PostgresDialect({ pool: options.pool }) });
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    const schema = rows[0]!.schema;
    // pg-boss keeps its tables in a schema of its own beside the state's, so two states on one database (tests, a
    // staging copy) never share a queue.
    const jobsSchema = schema === 'public' ? 'syncline_jobs' : `${schema}_jobs`;
    if (jobsSchema.length > 63) throw new Error(`the state's schema name "${schema}" is too long for its job schema "${jobsSchema}" (at most 63 characters)`);
    // Processes starting at once on an empty database set up one at a time: pg-boss's `create schema` is not safe
    // against itself.
    const setup = await options.pool.connect();
    let boss: PgBoss;
    try {
      await setup.query('select pg_advisory_lock($1, hashtext(current_schema()))', [SETUP_LOCK]);
      await applyMigrations(db, migrations, 'cluster migration', {
        migrationTableName: 'cluster_migration',
        migrationLockTableName: 'cluster_migration_lock',
        migrationTableSchema: schema,
      });
      boss = await startQueue(options, jobsSchema);
    } finally {
      await setup.query('select pg_advisory_unlock($1, hashtext(current_schema()))', [SETUP_LOCK]).catch(() => undefined);
      setup.release();
    }
    const name = options.name ?? `${hostname()}:${process.pid}`;
    const cluster = new Cluster(options, db, boss, randomUUID(), name, jobsSchema);
    try {
      await cluster.register();
    } catch (error) {
      await boss.stop({ graceful: false, wait: true });
      throw error;
    }
    cluster.scheduleMonitor();
    options.logger.info({ process: name, id: cluster.id, role: options.role }, 'joined the cluster');
    return cluster;
  }

  /**
   * Waits for the flow's lock and holds it until the returned release is called: at most one pass per flow runs at a
   * time in the whole cluster. The lock lives on a connection of its own, so it ends with the process.
   */
  lockFlow(flowId: string): Promise<() => Promise<void>> {
    return this.holdLock(FLOW_LOCKS, `:${flowId}`);
  }

  /**
   * Waits for a trigger's registration lock and holds it until the returned release is called: the processes register
   * and remove a trigger's webhook with its system one at a time, so each finds the hook the one before made.
   */
  lockTrigger(flowId: string, nodeId: string): Promise<() => Promise<void>> {
    return this.holdLock(TRIGGER_LOCKS, `:${flowId}:${nodeId}`);
  }

  /**
   * Claims the right to listen for a trigger's change notifications, without waiting: the release while this process
   * holds it, null while another does. One process listens, so a change is stored as one event, not one per process.
   * The claim is a lock on the liveness connection, which lasts as long as the process and costs no connection of
   * its own however many triggers listen: when the process dies another one's next claim gets it. (When only the
   * liveness connection fails, its claims go with it while this process goes on listening, until it closes: another
   * process may listen too meanwhile, which stores some changes twice, as every process did before claims.)
   */
  async claimListening(flowId: string, nodeId: string): Promise<(() => Promise<void>) | null> {
    const client = this.liveness;
    if (!client || this.left) return null;
    const key = `:${flowId}:${nodeId}`;
    const { rows } = await client.query<{ held: boolean }>('select pg_try_advisory_lock($1, hashtext(current_schema() || $2)) as held', [LISTEN_LOCKS, key]);
    if (!rows[0]?.held) return null;
    let released = false;
    return async () => {
      if (released || this.liveness !== client) return;
      released = true;
      await client.query('select pg_advisory_unlock($1, hashtext(current_schema() || $2))', [LISTEN_LOCKS, key]);
    };
  }

  /** An advisory lock of `kind` on `key` in this schema, held on a connection of its own until released. */
  private async holdLock(kind: number, key: string): Promise<() => Promise<void>> {
    const client = await this.options.pool.connect();
    let broken: Error | null = null;
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      await client.query('select pg_advisory_lock($1, hashtext(current_schema() || $2))', [kind, key]);
    } catch (error) {
      client.removeListener('error', onError);
      client.release(true);
      throw error;
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      let failed: Error | null = broken;
      if (!failed) {
        try {
          await client.query('select pg_advisory_unlock($1, hashtext(current_schema() || $2))', [kind, key]);
        } catch (error) {
          failed = error instanceof Error ? error : new Error(String(error));
        }
      }
      client.removeListener('error', onError);
      // A connection that failed, or could not unlock, is closed instead of going back to the pool: its lock goes
      // with it, where a pooled connection would keep holding the flow.
      client.release(failed ?? undefined);
    };
  }

  /** Queues a pass job (after `delayMs`); nothing is added while the same flow's job of that kind is still waiting. */
  async requestPass(job: PassJob, delayMs = 0): Promise<void> {
    if (this.left) return;
    const id = await this.boss.send(PASS_QUEUE, job, {
      // The kind first: it holds no colon, so no flow id can make two keys alike.
      singletonKey: `${job.kind}:${job.flowId}`,
      ...(delayMs > 0 ? { startAfter: new Date(Date.now() + delayMs) } : {}),
    });
    // The job may as well run here: wake this process's workers instead of waiting for their next poll.
    if (id !== null && delayMs === 0) for (const workerId of this.workerIds) this.boss.notifyWorker(workerId);
  }

  /** Takes pass jobs from the queue, `concurrency` at a time, and runs `handler` for each. */
  async work(handler: (job: PassJob) => Promise<void>): Promise<void> {
    const concurrency = this.options.concurrency ?? 4;
    for (let i = 0; i < concurrency; i++) {
      const workerId = await this.boss.work<PassJob>(PASS_QUEUE, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
        if (!job) return;
        // Fetched as this process stops taking jobs: failed back at once, for another process to take.
        if (!this.working) throw new Error('the process took the job as it was stopping');
        const run = this.runJob(job.id, job.data, handler);
        this.running.add(run);
        try {
          await run;
        } finally {
          this.running.delete(run);
        }
      });
      this.workerIds.push(workerId);
    }
  }

  /** Stops taking pass jobs and waits for the ones running here (stop their passes first: runner.shutdown). */
  async stopWorking(): Promise<void> {
    this.working = false;
    if (this.workerIds.length > 0) await this.boss.offWork(PASS_QUEUE);
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Runs one job, recorded as this process's so that the monitors can hand it on should the process die. */
  private async runJob(jobId: string, job: PassJob, handler: (job: PassJob) => Promise<void>): Promise<void> {
    await this.db
      .insertInto('cluster_passes')
      .values({ job_id: jobId, flow_id: job.flowId, kind: job.kind, process_id: this.id })
      .onConflict((oc) => oc.column('job_id').doUpdateSet({ process_id: this.id, started_at: sql`now()` }))
      .execute();
    try {
      await handler(job);
    } finally {
      await this.db.deleteFrom('cluster_passes').where('job_id', '=', jobId).where('process_id', '=', this.id).execute();
    }
  }


  /**
   * Claims the flow's scheduled poll: true for the one process that finds it due (then due again `intervalMs` from
   * now), false for every other until then.
   */
  async claimTick(flowId: string, intervalMs: number): Promise<boolean> {
    const claimed = await this.db
      .insertInto('cluster_ticks')
      .values({ flow_id: flowId, due_at: sql<Date>`now() + ${intervalMs} * interval '1 millisecond'` })
      .onConflict((oc) => oc.column('flow_id').doUpdateSet({ due_at: sql<Date>`excluded.due_at` }).where('cluster_ticks.due_at', '<=', sql<Date>`now()`))
      .returning('flow_id')
      .executeTakeFirst();
    return claimed !== undefined;
  }

  /** Makes the flow's scheduled poll due now: the next process to tick claims it (a flow being deployed). */
  async clearTick(flowId: string): Promise<void> {
    await this.db.deleteFrom('cluster_ticks').where('flow_id', '=', flowId).execute();
  }

  /** Puts the flow's next poll off until `until` (a system's rate limit said when to come back). */
  async deferTick(flowId: string, until: Date): Promise<void> {
    await this.db.updateTable('cluster_ticks').set({ due_at: sql<Date>`greatest(due_at, ${until})` }).where('flow_id', '=', flowId).execute();
  }

  /** Runs `listener` after every beat of the monitor (about once a second). */
  everyBeat(listener: Listener): void {
    this.onMonitor.push(listener);
  }

  /** Runs `listener` after the monitor found members dead and handed their pass jobs back. */
  whenMembersLost(listener: Listener): void {
    this.onMembersLost.push(listener);
  }

  /** The live members, what each is running, and the queue. */
  async status(): Promise<ClusterStatus> {
    const [members, running, queue] = await Promise.all([
      this.db.selectFrom('cluster_processes').selectAll().orderBy('started_at').execute(),
      this.db.selectFrom('cluster_passes').select(['process_id', 'flow_id']).execute(),
      sql<{ waiting: string | number; active: string | number; oldest: number | null }>`
        select count(*) filter (where state in ('created', 'retry') and start_after <= now()) as waiting,
               count(*) filter (where state = 'active') as active,
               extract(epoch from now() - min(created_on) filter (where state in ('created', 'retry') and start_after <= now()))::float8 as oldest
        from ${sql.table(`${this.jobsSchema}.job`)} where name = ${PASS_QUEUE}`.execute(this.db),
    ]);
    const q = queue.rows[0];
    return {
      self: { id: this.id, name: this.name, role: this.options.role },
      members: members.map((row) => ({
        id: row.id,
        name: row.name,
        role: row.role as ClusterRole,
        host: row.host,
        pid: row.pid,
        startedAt: row.started_at.toISOString(),
        seenAt: row.seen_at.toISOString(),
        running: running.filter((pass) => pass.process_id === row.id).map((pass) => pass.flow_id),
      })),
      queue: { waiting: Number(q?.waiting ?? 0), active: Number(q?.active ?? 0), oldestWaitingSeconds: q?.oldest ?? null },
    };
  }

  /**
   * Stops taking jobs (waiting for the ones running, which the runtime has stopped by then), unregisters, and lets go
   * of the liveness lock. The pool is the caller's to close.
   */
  async leave(): Promise<void> {
    if (this.left) return;
    await this.stopWorking();
    this.left = true;
    if (this.monitorTimer) clearTimeout(this.monitorTimer);
    await this.monitoring;
    await this.boss.stop({ graceful: true, wait: true, timeout: 30_000 });
    await this.db.deleteFrom('cluster_passes').where('process_id', '=', this.id).execute();
    await this.db.deleteFrom('cluster_processes').where('id', '=', this.id).execute();
    this.liveness?.release(true);
    this.liveness = null;
    this.options.logger.info({ process: this.name }, 'left the cluster');
  }

  /** Takes a liveness lock on a connection of its own, then adds this process's row (in that order: see reap). */
  private async register(): Promise<void> {
    const client = await this.options.pool.connect();
    client.on('error', (error) => {
      // Its lock went with it: the others will take this process for dead and hand its jobs on. The next beat finds
      // its row gone and registers again, on a new connection.
      this.options.logger.warn({ err: error.message }, 'the cluster liveness connection failed');
      if (this.liveness !== client) return;
      this.liveness = null;
      // Back to the pool as broken, which closes it: kept checked out, it would hold up the pool's end for ever.
      client.release(error);
    });
    const lockKey = randomInt(1, 2 ** 31 - 1);
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1, $2) as locked', [PROCESS_LOCKS, lockKey]);
    if (!rows[0]?.locked) {
      client.release(true);
      return this.register();
    }
    this.liveness?.release(true);
    this.liveness = client;
    await this.db
      .insertInto('cluster_processes')
      .values({ id: this.id, name: this.name, role: this.options.role, host: hostname(), pid: process.pid, lock_key: lockKey })
      .onConflict((oc) => oc.column('id').doUpdateSet({ lock_key: lockKey, seen_at: sql`now()` }))
      .execute();
  }

  private scheduleMonitor(): void {
    if (this.left) return;
    this.monitorTimer = setTimeout(() => {
      this.monitoring = this.beat()
        .catch((error: unknown) => this.options.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'cluster monitor beat failed'))
        .finally(() => this.scheduleMonitor());
    }, this.options.monitorIntervalMs ?? 1000);
    this.monitorTimer.unref();
  }

  private async beat(): Promise<void> {
    const seen = await this.db.updateTable('cluster_processes').set({ seen_at: sql`now()` }).where('id', '=', this.id).executeTakeFirst();
    if (Number(seen.numUpdatedRows) === 0 || this.liveness === null) {
      this.options.logger.warn({ process: this.name }, 'this process was taken for dead (its liveness connection failed): joining again');
      await this.register();
    }
    const lost = await this.reap();
    if (lost > 0) for (const listener of this.onMembersLost) await listener();
    for (const listener of this.onMonitor) await listener();
  }

  /**
   * Removes the members whose liveness lock is gone and fails their pass jobs back to the queue, plus any job left
   * active by a process that died before recording it. Returns how many members were removed.
   */
  private async reap(): Promise<number> {
    const dead = await sql<{ id: string; name: string }>`
      delete from cluster_processes p
      where not exists (
        select 1 from pg_locks l
        where l.locktype = 'advisory' and l.granted
          and l.database = (select oid from pg_database where datname = current_database())
          and l.classid = ${PROCESS_LOCKS} and l.objid = p.lock_key and l.objsubid = 2)
      returning p.id, p.name`.execute(this.db);
    const ids = dead.rows.map((row) => row.id);
    const jobs =
      ids.length === 0
        ? []
        : await this.db.deleteFrom('cluster_passes').where('process_id', 'in', ids).returning(['job_id', 'flow_id']).execute();
    const orphans = await sql<{ id: string }>`
      select j.id from ${sql.table(`${this.jobsSchema}.job`)} j
      where j.name = ${PASS_QUEUE} and j.state = 'active' and j.started_on < now() - ${ORPHAN_AFTER_SECONDS} * interval '1 second'
        and not exists (select 1 from cluster_passes p where p.job_id = j.id)`.execute(this.db);
    const jobIds = [...jobs.map((job) => job.job_id), ...orphans.rows.map((row) => row.id)];
    if (jobIds.length > 0) await this.boss.fail(PASS_QUEUE, jobIds);
    if (ids.length > 0 || jobIds.length > 0) {
      this.options.logger.warn(
        { dead: dead.rows.map((row) => row.name), flows: jobs.map((job) => job.flow_id), jobs: jobIds.length },
        'cluster members died: their pass jobs go to the others',
      );
    }
    return ids.length;
  }
}

/** pg-boss on the state's pool, started, with the pass queue. */
async function startQueue(options: ClusterOptions, jobsSchema: string): Promise<PgBoss> {
  const boss = new PgBoss({
    db: { executeSql: (text, values) => options.pool.query(text, values) },
    schema: jobsSchema,
    // pg-boss's own expiry is only a backstop: a dead member's jobs are failed by the monitor within seconds.
    supervise: true,
    maintenanceIntervalSeconds: 60,
    schedule: false,
  });
  boss.on('error', (error) => options.logger.warn({ err: error.message }, 'job queue error'));
  await boss.start();
  try {
    await createPassQueue(boss);
  } catch (error) {
    await boss.stop({ graceful: false, wait: true });
    throw error;
  }
  return boss;
}

/** The pass queue, created once for the cluster (creating it again, as every process does on start, is harmless). */
async function createPassQueue(boss: PgBoss): Promise<void> {
  if (await boss.getQueue(PASS_QUEUE)) return;
  try {
    await boss.createQueue(PASS_QUEUE, {
      name: PASS_QUEUE,
      policy: 'short',
      retryLimit: 20,
      retryDelay: 1,
      retryBackoff: true,
      expireInHours: PASS_EXPIRE_HOURS,
    });
  } catch (error) {
    // Another process created it in between.
    if (!(await boss.getQueue(PASS_QUEUE))) throw error;
  }
}
