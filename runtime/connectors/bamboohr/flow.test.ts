import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFlow } from '../../../nodes/flow/load';
import type { FlowDocument } from '../../../nodes/index';
import type { BambooHrFake } from '../../../test/fakes/bamboohr/server';
import { openStateDb, type StateDb } from '../../db/index';
import { SyncEngine } from '../../engine/index';
import { connectorRegistry } from '../index';
import { createMemoryStore, deleteMemoryStore, type MemoryCollection } from '../memory/index';
import { access, connectionFor, keyCredential, startFake } from './fakeCompany';

// HR -> learning through the real engine: BambooHR employees (on the fake, opened from the registry as a flow opens
// them) and the learners of a memory collection. Names and emails go both ways, the department and the employment
// status only out of BambooHR, where a termination becomes a suspended learner. The fake's clock stands still unless
// moved: before each pass it moves on, as a poll interval would.

let fake: BambooHrFake;
let db: StateDb;
let engine: SyncEngine;
let learners: MemoryCollection;
let flow: FlowDocument;
const store = 'bamboohr-flow';

beforeEach(async () => {
  fake = await startFake();
  learners = createMemoryStore(store).createCollection('learners', { versions: 'iso' });
  const { document, issues } = loadFlow({
    format: 'syncline.flow',
    version: 1,
    id: 'hr-learning',
    name: 'HR -> learning',
    nodes: [
      {
        id: 'hr',
        type: 'trigger',
        typeVersion: 1,
        position: { x: 0, y: 0 },
        config: { connector: 'bamboohr', connection: connectionFor(fake, { fields: ['firstName', 'lastName', 'workEmail', 'department', 'status'] }), collection: 'employees', key: 'id', detect: { mode: 'manual' } },
      },
      {
        id: 'map',
        type: 'mapping',
        typeVersion: 1,
        position: { x: 200, y: 0 },
        config: {
          fields: [
            { left: 'firstName', right: 'first_name', direction: 'both' },
            { left: 'lastName', right: 'last_name', direction: 'both' },
            { left: 'workEmail', right: 'email', direction: 'both' },
            { left: 'department', right: 'department', direction: 'forward' },
            {
              left: 'status',
              right: 'status',
              direction: 'forward',
              values: [
                { left: 'Active', right: 'active' },
                { left: 'Inactive', right: 'suspended' },
              ],
            },
          ],
        },
      },
      { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 400, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } },
      { id: 'lms', type: 'trigger', typeVersion: 1, position: { x: 600, y: 0 }, config: { connector: 'memory', connection: { store }, collection: 'learners', key: 'id', updatedAt: 'updated', detect: { mode: 'manual' } } },
    ],
    edges: [
      { id: 'e1', source: 'hr', target: 'map' },
      { id: 'e2', source: 'map', target: 'hub' },
      { id: 'e3', source: 'hub', target: 'lms' },
    ],
  });
  if (!document) throw new Error(issues.map((problem) => `${problem.path}: ${problem.message}`).join('; '));
  flow = document;
  db = await openStateDb(':memory:');
  engine = new SyncEngine({
    db,
    connectors: connectorRegistry,
    access,
    resolveCredential: async (name) => (name === keyCredential ? 'fake-api-key' : Promise.reject(new Error(`no credential "${name}"`))),
    retry: { attempts: 2, baseMs: 1, maxWaitMs: 10 },
  });
});

afterEach(async () => {
  await db.destroy();
  await fake.close();
  deleteMemoryStore(store);
});

/** One pass, a poll interval after the last one. */
async function pass() {
  fake.clock.advance(61);
  return engine.runPass(flow, { baseDir: '.' });
}

const learner = (email: string) => learners.all().find((record) => !record.deleted && record.fields.email === email);
const employeeByEmail = (email: string) => [...fake.company.employees.values()].find((employee) => employee.values.workEmail === email);

describe('bamboohr employees <-> learners through the engine', () => {
  it('hires both ways, carries renames from each side and department moves out of HR, suspends a leaver, and never deletes an employee', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', workEmail: 'ada@example.com', department: 'Research' });
    learners.insert({ first_name: 'Bob', last_name: 'Builder', email: 'bob@example.com' });

    const first = await pass();
    expect(first.status).toBe('ok');
    expect(first.summary).toMatchObject({ created: 2, failed: 0, conflicts: 0 });
    expect(learner('ada@example.com')?.fields).toEqual({ first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', department: 'Research', status: 'active' });
    const bob = employeeByEmail('bob@example.com');
    expect(bob?.values).toMatchObject({ firstName: 'Bob', lastName: 'Builder', status: 'Active' });
    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, conflicts: 0, failed: 0 });

    // A rename on each side, and a department move in HR.
    fake.edit(ada.id, { lastName: 'King', department: 'Engineering' });
    learners.update(learner('bob@example.com')?.id as string, { first_name: 'Robert' });
    const renamed = await pass();
    expect(renamed.summary).toMatchObject({ updated: 2, created: 0, failed: 0, conflicts: 0 });
    expect(learner('ada@example.com')?.fields).toMatchObject({ last_name: 'King', department: 'Engineering' });
    expect(fake.employee(bob?.id as number).firstName).toBe('Robert');
    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, failed: 0 });

    // Ada leaves: BambooHR keeps her, Inactive; the learner is suspended, not deleted.
    fake.terminate(ada.id, '2024-06-03');
    const left = await pass();
    expect(left.summary).toMatchObject({ updated: 1, deleted: 0, failed: 0 });
    expect(learner('ada@example.com')?.fields.status).toBe('suspended');

    // Bob's learner account is removed in the LMS: BambooHR cannot delete employees, so Bob stays, out of the sync.
    learners.delete(learner('bob@example.com')?.id as string);
    const removed = await pass();
    expect(removed.summary).toMatchObject({ deleted: 0, failed: 0 });
    expect(fake.company.employees.get(bob?.id as number)?.deleted).toBe(false);
    expect(fake.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    expect((await pass()).summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
  });

  it('carries a department move entered ahead of its date to the learner on that day, not before, and reads it once', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', workEmail: 'ada@example.com', department: 'Research' });
    expect((await pass()).summary).toMatchObject({ created: 1, failed: 0 });
    // Entered on Monday, effective Thursday: BambooHR lists Ada as changed now, still in Research.
    fake.enterRow(ada.id, 'jobInfo', { date: '2024-06-06', department: 'Engineering' });
    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, failed: 0 });
    expect(learner('ada@example.com')?.fields.department).toBe('Research');

    // Thursday: nothing changes in BambooHR's change log, yet the learner moves.
    fake.clock.set(Date.parse('2024-06-06T12:30:00Z'));
    expect((await pass()).summary).toMatchObject({ updated: 1, failed: 0 });
    expect(learner('ada@example.com')?.fields.department).toBe('Engineering');
    // The learner's side brings back the runtime's own write once (an echo); BambooHR's costs one request a poll.
    fake.requests.length = 0;
    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, failed: 0 });
    expect((await pass()).summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
    expect(fake.requests.map((request) => request.route)).toEqual(['GET /api/v1/employees/changed', 'GET /api/v1/employees/changed']);
  });

  it('stops a pass that meets long throttling, and the next pass goes on from where it was', async () => {
    fake.hire({ firstName: 'Grace', lastName: 'Hopper', workEmail: 'grace@example.com' });
    fake.failNextRequests(1, { retryAfter: 600 });
    const stopped = await pass();
    expect(stopped.status).toBe('stopped');
    expect(stopped.summary).toMatchObject({ created: 0, failed: 0 });
    expect(learners.all()).toEqual([]);

    const resumed = await pass();
    expect(resumed.status).toBe('ok');
    expect(resumed.summary).toMatchObject({ created: 1, failed: 0 });
    expect(learner('grace@example.com')?.fields).toMatchObject({ first_name: 'Grace', status: 'active' });
  });
});
