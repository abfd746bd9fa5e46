import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadFlow } from '../../nodes/flow/load';
import type { FlowDocument } from '../../nodes/index';
import { addPeople, overrunningFlow } from '../../test/server/overrunningFlow';
import { addContact, auth, contacts, createSides, eventually, jsonHeaders, peopleFlow, TOKEN, upsertPerson } from '../../test/server/support';
import { createRuntime } from '../app';
import { connectorRegistry } from '../connectors/index';
import { openInboxDb } from '../db/inbox';
import { openStateDb, type StateDb } from '../db/index';
import { EngineInputError, SyncEngine, type PassProgress } from '../engine';
import { silentLogger } from '../observability/logger';
import { listen, type ListeningServer } from '../server';
import { PassStoppedError, PassWorkerStoppedError, ThreadedEngine, type ThreadedEngineOptions } from './threadedEngine';

/** Enough records that a pass takes many pages (500 each), so there is time between its first and its last. */
const LONG_PASS_RECORDS = 20_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-threaded-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The people flow, polled, with `name` left to a person; `id` lets two of them share one state. */
function flowJson(options: { id?: string } = {}): Record<string, unknown> {
  return peopleFlow({ ...options, detect: { mode: 'poll', intervalMs: 60_000 }, namePolicy: 'manual' });
}

/** The same flow, loaded as the engine takes it. */
function flowOf(options: { id?: string } = {}): FlowDocument {
  const { document, issues } = loadFlow(flowJson(options));
  if (!document) throw new Error(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  return document;
}

/** The people flow with an expression that spends its full time limit on every record: a pass that overruns. */
function stuckFlow(id: string): FlowDocument {
  const { document, issues } = loadFlow(overrunningFlow({ id }));
  if (!document) throw new Error(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  return document;
}

/** A folder with a.db and b.db, in `root`. */
function sides(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  createSides(dir);
  return dir;
}

async function threaded(
  root: string,
  logger: Logger = silentLogger(),
  options: Partial<ThreadedEngineOptions> = {},
): Promise<{ engine: ThreadedEngine; db: StateDb; statePath: string }> {
  const statePath = join(root, 'state.db');
  const db = await openStateDb(statePath);
  const engine = new ThreadedEngine({ state: statePath, db, credentialKey: randomBytes(32), logger, ...options });
  cleanups.push(async () => {
    await engine.close();
    await db.destroy();
  });
  return { engine, db, statePath };
}

/** Resolves with the first progress report, and keeps counting the rest. */
function progressWatch(): { onProgress(progress: PassProgress): void; first: Promise<void>; count(): number } {
  let reports = 0;
  let seen!: () => void;
  const first = new Promise<void>((resolve) => (seen = resolve));
  return {
    onProgress: () => {
      reports++;
      seen();
    },
    first,
    count: () => reports,
  };
}

describe('ThreadedEngine', () => {
  it('runs a pass in the worker and answers as the in-process SyncEngine does', async () => {
    const root = tempDir();
    const flow = flowOf();
    const results = [];
    for (const kind of ['threaded', 'in-process'] as const) {
      const dir = sides(root, kind);
      upsertPerson(dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
      upsertPerson(dir, { name: 'Alan Turing', email: 'alan@example.com' });
      let engine: ThreadedEngine | SyncEngine;
      if (kind === 'threaded') {
        engine = (await threaded(dir)).engine;
      } else {
        const db = await openStateDb(join(dir, 'state.db'));
        cleanups.push(() => db.destroy());
        engine = new SyncEngine({ db, connectors: connectorRegistry });
      }
      const progress: PassProgress[] = [];
      const dryRun = await engine.runPass(flow, { baseDir: dir, reason: 'manual', dryRun: true, onProgress: (report) => progress.push(report) });
      const pass = await engine.runPass(flow, { baseDir: dir, reason: 'manual' });
      expect(contacts(dir).map((contact) => contact.full_name)).toEqual(['Ada Lovelace', 'Alan Turing']);
      const run = await engine.getRun(pass.runId as string);
      results.push({
        dryRun,
        progress,
        pass: { ...pass, runId: typeof pass.runId },
        runs: (await engine.listRuns(flow.id)).map((view) => ({ status: view.status, reason: view.reason, summary: view.summary })),
        log: run?.log.map((entry) => ({ nodeId: entry.nodeId, outcome: entry.outcome, fields: entry.fields })),
      });
    }
    const [threadedResult, inProcessResult] = results;
    expect(threadedResult!.pass).toEqual({ runId: 'string', status: 'ok', summary: { created: 2, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 }, error: null });
    expect(threadedResult!.dryRun.planned?.map((side) => [side.nodeId, side.creates.length])).toEqual([['b', 2]]);
    expect(threadedResult!.progress.length).toBeGreaterThan(0);
    expect(threadedResult).toEqual(inProcessResult);
  });

  it('files conflicts in the worker, lists them on the main thread and resolves them in the worker', async () => {
    const dir = tempDir();
    createSides(dir);
    const { engine } = await threaded(dir);
    const flow = flowOf();
    upsertPerson(dir, { name: 'Grace Hopper', email: 'grace@example.com' });
    addContact(dir, { full_name: 'Grace B. Hopper', email: 'GRACE@example.com' });
    expect((await engine.runPass(flow, { baseDir: dir, reason: 'manual' })).summary.conflicts).toBe(1);

    const [conflict, ...others] = await engine.listConflicts({ flowId: flow.id, status: 'open' });
    expect(others).toEqual([]);
    expect(conflict).toMatchObject({ field: 'full_name', sides: { a: 'Grace Hopper', b: 'Grace B. Hopper' } });
    const resolved = await engine.resolveConflict(conflict!.id, { side: 'a' });
    expect(resolved).toMatchObject({ id: conflict!.id, status: 'resolved', resolution: { side: 'a' } });
    // An engine error comes back as its own class and code, which the API maps to a status.
    const again = await engine.resolveConflict(conflict!.id, { side: 'a' }).catch((error: unknown) => error);
    expect(again).toBeInstanceOf(EngineInputError);
    expect(again).toMatchObject({ code: 'already_resolved', message: expect.stringMatching(/already resolved/) });

    await engine.runPass(flow, { baseDir: dir, reason: 'manual' });
    expect(contacts(dir).map((contact) => contact.full_name)).toEqual(['Grace Hopper']);
    expect((await engine.listConflicts({ flowId: flow.id })).map((view) => view.status)).toEqual(['applied']);
  });

  it('fails the calls in flight when a worker dies, logs why, and starts a new worker for the next call', async () => {
    const root = tempDir();
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const { engine } = await threaded(root, logger);
    const bulk = ['bulk', 'bulk2'].map((id) => {
      const dir = sides(root, id);
      addPeople(dir, LONG_PASS_RECORDS);
      return { flow: flowOf({ id }), dir };
    });
    const [first, second] = bulk as [(typeof bulk)[number], (typeof bulk)[number]];

    // Two long passes in flight, each flow on a worker of its own; the first's dies once it has merged a page.
    const watch = progressWatch();
    const failed = engine.runPass(first.flow, { baseDir: first.dir, reason: 'manual', onProgress: watch.onProgress }).catch((error: unknown) => error);
    const other = engine.runPass(second.flow, { baseDir: second.dir, reason: 'manual' });
    await watch.first;
    const dead = engine.workerOf('bulk')!;
    expect(engine.workerOf('bulk2')).not.toBe(dead);
    await dead.terminate();

    const error = await failed;
    expect(error).toBeInstanceOf(PassWorkerStoppedError);
    expect((error as Error).message).toMatch(/^the pass worker stopped \(it exited with code 1\)/);
    expect(lines.map((line) => JSON.parse(line) as { msg: string; callsInFlight: number })).toContainEqual(
      expect.objectContaining({ msg: 'the pass worker stopped: it exited with code 1', callsInFlight: 1 }),
    );
    // Its run does not stay `running` until the next start.
    expect((await engine.listRuns('bulk')).map((run) => [run.status, run.error])).toEqual([['failed', expect.stringMatching(/^interrupted: the pass worker stopped/)]]);
    // The other flow's pass, on its own worker, was not touched.
    expect(await other).toMatchObject({ status: 'ok', summary: { created: LONG_PASS_RECORDS } });

    const small = sides(root, 'small');
    upsertPerson(small, { name: 'Ada Lovelace', email: 'ada@example.com' });
    const next = await engine.runPass(flowOf({ id: 'small' }), { baseDir: small, reason: 'manual' });
    expect(next).toMatchObject({ status: 'ok', summary: { created: 1 } });
    expect(contacts(small).map((contact) => contact.full_name)).toEqual(['Ada Lovelace']);
  });

  it('stops a long pass at its next page when asked, on the worker it runs on', async () => {
    const root = tempDir();
    // Time enough to reach the next page however busy the machine: this is about the pass stopping by itself.
    const { engine } = await threaded(root, silentLogger(), { stopGraceMs: 60_000 });
    const dir = sides(root, 'bulk');
    addPeople(dir, LONG_PASS_RECORDS);
    const watch = progressWatch();
    const pass = engine.runPass(flowOf({ id: 'bulk' }), { baseDir: dir, reason: 'manual', onProgress: watch.onProgress });
    await watch.first;
    const worker = engine.workerOf('bulk')!;
    let exited = false;
    worker.once('exit', () => (exited = true));

    await engine.stopFlow('bulk', 'the flow was paused');
    const result = await pass;
    expect(result).toMatchObject({ status: 'failed', error: 'stopped: the flow was paused' });
    expect(result.summary.created).toBeLessThan(LONG_PASS_RECORDS);
    expect((await engine.listRuns('bulk')).map((run) => [run.status, run.error])).toEqual([['failed', 'stopped: the flow was paused']]);
    // It stopped by itself, between two pages: its worker lives on and runs the next pass, which finishes the job.
    expect(exited).toBe(false);
    expect(engine.workerCount).toBe(1);
    expect(await engine.runPass(flowOf({ id: 'bulk' }), { baseDir: dir, reason: 'manual' })).toMatchObject({ status: 'ok' });
    expect(contacts(dir)).toHaveLength(LONG_PASS_RECORDS);
    expect(exited).toBe(false);
  });

  it('ends the worker of a pass that does not stop in time, fails its run with the reason, and leaves other flows alone', async () => {
    const root = tempDir();
    const { engine } = await threaded(root, silentLogger(), { stopGraceMs: 200 });
    const stuckDir = sides(root, 'stuck');
    // Each record's expression runs its full 100 ms: a pass over 300 of them takes half a minute on one page.
    addPeople(stuckDir, 300);
    const bulkDir = sides(root, 'bulk');
    addPeople(bulkDir, LONG_PASS_RECORDS);

    const stuck = engine.runPass(stuckFlow('stuck'), { baseDir: stuckDir, reason: 'manual' }).catch((error: unknown) => error);
    await eventually(async () => expect((await engine.listRuns('stuck')).map((run) => run.status)).toEqual(['running']));
    const watch = progressWatch();
    const bulk = engine.runPass(flowOf({ id: 'bulk' }), { baseDir: bulkDir, reason: 'manual', onProgress: watch.onProgress });
    await watch.first;
    const stuckWorker = engine.workerOf('stuck')!;

    const started = performance.now();
    await engine.stopFlow('stuck', 'the flow was paused');
    expect(performance.now() - started).toBeLessThan(5000);
    const error = await stuck;
    expect(error).toBeInstanceOf(PassStoppedError);
    expect((error as Error).message).toBe('stopped: the flow was paused');
    expect((await engine.listRuns('stuck')).map((run) => [run.status, run.error])).toEqual([
      ['failed', 'stopped: the flow was paused (the pass did not reach a point where it could stop within 200 ms, so its worker thread was ended)'],
    ]);
    expect(stuckWorker.threadId).toBe(-1);

    // The other flow's pass ran on, and the stopped flow's next call gets a live worker.
    expect(await bulk).toMatchObject({ status: 'ok', summary: { created: LONG_PASS_RECORDS } });
    expect(await engine.listRuns('stuck')).toHaveLength(1);
    await engine.retryFailing('stuck');
    expect(engine.workerCount).toBeGreaterThan(0);
  });

  it('keeps the API answering while a long pass runs in the worker', async () => {
    const root = tempDir();
    const { engine, db } = await threaded(root);
    const bulk = sides(root, 'bulk');
    addPeople(bulk, LONG_PASS_RECORDS);
    const inbox = await openInboxDb(':memory:');
    cleanups.push(() => inbox.destroy());
    const runtime = await createRuntime({ db, inbox, engine, dataDir: bulk, token: TOKEN, credentialKey: randomBytes(32), connectors: connectorRegistry });
    const server: ListeningServer = await listen(runtime.app, { host: '127.0.0.1', port: 0 });
    cleanups.push(() => server.close());
    const base = `http://127.0.0.1:${server.port}`;
    const imported = await fetch(`${base}/api/flows`, { method: 'POST', headers: jsonHeaders, body: JSON.stringify(flowJson({ id: 'bulk' })) });
    expect(imported.status).toBe(201);

    const watch = progressWatch();
    let settled = false;
    const document = flowOf({ id: 'bulk' });
    const pass = engine.runPass(document, { baseDir: bulk, reason: 'manual', onProgress: watch.onProgress }).finally(() => (settled = true));
    await watch.first;

    // The pass has merged its first page of many: the server answers before it merges the last.
    const flows = await fetch(`${base}/api/flows`, { headers: auth });
    expect(flows.status).toBe(200);
    expect(((await flows.json()) as Array<{ id: string }>).map((flow) => flow.id)).toEqual(['bulk']);
    const runs = (await (await fetch(`${base}/api/flows/bulk/runs`, { headers: auth })).json()) as Array<{ status: string }>;
    expect(runs.map((run) => run.status)).toEqual(['running']);
    expect(settled).toBe(false);
    expect(watch.count()).toBeLessThan(LONG_PASS_RECORDS / 500);

    expect((await pass).summary.created).toBe(LONG_PASS_RECORDS);
    await runtime.stop();
    expect(engine.workerCount).toBe(0);
  });
});
