import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFlow } from '../../../nodes/flow/load';
import type { FlowDocument } from '../../../nodes/index';
import type { MoodleFake } from '../../../test/fakes/moodle/server';
import { openStateDb, type StateDb } from '../../db/index';
import { SyncEngine } from '../../engine/index';
import { connectorRegistry } from '../index';
import { createMemoryStore, deleteMemoryStore, type MemoryCollection } from '../memory/index';
import { access, connectionFor, resolveToken, startFake } from './fakeSite';

// Staff list <-> learners through the real engine: Moodle users (on the fake, opened from the registry as a flow opens
// them) and the people of a memory collection. Moodle has no change feed: every pass lists its users whole and the
// engine finds what changed by comparing each with its shadow — an edit made in Moodle included.

let fake: MoodleFake;
let db: StateDb;
let engine: SyncEngine;
let people: MemoryCollection;
let flow: FlowDocument;
const store = 'moodle-flow';

beforeEach(async () => {
  fake = await startFake();
  people = createMemoryStore(store).createCollection('people', { versions: 'iso' });
  const { document, issues } = loadFlow({
    format: 'syncline.flow',
    version: 1,
    id: 'learners',
    name: 'Staff <-> learners',
    nodes: [
      { id: 'staff', type: 'trigger', typeVersion: 1, position: { x: 0, y: 0 }, config: { connector: 'memory', connection: { store }, collection: 'people', key: 'id', updatedAt: 'updated', detect: { mode: 'manual' } } },
      {
        id: 'map',
        type: 'mapping',
        typeVersion: 1,
        position: { x: 200, y: 0 },
        config: {
          fields: [
            { left: 'email', right: 'email', direction: 'both' },
            { left: 'first', right: 'firstname', direction: 'both' },
            { left: 'last', right: 'lastname', direction: 'both' },
            { left: 'team', right: 'department', direction: 'both' },
          ],
        },
      },
      { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 400, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } },
      { id: 'moodle', type: 'trigger', typeVersion: 1, position: { x: 600, y: 0 }, config: { connector: 'moodle', connection: connectionFor(fake), collection: 'users', key: 'id', detect: { mode: 'manual' } } },
    ],
    edges: [
      { id: 'e1', source: 'staff', target: 'map' },
      { id: 'e2', source: 'map', target: 'hub' },
      { id: 'e3', source: 'moodle', target: 'hub' },
    ],
  });
  if (!document) throw new Error(issues.map((problem) => `${problem.path}: ${problem.message}`).join('; '));
  flow = document;
  db = await openStateDb(':memory:');
  engine = new SyncEngine({ db, connectors: connectorRegistry, access, resolveCredential: (name) => resolveToken(fake, name), retry: { attempts: 2, baseMs: 1, maxWaitMs: 10 } });
});

afterEach(async () => {
  await db.destroy();
  await fake.close();
  deleteMemoryStore(store);
});

const pass = () => engine.runPass(flow, { baseDir: '.' });
const livePeople = () => people.all().filter((record) => !record.deleted);
const person = (email: string) => livePeople().find((record) => record.fields.email === email);
const moodleUser = (email: string) => [...fake.site.users.values()].find((user) => user.email === email && !user.deleted);

describe('memory people <-> moodle users through the engine', () => {
  it('creates both ways, picks up edits made in Moodle without a change feed, suspends for a delete, and settles after each', async () => {
    const ada = fake.seedUser({ username: 'ada', firstname: 'Ada', lastname: 'Lovelace', email: 'ada@example.com', department: 'Maths' });
    people.insert({ email: 'bob@example.com', first: 'Bob', last: 'Byte', team: 'Ops' });

    const first = await pass();
    expect(first.status).toBe('ok');
    expect(first.summary).toMatchObject({ created: 2, failed: 0, conflicts: 0 });
    expect(person('ada@example.com')?.fields).toEqual({ email: 'ada@example.com', first: 'Ada', last: 'Lovelace', team: 'Maths' });
    expect(moodleUser('bob@example.com')).toMatchObject({ username: 'bob@example.com', firstname: 'Bob', lastname: 'Byte', department: 'Ops', suspended: false });

    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });

    // An administrator edits Ada in Moodle; nothing tells anyone but the next whole listing. The staff list renames Bob.
    fake.editUser(ada.id, { department: 'Physics' });
    people.update(person('bob@example.com')?.id as string, { last: 'Bytes' });
    const edited = await pass();
    expect(edited.summary).toMatchObject({ updated: 2, created: 0, failed: 0, conflicts: 0 });
    expect(person('ada@example.com')?.fields.team).toBe('Physics');
    expect(moodleUser('bob@example.com')?.lastname).toBe('Bytes');
    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });

    // Bob leaves the staff list: Moodle suspends his account, which stays; it does not come back as a new person.
    people.delete(person('bob@example.com')?.id as string);
    const left = await pass();
    expect(left.summary).toMatchObject({ deleted: 1, failed: 0 });
    expect(moodleUser('bob@example.com')).toMatchObject({ suspended: true });
    expect((await pass()).summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
    expect(person('bob@example.com')).toBeUndefined();
  });

  it('sees a user deleted in Moodle as gone from the listing, and deletes the person', async () => {
    const ada = fake.seedUser({ username: 'ada', firstname: 'Ada', lastname: 'Lovelace', email: 'ada@example.com', department: 'Maths' });
    fake.seedUser({ username: 'cyd', firstname: 'Cyd', lastname: 'Charisse', email: 'cyd@example.com', department: 'Dance' });
    expect((await pass()).summary).toMatchObject({ created: 2, failed: 0 });
    fake.deleteUser(ada.id);
    const gone = await pass();
    expect(gone.summary).toMatchObject({ deleted: 1, failed: 0 });
    expect(person('ada@example.com')).toBeUndefined();
    expect(person('cyd@example.com')).toBeDefined();
  });
});
