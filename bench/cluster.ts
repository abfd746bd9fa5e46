/**
 * `npm run bench -- cluster`: several `syncline serve` processes on one PostgreSQL state (docs/scale-out.md).
 *
 * - **Scaling**: one, two and three processes on a PostgreSQL cluster of the bench's own (bench/postgresCluster.ts),
 *   taking EVENTS signed webhooks sent to them in turn, 32 at a time. Each event is a new person written to A (a
 *   SQLite file in the data folder the processes share) just before its webhook: a read, a merge and a create on B.
 *   Measured: events committed per second, from the first send to the moment B holds them all; and the CPU seconds the
 *   Syncline processes and PostgreSQL spent per 1,000 events, so the figure can be projected to more cores.
 * - **Fail-over**: two processes; events sent until one of them is seen mid-pass (holding the flow's lock with its
 *   run begun), then it is killed with SIGKILL. Measured: from the kill to the moment the other process has taken the
 *   flow over (the killed run is marked interrupted, which the taking pass does first).
 *
 * Runs alternate between the sizes, so whatever else the machine does weighs on all of them alike.
 */
import Sqlite from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { signBody } from '../runtime/webhooks/signature';
import { Cluster, treeCpuSeconds } from './postgresCluster';

const repository = fileURLToPath(new URL('..', import.meta.url));
const runs = Math.max(1, Number(process.env.SYNCLINE_BENCH_RUNS ?? 5));
const EVENTS = Number(process.env.SYNCLINE_CLUSTER_BENCH_EVENTS ?? 3000);
const CONCURRENCY = 32;
/**
 * Flows the events are spread over. A flow runs one pass at a time in the whole cluster, so one flow cannot use a
 * second process; several flows (the usual case: one per pair of systems) can.
 */
const FLOWS = Number(process.env.SYNCLINE_CLUSTER_BENCH_FLOWS ?? 4);
const TOKEN = 'cluster-bench-token-0123456789';
const SECRET = 'cluster-bench-secret';
/** The first key of the flow locks' advisory locks (runtime/cluster/cluster.ts). */
const FLOW_LOCKS = 0x5359_0002;
const log = (message: string) => process.stderr.write(`cluster bench: ${message}\n`);

const flowFor = (index: number) => ({
  format: 'syncline.flow',
  version: 1,
  id: `bench${index}`,
  name: `Cluster bench ${index}`,
  nodes: [
    {
      id: 'a',
      type: 'trigger',
      typeVersion: 1,
      position: { x: 0, y: 0 },
      config: { connector: 'sqlite', connection: { file: `a${index}.db` }, collection: 'people', key: 'id', updatedAt: 'updated_at', detect: { mode: 'webhook', secret: { credential: 'bench-secret' } } },
    },
    {
      id: 'map',
      type: 'mapping',
      typeVersion: 1,
      position: { x: 240, y: 0 },
      config: { fields: [{ left: 'name', right: 'full_name', direction: 'both' }, { left: 'email', right: 'email', direction: 'both' }] },
    },
    { id: 'resolve', type: 'conflict', typeVersion: 1, position: { x: 480, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'ignore' } },
    {
      id: 'b',
      type: 'trigger',
      typeVersion: 1,
      position: { x: 720, y: 0 },
      config: { connector: 'sqlite', connection: { file: `b${index}.db` }, collection: 'contacts', key: 'id', updatedAt: 'modified_at', detect: { mode: 'manual' } },
    },
  ],
  edges: [
    { id: 'e1', source: 'a', target: 'map' },
    { id: 'e2', source: 'map', target: 'resolve' },
    { id: 'e3', source: 'resolve', target: 'b' },
  ],
});

interface Member {
  child: ChildProcess;
  base: string;
}

/** A data folder with, per flow, A (people) and an empty B (contacts), all in WAL mode, and a schema for the state. */
async function prepare(pgCluster: Cluster, admin: pg.Client, name: string): Promise<{ dataDir: string; state: string; sources: Sqlite.Database[] }> {
  const dataDir = join(pgCluster.workDir, name);
  mkdirSync(dataDir, { recursive: true });
  const sources = Array.from({ length: FLOWS }, (_, index) => {
    const source = new Sqlite(join(dataDir, `a${index}.db`));
    source.exec('CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, email TEXT, updated_at TEXT NOT NULL); CREATE INDEX people_updated ON people (updated_at)');
    source.pragma('journal_mode = WAL');
    const target = new Sqlite(join(dataDir, `b${index}.db`));
    target.exec('CREATE TABLE contacts (id INTEGER PRIMARY KEY, full_name TEXT, email TEXT, modified_at TEXT NOT NULL); CREATE INDEX contacts_modified ON contacts (modified_at)');
    target.pragma('journal_mode = WAL');
    target.close();
    return source;
  });
  await admin.query(`create schema ${name}`);
  const state = new URL(pgCluster.url('postgres'));
  state.searchParams.set('schema', name);
  return { dataDir, state: state.toString(), sources };
}

/** SYNCLINE_BENCH_CPU_PROF=DIR: each member writes its CPU profile (main thread and pass thread) to DIR when it stops. */
const profileDir = process.env.SYNCLINE_BENCH_CPU_PROF?.trim() || null;

function startMember(dataDir: string, state: string): Promise<Member> {
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...profile, join(repository, 'bin', 'syncline.mjs'), 'serve', '--port', '0', '--data', dataDir, '--state', state], {
    cwd: repository,
    env: { ...process.env, SYNCLINE_TOKEN: TOKEN, SYNCLINE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      const match = /Syncline is running: (http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
      if (match) resolve({ child, base: match[1]! });
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
  });
}

async function api(member: Member, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${member.base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
}

/**
 * Sends webhooks for people `from`..`to` (each written to its flow's A first: flow id % FLOWS), CONCURRENCY at a
 * time, to the members in turn.
 */
async function send(members: () => Member[], sources: Sqlite.Database[], from: number, to: number): Promise<number> {
  const inserts = sources.map((source) => source.prepare('INSERT INTO people (id, name, email, updated_at) VALUES (?, ?, ?, ?)'));
  let next = from;
  let acknowledged = 0;
  const lane = async () => {
    while (next <= to) {
      const id = next++;
      inserts[id % FLOWS]!.run(id, `Person ${id}`, `p${id}@example.com`, new Date().toISOString());
      const body = JSON.stringify({ type: 'upsert', id: String(id) });
      const live = members();
      for (let attempt = 0; attempt < live.length * 3; attempt++) {
        const member = live[(id + attempt) % live.length]!;
        try {
          const response = await fetch(`${member.base}/hooks/bench${id % FLOWS}/a`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-syncline-signature': signBody(SECRET, body), 'x-syncline-delivery': `bench-${id}` },
            body,
          });
          await response.arrayBuffer();
          if (response.status === 202) {
            acknowledged++;
            break;
          }
        } catch {
          // That member is gone: the sender tries the next, as a load balancer would.
        }
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return acknowledged;
}

/** The contacts on every flow's B. */
function contactCount(dataDir: string): number {
  let total = 0;
  for (let index = 0; index < FLOWS; index++) {
    const target = new Sqlite(join(dataDir, `b${index}.db`), { readonly: true });
    try {
      total += (target.prepare('SELECT count(*) AS n FROM contacts').get() as { n: number }).n;
    } finally {
      target.close();
    }
  }
  return total;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function startCluster(pgCluster: Cluster, admin: pg.Client, name: string, size: number) {
  const prepared = await prepare(pgCluster, admin, name);
  // The first sets the schema up; the others join it.
  const members = [await startMember(prepared.dataDir, prepared.state)];
  members.push(...(await Promise.all(Array.from({ length: size - 1 }, () => startMember(prepared.dataDir, prepared.state)))));
  await api(members[0]!, '/api/credentials', { name: 'bench-secret', type: 'webhook-secret', value: SECRET });
  for (let index = 0; index < FLOWS; index++) {
    await api(members[0]!, '/api/flows', flowFor(index));
    await api(members[0]!, `/api/flows/bench${index}/deploy`);
  }
  return { ...prepared, members };
}

async function stopMembers(members: Member[]): Promise<void> {
  await Promise.all(
    members.map(async (member) => {
      if (member.child.exitCode !== null || member.child.signalCode !== null) return;
      member.child.kill('SIGTERM');
      await once(member.child, 'exit');
    }),
  );
}

/** What one measured window of a scaling run gives. */
interface Window {
  eventsPerSecond: number;
  synclineCpuPer1000: number;
  postgresCpuPer1000: number;
  passesPer1000: number;
}

/**
 * One scaling run with `size` processes: two windows of EVENTS events each, measured one after the other. The first
 * ("cold") includes what a process pays the first time it runs a flow: each flow running at the same time as another
 * gets a pass worker thread of its own, and starting one (loading the runtime's modules in the thread) costs seconds
 * of CPU; with more processes, more (process, flow) pairs start one. The second ("warm") is the steady state.
 */
async function scalingRun(pgCluster: Cluster, admin: pg.Client, size: number, run: number): Promise<{ cold: Window; warm: Window }> {
  const name = `scale_${size}_${run}`;
  const { dataDir, sources, members } = await startCluster(pgCluster, admin, name, size);
  const passes = async () => Number((await admin.query<{ count: string }>(`select count(*) from ${name}.runs`)).rows[0]!.count);
  let sent = 0;
  const measure = async (): Promise<Window> => {
    const cpuBefore = members.map((member) => treeCpuSeconds(member.child.pid!));
    const pgBefore = pgCluster.cpuSeconds();
    const passesBefore = await passes();
    const started = performance.now();
    const acknowledged = await send(() => members, sources, sent + 1, sent + EVENTS);
    sent += EVENTS;
    await until(() => contactCount(dataDir) === sent, 'every event committed');
    const seconds = (performance.now() - started) / 1000;
    const syncline = members.reduce((sum, member, index) => sum + treeCpuSeconds(member.child.pid!) - cpuBefore[index]!, 0);
    const postgres = pgCluster.cpuSeconds() - pgBefore;
    const passesPer1000 = ((await passes()) - passesBefore) / (EVENTS / 1000);
    if (acknowledged !== EVENTS) throw new Error(`${EVENTS - acknowledged} events were not acknowledged`);
    return { eventsPerSecond: EVENTS / seconds, synclineCpuPer1000: (syncline / EVENTS) * 1000, postgresCpuPer1000: (postgres / EVENTS) * 1000, passesPer1000 };
  };
  try {
    // Warm-up: every member has seen the flows' documents and answered a webhook before the clock starts.
    await send(() => members, sources, 1, 60);
    sent = 60;
    await until(() => contactCount(dataDir) === sent, 'the warm-up');
    const cold = await measure();
    const warm = await measure();
    return { cold, warm };
  } finally {
    await stopMembers(members);
    for (const source of sources) source.close();
  }
}

/** One fail-over: seconds from killing the member mid-pass to the survivor holding the flow. */
async function failoverRun(pgCluster: Cluster, admin: pg.Client, run: number): Promise<number> {
  const name = `failover_${run}`;
  const { dataDir, sources, members } = await startCluster(pgCluster, admin, name, 2);
  const alive = new Set(members);
  const client = new pg.Client({ connectionString: pgCluster.url('postgres') });
  await client.connect();
  try {
    let next = 1;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 500) throw new Error('no member was ever seen mid-pass');
      const sending = send(() => [...alive], sources, next, next + 199);
      next += 200;
      let victim: Member | null = null;
      let runId: string | null = null;
      for (let look = 0; look < 200 && victim === null; look++) {
        const { rows } = await client.query<{ application_name: string }>(
          `select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and l.granted and l.classid = $1`,
          [FLOW_LOCKS],
        );
        const pid = Number(/^syncline:(\d+)@/.exec(rows[0]?.application_name ?? '')?.[1]);
        const candidate = members.find((member) => member.child.pid === pid);
        if (!candidate) continue;
        candidate.child.kill('SIGSTOP');
        const running = await client.query<{ id: string }>(`select id from ${name}.runs where status = 'running' and process like $1`, [`%:${pid}`]);
        if (running.rows.length >= 1) {
          victim = candidate;
          runId = running.rows[0]!.id;
        } else candidate.child.kill('SIGCONT');
      }
      if (victim && runId) {
        victim.child.kill('SIGKILL');
        const killedAt = performance.now();
        alive.delete(victim);
        await until(async () => (await client.query(`select 1 from ${name}.runs where id = $1 and status = 'failed'`, [runId])).rows.length === 1, 'the take-over', 120_000);
        const seconds = (performance.now() - killedAt) / 1000;
        await sending;
        await until(() => contactCount(dataDir) === next - 1, 'every event committed after the kill');
        return seconds;
      }
      await sending;
    }
  } finally {
    await client.end();
    await stopMembers([...alive]);
    for (const source of sources) source.close();
  }
}

const pgCluster = await Cluster.start({ settings: { max_connections: '300' }, log });
const admin = new pg.Client({ connectionString: pgCluster.url('postgres') });
await admin.connect();
try {
  const sizes = [1, 2, 3];
  const results = new Map(sizes.map((size) => [size, [] as Array<Awaited<ReturnType<typeof scalingRun>>>]));
  const failovers: number[] = [];
  const describe = (window: Window) =>
    `${Math.round(window.eventsPerSecond)} events/s, ${window.synclineCpuPer1000.toFixed(2)} s Syncline CPU, ${window.postgresCpuPer1000.toFixed(2)} s PostgreSQL CPU and ${Math.round(window.passesPer1000)} passes per 1,000 events`;
  for (let run = 0; run < runs; run++) {
    // The order rotates run by run.
    for (const size of sizes.map((_, index) => sizes[(index + run) % sizes.length]!)) {
      const result = await scalingRun(pgCluster, admin, size, run);
      log(`run ${run + 1}, ${size} process(es): cold ${describe(result.cold)}; warm ${describe(result.warm)}`);
      results.get(size)!.push(result);
    }
    failovers.push(await failoverRun(pgCluster, admin, run));
    log(`run ${run + 1}: fail-over in ${failovers.at(-1)!.toFixed(2)} s`);
  }
  const processes = (size: number) => `${size} process${size === 1 ? '' : 'es'}`;
  const measurements = sizes.flatMap((size) => {
    const of = (pick: (result: { cold: Window; warm: Window }) => number) => results.get(size)!.map(pick);
    return [
      {
        id: `events-${size}`,
        group: 'Scaling (warm: every process has run the flows before)',
        title: `Webhook events committed per second, ${processes(size)} on one PostgreSQL state (${EVENTS.toLocaleString('en')} events over ${FLOWS} flows, ${CONCURRENCY} at a time)`,
        unit: 'events/s',
        better: 'higher',
        runs: of((r) => r.warm.eventsPerSecond),
      },
      {
        id: `syncline-cpu-${size}`,
        group: 'Scaling (warm: every process has run the flows before)',
        title: `CPU seconds of the Syncline processes per 1,000 events, ${processes(size)}`,
        unit: 's',
        better: 'lower',
        runs: of((r) => r.warm.synclineCpuPer1000),
      },
      {
        id: `postgres-cpu-${size}`,
        group: 'Scaling (warm: every process has run the flows before)',
        title: `CPU seconds of PostgreSQL per 1,000 events, ${processes(size)}`,
        unit: 's',
        better: 'lower',
        runs: of((r) => r.warm.postgresCpuPer1000),
      },
      {
        id: `passes-${size}`,
        group: 'Scaling (warm: every process has run the flows before)',
        title: `Passes run per 1,000 events, ${processes(size)} (a pass takes every event of its flow waiting when it starts)`,
        unit: 'passes',
        better: 'lower',
        runs: of((r) => r.warm.passesPer1000),
      },
      {
        id: `events-cold-${size}`,
        group: 'Scaling (cold: the first events after the processes start)',
        title: `Webhook events committed per second, ${processes(size)}, the first ${EVENTS.toLocaleString('en')} events`,
        unit: 'events/s',
        better: 'higher',
        runs: of((r) => r.cold.eventsPerSecond),
      },
      {
        id: `syncline-cpu-cold-${size}`,
        group: 'Scaling (cold: the first events after the processes start)',
        title: `CPU seconds of the Syncline processes per 1,000 events, ${processes(size)}, the first ${EVENTS.toLocaleString('en')} events (pass threads starting included)`,
        unit: 's',
        better: 'lower',
        runs: of((r) => r.cold.synclineCpuPer1000),
      },
    ];
  });
  measurements.push({
    id: 'failover',
    group: 'Fail-over',
    title: 'From SIGKILL of a process mid-pass to another holding the flow (two processes)',
    unit: 's',
    better: 'lower',
    runs: failovers,
  });
  process.stdout.write(`${JSON.stringify({ measurements })}\n`);
} finally {
  await admin.end();
  await pgCluster.stop();
}
