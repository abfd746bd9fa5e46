import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MoodleFake } from '../../../test/fakes/moodle/server';
import type { Course, MoodleUser } from '../../../test/fakes/moodle/site';
import type { Connector, ListPage, ListPosition, SourceRecord, WriteResult } from '../types';
import { contextFor, noWaiting, startFake } from './fakeSite';
import { openMoodle } from './index';

let fake: MoodleFake;
let connector: Connector | undefined;
let safety: Course;
let forklifts: Course;
let ada: MoodleUser;
let bob: MoodleUser;
let cyd: MoodleUser;

beforeEach(async () => {
  fake = await startFake();
  safety = fake.seedCourse({ shortname: 'SAFE101', fullname: 'Safety at work' });
  forklifts = fake.seedCourse({ shortname: 'FORK201', fullname: 'Forklifts' });
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
  connector = await openMoodle(contextFor(fake, 'enrolments', { courses: [forklifts.id, safety.id], ...extra }), noWaiting);
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

const key = (course: Course, user: MoodleUser) => `${course.id}:${user.id}`;

function expectRefused(result: WriteResult | undefined, text: string | RegExp): void {
  expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false });
  expect((result as { message: string }).message).toMatch(text);
}

describe('listing enrolments', () => {
  it('lists the chosen courses in order, keyed course:user, with roles and status, paging across courses', async () => {
    fake.seedEnrolment(safety.id, ada.id);
    fake.seedEnrolment(safety.id, bob.id, { roleid: 3, suspended: true });
    fake.seedEnrolment(forklifts.id, cyd.id);
    fake.seedEnrolment(forklifts.id, ada.id, { method: 'self' });
    const enrolments = await open();
    const { records, pages } = await listAll(enrolments, 2);
    expect(records.map((record) => record.id)).toEqual([key(safety, ada), key(safety, bob), key(forklifts, ada), key(forklifts, cyd)]);
    // A full last page cannot know it is the last: an empty one ends the listing.
    expect(pages.map((page) => page.records.length)).toEqual([2, 2, 0]);
    expect(records[1]).toEqual({
      id: key(safety, bob),
      version: null,
      tag: null,
      deleted: false,
      fields: { userid: bob.id, courseid: safety.id, username: 'bob', email: 'bob@example.com', roles: ['editingteacher'], suspended: true },
    });
    // Self enrolment gives the student role too; it is listed like a manual one.
    expect(records[2]?.fields).toMatchObject({ roles: ['student'], suspended: false });
    expect(await enrolments.getMany([key(safety, bob), key(forklifts, bob), '999:1', 'nonsense'])).toEqual(new Map([[key(safety, bob), records[1]]]));
  });

  it('refuses to open without courses, or with the front page among them', async () => {
    await expect(openMoodle(contextFor(fake, 'enrolments'), noWaiting)).rejects.toThrow('connection.courses: the enrolments collection needs the courses it covers');
    await expect(openMoodle(contextFor(fake, 'enrolments', { courses: [1] }), noWaiting)).rejects.toThrow("course 1 is the site's front page");
  });

  it('stops a listing of a course that no longer exists, rather than taking its enrolments for deleted', async () => {
    const enrolments = await open({ courses: [safety.id, 999] });
    await expect(listAll(enrolments, 10)).rejects.toThrow('course 999 does not exist on the site (any more): remove it from connection.courses');
  });
});

describe('enrolling', () => {
  it('enrols by userid, username or email in one call, with connection.roleId, suspended when asked', async () => {
    const enrolments = await open({ roleId: 4 });
    const results = await enrolments.write([
      { kind: 'create', fields: { userid: ada.id, courseid: safety.id }, tag: 't1' },
      { kind: 'create', fields: { username: 'bob', courseid: String(safety.id) }, tag: 't2' },
      { kind: 'create', fields: { email: 'cyd@example.com', courseid: forklifts.id, suspended: true }, tag: 't3' },
    ]);
    expect(results).toEqual([
      { ok: true, id: key(safety, ada), version: null },
      { ok: true, id: key(safety, bob), version: null },
      { ok: true, id: key(forklifts, cyd), version: null },
    ]);
    expect(fake.countRequests('enrol_manual_enrol_users')).toBe(1);
    expect(fake.site.courseRoles(safety.id, bob.id).map((role) => role.shortname)).toEqual(['teacher']);
    const read = await enrolments.getMany(results.map((result) => (result as { id: string }).id));
    expect(read.get(key(forklifts, cyd))?.fields).toMatchObject({ suspended: true, roles: ['teacher'] });
  });

  it('refuses what names no single user or a course outside the connection, and isolates what Moodle refuses', async () => {
    fake.site.config.allowAccountsSameEmail = true;
    fake.seedUser({ username: 'ada2', firstname: 'Ada', lastname: 'Again', email: 'ada@example.com' });
    const enrolments = await open();
    const results = await enrolments.write([
      { kind: 'create', fields: { email: 'nobody@example.com', courseid: safety.id }, tag: 't1' },
      { kind: 'create', fields: { email: 'ada@example.com', courseid: safety.id }, tag: 't2' },
      { kind: 'create', fields: { userid: bob.id, courseid: 3 + 100 }, tag: 't3' },
      { kind: 'create', fields: { userid: bob.id, courseid: safety.id, roles: ['manager'] }, tag: 't4' },
      { kind: 'create', fields: { userid: 987654, courseid: safety.id }, tag: 't5' },
      { kind: 'create', fields: { userid: bob.id, courseid: safety.id }, tag: 't6' },
      { kind: 'create', fields: { userid: cyd.id, courseid: forklifts.id }, tag: 't7' },
    ]);
    expectRefused(results[0], 'no Moodle user has the email "nobody@example.com"');
    expectRefused(results[1], '2 Moodle users have the email "ada@example.com": give the userid');
    expectRefused(results[2], 'is not among connection.courses');
    expectRefused(results[3], 'roles are read from Moodle');
    // One transaction: Moodle refuses the batch of three for the unknown user; halving finds it.
    expectRefused(results[4], /Moodle refused to enrol user 987654 in course \d+: coding_exception \(codingerror\).*the user does not exist or is deleted/);
    expect(results.slice(5)).toEqual([
      { ok: true, id: key(safety, bob), version: null },
      { ok: true, id: key(forklifts, cyd), version: null },
    ]);
  });

  it('says which role cannot be given when connection.roleId is not assignable in courses', async () => {
    const enrolments = await open({ roleId: 7 });
    expectRefused((await enrolments.write([{ kind: 'create', fields: { userid: ada.id, courseid: safety.id }, tag: 't' }]))[0], /wsusercannotassign.*check connection.roleId \(7\)/);
  });
});

describe('changing and removing enrolments', () => {
  beforeEach(() => {
    fake.seedEnrolment(safety.id, ada.id, { roleid: 3 });
    fake.seedEnrolment(safety.id, bob.id);
  });

  it('suspends and reactivates by enrolling again, keeping the role the user has', async () => {
    const enrolments = await open();
    expect(await enrolments.write([{ kind: 'update', id: key(safety, ada), fields: { suspended: true }, tag: 't1', expectedVersion: null }])).toEqual([{ ok: true, id: key(safety, ada), version: null }]);
    expect(fake.site.courseRoles(safety.id, ada.id).map((role) => role.shortname)).toEqual(['editingteacher']);
    expect((await enrolments.getMany([key(safety, ada)])).get(key(safety, ada))?.fields.suspended).toBe(true);
    await enrolments.write([{ kind: 'update', id: key(safety, ada), fields: { suspended: false }, tag: 't2', expectedVersion: null }]);
    expect((await enrolments.getMany([key(safety, ada)])).get(key(safety, ada))?.fields.suspended).toBe(false);
  });

  it('refuses to move an enrolment to another course or user, and writes nothing for fields that did not change', async () => {
    const enrolments = await open();
    const results = await enrolments.write([
      { kind: 'update', id: key(safety, ada), fields: { courseid: forklifts.id }, tag: 't1', expectedVersion: null },
      { kind: 'update', id: key(safety, ada), fields: { userid: bob.id }, tag: 't2', expectedVersion: null },
      { kind: 'update', id: key(safety, ada), fields: { email: 'someone@example.com' }, tag: 't3', expectedVersion: null },
      { kind: 'update', id: key(safety, ada), fields: { email: 'ADA@example.com', courseid: String(safety.id), roles: ['editingteacher'] }, tag: 't4', expectedVersion: null },
      { kind: 'update', id: key(forklifts, ada), fields: { suspended: true }, tag: 't5', expectedVersion: null },
    ]);
    expectRefused(results[0], /courseid: enrolment \d+:\d+ is user \d+ in course \d+; it cannot become another — to move people between courses, give the collection a record per user \("enrolment": "one-per-user"\)/);
    expectRefused(results[1], 'userid: enrolment');
    expectRefused(results[2], 'email is the enrolled user');
    expect(results[3]).toEqual({ ok: true, id: key(safety, ada), version: null });
    expect(results[4]).toEqual({ ok: false, reason: 'missing' });
    expect(fake.countRequests('enrol_manual_enrol_users')).toBe(0);
  });

  it('unenrols by default, reports missing for what is not there, and removes the roles with it', async () => {
    const enrolments = await open();
    expect(enrolments.capabilities.deletes).toBe('remove');
    const results = await enrolments.write([
      { kind: 'delete', id: key(safety, ada), expectedVersion: null },
      { kind: 'delete', id: key(safety, cyd), expectedVersion: null },
      { kind: 'delete', id: 'not-a-key', expectedVersion: null },
    ]);
    expect(results).toEqual([{ ok: true, id: key(safety, ada), version: null }, { ok: false, reason: 'missing' }, { ok: false, reason: 'missing' }]);
    expect(fake.site.enrolmentsOf(safety.id, ada.id)).toEqual([]);
    expect(fake.site.courseRoles(safety.id, ada.id)).toEqual([]);
    expect((await listAll(enrolments, 10)).records.map((record) => record.id)).toEqual([key(safety, bob)]);
  });

  it('fails a delete Moodle cannot apply: the user is enrolled by another method, which the web service does not touch', async () => {
    fake.seedEnrolment(safety.id, cyd.id, { method: 'self' });
    const enrolments = await open();
    const [result] = await enrolments.write([{ kind: 'delete', id: key(safety, cyd), expectedVersion: null }]);
    expectRefused(result, /Moodle did not unenrol user \d+ in course \d+: the user is enrolled there by another method/);
  });

  it('suspends instead, when told to: the enrolment stays, closed', async () => {
    const enrolments = await open({ enrolmentDeletes: 'suspend' });
    expect(enrolments.capabilities.deletes).toBe('close');
    expect(await enrolments.write([{ kind: 'delete', id: key(safety, bob), expectedVersion: null }])).toEqual([{ ok: true, id: key(safety, bob), version: null }]);
    expect(await enrolments.write([{ kind: 'delete', id: key(safety, bob), expectedVersion: null }])).toEqual([{ ok: true, id: key(safety, bob), version: null }]);
    expect(fake.countRequests('enrol_manual_enrol_users')).toBe(1);
    expect((await enrolments.getMany([key(safety, bob)])).get(key(safety, bob))?.fields).toMatchObject({ suspended: true, roles: ['student'] });
  });

  it('refuses deletes when told to', async () => {
    const enrolments = await open({ enrolmentDeletes: 'refuse' });
    expect(enrolments.capabilities.deletes).toBe('cannot');
    expectRefused((await enrolments.write([{ kind: 'delete', id: key(safety, bob), expectedVersion: null }]))[0], 'connection.enrolmentDeletes is "refuse"');
  });
});
