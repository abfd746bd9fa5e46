#!/usr/bin/env node
// Webhook throughput and latency of the real server on loopback: autocannon posts signed events at a fixed rate to
// `syncline serve`; a watcher thread polls the target SQLite database and timestamps each record the moment its write
// is committed. Prints one JSON object: events/s reaching the target, and p50/p99 latency from the POST to that commit
// (and from the POST to the 202).
//
//   node bench/webhooks.mjs [--rate 5000] [--duration 20] [--connections 64] [--warmup 3]
//   SYNCLINE_BENCH_PROFILE=DIR node bench/webhooks.mjs ...   (also writes a CPU profile of the server to DIR)
import autocannon from 'autocannon';
import Sqlite from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, index, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[index + 1]]] : pairs), []),
);
const rate = Number(args.rate ?? 5000);
const duration = Number(args.duration ?? 20);
const connections = Number(args.connections ?? 64);
const warmup = Number(args.warmup ?? 3);
const repository = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'bench-secret';
const TOKEN = 'bench-token';
// Date.now in both threads: a worker's performance clock does not share the main thread's origin.
const now = () => Date.now();

const dataDir = mkdtempSync(join(tmpdir(), 'syncline-bench-'));

const source = new Sqlite(join(dataDir, 'a.db'));
source.exec('CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, email TEXT, updated_at TEXT NOT NULL); CREATE INDEX people_updated ON people (updated_at)');
source.pragma('journal_mode = WAL');
source.pragma('synchronous = NORMAL');
const target = new Sqlite(join(dataDir, 'b.db'));
target.exec('CREATE TABLE contacts (id INTEGER PRIMARY KEY, full_name TEXT, email TEXT, modified_at TEXT NOT NULL); CREATE INDEX contacts_modified ON contacts (modified_at)');
target.pragma('journal_mode = WAL');
target.close();

const flow = {
  format: 'syncline.flow',
  version: 1,
  id: 'bench',
  name: 'Webhook bench',
  nodes: [
    {
      id: 'a',
      type: 'trigger',
      typeVersion: 1,
      position: { x: 0, y: 0 },
      config: { connector: 'sqlite', connection: { file: 'a.db' }, collection: 'people', key: 'id', updatedAt: 'updated_at', detect: { mode: 'webhook', secret: { credential: 'bench-secret' } } },
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
      config: { connector: 'sqlite', connection: { file: 'b.db' }, collection: 'contacts', key: 'id', updatedAt: 'modified_at', detect: { mode: 'manual' } },
    },
  ],
  edges: [
    { id: 'e1', source: 'a', target: 'map' },
    { id: 'e2', source: 'map', target: 'resolve' },
    { id: 'e3', source: 'resolve', target: 'b' },
  ],
};

function startServer() {
  // SYNCLINE_BENCH_PROFILE=DIR writes a CPU profile of the server there.
  const profile = process.env.SYNCLINE_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SYNCLINE_BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, join(repository, 'bin', 'syncline.mjs'), 'serve', '--port', '0', '--data', dataDir], {
    cwd: repository,
    env: { ...process.env, SYNCLINE_TOKEN: TOKEN, SYNCLINE_LOG_LEVEL: process.env.SYNCLINE_LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /Syncline is running: (http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
      if (match) resolve({ child, base: match[1] });
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
}

async function api(base, path, body) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (value) => (value === null ? null : Math.round(value * 10) / 10);

async function main() {
  const { child, base } = await startServer();
  try {
    await api(base, '/api/credentials', { name: 'bench-secret', type: 'webhook-secret', value: SECRET });
    await api(base, '/api/flows', flow);
    await api(base, '/api/flows/bench/deploy');

    // Commit times come from a thread of their own, so autocannon's load does not delay the polling.
    const watcher = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const Sqlite = require(workerData.sqlite);
      const db = new Sqlite(workerData.file, { readonly: true });
      const next = db.prepare('SELECT rowid AS row, email FROM contacts WHERE rowid > ? ORDER BY rowid');
      let last = 0;
      let stop = false;
      parentPort.on('message', () => { stop = true; });
      const tick = () => {
        const rows = next.all(last);
        if (rows.length > 0) {
          const at = Date.now();
          last = rows[rows.length - 1].row;
          parentPort.postMessage({ at, emails: rows.map((row) => row.email) });
        }
        if (stop) { db.close(); parentPort.postMessage({ done: true }); return; }
        setTimeout(tick, 1);
      };
      tick();
      `,
      { eval: true, workerData: { file: join(dataDir, 'b.db'), sqlite: join(repository, 'node_modules', 'better-sqlite3') } },
    );
    const committedAt = new Map();
    watcher.on('message', (message) => {
      if (message.emails) for (const email of message.emails) committedAt.set(email, message.at);
    });

    const sentAt = new Map();
    let nextId = 1;
    let measuring = false;
    // Each event is a new record written to the source just before its webhook is sent (autocannon builds a request
    // right before writing it to the socket): every event costs a read, a merge and a create on the target, the
    // least favourable case, since no two events are for the same record.
    const insert = source.prepare('INSERT INTO people (id, name, email, updated_at) VALUES (?, ?, ?, ?)');
    const setupRequest = (request) => {
      const id = nextId++;
      const email = `p${id}@example.com`;
      const sent = now();
      insert.run(id, `Person ${id}`, email, new Date(sent).toISOString());
      const body = JSON.stringify({ type: 'upsert', id: String(id) });
      if (measuring) sentAt.set(email, sent);
      return {
        ...request,
        body,
        headers: {
          ...request.headers,
          'content-type': 'application/json',
          'x-syncline-signature': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
          'x-syncline-delivery': `bench-${id}`,
        },
      };
    };
    const run = (seconds) =>
      autocannon({
        url: `${base}/hooks/bench/a`,
        method: 'POST',
        connections,
        duration: seconds,
        overallRate: rate,
        requests: [{ method: 'POST', setupRequest }],
      });

    if (warmup > 0) await run(warmup);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    measuring = true;
    const started = now();
    const result = await run(duration);
    const sendEnded = now();
    measuring = false;
    // Let the tail of the queue drain (bounded), so late commits count toward latency rather than vanishing.
    const deadline = now() + 30_000;
    while (now() < deadline && [...sentAt.keys()].some((email) => !committedAt.has(email))) await new Promise((resolve) => setTimeout(resolve, 50));
    watcher.postMessage('stop');
    await new Promise((resolve) => watcher.once('message', resolve));
    await watcher.terminate();

    const latencies = [];
    let lastCommit = started;
    for (const [email, sent] of sentAt) {
      const committed = committedAt.get(email);
      if (committed === undefined) continue;
      latencies.push(committed - sent);
      lastCommit = Math.max(lastCommit, committed);
    }
    latencies.sort((a, b) => a - b);
    const seconds = (lastCommit - started) / 1000;
    const report = {
      bench: 'webhooks',
      targetRate: rate,
      durationSeconds: duration,
      connections,
      sent: sentAt.size,
      accepted: result['2xx'],
      rejected: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      committed: latencies.length,
      lost: sentAt.size - latencies.length,
      eventsPerSecond: Math.round(latencies.length / seconds),
      acceptedPerSecond: Math.round(result['2xx'] / ((sendEnded - started) / 1000)),
      postToCommitMs: { p50: round(percentile(latencies, 50)), p90: round(percentile(latencies, 90)), p99: round(percentile(latencies, 99)), max: round(latencies.at(-1) ?? null) },
      postTo202Ms: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
      clockResolutionMs: 1,
      target: { eventsPerSecond: 5000, p99Ms: 50 },
    };
    report.meetsTarget = report.eventsPerSecond >= 5000 && (report.postToCommitMs.p99 ?? Infinity) <= 50 && report.lost === 0;
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    source.close();
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
