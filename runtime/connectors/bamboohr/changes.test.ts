import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BambooHrFake } from '../../../test/fakes/bamboohr/server';
import type { Connector, ListPage, ListPosition, SourceRecord } from '../types';
import { idsPerReport } from './changes';
import { forgetEffectiveDates } from './effective';
import { contextFor, fakeTime, startFake } from './fakeCompany';
import { openBambooHr } from './index';

// Listing employees: one custom report for the first listing, Get Changed Employee IDs and a report of those
// employees afterwards, read from a little before the cursor so ties within a second and late changes are not lost.

let fake: BambooHrFake;
let connector: Connector;
const start: ListPosition = { since: null, afterId: null };

beforeEach(async () => {
  fake = await startFake();
  connector = await openBambooHr(contextFor(fake, { fields: ['firstName', 'lastName', 'department', 'status', 'employmentHistoryStatus', 'terminationDate', 'standardHoursPerWeek'] }), fakeTime(fake));
});

afterEach(async () => {
  await connector.close();
  await fake.close();
});

async function listAll(from: ListPosition, limit = 100): Promise<{ records: SourceRecord[]; pages: ListPage[] }> {
  const pages: ListPage[] = [];
  let position: ListPosition | null = from;
  while (position) {
    const page = await connector.listSince(position, limit);
    pages.push(page);
    position = page.next;
  }
  return { records: pages.flatMap((page) => page.records), pages };
}

const newest = (records: SourceRecord[]): ListPosition => ({ since: records.at(-1)?.version ?? null, afterId: null });

describe('the first listing', () => {
  it('reads every employee, Active and Inactive, with one custom report, typed and versioned by lastChanged', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', department: 'Research', standardHoursPerWeek: 40 });
    fake.clock.advance(5);
    const grace = fake.hire({ firstName: 'Grace', lastName: 'Hopper', hireDate: '2024-01-15' });
    fake.clock.advance(5);
    fake.terminate(grace.id, '2024-05-31');
    const { records } = await listAll(start);
    expect(records).toEqual([
      {
        id: String(ada.id),
        version: '2024-06-03T12:00:00Z',
        tag: null,
        deleted: false,
        fields: { firstName: 'Ada', lastName: 'Lovelace', department: 'Research', status: 'Active', employmentHistoryStatus: 'Full-Time', terminationDate: null, standardHoursPerWeek: 40 },
      },
      {
        id: String(grace.id),
        version: '2024-06-03T12:00:10Z',
        tag: null,
        deleted: false,
        fields: { firstName: 'Grace', lastName: 'Hopper', department: null, status: 'Inactive', employmentHistoryStatus: 'Terminated', terminationDate: '2024-05-31', standardHoursPerWeek: null },
      },
    ]);
    expect(fake.requests.map((request) => request.route)).toEqual(['POST /api/v1/reports/custom']);
    const report = fake.requests[0];
    expect(report?.path).toBe('/api/v1/reports/custom?format=JSON&onlyCurrent=true');
    expect(report?.contentType).toBe('application/json');
  });

  it('pages a large company out of the one report it read', async () => {
    for (let i = 0; i < 30; i++) fake.hire({ firstName: `P${i}`, lastName: 'Person' });
    const { records, pages } = await listAll(start, 7);
    expect(records).toHaveLength(30);
    expect(pages).toHaveLength(5);
    // The tail of a multi-page listing is read once more, through the change feed.
    expect(fake.countRequests('POST /api/v1/reports/custom')).toBe(2);
    expect(fake.countRequests('GET /api/v1/employees/changed')).toBe(1);
  });
});

describe('later listings', () => {
  it('read what changed since the cursor: Get Changed Employee IDs, the changed rows of the dated tables and one report; one request when nothing changed', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    const grace = fake.hire({ firstName: 'Grace', lastName: 'Hopper' });
    fake.clock.advance(3600);
    const cursor: ListPosition = { since: '2024-06-03T12:30:00Z', afterId: null };
    expect((await listAll(cursor)).records).toEqual([]);
    // The first listing of the process also reads the rows of the tables behind department and the employment status
    // whole, for their effective dates.
    expect(fake.requests.map((request) => [request.route, request.path])).toEqual([
      // From lookbackMs before the cursor, in UTC with a Z: no `+` to escape.
      ['GET /api/v1/employees/changed', '/api/v1/employees/changed?since=2024-06-03T12%3A29%3A00Z'],
      ['GET /api/v1/employees/{id}/tables/{table}', '/api/v1/employees/all/tables/jobInfo'],
      ['GET /api/v1/employees/{id}/tables/{table}', '/api/v1/employees/all/tables/employmentStatus'],
    ]);
    fake.requests.length = 0;
    expect((await listAll(cursor)).records).toEqual([]);
    expect(fake.requests.map((request) => request.route)).toEqual(['GET /api/v1/employees/changed']);

    fake.edit(grace.id, { department: 'Navy' });
    fake.requests.length = 0;
    const changed = (await listAll(cursor)).records;
    expect(changed.map((record) => [record.id, record.version, record.fields.department])).toEqual([[String(grace.id), '2024-06-03T13:00:00Z', 'Navy']]);
    expect(fake.requests.map((request) => request.path)).toEqual([
      '/api/v1/employees/changed?since=2024-06-03T12%3A29%3A00Z',
      '/api/v1/employees/changed/tables/jobInfo?since=2024-06-03T12%3A29%3A00Z',
      '/api/v1/employees/changed/tables/employmentStatus?since=2024-06-03T12%3A29%3A00Z',
      '/api/v1/reports/custom?format=JSON&onlyCurrent=true',
    ]);
    expect(changed.map((record) => record.id)).not.toContain(String(ada.id));
  });

  it('lists a termination as a live record whose status says so, never as a delete', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    const first = (await listAll(start)).records;
    fake.clock.advance(600);
    fake.terminate(ada.id, '2024-06-03');
    const [terminated] = (await listAll(newest(first))).records;
    expect(terminated).toMatchObject({ id: String(ada.id), deleted: false, fields: { status: 'Inactive', employmentHistoryStatus: 'Terminated', terminationDate: '2024-06-03' } });
    expect((await connector.getMany([String(ada.id)])).get(String(ada.id))?.fields.status).toBe('Inactive');
  });

  it('lists an employee deleted in BambooHR as a delete, which getMany no longer finds', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    const first = (await listAll(start)).records;
    fake.clock.advance(60);
    fake.deleteEmployee(ada.id);
    expect((await listAll(newest(first))).records).toEqual([{ id: String(ada.id), version: '2024-06-03T12:01:00Z', tag: null, deleted: true, fields: {} }]);
    expect((await connector.getMany([String(ada.id)])).size).toBe(0);
  });

  it('keeps employees that tie on one second in id order, across pages, and reads them from before the cursor', async () => {
    const seeded = Array.from({ length: 5 }, (_, i) => fake.hire({ firstName: `T${i}`, lastName: 'Tie' }));
    const listed = (await listAll(start, 2)).records;
    expect(listed.map((record) => record.id)).toEqual(seeded.map((employee) => String(employee.id)));
    expect(new Set(listed.map((record) => record.version))).toEqual(new Set(['2024-06-03T12:00:00Z']));
    // Two more hired in the same second after the listing: a poll from that second sees them and the earlier ties.
    const late = [fake.hire({ firstName: 'L1', lastName: 'Late' }), fake.hire({ firstName: 'L2', lastName: 'Late' })];
    const again = (await listAll(newest(listed), 3)).records.map((record) => record.id);
    for (const employee of late) expect(again).toContain(String(employee.id));
    expect(again).toEqual([...seeded, ...late].map((employee) => String(employee.id)));
  });

  it('reaches back lookbackMs before the cursor, so a change stamped a little earlier than the newest one seen is listed', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    fake.clock.advance(60);
    fake.hire({ firstName: 'Bob', lastName: 'Later' });
    const first = (await listAll(start)).records;
    expect(newest(first).since).toBe('2024-06-03T12:01:00Z');
    // A change stamped 15 s before the cursor (another BambooHR server's clock a little behind, or a change that
    // became visible late): a listing from the cursor alone would never see it.
    fake.clock.set(Date.parse('2024-06-03T12:00:45Z'));
    fake.edit(ada.id, { department: 'Research' });
    const later = (await listAll(newest(first))).records;
    expect(later.find((record) => record.id === String(ada.id))?.fields.department).toBe('Research');
  });
});

describe('future-dated changes', () => {
  // BambooHR reads a table field (department, the employment status) from the row in effect today, and lists an
  // employee as changed when a row is entered, not when its date comes.
  const at = (time: string) => fake.clock.set(Date.parse(time));
  const listed = (records: SourceRecord[]) => records.map((record) => [record.id, record.version, record.fields.department, record.fields.status]);

  it('a move and a termination entered today, effective in three days, are listed as current once their day has come, and only then', async () => {
    // A bystander hired earlier, out of every later listing's lookback.
    fake.hire({ firstName: 'Cy', lastName: 'Bystander', department: 'Sales' });
    fake.clock.advance(120);
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', department: 'Research' });
    const bob = fake.hire({ firstName: 'Bob', lastName: 'Builder', department: 'Sales' });
    const first = (await listAll(start)).records;
    fake.clock.advance(600);
    fake.enterRow(ada.id, 'jobInfo', { date: '2024-06-06', department: 'Engineering' });
    fake.terminate(bob.id, '2024-06-06');
    // Entered today: listed as changed, with the values in effect today.
    const entered = (await listAll(newest(first))).records;
    expect(listed(entered)).toEqual([
      [String(ada.id), '2024-06-03T12:12:00Z', 'Research', 'Active'],
      [String(bob.id), '2024-06-03T12:12:00Z', 'Sales', 'Active'],
    ]);
    const cursor = newest(entered);

    // The day before: nothing new (the two come again with the lookback of the change feed, as they were).
    at('2024-06-05T23:00:00Z');
    fake.requests.length = 0;
    expect(listed((await listAll(cursor)).records)).toEqual(listed(entered));
    expect(fake.requests.map((request) => request.route)).toEqual(['GET /api/v1/employees/changed', 'POST /api/v1/reports/custom']);

    // Their day: listed again with the new values, at a version past the moment they took effect everywhere; the
    // bystander is not read.
    at('2024-06-06T12:30:00Z');
    fake.requests.length = 0;
    const effective = (await listAll(cursor)).records;
    expect(listed(effective)).toEqual([
      [String(ada.id), '2024-06-06T12:00:05Z', 'Engineering', 'Active'],
      [String(bob.id), '2024-06-06T12:00:05Z', 'Sales', 'Inactive'],
    ]);
    expect(effective[1]?.fields).toMatchObject({ employmentHistoryStatus: 'Terminated', terminationDate: '2024-06-06' });
    expect(fake.requests.map((request) => request.route)).toEqual(['GET /api/v1/employees/changed', 'POST /api/v1/reports/custom']);

    // Once the cursor has passed them, a poll costs one request again.
    fake.clock.advance(3600);
    fake.requests.length = 0;
    expect((await listAll(newest(effective))).records).toEqual([]);
    expect(fake.requests.map((request) => request.route)).toEqual(['GET /api/v1/employees/changed']);
  });

  it('after a restart, reads the tables whole and catches up on rows that took effect since the cursor', async () => {
    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', department: 'Research' });
    fake.hire({ firstName: 'Cy', lastName: 'Bystander', department: 'Sales' });
    const first = (await listAll(start)).records;
    fake.clock.advance(600);
    fake.enterRow(ada.id, 'jobInfo', { date: '2024-06-06', department: 'Engineering' });
    const cursor = newest((await listAll(newest(first))).records);

    // The runtime is down over the effective date: the process that knew the row's date is gone.
    forgetEffectiveDates();
    at('2024-06-08T09:00:00Z');
    fake.requests.length = 0;
    const caughtUp = (await listAll(cursor)).records;
    expect(listed(caughtUp)).toEqual([[String(ada.id), '2024-06-06T12:00:05Z', 'Engineering', 'Active']]);
    expect(fake.requests.map((request) => request.path)).toEqual([
      '/api/v1/employees/changed?since=2024-06-03T12%3A09%3A00Z',
      '/api/v1/employees/all/tables/jobInfo',
      '/api/v1/employees/all/tables/employmentStatus',
      '/api/v1/reports/custom?format=JSON&onlyCurrent=true',
    ]);
  });

  it('reads no table when no chosen field comes from one', async () => {
    const names = await openBambooHr(contextFor(fake, { fields: ['firstName', 'lastName'] }), fakeTime(fake));
    try {
      const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace', department: 'Research' });
      fake.enterRow(ada.id, 'jobInfo', { date: '2024-06-04', department: 'Engineering' });
      at('2024-06-05T00:00:00Z');
      await names.listSince({ since: '2024-06-04T00:00:00Z', afterId: null }, 100);
      expect(fake.requests.map((request) => request.route)).toEqual(['GET /api/v1/employees/changed']);
    } finally {
      await names.close();
    }
  });
});

describe('getMany', () => {
  it('reads the ids asked for in reports of at most idsPerReport employees, skipping ids BambooHR cannot have', async () => {
    const ids = Array.from({ length: idsPerReport + 3 }, (_, i) => String(fake.hire({ firstName: `E${i}`, lastName: 'Many' }).id));
    fake.requests.length = 0;
    const found = await connector.getMany([...ids, 'not-a-number', '0', '987654321']);
    expect(found.size).toBe(ids.length);
    expect(fake.countRequests('POST /api/v1/reports/custom')).toBe(2);
    expect(found.get(ids[0] as string)?.fields).toMatchObject({ firstName: 'E0', lastName: 'Many' });
  });
});
