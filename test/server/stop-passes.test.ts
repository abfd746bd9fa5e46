import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseServeArgs, startServer, type RunningServer } from '../../runtime/commands/serve';
import { DEFAULT_STOP_GRACE_MS } from '../../runtime/passes/threadedEngine';
import { addPeople, overrunningFlow, runsIn } from './overrunningFlow';
import { contacts, createSides, eventually, peopleFlow, upsertPerson } from './support';
import { testStateForThisTest } from '../support/serverState';

/** `--state URL` for the state this test runs on (the server-postgres project), else nothing: the data folder's. */
const stateArgs = (state: string | null): string[] => (state === null ? [] : ['--state', state]);

// A flow whose pass overruns (every record's expression runs its full time limit: 400 people take 40 s, on one page,
// where the engine has no point to stop at) must not hold up other flows or the API, and pausing it, deleting it or
// stopping the server stops the pass within a bounded time. So must SIGINT or SIGTERM to `syncline run --once`.

const repository = join(import.meta.dirname, '..', '..');
const OVERRUNNING_PEOPLE = 400;
/** Stopping may take the grace period, the worker's end and the run's bookkeeping; on a busy machine, several times that. */
const STOP_BOUND_MS = DEFAULT_STOP_GRACE_MS + 10_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const children: ChildProcessWithoutNullStreams[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-stop-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A subfolder of `dataDir` with a.db and b.db, and `people` people in a.db. */
function sides(dataDir: string, folder: string, people: number): string {
  const dir = join(dataDir, folder);
  mkdirSync(dir);
  createSides(dir);
  addPeople(dir, people);
  return dir;
}

/** The overrunning flow, polled, so deploying it starts its pass at once. */
const stuckFlow = (id: string) => overrunningFlow({ id, folder: id, detect: { mode: 'poll', intervalMs: 3_600_000 } });

function quickFlow(id: string): Record<string, unknown> {
  const flow = peopleFlow({ id, detect: { mode: 'manual' } }) as { nodes: Array<{ config?: { connection?: { file: string } } }> };
  for (const node of flow.nodes) if (node.config?.connection) node.config.connection.file = `${id}/${node.config.connection.file}`;
  return flow;
}

interface Api {
  (method: string, path: string, body?: unknown): Promise<Response>;
}

function apiOf(base: string, token: string): Api {
  return (method, path, body) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
}

async function expectStatus(response: Promise<Response>, status: number): Promise<unknown> {
  const answer = await response;
  const text = await answer.text();
  expect(answer.status, text).toBe(status);
  return text ? (JSON.parse(text) as unknown) : null;
}

async function runsOf(api: Api, flowId: string): Promise<Array<{ status: string; error: string | null }>> {
  const runs = (await expectStatus(api('GET', `/api/flows/${flowId}/runs`), 200)) as Array<{ status: string; error: string | null }>;
  return runs.map(({ status, error }) => ({ status, error }));
}

/** Imports the overrunning flow, deploys it, and waits until its pass is running. */
async function startOverrunning(api: Api, dataDir: string, id: string): Promise<void> {
  sides(dataDir, id, OVERRUNNING_PEOPLE);
  await expectStatus(api('POST', '/api/flows', stuckFlow(id)), 201);
  await expectStatus(api('POST', `/api/flows/${id}/deploy`), 200);
  await eventually(async () => expect(await runsOf(api, id)).toEqual([{ status: 'running', error: null }]));
}

/** A pass of the quick flow, with one new person, answers at once and syncs while the other flow's pass overruns. */
async function expectOtherFlowRuns(api: Api, dataDir: string, name: string): Promise<void> {
  upsertPerson(join(dataDir, 'quick'), { name, email: `${name.toLowerCase().replace(/\W/g, '.')}@example.com` });
  const result = (await expectStatus(api('POST', '/api/flows/quick/run'), 200)) as { status: string; summary: { created: number } };
  expect(result).toMatchObject({ status: 'ok', summary: { created: 1 } });
  expect(contacts(join(dataDir, 'quick')).map((contact) => contact.full_name)).toContain(name);
}

describe('an overrunning pass under syncline serve', () => {
  async function serve(): Promise<{ server: RunningServer; api: Api; dataDir: string }> {
    const dataDir = tempDir();
    const savedLevel = process.env.SYNCLINE_LOG_LEVEL;
    process.env.SYNCLINE_LOG_LEVEL = 'error';
    const options = parseServeArgs(['--port', '0', '--data', dataDir, ...stateArgs(await testStateForThisTest())]);
    if (typeof options === 'string') throw new Error(options);
    const server = await startServer(options);
    if (savedLevel === undefined) delete process.env.SYNCLINE_LOG_LEVEL;
    else process.env.SYNCLINE_LOG_LEVEL = savedLevel;
    cleanups.push(() => server.stop());
    const api = apiOf(server.url.replace(/\/$/, ''), server.token);
    sides(dataDir, 'quick', 0);
    await expectStatus(api('POST', '/api/flows', quickFlow('quick')), 201);
    return { server, api, dataDir };
  }

  it('is stopped by pausing its flow, while other flows and the API go on', async () => {
    const { api, dataDir } = await serve();
    await startOverrunning(api, dataDir, 'stuck');

    await expectOtherFlowRuns(api, dataDir, 'Ada Lovelace');
    expect(((await expectStatus(api('GET', '/api/flows'), 200)) as Array<{ id: string }>).map((flow) => flow.id).sort()).toEqual(['quick', 'stuck']);

    const started = Date.now();
    expect(await expectStatus(api('POST', '/api/flows/stuck/pause'), 200)).toEqual({ id: 'stuck', deployed: false });
    await eventually(async () => expect(await runsOf(api, 'stuck')).toEqual([{ status: 'failed', error: expect.stringMatching(/^stopped: the flow was paused/) }]));
    expect(Date.now() - started).toBeLessThan(STOP_BOUND_MS);

    await expectOtherFlowRuns(api, dataDir, 'Alan Turing');
    // The stopped flow runs again when asked: its next pass gets a fresh worker.
    await expectStatus(api('POST', '/api/flows/stuck/deploy'), 200);
    await eventually(async () => expect((await runsOf(api, 'stuck'))[0]).toEqual({ status: 'running', error: null }));
    await expectStatus(api('POST', '/api/flows/stuck/pause'), 200);
    await eventually(async () => expect((await runsOf(api, 'stuck')).map((run) => run.status)).toEqual(['failed', 'failed']));
  }, 180_000);

  it('is stopped by deleting its flow, which answers within a bounded time', async () => {
    const { api, dataDir } = await serve();
    await startOverrunning(api, dataDir, 'doomed');
    await expectOtherFlowRuns(api, dataDir, 'Grace Hopper');

    const started = Date.now();
    await expectStatus(api('DELETE', '/api/flows/doomed'), 204);
    expect(Date.now() - started).toBeLessThan(STOP_BOUND_MS);
    await expectStatus(api('GET', '/api/flows/doomed'), 404);
    await expectOtherFlowRuns(api, dataDir, 'Edsger Dijkstra');
  }, 180_000);

  it('is stopped when the server gets SIGTERM, which then exits', async () => {
    const dataDir = tempDir();
    const state = (await testStateForThisTest()) ?? join(dataDir, 'state.db');
    const child = spawn(process.execPath, [join(repository, 'bin', 'syncline.mjs'), 'serve', '--port', '0', '--data', dataDir, '--state', state], {
      cwd: repository,
      env: { ...process.env, SYNCLINE_TOKEN: '', SYNCLINE_LOG_LEVEL: 'warn' },
    });
    children.push(child);
    const output: string[] = [];
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const address = await new Promise<{ base: string; token: string }>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output.push(chunk.toString());
        const match = /Syncline is running: (http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+)/.exec(output.join(''));
        if (match) resolve({ base: match[1]!, token: match[2]! });
      });
      void exit.then(({ code }) => reject(new Error(`serve exited with ${code}:\n${output.join('')}`)));
    });
    const api = apiOf(address.base, address.token);
    sides(dataDir, 'quick', 0);
    await expectStatus(api('POST', '/api/flows', quickFlow('quick')), 201);
    await startOverrunning(api, dataDir, 'stuck');
    await expectOtherFlowRuns(api, dataDir, 'Barbara Liskov');

    const started = Date.now();
    child.kill('SIGTERM');
    expect(await exit, output.join('')).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(STOP_BOUND_MS);
    expect(await runsIn(state, 'stuck')).toEqual([{ status: 'failed', error: expect.stringMatching(/^stopped: the runtime is stopping/) }]);
  }, 180_000);
});

describe('an overrunning pass under syncline run --once', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('is stopped by %s, and the process exits with %i', async (signal, exitCode) => {
    const dir = tempDir();
    createSides(dir);
    addPeople(dir, OVERRUNNING_PEOPLE);
    const flowPath = join(dir, 'stuck.flow.json');
    writeFileSync(flowPath, JSON.stringify(overrunningFlow({ id: 'stuck' })));
    const statePath = (await testStateForThisTest()) ?? join(dir, 'state.db');
    const child = spawn(process.execPath, [join(repository, 'bin', 'syncline.mjs'), 'run', flowPath, '--once', '--state', statePath], { cwd: repository });
    children.push(child);
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await eventually(async () => expect(await runsIn(statePath, 'stuck')).toEqual([{ status: 'running', error: null }]));

    const started = Date.now();
    child.kill(signal);
    expect(await exit, output.join('')).toEqual({ code: exitCode, signal: null });
    expect(Date.now() - started).toBeLessThan(STOP_BOUND_MS);
    expect(output.join('')).toContain(`${signal}: stopping the pass at its next page`);
    expect(await runsIn(statePath, 'stuck')).toEqual([{ status: 'failed', error: `stopped: interrupted by ${signal} during this pass` }]);
  }, 120_000);
});
