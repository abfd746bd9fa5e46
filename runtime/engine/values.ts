import { createHash } from 'node:crypto';

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

/** JSON with object keys sorted, so equal records serialise to equal text. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${stableStringify(record[key])}`).join(',')}}`;
}

/** A short content hash of a record, for recognising the runtime's own writes when they come back. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('base64url').slice(0, 22);
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
  const present: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(fields)) if (value !== null && value !== undefined) present[field] = value;
  return contentHash(present);
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
