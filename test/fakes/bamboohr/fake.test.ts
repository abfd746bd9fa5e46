import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readReply, startReceiver, type Receiver, type ReceivedRequest, type Reply } from '../../support/http';
import { startBambooHrFake, type BambooHrFake } from './server';

// Every test talks to the fake over real HTTP with global fetch, as a connector would.

interface CallOptions {
  body?: unknown;
  /** Sent as given when a string; JSON otherwise. */
  rawBody?: string;
  accept?: string | null;
  contentType?: string;
  auth?: string | null;
}

async function call(fake: BambooHrFake, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  const accept = options.accept === undefined ? 'application/json' : options.accept;
  if (accept !== null) headers.Accept = accept;
  const auth = options.auth === undefined ? fake.authorization : options.auth;
  if (auth !== null) headers.Authorization = auth;
  let body: string | undefined;
  if (options.rawBody !== undefined || options.body !== undefined) {
    body = options.rawBody ?? JSON.stringify(options.body);
    headers['Content-Type'] = options.contentType ?? 'application/json';
  }
  const response = await fetch(`${fake.url}${path}`, { method, headers, body });
  return readReply(response);
}

const start = Date.parse('2024-06-03T12:00:00Z');
let fake: BambooHrFake;

beforeEach(async () => {
  fake = await startBambooHrFake({ clockStart: start, allowHttpWebhookTargets: true });
});

afterEach(async () => {
  await fake.close();
});

const basic = (key: string) => `Basic ${Buffer.from(`${key}:x`).toString('base64')}`;

describe('authentication and addresses', () => {
  it('takes the API key as the Basic username with any password, and refuses another key with 401 and the reason header', async () => {
    expect((await call(fake, 'GET', '/api/v1/meta/fields', { auth: `Basic ${Buffer.from('fake-api-key:anything').toString('base64')}` })).status).toBe(200);
    for (const auth of [basic('wrong-key'), null, 'Bearer fake-api-key']) {
      const reply = await call(fake, 'GET', '/api/v1/meta/fields', { auth });
      expect(reply.status).toBe(401);
      expect(reply.text).toBe('');
      expect(reply.headers.get('x-bamboohr-error-message')).toBe('Invalid API key');
    }
  });

  it('serves the legacy gateway paths for its own company only', async () => {
    expect((await call(fake, 'GET', '/api/gateway.php/acme/v1/meta/fields')).status).toBe(200);
    expect((await call(fake, 'GET', '/api/gateway.php/other/v1/meta/fields')).status).toBe(404);
  });
});

describe('content negotiation', () => {
  it('answers XML unless the request asks for JSON', async () => {
    const employee = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    for (const accept of [null, '*/*', 'application/xml', 'text/html']) {
      const reply = await call(fake, 'GET', `/api/v1/employees/${employee.id}?fields=firstName,lastName`, { accept });
      expect(reply.headers.get('content-type')).toMatch(/xml/);
      expect(reply.text).toContain(`<employee id="${employee.id}"><field id="firstName">Ada</field><field id="lastName">Lovelace</field></employee>`);
    }
    const json = await call(fake, 'GET', `/api/v1/employees/${employee.id}?fields=firstName,lastName`);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(json.json).toEqual({ id: String(employee.id), firstName: 'Ada', lastName: 'Lovelace' });
    const fields = await call(fake, 'GET', '/api/v1/meta/fields', { accept: null });
    expect(fields.text).toMatch(/^<\?xml version="1.0"\?>\n<fields><field id="1" type="text" alias="firstName">First Name<\/field>/);
  });
});

describe('fields', () => {
  it('lists standard and custom fields with id, name, type and an alias only where one exists', async () => {
    fake.addCustomField({ name: 'Shirt size', type: 'list' });
    fake.addCustomField({ name: 'Badge', type: 'text', alias: 'customBadge' });
    const reply = await call(fake, 'GET', '/api/v1/meta/fields');
    expect(reply.json).toContainEqual({ id: 1, name: 'First Name', type: 'text', alias: 'firstName' });
    expect(reply.json).toContainEqual({ id: 4000, name: 'Shirt size', type: 'list' });
    expect(reply.json).toContainEqual({ id: 4001, name: 'Badge', type: 'text', alias: 'customBadge' });
  });
});

describe('employees', () => {
  it('Get Employee: firstName,lastName by default, fields by alias or id, unknown names left out, 404 for no employee, 400 past 400 fields', async () => {
    const shirt = fake.addCustomField({ name: 'Shirt size', type: 'list' });
    const employee = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', [String(shirt.id)]: 'M' });
    expect((await call(fake, 'GET', `/api/v1/employees/${employee.id}`)).json).toEqual({ id: String(employee.id), firstName: 'Ada', lastName: 'Lovelace' });
    expect((await call(fake, 'GET', `/api/v1/employees/${employee.id}?fields=4000,nosuchfield,displayName,terminationDate,lastChanged`)).json).toEqual({
      id: String(employee.id),
      4000: 'M',
      displayName: 'Ada Lovelace',
      terminationDate: '0000-00-00',
      lastChanged: '2024-06-03T12:00:00+00:00',
    });
    const missing = await call(fake, 'GET', '/api/v1/employees/9999');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-bamboohr-error-message')).toBe('Employee not found');
    const many = Array.from({ length: 401 }, () => 'firstName').join(',');
    expect((await call(fake, 'GET', `/api/v1/employees/${employee.id}?fields=${many}`)).status).toBe(400);
  });

  it('Create Employee: 201 with no body and the id in Location; first and last name required; 406 unknown field; 409 duplicate email or bad value', async () => {
    const created = await call(fake, 'POST', '/api/v1/employees', { body: { firstName: 'Grace', lastName: 'Hopper', workEmail: 'grace@example.com', hireDate: '2024-06-01' } });
    expect(created.status).toBe(201);
    expect(created.text).toBe('');
    const id = Number(/id=(\d+)/.exec(created.headers.get('location') ?? '')?.[1]);
    expect(fake.employee(id)).toMatchObject({ firstName: 'Grace', status: 'Active', hireDate: '2024-06-01' });

    const noName = await call(fake, 'POST', '/api/v1/employees', { body: { firstName: 'Only' } });
    expect(noName.status).toBe(400);
    expect(noName.headers.get('x-bamboohr-error-message')).toMatch(/firstName and lastName/);
    expect((await call(fake, 'POST', '/api/v1/employees', { body: { firstName: 'A', lastName: 'B', shoeSize: 44 } })).status).toBe(406);
    const duplicate = await call(fake, 'POST', '/api/v1/employees', { body: { firstName: 'G', lastName: 'H', workEmail: 'GRACE@example.com' } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.headers.get('x-bamboohr-error-message')).toMatch(/Duplicate email/);
    expect((await call(fake, 'POST', '/api/v1/employees', { body: { firstName: 'A', lastName: 'B', hireDate: '06/01/2024' } })).status).toBe(409);
    expect((await call(fake, 'POST', '/api/v1/employees', { rawBody: '{"firstName":', contentType: 'application/json' })).status).toBe(400);
  });

  it('Update Employee: only the fields sent change, 200 with no body, lastChanged moves; 404 for no employee', async () => {
    const employee = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', department: 'Research' });
    fake.clock.advance(5);
    const updated = await call(fake, 'POST', `/api/v1/employees/${employee.id}`, { body: { department: 'Engineering', preferredName: null } });
    expect(updated.status).toBe(200);
    expect(updated.text).toBe('');
    expect(fake.employee(employee.id)).toMatchObject({ firstName: 'Ada', department: 'Engineering', preferredName: null, lastChanged: '2024-06-03T12:00:05+00:00' });
    expect((await call(fake, 'POST', '/api/v1/employees/9999', { body: { firstName: 'X' } })).status).toBe(404);
  });

  it('a checkbox is checked only by "yes" or "checkbox" (any case); anything else, JSON true included, unchecks it', async () => {
    const remote = fake.addCustomField({ name: 'Remote', type: 'checkbox', alias: 'customRemote' });
    const employee = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    const read = async () => (await call(fake, 'GET', `/api/v1/employees/${employee.id}?fields=customRemote,${remote.id}`)).json;
    expect(await read()).toEqual({ id: String(employee.id), customRemote: null, [remote.id]: null });
    for (const [written, stored] of [['YES', 'yes'], [true, 'no'], ['checkbox', 'yes'], ['true', 'no'], ['Checkbox', 'yes'], [null, 'no'], [1, 'no']] as const) {
      const reply = await call(fake, 'POST', `/api/v1/employees/${employee.id}`, { body: { customRemote: written } });
      expect(reply.status, String(written)).toBe(200);
      expect((await read()).customRemote, String(written)).toBe(stored);
    }
  });

  it('a bool field takes true or false (text in any case, or JSON) and reads "true"/"false"; another value is refused with 409', async () => {
    const field = fake.addCustomField({ name: 'Eligible for rehire', type: 'bool', alias: 'customRehire' });
    const employee = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    const read = async () => (await call(fake, 'GET', `/api/v1/employees/${employee.id}?fields=customRehire,${field.id}`)).json;
    expect(await read()).toEqual({ id: String(employee.id), customRehire: null, [field.id]: null });
    for (const [written, stored] of [['TRUE', 'true'], [false, 'false'], [true, 'true'], ['false', 'false'], [null, null]] as const) {
      const reply = await call(fake, 'POST', `/api/v1/employees/${employee.id}`, { body: { customRehire: written } });
      expect(reply.status, String(written)).toBe(200);
      expect((await read()).customRehire, String(written)).toBe(stored);
    }
    const refused = await call(fake, 'POST', `/api/v1/employees/${employee.id}`, { body: { customRehire: 'yes' } });
    expect([refused.status, refused.headers.get('x-bamboohr-error-message')]).toEqual([409, 'Invalid value for customRehire: "yes" is not true or false']);
  });

  it('keeps a terminated employee, Inactive, readable and in reports; changed lists the termination as an update', async () => {
    const employee = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    fake.clock.advance(60);
    fake.terminate(employee.id, '2024-06-03');
    const read = await call(fake, 'GET', `/api/v1/employees/${employee.id}?fields=status,employmentHistoryStatus,terminationDate`);
    expect(read.json).toEqual({ id: String(employee.id), status: 'Inactive', employmentHistoryStatus: 'Terminated', terminationDate: '2024-06-03' });
    const changed = await call(fake, 'GET', '/api/v1/employees/changed?since=2024-06-03T12:00:30Z');
    expect(changed.json.employees).toEqual({ [employee.id]: { id: String(employee.id), action: 'Updated', lastChanged: '2024-06-03T12:01:00+00:00' } });
    const report = await call(fake, 'POST', '/api/v1/reports/custom?format=JSON', { body: { fields: ['status'] } });
    expect(report.json.employees).toEqual([{ id: String(employee.id), status: 'Inactive' }]);
  });
});

describe('Get Changed Employee IDs', () => {
  it('lists employees changed at or after since, with Inserted, Updated and Deleted, and the latest time', async () => {
    const a = fake.hire({ firstName: 'A', lastName: 'One' });
    fake.clock.advance(10);
    const b = fake.hire({ firstName: 'B', lastName: 'Two' });
    const c = fake.hire({ firstName: 'C', lastName: 'Three' });
    fake.clock.advance(10);
    fake.edit(b.id, { department: 'Sales' });
    fake.deleteEmployee(c.id);
    const reply = await call(fake, 'GET', '/api/v1/employees/changed?since=2024-06-03T12:00:10Z');
    expect(reply.json).toEqual({
      latest: '2024-06-03T12:00:20+00:00',
      employees: {
        [b.id]: { id: String(b.id), action: 'Updated', lastChanged: '2024-06-03T12:00:20+00:00' },
        [c.id]: { id: String(c.id), action: 'Deleted', lastChanged: '2024-06-03T12:00:20+00:00' },
      },
    });
    expect(Object.keys((await call(fake, 'GET', '/api/v1/employees/changed?since=2024-06-03')).json.employees).sort()).toEqual([String(a.id), String(b.id), String(c.id)].sort());
    expect(Object.keys((await call(fake, 'GET', '/api/v1/employees/changed?since=2024-06-03T12:00:00%2B00:00&type=deleted')).json.employees)).toEqual([String(c.id)]);
    expect(Object.keys((await call(fake, 'GET', '/api/v1/employees/changed?since=2024-06-03T14:00:00%2B0200&type=inserted')).json.employees)).toEqual([String(a.id)]);
    const xml = await call(fake, 'GET', '/api/v1/employees/changed?since=2024-06-03T12:00:20Z', { accept: null });
    expect(xml.text).toContain(`<employees latest="2024-06-03T12:00:20+00:00"><employee id="${c.id}" action="Deleted" lastChanged="2024-06-03T12:00:20+00:00"/>`);
  });

  it('refuses a missing or malformed since, an unencoded +, and an unknown type, with 400', async () => {
    for (const query of ['', '?since=yesterday', '?since=2024-06-03T12:00:00+00:00', '?since=2024-06-03T12:00:00Z&type=hired']) {
      const reply = await call(fake, 'GET', `/api/v1/employees/changed${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.headers.get('x-bamboohr-error-message')).toBeTruthy();
    }
  });

  it('shows a change only after the configured lag', async () => {
    fake.setChangedLag(30);
    fake.hire({ firstName: 'Late', lastName: 'Comer' });
    expect((await call(fake, 'GET', '/api/v1/employees/changed?since=2024-06-03T11:00:00Z')).json.employees).toEqual({});
    fake.clock.advance(30);
    expect(Object.keys((await call(fake, 'GET', '/api/v1/employees/changed?since=2024-06-03T11:00:00Z')).json.employees)).toHaveLength(1);
  });
});

describe('Request Custom Report', () => {
  it('reports the requested fields of every employee, Active and Inactive, unknown fields left out, empty dates as 0000-00-00', async () => {
    const a = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', standardHoursPerWeek: 40 });
    const b = fake.hire({ firstName: 'Grace', lastName: 'Hopper', hireDate: '2024-01-15' });
    fake.terminate(b.id, '2024-05-31');
    const reply = await call(fake, 'POST', '/api/v1/reports/custom?format=json', { body: { title: 'All', fields: ['firstName', 'nosuch', 'standardHoursPerWeek', 'terminationDate', 'lastChanged'] } });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({
      title: 'All',
      fields: [
        { id: 'firstName', type: 'text', name: 'First Name' },
        { id: 'standardHoursPerWeek', type: 'integer', name: 'Standard Hours Per Week' },
        { id: 'terminationDate', type: 'date', name: 'Termination Date' },
        { id: 'lastChanged', type: 'timestamp', name: 'Last Changed' },
      ],
      employees: [
        { id: String(a.id), firstName: 'Ada', standardHoursPerWeek: '40', terminationDate: '0000-00-00', lastChanged: '2024-06-03T12:00:00+00:00' },
        { id: String(b.id), firstName: 'Grace', standardHoursPerWeek: null, terminationDate: '2024-05-31', lastChanged: '2024-06-03T12:00:00+00:00' },
      ],
    });
  });

  it('filters by employee ids and by lastChanged', async () => {
    const a = fake.hire({ firstName: 'A', lastName: 'One' });
    fake.clock.advance(60);
    const b = fake.hire({ firstName: 'B', lastName: 'Two' });
    const ids = await call(fake, 'POST', '/api/v1/reports/custom?format=JSON', { body: { fields: ['firstName'], filters: { employeeIds: [a.id, 9999] } } });
    expect(ids.json.employees).toEqual([{ id: String(a.id), firstName: 'A' }]);
    const changed = await call(fake, 'POST', '/api/v1/reports/custom?format=JSON', { body: { fields: ['firstName'], filters: { lastChanged: { value: '2024-06-03T12:00:30+00:00' } } } });
    expect(changed.json.employees).toEqual([{ id: String(b.id), firstName: 'B' }]);
  });

  it('reads JSON only with Content-Type exactly application/json: with a charset the body is parsed as XML and refused', async () => {
    fake.hire({ firstName: 'A', lastName: 'One' });
    const reply = await call(fake, 'POST', '/api/v1/reports/custom?format=JSON', { body: { fields: ['firstName'] }, contentType: 'application/json; charset=UTF-8' });
    expect(reply.status).toBe(400);
    expect(reply.headers.get('x-bamboohr-error-message')).toBe('Malformed XML');
    const xml = await call(fake, 'POST', '/api/v1/reports/custom?format=XML', { rawBody: '<report><fields><field id="firstName"/></fields></report>', contentType: 'text/xml' });
    expect(xml.status).toBe(200);
    expect(xml.text).toContain('<employee id="40"><field id="firstName">A</field></employee>');
  });

  it('takes its format from ?format, else from an exact Accept, else answers 404', async () => {
    const body = { fields: ['firstName'] };
    expect((await call(fake, 'POST', '/api/v1/reports/custom', { body, accept: 'application/json' })).json).toMatchObject({ employees: [] });
    expect((await call(fake, 'POST', '/api/v1/reports/custom', { body, accept: 'text/xml' })).text).toContain('<report>');
    for (const accept of ['application/xml', '*/*', 'application/json, text/plain']) expect((await call(fake, 'POST', '/api/v1/reports/custom', { body, accept })).status, accept).toBe(404);
    expect((await call(fake, 'POST', '/api/v1/reports/custom?format=bogus', { body })).status).toBe(404);
    expect((await call(fake, 'POST', '/api/v1/reports/custom?format=JSON', { body: { fields: Array.from({ length: 401 }, (_, i) => `f${i}`) } })).status).toBe(400);
  });
});

describe('effective-dated tables', () => {
  it('a job information row dated three days ahead: reads keep the current title until that day, onlyCurrent=false shows it, and only its entry is a change', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', jobTitle: 'Engineer', department: 'Research' });
    fake.clock.advance(60);
    fake.enterRow(ada.id, 'jobInfo', { date: '2024-06-06', jobTitle: 'Director', department: 'Research' });
    const read = async (query = '') => (await call(fake, 'GET', `/api/v1/employees/${ada.id}?fields=jobTitle,department,lastChanged${query}`)).json;
    const reported = async (query: string) => (await call(fake, 'POST', `/api/v1/reports/custom?format=JSON${query}`, { body: { fields: ['jobTitle'] } })).json.employees;
    expect(await read()).toEqual({ id: String(ada.id), jobTitle: 'Engineer', department: 'Research', lastChanged: '2024-06-03T12:01:00+00:00' });
    expect(await read('&onlyCurrent=false')).toMatchObject({ jobTitle: 'Director' });
    expect(await reported('&onlyCurrent=true')).toEqual([{ id: String(ada.id), jobTitle: 'Engineer' }]);
    expect(await reported('&onlyCurrent=false')).toEqual([{ id: String(ada.id), jobTitle: 'Director' }]);
    // Entering the row is the change: Get Changed Employee IDs lists Ada at that time.
    expect((await call(fake, 'GET', '/api/v1/employees/changed?since=2024-06-03T12:00:30Z')).json.employees).toEqual({ [ada.id]: { id: String(ada.id), action: 'Updated', lastChanged: '2024-06-03T12:01:00+00:00' } });

    fake.clock.set(Date.parse('2024-06-05T23:59:59Z'));
    expect(await read()).toMatchObject({ jobTitle: 'Engineer' });
    fake.clock.set(Date.parse('2024-06-06T00:00:00Z'));
    // The date arriving is no change: the title reads the new row, lastChanged stays, nothing is listed as changed.
    expect(await read()).toEqual({ id: String(ada.id), jobTitle: 'Director', department: 'Research', lastChanged: '2024-06-03T12:01:00+00:00' });
    expect((await call(fake, 'GET', '/api/v1/employees/changed?since=2024-06-03T12:01:01Z')).json.employees).toEqual({});
  });

  it('a termination dated ahead leaves the employee Active until that day, then Inactive and Terminated', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    fake.terminate(ada.id, '2024-06-10');
    const read = async () => (await call(fake, 'GET', `/api/v1/employees/${ada.id}?fields=status,employmentHistoryStatus,terminationDate`)).json;
    expect(await read()).toEqual({ id: String(ada.id), status: 'Active', employmentHistoryStatus: 'Full-Time', terminationDate: '0000-00-00' });
    fake.clock.set(Date.parse('2024-06-10T00:00:00Z'));
    expect(await read()).toEqual({ id: String(ada.id), status: 'Inactive', employmentHistoryStatus: 'Terminated', terminationDate: '2024-06-10' });
  });

  it('Get Employee Table Data lists every row of one employee or of all, future ones included; a job field updated enters a row dated today; 404 for no such table', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', hireDate: '2024-01-15', jobTitle: 'Engineer' });
    const bob = fake.hire({ firstName: 'Bob', lastName: 'Builder' });
    fake.enterRow(ada.id, 'jobInfo', { date: '2024-07-01', jobTitle: 'Director', department: 'Research' });
    expect((await call(fake, 'POST', `/api/v1/employees/${bob.id}`, { body: { department: 'Sales' } })).status).toBe(200);
    const row = (employee: number, date: string, values: Record<string, string>) => ({ id: expect.any(String), employeeId: String(employee), date, location: null, division: null, department: null, jobTitle: null, reportsTo: null, ...values });
    expect((await call(fake, 'GET', `/api/v1/employees/${ada.id}/tables/jobInfo`)).json).toEqual([row(ada.id, '2024-07-01', { jobTitle: 'Director', department: 'Research' }), row(ada.id, '2024-01-15', { jobTitle: 'Engineer' })]);
    expect((await call(fake, 'GET', '/api/v1/employees/all/tables/jobInfo')).json).toEqual([
      row(ada.id, '2024-07-01', { jobTitle: 'Director', department: 'Research' }),
      row(ada.id, '2024-01-15', { jobTitle: 'Engineer' }),
      row(bob.id, '2024-06-03', { department: 'Sales' }),
    ]);
    expect((await call(fake, 'GET', '/api/v1/employees/all/tables/employmentStatus')).json).toEqual([
      { id: expect.any(String), employeeId: String(ada.id), date: '2024-01-15', employmentStatus: 'Full-Time' },
      { id: expect.any(String), employeeId: String(bob.id), date: '2024-06-03', employmentStatus: 'Full-Time' },
    ]);
    const xml = await call(fake, 'GET', `/api/v1/employees/${bob.id}/tables/jobInfo`, { accept: null });
    expect(xml.text).toMatch(new RegExp(`<table><row id="\\d+" employeeId="${bob.id}"><field id="date">2024-06-03</field><field id="location"></field>`));
    for (const path of ['/api/v1/employees/all/tables/nosuch', '/api/v1/employees/9999/tables/jobInfo']) expect((await call(fake, 'GET', path)).status, path).toBe(404);
  });

  it('Get Changed Employee Table Data lists the employees changed since then, each with all its rows and its lastChanged', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', jobTitle: 'Engineer' });
    fake.hire({ firstName: 'Bob', lastName: 'Builder', jobTitle: 'Clerk' });
    fake.clock.advance(60);
    fake.enterRow(ada.id, 'jobInfo', { date: '2024-06-06', jobTitle: 'Director' });
    const reply = await call(fake, 'GET', '/api/v1/employees/changed/tables/jobInfo?since=2024-06-03T12:00:30Z');
    const row = (date: string, jobTitle: string) => ({ date, location: null, division: null, department: null, jobTitle, reportsTo: null });
    expect(reply.json).toEqual({ table: 'jobInfo', employees: { [ada.id]: { lastChanged: '2024-06-03T12:01:00Z', rows: [row('2024-06-06', 'Director'), row('2024-06-03', 'Engineer')] } } });
    const xml = await call(fake, 'GET', '/api/v1/employees/changed/tables/jobInfo?since=2024-06-03T12:00:30Z', { accept: null });
    expect(xml.text).toContain(`<table id="jobInfo"><employee id="${ada.id}" lastChanged="2024-06-03T12:01:00Z"><row><field id="date">2024-06-06</field>`);
    expect((await call(fake, 'GET', '/api/v1/employees/changed/tables/jobInfo?since=yesterday')).status).toBe(400);
    expect((await call(fake, 'GET', '/api/v1/employees/changed/tables/nosuch?since=2024-06-03T12:00:30Z')).status).toBe(404);
  });
});

describe('throttling', () => {
  it('answers 503 with Retry-After past the configured rate, until the window turns', async () => {
    fake.setRateLimit({ requests: 2, perSeconds: 60 });
    fake.clock.set(Date.parse('2024-06-03T12:00:15Z'));
    expect((await call(fake, 'GET', '/api/v1/meta/fields')).status).toBe(200);
    expect((await call(fake, 'GET', '/api/v1/meta/fields')).status).toBe(200);
    const throttled = await call(fake, 'GET', '/api/v1/meta/fields');
    expect(throttled.status).toBe(503);
    expect(throttled.headers.get('retry-after')).toBe('45');
    fake.clock.advance(45);
    expect((await call(fake, 'GET', '/api/v1/meta/fields')).status).toBe(200);
  });

  it('answers 429 instead where set, as BambooHR does from September 2026; a forced 503 may carry no Retry-After', async () => {
    fake.failNextRequests(1, { status: 429, retryAfter: 7 });
    const limited = await call(fake, 'GET', '/api/v1/meta/fields');
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '7']);
    fake.failNextRequests(1, { retryAfter: null });
    const down = await call(fake, 'GET', '/api/v1/meta/fields');
    expect([down.status, down.headers.get('retry-after')]).toEqual([503, null]);
    expect((await call(fake, 'GET', '/api/v1/meta/fields')).status).toBe(200);
  });

  it('refuses a hire past the employee limit with 429 and no Retry-After', async () => {
    const small = await startBambooHrFake({ clockStart: start, employeeLimit: 1 });
    try {
      expect((await call(small, 'POST', '/api/v1/employees', { body: { firstName: 'A', lastName: 'B' } })).status).toBe(201);
      const refused = await call(small, 'POST', '/api/v1/employees', { body: { firstName: 'C', lastName: 'D' } });
      expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, null]);
    } finally {
      await small.close();
    }
  });
});

describe('webhooks', () => {
  let receiver: Receiver;
  let received: ReceivedRequest[];
  let target: string;

  beforeEach(async () => {
    received = [];
    receiver = await startReceiver((request) => {
      received.push(request);
      return 200;
    });
    target = `${receiver.origin}/hook`;
  });

  afterEach(async () => {
    await receiver.close();
  });

  it('creates a webhook with a private key shown once, lists, shows and deletes it', async () => {
    const created = await call(fake, 'POST', '/api/v1/webhooks', { body: { name: 'Sync', url: target, format: 'json', events: ['employee.created'] } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ id: '1', name: 'Sync', url: target, format: 'json', events: ['employee.created'], monitorFields: null, created: '2024-06-03 12:00:00', lastSent: null });
    expect(created.json.privateKey).toMatch(/^[0-9a-f]{64}$/);
    expect((await call(fake, 'GET', '/api/v1/webhooks/1')).json).not.toHaveProperty('privateKey');
    expect((await call(fake, 'GET', '/api/v1/webhooks')).json).toEqual({ webhooks: [{ id: '1', name: 'Sync', created: '2024-06-03 12:00:00', lastSent: null, url: target }] });
    const deleted = await call(fake, 'DELETE', '/api/v1/webhooks/1');
    expect([deleted.status, deleted.text]).toEqual([200, 'Web hook has been deleted.']);
    expect((await call(fake, 'GET', '/api/v1/webhooks/1')).json).toEqual({ errors: [{ error: 'No webhook was found with ID: 1.' }] });
  });

  it('updates a webhook in place as a full replacement, keeping its private key: deliveries follow the new fields, signed as before', async () => {
    const created = await call(fake, 'POST', '/api/v1/webhooks', {
      body: { name: 'Sync', url: target, format: 'json', events: ['employee.created', 'employee.updated'], monitorFields: ['firstName'], postFields: { firstName: 'First' }, includeCompanyDomain: true },
    });
    const privateKey = created.json.privateKey as string;
    const updated = await call(fake, 'PUT', '/api/v1/webhooks/1', { body: { name: 'Sync', url: target, format: 'json', events: ['employee.updated'], monitorFields: ['department'] } });
    expect(updated.status).toBe(200);
    // Omitted optional fields revert to their defaults; the key is neither changed nor shown.
    expect(updated.json).toEqual({ id: '1', name: 'Sync', created: '2024-06-03 12:00:00', lastSent: null, monitorFields: ['department'], postFields: {}, url: target, format: 'json', includeCompanyDomain: false, events: ['employee.updated'] });
    expect(fake.webhooks.privateKey('1')).toBe(privateKey);

    const employee = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', department: 'Research' });
    fake.edit(employee.id, { firstName: 'Augusta' });
    fake.edit(employee.id, { department: 'Engineering' });
    await fake.webhooks.idle();
    expect(received.map((entry) => JSON.parse(entry.body).data.changedFields)).toEqual([['department'], ['department']]);
    for (const entry of received) expect(entry.headers['x-bamboohr-signature']).toBe(createHmac('sha256', privateKey).update(entry.body + (entry.headers['x-bamboohr-timestamp'] as string)).digest('hex'));

    expect((await call(fake, 'PUT', '/api/v1/webhooks/9', { body: { name: 'x', url: target, format: 'json', events: ['employee.created'] } })).json).toEqual({ errors: [{ error: 'No webhook was found with ID: 9.' }] });
    const refused = await call(fake, 'PUT', '/api/v1/webhooks/1', { body: { name: 'Sync', url: target, format: 'json', events: ['employee.updated'], monitorFields: ['terminationDate'] } });
    expect(refused.status).toBe(403);
    expect((await call(fake, 'GET', '/api/v1/webhooks/1')).json).toMatchObject({ monitorFields: ['department'], events: ['employee.updated'] });
  });

  it('refuses a webhook without format, with a plain http URL, without monitor fields for updates, or mixing event kinds', async () => {
    const strict = await startBambooHrFake({ clockStart: start });
    try {
      const reply = await call(strict, 'POST', '/api/v1/webhooks', { body: { name: 'x', url: 'http://example.com/hook', events: ['employee.updated', 'employee_with_fields.created'] } });
      expect(reply.status).toBe(400);
      expect(reply.json.errors[0].issues).toEqual([
        'url must begin with https://',
        'format is required',
        'cannot mix employee_with_fields events with employee events',
        'monitorFields is required for update events',
      ]);
      const unknown = await call(strict, 'POST', '/api/v1/webhooks', { body: { name: 'x', url: 'https://example.com/hook', format: 'json', monitorFields: ['shoeSize'] } });
      expect(unknown.status).toBe(403);
      expect(unknown.json.errors[0].unknownFields).toEqual([{ id: null, name: 'shoeSize' }]);
      const unwatchable = await call(strict, 'POST', '/api/v1/webhooks', { body: { name: 'x', url: 'https://example.com/hook', format: 'json', monitorFields: ['firstName', 'terminationDate', '23'] } });
      expect(unwatchable.status).toBe(403);
      expect(unwatchable.json).toEqual({
        errors: [{ error: 'Permission denied to the following fields', monitorFields: [{ id: 16, name: 'Termination Date' }, { id: 23, name: 'Last Changed' }] }],
      });
      expect((await call(strict, 'GET', '/api/v1/webhooks')).json).toEqual({ webhooks: [] });
    } finally {
      await strict.close();
    }
  });

  it('lists the fields a webhook may monitor, by id as text, name and alias: computed fields and those kept off the list are not among them', async () => {
    fake.addCustomField({ name: 'Remote', type: 'checkbox', alias: 'customRemote' });
    fake.addCustomField({ name: 'Salary band', type: 'list', monitorable: false });
    const listed = (await call(fake, 'GET', '/api/v1/webhooks/monitor_fields')).json.fields as Array<{ id: string; name: string; alias: string | null }>;
    expect(listed).toContainEqual({ id: '1', name: 'First Name', alias: 'firstName' });
    expect(listed).toContainEqual({ id: '14', name: 'Employment Status', alias: 'employmentHistoryStatus' });
    expect(listed).toContainEqual({ id: '4000', name: 'Remote', alias: 'customRemote' });
    for (const name of ['Display Name', 'Termination Date', 'Last Changed', 'Salary band']) expect(listed.map((field) => field.name)).not.toContain(name);
  });

  it('sends event-based deliveries signed over the body then the timestamp: created and updated on a hire, updated only for monitored fields, deleted', async () => {
    const created = await call(fake, 'POST', '/api/v1/webhooks', {
      body: { name: 'Sync', url: target, format: 'json', events: ['employee.created', 'employee.updated', 'employee.deleted'], monitorFields: ['firstName', 'department'] },
    });
    const privateKey = created.json.privateKey as string;
    const employee = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    fake.clock.advance(60);
    fake.edit(employee.id, { mobilePhone: '555-0100' });
    fake.edit(employee.id, { department: 'Research' });
    fake.deleteEmployee(employee.id);
    await fake.webhooks.idle();
    const bodies = received.map((entry) => JSON.parse(entry.body));
    expect(bodies).toEqual([
      { type: 'employee.created', timestamp: '2024-06-03T12:00:00+0000', data: { companyId: '12345', employeeId: String(employee.id) } },
      { type: 'employee.updated', timestamp: '2024-06-03T12:00:00+0000', data: { companyId: '12345', employeeId: String(employee.id), changedFields: ['firstName'] } },
      { type: 'employee.updated', timestamp: '2024-06-03T12:01:00+0000', data: { companyId: '12345', employeeId: String(employee.id), changedFields: ['department'] } },
      { type: 'employee.deleted', timestamp: '2024-06-03T12:01:00+0000', data: { companyId: '12345', employeeId: String(employee.id) } },
    ]);
    for (const entry of received) {
      const timestamp = entry.headers['x-bamboohr-timestamp'] as string;
      expect(timestamp).toMatch(/^\d{10}$/);
      expect(entry.headers['x-bamboohr-signature']).toBe(createHmac('sha256', privateKey).update(entry.body + timestamp).digest('hex'));
      expect(entry.headers['user-agent']).toBe('BambooHR-WebHooks/1.0 (+https://www.bamboohr.com)');
    }
  });

  it('sends employee.updated for a future-dated row on the day it takes effect, not when it is entered', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', jobTitle: 'Engineer' });
    await call(fake, 'POST', '/api/v1/webhooks', { body: { name: 'Sync', url: target, format: 'json', events: ['employee.updated'], monitorFields: ['jobTitle', 'status'] } });
    fake.enterRow(ada.id, 'jobInfo', { date: '2024-06-06', jobTitle: 'Director' });
    fake.terminate(ada.id, '2024-06-10');
    await fake.webhooks.idle();
    expect(received).toEqual([]);
    fake.clock.set(Date.parse('2024-06-06T00:00:05Z'));
    fake.clock.set(Date.parse('2024-06-10T08:00:00Z'));
    await fake.webhooks.idle();
    expect(received.map((entry) => JSON.parse(entry.body))).toEqual([
      { type: 'employee.updated', timestamp: '2024-06-06T00:00:05+0000', data: { companyId: '12345', employeeId: String(ada.id), changedFields: ['jobTitle'] } },
      { type: 'employee.updated', timestamp: '2024-06-10T08:00:00+0000', data: { companyId: '12345', employeeId: String(ada.id), changedFields: ['status'] } },
    ]);
  });

  it('sends field-based deliveries with the action and the post fields, and form-encoded ones where asked', async () => {
    await call(fake, 'POST', '/api/v1/webhooks', { body: { name: 'Fields', url: target, format: 'json', monitorFields: ['department'], postFields: { department: 'Dept', firstName: 'First' } } });
    await call(fake, 'POST', '/api/v1/webhooks', { body: { name: 'Form', url: target, format: 'form-encoded', events: ['employee.deleted'] } });
    const employee = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    fake.edit(employee.id, { department: 'Research' });
    fake.deleteEmployee(employee.id);
    await fake.webhooks.idle();
    const json = received.filter((entry) => entry.headers['content-type'] === 'application/json').map((entry) => JSON.parse(entry.body));
    expect(json).toEqual([
      { employees: [{ id: String(employee.id), action: 'Created', timestamp: '2024-06-03T12:00:00+0000', changedFields: [], fields: {} }] },
      { employees: [{ id: String(employee.id), action: 'Updated', timestamp: '2024-06-03T12:00:00+0000', changedFields: ['Department'], fields: { Dept: 'Research', First: 'Ada' } }] },
      { employees: [{ id: String(employee.id), action: 'Deleted', timestamp: '2024-06-03T12:00:00+0000', changedFields: [], fields: {} }] },
    ]);
    const form = received.find((entry) => entry.headers['content-type'] === 'application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(form?.body))).toEqual({ type: 'employee.deleted', timestamp: '2024-06-03T12:00:00+0000', 'data[companyId]': '12345', 'data[employeeId]': String(employee.id) });
  });
});
