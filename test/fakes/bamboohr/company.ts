/**
 * The state of one BambooHR company in the fake: its employee fields and its employees, each with the last-change
 * bookkeeping that Get Changed Employee IDs reads. Every time comes from the fake's clock.
 *
 * Sources (SOURCES.md lists them by behaviour):
 * - "Field Names", https://documentation.bamboohr.com/docs/list-of-field-names : the standard fields, their types and
 *   which are read only (`displayName`, `employmentHistoryStatus` and `terminationDate` "Read-only starting with
 *   version 1.1; update using the employmentStatus table", `supervisorEId`, `lastChanged`).
 * - "Field Types" as that page and BambooHR's client libraries quote them: dates "yyyy-mm-dd", timestamps
 *   "####-##-##T##:##:##+##:##" (e.g. "2012-10-17T20:27:17+00:00"), status "Active" or "Inactive".
 * - "Last Change Information", https://documentation.bamboohr.com/reference/last-change-information-1 : "Insert
 *   events are only recorded when an employee record is first created. Delete events are only recorded when an
 *   employee record is deleted." Any field change, and any change to the employment status, job information or
 *   compensation tables, counts as an update.
 * - The REST API has no call that deletes an employee (the OpenAPI description has no DELETE on /api/v1/employees/…):
 *   deleting happens in BambooHR's own screens, which `deleteEmployee` stands for. Terminating an employee is a row of
 *   the employment status table: status becomes Inactive, employmentHistoryStatus "Terminated", terminationDate set.
 * - Effective dates: job information, employment status and compensation are table rows, each with the date it takes
 *   effect, and the employee's fields read the row in effect today ({@link employeeTables} says where each comes from).
 */
import { badRow, duplicateEmail, employeeNotFound, invalidValue, missingNames, unknownFields } from './responses';

export interface FieldDefinition {
  /** A number for top-level fields ("for top-level fields it may be an integer"), as List Fields answers. */
  id: number;
  name: string;
  type: string;
  /** The API alias; standard fields have one, custom fields only when an admin gave one. */
  alias?: string;
  readOnly?: boolean;
  /** False for a field List Monitor Fields leaves out, so a webhook may not watch it. */
  monitorable?: boolean;
}

/** A custom field as an admin adds it; `monitorable: false` keeps it off List Monitor Fields (hidden from the key's user). */
export interface CustomFieldInput {
  name: string;
  type: string;
  alias?: string;
  monitorable?: boolean;
}

/** What a field is called in the fake's records: its alias, else its id as text (Get Employee takes either). */
export function fieldKey(field: FieldDefinition): string {
  return field.alias ?? String(field.id);
}

// Standard fields with the types "Field Names" gives them. The numeric ids are the fake's own: the documentation
// lists names, not ids. Which of them a webhook may monitor follows the list "Global Webhooks"
// (documentation.bamboohr.com/docs/global-webhooks) gives: "Employment Status", "Reporting to", "Status", "Hire Date"
// are on it; "Termination Date", "Display Name" and "Last Changed" are not. UNCONFIRMED for webhooks made through the
// API, whose list is the company's and the key user's own (List Monitor Fields answers it).
const standardFields: FieldDefinition[] = [
  { id: 1, name: 'First Name', type: 'text', alias: 'firstName' },
  { id: 2, name: 'Last Name', type: 'text', alias: 'lastName' },
  { id: 3, name: 'Middle Name', type: 'text', alias: 'middleName' },
  { id: 4, name: 'Preferred Name', type: 'text', alias: 'preferredName' },
  { id: 5, name: 'Display Name', type: 'text', alias: 'displayName', readOnly: true, monitorable: false },
  { id: 6, name: 'Employee #', type: 'text', alias: 'employeeNumber' },
  { id: 7, name: 'Work Email', type: 'email', alias: 'workEmail' },
  { id: 8, name: 'Home Email', type: 'email', alias: 'homeEmail' },
  { id: 9, name: 'Job Title', type: 'list', alias: 'jobTitle' },
  { id: 10, name: 'Department', type: 'list', alias: 'department' },
  { id: 11, name: 'Division', type: 'list', alias: 'division' },
  { id: 12, name: 'Location', type: 'list', alias: 'location' },
  { id: 13, name: 'Status', type: 'status', alias: 'status' },
  { id: 14, name: 'Employment Status', type: 'list', alias: 'employmentHistoryStatus', readOnly: true },
  { id: 15, name: 'Hire Date', type: 'date', alias: 'hireDate' },
  { id: 16, name: 'Termination Date', type: 'date', alias: 'terminationDate', readOnly: true, monitorable: false },
  { id: 17, name: 'Birth Date', type: 'date', alias: 'dateOfBirth' },
  { id: 18, name: 'Mobile Phone', type: 'phone', alias: 'mobilePhone' },
  { id: 19, name: 'Work Phone', type: 'phone', alias: 'workPhone' },
  { id: 20, name: 'Standard Hours Per Week', type: 'integer', alias: 'standardHoursPerWeek' },
  { id: 21, name: 'Pay Rate', type: 'currency', alias: 'payRate' },
  { id: 22, name: 'Reporting to', type: 'employee', alias: 'supervisorEId', readOnly: true },
  { id: 23, name: 'Last Changed', type: 'timestamp', alias: 'lastChanged', readOnly: true, monitorable: false },
];

/** Values as BambooHR keeps them: text, or null for an empty field. */
export type EmployeeValues = Record<string, string | null>;

/**
 * The employee tables whose rows take effect on a date, and the fields that read the row in effect.
 *
 * - "Field Names" (documentation.bamboohr.com/docs/list-of-field-names, as ffflorian/api-clients
 *   `packages/bamboohr.com/src/interfaces/Fields.ts` transcribes it): department "The employee's CURRENT department",
 *   likewise division, location, employmentHistoryStatus ("update using the employmentStatus table") and payRate;
 *   jobTitle "The **current** value of the employee's job title, updating this field will create a new row in
 *   position history"; terminationDate "update using the employmentStatus table".
 * - Row columns: "Get changed employee table data" (documentation.bamboohr.com/reference/get-changed-employee-table-data)
 *   shows jobInfo rows `date, location, division, department, jobTitle, reportsTo` and compensation rows `startDate,
 *   endDate, rate, type, …, paidPer`; the OpenAPI `TableRowUpdate`: `date` "The effective date for the row".
 * - What is current: OpenAPI `get-employee` ("By default only current values are returned; set `onlyCurrent` to false
 *   to include future-dated values from historical table fields"); the 2016.09 API change log as quoted in
 *   aubrey-wodonga/Bamboozled#5 ("any time you future date a hire date, termination date, or tabular data (Job
 *   Information, Compensation etc.) ... we will only recognize the date when the date arrives"); a recorded Get
 *   Employee of a future hire in smeggingsmegger/PyBambooHR#34 (`<field id="department"></field>` until
 *   `onlyCurrent=false`). The row in effect is the one with the latest date on or before today; of rows with one
 *   date, the last entered (UNCONFIRMED). "Today" is the fake clock's UTC date: BambooHR goes by the company's own
 *   time zone, and the fake's company is in UTC.
 * - Columns and tables the fake leaves out: supervisor fields (reportsTo is kept but decides nothing), the other
 *   compensation columns' fields, custom tables.
 */
export type TableName = 'jobInfo' | 'employmentStatus' | 'compensation';

interface TableDefinition {
  /** The column of the row's effective date. */
  dateColumn: 'date' | 'startDate';
  columns: readonly string[];
  /** Employee field key → the column of the row in effect that it reads. */
  fields: Readonly<Record<string, string>>;
}

export const employeeTables: Readonly<Record<TableName, TableDefinition>> = {
  jobInfo: { dateColumn: 'date', columns: ['location', 'division', 'department', 'jobTitle', 'reportsTo'], fields: { jobTitle: 'jobTitle', department: 'department', division: 'division', location: 'location' } },
  employmentStatus: { dateColumn: 'date', columns: ['employmentStatus'], fields: { employmentHistoryStatus: 'employmentStatus' } },
  compensation: { dateColumn: 'startDate', columns: ['rate', 'type', 'paidPer'], fields: { payRate: 'rate' } },
};

export interface TableRow {
  /** Row ids are one sequence across tables, in the order rows were entered. */
  id: number;
  /** yyyy-mm-dd: the day the row takes effect. */
  date: string;
  values: EmployeeValues;
}

/** The fields whose value comes from a table row: those a table names, and terminationDate (the Terminated row's date). */
const rowFields = [...Object.values(employeeTables).flatMap((table) => Object.keys(table.fields)), 'terminationDate'];

export interface EmployeeRecord {
  id: number;
  /** By field key (alias, or id for a custom field without one). Computed fields and table fields are not stored. */
  values: EmployeeValues;
  /** Rows of each effective-dated table, in the order entered. */
  tables: Record<TableName, TableRow[]>;
  /**
   * The employment status row whose taking effect last set `status` (a termination makes the employee Inactive, any
   * other status Active); a status written since stays until another row takes effect.
   */
  statusRowId: number | null;
  /** Epoch milliseconds, whole seconds: BambooHR's timestamps have no fractions. */
  lastChanged: number;
  /** What Get Changed Employee IDs says about the employee's last change. */
  action: 'Inserted' | 'Updated' | 'Deleted';
  deleted: boolean;
}

export interface EmployeeChange {
  employee: EmployeeRecord;
  action: 'Inserted' | 'Updated' | 'Deleted';
  /** Field keys whose value changed. */
  changedFields: string[];
}

const emailFields = ['workEmail', 'homeEmail'];
const datePattern = /^\d{4}-\d{2}-\d{2}$/;

/** "####-##-##T##:##:##+##:##" — the timestamp format of Field Types, in UTC. */
export function bambooTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/**
 * A checkbox as BambooHR stores what is written to it. "Field Types" (documentation.bamboohr.com/docs/field-types):
 * checkbox — '"yes" or "checkbox" will mark the checkbox checked and everything else will default to unchecked.
 * Example: "yes", "checkbox", "no"', and "All values are case insensitive". So JSON `true`, "true", "1" and null all
 * uncheck it, without an error. Reads give "yes" or "no" (UNCONFIRMED: the page's examples for the type; no recorded
 * answer with a checkbox was found); one never set reads empty, as other fields do.
 */
export function checkboxValue(raw: unknown): 'yes' | 'no' {
  return typeof raw === 'string' && /^(?:yes|checkbox)$/i.test(raw) ? 'yes' : 'no';
}

/**
 * A `bool` field as BambooHR stores what is written to it. "Field Types" (documentation.bamboohr.com/docs/field-types):
 * bool — 'A boolean value, true or false. Example: "true"', and "All values are case insensitive". So "true" and
 * "false" in any case are taken; JSON true/false too (UNCONFIRMED: the page's example is the text). Reads give
 * "true"/"false" as the page writes them (UNCONFIRMED: no recorded answer with a bool employee field was found; the
 * directory, another call, gives JSON `"photoUploaded": true` in recorded answers); one never set reads empty, as other
 * fields do. Any other value is refused with 409 like other invalid values (UNCONFIRMED: the page says nothing of
 * one), and null empties it.
 */
export function boolValue(key: string, raw: unknown): 'true' | 'false' | null {
  if (raw === null || raw === '') return null;
  if (typeof raw === 'boolean') return raw ? 'true' : 'false';
  if (typeof raw === 'string' && /^(?:true|false)$/i.test(raw)) return raw.toLowerCase() as 'true' | 'false';
  throw invalidValue(key, `${JSON.stringify(raw)} is not true or false`);
}

/** The table whose rows decide a field, or null for a field stored on the employee. */
function tableOf(key: string): TableName | null {
  for (const [name, table] of Object.entries(employeeTables)) if (Object.hasOwn(table.fields, key)) return name as TableName;
  return null;
}

/** A write's values apart: those stored on the employee, and the columns of a row per table. */
function splitRowValues(values: EmployeeValues): { stored: EmployeeValues; rows: Array<[TableName, EmployeeValues]> } {
  const stored: EmployeeValues = {};
  const rows = new Map<TableName, EmployeeValues>();
  for (const [key, value] of Object.entries(values)) {
    const table = tableOf(key);
    if (table === null) stored[key] = value;
    else rows.set(table, { ...rows.get(table), [employeeTables[table].fields[key] as string]: value });
  }
  return { stored, rows: [...rows] };
}

function pick(values: EmployeeValues, keys: string[]): EmployeeValues {
  return Object.fromEntries(keys.map((key) => [key, values[key] ?? null]));
}

export class BambooHrCompany {
  readonly fields = new Map<string, FieldDefinition>();
  readonly employees = new Map<number, EmployeeRecord>();
  private nextEmployeeId = 40;
  private nextFieldId = 4000;
  private nextRowId = 1;
  private readonly listeners: Array<(change: EmployeeChange) => void> = [];

  constructor(private readonly nowMs: () => number) {
    for (const field of standardFields) this.fields.set(fieldKey(field), field);
  }

  onChange(listener: (change: EmployeeChange) => void): void {
    this.listeners.push(listener);
  }

  /** A custom field, as an admin adds one in Settings › Employee Fields. */
  addCustomField(input: CustomFieldInput): FieldDefinition {
    const field: FieldDefinition = { id: this.nextFieldId++, name: input.name, type: input.type, ...(input.alias ? { alias: input.alias } : {}), ...(input.monitorable === false ? { monitorable: false } : {}) };
    this.fields.set(fieldKey(field), field);
    return field;
  }

  /** The field a request names by alias or by id ("Field Id's as well as custom field aliases can be used"). */
  resolveField(name: string): FieldDefinition | undefined {
    const byKey = this.fields.get(name);
    if (byKey) return byKey;
    return /^\d+$/.test(name) ? [...this.fields.values()].find((field) => String(field.id) === name) : undefined;
  }

  /** The fields List Monitor Fields answers with: those a webhook may watch. */
  monitorFields(): FieldDefinition[] {
    return [...this.fields.values()].filter((field) => field.monitorable !== false);
  }

  live(id: number): EmployeeRecord {
    const employee = this.employees.get(id);
    if (!employee || employee.deleted) throw employeeNotFound();
    return employee;
  }

  /**
   * Create Employee: firstName and lastName at minimum; values checked as an update's are. The job information and
   * compensation given, and a first employment status row, are rows dated the hire date, else today (UNCONFIRMED for
   * an employee made through the API: a future hire made in BambooHR's screens reads no department until the hire
   * date, PyBambooHR#34).
   */
  create(input: Record<string, unknown>): EmployeeRecord {
    const values = this.checkedValues(input, null);
    if (!values.firstName || !values.lastName) throw missingNames();
    const { stored, rows } = splitRowValues(values);
    const employee: EmployeeRecord = {
      id: this.nextEmployeeId++,
      values: { status: 'Active', ...stored },
      tables: { jobInfo: [], employmentStatus: [], compensation: [] },
      statusRowId: null,
      lastChanged: this.nowMs(),
      action: 'Inserted',
      deleted: false,
    };
    const day = stored.hireDate ?? this.today();
    // A new employee is Active with a first employment status row; "Full-Time" stands for the account's default
    // status (UNCONFIRMED: the statuses are the account's own list). That row's effect is the status just given.
    employee.statusRowId = this.addRow(employee, 'employmentStatus', day, { employmentStatus: 'Full-Time' }).id;
    for (const [table, columns] of rows) this.addRow(employee, table, day, columns);
    this.employees.set(employee.id, employee);
    this.emit({ employee, action: 'Inserted', changedFields: Object.keys(values) });
    return employee;
  }

  /**
   * Update Employee: only the fields sent change; the last-change time moves only when one did. A table field sent
   * enters a row dated today with the other columns of the row in effect ("updating this field will create a new row
   * in position history"; the copied columns are UNCONFIRMED).
   */
  update(id: number, input: Record<string, unknown>): EmployeeRecord {
    const employee = this.live(id);
    const values = this.checkedValues(input, employee.id);
    const changedFields = Object.keys(values).filter((key) => this.valueOf(employee, key) !== values[key]);
    if (changedFields.length === 0) return employee;
    const { stored, rows } = splitRowValues(values);
    Object.assign(employee.values, stored);
    const day = this.today();
    for (const [table, columns] of rows) this.addRow(employee, table, day, { ...this.rowInEffect(employee, table, day)?.values, ...columns });
    return this.changed(employee, changedFields);
  }

  /**
   * A row entered in one of the employee's tables (BambooHR's screens: Job Information, Employment Status or
   * Compensation, with its "Effective Date"). Entering it is the change Get Changed Employee IDs reports, even when it
   * takes effect later ("any change to the employment status, job info, or compensation tables"); its date arriving
   * changes no `lastChanged` (UNCONFIRMED: nothing documents a change recorded then). Webhooks hear of the fields it
   * changes today only; a future row's are sent when it takes effect ({@link clockMoved}).
   */
  enterRow(id: number, table: TableName, row: Record<string, unknown>, stored: EmployeeValues = {}): EmployeeRecord {
    const employee = this.live(id);
    const definition = employeeTables[table];
    const date = row[definition.dateColumn];
    if (typeof date !== 'string' || !datePattern.test(date) || Number.isNaN(Date.parse(date))) throw badRow(`${definition.dateColumn} must be a date (yyyy-mm-dd)`);
    const unknown = Object.keys(row).filter((column) => column !== definition.dateColumn && !definition.columns.includes(column));
    if (unknown.length > 0) throw badRow(`no such column in ${table}: ${unknown.join(', ')}`);
    const day = this.today();
    const before = { ...this.rowView(employee, day), ...pick(employee.values, Object.keys(stored)) };
    Object.assign(employee.values, stored);
    this.addRow(employee, table, date, Object.fromEntries(Object.entries(row).map(([column, value]) => [column, value === null || value === undefined ? null : String(value)])));
    this.statusFromRows(employee, day);
    const after = { ...this.rowView(employee, day), ...pick(employee.values, Object.keys(stored)) };
    return this.changed(employee, Object.keys(after).filter((key) => before[key] !== after[key]));
  }

  /** A termination entered in the employment status table (what BambooHR's "Terminate Employee" screen writes). */
  terminate(id: number, date: string): EmployeeRecord {
    return this.enterRow(id, 'employmentStatus', { date, employmentStatus: 'Terminated' });
  }

  /** Rehiring: a new employment status row and hire date; the termination stays in the table's history. */
  rehire(id: number, date: string): EmployeeRecord {
    return this.enterRow(id, 'employmentStatus', { date, employmentStatus: 'Full-Time' }, { hireDate: date });
  }

  /** Deleting an employee in BambooHR's screens: gone from every read; Get Changed Employee IDs says "Deleted". */
  deleteEmployee(id: number): void {
    const employee = this.live(id);
    employee.deleted = true;
    employee.action = 'Deleted';
    employee.lastChanged = this.nowMs();
    this.emit({ employee, action: 'Deleted', changedFields: [] });
  }

  /**
   * A field's value as a read returns it, computed fields included: as of today, or with `onlyCurrent: false` from the
   * latest row whatever its date ("Setting to false will return future-dated values from history table fields").
   */
  valueOf(employee: EmployeeRecord, key: string, view: { onlyCurrent?: boolean; day?: string } = {}): string | null {
    const day = view.onlyCurrent === false ? null : (view.day ?? this.today());
    switch (key) {
      case 'lastChanged':
        return bambooTimestamp(employee.lastChanged);
      case 'displayName': {
        const first = employee.values.preferredName || employee.values.firstName || '';
        return `${first} ${employee.values.lastName ?? ''}`.trim();
      }
      case 'terminationDate': {
        const row = this.rowInEffect(employee, 'employmentStatus', day);
        return row?.values.employmentStatus === 'Terminated' ? row.date : null;
      }
    }
    const table = tableOf(key);
    if (table === null) return employee.values[key] ?? null;
    return this.rowInEffect(employee, table, day)?.values[employeeTables[table].fields[key] as string] ?? null;
  }

  /**
   * The row in effect on `day`: the latest dated on or before it, the last entered of one date. `day` null: the latest
   * row whatever its date.
   */
  rowInEffect(employee: EmployeeRecord, table: TableName, day: string | null): TableRow | null {
    let found: TableRow | null = null;
    for (const row of employee.tables[table]) {
      if (day !== null && row.date > day) continue;
      if (!found || row.date > found.date || (row.date === found.date && row.id > found.id)) found = row;
    }
    return found;
  }

  /** The fake clock's date, yyyy-mm-dd in UTC: the day rows take effect on. */
  today(ms = this.nowMs()): string {
    return new Date(ms).toISOString().slice(0, 10);
  }

  /**
   * The clock moved on from `previousMs`: rows dated in between take effect. Nothing is recorded as a change (the
   * fields' values simply read differently), but webhooks fire for the fields that changed: "For history-tracked
   * fields (e.g., `jobTitle`, `payRate`), events fire only when changes take effect, not when future-dated changes
   * are created" (OpenAPI description, `employee.updated` event).
   */
  clockMoved(previousMs: number): void {
    const from = this.today(previousMs);
    const day = this.today();
    if (day <= from) return;
    for (const employee of this.employees.values()) {
      if (employee.deleted) continue;
      const before = this.rowView(employee, from);
      this.statusFromRows(employee, day);
      const after = this.rowView(employee, day);
      const changedFields = Object.keys(after).filter((key) => before[key] !== after[key]);
      if (changedFields.length > 0) this.emit({ employee, action: 'Updated', changedFields });
    }
  }

  /** A row with every column of its table, those not given empty. */
  private addRow(employee: EmployeeRecord, table: TableName, date: string, values: EmployeeValues): TableRow {
    const row: TableRow = { id: this.nextRowId++, date, values: Object.fromEntries(employeeTables[table].columns.map((column) => [column, values[column] ?? null])) };
    employee.tables[table].push(row);
    return row;
  }

  /** `status` and the fields rows decide, as they read on `day`. */
  private rowView(employee: EmployeeRecord, day: string): EmployeeValues {
    const view: EmployeeValues = { status: employee.values.status ?? null };
    for (const key of rowFields) view[key] = this.valueOf(employee, key, { day });
    return view;
  }

  /** When another employment status row has taken effect, `status` follows it: Inactive for a termination, else Active. */
  private statusFromRows(employee: EmployeeRecord, day: string): void {
    const row = this.rowInEffect(employee, 'employmentStatus', day);
    if (!row || row.id === employee.statusRowId) return;
    employee.statusRowId = row.id;
    employee.values.status = row.values.employmentStatus === 'Terminated' ? 'Inactive' : 'Active';
  }

  private changed(employee: EmployeeRecord, changedFields: string[]): EmployeeRecord {
    employee.lastChanged = this.nowMs();
    employee.action = 'Updated';
    this.emit({ employee, action: 'Updated', changedFields });
    return employee;
  }

  /**
   * The values of a create or update, as text. Unknown field names are refused (406); read-only fields are dropped
   * (UNCONFIRMED: whether BambooHR drops them or refuses the request; the documentation only calls them read only);
   * checkboxes take what {@link checkboxValue} says, bool fields what {@link boolValue} says; dates must be
   * yyyy-mm-dd, whole-number fields whole numbers, status Active or Inactive, and emails unique (409).
   */
  private checkedValues(input: Record<string, unknown>, selfId: number | null): EmployeeValues {
    const unknown = Object.keys(input).filter((name) => !this.resolveField(name));
    if (unknown.length > 0) throw unknownFields(unknown);
    const values: EmployeeValues = {};
    for (const [name, raw] of Object.entries(input)) {
      const field = this.resolveField(name) as FieldDefinition;
      if (field.readOnly) continue;
      const key = fieldKey(field);
      const value = raw === null || raw === '' ? null : typeof raw === 'object' ? null : String(raw);
      if (typeof raw === 'object' && raw !== null) throw invalidValue(key, 'must be text, a number or true/false');
      if (field.type === 'checkbox') {
        values[key] = checkboxValue(raw);
        continue;
      }
      if (field.type === 'bool') {
        values[key] = boolValue(key, raw);
        continue;
      }
      if (value !== null) {
        if (field.type === 'date' && (!datePattern.test(value) || Number.isNaN(Date.parse(value)))) throw invalidValue(key, `"${value}" is not a date (yyyy-mm-dd)`);
        if (field.type === 'integer' && !/^-?\d+$/.test(value)) throw invalidValue(key, `"${value}" is not a whole number`);
        if (field.type === 'status' && value !== 'Active' && value !== 'Inactive') throw invalidValue(key, 'must be Active or Inactive');
        if (emailFields.includes(key)) {
          const taken = [...this.employees.values()].find((other) => !other.deleted && other.id !== selfId && emailFields.some((email) => other.values[email]?.toLowerCase() === value.toLowerCase()));
          if (taken) throw duplicateEmail(key, value);
        }
      }
      values[key] = value;
    }
    return values;
  }

  private emit(change: EmployeeChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
