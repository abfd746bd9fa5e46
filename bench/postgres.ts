/**
 * PostgreSQL beside Bucardo (issue 17, items 3 and 5): the same work on two 100,000-row `contacts` tables for
 *   - the raw floor: `\copy` out of A and into B with psql;
 *   - Bucardo (when the Debian `bucardo` package is installed; otherwise skipped, saying how to install it): a
 *     one-way onetimecopy sync for the initial copy, then a two-way sync, latest change wins;
 *   - Syncline `run --once`: the CLI on a flow file, two postgres triggers and a conflict node matching on email;
 *   - Syncline `serve` with `notify: true`, the same flow deployed through the API;
 *   - Syncline `serve` without it, polling both tables every second (issue 17, item 2: an initial sync with `notify`
 *     takes no longer than with it off; item 5: the round no slower than Bucardo with notify or polling).
 * in a PostgreSQL cluster of the bench's own (bench/postgresCluster.ts), run by run with the systems' order rotated,
 * each run and system on fresh databases. Prints {"bench":"postgres","measurements":[...]} for `npm run bench`
 * (bin/bench.mjs), which writes them to BENCHMARKS.md; bench/postgres.notes.md says what each figure means.
 *
 *   npm run bench -- postgres
 *   node --import tsx bench/postgres.ts [--rows 100000] [--runs 3] [--only floor,bucardo,syncline,serve,polling]
 *                                       [--profile DIR] [--timeout-min 20]
 *
 * SYNCLINE_PG_BENCH_ROWS and SYNCLINE_PG_BENCH_RUNS set the same as --rows and --runs; SYNCLINE_PG_BIN names the
 * folder of initdb and pg_ctl. `--profile DIR` adds one unmeasured Syncline initial sync under `node --cpu-prof`,
 * writes its profiles to DIR and prints the functions and modules with the most self time.
 *
 * The machine this runs on may be shared and busy: the absolute times say little, the ratios of systems measured
 * in the same run say more.
 */
import Sqlite from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { bundleProblem } from '../bin/runtimeBundle.mjs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type pg from 'pg';
import { seededRandom } from '../runtime/seededRandom';
import { Bucardo, bucardoUnavailable } from './postgresBucardo';
import { Cluster, clusterUnavailable, reapedChildrenCpuSeconds, ThreadSampler, TreeSampler, type ThreadTime } from './postgresCluster';
import { summarizeProfiles } from './postgresProfile';
import { option } from './options';
import { benchFlow, runOnce, SynclineServer, writeFlowFile, type ProcessRun } from './postgresSyncline';
import type { Measurement } from './engine';

// ---------------------------------------------------------------------------------------------------------------
// Options and the work.

const SYSTEMS = ['floor', 'bucardo', 'syncline', 'serve', 'polling'] as const;
type SystemName = (typeof SYSTEMS)[number];
const SYSTEM_TITLES: Record<SystemName, string> = {
  floor: 'raw floor (`\\copy` out and in)',
  bucardo: 'Bucardo',
  syncline: 'Syncline `run --once`',
  serve: 'Syncline `serve` (notify)',
  polling: 'Syncline `serve` (polling every second)',
};

export interface BenchOptions {
  rows: number;
  runs: number;
  only: ReadonlySet<SystemName>;
  profileDir: string | null;
  timeoutMs: number;
  /** Syncline `run --once`: also the passes after each piece of work that meet its writes as echoes (default on). */
  echoPasses: boolean;
  log: (message: string) => void;
}

export function optionsFromArgs(): BenchOptions {
  const rows = Number(option('rows') ?? process.env.SYNCLINE_PG_BENCH_ROWS ?? 100_000);
  const runs = Number(option('runs') ?? process.env.SYNCLINE_PG_BENCH_RUNS ?? 3);
  if (!Number.isInteger(rows) || rows < 100) throw new Error(`--rows must be a whole number of at least 100, got ${rows}`);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number of at least 1, got ${runs}`);
  const only = (option('only') ?? SYSTEMS.join(',')).split(',').map((name) => name.trim());
  for (const name of only) if (!(SYSTEMS as readonly string[]).includes(name)) throw new Error(`--only: unknown system "${name}"; systems: ${SYSTEMS.join(', ')}`);
  return {
    rows,
    runs,
    only: new Set(only as SystemName[]),
    profileDir: option('profile') ?? null,
    timeoutMs: Number(option('timeout-min') ?? 20) * 60_000,
    echoPasses: true,
    log: (message) => process.stderr.write(`[postgres bench] ${message}\n`),
  };
}

/** How many rows each piece of work touches: the issue's counts at 100,000 rows, in proportion below. */
export function workSizes(rows: number): { changed: number; merged: number; deleted: number } {
  const changed = Math.max(2, Math.round(rows * 0.05));
  const merged = Math.max(5, Math.round(rows * 0.005));
  const deleted = Math.max(2, Math.round(rows * 0.001));
  return { changed, merged, deleted };
}

const FIRST_NAMES = ['Ada', 'Alan', 'Grace', 'Katherine', 'Linus', 'Margaret', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Radia'];
const LAST_NAMES = ['Lovelace', 'Turing', 'Hopper', 'Johnson', 'Torvalds', 'Hamilton', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Neumann', 'Perlman'];
const SEED = 20261202;

const emailOf = (id: number) => `person${id}@example.com`;

/** Disjoint sets of rows (by email, which both sides share) for each piece of work. */
function pickRows(rows: number): { changedOnA: string[]; changedOnB: string[]; merged: string[]; deleted: string[] } {
  const sizes = workSizes(rows);
  const ids = Array.from({ length: rows }, (_, index) => index + 1);
  // Seeded, as in bench/engine.ts: the same rows are edited in every run.
  const next = seededRandom(SEED);
  for (let index = ids.length - 1; index > 0; index--) {
    const other = Math.floor(next() * (index + 1));
    [ids[index], ids[other]] = [ids[other] as number, ids[index] as number];
  }
  let at = 0;
  const take = (count: number) => ids.slice(at, (at += count)).map(emailOf);
  return { changedOnA: take(sizes.changed), changedOnB: take(sizes.changed), merged: take(sizes.merged), deleted: take(sizes.deleted) };
}

/** The table, as both sides have it. `tagColumn` adds the column Syncline keeps its write tag in (serve only). */
function tableSql(tagColumn: string | null): string {
  return `CREATE TABLE contacts (
      id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
      email text NOT NULL UNIQUE,
      first_name text NOT NULL,
      last_name text NOT NULL,
      company text,
      updated_at timestamptz NOT NULL DEFAULT clock_timestamp()${tagColumn ? `,\n      ${tagColumn} text` : ''}
    );
    -- What the postgres connector sorts by when it polls (docs/connectors.md, "Indexes").
    CREATE INDEX contacts_updated_at_id ON contacts (updated_at, id);`;
}

/** Template databases: `seed` with the rows, `empty` with the table only; `_tagged` ones with a tag column too. */
async function createTemplates(cluster: Cluster, rows: number, tagged: boolean): Promise<void> {
  const variants: Array<readonly [string, string | null]> = [['', null], ...(tagged ? [['_tagged', 'sync_tag'] as const] : [])];
  for (const [suffix, tag] of variants) {
    for (const name of [`seed${suffix}`, `empty${suffix}`]) {
      await cluster.query('postgres', `CREATE DATABASE "${name}"`);
      await cluster.query(name, tableSql(tag));
    }
    await cluster.query(
      `seed${suffix}`,
      `INSERT INTO contacts (id, email, first_name, last_name, company, updated_at)
       SELECT g, 'person' || g || '@example.com', ($2::text[])[1 + g % 12], ($3::text[])[1 + (g * 7) % 12], 'Company ' || (g % 997),
              timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'
       FROM generate_series(1, $1::int) g`,
      [rows, FIRST_NAMES, LAST_NAMES],
    );
    await cluster.query(`seed${suffix}`, `SELECT setval(pg_get_serial_sequence('contacts', 'id'), $1)`, [rows]);
    for (const name of [`seed${suffix}`, `empty${suffix}`]) {
      await cluster.query(name, 'VACUUM (FREEZE, ANALYZE)');
      // A database with connections cannot be a template.
      await cluster.release(name);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring.

/** One measured piece of work of one system. */
export interface Sample {
  wallS: number;
  /** CPU of the system's own processes. */
  processCpuS: number;
  /** CPU of the PostgreSQL processes serving it (the whole cluster, less the bench's own connections). */
  backendCpuS: number;
  /** Peak RSS of the sync process (Bucardo: the sum of its processes' peaks); null where there is none. */
  peakRssMb: number | null;
}

interface ExtraMeter {
  begin(): void;
  end(): { cpuS: number; rssMb: number | null };
}

/**
 * Times `work` and charges the CPU used meanwhile: programs the bench ran and waited for (psql, syncline run), the
 * extra meter's processes (Bucardo's daemon, the Syncline server), and the cluster less the bench's own connections.
 */
async function measure(cluster: Cluster, work: () => Promise<{ endedAt?: number; rssMb?: number | null } | void>, extra?: ExtraMeter): Promise<Sample> {
  const clusterBefore = cluster.cpuSeconds();
  const benchBefore = cluster.benchBackendsCpuSeconds();
  const childrenBefore = reapedChildrenCpuSeconds();
  extra?.begin();
  const started = performance.now();
  const outcome = (await work()) ?? {};
  const ended = outcome.endedAt ?? performance.now();
  const meter = extra?.end() ?? { cpuS: 0, rssMb: null };
  const processCpuS = reapedChildrenCpuSeconds() - childrenBefore + meter.cpuS;
  const backendCpuS = cluster.cpuSeconds() - clusterBefore - (cluster.benchBackendsCpuSeconds() - benchBefore);
  return { wallS: (ended - started) / 1000, processCpuS, backendCpuS, peakRssMb: outcome.rssMb ?? meter.rssMb };
}

/** Polls `condition` until it holds; returns when it did (performance.now()). Throws after `timeoutMs`. */
async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs: number, explain: () => string = () => ''): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return performance.now();
    if (performance.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${explain() ? `\n${explain()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Row count and a digest of every row's data (not its id or stamps: Syncline's B has ids of its own). */
async function digest(cluster: Cluster, database: string): Promise<{ n: number; digest: string }> {
  const [row] = await cluster.query<{ n: number; digest: string }>(
    database,
    `SELECT count(*)::int AS n, md5(coalesce(string_agg(concat_ws('|', email, first_name, last_name, company), E'\\n' ORDER BY email), '')) AS digest FROM contacts`,
  );
  return row as { n: number; digest: string };
}

async function equal(cluster: Cluster, a: string, b: string): Promise<boolean> {
  const [left, right] = [await digest(cluster, a), await digest(cluster, b)];
  return left.n === right.n && left.digest === right.digest;
}

// ---------------------------------------------------------------------------------------------------------------
// The work, as a user of each database would do it.

interface Pair {
  a: string;
  b: string;
}

interface Edits {
  changedOnA: string[];
  changedOnB: string[];
  merged: string[];
  deleted: string[];
}

function markers(run: number) {
  return { lastNameA: `Edited-on-A-${run}`, companyB: `Edited-on-B-${run}`, mergedCompany: `Merged-company-${run}`, mergedFirstName: `Merged-first-${run}` };
}

/** Statements on A and B, each in a transaction left open: `commit()` commits both, a moment apart. */
async function openEdits(cluster: Cluster, pair: Pair, onA: [string, unknown[]] | null, onB: [string, unknown[]] | null): Promise<{ editMs: number; commit: () => Promise<void> }> {
  const clients: pg.Client[] = [];
  const started = performance.now();
  for (const [database, statement] of [
    [pair.a, onA],
    [pair.b, onB],
  ] as const) {
    if (!statement) continue;
    const client = await cluster.client(database);
    await client.query('BEGIN');
    await client.query(statement[0], statement[1]);
    clients.push(client);
  }
  const editMs = performance.now() - started;
  return { editMs, commit: async () => void (await Promise.all(clients.map((client) => client.query('COMMIT')))) };
}

const EDIT = {
  twoWay: (edits: Edits, run: number): [[string, unknown[]], [string, unknown[]]] => [
    ['UPDATE contacts SET last_name = $2, updated_at = clock_timestamp() WHERE email = ANY($1)', [edits.changedOnA, markers(run).lastNameA]],
    ['UPDATE contacts SET company = $2, updated_at = clock_timestamp() WHERE email = ANY($1)', [edits.changedOnB, markers(run).companyB]],
  ],
  merge: (edits: Edits, run: number): [[string, unknown[]], [string, unknown[]]] => [
    ['UPDATE contacts SET company = $2, updated_at = clock_timestamp() WHERE email = ANY($1)', [edits.merged, markers(run).mergedCompany]],
    ['UPDATE contacts SET first_name = $2, updated_at = clock_timestamp() WHERE email = ANY($1)', [edits.merged, markers(run).mergedFirstName]],
  ],
  deletes: (edits: Edits): [string, unknown[]] => ['DELETE FROM contacts WHERE email = ANY($1)', [edits.deleted]],
};

/** The conditions that say a piece of work has reached both sides (a full comparison follows each). */
const DONE = {
  initial: async (cluster: Cluster, pair: Pair, rows: number) => {
    const [row] = await cluster.query<{ n: number }>(pair.b, 'SELECT count(*)::int AS n FROM contacts');
    return row?.n === rows;
  },
  twoWay: async (cluster: Cluster, pair: Pair, edits: Edits, run: number) => {
    const [onB] = await cluster.query<{ n: number }>(pair.b, 'SELECT count(*)::int AS n FROM contacts WHERE last_name = $1', [markers(run).lastNameA]);
    const [onA] = await cluster.query<{ n: number }>(pair.a, 'SELECT count(*)::int AS n FROM contacts WHERE company = $1', [markers(run).companyB]);
    return onB?.n === edits.changedOnA.length && onA?.n === edits.changedOnB.length;
  },
  merge: async (cluster: Cluster, pair: Pair, edits: Edits) => {
    const rowsOf = async (database: string) =>
      new Map(
        (await cluster.query<{ email: string; v: string }>(database, `SELECT email, concat_ws('|', first_name, last_name, company) AS v FROM contacts WHERE email = ANY($1)`, [edits.merged])).map((row) => [
          row.email,
          row.v,
        ]),
      );
    const [onA, onB] = [await rowsOf(pair.a), await rowsOf(pair.b)];
    return edits.merged.every((email) => onA.get(email) !== undefined && onA.get(email) === onB.get(email));
  },
  deletes: async (cluster: Cluster, pair: Pair, edits: Edits) => {
    const [onB] = await cluster.query<{ n: number }>(pair.b, 'SELECT count(*)::int AS n FROM contacts WHERE email = ANY($1)', [edits.deleted]);
    return onB?.n === 0;
  },
};

/** Rows of the merge that hold both edits, on both sides. */
async function keptBoth(cluster: Cluster, pair: Pair, edits: Edits, run: number): Promise<number> {
  const both = async (database: string) =>
    new Set(
      (
        await cluster.query<{ email: string }>(database, 'SELECT email FROM contacts WHERE email = ANY($1) AND company = $2 AND first_name = $3', [
          edits.merged,
          markers(run).mergedCompany,
          markers(run).mergedFirstName,
        ])
      ).map((row) => row.email),
    );
  const [onA, onB] = [await both(pair.a), await both(pair.b)];
  return [...onA].filter((email) => onB.has(email)).length;
}

/** What each system's run produced, by piece of work. */
interface SystemRun {
  initial?: Sample;
  /** Syncline run --once: the pass right after the initial sync (its writes come back as echoes), and a quiet one. */
  echoAfterInitial?: Sample;
  quiet?: Sample & { writes: number };
  twoWay?: Sample & { editMs: number; passes?: number };
  echoAfterTwoWay?: Sample;
  merge?: Sample & { keptBoth: number; passes?: number };
  deletes?: Sample & { reached: boolean; passes?: number };
}

/** Fresh databases for one system's run; `VACUUM ANALYZE` and a checkpoint before each piece of work stand in for autovacuum. */
async function freshPair(cluster: Cluster, system: SystemName, run: number, tagged: boolean): Promise<Pair> {
  const pair = { a: `a_${system}_${run}`, b: `b_${system}_${run}` };
  const suffix = tagged ? '_tagged' : '';
  await cluster.query('postgres', `CREATE DATABASE "${pair.a}" TEMPLATE "seed${suffix}"`);
  await cluster.query('postgres', `CREATE DATABASE "${pair.b}" TEMPLATE "empty${suffix}"`);
  return pair;
}

/**
 * Between pieces of work: VACUUM ANALYZE both databases (autovacuum is off, so that no system pays for a vacuum the
 * writes of another started), then a CHECKPOINT, so each piece starts with no dirty buffers of the one before.
 */
async function settleCluster(cluster: Cluster, pair: Pair): Promise<void> {
  await cluster.query(pair.a, 'VACUUM ANALYZE');
  await cluster.query(pair.b, 'VACUUM ANALYZE');
  await cluster.query('postgres', 'CHECKPOINT');
}

async function dropPair(cluster: Cluster, pair: Pair): Promise<void> {
  await cluster.dropDatabase(pair.a);
  await cluster.dropDatabase(pair.b);
}

// ---------------------------------------------------------------------------------------------------------------
// The systems.

interface Context {
  cluster: Cluster;
  options: BenchOptions;
  edits: Edits;
  /** Cleanups of what is running, for a stop by signal. */
  running: Set<() => Promise<void>>;
}

async function floorRun(context: Context, run: number): Promise<SystemRun> {
  const { cluster, options } = context;
  const pair = await freshPair(cluster, 'floor', run, false);
  try {
    await settleCluster(cluster, pair);
    const file = join(cluster.workDir, `floor-${run}.copy`);
    const initial = await measure(cluster, async () => {
      await cluster.psql(pair.a, `\\copy contacts to '${file}'`);
      await cluster.psql(pair.b, `\\copy contacts from '${file}'`);
    });
    if (!(await equal(cluster, pair.a, pair.b))) throw new Error('raw floor: B differs from A after the copy');
    options.log(`run ${run} floor: initial ${initial.wallS.toFixed(2)} s`);
    return { initial };
  } finally {
    await dropPair(cluster, pair);
  }
}

async function bucardoRun(context: Context, run: number): Promise<SystemRun> {
  const { cluster, options, edits } = context;
  const pair = await freshPair(cluster, 'bucardo', run, false);
  let bucardo: Bucardo | null = null;
  const stop = async () => void (await bucardo?.stop());
  context.running.add(stop);
  const explain = () => `Bucardo's log:\n${bucardo?.logTail() ?? '(not installed)'}`;
  const sampler = (): ExtraMeter => {
    const tree = new TreeSampler(() => bucardo?.mcpPid() ?? null);
    return {
      begin: () => tree.start(),
      end: () => {
        const { cpuSeconds, peakRssMb } = tree.stop();
        return { cpuS: cpuSeconds, rssMb: peakRssMb };
      },
    };
  };
  try {
    bucardo = await Bucardo.install(cluster, join(cluster.root, 'bucardo'));
    await bucardo.configure(pair.a, pair.b);
    await settleCluster(cluster, pair);
    const result: SystemRun = {};
    result.initial = await measure(
      cluster,
      async () => {
        await (bucardo as Bucardo).start();
        await waitFor('Bucardo to copy every row to B', () => DONE.initial(cluster, pair, options.rows), options.timeoutMs, explain);
        return { endedAt: await waitFor('B to equal A', () => equal(cluster, pair.a, pair.b), options.timeoutMs, explain) };
      },
      sampler(),
    );
    options.log(`run ${run} bucardo: initial ${result.initial.wallS.toFixed(2)} s`);
    await (bucardo as Bucardo).switchToTwoWay();
    await settleCluster(cluster, pair);

    const [onA, onB] = EDIT.twoWay(edits, run);
    const twoWayEdits = await openEdits(cluster, pair, onA, onB);
    result.twoWay = {
      ...(await measure(
        cluster,
        async () => {
          await twoWayEdits.commit();
          const seen = await waitFor('Bucardo to carry both sides’ changes', () => DONE.twoWay(cluster, pair, edits, run), options.timeoutMs, explain);
          return { endedAt: (await equal(cluster, pair.a, pair.b)) ? seen : await waitFor('A and B to be equal', () => equal(cluster, pair.a, pair.b), options.timeoutMs, explain) };
        },
        sampler(),
      )),
      editMs: twoWayEdits.editMs,
    };
    options.log(`run ${run} bucardo: two-way ${result.twoWay.wallS.toFixed(2)} s`);
    await settleCluster(cluster, pair);

    const [mergeA, mergeB] = EDIT.merge(edits, run);
    const mergeEdits = await openEdits(cluster, pair, mergeA, mergeB);
    const merge = await measure(
      cluster,
      async () => {
        await mergeEdits.commit();
        const seen = await waitFor('Bucardo to settle the rows edited on both sides', () => DONE.merge(cluster, pair, edits), options.timeoutMs, explain);
        return { endedAt: (await equal(cluster, pair.a, pair.b)) ? seen : await waitFor('A and B to be equal', () => equal(cluster, pair.a, pair.b), options.timeoutMs, explain) };
      },
      sampler(),
    );
    result.merge = { ...merge, keptBoth: await keptBoth(cluster, pair, edits, run) };
    options.log(`run ${run} bucardo: merge ${merge.wallS.toFixed(2)} s, ${result.merge.keptBoth} of ${edits.merged.length} kept both edits`);
    await settleCluster(cluster, pair);

    const deleteEdits = await openEdits(cluster, pair, EDIT.deletes(edits), null);
    const deletes = await measure(
      cluster,
      async () => {
        await deleteEdits.commit();
        return { endedAt: await waitFor('the deletes to reach B', () => DONE.deletes(cluster, pair, edits), options.timeoutMs, explain) };
      },
      sampler(),
    );
    result.deletes = { ...deletes, reached: await equal(cluster, pair.a, pair.b) };
    options.log(`run ${run} bucardo: deletes ${deletes.wallS.toFixed(2)} s`);
    return result;
  } finally {
    await stop();
    context.running.delete(stop);
    await dropPair(cluster, pair);
  }
}

/** `syncline run --once` until A and B are equal (at most `limit` passes); the passes' times and CPU add up. */
async function passesUntilEqual(context: Context, pair: Pair, flowFile: string, statePath: string, limit = 4): Promise<{ sample: Sample; passes: number; runs: ProcessRun[] }> {
  const { cluster } = context;
  const samples: Sample[] = [];
  const runs: ProcessRun[] = [];
  for (let pass = 1; pass <= limit; pass++) {
    samples.push(
      await measure(cluster, async () => {
        const done = await runOnce(flowFile, statePath, cluster.port);
        runs.push(done);
        return { rssMb: done.maxRssMb };
      }),
    );
    if (await equal(cluster, pair.a, pair.b)) {
      const sum = (pick: (sample: Sample) => number) => samples.reduce((total, sample) => total + pick(sample), 0);
      return {
        sample: { wallS: sum((s) => s.wallS), processCpuS: sum((s) => s.processCpuS), backendCpuS: sum((s) => s.backendCpuS), peakRssMb: Math.max(...samples.map((s) => s.peakRssMb ?? 0)) },
        passes: pass,
        runs,
      };
    }
  }
  throw new Error(`A and B still differ after ${limit} passes of syncline run --once; summaries: ${JSON.stringify(runs.map((done) => done.summary))}`);
}

/** One `run --once` pass that must write nothing (the echoes of the previous pass, or nothing at all). */
async function quietPass(context: Context, flowFile: string, statePath: string, what: string): Promise<Sample & { writes: number }> {
  let writes = 0;
  const sample = await measure(context.cluster, async () => {
    const done = await runOnce(flowFile, statePath, context.cluster.port);
    writes = done.summary.created + done.summary.updated + done.summary.deleted;
    return { rssMb: done.maxRssMb };
  });
  if (writes > 0) context.options.log(`${what} wrote ${writes} records: it should write none`);
  return { ...sample, writes };
}

async function synclineRun(context: Context, run: number): Promise<SystemRun> {
  const { cluster, options, edits } = context;
  const pair = await freshPair(cluster, 'syncline', run, false);
  const dir = join(cluster.workDir, `syncline-${run}`);
  const { document } = benchFlow({ port: cluster.port, a: pair.a, b: pair.b, user: 'syncline' });
  const flowFile = writeFlowFile(dir, document);
  const statePath = join(dir, 'state.db');
  try {
    await settleCluster(cluster, pair);
    const result: SystemRun = {};
    const initial = await passesUntilEqual(context, pair, flowFile, statePath, 1);
    result.initial = initial.sample;
    const created = initial.runs[0]?.summary.created;
    if (created !== options.rows) throw new Error(`Syncline's initial sync created ${created} records, not ${options.rows}`);
    options.log(`run ${run} syncline: initial ${result.initial.wallS.toFixed(2)} s (${result.initial.processCpuS.toFixed(1)} s CPU)`);
    if (options.echoPasses) {
      result.echoAfterInitial = await quietPass(context, flowFile, statePath, 'the pass after the initial sync');
      result.quiet = await quietPass(context, flowFile, statePath, 'a pass with nothing changed');
    }
    await settleCluster(cluster, pair);

    const [onA, onB] = EDIT.twoWay(edits, run);
    const twoWayEdits = await openEdits(cluster, pair, onA, onB);
    await twoWayEdits.commit();
    const twoWay = await passesUntilEqual(context, pair, flowFile, statePath);
    if (!(await DONE.twoWay(cluster, pair, edits, run))) throw new Error('Syncline: A and B are equal but the edits of the round are not on both');
    result.twoWay = { ...twoWay.sample, editMs: twoWayEdits.editMs, passes: twoWay.passes };
    options.log(`run ${run} syncline: two-way ${result.twoWay.wallS.toFixed(2)} s in ${twoWay.passes} pass(es)`);
    if (options.echoPasses) result.echoAfterTwoWay = await quietPass(context, flowFile, statePath, 'the pass after the two-way round');
    await settleCluster(cluster, pair);

    const [mergeA, mergeB] = EDIT.merge(edits, run);
    const mergeEdits = await openEdits(cluster, pair, mergeA, mergeB);
    await mergeEdits.commit();
    const merge = await passesUntilEqual(context, pair, flowFile, statePath);
    result.merge = { ...merge.sample, keptBoth: await keptBoth(cluster, pair, edits, run), passes: merge.passes };
    options.log(`run ${run} syncline: merge ${merge.sample.wallS.toFixed(2)} s, ${result.merge.keptBoth} of ${edits.merged.length} kept both edits`);
    if (options.echoPasses) await quietPass(context, flowFile, statePath, 'the pass after the merge');
    await settleCluster(cluster, pair);

    const deleteEdits = await openEdits(cluster, pair, EDIT.deletes(edits), null);
    await deleteEdits.commit();
    const deletes = await passesUntilEqual(context, pair, flowFile, statePath);
    result.deletes = { ...deletes.sample, reached: await DONE.deletes(cluster, pair, edits), passes: deletes.passes };
    options.log(`run ${run} syncline: deletes ${deletes.sample.wallS.toFixed(2)} s`);
    return result;
  } finally {
    await dropPair(cluster, pair);
  }
}

/**
 * SYNCLINE_BENCH_SERVE_PROF=DIR: `serve` is restarted after the initial sync under `node --cpu-prof`, and writes the
 * profiles of the two-way round, the merge and the deletes (every thread's) to DIR when it stops. Summarise them with
 * bench/postgresProfile.ts. For a look at where the time goes, not for the report: the restart is not measured work.
 */
const serveProfileDir = process.env.SYNCLINE_BENCH_SERVE_PROF?.trim() || undefined;

/** How often the `polling` system's triggers list their tables: a second, so its round is not mostly waiting. */
const POLL_MS = 1000;

/**
 * `syncline serve` with the flow deployed and a tag column: with `notify: true` (docs/connectors.md: what notify asks)
 * as `serve`, or polling every {@link POLL_MS} as `polling`.
 */
async function serveRun(context: Context, run: number, system: 'serve' | 'polling'): Promise<SystemRun> {
  const { cluster, options, edits } = context;
  const pair = await freshPair(cluster, system, run, true);
  let server: SynclineServer | null = null;
  const stop = async () => void (await server?.stop());
  context.running.add(stop);
  const untilEqual = async (what: string, done: () => Promise<boolean>) => {
    const seen = await waitFor(what, done, options.timeoutMs);
    return { endedAt: (await equal(cluster, pair.a, pair.b)) ? seen : await waitFor('A and B to be equal', () => equal(cluster, pair.a, pair.b), options.timeoutMs) };
  };
  try {
    let live = await SynclineServer.start(join(cluster.workDir, `${system}-${run}`), cluster.port);
    server = live;
    const meter = (): ExtraMeter => {
      let before = 0;
      return { begin: () => (before = live.cpuSeconds()), end: () => ({ cpuS: live.cpuSeconds() - before, rssMb: live.peakRssMb() }) };
    };
    const notify = system === 'serve';
    const { document } = benchFlow({ port: cluster.port, a: pair.a, b: pair.b, user: 'syncline', notify, tagColumn: 'sync_tag', ...(notify ? {} : { pollMs: POLL_MS }) });
    await live.api('POST', '/api/flows', document);
    await settleCluster(cluster, pair);
    const result: SystemRun = {};
    result.initial = await measure(
      cluster,
      async () => {
        await live.api('POST', `/api/flows/${document.id as string}/deploy`);
        return untilEqual('syncline serve to copy every row to B', () => DONE.initial(cluster, pair, options.rows));
      },
      meter(),
    );
    options.log(`run ${run} ${system}: initial ${result.initial.wallS.toFixed(2)} s`);
    await waitForIdle(live, document.id as string, options.timeoutMs);
    if (serveProfileDir && system === 'serve') {
      // A server of its own for the pieces after the initial sync, so that its profile shows them, not the copy.
      await live.stop();
      live = await SynclineServer.start(join(cluster.workDir, `${system}-${run}`), cluster.port, serveProfileDir);
      server = live;
      await waitForIdle(live, document.id as string, options.timeoutMs);
    }
    await settleCluster(cluster, pair);

    const [onA, onB] = EDIT.twoWay(edits, run);
    const twoWayEdits = await openEdits(cluster, pair, onA, onB);
    result.twoWay = {
      ...(await measure(
        cluster,
        async () => {
          await twoWayEdits.commit();
          return untilEqual('syncline serve to carry both sides’ changes', () => DONE.twoWay(cluster, pair, edits, run));
        },
        meter(),
      )),
      editMs: twoWayEdits.editMs,
    };
    options.log(`run ${run} ${system}: two-way ${result.twoWay.wallS.toFixed(2)} s`);
    await waitForIdle(live, document.id as string, options.timeoutMs);
    await settleCluster(cluster, pair);

    const [mergeA, mergeB] = EDIT.merge(edits, run);
    const mergeEdits = await openEdits(cluster, pair, mergeA, mergeB);
    const merge = await measure(
      cluster,
      async () => {
        await mergeEdits.commit();
        return untilEqual('syncline serve to settle the rows edited on both sides', () => DONE.merge(cluster, pair, edits));
      },
      meter(),
    );
    result.merge = { ...merge, keptBoth: await keptBoth(cluster, pair, edits, run) };
    options.log(`run ${run} ${system}: merge ${merge.wallS.toFixed(2)} s, ${result.merge.keptBoth} of ${edits.merged.length} kept both edits`);
    await waitForIdle(live, document.id as string, options.timeoutMs);
    await settleCluster(cluster, pair);

    const deleteEdits = await openEdits(cluster, pair, EDIT.deletes(edits), null);
    const deletes = await measure(
      cluster,
      async () => {
        await deleteEdits.commit();
        return untilEqual('the deletes to reach B', () => DONE.deletes(cluster, pair, edits));
      },
      meter(),
    );
    result.deletes = { ...deletes, reached: await equal(cluster, pair.a, pair.b) };
    options.log(`run ${run} ${system}: deletes ${deletes.wallS.toFixed(2)} s`);
    return result;
  } finally {
    await stop();
    context.running.delete(stop);
    await dropPair(cluster, pair);
  }
}

/** Until the server has no pass of the flow running (the echoes of the last piece of work are its business, not the next's). */
async function waitForIdle(server: SynclineServer, flowId: string, timeoutMs: number): Promise<void> {
  await waitFor(
    'syncline serve to finish its passes',
    async () => {
      const runs = (await server.api('GET', `/api/flows/${flowId}/runs?limit=1`)) as Array<{ status?: string }>;
      return runs.every((entry) => entry.status !== 'running');
    },
    timeoutMs,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The report.

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? NaN : sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

const seconds = (value: number) => `${value >= 10 ? value.toFixed(1) : value.toFixed(2)} s`;

/** The measurements for bin/bench.mjs, and the side-by-side table of medians that heads them. */
export function report(results: Record<SystemName, SystemRun[]>, options: BenchOptions, skipped: Partial<Record<SystemName, string>>, context: { startedAt: string; commit: string }): Measurement[] {
  const sizes = workSizes(options.rows);
  const count = (value: number) => value.toLocaleString('en');
  const groups = {
    ratio: 'Syncline ÷ Bucardo, run by run (the machine is shared and busy: only ratios count)',
    initial: `1. Initial sync, ${count(options.rows)} rows A → empty B`,
    twoWay: `2. ${count(sizes.changed)} rows changed on A and ${count(sizes.changed)} others on B, until both are equal`,
    merge: `3. ${count(sizes.merged)} rows: A changes \`company\`, B changes \`first_name\``,
    deletes: `4. ${count(sizes.deleted)} deletes on A reach B`,
  };
  const present = (SYSTEMS as readonly SystemName[]).filter((system) => results[system].length > 0);
  const measurements: Measurement[] = [];
  const add = (measurement: Measurement) => {
    if (measurement.runs.length > 0 && measurement.runs.every((value) => Number.isFinite(value))) measurements.push(measurement);
  };
  type Work = 'initial' | 'twoWay' | 'merge' | 'deletes';
  const samples = (system: SystemName, work: Work) => results[system].map((run) => run[work]).filter((sample): sample is Sample => sample !== undefined);

  // Ratios first: they are what the targets of issue 17 (item 5) are stated in.
  for (const [system, label] of [
    ['syncline', '`run --once`'],
    ['serve', '`serve` (notify)'],
    ['polling', '`serve` (polling every second)'],
  ] as const) {
    if (results.bucardo.length === 0 || results[system].length === 0) continue;
    for (const [work, title] of [
      ['initial', 'initial sync'],
      ['twoWay', `the ${count(sizes.changed)} + ${count(sizes.changed)} two-way round`],
    ] as const) {
      const ours = samples(system, work);
      const theirs = samples('bucardo', work);
      add({
        id: `ratio.${system}.${work}`,
        group: groups.ratio,
        title: `Syncline ${label} ÷ Bucardo, wall time of ${title}`,
        unit: '×',
        better: 'lower',
        runs: ours.slice(0, theirs.length).map((sample, index) => sample.wallS / (theirs[index] as Sample).wallS),
        target: { op: '<=', value: 1, text: 'no slower than Bucardo' },
      });
      // CPU is what a busy machine distorts least: a process that needs much of it waits longest for it.
      const cpu = (sample: Sample) => sample.processCpuS + sample.backendCpuS;
      add({
        id: `ratio.${system}.${work}.cpu`,
        group: groups.ratio,
        title: `Syncline ${label} ÷ Bucardo, CPU of ${title} (the system's processes and PostgreSQL's)`,
        unit: '×',
        better: 'lower',
        runs: ours.slice(0, theirs.length).map((sample, index) => cpu(sample) / cpu(theirs[index] as Sample)),
      });
    }
  }

  // Issue 17, item 2: the runtime's own writes must not come back as a storm of notifications, so an initial sync with
  // `notify: true` takes no longer than the same pass without it. Both are one `serve` pass over the same rows; the
  // target allows the 10% by which one system's runs spread on this machine.
  if (results.serve.length > 0 && results.polling.length > 0) {
    const polled = samples('polling', 'initial');
    add({
      id: 'notify.initial',
      group: groups.ratio,
      title: 'Syncline `serve`: initial sync with `notify: true` ÷ the same without it (polling every second), run by run',
      unit: '×',
      better: 'lower',
      runs: samples('serve', 'initial')
        .slice(0, polled.length)
        .map((sample, index) => sample.wallS / (polled[index] as Sample).wallS),
      target: { op: '<=', value: 1.1, text: 'no longer than with notify off (within 10%, the spread of one system’s runs)' },
    });
  }

  for (const work of ['initial', 'twoWay', 'merge', 'deletes'] as const) {
    for (const system of present) {
      const these = samples(system, work);
      if (these.length === 0) continue;
      const prefix = SYSTEM_TITLES[system];
      add({ id: `${work}.${system}.wall`, group: groups[work], title: `${prefix}: wall time`, unit: 's', better: 'lower', runs: these.map((sample) => sample.wallS) });
      add({ id: `${work}.${system}.cpu`, group: groups[work], title: `${prefix}: CPU of its processes`, unit: 's', better: 'lower', runs: these.map((sample) => sample.processCpuS) });
      add({ id: `${work}.${system}.backends`, group: groups[work], title: `${prefix}: CPU of the PostgreSQL processes serving it`, unit: 's', better: 'lower', runs: these.map((sample) => sample.backendCpuS) });
      if (these.every((sample) => sample.peakRssMb !== null)) {
        add({ id: `${work}.${system}.rss`, group: groups[work], title: `${prefix}: peak RSS${system === 'bucardo' ? ' (sum of its processes’ peaks)' : system === 'serve' || system === 'polling' ? ' (the server, since it started)' : ''}`, unit: 'MB', better: 'lower', runs: these.map((sample) => sample.peakRssMb as number) });
      }
      if (work === 'twoWay') {
        const runs = results[system].map((run) => run.twoWay?.editMs ?? NaN);
        add({ id: `twoWay.${system}.edits`, group: groups.twoWay, title: `${prefix}: the application's two UPDATE statements themselves (its triggers included)`, unit: 'ms', better: 'lower', runs });
      }
      if (work === 'merge') {
        add({
          id: `merge.${system}.keptBoth`,
          group: groups.merge,
          title: `${prefix}: rows that keep both edits`,
          unit: 'rows',
          better: 'higher',
          runs: results[system].map((run) => run.merge?.keptBoth ?? NaN),
          ...(system === 'bucardo' ? {} : { target: { op: '=' as const, value: sizes.merged, text: `${count(sizes.merged)} of ${count(sizes.merged)}` } }),
        });
      }
      if (work === 'deletes') {
        add({ id: `deletes.${system}.reached`, group: groups.deletes, title: `${prefix}: every delete reached B (1 = yes)`, unit: '', better: 'higher', runs: results[system].map((run) => (run.deletes?.reached ? 1 : 0)) });
      }
    }
    if (work === 'initial' && results.syncline.length > 0) {
      const after = results.syncline.map((run) => run.echoAfterInitial?.wallS ?? NaN);
      add({ id: 'initial.syncline.echoPass', group: groups.initial, title: 'Syncline `run --once`: the next pass, which meets the initial sync’s writes as echoes', unit: 's', better: 'lower', runs: after });
      add({ id: 'initial.syncline.quietPass', group: groups.initial, title: 'Syncline `run --once`: a pass with nothing changed (process start included)', unit: 's', better: 'lower', runs: results.syncline.map((run) => run.quiet?.wallS ?? NaN) });
      add({
        id: 'initial.syncline.quietWrites',
        group: groups.initial,
        title: 'Syncline `run --once`: records written by that quiet pass',
        unit: 'writes',
        better: 'lower',
        runs: results.syncline.map((run) => run.quiet?.writes ?? NaN),
        target: { op: '=', value: 0, text: 'none' },
      });
    }
    if (work === 'twoWay' && results.syncline.length > 0) {
      add({ id: 'twoWay.syncline.passes', group: groups.twoWay, title: 'Syncline `run --once`: passes until equal', unit: 'passes', better: 'lower', runs: results.syncline.map((run) => run.twoWay?.passes ?? NaN) });
      add({ id: 'twoWay.syncline.echoPass', group: groups.twoWay, title: 'Syncline `run --once`: the pass after, which meets the round’s writes as echoes', unit: 's', better: 'lower', runs: results.syncline.map((run) => run.echoAfterTwoWay?.wallS ?? NaN) });
    }
  }

  const first = measurements[0];
  if (first) first.notes = sideBySide(results, options, skipped, context);
  return measurements;
}

/** A table of medians, one row per piece of work and one column per system, as the issue states its figures. */
function sideBySide(results: Record<SystemName, SystemRun[]>, options: BenchOptions, skipped: Partial<Record<SystemName, string>>, context: { startedAt: string; commit: string }): string {
  const sizes = workSizes(options.rows);
  const count = (value: number) => value.toLocaleString('en');
  const columns = (SYSTEMS as readonly SystemName[]).filter((system) => results[system].length > 0);
  const cell = (system: SystemName, work: 'initial' | 'twoWay' | 'merge' | 'deletes'): string => {
    const runs = results[system].map((run) => run[work]).filter((sample): sample is Sample => sample !== undefined);
    if (runs.length === 0) return '—';
    const wall = runs.map((sample) => sample.wallS);
    const time = `${seconds(median(wall))}${runs.length > 1 ? ` (${seconds(Math.min(...wall))}–${seconds(Math.max(...wall))})` : ''}`;
    const cpu = `; CPU ${seconds(median(runs.map((sample) => sample.processCpuS)))} + backends ${seconds(median(runs.map((sample) => sample.backendCpuS)))}`;
    const rss = runs.every((sample) => sample.peakRssMb !== null) ? `; ${Math.round(median(runs.map((sample) => sample.peakRssMb as number)))} MB` : '';
    if (work === 'merge') return `${median(results[system].map((run) => run.merge?.keptBoth ?? 0))} of ${count(sizes.merged)} keep both; ${time}`;
    if (work === 'deletes') return `${results[system].every((run) => run.deletes?.reached) ? 'yes' : 'NOT ALL'}, ${time}`;
    return `${time}${cpu}${rss}`;
  };
  const ratio = (system: SystemName, work: 'initial' | 'twoWay', figure: (sample: Sample) => number) => {
    const ours = results[system].map((run) => (run[work] ? figure(run[work]) : NaN));
    const theirs = results.bucardo.map((run) => (run[work] ? figure(run[work]) : NaN));
    if (ours.length === 0 || theirs.length === 0) return null;
    return median(ours.slice(0, theirs.length).map((value, index) => value / (theirs[index] as number)));
  };
  const lines = [
    `medians of ${options.runs} run${options.runs > 1 ? 's' : ''} (min–max), measured ${context.startedAt} at ${context.commit}; each figure is wall time; CPU of the system's processes + of the PostgreSQL processes serving it; peak RSS.`,
    '',
    `| work | ${columns.map((system) => SYSTEM_TITLES[system]).join(' | ')} |`,
    `| --- | ${columns.map(() => '---').join(' | ')} |`,
    `| initial sync, ${count(options.rows)} rows A → empty B | ${columns.map((system) => cell(system, 'initial')).join(' | ')} |`,
    `| ${count(sizes.changed)} rows changed on A and ${count(sizes.changed)} others on B, until equal | ${columns.map((system) => (system === 'floor' ? '—' : cell(system, 'twoWay'))).join(' | ')} |`,
    `| ${count(sizes.merged)} rows: A changes \`company\`, B changes \`first_name\` | ${columns.map((system) => (system === 'floor' ? '—' : cell(system, 'merge'))).join(' | ')} |`,
    `| ${count(sizes.deleted)} deletes on A reach B | ${columns.map((system) => (system === 'floor' ? '—' : cell(system, 'deletes'))).join(' | ')} |`,
  ];
  const ratios = (['syncline', 'serve', 'polling'] as const).flatMap((system) =>
    (['initial', 'twoWay'] as const).flatMap((work) => {
      const wall = ratio(system, work, (sample) => sample.wallS);
      const cpu = ratio(system, work, (sample) => sample.processCpuS + sample.backendCpuS);
      if (wall === null || cpu === null || !Number.isFinite(wall)) return [];
      return [`${SYSTEM_TITLES[system]} ÷ Bucardo, ${work === 'initial' ? 'initial sync' : 'two-way round'}: **${wall.toFixed(1)}×** the wall time, ${cpu.toFixed(1)}× the CPU`];
    }),
  );
  if (ratios.length > 0) lines.push('', ...ratios.map((line) => `- ${line}`), '');
  for (const [system, reason] of Object.entries(skipped)) lines.push('', `${SYSTEM_TITLES[system as SystemName]} not run: ${reason}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------

export interface BenchResult {
  bench: 'postgres';
  rows: number;
  runs: number;
  scale: number;
  seconds: number;
  skipped: Partial<Record<SystemName, string>>;
  results: Record<SystemName, SystemRun[]>;
  profile?: ProfileFindings;
  measurements: Measurement[];
}

/** Runs the bench; every database, process and file it made is gone when it returns or throws. */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const unavailable = clusterUnavailable();
  if (unavailable) throw new Error(`cannot run the postgres bench: ${unavailable}`);
  const skipped: Partial<Record<SystemName, string>> = {};
  const cluster = await Cluster.start({ settings: { autovacuum: 'off', max_connections: '100', TimeZone: 'UTC' }, log: options.log });
  const running = new Set<() => Promise<void>>();
  const cleanup = async () => {
    for (const stop of running) await stop().catch(() => undefined);
    await cluster.stop();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    options.log(`${signal}: stopping what the bench started`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const systems = (SYSTEMS as readonly SystemName[]).filter((system) => options.only.has(system));
    if (systems.includes('bucardo')) {
      const missing = bucardoUnavailable(cluster.bin);
      if (missing) {
        skipped.bucardo = missing;
        options.log(`Bucardo skipped: ${missing}`);
      }
    }
    await cluster.query('postgres', 'CREATE ROLE syncline LOGIN SUPERUSER');
    await createTemplates(cluster, options.rows, systems.includes('serve') || systems.includes('polling'));
    const edits = pickRows(options.rows);
    const context: Context = { cluster, options, edits, running };
    const results: Record<SystemName, SystemRun[]> = { floor: [], bucardo: [], syncline: [], serve: [], polling: [] };
    const runners: Record<SystemName, (context: Context, run: number) => Promise<SystemRun>> = {
      floor: floorRun,
      bucardo: bucardoRun,
      syncline: synclineRun,
      serve: (context, run) => serveRun(context, run, 'serve'),
      polling: (context, run) => serveRun(context, run, 'polling'),
    };
    const active = systems.filter((system) => !skipped[system]);
    for (let run = 1; run <= options.runs; run++) {
      // Rotated run by run, so whatever else the machine does weighs on every system alike.
      const order = active.map((_, index) => active[(index + run - 1) % active.length] as SystemName);
      for (const system of order) results[system].push(await runners[system](context, run));
    }
    const profile = options.profileDir ? await profileInitialSync(context, options.profileDir) : null;
    const commit = checkoutCommit();
    return {
      bench: 'postgres',
      rows: options.rows,
      runs: options.runs,
      scale: options.rows / 100_000,
      seconds: Math.round((performance.now() - started) / 1000),
      skipped,
      results,
      ...(profile ? { profile } : {}),
      measurements: report(results, options, skipped, { startedAt, commit }),
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

/** What the profiled initial sync showed, besides the CPU profile itself. */
export interface ProfileFindings {
  sample: Sample;
  summary: ProcessRun['summary'] | null;
  threads: ThreadTime[];
  /** Statements Syncline sent to PostgreSQL (pg_stat_statements), most time first, and how many in all. */
  statements: Array<{ calls: number; ms: number; rows: number; query: string }>;
  statementCalls: number;
  /** Rows in Syncline's state (SQLite) after the sync, by table. */
  stateRows: Record<string, number>;
  profileText: string;
}

/**
 * One more Syncline initial sync, not measured, under `node --cpu-prof`, with the server restarted to load
 * pg_stat_statements (the measured runs did without it): where the time goes, in the process and in PostgreSQL.
 */
async function profileInitialSync(context: Context, profileDir: string): Promise<ProfileFindings> {
  const { cluster } = context;
  await cluster.restart({ shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' });
  await cluster.query('postgres', 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  const pair = await freshPair(cluster, 'syncline', 0, false);
  const dir = join(cluster.workDir, 'syncline-profile');
  try {
    await settleCluster(cluster, pair);
    const { document } = benchFlow({ port: cluster.port, a: pair.a, b: pair.b, user: 'syncline' });
    const flowFile = writeFlowFile(dir, document);
    const statePath = join(dir, 'state.db');
    await cluster.query('postgres', 'SELECT pg_stat_statements_reset()');
    let done: ProcessRun | null = null;
    let threads: ThreadSampler | null = null;
    const sample = await measure(cluster, async () => {
      done = await runOnce(flowFile, statePath, cluster.port, { profileDir, onSpawn: (pid) => (threads = new ThreadSampler(pid)) });
      return { rssMb: done.maxRssMb };
    });
    const statements = await cluster.query<{ calls: string; ms: number; rows: string; query: string }>(
      'postgres',
      `SELECT calls, total_exec_time AS ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query
       FROM pg_stat_statements WHERE userid = 'syncline'::regrole ORDER BY total_exec_time DESC`,
    );
    const state = new Sqlite(statePath, { readonly: true });
    const tables = state.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
    const stateRows = Object.fromEntries(tables.map((table) => [table, state.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number]));
    state.close();
    const findings: ProfileFindings = {
      sample,
      summary: (done as ProcessRun | null)?.summary ?? null,
      threads: (threads as ThreadSampler | null)?.stop() ?? [],
      statements: statements.slice(0, 15).map((row) => ({ calls: Number(row.calls), ms: Math.round(row.ms), rows: Number(row.rows), query: row.query })),
      statementCalls: statements.reduce((total, row) => total + Number(row.calls), 0),
      stateRows,
      profileText: summarizeProfiles(profileDir),
    };
    process.stderr.write(`${describeFindings(findings)}\n`);
    return findings;
  } finally {
    await dropPair(cluster, pair);
  }
}

export function describeFindings(findings: ProfileFindings): string {
  const { sample } = findings;
  const lines = [
    `profiled initial sync: ${sample.wallS.toFixed(1)} s wall; ${sample.processCpuS.toFixed(1)} s CPU of Syncline's process, ${sample.backendCpuS.toFixed(1)} s of the PostgreSQL backends; ${JSON.stringify(findings.summary)}`,
    'threads of the process (on a CPU / waiting for one):',
    ...findings.threads.slice(0, 6).map((thread) => `  ${thread.name.padEnd(16)} ${thread.cpuS.toFixed(2).padStart(7)} s / ${thread.runQueueS.toFixed(2).padStart(7)} s`),
    `statements Syncline sent to PostgreSQL: ${findings.statementCalls.toLocaleString('en')}; by time:`,
    ...findings.statements.map((row) => `  ${String(row.calls).padStart(7)} calls ${String(row.ms).padStart(7)} ms ${String(row.rows).padStart(8)} rows  ${row.query}`),
    `rows in Syncline's state after the sync: ${Object.entries(findings.stateRows)
      .filter(([, rows]) => rows > 0)
      .map(([table, rows]) => `${table} ${rows.toLocaleString('en')}`)
      .join(', ')}`,
    findings.profileText,
  ];
  return lines.join('\n');
}

/** The commit measured, as bin/bench.mjs names it. */
function checkoutCommit(): string {
  const git = (args: string[]) => execFileSync('git', args, { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return `${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain']) ? ' + uncommitted changes' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

async function main(): Promise<void> {
  const options = optionsFromArgs();
  options.log(`${options.rows.toLocaleString('en')} rows, ${options.runs} run(s), systems: ${[...options.only].join(', ')}. The machine may be shared and busy: only the ratios of systems measured in the same run count.`);
  // `run --once` is timed from spawn to exit, so whether the CLI starts from the bundle or the sources shows in it.
  const stale = bundleProblem();
  options.log(stale === null ? 'the CLI runs the bundled runtime (dist/runtime)' : `the CLI runs the TypeScript sources through tsx: ${stale}`);
  // Every Syncline the bench starts runs what that line says. With the bundle pinned, a source edited during the run
  // stops the bench (bin/syncline.mjs refuses a stale bundle) instead of timing the runs after it from the sources:
  // 1.2–2.1 s more a pass on the slower machine (bench/postgres.notes.md, 2026-12-04).
  process.env.SYNCLINE_RUNTIME ??= stale === null ? 'bundle' : 'source';
  const result = await runBench(options);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
