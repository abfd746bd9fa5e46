import type { Version } from './types';

/**
 * Orders versions the way SQLite orders mixed values: null first, then numbers, then text. Text compares by code
 * unit, which for ISO-8601 timestamps in one format is time order.
 */
export function compareVersions(a: Version | null, b: Version | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether two versions are the same one (two nulls are: neither record has a version). Never by text: 5 is not "5". */
export function sameVersion(a: Version | null, b: Version | null): boolean {
  return compareVersions(a, b) === 0;
}
