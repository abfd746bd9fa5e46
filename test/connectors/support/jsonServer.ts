import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/http';

// Defined in test/support/http.ts; runtime/connectors/postgres/postgres.test.ts still takes it from here.
export { freePort } from '../../support/http';

/** A json-server 0.17.4 process on loopback, standing in for a SaaS API nobody on this team wrote. */
export interface JsonServer {
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  port: number;
  /** Every record of a collection, straight from the server (not through a connector). */
  all(collection: string): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

const binPath = createRequire(import.meta.url).resolve('json-server/lib/cli/bin.js');

/**
 * Starts json-server on a temporary db.json holding these collections, on 127.0.0.1 and a free port, without
 * `--watch`. Collections cannot be added once it runs (json-server mounts its routes at start), so a test file
 * declares every collection it will use up front.
 */
export async function startJsonServer(collections: Record<string, unknown[]>): Promise<JsonServer> {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-json-server-'));
  writeFileSync(join(dir, 'db.json'), JSON.stringify(collections));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    // cwd is the temp folder: json-server serves ./public from its cwd when there is one.
    const child = spawn(process.execPath, [binPath, 'db.json', '--port', String(port), '--host', '127.0.0.1', '--quiet'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntilUp(url, child);
    } catch (error) {
      child.kill('SIGKILL');
      // Another process took the port between freePort() and listen(): try another.
      if (attempt < 3 && /EADDRINUSE/.test(stderr)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`json-server did not start: ${(error as Error).message}\n${stderr}`, { cause: error });
    }
    return {
      url,
      port,
      all: async (collection) => {
        const response = await fetch(`${url}/${collection}`);
        if (!response.ok) throw new Error(`GET ${url}/${collection}: ${response.status}`);
        return (await response.json()) as Array<Record<string, unknown>>;
      },
      stop: async () => {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

async function waitUntilUp(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/db`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  throw new Error('not answering after 15 s');
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

let lastStamp = 0;
/**
 * An updatedAt for an edit made by another user of the API: real time, later than every stamp already in the
 * collection (the connector's included), as an edit made after the last sync would be.
 */
export async function laterStamp(server: JsonServer, collection: string, field = 'updatedAt'): Promise<string> {
  const newest = await fetch(`${server.url}/${collection}?_sort=${field}&_order=desc&_limit=1`).then((response) => response.json() as Promise<Array<Record<string, unknown>>>);
  const value = newest[0]?.[field];
  const newestMs = Math.max(lastStamp, typeof value === 'string' ? Date.parse(value) : 0);
  while (Date.now() <= newestMs) await new Promise((resolve) => setTimeout(resolve, 1));
  lastStamp = Date.now();
  return new Date(lastStamp).toISOString();
}

/** Requests to json-server as another user of the API would make them. */
export async function jsonRequest(method: string, url: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? null : JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}
