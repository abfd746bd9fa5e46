import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MoodleFake } from '../../../test/fakes/moodle/server';
import type { Connector, ListPage, ListPosition, SourceRecord, WriteResult } from '../types';
import { contextFor, noWaiting, startFake } from './fakeSite';
import { openMoodle } from './index';

let fake: MoodleFake;
let connector: Connector | undefined;

beforeEach(async () => {
  fake = await startFake({ profileFields: [{ shortname: 'costcentre', name: 'Cost centre', datatype: 'text' }, { shortname: 'site', name: 'Site', datatype: 'text' }] });
});

afterEach(async () => {
  await connector?.close();
  connector = undefined;
  await fake.close();
});

async function open(extra: Record<string, unknown> = {}): Promise<Connector> {
  connector = await openMoodle(contextFor(fake, 'users', extra), noWaiting);
  return connector;
}

function person(n: number, extra: Record<string, unknown> = {}) {
  return fake.seedUser({ username: `user${n}`, firstname: `First${n}`, lastname: `Last${n}`, email: `user${n}@example.com`, ...extra });
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

function expectRefused(result: WriteResult | undefined, text: string | RegExp): void {
  expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false });
  expect((result as { message: string }).message).toMatch(text);
}

describe('listing a whole site', () => {
  it('pages by id with two calls a page, leaving out the guest and the token’s own account', async () => {
    const ids = Array.from({ length: 25 }, (_, n) => person(n).id);
    const users = await open();
    const before = fake.countRequests();
    const { records, pages } = await listAll(users, 10);
    expect(records.map((record) => Number(record.id))).toEqual(ids);
    expect(pages.map((page) => page.records.length)).toEqual([10, 10, 5]);
    // Per page: the site course's participants (ids), then those users' details. The first page reads twice: the
    // guest and the admin whose token this is take two of its first ten places and are left out.
    expect(fake.countRequests('core_enrol_get_enrolled_users')).toBe(4);
    expect(fake.countRequests('core_user_get_users_by_field')).toBe(4);
    expect(fake.countRequests()).toBe(before + 8);
    expect(records[0]).toEqual({
      id: String(ids[0]),
      version: null,
      tag: null,
      deleted: false,
      fields: {
        username: 'user0',
        email: 'user0@example.com',
        firstname: 'First0',
        lastname: 'Last0',
        auth: 'manual',
        idnumber: null,
        department: null,
        institution: null,
        phone1: null,
        phone2: null,
        city: null,
        country: null,
        suspended: false,
      },
    });
  });

  it('loses no user when a few users before its place are deleted between pages: an overlap re-read absorbs them', async () => {
    const ids = Array.from({ length: 30 }, (_, n) => person(n).id);
    const users = await open();
    const first = await users.listSince({ since: null, afterId: null }, 10);
    for (const id of ids.slice(2, 5)) fake.deleteUser(id);
    const calls = fake.countRequests('core_enrol_get_enrolled_users');
    const second = await users.listSince(first.next as ListPosition, 10);
    expect(second.records.map((record) => Number(record.id))).toEqual(ids.slice(10, 20));
    expect(fake.countRequests('core_enrol_get_enrolled_users')).toBe(calls + 1);
  });

  it('loses no user when more were deleted than the overlap reaches over: it finds its place again by bisecting', async () => {
    const ids = Array.from({ length: 80 }, (_, n) => person(n).id);
    const users = await open();
    const first = await users.listSince({ since: null, afterId: null }, 40);
    for (const id of ids.slice(0, 35)) fake.deleteUser(id);
    const calls = fake.countRequests('core_enrol_get_enrolled_users');
    const rest: number[] = [];
    let position = first.next;
    while (position) {
      const page = await users.listSince(position, 15);
      rest.push(...page.records.map((record) => Number(record.id)));
      position = page.next;
    }
    expect(rest).toEqual(ids.slice(40));
    // The overlap read, a few one-row reads to find the place, then the pages.
    expect(fake.countRequests('core_enrol_get_enrolled_users') - calls).toBeGreaterThan(4);
  });

  it('resumes a listing in a connector opened afresh, finding its place from the id alone', async () => {
    const ids = Array.from({ length: 12 }, (_, n) => person(n).id);
    const first = await (await open()).listSince({ since: null, afterId: null }, 5);
    await connector?.close();
    const again = await open();
    const next = await again.listSince(first.next as ListPosition, 5);
    expect(next.records.map((record) => Number(record.id))).toEqual(ids.slice(5, 10));
  });

  it('reads custom profile fields as customfields.<shortname>, absent ones as null', async () => {
    const ada = person(1, { profile: { costcentre: 'CC-7' }, department: 'Sales', suspended: true });
    const users = await open({ profileFields: ['costcentre', 'site'] });
    const [record] = (await listAll(users, 10)).records;
    expect(record?.id).toBe(String(ada.id));
    expect(record?.fields).toMatchObject({ department: 'Sales', suspended: true, customfields: { costcentre: 'CC-7', site: null } });
    expect((await users.describe()).find((collection) => collection.name === 'users')?.fields.map((field) => field.name)).toEqual(
      expect.arrayContaining(['username', 'suspended', 'customfields.costcentre', 'customfields.site']),
    );
  });

  it('reads by id around deleted users, which make Moodle fail the whole read', async () => {
    const [a, b, c] = [person(1), person(2), person(3)];
    fake.deleteUser(b.id);
    const users = await open();
    const found = await users.getMany([String(a.id), String(b.id), String(c.id), 'guest', String(fake.site.users.get(1)?.id)]);
    expect([...found.keys()]).toEqual([String(a.id), String(c.id)]);
  });
});

describe('writing users', () => {
  it('creates in one call, deriving the username from the email and letting Moodle make and mail the password', async () => {
    const users = await open({ profileFields: ['costcentre'] });
    const results = await users.write([
      { kind: 'create', fields: { firstname: 'Ada', lastname: 'Lovelace', email: 'Ada.Lovelace+hr@Example.com', department: 'Maths', customfields: { costcentre: 'CC-1' } }, tag: 't1' },
      { kind: 'create', fields: { firstname: 'Bob', lastname: 'Byte', email: 'bob@example.com', username: 'bbyte', auth: 'oauth2' }, tag: 't2' },
    ]);
    expect(results.map((result) => result.ok)).toEqual([true, true]);
    expect(fake.countRequests('core_user_create_users')).toBe(1);
    const ada = fake.site.users.get(Number((results[0] as { id: string }).id));
    expect(ada).toMatchObject({ username: 'ada.lovelacehr@example.com', email: 'Ada.Lovelace+hr@Example.com', department: 'Maths', password: '' });
    expect(ada?.preferences.get('auth_forcepasswordchange')).toBe('1');
    expect(Object.fromEntries(ada?.profile ?? [])).toEqual({ costcentre: 'CC-1' });
    expect(fake.site.users.get(Number((results[1] as { id: string }).id))).toMatchObject({ username: 'bbyte', auth: 'oauth2' });
  });

  it('isolates the one refused user of a batch by halving it, and creates all the others', async () => {
    person(99, { email: 'taken@example.com' });
    const users = await open();
    const ops = Array.from({ length: 8 }, (_, n) => ({ kind: 'create' as const, fields: { firstname: 'New', lastname: `Person ${n}`, email: n === 5 ? 'TAKEN@example.com' : `new${n}@example.com` }, tag: `t${n}` }));
    const results = await users.write(ops);
    expect(results.filter((result) => result.ok)).toHaveLength(7);
    // Production sites give no detail: the message names the usual causes.
    expectRefused(results[5], /Moodle refused to create user "taken@example.com": invalid_parameter_exception \(invalidparameter\): Invalid parameter value detected — the site's debugging is off.*email another account has/);
    // 8 → 4 + 4 → the failing half → 2 + 2 → 1 + 1: one call for the batch, two per level down to the record.
    expect(fake.countRequests('core_user_create_users')).toBe(7);
    expect([...fake.site.users.values()].filter((user) => user.lastname.startsWith('Person '))).toHaveLength(7);
  });

  it('gives Moodle’s own reason when the site shows debugging information', async () => {
    fake.site.config.debug = 'normal';
    person(99, { email: 'taken@example.com' });
    const users = await open();
    const [result] = await users.write([{ kind: 'create', fields: { firstname: 'A', lastname: 'B', email: 'taken@example.com' }, tag: 't' }]);
    expectRefused(result, 'Email address already exists: taken@example.com');
  });

  it('stays within PHP’s max_input_vars, however many users a write carries', async () => {
    fake.site.config.maxInputVars = 1000;
    const users = await open();
    const results = await users.write(Array.from({ length: 150 }, (_, n) => ({ kind: 'create' as const, fields: { firstname: 'Bulk', lastname: `User ${n}`, email: `bulk${n}@example.com`, department: 'Imports', idnumber: `B${n}` }, tag: `t${n}` })));
    expect(results.every((result) => result.ok)).toBe(true);
    expect(Math.max(...fake.requests.filter((entry) => entry.wsfunction === 'core_user_create_users').map((entry) => entry.inputVars))).toBeLessThanOrEqual(1000);
    expect(fake.countRequests('core_user_create_users')).toBeGreaterThan(1);
  });

  it('refuses what Moodle would refuse or silently change, before sending', async () => {
    const ada = person(1);
    const users = await open();
    const results = await users.write([
      { kind: 'create', fields: { firstname: 'No', lastname: 'Email' }, tag: 't1' },
      { kind: 'update', id: String(ada.id), fields: { username: 'Ada.Upper' }, tag: 't2', expectedVersion: null },
      { kind: 'update', id: String(ada.id), fields: { firstname: null }, tag: 't3', expectedVersion: null },
      { kind: 'update', id: String(ada.id), fields: { customfields: { unknown: 'x' } }, tag: 't4', expectedVersion: null },
      { kind: 'update', id: String(ada.id), fields: { timemodified: 5 }, tag: 't5', expectedVersion: null },
    ]);
    expectRefused(results[0], 'email is required to create a Moodle user');
    expectRefused(results[1], 'Moodle keeps usernames in lower case');
    expectRefused(results[2], 'firstname: every Moodle user has one');
    expectRefused(results[3], 'customfields.unknown is not among connection.profileFields');
    expectRefused(results[4], 'timemodified is not a field of Moodle users');
    expect(fake.countRequests('core_user_update_users')).toBe(0);
  });

  it('updates in one call, reads Moodle’s warnings per user, and merges custom fields', async () => {
    const ada = person(1, { profile: { costcentre: 'CC-1', site: 'Leeds' } });
    const bob = person(2);
    const users = await open({ profileFields: ['costcentre', 'site'] });
    const results = await users.write([
      { kind: 'update', id: String(ada.id), fields: { department: 'Physics', customfields: { costcentre: 'CC-2' } }, tag: 't1', expectedVersion: null },
      { kind: 'update', id: String(bob.id), fields: { email: 'user1@example.com' }, tag: 't2', expectedVersion: null },
      { kind: 'update', id: '987654', fields: { department: 'Nowhere' }, tag: 't3', expectedVersion: null },
      { kind: 'update', id: String(ada.id), fields: { customfields: { site: null } }, tag: 't4', expectedVersion: null },
    ]);
    expect(results[0]).toEqual({ ok: true, id: String(ada.id), version: null });
    expectRefused(results[1], 'another account has this email address, and the site allows one account per address (useremailduplicate)');
    expect(results[2]).toEqual({ ok: false, reason: 'missing' });
    expect(results[3]).toMatchObject({ ok: true });
    // Two updates of one user go out in order, in two calls.
    expect(fake.countRequests('core_user_update_users')).toBe(2);
    expect(Object.fromEntries(fake.site.users.get(ada.id)?.profile ?? [])).toEqual({ costcentre: 'CC-2', site: '' });
    const [read] = (await users.getMany([String(ada.id)])).values();
    expect(read?.fields).toMatchObject({ department: 'Physics', customfields: { costcentre: 'CC-2', site: null } });
  });

  it('suspends a new account created as suspended, right after creating it', async () => {
    const users = await open();
    const [result] = await users.write([{ kind: 'create', fields: { firstname: 'Gone', lastname: 'Already', email: 'gone@example.com', suspended: true }, tag: 't' }]);
    expect(fake.site.users.get(Number((result as { id: string }).id))?.suspended).toBe(true);
  });

  it('reports the account made but incomplete when suspending it fails, so it is linked and not created twice', async () => {
    await fake.close();
    // A service that may create users but not update them: the suspension is refused after the create went through.
    const { moodleFunctionNames } = await import('../../../test/fakes/moodle/server');
    fake = await startFake({ functions: moodleFunctionNames.filter((name) => name !== 'core_user_update_users') });
    const users = await open();
    const [result] = await users.write([{ kind: 'create', fields: { firstname: 'Gone', lastname: 'Already', email: 'gone@example.com', suspended: true }, tag: 't' }]);
    const id = Number((result as { id: string }).id);
    expect(result).toMatchObject({ ok: true, id: String(id), incomplete: expect.stringMatching(new RegExp(`^user ${id} was created active and suspending it failed \\(.*core_user_update_users`)) });
    expect(fake.site.users.get(id)).toMatchObject({ email: 'gone@example.com', suspended: false });
    expect(fake.countRequests('core_user_create_users')).toBe(1);
  });
});

describe('deleting users', () => {
  it('suspends by default: the account stays, listed, closed', async () => {
    const ada = person(1);
    const users = await open();
    expect(users.capabilities.deletes).toBe('close');
    expect(await users.write([{ kind: 'delete', id: String(ada.id), expectedVersion: null }])).toEqual([{ ok: true, id: String(ada.id), version: null }]);
    expect(fake.site.users.get(ada.id)).toMatchObject({ suspended: true, deleted: false });
    expect((await listAll(users, 10)).records.find((record) => record.id === String(ada.id))?.fields.suspended).toBe(true);
    expect(fake.countRequests('core_user_delete_users')).toBe(0);
  });

  it('refuses deletes when told to', async () => {
    const ada = person(1);
    const users = await open({ userDeletes: 'refuse' });
    expect(users.capabilities.deletes).toBe('cannot');
    expectRefused((await users.write([{ kind: 'delete', id: String(ada.id), expectedVersion: null }]))[0], 'connection.userDeletes is "refuse"');
    expect(fake.site.users.get(ada.id)?.suspended).toBe(false);
  });

  it('deletes in Moodle only when told to, and a second delete finds nothing', async () => {
    const [ada, bob] = [person(1), person(2)];
    const users = await open({ userDeletes: 'delete' });
    expect(users.capabilities.deletes).toBe('remove');
    const results = await users.write([
      { kind: 'delete', id: String(ada.id), expectedVersion: null },
      { kind: 'delete', id: String(bob.id), expectedVersion: null },
    ]);
    expect(results.map((result) => result.ok)).toEqual([true, true]);
    expect(fake.site.users.get(ada.id)?.deleted).toBe(true);
    expect(await users.write([{ kind: 'delete', id: String(ada.id), expectedVersion: null }])).toEqual([{ ok: false, reason: 'missing' }]);
    expect((await listAll(users, 10)).records).toEqual([]);
  });
});

describe('what the token may do', () => {
  it('refuses to open with a token Moodle does not know, naming the credential and never the token', async () => {
    const context = contextFor(fake, 'users');
    const failure = openMoodle({ ...context, resolveCredential: async () => 'wrong-token' }, noWaiting);
    await expect(failure).rejects.toThrow('core_webservice_get_site_info: Moodle does not accept the token in credential "moodle-token"');
    await expect(failure).rejects.not.toThrow('wrong-token');
  });

  it('names the functions its service lacks before any pass, and a write function only when writing', async () => {
    fake.addToken('narrow', { userid: 2, functions: ['core_webservice_get_site_info', 'core_user_get_users_by_field'] });
    const narrow = (name: string) => (name === 'moodle-token' ? Promise.resolve('narrow') : Promise.reject(new Error(name)));
    await expect(openMoodle({ ...contextFor(fake, 'users'), resolveCredential: narrow }, noWaiting)).rejects.toThrow(
      "the token's external service lacks core_enrol_get_enrolled_users, which the users collection reads with",
    );
    fake.addToken('reader', { userid: 2, functions: ['core_webservice_get_site_info', 'core_user_get_users_by_field', 'core_enrol_get_enrolled_users'] });
    connector = await openMoodle({ ...contextFor(fake, 'users'), resolveCredential: async () => 'reader' }, noWaiting);
    const [result] = await connector.write([{ kind: 'create', fields: { firstname: 'A', lastname: 'B', email: 'ab@example.com' }, tag: 't' }]);
    expectRefused(result, "the token's external service lacks core_user_create_users");
  });

  it('fails every op of a write once Moodle refuses the token’s user a capability', async () => {
    const clerk = person(50);
    fake.addToken('clerk', { userid: clerk.id, capabilities: ['moodle/user:viewdetails', 'moodle/site:viewparticipants'] });
    const ada = person(1);
    connector = await openMoodle({ ...contextFor(fake, 'users'), resolveCredential: async () => 'clerk' }, noWaiting);
    const results = await connector.write([
      { kind: 'update', id: String(ada.id), fields: { department: 'A' }, tag: 't1', expectedVersion: null },
      { kind: 'create', fields: { firstname: 'A', lastname: 'B', email: 'ab@example.com' }, tag: 't2' },
    ]);
    for (const result of results) expectRefused(result, "the token's user lacks a capability (required_capability_exception (nopermissions)");
    expect(fake.countRequests('core_user_create_users')).toBe(0);
  });

  it('stops rather than read as empty what Moodle hides from the token’s user, and reads all with the guide’s capabilities', async () => {
    const clerk = person(50);
    const ada = person(1, { phone1: '+44 20 7946 0000' });
    const reading = ['moodle/user:viewdetails', 'moodle/user:viewalldetails', 'moodle/site:viewparticipants'];
    fake.addToken('clerk', { userid: clerk.id, capabilities: reading });
    const clerkToken = async () => 'clerk';
    connector = await openMoodle({ ...contextFor(fake, 'users'), resolveCredential: clerkToken }, noWaiting);
    // Without moodle/site:viewfullnames Moodle leaves every name out; read as empty, they would be cleared elsewhere.
    await expect(connector.getMany([String(ada.id)])).rejects.toThrow(`Moodle hides email, firstname, lastname of user ${ada.id} from the token's user`);
    await connector.close();

    // The guide's set: names, the email as an identity field, and the phones.
    fake.addToken('reader', { userid: clerk.id, capabilities: [...reading, 'moodle/site:viewfullnames', 'moodle/site:viewuseridentity', 'moodle/user:viewhiddendetails'] });
    connector = await openMoodle({ ...contextFor(fake, 'users'), resolveCredential: async () => 'reader' }, noWaiting);
    const read = (await connector.getMany([String(ada.id)])).get(String(ada.id));
    expect(read?.fields).toMatchObject({ username: 'user1', firstname: 'First1', lastname: 'Last1', email: 'user1@example.com', phone1: '+44 20 7946 0000' });
  });

  it('says web services are off, and retries a gateway error before reading', async () => {
    const users = await open();
    fake.failNextRequests(2, { status: 502 });
    person(1);
    expect((await listAll(users, 10)).records).toHaveLength(1);
    fake.site.config.restEnabled = false;
    await expect(users.listSince({ since: null, afterId: null }, 10)).rejects.toThrow('web services or the REST protocol are off on this site');
  });

  it('does not repeat a create that got no answer', async () => {
    const users = await open();
    fake.failNextRequests(1, 'drop');
    const [result] = await users.write([{ kind: 'create', fields: { firstname: 'A', lastname: 'B', email: 'ab@example.com' }, tag: 't' }]);
    expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false });
    expect((result as { message: string }).message).toContain('may or may not have been applied');
  });
});
