#!/usr/bin/env node
// Webhook throughput and latency of the real server on loopback (issue 5): autocannon posts signed events at a fixed
// rate to `syncline serve`; a watcher thread polls the target SQLite database and timestamps each record the moment its
// write is committed. Each run starts a fresh server and makes two phases:
//   - latency: the target rate (5,000 events/s) offered for --duration seconds; p50/p99 from the POST to that commit;
//   - capacity: more than the target offered (--capacity-rate, 6,000/s): the events/s actually committed. Offering
//     exactly the target could never show it met: the last events' latency always lies past the window.
// Prints {"bench":"webhooks","measurements":[...]} for `npm run bench`, each figure over SYNCLINE_BENCH_RUNS runs.
//
//   node bench/webhooks.mjs [--rate 5000] [--capacity-rate 6000] [--duration 15] [--connections 64] [--warmup 3]
//   SYNCLINE_BENCH_PROFILE=DIR node bench/webhooks.mjs ...   (also writes CPU profiles of the server's threads to DIR)
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
const capacityRate = Number(args['capacity-rate'] ?? 6000);
const duration = Number(args.duration ?? 15);
const runs = Math.max(1, Number(args.runs ?? process.env.SYNCLINE_BENCH_RUNS ?? 5));
const connections = Number(args.connections ?? 64);
const warmup = Number(args.warmup ?? 3);
const repository = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'bench-secret';
const TOKEN = 'bench-token';
// Date.now in both threads: a worker's performance clock does not share the main thread's origin.
const now = () => Date.now();

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

/** A data folder with the source table (A) and the empty target (B) the flow syncs. */
function prepareData() {
  const dataDir = mkdtempSync(join(tmpdir(), 'syncline-bench-'));
  const source = new Sqlite(join(dataDir, 'a.db'));
  source.exec('CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, email TEXT, updated_at TEXT NOT NULL); CREATE INDEX people_updated ON people (updated_at)');
  source.pragma('journal_mode = WAL');
  source.pragma('synchronous = NORMAL');
  const target = new Sqlite(join(dataDir, 'b.db'));
  target.exec('CREATE TABLE contacts (id INTEGER PRIMARY KEY, full_name TEXT, email TEXT, modified_at TEXT NOT NULL); CREATE INDEX contacts_modified ON contacts (modified_at)');
  target.pragma('journal_mode = WAL');
  target.close();
  return { dataDir, source };
}

function startServer(dataDir) {
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

/** One run: a fresh server and data folder, warm-up, the latency phase at `rate`, the capacity phase at `capacityRate`. */
async function runOnce() {
  const { dataDir, source } = prepareData();
  const { child, base } = await startServer(dataDir);
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

    let sentAt = new Map();
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
    const send = (offered, seconds) =>
      autocannon({ url: `${base}/hooks/bench/a`, method: 'POST', connections, duration: seconds, overallRate: offered, requests: [{ method: 'POST', setupRequest }] });

    /** Offers `offered` events/s for `seconds`, waits (bounded) for the queue to drain, and reads the commit times. */
    const phase = async (offered, seconds) => {
      sentAt = new Map();
      measuring = true;
      const started = now();
      const result = await send(offered, seconds);
      measuring = false;
      // Let the tail of the queue drain (bounded), so late commits count toward latency rather than vanishing.
      const deadline = now() + 30_000;
      while (now() < deadline && [...sentAt.keys()].some((email) => !committedAt.has(email))) await new Promise((resolve) => setTimeout(resolve, 50));
      const latencies = [];
      let lastCommit = started;
      for (const [email, sent] of sentAt) {
        const committed = committedAt.get(email);
        if (committed === undefined) continue;
        latencies.push(committed - sent);
        lastCommit = Math.max(lastCommit, committed);
      }
      latencies.sort((a, b) => a - b);
      return {
        sent: sentAt.size,
        accepted: result['2xx'],
        failed: result.non2xx + result.errors + result.timeouts,
        lost: sentAt.size - latencies.length,
        eventsPerSecond: latencies.length / ((lastCommit - started) / 1000),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        accepted202p99: result.latency.p99,
      };
    };

    if (warmup > 0) await send(rate, warmup);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const latency = await phase(rate, duration);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const capacity = await phase(capacityRate, duration);
    watcher.postMessage('stop');
    await new Promise((resolve) => watcher.once('message', resolve));
    await watcher.terminate();
    process.stderr.write(`[webhooks bench] at ${rate}/s: ${Math.round(latency.eventsPerSecond)} events/s, p50 ${latency.p50} ms, p99 ${latency.p99} ms, lost ${latency.lost}; at ${capacityRate}/s: ${Math.round(capacity.eventsPerSecond)} events/s, lost ${capacity.lost}\n`);
    return { latency, capacity };
  } finally {
    source.close();
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  const results = [];
  for (let run = 0; run < runs; run++) results.push(await runOnce());
  const group = (title) => `Webhooks: ${title}`;
  const measurements = [
    {
      id: 'webhooks.capacity',
      group: group('throughput'),
      title: `Events committed per second with ${capacityRate.toLocaleString('en')}/s offered for ${duration} s (each a read, a merge and a create on the target)`,
      unit: 'events/s',
      better: 'higher',
      runs: results.map((result) => Math.round(result.capacity.eventsPerSecond)),
      target: { op: '>=', value: 5000, text: 'at least 5,000 events/s' },
    },
    {
      id: 'webhooks.lost',
      group: group('throughput'),
      title: 'Events sent but never committed, or refused, both phases',
      unit: 'events',
      better: 'lower',
      runs: results.map((result) => result.latency.lost + result.capacity.lost + result.latency.failed + result.capacity.failed),
      target: { op: '=', value: 0, text: 'none' },
    },
    {
      id: 'webhooks.p99',
      group: group('latency at the target rate'),
      title: `POST to target write committed, p99, ${rate.toLocaleString('en')} events/s offered for ${duration} s`,
      unit: 'ms',
      better: 'lower',
      runs: results.map((result) => result.latency.p99),
      target: { op: '<=', value: 50, text: 'p99 at most 50 ms' },
    },
    {
      id: 'webhooks.p50',
      group: group('latency at the target rate'),
      title: 'POST to target write committed, p50',
      unit: 'ms',
      better: 'lower',
      runs: results.map((result) => result.latency.p50),
    },
    {
      id: 'webhooks.accepted.p99',
      group: group('latency at the target rate'),
      title: 'POST to 202 (stored durably), p99',
      unit: 'ms',
      better: 'lower',
      runs: results.map((result) => result.latency.accepted202p99),
    },
    {
      id: 'webhooks.rate',
      group: group('latency at the target rate'),
      title: `Events committed per second with ${rate.toLocaleString('en')}/s offered (the last events' latency lies past the window)`,
      unit: 'events/s',
      better: 'higher',
      runs: results.map((result) => Math.round(result.latency.eventsPerSecond)),
    },
  ];
  process.stdout.write(`${JSON.stringify({ bench: 'webhooks', runs, measurements })}\n`);
}

await main();
