import { afterEach, describe, expect, it } from 'vitest';
import { loadFlow } from '../../../nodes/flow/load';
import type { FlowDocument } from '../../../nodes/index';
import { loopbackAccess } from '../../../test/support/access';
import { openStateDb, type StateDb } from '../../db/index';
import { SyncEngine } from '../../engine/index';
import { connectorRegistry } from '../index';
import { createMemoryStore, deleteMemoryStore, type MemoryCollection } from '../memory/index';
import { credentialName, fakeConnection, startFakeRepository, testToken, type FakeRepository } from './test-support';

// A two-way sync between the issues of a GitHub repository (the fake) and a task list (a memory collection), through
// the real engine: creates on each side, edits on both, a close on GitHub, a delete that closes, and then quiet.

const writeRoutes = ['POST /repos/{owner}/{repo}/issues', 'PATCH /repos/{owner}/{repo}/issues/{issue_number}'];

function issuesFlow(fakeUrl: Record<string, unknown>, store: string): FlowDocument {
  const field = (name: string) => ({ left: name, right: name, direction: 'both' });
  const { document, issues } = loadFlow({
    format: 'syncline.flow',
    version: 1,
    id: 'issues-tasks',
    name: 'GitHub issues <-> tasks',
    nodes: [
      {
        id: 'github',
        type: 'trigger',
        typeVersion: 1,
        position: { x: 0, y: 0 },
        config: { connector: 'github', connection: fakeUrl, collection: 'issues', key: 'number', updatedAt: 'updated_at', detect: { mode: 'manual' } },
      },
      { id: 'fields', type: 'mapping', typeVersion: 1, position: { x: 200, y: 0 }, config: { fields: ['title', 'body', 'state', 'labels'].map(field) } },
      { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 400, y: 0 }, config: { policy: 'last-write-wins', fields: {}, match: ['title'], deletes: 'propagate' } },
      {
        id: 'tasks',
        type: 'trigger',
        typeVersion: 1,
        position: { x: 600, y: 0 },
        config: { connector: 'memory', connection: { store }, collection: 'tasks', key: 'id', updatedAt: 'updated', detect: { mode: 'manual' } },
      },
    ],
    edges: [
      { id: 'e1', source: 'github', target: 'fields' },
      { id: 'e2', source: 'fields', target: 'hub' },
      { id: 'e3', source: 'hub', target: 'tasks' },
    ],
  });
  if (!document) throw new Error(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  return document;
}

let repository: FakeRepository | undefined;
let db: StateDb | undefined;
afterEach(async () => {
  await repository?.fake.close();
  await db?.destroy();
  deleteMemoryStore('github-flow');
  repository = undefined;
  db = undefined;
});

function byTitle(tasks: MemoryCollection, title: string): Record<string, unknown> | undefined {
  return tasks.all().find((record) => !record.deleted && record.fields.title === title)?.fields;
}

/** The fake's repository and a task list, in the flow, on a fresh state database, with `attempts` tries per call. */
async function issuesAndTasks(attempts: number): Promise<{ repository: FakeRepository; tasks: MemoryCollection; engine: SyncEngine; flow: FlowDocument }> {
  repository = await startFakeRepository();
  const tasks = createMemoryStore('github-flow').createCollection('tasks', { versions: 'iso' });
  db = await openStateDb(':memory:');
  const engine = new SyncEngine({
    db,
    connectors: connectorRegistry,
    resolveCredential: async (name) => (name === credentialName ? testToken : Promise.reject(new Error(`no credential ${name}`))),
    access: loopbackAccess,
    retry: { attempts, baseMs: 1, maxWaitMs: 5 },
  });
  return { repository, tasks, engine, flow: issuesFlow(fakeConnection(repository.fake), 'github-flow') };
}

describe('github <-> memory through the engine', () => {
  it('creates on each side, carries edits both ways and a close, closes for a delete, and then has nothing to write', async () => {
    const { repository: { fake, outOfBand }, tasks, engine, flow } = await issuesAndTasks(2);
    const pass = async () => {
      const result = await engine.runPass(flow, { baseDir: '.' });
      expect(result.error).toBeNull();
      expect(result.status).toBe('ok');
      return result.summary;
    };
    const issueNamed = (title: string) => fake.issues.all().find((issue) => issue.title === title);

    const login = outOfBand(() => fake.human.createIssue({ title: 'Login fails', body: 'Since Monday', labels: ['bug'] }));
    const exportTask = tasks.insert({ title: 'Export is slow', body: 'CSV takes minutes', state: 'open', labels: ['perf'] });
    expect(await pass()).toMatchObject({ created: 2, failed: 0 });
    expect(issueNamed('Export is slow')).toMatchObject({ body: 'CSV takes minutes', state: 'open', labels: [expect.objectContaining({ name: 'perf' })] });
    expect(byTitle(tasks, 'Login fails')).toEqual({ title: 'Login fails', body: 'Since Monday', state: 'open', labels: ['bug'] });

    // Edits on both sides, to different records.
    tasks.update(exportTask, { ...tasks.get(exportTask)?.fields, body: 'CSV export takes minutes for 10k rows' });
    outOfBand(() => fake.human.editIssue(login, { body: 'Since Monday, Safari only', labels: ['bug', 'p1'] }));
    expect(await pass()).toMatchObject({ created: 0, updated: 2, failed: 0 });
    expect(issueNamed('Export is slow')?.body).toBe('CSV export takes minutes for 10k rows');
    expect(byTitle(tasks, 'Login fails')).toMatchObject({ body: 'Since Monday, Safari only', labels: ['bug', 'p1'] });

    // Closed on GitHub: the task follows.
    const exportIssue = Number(issueNamed('Export is slow')?.number);
    outOfBand(() => fake.human.editIssue(exportIssue, { state: 'closed', state_reason: 'completed' }));
    expect(await pass()).toMatchObject({ updated: 1, failed: 0 });
    expect(byTitle(tasks, 'Export is slow')?.state).toBe('closed');

    // Deleted from the task list: GitHub cannot delete an issue, so it is closed as not planned.
    const loginTask = tasks.all().find((record) => record.fields.title === 'Login fails')?.id as string;
    tasks.delete(loginTask);
    expect(await pass()).toMatchObject({ deleted: 1, failed: 0 });
    expect(fake.issues.get(login)).toMatchObject({ state: 'closed', state_reason: 'not_planned' });

    // The runtime's own writes come back in the next listings; none of them is written anywhere again.
    fake.requests.reset();
    const quiet = await pass();
    expect(quiet).toMatchObject({ created: 0, updated: 0, deleted: 0, conflicts: 0, failed: 0 });
    expect(fake.requests.log.filter((entry) => writeRoutes.includes(entry.route))).toEqual([]);
    expect(await pass()).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
  });

  it('stops, deleting nothing, while Issues are turned off for the repository', async () => {
    const { repository: { fake }, tasks, engine, flow } = await issuesAndTasks(1);
    const task = tasks.insert({ title: 'Export is slow', body: 'CSV', state: 'open', labels: [] });
    expect((await engine.runPass(flow, { baseDir: '.' })).summary).toMatchObject({ created: 1, failed: 0 });

    // Every issue answers 410 now, as a deleted one does; the task's edit makes the engine read its issue. Read as
    // deleted, it took the task with it (deletes: propagate).
    fake.human.setIssuesEnabled(false);
    tasks.update(task, { ...tasks.get(task)?.fields, body: 'CSV export takes minutes' });
    const stopped = await engine.runPass(flow, { baseDir: '.' });
    expect(stopped.error).toMatch(/Issues are turned off for octo-org\/hello-world \(410 Issues are disabled for this repo\)/);
    expect(stopped.summary).toMatchObject({ deleted: 0, conflicts: 0 });
    expect(tasks.get(task)?.deleted).toBeFalsy();

    fake.human.setIssuesEnabled(true);
    const resumed = await engine.runPass(flow, { baseDir: '.' });
    expect(resumed.error).toBeNull();
    expect(resumed.summary).toMatchObject({ updated: 1, deleted: 0, failed: 0 });
    expect(fake.issues.all().map((issue) => [issue.title, issue.body, issue.state])).toEqual([['Export is slow', 'CSV export takes minutes', 'open']]);
  });
});
