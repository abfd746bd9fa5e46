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
 */
import { duplicateEmail, employeeNotFound, invalidValue, missingNames, unknownFields } from './responses';

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

export interface EmployeeRecord {
  id: number;
  /** By field key (alias, or id for a custom field without one). Computed fields are not stored. */
  values: EmployeeValues;
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

export class BambooHrCompany {
  readonly fields = new Map<string, FieldDefinition>();
  readonly employees = new Map<number, EmployeeRecord>();
  private nextEmployeeId = 40;
  private nextFieldId = 4000;
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

  /** Create Employee: firstName and lastName at minimum; values checked as an update's are. */
  create(input: Record<string, unknown>): EmployeeRecord {
    const values = this.checkedValues(input, null);
    if (!values.firstName || !values.lastName) throw missingNames();
    // A new employee is Active with a first employment status row; "Full-Time" stands for the account's default
    // status (UNCONFIRMED: the statuses are the account's own list).
    const employee: EmployeeRecord = { id: this.nextEmployeeId++, values: { status: 'Active', employmentHistoryStatus: 'Full-Time', ...values }, lastChanged: this.nowMs(), action: 'Inserted', deleted: false };
    this.employees.set(employee.id, employee);
    this.emit({ employee, action: 'Inserted', changedFields: Object.keys(values) });
    return employee;
  }

  /** Update Employee: only the fields sent change; the last-change time moves only when one did. */
  update(id: number, input: Record<string, unknown>): EmployeeRecord {
    const employee = this.live(id);
    const values = this.checkedValues(input, employee.id);
    return this.apply(employee, values);
  }

  /** A termination entered in the employment status table (what BambooHR's "Terminate Employee" screen writes). */
  terminate(id: number, date: string): EmployeeRecord {
    const employee = this.live(id);
    return this.apply(employee, { status: 'Inactive', employmentHistoryStatus: 'Terminated', terminationDate: date });
  }

  /** Rehiring: a new employment status row; the termination date stays in history, the current one is empty. */
  rehire(id: number, date: string): EmployeeRecord {
    const employee = this.live(id);
    return this.apply(employee, { status: 'Active', employmentHistoryStatus: 'Full-Time', terminationDate: null, hireDate: date });
  }

  /** Deleting an employee in BambooHR's screens: gone from every read; Get Changed Employee IDs says "Deleted". */
  deleteEmployee(id: number): void {
    const employee = this.live(id);
    employee.deleted = true;
    employee.action = 'Deleted';
    employee.lastChanged = this.nowMs();
    this.emit({ employee, action: 'Deleted', changedFields: [] });
  }

  /** A field's current value as a read returns it, computed fields included. */
  valueOf(employee: EmployeeRecord, key: string): string | null {
    switch (key) {
      case 'lastChanged':
        return bambooTimestamp(employee.lastChanged);
      case 'displayName': {
        const first = employee.values.preferredName || employee.values.firstName || '';
        return `${first} ${employee.values.lastName ?? ''}`.trim();
      }
      default:
        return employee.values[key] ?? null;
    }
  }

  private apply(employee: EmployeeRecord, values: EmployeeValues): EmployeeRecord {
    const changedFields = Object.keys(values).filter((key) => (employee.values[key] ?? null) !== values[key]);
    if (changedFields.length === 0) return employee;
    Object.assign(employee.values, values);
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
