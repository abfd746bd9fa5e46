import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFlow } from '../../../nodes/flow/load';
import type { MoodleFake } from '../../../test/fakes/moodle/server';
import type { Course, MoodleUser } from '../../../test/fakes/moodle/site';
import { openStateDb } from '../../db/index';
import { SyncEngine } from '../../engine/index';
import { connectorRegistry } from '../index';
import { createMemoryStore, deleteMemoryStore } from '../memory/index';
import type { Connector, ListPage, ListPosition, SourceRecord, WriteResult } from '../types';
import { access, connectionFor, contextFor, noWaiting, resolveToken, startFake } from './fakeSite';
import { openMoodle } from './index';

// The enrolments collection with a record per user ("enrolment": "one-per-user"): a user's place among the courses,
// which an update of `courseid` moves.

let fake: MoodleFake;
let connector: Connector | undefined;
let safety: Course;
let forklifts: Course;
let sales: Course;
let ada: MoodleUser;
let bob: MoodleUser;
let cyd: MoodleUser;

beforeEach(async () => {
  fake = await startFake();
  safety = fake.seedCourse({ shortname: 'SAFE101', fullname: 'Safety at work' });
  forklifts = fake.seedCourse({ shortname: 'FORK201', fullname: 'Forklifts' });
  sales = fake.seedCourse({ shortname: 'SALES1', fullname: 'Selling' });
  fake.seedCourse({ shortname: 'OTHER', fullname: 'Not synced' });
  ada = fake.seedUser({ username: 'ada', firstname: 'Ada', lastname: 'Lovelace', email: 'ada@example.com' });
  bob = fake.seedUser({ username: 'bob', firstname: 'Bob', lastname: 'Byte', email: 'bob@example.com' });
  cyd = fake.seedUser({ username: 'cyd', firstname: 'Cyd', lastname: 'Charisse', email: 'cyd@example.com' });
});

afterEach(async () => {
  await connector?.close();
  connector = undefined;
  await fake.close();
});

async function open(extra: Record<string, unknown> = {}): Promise<Connector> {
  connector = await openMoodle(contextFor(fake, 'enrolments', { courses: [safety.id, forklifts.id, sales.id], enrolment: 'one-per-user', ...extra }), noWaiting);
  return connector;
}

async function listAll(target: Connector, limit: number): Promise<{ records: SourceRecord[]; pages: ListPage[] }> {
  const pages: ListPage[] = [];
  let position: ListPosition | null = { since: null, afterId: null };
  while (position) {
    const page = await target.listSince(position, limit);
    pages.push(page);
    position = page.next;
  }
  return { records: pages.flatMap((page) => page.records), pages };
}

/** The courses a user is enrolled in (by any method), and whether each enrolment is suspended. */
const placesOf = (user: MoodleUser) =>
  [safety, forklifts, sales]
    .filter((course) => fake.site.enrolmentsOf(course.id, user.id).length > 0)
    .map((course) => ({ course: course.shortname, suspended: fake.site.enrolmentsOf(course.id, user.id).every((ue) => ue.status === 1) }));

const update = (user: MoodleUser, fields: Record<string, unknown>) => ({ kind: 'update' as const, id: String(user.id), fields, tag: 't', expectedVersion: null });

function expectRefused(result: WriteResult | undefined, text: string | RegExp): void {
  expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false });
  expect((result as { message: string }).message).toMatch(text);
}

describe('listing a record per user', () => {
  it('keys each user by id with the one course they are in, null while they are in several, and pages across courses', async () => {
    fake.seedEnrolment(forklifts.id, ada.id);
    fake.seedEnrolment(safety.id, bob.id, { roleid: 3, suspended: true });
    fake.seedEnrolment(sales.id, cyd.id);
    fake.seedEnrolment(safety.id, cyd.id, { method: 'self' });
    const many = Array.from({ length: 7 }, (_, n) => fake.seedUser({ username: `u${n}`, firstname: 'U', lastname: `${n}`, email: `u${n}@example.com` }));
    many.forEach((user, n) => fake.seedEnrolment([safety, forklifts, sales][n % 3]!.id, user.id));
    // The token's own account, enrolled somewhere, is not part of the collection.
    fake.seedEnrolment(sales.id, 2);
    const enrolments = await open();
    const expectedIds = [ada, bob, cyd, ...many].map((user) => String(user.id));

    for (const limit of [2, 3, 500]) {
      const { records, pages } = await listAll(enrolments, limit);
      expect(records.map((record) => record.id), `pages of ${limit}`).toEqual(expectedIds);
      expect(pages.every((page) => page.records.length <= limit)).toBe(true);
    }
    const { records } = await listAll(enrolments, 2);
    expect(records[0]).toEqual({
      id: String(ada.id),
      version: null,
      tag: null,
      deleted: false,
      fields: { userid: ada.id, courseid: forklifts.id, username: 'ada', email: 'ada@example.com', roles: ['student'], suspended: false },
    });
    expect(records[1]?.fields).toMatchObject({ courseid: safety.id, roles: ['editingteacher'], suspended: true });
    // Cyd is in two of the courses (one of them by self enrolment): no single course, and active.
    expect(records[2]?.fields).toMatchObject({ courseid: null, roles: ['student'], suspended: false });

    // A new connector resumes a listing from a user id alone (no place remembered per course).
    const other = await openMoodle(contextFor(fake, 'enrolments', { courses: [safety.id, forklifts.id, sales.id], enrolment: 'one-per-user' }), noWaiting);
    const resumed = await other.listSince({ since: null, afterId: String(cyd.id) }, 500);
    expect(resumed.records.map((record) => record.id)).toEqual(many.map((user) => String(user.id)));
    await other.close();

    const read = await enrolments.getMany([String(bob.id), String(cyd.id), '2', '999', 'nonsense']);
    expect([...read.keys()]).toEqual([String(bob.id), String(cyd.id)]);
    expect(read.get(String(bob.id))).toEqual(records[1]);
  });
});

describe('moving a user between courses', () => {
  beforeEach(() => {
    fake.seedEnrolment(safety.id, ada.id);
    fake.seedEnrolment(safety.id, bob.id, { suspended: true });
  });

  it('enrols by email in the course given, keyed by the user', async () => {
    const enrolments = await open();
    const results = await enrolments.write([{ kind: 'create', fields: { email: 'cyd@example.com', courseid: sales.id }, tag: 't' }]);
    expect(results).toEqual([{ ok: true, id: String(cyd.id), version: null }]);
    expect(placesOf(cyd)).toEqual([{ course: 'SALES1', suspended: false }]);
  });

  it('moves on a changed courseid: enrolled in the new course with connection.roleId and the same status, then unenrolled from the old', async () => {
    const enrolments = await open({ roleId: 4 });
    const before = { enrol: fake.countRequests('enrol_manual_enrol_users'), unenrol: fake.countRequests('enrol_manual_unenrol_users') };
    const results = await enrolments.write([update(ada, { courseid: forklifts.id, email: 'ADA@example.com' }), update(bob, { courseid: String(sales.id) })]);
    expect(results).toEqual([
      { ok: true, id: String(ada.id), version: null },
      { ok: true, id: String(bob.id), version: null },
    ]);
    expect(placesOf(ada)).toEqual([{ course: 'FORK201', suspended: false }]);
    // Bob's enrolment was suspended; in the new course it is too.
    expect(placesOf(bob)).toEqual([{ course: 'SALES1', suspended: true }]);
    expect(fake.site.courseRoles(forklifts.id, ada.id).map((role) => role.shortname)).toEqual(['teacher']);
    expect(fake.site.courseRoles(safety.id, ada.id)).toEqual([]);
    // Both moves in one enrol call and one unenrol call.
    expect(fake.countRequests('enrol_manual_enrol_users') - before.enrol).toBe(1);
    expect(fake.countRequests('enrol_manual_unenrol_users') - before.unenrol).toBe(1);
    expect((await enrolments.getMany([String(ada.id)])).get(String(ada.id))?.fields).toMatchObject({ courseid: forklifts.id, roles: ['teacher'] });
  });

  it('moves and reactivates in one update, and leaves a user in several courses in the one given only', async () => {
    fake.seedEnrolment(forklifts.id, cyd.id, { roleid: 3 });
    fake.seedEnrolment(sales.id, cyd.id);
    const enrolments = await open();
    expect(await enrolments.write([update(bob, { courseid: forklifts.id, suspended: false }), update(cyd, { courseid: forklifts.id })])).toEqual([
      { ok: true, id: String(bob.id), version: null },
      { ok: true, id: String(cyd.id), version: null },
    ]);
    expect(placesOf(bob)).toEqual([{ course: 'FORK201', suspended: false }]);
    // Cyd keeps the enrolment she had there, with her role.
    expect(placesOf(cyd)).toEqual([{ course: 'FORK201', suspended: false }]);
    expect(fake.site.courseRoles(forklifts.id, cyd.id).map((role) => role.shortname)).toEqual(['editingteacher']);
  });

  it('changes the status in place, and writes nothing for what did not change', async () => {
    const enrolments = await open();
    const requests = fake.countRequests();
    expect(await enrolments.write([update(ada, { courseid: safety.id, username: 'ada', roles: ['student'], suspended: false })])).toEqual([{ ok: true, id: String(ada.id), version: null }]);
    // One read of the three courses (a listing and a status listing each, and the site's info is not asked again).
    expect(fake.countRequests('enrol_manual_enrol_users') + fake.countRequests('enrol_manual_unenrol_users')).toBe(0);
    expect(fake.countRequests() - requests).toBe(6);
    expect(await enrolments.write([update(ada, { suspended: true })])).toEqual([{ ok: true, id: String(ada.id), version: null }]);
    expect(placesOf(ada)).toEqual([{ course: 'SAFE101', suspended: true }]);
  });

  it('refuses what it cannot write before calling Moodle: another course, another user, another email', async () => {
    const enrolments = await open();
    const results = await enrolments.write([
      update(ada, { courseid: 999 }),
      update(ada, { courseid: 'twelve' }),
      update(ada, { userid: bob.id }),
      update(ada, { email: 'someone@example.com' }),
      update(ada, { grade: 'A' }),
      update(cyd, { courseid: sales.id }),
    ]);
    expectRefused(results[0], `course 999 is not among connection.courses (${safety.id}, ${forklifts.id}, ${sales.id})`);
    expectRefused(results[1], 'courseid must be the id of one of connection.courses');
    expectRefused(results[2], `userid: record ${ada.id} is user ${ada.id}'s enrolment; it cannot become another user's`);
    expectRefused(results[3], "email is the enrolled user's, read only here");
    expectRefused(results[4], 'grade is not a field of Moodle enrolments');
    // Cyd is in none of the courses: there is no record to update.
    expect(results[5]).toEqual({ ok: false, reason: 'missing' });
    expect(fake.countRequests('enrol_manual_enrol_users') + fake.countRequests('enrol_manual_unenrol_users')).toBe(0);
    expect(placesOf(ada)).toEqual([{ course: 'SAFE101', suspended: false }]);
  });

  it('fails a move whose enrolment Moodle refuses, and leaves the user where they were', async () => {
    // The new course's manual enrolment method is disabled (Course > Participants > Enrolment methods).
    const manual = fake.site.instancesOf(forklifts.id).find((instance) => instance.enrol === 'manual');
    manual!.status = 1;
    const enrolments = await open();
    const [moved, other] = await enrolments.write([update(ada, { courseid: forklifts.id }), update(bob, { courseid: sales.id })]);
    expectRefused(moved, new RegExp(`^Moodle refused to enrol user ${ada.id} in course ${forklifts.id} \\(they stay in course ${safety.id}\\): .*wsnoinstance.*add the "Manual enrolments" method to the course, and enable it`));
    expect(placesOf(ada)).toEqual([{ course: 'SAFE101', suspended: false }]);
    // The refusal is isolated: the other move in the same call went through.
    expect(other).toEqual({ ok: true, id: String(bob.id), version: null });
    expect(placesOf(bob)).toEqual([{ course: 'SALES1', suspended: true }]);
  });

  it('fails a move whose unenrolment Moodle refuses, saying the user is in both courses', async () => {
    // The old course has no manual method any more; Ada is enrolled there by self enrolment.
    fake.seedEnrolment(forklifts.id, cyd.id, { method: 'self' });
    for (const instance of fake.site.instancesOf(forklifts.id).filter((candidate) => candidate.enrol === 'manual')) fake.site.enrolInstances.delete(instance.id);
    const enrolments = await open();
    const [result] = await enrolments.write([update(cyd, { courseid: sales.id })]);
    expectRefused(result, new RegExp(`^user ${cyd.id} is enrolled in course ${sales.id} now, but Moodle refused to unenrol them from course ${forklifts.id} \\(they are in both until a pass finishes the move\\): .*wsnoinstance`));
    expect(placesOf(cyd)).toEqual([
      { course: 'FORK201', suspended: false },
      { course: 'SALES1', suspended: false },
    ]);
    expect((await enrolments.getMany([String(cyd.id)])).get(String(cyd.id))?.fields.courseid).toBeNull();
  });

  it('fails a move Moodle answers without doing: the old enrolment is by another method, which the web service leaves', async () => {
    fake.seedEnrolment(forklifts.id, cyd.id, { method: 'self' });
    const enrolments = await open();
    const [result] = await enrolments.write([update(cyd, { courseid: sales.id })]);
    expectRefused(result, `Moodle did not unenrol user ${cyd.id} in course ${forklifts.id}: the user is enrolled there by another method (self enrolment, cohort sync, …) as well or instead, and the web service changes manual enrolments only; they are enrolled in course ${sales.id} as well now`);
  });
});

describe('deleting a record per user', () => {
  beforeEach(() => {
    fake.seedEnrolment(safety.id, ada.id);
    fake.seedEnrolment(forklifts.id, ada.id);
  });

  it('unenrols from every course of the connection, and reports missing for a user in none', async () => {
    const enrolments = await open();
    expect(enrolments.capabilities.deletes).toBe('remove');
    const results = await enrolments.write([
      { kind: 'delete', id: String(ada.id), expectedVersion: null },
      { kind: 'delete', id: String(bob.id), expectedVersion: null },
    ]);
    expect(results).toEqual([{ ok: true, id: String(ada.id), version: null }, { ok: false, reason: 'missing' }]);
    expect(placesOf(ada)).toEqual([]);
  });

  it('suspends every enrolment instead when told to, and refuses when told to', async () => {
    const suspending = await open({ enrolmentDeletes: 'suspend' });
    expect(suspending.capabilities.deletes).toBe('close');
    expect(await suspending.write([{ kind: 'delete', id: String(ada.id), expectedVersion: null }])).toEqual([{ ok: true, id: String(ada.id), version: null }]);
    expect(placesOf(ada)).toEqual([
      { course: 'SAFE101', suspended: true },
      { course: 'FORK201', suspended: true },
    ]);
    await suspending.close();
    const refusing = await open({ enrolmentDeletes: 'refuse' });
    expectRefused((await refusing.write([{ kind: 'delete', id: String(ada.id), expectedVersion: null }]))[0], 'connection.enrolmentDeletes is "refuse"');
  });
});

describe('a team per course, through the engine', () => {
  const store = 'moodle-user-enrolments';
  afterEach(() => deleteMemoryStore(store));

  it('enrols people in their team’s course, moves them when the team changes, and settles', async () => {
    const staff = createMemoryStore(store).createCollection('staff', { versions: 'iso' });
    const { document, issues } = loadFlow({
      format: 'syncline.flow',
      version: 1,
      id: 'teams',
      name: 'Teams -> courses',
      nodes: [
        { id: 'staff', type: 'trigger', typeVersion: 1, position: { x: 0, y: 0 }, config: { connector: 'memory', connection: { store }, collection: 'staff', key: 'id', updatedAt: 'updated', detect: { mode: 'manual' }, write: { create: false, update: false, delete: false } } },
        { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 200, y: 0 }, config: { policy: { prefer: 'staff' }, match: ['email'], deletes: 'review' } },
        {
          id: 'courses',
          type: 'mapping',
          typeVersion: 1,
          position: { x: 400, y: 0 },
          config: {
            fields: [
              { left: 'email', right: 'email', direction: 'both' },
              { left: 'team', right: 'courseid', direction: 'forward', values: [{ left: 'Warehouse', right: forklifts.id }, { left: 'Sales', right: sales.id }] },
            ],
          },
        },
        { id: 'moodle', type: 'trigger', typeVersion: 1, position: { x: 600, y: 0 }, config: { connector: 'moodle', connection: connectionFor(fake, { courses: [forklifts.id, sales.id], enrolment: 'one-per-user' }), collection: 'enrolments', key: 'id', detect: { mode: 'manual' } } },
      ],
      edges: [
        { id: 'e1', source: 'staff', target: 'hub' },
        { id: 'e2', source: 'hub', target: 'courses' },
        { id: 'e3', source: 'courses', target: 'moodle' },
      ],
    });
    if (!document) throw new Error(issues.map((problem) => `${problem.path}: ${problem.message}`).join('; '));
    const db = await openStateDb(':memory:');
    const engine = new SyncEngine({ db, connectors: connectorRegistry, access, resolveCredential: (name) => resolveToken(fake, name), retry: { attempts: 2, baseMs: 1, maxWaitMs: 10 } });
    const pass = () => engine.runPass(document, { baseDir: '.' });
    try {
      staff.insert({ email: 'ada@example.com', team: 'Warehouse' });
      staff.insert({ email: 'bob@example.com', team: 'Sales' });
      // Cyd is already in the Sales course in Moodle: matched by email, then moved.
      fake.seedEnrolment(sales.id, cyd.id);
      staff.insert({ email: 'cyd@example.com', team: 'Warehouse' });
      expect((await pass()).summary).toMatchObject({ created: 2, updated: 1, failed: 0, conflicts: 0 });
      expect([placesOf(ada), placesOf(bob), placesOf(cyd)]).toEqual([[{ course: 'FORK201', suspended: false }], [{ course: 'SALES1', suspended: false }], [{ course: 'FORK201', suspended: false }]]);
      expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });

      const adaRow = staff.all().find((record) => record.fields.email === 'ada@example.com');
      staff.update(adaRow?.id as string, { team: 'Sales' });
      expect((await pass()).summary).toMatchObject({ updated: 1, created: 0, deleted: 0, failed: 0 });
      expect(placesOf(ada)).toEqual([{ course: 'SALES1', suspended: false }]);
      // The move comes back in the next listing as the runtime's own write, and changes nothing.
      expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, conflicts: 0, failed: 0 });
    } finally {
      await engine.close();
      await db.destroy();
    }
  });
});
