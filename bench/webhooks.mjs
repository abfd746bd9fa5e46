#!/usr/bin/env node
// Webhook throughput and latency of the real server on loopback (issue 5): autocannon posts signed events at a fixed
// rate to `syncline serve`; a watcher thread polls the target SQLite database and timestamps each record the moment its
// write is committed. Each run starts a fresh server and makes three phases:
//   - latency: the target rate (5,000 events/s) offered evenly for --duration seconds; p50/p99 from the POST to that
//     commit, and from the POST to the 202;
//   - bursts: the same rate as autocannon's own rate limit sends it, each second's events as fast as the server takes
//     them and then nothing until the next second (for comparison, no target);
//   - capacity: more than the target offered evenly (--capacity-rate, 6,000/s): the events/s actually committed.
//     Offering exactly the target could never show it met.
// Prints {"bench":"webhooks","measurements":[...]} for `npm run bench`, each figure over SYNCLINE_BENCH_RUNS runs.
//
//   node bench/webhooks.mjs [--rate 5000] [--capacity-rate 6000] [--duration 15] [--connections 64] [--warmup 3]
//                           [--slots 16]
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
const slots = Math.max(1, Number(args.slots ?? 16));
const repository = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'bench-secret';
const TOKEN = 'bench-token-0123456789';
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

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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
    /**
     * Offers `offered` events/s for `seconds` through `paceSlots` autocannon instances. autocannon's rate limit lets
     * each connection send its quota for the second as fast as the server answers and then wait for the next second:
     * one instance offering 5,000/s sends about 7,000/s for 0.7 s and nothing for 0.3 s. Instances each carrying an
     * equal share, their seconds staggered by 1/paceSlots s, offer the rate evenly. Resolves when every instance is
     * done, with the window in which all of them were sending.
     */
    const offer = async (offered, seconds, paceSlots) => {
      const acks = [];
      const instances = [];
      const firstStart = now();
      for (let slot = 0; slot < paceSlots; slot++) {
        if (slot > 0) await sleep(firstStart + (slot * 1000) / paceSlots - now());
        const share = Math.floor(offered / paceSlots) + (slot < offered % paceSlots ? 1 : 0);
        instances.push(
          new Promise((resolve, reject) => {
            const options = {
              url: `${base}/hooks/bench/a`,
              method: 'POST',
              connections: Math.max(1, Math.round(connections / paceSlots)),
              duration: seconds,
              overallRate: share,
              requests: [{ method: 'POST', setupRequest }],
            };
            const tracker = autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
            tracker.on('response', (_client, _status, _bytes, responseTime) => acks.push(responseTime));
          }),
        );
      }
      const allSending = now();
      const results = await Promise.all(instances);
      const total = (field) => results.reduce((sum, result) => sum + result[field], 0);
      return { failed: total('non2xx') + total('errors') + total('timeouts'), acks, window: [allSending, firstStart + seconds * 1000] };
    };

    /** Offers `offered` events/s for `seconds`, waits (bounded) for the queue to drain, and reads the commit times. */
    const phase = async (offered, seconds, paceSlots) => {
      sentAt = new Map();
      measuring = true;
      const offering = await offer(offered, seconds, paceSlots);
      measuring = false;
      // Let the tail of the queue drain (bounded), so late commits count toward latency rather than vanishing.
      const deadline = now() + 30_000;
      while (now() < deadline && [...sentAt.keys()].some((email) => !committedAt.has(email))) await sleep(50);
      const latencies = [];
      const [windowStart, windowEnd] = offering.window;
      let committedInWindow = 0;
      for (const [email, sent] of sentAt) {
        const committed = committedAt.get(email);
        if (committed === undefined) continue;
        latencies.push(committed - sent);
        if (committed >= windowStart && committed < windowEnd) committedInWindow++;
      }
      latencies.sort((a, b) => a - b);
      offering.acks.sort((a, b) => a - b);
      return {
        sent: sentAt.size,
        failed: offering.failed,
        lost: sentAt.size - latencies.length,
        // Commits while every instance was sending: the ramp up and down of staggered instances would skew a rate
        // taken from the first send to the last commit.
        eventsPerSecond: committedInWindow / ((windowEnd - windowStart) / 1000),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        accepted202p99: Math.round(percentile(offering.acks, 99) * 10) / 10,
      };
    };

    if (warmup > 0) await offer(rate, warmup, slots);
    await sleep(1000);
    const latency = await phase(rate, duration, slots);
    await sleep(1000);
    const bursts = await phase(rate, duration, 1);
    await sleep(1000);
    const capacity = await phase(capacityRate, duration, slots);
    watcher.postMessage('stop');
    await new Promise((resolve) => watcher.once('message', resolve));
    await watcher.terminate();
    process.stderr.write(
      `[webhooks bench] at ${rate}/s: ${Math.round(latency.eventsPerSecond)} events/s, p50 ${latency.p50} ms, p99 ${latency.p99} ms, 202 p99 ${latency.accepted202p99.toFixed(1)} ms; ` +
        `in bursts: p50 ${bursts.p50} ms, p99 ${bursts.p99} ms; at ${capacityRate}/s: ${Math.round(capacity.eventsPerSecond)} events/s; ` +
        `lost ${latency.lost + bursts.lost + capacity.lost}, refused ${latency.failed + bursts.failed + capacity.failed}\n`,
    );
    return { latency, bursts, capacity };
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
      title: `Events committed per second with ${capacityRate.toLocaleString('en')}/s offered evenly for ${duration} s (each a read, a merge and a create on the target)`,
      unit: 'events/s',
      better: 'higher',
      runs: results.map((result) => Math.round(result.capacity.eventsPerSecond)),
      target: { op: '>=', value: 5000, text: 'at least 5,000 events/s' },
    },
    {
      id: 'webhooks.lost',
      group: group('throughput'),
      title: 'Events sent but never committed, or refused, all phases',
      unit: 'events',
      better: 'lower',
      runs: results.map((result) => [result.latency, result.bursts, result.capacity].reduce((sum, phase) => sum + phase.lost + phase.failed, 0)),
      target: { op: '=', value: 0, text: 'none' },
    },
    {
      id: 'webhooks.p99',
      group: group('latency at the target rate'),
      title: `POST to target write committed, p99, ${rate.toLocaleString('en')} events/s offered evenly for ${duration} s`,
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
      title: `Events committed per second with ${rate.toLocaleString('en')}/s offered evenly`,
      unit: 'events/s',
      better: 'higher',
      runs: results.map((result) => Math.round(result.latency.eventsPerSecond)),
    },
    {
      id: 'webhooks.bursts.p99',
      group: group('latency at the target rate'),
      title: `POST to target write committed, p99, when each second's ${rate.toLocaleString('en')} events come at once (autocannon's own rate limit)`,
      unit: 'ms',
      better: 'lower',
      runs: results.map((result) => result.bursts.p99),
    },
    {
      id: 'webhooks.bursts.p50',
      group: group('latency at the target rate'),
      title: 'The same, p50',
      unit: 'ms',
      better: 'lower',
      runs: results.map((result) => result.bursts.p50),
    },
  ];
  process.stdout.write(`${JSON.stringify({ bench: 'webhooks', runs, measurements })}\n`);
}

await main();
