/**
 * What the end-to-end tests in this folder share: `syncline serve` as a real process on a data folder of its own,
 * talked to over HTTP as a person's script would, and clocks for the fakes of the systems it syncs.
 */
import Sqlite from 'better-sqlite3';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/http';

const repository = join(import.meta.dirname, '..', '..');
/** How long a start may take on a busy machine (tsx compiles the runtime first) before the test gives up on it. */
export const START_TIMEOUT_MS = 120_000;
/** The API token the server is started with (SYNCLINE_TOKEN), at least 16 characters as `serve` requires. */
const TOKEN = 'e2e-helpdesk-token-0123456789';

/** A run as `GET /api/flows/:id/runs` lists it. */
export interface RunView {
  id: string;
  startedAt: string;
  finishedAt: string | null;
  status: 'running' | 'ok' | 'failed' | 'stopped';
  reason: 'manual' | 'schedule' | 'webhook' | 'cli';
  summary: { created: number; updated: number; deleted: number; echoes: number; conflicts: number; failed: number } | null;
  error: string | null;
}

export interface ServeProcess {
  /** http://127.0.0.1:PORT */
  base: string;
  dataDir: string;
  /** What the process wrote on stdout and stderr, for failure messages. */
  output: string[];
  /** A call of the runtime's API with the token; a JSON body is sent as such. */
  api(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
  /** A call that must answer `status`; its JSON body. */
  call<T>(path: string, init?: { method?: string; body?: unknown }, status?: number): Promise<T>;
  /** The server's runs of a flow, newest first. */
  runs(flowId: string): Promise<RunView[]>;
  /** Webhook events stored and not yet run, read from the server's inbox file. */
  pendingWebhookEvents(): number;
  /** Stored webhook events and remembered delivery ids carrying this delivery id. */
  deliveryRows(deliveryId: string): { events: number; deliveries: number };
  /** SIGTERM, and the exit code once it has stopped. */
  stop(): Promise<number | null>;
  /** Kills the process if it still runs and removes its data folder. */
  dispose(): void;
}

/**
 * Starts `syncline serve` on a new data folder, allowed to call 127.0.0.1 (the fakes) and told that it is reached at
 * its own address (`--public-url`), as it would be behind a public name. Resolves once it prints where it listens.
 */
export async function startServe(): Promise<ServeProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'syncline-e2e-helpdesk-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [join(repository, 'bin', 'syncline.mjs'), 'serve', '--port', String(port), '--data', dataDir, '--allow-hosts', '127.0.0.1', '--public-url', base],
    // SYNCLINE_TEST_LOG=debug shows the runtime's log in the output kept for failure messages.
    { cwd: repository, env: { ...process.env, SYNCLINE_TOKEN: TOKEN, SYNCLINE_LOG_LEVEL: process.env.SYNCLINE_TEST_LOG ?? 'info' } },
  );
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no address within ${START_TIMEOUT_MS} ms:\n${output.join('')}`)), START_TIMEOUT_MS);
    const printed = () => {
      if (!output.join('').includes(`Syncline is running: ${base}/?token=`)) return;
      clearTimeout(timer);
      child.stdout.off('data', printed);
      resolve();
    };
    child.stdout.on('data', printed);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${output.join('')}`));
    });
  });
  try {
    await listening;
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  const api = (path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${base}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${TOKEN}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  const call = async <T>(path: string, init: { method?: string; body?: unknown } = {}, status = 200): Promise<T> => {
    const response = await api(path, init);
    const text = await response.text();
    if (response.status !== status) throw new Error(`${init.method ?? (init.body === undefined ? 'GET' : 'POST')} ${path}: ${response.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };
  const inbox = <T>(read: (db: Sqlite.Database) => T): T => {
    const db = new Sqlite(join(dataDir, 'webhooks.db'), { readonly: true });
    try {
      return read(db);
    } finally {
      db.close();
    }
  };
  return {
    base,
    dataDir,
    output,
    api,
    call,
    runs: (flowId) => call<RunView[]>(`/api/flows/${flowId}/runs?limit=1000`),
    pendingWebhookEvents: () => inbox((db) => (db.prepare('SELECT count(*) AS n FROM webhook_events WHERE processed_at IS NULL').get() as { n: number }).n),
    deliveryRows: (deliveryId) =>
      inbox((db) => ({
        events: (db.prepare('SELECT count(*) AS n FROM webhook_events WHERE delivery_id = ?').get(deliveryId) as { n: number }).n,
        deliveries: (db.prepare('SELECT count(*) AS n FROM webhook_deliveries WHERE delivery_id = ?').get(deliveryId) as { n: number }).n,
      })),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    dispose: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A system's clock for a fake: real time plus an offset that only grows. The systems count versions in whole seconds,
 * so a person's edit is placed at the start of a second of its own, later than every version the sync wrote, and the
 * clock then moves on a further second, as a person's next edit would come after the sync's writes of that second.
 */
export class SystemClock {
  private offsetMs = 0;
  private readonly followers: Array<(now: Date) => void> = [];

  now = (): Date => new Date(Date.now() + this.offsetMs);

  /**
   * For a fake whose clock stands still unless set: keeps setting it to this clock, so its time runs as the
   * system's does. Returns what stops it.
   */
  drive(set: (now: Date) => void): () => void {
    this.followers.push(set);
    set(this.now());
    const timer = setInterval(() => set(this.now()), 20);
    timer.unref();
    return () => {
      clearInterval(timer);
      this.followers.splice(this.followers.indexOf(set), 1);
    };
  }

  /** Runs a person's edit in a second of its own (see the class comment). */
  async personEdits<T>(edit: () => T | Promise<T>): Promise<T> {
    this.nextSecond();
    const result = await edit();
    this.nextSecond();
    return result;
  }

  /** Moves the clock on by `ms`: time that passes on the system while the test does not wait for it. */
  advance(ms: number): void {
    this.offsetMs += ms;
    this.moved();
  }

  private nextSecond(): void {
    const next = (Math.floor((Date.now() + this.offsetMs) / 1000) + 1) * 1000;
    this.offsetMs = next - Date.now();
    this.moved();
  }

  private moved(): void {
    for (const set of this.followers) set(this.now());
  }
}
