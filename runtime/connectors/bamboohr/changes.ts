/**
 * Reading employees: whole (a custom report) and by what changed (Get Changed Employee IDs, then a report of those
 * employees), as a change-feed source (saas/changeFeed.ts) that serves the listing.
 *
 * - Get Changed Employee IDs, `GET /api/v1/employees/changed?since=<ISO 8601>`: `{latest, employees: {"<id>": {id,
 *   action: "Inserted" | "Updated" | "Deleted", lastChanged}}}`. "A change in ANY individual field in the employee
 *   record, as well as any change to the employment status, job info, or compensation tables, will cause that
 *   employee to be returned" — a termination included. It names employees, not their fields.
 * - Request Custom Report, `POST /api/v1/reports/custom`: the chosen fields (and `lastChanged`, the version) for every
 *   employee, or for `filters.employeeIds`; "The report includes all employees regardless of status (both Active and
 *   Inactive)". One request reads any number of employees, where Get Employee reads one: a poll that finds 200 changed
 *   employees costs 2 requests this way and 201 the other, against a rate limit BambooHR does not publish. (The
 *   report is marked deprecated in favour of Datasets, which page at 1000 rows and name fields differently; it is
 *   still served, and it is the call that takes the field aliases a flow uses.)
 * - A job, employment status or compensation row dated ahead is listed when it is entered, with the values in effect
 *   that day, and nothing is listed when its date comes: effective.ts finds those employees, and the listing reads
 *   them again then.
 * - `since` is inclusive or not as BambooHR decides (undocumented), and `lastChanged` has whole seconds, so several
 *   employees share one and arrive in no order: the feed reads from `lookbackMs` before its cursor and the change
 *   feed sorts and de-duplicates. Employees whose last change is older than June 5, 2011 have no `lastChanged` ("We
 *   started recording these dates on June 5th, 2011"): their version is null.
 */
import type { FlowRecord } from '../../../nodes/types';
import { ConnectorError, type SourceRecord } from '../types';
import { compareVersions } from '../versions';
import type { BambooHrClient } from './client';
import { clockSlackMs, takingEffect } from './effective';
import { readValue } from './fields';
import { isoSeconds, isoVersion } from '../timestamps';

/** How far before its cursor a listing reads: ties within a second, and clocks a little apart. */
export const bambooLookbackMs = 60_000;
/** Employees per report when reading by id: a bound on one request's size, not a documented limit. */
export const idsPerReport = 500;

export type ChangeAction = 'Inserted' | 'Updated' | 'Deleted';

export interface ChangedEmployee {
  id: string;
  action: ChangeAction;
  /** ISO text as BambooHR wrote it. */
  lastChanged: string | null;
}

/** An employee id as BambooHR has them: a positive whole number. Anything else names no employee. */
export function employeeId(id: string): number | null {
  if (!/^[1-9]\d{0,14}$/.test(id)) return null;
  const number = Number(id);
  return Number.isSafeInteger(number) ? number : null;
}

/**
 * Every employee changed at or after `since`, as Get Changed Employee IDs lists them, and BambooHR's time of the
 * answer (its `Date` header; ours when it has none): the clock its `lastChanged` stamps are on.
 */
export async function changedEmployees(client: BambooHrClient, since: Date): Promise<{ changed: ChangedEmployee[]; answeredAt: number }> {
  const url = client.url('/api/v1/employees/changed', { since: isoSeconds(since) });
  const response = await client.request('GET', url);
  if (response.status !== 200) throw client.failure(response);
  const body = client.jsonBody(response);
  const date = Date.parse(response.headers.get('date') ?? '');
  const answeredAt = Number.isFinite(date) ? date : client.now();
  const employees = (body as { employees?: unknown } | null)?.employees;
  // The schema says a map; an empty list is read as no change too, in case an empty map is serialised as one.
  if (Array.isArray(employees) && employees.length === 0) return { changed: [], answeredAt };
  if (typeof employees !== 'object' || employees === null) throw new ConnectorError(`GET ${url.pathname}: expected an "employees" map, got ${JSON.stringify(body)?.slice(0, 120)}`);
  const changed: ChangedEmployee[] = [];
  for (const [key, entry] of Object.entries(employees as Record<string, unknown>)) {
    const { id, action, lastChanged } = (entry ?? {}) as { id?: unknown; action?: unknown; lastChanged?: unknown };
    const employee = typeof id === 'string' || typeof id === 'number' ? String(id) : key;
    if (action !== 'Inserted' && action !== 'Updated' && action !== 'Deleted') continue;
    changed.push({ id: employee, action, lastChanged: typeof lastChanged === 'string' ? lastChanged : null });
  }
  return { changed, answeredAt };
}

/**
 * The chosen fields of every employee (`ids` null) or of these employees, with `lastChanged` as the version. Ids the
 * company has no employee for are absent from the answer.
 */
export async function reportEmployees(client: BambooHrClient, fields: readonly string[], ids: readonly number[] | null): Promise<SourceRecord[]> {
  // `format=JSON` makes the answer JSON whatever the Accept header says (Request Custom Report: "If `format` is
  // omitted, the output format is inferred from the `Accept` header").
  const url = client.url('/api/v1/reports/custom', { format: 'JSON', onlyCurrent: 'true' });
  const definition = { title: 'Syncline', fields: [...fields, 'lastChanged'], ...(ids === null ? {} : { filters: { employeeIds: ids } }) };
  const body = (await client.json('POST', url, definition, { repeatable: true })) as { fields?: unknown; employees?: unknown } | null;
  if (!body || !Array.isArray(body.employees)) throw new ConnectorError(`POST ${url.pathname}: expected a report with an "employees" list`);
  const types = new Map<string, string>();
  for (const column of Array.isArray(body.fields) ? (body.fields as Array<{ id?: unknown; type?: unknown }>) : []) {
    if (typeof column?.id === 'string' && typeof column.type === 'string') types.set(column.id, column.type);
  }
  const records: SourceRecord[] = [];
  for (const row of body.employees as Array<Record<string, unknown>>) {
    const id = typeof row?.id === 'string' || typeof row?.id === 'number' ? String(row.id) : null;
    if (id === null || employeeId(id) === null) continue;
    const values: FlowRecord = {};
    // A field the report left out (unknown, or hidden from this key's user) is left out of the record too.
    for (const name of fields) if (Object.hasOwn(row, name)) values[name] = readValue(types.get(name), row[name]);
    records.push({ id, version: isoVersion(row.lastChanged), tag: null, deleted: false, fields: values });
  }
  return records;
}

/** The chosen fields of these employees, a report per {@link idsPerReport}. */
export async function reportEmployeesById(client: BambooHrClient, fields: readonly string[], ids: readonly number[]): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for (let index = 0; index < ids.length; index += idsPerReport) records.push(...(await reportEmployees(client, fields, ids.slice(index, index + idsPerReport))));
  return records;
}

/**
 * The change-feed source: every employee (one report) when `since` is null; otherwise those Get Changed Employee IDs
 * names and those whose future-dated rows took effect since the cursor (effective.ts), read in reports, and the
 * deleted ones as deletes. An employee listed as changed but absent from the report was deleted in between, and its
 * delete comes in a later listing.
 */
export async function* employeesChangedSince(client: BambooHrClient, fields: readonly string[], since: Date | null): AsyncGenerator<SourceRecord[]> {
  if (since === null) {
    yield await reportEmployees(client, fields, null);
    return;
  }
  const { changed, answeredAt } = await changedEmployees(client, since);
  // The change feed reads from bambooLookbackMs before the cursor.
  const due = await takingEffect(client, fields, { since, sinceParameter: isoSeconds(since), cursor: since.getTime() + bambooLookbackMs, now: answeredAt, changed });
  const deleted = changed.filter((entry) => entry.action === 'Deleted');
  if (deleted.length > 0) yield deleted.map((entry) => ({ id: entry.id, version: isoVersion(entry.lastChanged), tag: null, deleted: true, fields: {} }));
  const ids = new Set([...changed.filter((entry) => entry.action !== 'Deleted').map((entry) => entry.id), ...due.keys()]);
  const live = [...ids].map(employeeId).filter((id): id is number => id !== null);
  for (let index = 0; index < live.length; index += idsPerReport) {
    const records = await reportEmployees(client, fields, live.slice(index, index + idsPerReport));
    yield records.map((record) => atLeast(record, due.get(record.id)));
  }
}

/**
 * An employee whose future-dated row took effect at `at` (ms). Changed since, it keeps its `lastChanged`: the listing
 * of that change read the row in effect. Otherwise its values changed at `at` though its `lastChanged` did not: it is
 * listed just past that moment, so a cursor past it means the engine has them.
 */
function atLeast(record: SourceRecord, at: number | undefined): SourceRecord {
  if (at === undefined || compareVersions(record.version, isoVersion(new Date(at).toISOString())) >= 0) return record;
  return { ...record, version: isoVersion(new Date(at + clockSlackMs).toISOString()) };
}
