/**
 * A throwaway PostgreSQL cluster for the postgres bench (bench/postgres.ts), and the meters it reads: CPU of process
 * trees from /proc, and of the cluster as a whole.
 *
 * The cluster is made as .ci/run makes its own: initdb and pg_ctl as the `postgres` user (when the bench runs as
 * root) into a folder of its own, listening on 127.0.0.1 only, on a port nobody else uses. Everything lives under one
 * folder, removed by `stop()`.
 */
import { execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../test/support/http';

/** Clock ticks a second, the unit of utime and stime in /proc/<pid>/stat. */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Where initdb and pg_ctl are: SYNCLINE_PG_BIN, else the newest /usr/lib/postgresql/<version>/bin; null when absent. */
export function findPostgresBin(): string | null {
  const stated = process.env.SYNCLINE_PG_BIN;
  if (stated) return existsSync(join(stated, 'initdb')) ? stated : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((version) => existsSync(join(root, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

/** Why the bench cannot make a cluster here, or null when it can. */
export function clusterUnavailable(): string | null {
  if (process.platform !== 'linux') return 'the postgres bench reads /proc: it runs on Linux only';
  if (!findPostgresBin()) return 'initdb not found (SYNCLINE_PG_BIN or /usr/lib/postgresql/<version>/bin): install PostgreSQL, e.g. "apt-get install -y postgresql"';
  if (isRoot() && !hasUser('postgres')) return 'running as root, and there is no "postgres" user to run initdb as (PostgreSQL refuses to run as root)';
  return null;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function hasUser(name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program to its end; rejects with its output when it fails and `check` is set (the default). */
export function run(command: string, args: readonly string[], options: SpawnOptions & { check?: boolean } = {}): Promise<RunResult> {
  const { check = true, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // Nothing to read from standard input: a program that would ask a question gets end-of-file instead of hanging.
    const child = spawn(command, args, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const result = { code, stdout, stderr, ms: performance.now() - started };
      if (check && code !== 0) reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${stderr.trim() || stdout.trim()}`));
      else resolve(result);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// CPU and memory from /proc.

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime: CPU of the process itself, in ticks. */
  own: number;
  /** cutime + cstime: CPU of its children that exited and that it waited for, in ticks. */
  reaped: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name, in parentheses, may hold spaces and parentheses: the fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (index: number) => Number(fields[index - 3]);
  return { pid, ppid: field(4), own: field(14) + field(15), reaped: field(16) + field(17) };
}

function allStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) stats.push(stat);
  }
  return stats;
}

/** The pids of a process and all its live descendants. */
export function processTree(root: number, stats: readonly ProcStat[] = allStats()): number[] {
  const children = new Map<number, number[]>();
  for (const stat of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat.pid]);
  const tree: number[] = [];
  const queue = stats.some((stat) => stat.pid === root) ? [root] : [];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/**
 * CPU seconds of a process tree so far: each live member's own time and the time of the children it waited for.
 * A child that exited unwaited-for (its parent ignores SIGCHLD, as Bucardo does) takes its time with it: see
 * {@link TreeSampler} for such trees.
 */
export function treeCpuSeconds(root: number): number {
  // /proc is read one process at a time, the root (lowest pid) first: a child reaped while the others are read would
  // be in neither the root's reaped time nor the live processes. Read again until the root reaped nothing meanwhile.
  for (let attempt = 0; ; attempt++) {
    const before = readStat(root)?.reaped;
    const stats = allStats();
    if (readStat(root)?.reaped !== before && attempt < 20) continue;
    const byPid = new Map(stats.map((stat) => [stat.pid, stat]));
    let ticks = 0;
    for (const pid of processTree(root, stats)) {
      const stat = byPid.get(pid) as ProcStat;
      ticks += stat.own + stat.reaped;
    }
    return ticks / TICKS_PER_SECOND;
  }
}

/** CPU seconds of one process, itself only; 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  const stat = readStat(pid);
  return stat ? stat.own / TICKS_PER_SECOND : 0;
}

/** This process's children that exited and were waited for (every program the bench ran), in CPU seconds. */
export function reapedChildrenCpuSeconds(): number {
  return (readStat(process.pid)?.reaped ?? 0) / TICKS_PER_SECOND;
}

/** Peak resident memory of a live process (VmHWM), in MB; 0 once it is gone. */
export function peakRssMb(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Samples a process tree every `intervalMs` for as long as it runs, keeping each member's latest CPU and peak RSS,
 * so members that come and go between the start and the end (Bucardo's kids, which nobody waits for) still count,
 * less at most their last interval.
 */
export class TreeSampler {
  private readonly baseline = new Map<number, number>();
  private readonly latest = new Map<number, number>();
  private readonly peaks = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly root: () => number | null,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), this.intervalMs);
  }

  /** CPU seconds the tree used since start, and the sum of its members' peak RSS (MB). */
  stop(): { cpuSeconds: number; peakRssMb: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample(false);
    let ticks = 0;
    for (const [pid, latest] of this.latest) ticks += latest - (this.baseline.get(pid) ?? 0);
    let rss = 0;
    for (const peak of this.peaks.values()) rss += peak;
    return { cpuSeconds: ticks / TICKS_PER_SECOND, peakRssMb: rss };
  }

  private sample(first: boolean): void {
    const root = this.root();
    if (root === null) return;
    const stats = allStats();
    const byPid = new Map(stats.map((stat) => [stat.pid, stat]));
    for (const pid of processTree(root, stats)) {
      const stat = byPid.get(pid) as ProcStat;
      const ticks = stat.own + stat.reaped;
      if (first) this.baseline.set(pid, ticks);
      this.latest.set(pid, ticks);
      this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, peakRssMb(pid)));
    }
  }
}

export interface ThreadTime {
  tid: number;
  name: string;
  /** Time on a CPU. */
  cpuS: number;
  /** Time runnable but waiting for a CPU (the run queue): what a busy machine adds. */
  runQueueS: number;
}

/**
 * Samples the threads of a process (/proc/<pid>/task/<tid>/schedstat) every `intervalMs` until it exits, keeping each
 * thread's latest figures: how long each ran, and how long it waited for a CPU. Wall time less both is time the
 * thread was blocked (on the network, a disk, a lock).
 */
export class ThreadSampler {
  private readonly threads = new Map<number, ThreadTime>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  stop(): ThreadTime[] {
    clearInterval(this.timer);
    this.sample();
    return [...this.threads.values()].sort((a, b) => b.cpuS - a.cpuS);
  }

  private sample(): void {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${this.pid}/task`);
    } catch {
      return;
    }
    for (const tid of tids) {
      try {
        const [cpu, wait] = readFileSync(`/proc/${this.pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
        const name = readFileSync(`/proc/${this.pid}/task/${tid}/comm`, 'utf8').trim();
        this.threads.set(Number(tid), { tid: Number(tid), name, cpuS: (cpu ?? 0) / 1e9, runQueueS: (wait ?? 0) / 1e9 });
      } catch {
        // The thread ended between the listing and the read: its last sample stands.
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The cluster.

export interface ClusterOptions {
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  log?: (message: string) => void;
}

/** A PostgreSQL cluster of the bench's own, on loopback; `stop()` stops it and removes every file it made. */
export class Cluster {
  /** Connections the bench itself holds (setup, edits, checks), by database: their backends' CPU is not a system's. */
  private readonly clients = new Map<string, pg.Client>();
  private stopped = false;

  private constructor(
    readonly root: string,
    readonly bin: string,
    readonly port: number,
    private readonly dataDir: string,
    private readonly socketDir: string,
    private settings: Record<string, string>,
  ) {}

  /** The folder for the bench's own files (flows, states, copies, profiles), inside the cluster's root. */
  get workDir(): string {
    return join(this.root, 'work');
  }

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const problem = clusterUnavailable();
    if (problem) throw new Error(problem);
    const bin = findPostgresBin() as string;
    // Lower case only: Bucardo lower-cases the paths it is given (its piddir), so a mixed-case folder would not match.
    const root = join(tmpdir(), `syncline-pgbench-${randomBytes(5).toString('hex')}`);
    const pgDir = join(root, 'pg');
    mkdirSync(pgDir, { recursive: true });
    mkdirSync(join(root, 'work'));
    if (isRoot()) chownSync(pgDir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })));
    const port = await freePort();
    const cluster = new Cluster(root, bin, port, join(pgDir, 'data'), pgDir, { listen_addresses: '127.0.0.1', ...options.settings });
    try {
      await cluster.asPostgres(join(bin, 'initdb'), ['-D', cluster.dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale', 'C.UTF-8']);
      await cluster.pgCtl('start');
      options.log?.(`PostgreSQL (${bin}) on 127.0.0.1:${port}, in ${root}`);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  private pgCtl(action: 'start' | 'restart'): Promise<RunResult> {
    const serverOptions = [`-p ${this.port}`, `-k ${this.socketDir}`, ...Object.entries(this.settings).map(([name, value]) => `-c ${name}=${value}`)].join(' ');
    return this.asPostgres(join(this.bin, 'pg_ctl'), ['-D', this.dataDir, '-o', serverOptions, '-l', join(this.socketDir, 'log'), '-w', '-t', '120', action]);
  }

  /** Restarts the server with more settings (every connection of the bench's is closed first). */
  async restart(settings: Record<string, string>): Promise<void> {
    for (const database of [...this.clients.keys()]) await this.release(database);
    this.settings = { ...this.settings, ...settings };
    await this.pgCtl('restart');
  }

  /** Runs a PostgreSQL program as the `postgres` user when the bench is root (the server refuses to run as root). */
  private asPostgres(program: string, args: string[]): Promise<RunResult> {
    if (!isRoot()) return run(program, args);
    return run('runuser', ['-u', 'postgres', '--', program, ...args]);
  }

  url(database: string, user = 'postgres'): string {
    return `postgres://${user}@127.0.0.1:${this.port}/${database}`;
  }

  /** The postmaster's pid: the root of every backend's process. */
  postmasterPid(): number {
    return Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /** CPU seconds of the whole cluster so far: the postmaster, its live backends and helpers, and those that exited. */
  cpuSeconds(): number {
    return treeCpuSeconds(this.postmasterPid());
  }

  /** CPU seconds of the backends serving the bench's own connections (subtracted from a system's share). */
  benchBackendsCpuSeconds(): number {
    let seconds = 0;
    for (const client of this.clients.values()) seconds += processCpuSeconds((client as pg.Client & { processID: number }).processID);
    return seconds;
  }

  /** The bench's own connection to `database`, opened once. */
  async client(database: string): Promise<pg.Client> {
    let client = this.clients.get(database);
    if (!client) {
      client = new pg.Client({ connectionString: this.url(database), options: '-c TimeZone=UTC' });
      await client.connect();
      this.clients.set(database, client);
    }
    return client;
  }

  async query<T extends pg.QueryResultRow = Record<string, unknown>>(database: string, text: string, values: unknown[] = []): Promise<T[]> {
    return (await (await this.client(database)).query<T>(text, values)).rows;
  }

  /** Closes the bench's connection to `database` (a database with connections cannot be dropped or copied). */
  async release(database: string): Promise<void> {
    const client = this.clients.get(database);
    if (!client) return;
    this.clients.delete(database);
    await client.end().catch(() => undefined);
  }

  async dropDatabase(database: string): Promise<void> {
    await this.release(database);
    await this.query('postgres', `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  }

  /** psql against `database`, as the bench's user would run it. */
  psql(database: string, command: string): Promise<RunResult> {
    return run(join(this.bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', this.url(database), '-c', command]);
  }

  /** Stops the server and removes the cluster's folder; safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const database of [...this.clients.keys()]) await this.release(database);
    if (existsSync(join(this.dataDir, 'postmaster.pid'))) {
      await this.asPostgres(join(this.bin, 'pg_ctl'), ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']).catch(() => undefined);
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
