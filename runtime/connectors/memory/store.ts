/**
 * In-memory systems for tests: a named store holds collections that tests edit out of band (as another user of the
 * system would) while the `memory` connector reads and writes them, and faults that make the store misbehave the way
 * real systems do. Everything random comes from the store's seed, so a failing run replays exactly.
 */
import { randomUUID } from 'node:crypto';
import { mergeLeaves } from '../../../nodes/paths';
import type { FlowRecord } from '../../../nodes/types';
import { ConnectorError, type DeleteMeaning, type ListPosition, type SourceRecord, type Version, type WriteOp } from '../types';
import { seededRandom } from '../../seededRandom';
import { compareVersions } from '../versions';

export interface MemoryCollectionOptions {
  /** Declared fields and their types (`text`, `number`, ...). When given, a write naming another field fails, as a table without that column would. */
  fields?: Record<string, string>;
  /** `counter`: 1, 2, 3…; `iso`: ISO-8601 text one millisecond apart; `none`: no versions, so every poll lists everything. */
  versions?: 'counter' | 'iso' | 'none';
  /** delete() marks the record deleted (and lists it so) instead of removing it. */
  softDelete?: boolean;
  /** The collection stores the runtime's loop-prevention tag. */
  tags?: boolean;
  /** Updates and deletes honour expectedVersion. Needs versions. */
  conditionalWrites?: boolean;
  /** scanIds works, so hard deletes can be seen. */
  fullScan?: boolean;
  /**
   * False: the system has no change feed (capabilities.changeFeed, snapshot change detection). Every listing is the
   * whole collection in id order, whatever `since` asks; records keep their versions (or none) all the same.
   */
  changeFeed?: boolean;
  /**
   * What a delete does, as SaaS systems differ: `remove` (default; or marks deleted with softDelete), `close` (the
   * record stays with `closed: true`, as a GitHub issue is closed) or `cannot` (a delete fails, never worth retrying).
   */
  deletes?: DeleteMeaning;
  /** A create may carry the key the record is to take (capabilities.givenKeys); default true. */
  givenKeys?: boolean;
  /**
   * A create returns the record as stored (capabilities.createdRecords), as a database's `INSERT … RETURNING` does;
   * default false, as a SaaS API's create answer is not the record a read returns, so the engine reads creates back.
   */
  createdRecords?: boolean;
}

/** A connector call as fault predicates see it; `writeOp` is one op of a write, failing that op alone. */
export type MemoryCall =
  | { method: 'open'; collection: string }
  | { method: 'listSince'; collection: string; position: ListPosition; limit: number }
  | { method: 'getMany'; collection: string; ids: readonly string[] }
  | { method: 'write'; collection: string; ops: readonly WriteOp[] }
  | { method: 'writeOp'; collection: string; op: WriteOp; index: number }
  | { method: 'scanIds'; collection: string; limit: number }
  | { method: 'describe' };

export type MemoryMethod = MemoryCall['method'];

/** Decides whether a call fails: an Error or a message fails it, true fails it with a stock message. */
export type FaultPredicate = (call: MemoryCall) => Error | string | boolean | null | undefined;

/** Misbehaviour switched on a store; counts and one-off failures live in {@link MemoryStore.failNthCall}. */
export interface MemoryFaults {
  /** Every call waits this long first, as a slow network would. */
  delayMs: number;
  /** Shuffles the records within each listed page (the `next` position stays right). */
  reorderListings: boolean;
  /** Lists some records of each page twice, as an at-least-once API would. */
  duplicateListings: boolean;
  /**
   * Leaves some records out of each page of a whole listing (the `next` position stays right), as a listing paged by
   * position does when a record before the reader is deleted meanwhile: a record not listed is not thereby gone.
   * Listings by version are left whole: a record skipped there would be lost for good, as no real feed loses one.
   */
  skipListings: boolean;
  /** The next N write() calls apply their ops and then throw {@link SimulatedCrash}: the process died after the system wrote and before the runtime committed. */
  crashAfterWrite: number;
}

/** Thrown by a write that was applied, standing in for a crash right after it. */
export class SimulatedCrash extends Error {
  constructor(collection: string) {
    super(`simulated crash after a write to memory collection "${collection}" was applied`);
    this.name = 'SimulatedCrash';
  }
}

/** A failure injected by a fault; retryable unless the fault says otherwise, as outages usually are. */
export class InjectedFault extends ConnectorError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { retryable?: boolean; retryAfterMs?: number } = {}) {
    super(message, { retryable: options.retryable ?? true });
    this.name = 'InjectedFault';
    this.retryAfterMs = options.retryAfterMs;
  }
}

interface StoredRecord {
  id: string;
  version: Version | null;
  tag: string | null;
  deleted: boolean;
  fields: FlowRecord;
}

/** Optional control over an out-of-band edit: tests of cursors need equal or chosen versions. */
export interface ExternalEditOptions {
  id?: string;
  version?: Version;
  tag?: string | null;
}

// ISO versions count milliseconds from here, so they read as timestamps and stay the same from run to run.
const isoEpochMs = Date.UTC(2024, 0, 1);

/** One collection of a memory store: what a table is to SQLite. */
export class MemoryCollection {
  readonly options: Required<Omit<MemoryCollectionOptions, 'fields'>> & { fields: Record<string, string> | null };
  private readonly records = new Map<string, StoredRecord>();
  /** Records that left the collection (removed, or marked deleted) so far, by anyone: see {@link removalMark}. */
  private removals = 0;
  /** Tells this collection from one made later under the same name. */
  private readonly instance = randomUUID();
  /** Records by (version, id), rebuilt after a change, so paging a big collection does not sort it per page. */
  private sorted: StoredRecord[] | null = null;
  /** Records by id, for listings that do not go by version. */
  private sortedById: StoredRecord[] | null = null;
  private sortedLiveIds: string[] | null = null;
  private lastGeneratedId = 0;

  constructor(
    readonly name: string,
    private readonly store: MemoryStore,
    options: MemoryCollectionOptions = {},
  ) {
    const versions = options.versions ?? 'counter';
    this.options = {
      fields: options.fields ?? null,
      versions,
      softDelete: options.softDelete ?? false,
      tags: options.tags ?? true,
      conditionalWrites: (options.conditionalWrites ?? true) && versions !== 'none',
      fullScan: options.fullScan ?? true,
      deletes: options.deletes ?? 'remove',
      changeFeed: options.changeFeed ?? true,
      givenKeys: options.givenKeys ?? true,
      createdRecords: options.createdRecords ?? false,
    };
  }

  /** Adds a record as another user of the system would; returns its id. */
  insert(fields: FlowRecord, options: ExternalEditOptions = {}): string {
    const id = options.id ?? this.newId();
    if (this.records.has(id)) throw new Error(`memory collection "${this.name}" already has a record ${id}`);
    this.put({ id, version: options.version ?? this.nextVersion(), tag: options.tag ?? null, deleted: false, fields: structuredClone(fields) });
    return id;
  }

  /** Adds records that all share one version, as a bulk import in one instant would. */
  insertAtOneVersion(list: readonly FlowRecord[]): string[] {
    const version = this.nextVersion();
    return list.map((fields) => this.insert(fields, { version: version ?? undefined }));
  }

  /**
   * Changes fields as another user would. The tag stays as it was, as a column the other user does not touch would:
   * an edit after a sync carries the runtime's old tag with new content.
   */
  update(id: string, fields: FlowRecord, options: Omit<ExternalEditOptions, 'id'> = {}): void {
    const record = this.existing(id);
    this.put({
      ...record,
      fields: { ...record.fields, ...structuredClone(fields) },
      version: options.version ?? this.nextVersion(),
      tag: options.tag === undefined ? record.tag : options.tag,
    });
  }

  /** Removes a record for good: only a full scan notices. */
  delete(id: string): void {
    this.existing(id);
    this.records.delete(id);
    this.removals++;
    this.changed();
  }

  /** @internal Changes whenever a record leaves the collection, whoever removes it (Connector.removalMark). */
  removalMark(): string {
    return `${this.instance}:${this.removals}`;
  }

  /** Marks a record deleted and gives it a new version, so a poll lists it as deleted. */
  softDelete(id: string): void {
    const record = this.existing(id);
    this.put({ ...record, deleted: true, version: this.nextVersion() });
  }

  /** The record as the connector would read it, or undefined. */
  get(id: string): SourceRecord | undefined {
    const record = this.records.get(id);
    return record === undefined ? undefined : toSourceRecord(record);
  }

  /** Every record, soft-deleted ones included, ordered by version then id. */
  all(): SourceRecord[] {
    return this.inOrder().map(toSourceRecord);
  }

  get size(): number {
    return this.records.size;
  }

  /** @internal The records at or after a listing position, for the connector. */
  pageFrom(position: ListPosition, limit: number): { records: SourceRecord[]; more: boolean } {
    const byId = this.options.versions === 'none' || !this.options.changeFeed;
    const ordered = byId ? this.inIdOrder() : this.inOrder();
    const start = byId ? this.firstAfterId(ordered, position.afterId) : this.firstAt(ordered, position);
    const slice = ordered.slice(start, start + limit);
    return { records: slice.map(toSourceRecord), more: start + limit < ordered.length };
  }

  /** @internal Ids of records that are not deleted, ordered, for scanIds. */
  liveIds(): readonly string[] {
    this.sortedLiveIds ??= [...this.records.values()]
      .filter((record) => !record.deleted)
      .map((record) => record.id)
      .sort(compareIds);
    return this.sortedLiveIds;
  }

  /** @internal Up to `limit` live ids after `afterId` (from the first when null), in id order. */
  liveIdsAfter(afterId: string | null, limit: number): string[] {
    const ids = this.liveIds();
    const start = afterId === null ? 0 : lowerBound(ids, (id) => compareIds(id, afterId) <= 0);
    return ids.slice(start, start + limit);
  }

  /** @internal Applies one op of the connector's write; the caller has checked fields and permissions. */
  apply(op: WriteOp): { ok: true; id: string; version: Version | null } | { ok: false; reason: 'changed' | 'missing' | 'taken' } | { ok: false; reason: 'failed'; message: string; retryable: false } {
    if (op.kind === 'create') {
      if (op.id !== undefined && !this.options.givenKeys) return { ok: false, reason: 'failed', message: `memory collection "${this.name}" cannot take a given key`, retryable: false };
      // A soft-deleted record still holds its key, as a row marked deleted does.
      if (op.id !== undefined && this.records.has(op.id)) return { ok: false, reason: 'taken' };
      const id = op.id ?? this.newId();
      this.put({ id, version: this.nextVersion(), tag: this.options.tags ? op.tag : null, deleted: false, fields: structuredClone(op.fields) });
      return { ok: true, id, version: this.records.get(id)?.version ?? null };
    }
    const record = this.records.get(op.id);
    if (record === undefined || record.deleted) return { ok: false, reason: 'missing' };
    // A null expectedVersion asks for no condition: there is no version to hold the record to.
    if (this.options.conditionalWrites && op.expectedVersion !== null && record.version !== op.expectedVersion) {
      return { ok: false, reason: 'changed' };
    }
    if (op.kind === 'update') {
      const version = this.nextVersion();
      this.put({
        ...record,
        // Nested objects in an update are partial, merged key by key, as SaaS APIs merge `properties` on a PATCH.
        fields: mergeLeaves(record.fields, structuredClone(op.fields)),
        version,
        tag: this.options.tags ? op.tag : record.tag,
      });
      return { ok: true, id: op.id, version };
    }
    if (this.options.deletes === 'cannot') return { ok: false, reason: 'failed', message: `memory collection "${this.name}" cannot delete records`, retryable: false };
    if (this.options.deletes === 'close' || this.options.deletes === 'archive') {
      const version = this.nextVersion();
      this.put({ ...record, fields: { ...record.fields, closed: true }, version });
      return { ok: true, id: op.id, version };
    }
    if (this.options.softDelete) {
      const version = this.nextVersion();
      this.put({ ...record, deleted: true, version });
      return { ok: true, id: op.id, version };
    }
    this.records.delete(op.id);
    this.removals++;
    this.changed();
    return { ok: true, id: op.id, version: null };
  }

  /** @internal Field names a describe() lists: declared ones, or every name seen on a record. */
  fieldTypes(): Record<string, string> {
    if (this.options.fields) return { ...this.options.fields };
    const types: Record<string, string> = {};
    for (const record of this.records.values()) {
      for (const [name, value] of Object.entries(record.fields)) {
        if (value !== null && value !== undefined) types[name] ??= jsonType(value);
        else types[name] ??= 'any';
      }
    }
    return types;
  }

  private nextVersion(): Version | null {
    if (this.options.versions === 'none') return null;
    const tick = this.store.tick();
    return this.options.versions === 'iso' ? new Date(isoEpochMs + tick).toISOString() : tick;
  }

  private newId(): string {
    let id: string;
    // Zero-padded so text order is creation order; skips ids a test chose itself.
    do id = String(++this.lastGeneratedId).padStart(8, '0');
    while (this.records.has(id));
    return id;
  }

  private existing(id: string): StoredRecord {
    const record = this.records.get(id);
    if (record === undefined) throw new Error(`memory collection "${this.name}" has no record ${id}`);
    return record;
  }

  private put(record: StoredRecord): void {
    if (record.deleted && !this.records.get(record.id)?.deleted) this.removals++;
    this.records.set(record.id, record);
    this.changed();
  }

  private changed(): void {
    this.sorted = null;
    this.sortedById = null;
    this.sortedLiveIds = null;
  }

  private inOrder(): StoredRecord[] {
    this.sorted ??= [...this.records.values()].sort((a, b) => compareVersions(a.version, b.version) || compareIds(a.id, b.id));
    return this.sorted;
  }

  private inIdOrder(): StoredRecord[] {
    this.sortedById ??= [...this.records.values()].sort((a, b) => compareIds(a.id, b.id));
    return this.sortedById;
  }

  /** Binary search for the first record at or after (since, afterId). */
  private firstAt(ordered: StoredRecord[], position: ListPosition): number {
    const isBefore = (record: StoredRecord): boolean => {
      const byVersion = compareVersions(record.version, position.since);
      if (byVersion !== 0) return byVersion < 0;
      return position.afterId !== null && compareIds(record.id, position.afterId) <= 0;
    };
    return lowerBound(ordered, isBefore);
  }

  private firstAfterId(ordered: StoredRecord[], afterId: string | null): number {
    if (afterId === null) return 0;
    return lowerBound(ordered, (record) => compareIds(record.id, afterId) <= 0);
  }
}

/** One system: named collections, a version clock they share, faults and call counts. */
export class MemoryStore {
  readonly faults: MemoryFaults = { delayMs: 0, reorderListings: false, duplicateListings: false, skipListings: false, crashAfterWrite: 0 };
  readonly calls: Record<MemoryMethod, number> = { open: 0, listSince: 0, getMany: 0, write: 0, writeOp: 0, scanIds: 0, describe: 0 };
  private readonly collections = new Map<string, MemoryCollection>();
  private clock = 0;
  private readonly random: () => number;
  private predicates: FaultPredicate[] = [];

  constructor(
    readonly name: string,
    readonly seed = 1,
  ) {
    this.random = seededRandom(seed);
  }

  /** Adds a collection (replacing one of that name) and returns it for out-of-band edits. */
  createCollection(name: string, options: MemoryCollectionOptions = {}): MemoryCollection {
    const collection = new MemoryCollection(name, this, options);
    this.collections.set(name, collection);
    return collection;
  }

  /** The named collection; throws listing the others when there is none. */
  collection(name: string): MemoryCollection {
    const collection = this.collections.get(name);
    if (collection === undefined) {
      throw new ConnectorError(`memory store "${this.name}" has no collection "${name}"; collections: ${this.collectionNames().join(', ') || '(none)'}`);
    }
    return collection;
  }

  collectionNames(): string[] {
    return [...this.collections.keys()].sort();
  }

  /** Fails the nth call of `method` from now on (1 is the very next), once. Returns a function that cancels it. */
  failNthCall(method: MemoryMethod, n: number, error: Error | string = `injected failure of ${method} call ${n}`): () => void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a whole number from 1, got ${n}`);
    const target = this.calls[method] + n;
    // Predicates run after the call is counted, so the nth call sees calls[method] === target.
    const predicate: FaultPredicate = (call) => call.method === method && this.calls[method] === target && error;
    return this.failWhen(predicate);
  }

  /** Fails every call the predicate picks. Returns a function that removes it. */
  failWhen(predicate: FaultPredicate): () => void {
    this.predicates.push(predicate);
    return () => {
      this.predicates = this.predicates.filter((other) => other !== predicate);
    };
  }

  /** Switches every fault off; call counts stay. */
  clearFaults(): void {
    this.predicates = [];
    Object.assign(this.faults, { delayMs: 0, reorderListings: false, duplicateListings: false, skipListings: false, crashAfterWrite: 0 } satisfies MemoryFaults);
  }

  /** @internal The next version tick, shared by the store's collections. */
  tick(): number {
    return ++this.clock;
  }

  /** @internal Counts a call, waits out the delay and throws an injected failure. */
  async enter(call: MemoryCall): Promise<void> {
    this.calls[call.method]++;
    if (this.faults.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.faults.delayMs));
    const fault = this.faultFor(call);
    if (fault) throw fault;
  }

  /** @internal The injected failure for a call, if a predicate picks it. For write ops, which fail as results rather than throw. */
  faultFor(call: MemoryCall): Error | undefined {
    for (const predicate of this.predicates) {
      const verdict = predicate(call);
      if (verdict instanceof Error) return verdict;
      if (typeof verdict === 'string') return new InjectedFault(verdict);
      if (verdict === true) return new InjectedFault(`injected failure of ${call.method}`);
    }
    return undefined;
  }

  /** @internal Applies skipListings (to a page of a whole listing), reorderListings and duplicateListings to one page. */
  disturbPage(records: SourceRecord[], whole: boolean): SourceRecord[] {
    let page = records;
    if (this.faults.skipListings && whole && page.length > 0) page = page.filter(() => this.random() >= 0.25);
    if (this.faults.duplicateListings && page.length > 0) {
      page = [...page];
      const copies = Math.max(1, Math.floor(page.length / 4));
      for (let i = 0; i < copies; i++) {
        const original = page[Math.floor(this.random() * records.length)] as SourceRecord;
        page.splice(Math.floor(this.random() * (page.length + 1)), 0, structuredClone(original));
      }
    }
    if (this.faults.reorderListings) {
      page = [...page];
      for (let i = page.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [page[i], page[j]] = [page[j] as SourceRecord, page[i] as SourceRecord];
      }
    }
    return page;
  }

  /** @internal Whether this write should throw after applying, counting it down. */
  takeCrash(): boolean {
    if (this.faults.crashAfterWrite <= 0) return false;
    this.faults.crashAfterWrite--;
    return true;
  }
}

const stores = new Map<string, MemoryStore>();

/** Creates a store, replacing any of that name, and registers it for `connection: { store: name }`. */
export function createMemoryStore(name: string, options: { seed?: number } = {}): MemoryStore {
  const store = new MemoryStore(name, options.seed);
  stores.set(name, store);
  return store;
}

/** The registered store of that name, or undefined. */
export function getMemoryStore(name: string): MemoryStore | undefined {
  return stores.get(name);
}

/** Unregisters a store, so a test leaves nothing behind for the next. */
export function deleteMemoryStore(name: string): boolean {
  return stores.delete(name);
}

/** Names of the registered stores, for error messages. */
export function memoryStoreNames(): string[] {
  return [...stores.keys()].sort();
}

/** Orders ids by code unit, as the collection lists them. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toSourceRecord(record: StoredRecord): SourceRecord {
  return { id: record.id, version: record.version, tag: record.tag, deleted: record.deleted, fields: structuredClone(record.fields) };
}

function jsonType(value: unknown): string {
  if (typeof value === 'string') return 'text';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  return 'json';
}

/** Index of the first element for which `isBefore` is false; `isBefore` must hold for a prefix only. */
function lowerBound<T>(items: readonly T[], isBefore: (item: T) => boolean): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (isBefore(items[middle] as T)) low = middle + 1;
    else high = middle;
  }
  return low;
}
