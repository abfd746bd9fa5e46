/**
 * Syncline in the postgres bench, run as a user runs it: the CLI (`bin/syncline.mjs run FLOW --once`) on a flow file
 * with two postgres triggers meeting at a conflict node that matches on email, and `syncline serve` with the same
 * flow deployed through the API and `notify: true`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadFlow } from '../nodes/flow/load';
import { loadOptionsFor } from '../runtime/connectors/index';
import { peakRssMb, treeCpuSeconds } from './postgresCluster';

const repository = fileURLToPath(new URL('..', import.meta.url));
const rusagePreload = pathToFileURL(join(repository, 'bench', 'postgresRusage.mjs')).href;

export interface PassSummary {
  created: number;
  updated: number;
  deleted: number;
  echoes: number;
  conflicts: number;
  failed: number;
}

export interface FlowOptions {
  port: number;
  a: string;
  b: string;
  user: string;
  /** LISTEN/NOTIFY on both tables (serve). */
  notify?: boolean;
  /** The column the runtime may keep its write tag in, when the tables have one. */
  tagColumn?: string;
  /** How often each trigger lists its table (default 5,000 ms, the trigger's own default). */
  pollMs?: number;
}

/**
 * The flow: A ↔ conflict (last-write-wins, match on email, deletes propagate) ↔ B. With `keys: "shared"` when this
 * checkout's trigger accepts it (issue 17, item 4: a create writes the source's key), else B's rows get B's own ids
 * from its identity column.
 */
export function benchFlow(options: FlowOptions): { document: Record<string, unknown>; sharedKeys: boolean } {
  const trigger = (id: string, database: string, keys: boolean) => ({
    id,
    type: 'trigger',
    typeVersion: 1,
    position: { x: id === 'a' ? 0 : 480, y: 0 },
    config: {
      connector: 'postgres',
      connection: { url: `postgres://${options.user}@127.0.0.1:${options.port}/${database}`, ...(options.notify ? { notify: true } : {}) },
      collection: 'contacts',
      key: 'id',
      updatedAt: 'updated_at',
      ...(options.tagColumn ? { tagColumn: options.tagColumn } : {}),
      ...(keys ? { keys: 'shared' } : {}),
      detect: { mode: 'poll', intervalMs: options.pollMs ?? 5000 },
    },
  });
  const build = (keys: boolean) => ({
    format: 'syncline.flow',
    version: 1,
    id: 'pg-bench',
    name: 'Bench: contacts A <-> contacts B',
    nodes: [
      trigger('a', options.a, keys),
      { id: 'resolve', type: 'conflict', typeVersion: 1, position: { x: 240, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } },
      trigger('b', options.b, keys),
    ],
    edges: [
      { id: 'e1', source: 'a', target: 'resolve' },
      { id: 'e2', source: 'resolve', target: 'b' },
    ],
  });
  const valid = (document: unknown) => {
    const { document: flow, issues } = loadFlow(document, loadOptionsFor());
    return flow && !issues.some((issue) => issue.severity === 'error') ? null : issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  };
  if (valid(build(true)) === null) return { document: build(true), sharedKeys: true };
  const problem = valid(build(false));
  if (problem !== null) throw new Error(`the bench's flow is invalid: ${problem}`);
  return { document: build(false), sharedKeys: false };
}

export interface ProcessRun {
  ms: number;
  /** CPU of the whole process (every thread), from its own resourceUsage() at exit. */
  cpuSeconds: number;
  maxRssMb: number;
  summary: PassSummary;
}

/**
 * `syncline run FLOW --once`, timed from spawn to exit (Node, the loader and the pass: what a user waits for).
 * `profileDir` adds `--cpu-prof` (every thread's profile is written there).
 */
export async function runOnce(flowFile: string, statePath: string, port: number, options: { profileDir?: string; onSpawn?: (pid: number) => void } = {}): Promise<ProcessRun> {
  const { profileDir, onSpawn } = options;
  const usageFile = `${statePath}.rusage.json`;
  rmSync(usageFile, { force: true });
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const args = [...profile, '--import', rusagePreload, join(repository, 'bin', 'syncline.mjs'), 'run', flowFile, '--once', '--state', statePath, '--allow-hosts', `127.0.0.1:${port}`];
  const started = performance.now();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: repository,
      env: { ...process.env, SYNCLINE_BENCH_RUSAGE: usageFile, SYNCLINE_LOG_LEVEL: process.env.SYNCLINE_LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) onSpawn?.(child.pid);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
  });
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`syncline run --once exited with ${code}:\n${stderr.trim()}\n${stdout.trim()}`);
  const summary = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as PassSummary;
  const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as { userCPUTime: number; systemCPUTime: number; maxRSS: number };
  return { ms, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, maxRssMb: usage.maxRSS / 1024, summary };
}

/** Writes the flow file for `run --once` into `dir` and returns its path. */
export function writeFlowFile(dir: string, document: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'flow.json');
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  return file;
}

// ---------------------------------------------------------------------------------------------------------------
// `syncline serve`.

const TOKEN = 'pg-bench-token-0123456789abcdef';

/** A `syncline serve` of the bench's own, on loopback, with its data folder in `dir`. */
export class SynclineServer {
  private exited = false;

  private constructor(
    private readonly child: ReturnType<typeof spawn>,
    readonly base: string,
  ) {
    child.once('exit', () => (this.exited = true));
  }

  /** `profileDir`: the server writes its threads' CPU profiles there when it stops (`node --cpu-prof`). */
  static async start(dir: string, port: number, profileDir?: string): Promise<SynclineServer> {
    mkdirSync(dir, { recursive: true });
    const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const child = spawn(process.execPath, [...profile, join(repository, 'bin', 'syncline.mjs'), 'serve', '--port', '0', '--data', dir, '--allow-hosts', `127.0.0.1:${port}`], {
      cwd: repository,
      env: { ...process.env, SYNCLINE_TOKEN: TOKEN, SYNCLINE_LOG_LEVEL: process.env.SYNCLINE_LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const base = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /Syncline is running: (http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
        if (match) resolve(match[1] as string);
      });
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`syncline serve exited with ${code}: ${output}`)));
    });
    return new SynclineServer(child, base);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** CPU seconds of the server so far, its threads and any child it waited for. */
  cpuSeconds(): number {
    return treeCpuSeconds(this.pid);
  }

  peakRssMb(): number {
    return peakRssMb(this.pid);
  }

  async api(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}
