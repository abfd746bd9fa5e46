/**
 * Dotted paths into JSON bodies (`data.items`, `meta.updated_at`): where an API keeps its list, a record's id, its
 * updatedAt. The empty path is the value itself.
 */
import { plainExcerpt } from '../excerpt';

/** The segments of a dotted path; the empty path has none. */
export function pathSegments(path: string): string[] {
  return path === '' || path === '.' ? [] : path.split('.');
}

/** The value at a dotted path, or undefined when any step is missing or not an object. */
export function getPath(value: unknown, path: string): unknown {
  let current = value;
  for (const segment of pathSegments(path)) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** Sets a value at a dotted path, creating the objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const segments = pathSegments(path);
  const last = segments.pop();
  if (last === undefined) throw new RangeError('cannot set the empty path');
  let current = target;
  for (const segment of segments) {
    const next = current[segment];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) current[segment] = {};
    current = current[segment] as Record<string, unknown>;
  }
  current[last] = value;
}

/** Removes the value at a dotted path, if there is one. */
export function deletePath(target: Record<string, unknown>, path: string): void {
  const segments = pathSegments(path);
  const last = segments.pop();
  if (last === undefined) return;
  const parent = getPath(target, segments.join('.'));
  if (parent !== null && typeof parent === 'object' && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[last];
}

/** Top-level keys of a body, for error messages that say what a response does have. */
export function describeKeys(value: unknown): string {
  if (Array.isArray(value)) return `a JSON array of ${value.length}`;
  if (value === null || typeof value !== 'object') return `a JSON ${value === null ? 'null' : typeof value}`;
  const keys = Object.keys(value);
  // Keys are the server's text too: each is shown as a short plain excerpt.
  const shown = keys.slice(0, 12).map((key) => plainExcerpt(key, 40));
  return keys.length === 0 ? 'an empty object' : `an object with keys ${shown.join(', ')}${keys.length > 12 ? ', …' : ''}`;
}
