import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BambooHrFake } from '../../../test/fakes/bamboohr/server';
import type { Connector } from '../types';
import { contextFor, fakeTime, startFake } from './fakeCompany';
import { openBambooHr } from './index';

// Writes as BambooHR takes them: a POST of the fields that change, no body in the answer, the version read back;
// BambooHR's refusals turned into results that say what to do.

let fake: BambooHrFake;
let connector: Connector;

beforeEach(async () => {
  fake = await startFake({ employeeLimit: 5 });
  connector = await openBambooHr(contextFor(fake, { fields: ['firstName', 'lastName', 'workEmail', 'department', 'status', 'terminationDate'] }), fakeTime(fake));
});

afterEach(async () => {
  await connector.close();
  await fake.close();
});

describe('create and update', () => {
  it('creates with the id from Location and the version read back, and updates only the fields given', async () => {
    const [created] = await connector.write([{ kind: 'create', fields: { firstName: 'Ada', lastName: 'Lovelace', workEmail: 'ada@example.com' }, tag: 't1' }]);
    expect(created).toEqual({ ok: true, id: '40', version: '2024-06-03T12:00:00Z' });
    // The field list is read once, at the first write: a field's type decides how its value is written.
    expect(fake.requests.map((request) => `${request.method} ${request.path} ${request.status}`)).toEqual(['GET /api/v1/meta/fields 200', 'POST /api/v1/employees 201', 'GET /api/v1/employees/40?fields=lastChanged 200']);
    fake.clock.advance(30);
    const [updated] = await connector.write([{ kind: 'update', id: '40', fields: { department: 'Research' }, tag: 't2', expectedVersion: '2024-06-03T12:00:00Z' }]);
    expect(updated).toEqual({ ok: true, id: '40', version: '2024-06-03T12:00:30Z' });
    expect(fake.countRequests('GET /api/v1/meta/fields')).toBe(1);
    expect(fake.employee(40)).toMatchObject({ firstName: 'Ada', workEmail: 'ada@example.com', department: 'Research' });
  });

  it('reports missing for an employee that does not exist or was deleted in BambooHR', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    fake.deleteEmployee(ada.id);
    const results = await connector.write([
      { kind: 'update', id: String(ada.id), fields: { department: 'X' }, tag: 't', expectedVersion: null },
      { kind: 'update', id: 'E-17', fields: { department: 'X' }, tag: 't', expectedVersion: null },
    ]);
    expect(results).toEqual([
      { ok: false, reason: 'missing' },
      { ok: false, reason: 'missing' },
    ]);
  });
});

describe("BambooHR's refusals", () => {
  it('a create without first and last name is refused before it is sent', async () => {
    const [result] = await connector.write([{ kind: 'create', fields: { firstName: 'Ada', workEmail: 'a@example.com' }, tag: 't' }]);
    expect(result).toEqual({ ok: false, reason: 'failed', retryable: false, message: 'BambooHR creates an employee only with a first and a last name: lastName is missing; map it from the other side' });
    expect(fake.requests.map((request) => request.route)).toEqual(['GET /api/v1/meta/fields']);
  });

  it('a duplicate work email (409), an unknown field (406) and the employee limit (429 without Retry-After) fail with BambooHR’s reason, not retryable', async () => {
    fake.hire({ firstName: 'Ada', lastName: 'Lovelace', workEmail: 'ada@example.com' });
    const results = await connector.write([
      { kind: 'create', fields: { firstName: 'Ada', lastName: 'Again', workEmail: 'ada@example.com' }, tag: 't1' },
      { kind: 'create', fields: { firstName: 'Shoe', lastName: 'Size', shoeSize: 44 }, tag: 't2' },
      { kind: 'create', fields: { firstName: 'Bad', lastName: 'Date', hireDate: 'yesterday' }, tag: 't3' },
    ]);
    expect(results[0]).toEqual({
      ok: false,
      reason: 'failed',
      retryable: false,
      message: 'POST /api/v1/employees: 409, BambooHR refused a value (a duplicate email, or a value its list does not allow) — Duplicate email: workEmail ada@example.com is already in use by another employee',
    });
    expect(results[1]).toMatchObject({ ok: false, retryable: false, message: 'POST /api/v1/employees: 406, a field does not exist in this BambooHR company — Unknown field(s): shoeSize' });
    expect(results[2]).toMatchObject({ ok: false, retryable: false, message: expect.stringContaining('409') });
    for (let i = 0; i < 4; i++) fake.hire({ firstName: `F${i}`, lastName: 'Full' });
    const [full] = await connector.write([{ kind: 'create', fields: { firstName: 'One', lastName: 'Toomany' }, tag: 't4' }]);
    expect(full).toMatchObject({ ok: false, retryable: false, message: expect.stringMatching(/429, the BambooHR account has reached its employee limit/) });
  });

  it('read-only fields and bookkeeping are refused for that op only, saying where they change', async () => {
    const ada = String(fake.hire({ firstName: 'Ada', lastName: 'Lovelace' }).id);
    const results = await connector.write([
      { kind: 'update', id: ada, fields: { terminationDate: '2024-06-30' }, tag: 't1', expectedVersion: null },
      { kind: 'update', id: ada, fields: { lastChanged: '2024-01-01T00:00:00Z' }, tag: 't2', expectedVersion: null },
      { kind: 'update', id: ada, fields: { department: ['a', 'b'] }, tag: 't3', expectedVersion: null },
      { kind: 'update', id: ada, fields: { department: 'Research' }, tag: 't4', expectedVersion: null },
    ]);
    expect(results[0]).toMatchObject({ ok: false, message: 'terminationDate is read only in BambooHR (set through the employment status table when an employee is terminated, not as a field); map it in the direction out of BambooHR only' });
    expect(results[1]).toMatchObject({ ok: false, message: expect.stringMatching(/^lastChanged is the time BambooHR last changed the employee/) });
    expect(results[2]).toMatchObject({ ok: false, message: expect.stringMatching(/^department must be text, a number, true\/false or null/) });
    expect(results[3]).toMatchObject({ ok: true, id: ada });
  });
});

describe('checkboxes', () => {
  it('reads a checkbox as true or false and writes true/false as the "yes"/"no" BambooHR takes, so true never unchecks it', async () => {
    fake.addCustomField({ name: 'Remote', type: 'checkbox', alias: 'customRemote' });
    const remote = await openBambooHr(contextFor(fake, { fields: ['firstName', 'lastName', 'customRemote'] }), fakeTime(fake));
    try {
      expect((await remote.describe())[0]?.fields).toContainEqual({ name: 'customRemote', type: 'boolean', nullable: false });
      const [created] = await remote.write([{ kind: 'create', fields: { firstName: 'Ada', lastName: 'Lovelace', customRemote: true }, tag: 't1' }]);
      const id = (created as { id: string }).id;
      expect(fake.employee(Number(id)).customRemote).toBe('yes');
      expect((await remote.getMany([id])).get(id)?.fields.customRemote).toBe(true);

      fake.clock.advance(1);
      expect(await remote.write([{ kind: 'update', id, fields: { customRemote: false }, tag: 't2', expectedVersion: null }])).toMatchObject([{ ok: true }]);
      expect(fake.employee(Number(id)).customRemote).toBe('no');
      expect((await remote.getMany([id])).get(id)?.fields.customRemote).toBe(false);

      // One never set reads unchecked, as BambooHR's screens show it.
      const grace = String(fake.hire({ firstName: 'Grace', lastName: 'Hopper' }).id);
      expect((await remote.getMany([grace])).get(grace)?.fields.customRemote).toBe(false);
    } finally {
      await remote.close();
    }
  });

  it('refuses a value a checkbox cannot take, before it is sent, rather than let BambooHR uncheck it', async () => {
    fake.addCustomField({ name: 'Remote', type: 'checkbox', alias: 'customRemote' });
    const ada = String(fake.hire({ firstName: 'Ada', lastName: 'Lovelace', customRemote: 'yes' }).id);
    const [result] = await connector.write([{ kind: 'update', id: ada, fields: { customRemote: 'sometimes' }, tag: 't', expectedVersion: null }]);
    expect(result).toEqual({
      ok: false,
      reason: 'failed',
      retryable: false,
      message: 'customRemote is a BambooHR checkbox: it takes true or false (or "yes" and "no"), not "sometimes"; BambooHR would store that as unchecked',
    });
    expect(fake.employee(Number(ada)).customRemote).toBe('yes');
    expect(fake.countRequests('POST /api/v1/employees/{id}')).toBe(0);
  });
});

describe('bool fields', () => {
  it('reads a bool field as true or false and writes true/false (or "yes"/"no") as the "true"/"false" BambooHR takes', async () => {
    fake.addCustomField({ name: 'Eligible for rehire', type: 'bool', alias: 'customRehire' });
    const rehire = await openBambooHr(contextFor(fake, { fields: ['firstName', 'lastName', 'customRehire'] }), fakeTime(fake));
    try {
      expect((await rehire.describe())[0]?.fields).toContainEqual({ name: 'customRehire', type: 'boolean', nullable: false });
      const [created] = await rehire.write([{ kind: 'create', fields: { firstName: 'Ada', lastName: 'Lovelace', customRehire: true }, tag: 't1' }]);
      const id = (created as { id: string }).id;
      expect(fake.employee(Number(id)).customRehire).toBe('true');
      expect((await rehire.getMany([id])).get(id)?.fields.customRehire).toBe(true);

      // Another system's "no" is false, not a value BambooHR would refuse.
      fake.clock.advance(1);
      expect(await rehire.write([{ kind: 'update', id, fields: { customRehire: 'no' }, tag: 't2', expectedVersion: null }])).toMatchObject([{ ok: true }]);
      expect(fake.employee(Number(id)).customRehire).toBe('false');
      expect((await rehire.getMany([id])).get(id)?.fields.customRehire).toBe(false);

      const grace = String(fake.hire({ firstName: 'Grace', lastName: 'Hopper' }).id);
      expect((await rehire.getMany([grace])).get(grace)?.fields.customRehire).toBe(false);
    } finally {
      await rehire.close();
    }
  });

  it('refuses a value a bool field cannot take, before it is sent', async () => {
    fake.addCustomField({ name: 'Eligible for rehire', type: 'bool', alias: 'customRehire' });
    const ada = String(fake.hire({ firstName: 'Ada', lastName: 'Lovelace', customRehire: 'true' }).id);
    const [result] = await connector.write([{ kind: 'update', id: ada, fields: { customRehire: 'maybe' }, tag: 't', expectedVersion: null }]);
    expect(result).toEqual({
      ok: false,
      reason: 'failed',
      retryable: false,
      message: 'customRehire is a BambooHR true/false (bool) field: it takes true or false (or "yes" and "no"), not "maybe"; BambooHR documents no other value for it',
    });
    expect(fake.employee(Number(ada)).customRehire).toBe('true');
    expect(fake.countRequests('POST /api/v1/employees/{id}')).toBe(0);
  });
});

describe('deletes and terminations', () => {
  it('declares that it cannot delete, and refuses a delete asked for anyway, leaving the employee', async () => {
    expect(connector.capabilities.deletes).toBe('cannot');
    const ada = String(fake.hire({ firstName: 'Ada', lastName: 'Lovelace' }).id);
    const [result] = await connector.write([{ kind: 'delete', id: ada, expectedVersion: null }]);
    expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringMatching(/^BambooHR's API cannot delete employees/) });
    expect(fake.company.employees.get(Number(ada))?.deleted).toBe(false);
    expect(fake.requests).toEqual([]);
  });

  it('reads a terminated employee as a live record whose status says so', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    fake.clock.advance(60);
    fake.terminate(ada.id, '2024-06-03');
    const record = (await connector.getMany([String(ada.id)])).get(String(ada.id));
    expect(record).toMatchObject({ deleted: false, version: '2024-06-03T12:01:00Z', fields: { firstName: 'Ada', status: 'Inactive', terminationDate: '2024-06-03' } });
    // A status can be written back (an Inactive employee made Active again by a flow that owns the status).
    const [reactivated] = await connector.write([{ kind: 'update', id: String(ada.id), fields: { status: 'Active' }, tag: 't', expectedVersion: null }]);
    expect(reactivated).toMatchObject({ ok: true });
    expect(fake.employee(ada.id).status).toBe('Active');
  });
});
