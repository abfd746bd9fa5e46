import { hash } from 'node:crypto';
import { formatPath, isPlainObject, leaves } from '../../nodes/paths';
import type { FlowRecord } from '../../nodes/types';

/** What a record holds after a partial update is merged into it; the engine's `after` of a write. */
export { isPlainObject, mergeLeaves } from '../../nodes/paths';

/** Deep equality of JSON values; object key order does not matter. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    // Absent and null are different opinions, but undefined inside a record never reaches here as a value.
    return false;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, index) => sameValue(item, other[index]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && sameValue(left[key], right[key]));
}

/** One leaf a write changes, named by its path (`properties.email`); `before` is undefined where it was absent. */
export interface LeafChange {
  field: string;
  before: unknown;
  after: unknown;
}

/**
 * What to write so that a record holding `current` holds `wanted`, compared leaf by leaf: inside a plain object
 * both hold, only the keys `wanted` names and whose values differ count, so keys the system keeps that the flow
 * does not map are no difference. `fields` is a partial record with just those leaves (`{ properties: { email } }`),
 * the way a connector merges an update (nodes/paths.ts `mergeLeaves`). Lists and other values compare whole. A value
 * that is absent in `current`, null, or not an object where `wanted` has one is written whole, and each of its
 * leaves listed as a change.
 */
export function diffLeaves(current: FlowRecord, wanted: FlowRecord): { fields: FlowRecord; changes: LeafChange[] } {
  const changes: LeafChange[] = [];
  const fields = diffInside(current, wanted, [], changes);
  return { fields, changes };
}

function diffInside(current: FlowRecord, wanted: FlowRecord, prefix: readonly string[], changes: LeafChange[]): FlowRecord {
  const fields: FlowRecord = {};
  for (const [key, value] of Object.entries(wanted)) {
    if (value === undefined) continue;
    const held = Object.hasOwn(current, key) ? current[key] : undefined;
    if (isPlainObject(value) && isPlainObject(held)) {
      const inner = diffInside(held, value, [...prefix, key], changes);
      if (Object.keys(inner).length > 0) putField(fields, key, inner);
      continue;
    }
    if (held !== undefined && sameValue(held, value)) continue;
    putField(fields, key, value);
    if (isPlainObject(value) && (held === undefined || held === null) && Object.keys(value).length > 0) {
      for (const [leafKeys, leaf] of leaves(value, [...prefix, key])) changes.push({ field: formatPath(leafKeys), before: undefined, after: leaf });
    } else {
      // A top-level field without a dot or backslash is its own path: most fields of most records.
      const field = prefix.length === 0 && !/[.\\]/.test(key) ? key : formatPath([...prefix, key]);
      changes.push({ field, before: held, after: value });
    }
  }
  return fields;
}

// A key named __proto__ is data here, as in JSON, not the object's prototype. Only that key needs defineProperty
// (several times an assignment's cost, paid per field of every record written): every other key of a fresh object
// literal is made by assignment as the same own, enumerable, writable property.
function putField(record: FlowRecord, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/** JSON with object keys sorted, so equal records serialise to equal text. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    // Built by concatenation rather than map and join: this runs for every record a pass hashes or matches.
    let text = '[';
    for (let index = 0; index < value.length; index++) text += (index === 0 ? '' : ',') + stableStringify(value[index]);
    return `${text}]`;
  }
  return stableObject(value as Record<string, unknown>, false);
}

/** An object's stable JSON, leaving out its undefined keys and, with `dropNulls`, its null ones (not nested ones). */
function stableObject(record: Record<string, unknown>, dropNulls: boolean): string {
  let text = '{';
  for (const key of Object.keys(record).sort()) {
    const value = record[key];
    if (value === undefined || (dropNulls && value === null)) continue;
    text += `${text.length === 1 ? '' : ','}${JSON.stringify(key)}:${stableStringify(value)}`;
  }
  return `${text}}`;
}

/** A short content hash of a record, for recognising the runtime's own writes when they come back. */
export function contentHash(value: unknown): string {
  return hashOf(stableStringify(value));
}

function hashOf(text: string): string {
  // The one-shot hash: the same digest, at a third of createHash's cost for a record this size (a hash a write).
  return hash('sha256', text, 'base64url').slice(0, 22);
}

/** Match values compared after trimming and lower-casing strings (SPEC §3); null when any is missing. */
export function matchKey(record: Record<string, unknown>, fields: readonly string[]): string | null {
  if (fields.length === 0) return null;
  const parts: unknown[] = [];
  for (const field of fields) {
    const value = record[field];
    if (value === undefined || value === null || value === '') return null;
    parts.push(typeof value === 'string' ? value.trim().toLowerCase() : value);
  }
  return stableStringify(parts);
}

/**
 * The hash the write journal keeps of a record the runtime wrote. Null fields are left out: a system fills the
 * columns a create did not name with null, and the echo must still be recognised.
 */
export function writtenContentHash(fields: Record<string, unknown>): string {
  return hashOf(stableObject(fields, true));
}

/** Whether two records have the same {@link writtenContentHash}, without hashing: equal once null fields are left out. */
export function sameWrittenContent(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  let present = 0;
  for (const [field, value] of Object.entries(a)) {
    if (value === null || value === undefined) continue;
    present++;
    if (!Object.hasOwn(b, field) || !sameValue(value, b[field])) return false;
  }
  for (const value of Object.values(b)) if (value !== null && value !== undefined) present--;
  return present === 0;
}
