/**
 * Field paths: how mapping pairs and transform ops name a field inside nested objects. `properties.email` is the
 * `email` key of the object in `properties`; a key that itself holds a dot is written with a backslash before it,
 * `a\.b` (in a JSON document `"a\\.b"`), and a backslash in a key as `\\`. A path never indexes into a list: lists
 * are values, read and written whole.
 *
 * Writes are copy-on-write: an object a write or delete goes inside is replaced by a shallow copy first (unless the
 * caller made it, see {@link OwnedObjects}), so a record's nested objects can be shared with the record it was derived
 * from and are never changed in place.
 */
import { z } from 'zod';
import type { FlowRecord } from './types';

/** A path that goes inside something that is not an object (text, a number, a list), naming both. */
export class PathError extends Error {
  /** What is in the way, for a message that names the path already: `"name" holds text ("Ada"), not an object`. */
  readonly reason: string;
  constructor(
    /** The whole path, as written. */
    readonly path: string,
    /** The part of the path that holds the non-object, as written. */
    readonly blockedAt: string,
    readonly found: unknown,
  ) {
    const reason = `"${blockedAt}" holds ${describeValue(found)}, not an object`;
    super(`${reason}, so "${path}" cannot go inside it`);
    this.name = 'PathError';
    this.reason = reason;
  }
}

const parsed = new Map<string, readonly string[]>();
/** Paths come from flow configs, a few per node; the cache only stops an unusual caller from growing it forever. */
const MAX_CACHED = 10_000;

/** What is wrong with a path's syntax, or null when it is a valid path. */
export function pathProblem(path: string): string | null {
  const result = splitPath(path);
  return typeof result === 'string' ? result : null;
}

/** A config field that names a field by path: `missing` when it is absent or empty, the syntax problem otherwise. */
export function fieldPathSchema(missing: string) {
  return z
    .string({ error: missing })
    .min(1, missing)
    .superRefine((path, ctx) => {
      const problem = path === '' ? null : pathProblem(path);
      if (problem) ctx.addIssue({ code: 'custom', message: `"${path}" ${problem}` });
    });
}

/** The keys a path names, from the record down: `properties.email` → `['properties', 'email']`. Throws on bad syntax. */
export function parsePath(path: string): readonly string[] {
  const cached = parsed.get(path);
  if (cached) return cached;
  const result = splitPath(path);
  if (typeof result === 'string') throw new SyntaxError(`field path "${path}": ${result}`);
  if (parsed.size >= MAX_CACHED) parsed.clear();
  parsed.set(path, result);
  return result;
}

/** Writes keys as a path, escaping dots and backslashes inside keys: the inverse of {@link parsePath}. */
export function formatPath(keys: readonly string[]): string {
  return keys.map((key) => key.replaceAll('\\', '\\\\').replaceAll('.', '\\.')).join('.');
}

/** Whether `prefix` names an object that `path` goes inside (a strict prefix, key by key). */
export function isInside(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length < path.length && prefix.every((key, index) => path[index] === key);
}

function splitPath(path: string): readonly string[] | string {
  if (path === '') return 'must name a field';
  const keys: string[] = [];
  let key = '';
  for (let at = 0; at < path.length; at += 1) {
    const char = path[at] as string;
    if (char === '\\') {
      const next = path[at + 1];
      if (next !== '.' && next !== '\\') {
        return `a backslash must come before "." or "\\" (at character ${at + 1}); write a dot inside a key as \\. and a backslash as \\\\`;
      }
      key += next;
      at += 1;
    } else if (char === '.') {
      if (key === '') return `has an empty key ${at === 0 ? 'at the start' : `before character ${at + 1}`}; a dot separates the keys of nested objects (write a dot inside a key as \\.)`;
      keys.push(key);
      key = '';
    } else {
      key += char;
    }
  }
  if (key === '') return 'ends with a dot; a dot separates the keys of nested objects (write a dot inside a key as \\.)';
  keys.push(key);
  return keys;
}

/** An object whose keys a path can go inside: not null, not a list, not a Date or other class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** A path as written, or its keys already parsed (callers on a hot path parse once per config). */
export type PathLike = string | readonly string[];

function keysOf(path: PathLike): readonly string[] {
  return typeof path === 'string' ? parsePath(path) : path;
}

function textOf(path: PathLike): string {
  return typeof path === 'string' ? path : formatPath(path);
}

/**
 * The value at a path, or undefined when it is absent. Going inside null finds nothing (null is "no value"); going
 * inside anything else that is not an object throws a {@link PathError}.
 */
export function getPath(record: FlowRecord, path: PathLike): unknown {
  const keys = keysOf(path);
  const first = keys[0] as string;
  let current: unknown = Object.hasOwn(record, first) ? record[first] : undefined;
  for (let index = 1; index < keys.length; index += 1) {
    if (current === null || current === undefined) return undefined;
    if (!isPlainObject(current)) throw new PathError(textOf(path), formatPath(keys.slice(0, index)), current);
    const key = keys[index] as string;
    if (!Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

/** Whether the path holds a value (undefined counts as absent). Throws a {@link PathError} as {@link getPath} does. */
export function hasPath(record: FlowRecord, path: PathLike): boolean {
  return getPath(record, path) !== undefined;
}

/** The value at a path, or undefined when it is absent or cannot be reached: for messages, which must not throw. */
export function peekPath(record: FlowRecord, path: PathLike): unknown {
  try {
    return getPath(record, path);
  } catch {
    return undefined;
  }
}

/**
 * Objects a caller built itself for one record, which writes may change in place. Everything else a write goes
 * inside is copied first (and the copy joins the set), so each shared object is copied once per record, not per write.
 */
export type OwnedObjects = WeakSet<object>;

/**
 * Sets the value at a path, creating objects on the way (in place of absent keys and of null). Throws a
 * {@link PathError} when the way goes inside text, a number or a list, which it will not overwrite.
 */
export function setPath(record: FlowRecord, path: PathLike, value: unknown, owned?: OwnedObjects): void {
  const keys = keysOf(path);
  let target = record;
  for (let index = 0; index < keys.length - 1; index += 1) {
    const key = keys[index] as string;
    const next = Object.hasOwn(target, key) ? target[key] : undefined;
    if (next !== null && next !== undefined && !isPlainObject(next)) throw new PathError(textOf(path), formatPath(keys.slice(0, index + 1)), next);
    target = ownedChild(target, key, next ?? null, owned);
  }
  putKey(target, keys[keys.length - 1] as string, value);
}

/**
 * Removes the value at a path, if there is one, and then every object on the way that the removal left empty: a
 * field moved out of `properties` does not leave an empty `properties` behind to be written. A path that cannot be
 * reached holds nothing to remove.
 */
export function deletePath(record: FlowRecord, path: PathLike, owned?: OwnedObjects): void {
  removeIn(record, keysOf(path), 0, owned);
}

function removeIn(target: FlowRecord, keys: readonly string[], index: number, owned: OwnedObjects | undefined): boolean {
  const key = keys[index] as string;
  if (!Object.hasOwn(target, key)) return false;
  if (index === keys.length - 1) {
    delete target[key];
    return true;
  }
  const child = target[key];
  if (!isPlainObject(child) || !hasKeys(child, keys, index + 1)) return false;
  const copy = ownedChild(target, key, child, owned);
  removeIn(copy, keys, index + 1, owned);
  if (Object.keys(copy).length === 0) delete target[key];
  return true;
}

/** Whether the rest of the path is there to remove, so nothing is copied for a path that holds nothing. */
function hasKeys(object: FlowRecord, keys: readonly string[], index: number): boolean {
  let current: unknown = object;
  for (let at = index; at < keys.length; at += 1) {
    if (!isPlainObject(current) || !Object.hasOwn(current, keys[at] as string)) return false;
    current = current[keys[at] as string];
  }
  return true;
}

/** `target[key]` as an object this write may change: itself when owned, otherwise a copy (or a new object for null) put in its place. */
function ownedChild(target: FlowRecord, key: string, child: FlowRecord | null, owned: OwnedObjects | undefined): FlowRecord {
  if (child !== null && owned?.has(child)) return child;
  const copy: FlowRecord = child === null ? {} : { ...child };
  owned?.add(copy);
  putKey(target, key, copy);
  return copy;
}

/**
 * `record` with the values of `partial` written over it, going inside objects both hold: a nested partial update
 * (`{ properties: { email } }`) changes that leaf and keeps the other keys. Lists and other values replace whole.
 * Neither argument is changed.
 */
export function mergeLeaves(record: FlowRecord, partial: FlowRecord): FlowRecord {
  const merged: FlowRecord = { ...record };
  for (const [key, value] of Object.entries(partial)) {
    if (value === undefined) continue;
    const current = merged[key];
    putKey(merged, key, isPlainObject(value) && isPlainObject(current) ? mergeLeaves(current, value) : value);
  }
  return merged;
}

/**
 * Every leaf of a record, as [keys, value]: a value that is not a plain object, or an empty object (which has no
 * leaves of its own but is still a value). Undefined values are absent.
 */
export function leaves(record: FlowRecord, prefix: readonly string[] = []): Array<[string[], unknown]> {
  const found: Array<[string[], unknown]> = [];
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue;
    const keys = [...prefix, key];
    if (isPlainObject(value) && Object.keys(value).length > 0) found.push(...leaves(value, keys));
    else found.push([keys, value]);
  }
  return found;
}

// `record.__proto__ = x` would change the object's prototype rather than add a key; a JSON key of that name is data.
function putKey(target: FlowRecord, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return `a list (of ${value.length})`;
  if (typeof value === 'string') return `text (${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)})`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value === 'number' ? 'a number' : 'a boolean'} (${String(value)})`;
  return typeof value === 'object' ? 'an object that is not plain data' : typeof value;
}
