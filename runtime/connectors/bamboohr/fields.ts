/**
 * BambooHR's employee fields: the company's list (List Fields, `GET /api/v1/meta/fields`: `[{id, name, type,
 * alias?}]`, standard and custom fields alike), how a flow names them, what type the editor shows, and how their
 * values read and write. BambooHR hands every value over as text ("Field Types": dates "yyyy-mm-dd", timestamps
 * "2012-10-17T20:27:17+00:00", currency "27000.00"); the connector turns whole-number fields into numbers, checkboxes
 * and bool fields into true/false and empty dates into null, and leaves the rest as BambooHR wrote it.
 */
import type { ConnectionOption } from '../../../nodes/trigger/connectionForm';
import type { FieldDescription } from '../types';
import { ConnectorError } from '../types';
import type { BambooHrClient } from './client';

export interface BambooHrField {
  /** How requests and flows name it: the API alias, or the numeric id of a custom field without one. */
  key: string;
  id: string;
  name: string;
  type: string;
}

/**
 * Fields "Field Names" (documentation.bamboohr.com/docs/list-of-field-names) calls read only: computed ones, and those
 * that change through a table ("Read-only starting with version 1.1; update using the employmentStatus table").
 */
export const readOnlyFields: Readonly<Record<string, string>> = {
  displayName: 'computed from the names',
  fullName1: 'computed from the names',
  fullName2: 'computed from the names',
  fullName3: 'computed from the names',
  fullName4: 'computed from the names',
  fullName5: 'computed from the names',
  age: 'computed from dateOfBirth',
  birthday: 'computed from dateOfBirth',
  stateCode: 'computed from state',
  workPhonePlusExtension: 'computed from workPhone and workPhoneExtension',
  employmentHistoryStatus: 'set through the employment status table (a termination, a new status), not as a field',
  terminationDate: 'set through the employment status table when an employee is terminated, not as a field',
  supervisor: 'set through the job information table (reportsTo)',
  supervisorEId: 'set through the job information table (reportsTo)',
  supervisorId: 'set through the job information table (reportsTo)',
  supervisorEmail: 'set through the job information table (reportsTo)',
  acaStatusCategory: 'computed from the employment status',
  createdByUserId: 'kept by BambooHR',
  isPhotoUploaded: 'kept by BambooHR',
};

/** BambooHR types that hold whole numbers ("integer" in Field Names; "int" for custom number fields). */
const wholeNumberTypes = new Set(['integer', 'int']);
const dateTypes = new Set(['date']);

/** How a true/false field type is written, and what to say of a value that is neither. */
interface BooleanType {
  checked: string;
  unchecked: string;
  what: string;
  otherwise: string;
}

/**
 * BambooHR's true/false field types, as "Field Types" (documentation.bamboohr.com/docs/field-types) has them written;
 * "All values are case insensitive".
 * - checkbox: '"yes" or "checkbox" will mark the checkbox checked and everything else will default to unchecked.
 *   Example: "yes", "checkbox", "no"'. So JSON true would uncheck it, without an error: it is written "yes" or "no".
 * - bool: 'A boolean value, true or false. Example: "true"': written "true" or "false", as the example has it.
 * Both read as true or false, whatever form BambooHR answers in ("yes", "true", 1 or JSON true), and one never set
 * reads false.
 */
const booleanTypes: ReadonlyMap<string, BooleanType> = new Map([
  ['checkbox', { checked: 'yes', unchecked: 'no', what: 'a BambooHR checkbox', otherwise: 'BambooHR would store that as unchecked' }],
  ['bool', { checked: 'true', unchecked: 'false', what: 'a BambooHR true/false (bool) field', otherwise: 'BambooHR documents no other value for it' }],
]);
/** The texts taken as checked or unchecked: BambooHR's own, and true/false and 1/0 as other systems write them. */
const checkedTexts = new Set(['yes', 'checkbox', 'true', '1']);
const uncheckedTexts = new Set(['no', 'false', '0', '']);

function booleanType(type: string | undefined): BooleanType | undefined {
  return type === undefined ? undefined : booleanTypes.get(type);
}

/** The type the editor shows for a BambooHR field type. */
export function flowType(type: string): string {
  if (wholeNumberTypes.has(type)) return 'number';
  if (dateTypes.has(type) || type === 'timestamp') return 'date';
  if (booleanType(type)) return 'boolean';
  return 'string';
}

/**
 * A value as BambooHR sent it, in the flow's terms: numbers for whole-number fields, true/false for a checkbox or a
 * bool field (one never set is false), null for an empty field.
 */
export function readValue(type: string | undefined, value: unknown): string | number | boolean | null {
  if (booleanType(type)) return booleanState(value) === true;
  if (value === null || value === undefined) return null;
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  // An empty date reads "0000-00-00" in BambooHR's answers (a termination date of someone still employed).
  if (text === '' || (type !== undefined && dateTypes.has(type) && text === '0000-00-00')) return null;
  if (type !== undefined && wholeNumberTypes.has(type) && /^-?\d{1,15}$/.test(text)) return Number(text);
  return text;
}

/**
 * What a write sends for a field of this type: a checkbox as "yes" or "no", a bool field as "true" or "false" (null as
 * unchecked/false, which a field never set reads as); other values as they are. An error for a value neither true nor
 * false, which BambooHR would store as unchecked (a checkbox) or is not documented to take (a bool field).
 */
export function writeValue(name: string, type: string | undefined, value: unknown): { value: unknown } | { error: string } {
  const written = booleanType(type);
  if (!written) return { value };
  const state = booleanState(value);
  if (state === null) return { error: `${name} is ${written.what}: it takes true or false (or "yes" and "no"), not ${JSON.stringify(value)}; ${written.otherwise}` };
  return { value: state ? written.checked : written.unchecked };
}

/** True, false, or null for a value that is neither. */
function booleanState(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === null || value === undefined) return false;
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const text = String(value).trim().toLowerCase();
  return checkedTexts.has(text) ? true : uncheckedTexts.has(text) ? false : null;
}

/** The company's fields, by key and by id. */
export class FieldCatalog {
  private constructor(private readonly byKey: ReadonlyMap<string, BambooHrField>) {}

  /** Reads List Fields. */
  static async load(client: BambooHrClient): Promise<FieldCatalog> {
    const body = await client.json('GET', client.url('/api/v1/meta/fields'));
    if (!Array.isArray(body)) throw new ConnectorError('GET /api/v1/meta/fields: expected a list of fields');
    const byKey = new Map<string, BambooHrField>();
    for (const entry of body as Array<Record<string, unknown>>) {
      const id = typeof entry?.id === 'number' || typeof entry?.id === 'string' ? String(entry.id) : null;
      // Subfields have dotted ids ("4340.4"): parts of a table row, not fields of the employee.
      if (id === null || id.includes('.') || typeof entry.name !== 'string' || typeof entry.type !== 'string') continue;
      const alias = typeof entry.alias === 'string' && entry.alias !== '' ? entry.alias : null;
      const field: BambooHrField = { key: alias ?? id, id, name: entry.name, type: entry.type };
      byKey.set(field.key, field);
    }
    return new FieldCatalog(byKey);
  }

  /** The field a flow names by its alias or by its id. */
  find(name: string): BambooHrField | undefined {
    return this.byKey.get(name) ?? [...this.byKey.values()].find((field) => field.id === name);
  }

  /** The chosen fields as describe() lists them; a name the company has no field for is an error naming it. */
  describe(chosen: readonly string[]): FieldDescription[] {
    const unknown = chosen.filter((name) => !this.find(name));
    if (unknown.length > 0) {
      throw new ConnectorError(
        `connection.fields: ${unknown.map((name) => `"${name}"`).join(', ')} ${unknown.length === 1 ? 'is not a field' : 'are not fields'} of this BambooHR company (List Fields, GET /api/v1/meta/fields, names them; the connection form offers them)`,
      );
    }
    return chosen.map((name) => {
      const { type } = this.find(name) as BambooHrField;
      // A checkbox or a bool field is true or false: it reads false where nothing was ever set.
      return { name, type: flowType(type), nullable: booleanType(type) === undefined };
    });
  }

  /** Every field as a choice of the connection form, by name. */
  options(): ConnectionOption[] {
    return [...this.byKey.values()]
      .filter((field) => field.key !== 'lastChanged')
      .sort((a, b) => a.name.localeCompare(b.name) || a.key.localeCompare(b.key))
      .map((field) => ({ value: field.key, label: field.name, description: field.type }));
  }
}
