/**
 * Future-dated changes. Job information, employment status and compensation are tables whose rows each take effect on
 * a date, and the fields read from them (jobTitle, department, status, terminationDate, payRate, …) are the row in
 * effect today: "By default only current values are returned; set `onlyCurrent` to false to include future-dated
 * values from historical table fields" (OpenAPI description, Get Employee; the custom report likewise). An HR person
 * often enters a promotion, a transfer or a termination ahead of its date. Get Changed Employee IDs names the
 * employee when the row is entered ("any change to the employment status, job info, or compensation tables, will
 * cause that employee to be returned") — when the report still reads the old value — and nothing documents a change
 * recorded when the date arrives: `lastChanged` is when the record was last changed. A listing by change alone would
 * keep the old title, department or status on the other side until the next edit. (Webhooks do fire then: "events
 * fire only when changes take effect, not when future-dated changes are created", `employee.updated`.)
 *
 * So a listing also reads again the employees whose rows took effect since its cursor. Their effective dates come
 * from the tables: all rows of a table at once (Get Employee Table Data, `GET /api/v1/employees/all/tables/{table}`)
 * the first time, then the rows of the employees each listing finds changed (Get Changed Employee Table Data,
 * `GET /api/v1/employees/changed/tables/{table}?since=`, "a change in ANY field in the employee record will cause ALL
 * of that employee's table rows to show up"), one request a table, only when something changed. A row's date is the
 * company's day, in a time zone the API does not give, so it counts as in effect from noon UTC of that day — midnight
 * at UTC−12, where a day begins last — and the employee is read then: on the day, hours after it began for companies
 * east of UTC−12.
 *
 * Unless it changed since that moment, the employee is listed at a version just past it (by {@link clockSlackMs}), so
 * the cursor passes it once the engine has the new values: a pass that fails lists it again, one that succeeded does
 * not. If BambooHR did list such employees on the day, they would be read twice, and the engine drops the second read
 * as unchanged.
 */
import { ConnectorError } from '../types';
import type { BambooHrClient } from './client';

interface EffectiveTable {
  name: string;
  /** The column of a row's effective date ("date"; compensation's rows have "startDate"). */
  dateColumn: string;
  /** The employee fields whose current value is that table's row in effect (Field Names: "The employee's CURRENT …"). */
  fields: readonly string[];
}

/**
 * The tables and the fields they decide. Field Names (documentation.bamboohr.com/docs/list-of-field-names): department,
 * division, location, jobTitle ("updating this field will create a new row in position history"), the supervisor
 * fields and the pay fields are the employee's current ones; employmentHistoryStatus and terminationDate "update using
 * the employmentStatus table", and a termination dated ahead leaves `status` Active until its date. The row columns are
 * those of the "Get changed employee table data" samples (jobInfo `date`, compensation `startDate`).
 */
export const effectiveTables: readonly EffectiveTable[] = [
  { name: 'jobInfo', dateColumn: 'date', fields: ['jobTitle', 'department', 'division', 'location', 'supervisor', 'supervisorEId', 'supervisorId', 'supervisorEmail'] },
  { name: 'employmentStatus', dateColumn: 'date', fields: ['employmentHistoryStatus', 'status', 'terminationDate', 'acaStatusCategory'] },
  { name: 'compensation', dateColumn: 'startDate', fields: ['payRate', 'payType', 'paidPer', 'payFrequency', 'paySchedule', 'payScheduleId', 'exempt', 'payChangeReason', 'payRateEffectiveDate'] },
];

/** From the start of its date, when a row is in effect in every time zone: noon UTC is midnight at UTC−12. */
const inEffectAfterMs = 12 * 3600_000;
/**
 * BambooHR's servers' clocks a few seconds apart (the time of one answer, the stamps of another): a row counts as
 * taken effect when it is this much past the cursor, and is listed at this much past the moment, so a change stamped
 * just after that moment, listed before the row counted, cannot carry the cursor past it unread.
 */
export const clockSlackMs = 5_000;

/** What one listing reads: its window on the change feed, and what Get Changed Employee IDs answered for it. */
export interface ListingWindow {
  /** Where the listing reads changes from, as a time and as Get Changed Employee IDs' `since` parameter. */
  since: Date;
  sinceParameter: string;
  /** The cursor the listing started from: rows in effect by then were listed before. */
  cursor: number;
  /**
   * BambooHR's time when it answered the listing's Get Changed Employee IDs: every change until then is in what the
   * listing reads. BambooHR's own clock, not ours, says whether a row's day has come: a row counted in effect too
   * early would be passed by the cursor before BambooHR showed it.
   */
  now: number;
  /** The employees Get Changed Employee IDs named for the listing. */
  changed: ReadonlyArray<{ id: string; action: string; lastChanged: string | null }>;
}

interface TableDates {
  /** Rows entered until then are known. */
  knownUntil: number;
  /** Employee id → the effective dates of its rows; null when BambooHR refused the table to this key. */
  dates: Map<string, string[]> | null;
  /**
   * Employee id → the `lastChanged` its dates are known as of. The change feed lists the newest changes again at every
   * poll (its lookback), and those are not read again.
   */
  asOf: Map<string, string | null>;
}

/**
 * The effective dates known per company, key and table. Kept beside the connectors rather than in one: the engine
 * opens a connector for every pass, and reading every row each pass is what this spares. Lost with the process: the
 * first listing after a start reads the tables whole again, and its cursor bounds what it must catch up on.
 */
const known = new Map<string, TableDates>();

/** Forgets every effective date known: what a restart of the runtime does (for tests). */
export function forgetEffectiveDates(): void {
  known.clear();
}

/**
 * The employees among `fields`' tables whose rows took effect after the window's cursor and by now, each with the
 * moment (ms) its latest such row is sure to be in effect.
 */
export async function takingEffect(client: BambooHrClient, fields: readonly string[], window: ListingWindow): Promise<Map<string, number>> {
  const due = new Map<string, number>();
  for (const table of effectiveTables.filter((candidate) => candidate.fields.some((field) => fields.includes(field)))) {
    for (const [id, dates] of (await tableDates(client, table, window)) ?? []) {
      for (const date of dates) {
        const at = Date.parse(`${date}T00:00:00Z`) + inEffectAfterMs;
        if (at > window.cursor - clockSlackMs && at <= window.now) due.set(id, Math.max(due.get(id) ?? 0, at));
      }
    }
  }
  return due;
}

/** The table's effective dates as of this listing: read whole when nothing is known back to its `since`, else brought up to date. */
async function tableDates(client: BambooHrClient, table: EffectiveTable, window: ListingWindow): Promise<Map<string, string[]> | null> {
  const key = `${client.identity} ${table.name}`;
  const kept = known.get(key);
  const entry = kept && kept.knownUntil >= window.since.getTime() ? kept : { knownUntil: window.now, dates: await readWhole(client, table), asOf: new Map<string, string | null>() };
  known.set(key, entry);
  if (entry === kept && entry.dates && window.changed.some((employee) => employee.action !== 'Deleted' && entry.asOf.get(employee.id) !== employee.lastChanged)) {
    const changed = await readChanged(client, table, window.sinceParameter);
    for (const { id } of window.changed) entry.dates.delete(id);
    for (const [id, dates] of changed) entry.dates.set(id, dates);
  }
  for (const { id, action, lastChanged } of window.changed) {
    if (action === 'Deleted') entry.dates?.delete(id);
    entry.asOf.set(id, lastChanged);
  }
  entry.knownUntil = Math.max(entry.knownUntil, window.now);
  return entry.dates;
}

/** Get Employee Table Data for every employee: `[{id, employeeId, <dateColumn>, …}]`. Null when BambooHR refuses the table. */
async function readWhole(client: BambooHrClient, table: EffectiveTable): Promise<Map<string, string[]> | null> {
  const body = await tableAnswer(client, client.url(`/api/v1/employees/all/tables/${table.name}`));
  if (body === null) return null;
  if (!Array.isArray(body)) throw new ConnectorError(`GET /api/v1/employees/all/tables/${table.name}: expected a list of rows, got ${JSON.stringify(body)?.slice(0, 120)}`);
  const dates = new Map<string, string[]>();
  for (const row of body as Array<Record<string, unknown> | null>) {
    const id = row?.employeeId;
    if (typeof id === 'string' || typeof id === 'number') addDate(dates, String(id), row?.[table.dateColumn]);
  }
  return dates;
}

/** Get Changed Employee Table Data: `{table, employees: {"<id>": {lastChanged, rows: [...]}}}`, every row of each. */
async function readChanged(client: BambooHrClient, table: EffectiveTable, since: string): Promise<Map<string, string[]>> {
  const url = client.url(`/api/v1/employees/changed/tables/${table.name}`, { since });
  const body = await tableAnswer(client, url);
  const dates = new Map<string, string[]>();
  const employees = (body as { employees?: unknown } | null)?.employees;
  // An empty map may come serialised as an empty list, as Get Changed Employee IDs' may.
  if (body === null || (Array.isArray(employees) && employees.length === 0)) return dates;
  if (typeof employees !== 'object' || employees === null) throw new ConnectorError(`GET ${url.pathname}: expected an "employees" map, got ${JSON.stringify(body)?.slice(0, 120)}`);
  for (const [id, entry] of Object.entries(employees as Record<string, unknown>)) {
    const rows = (entry as { rows?: unknown } | null)?.rows;
    for (const row of Array.isArray(rows) ? (rows as Array<Record<string, unknown> | null>) : []) addDate(dates, id, row?.[table.dateColumn]);
  }
  return dates;
}

/**
 * A table read's JSON, or null when BambooHR refuses the table to this key (403) or has no such table (404): then
 * future-dated changes to its fields reach the flow with the employee's next change, as before.
 */
async function tableAnswer(client: BambooHrClient, url: URL): Promise<unknown> {
  const response = await client.request('GET', url);
  if (response.status === 403 || response.status === 404) return null;
  if (response.status !== 200) throw client.failure(response);
  return client.jsonBody(response);
}

function addDate(dates: Map<string, string[]>, id: string, date: unknown): void {
  if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) return;
  const list = dates.get(id);
  if (list) list.push(date);
  else dates.set(id, [date]);
}
