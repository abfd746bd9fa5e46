import Sqlite from 'better-sqlite3';
import type { SourceRecord, Version } from '../connectors/types';
import { sideRecordKey } from '../util/keys';

/** A change read from a side, waiting for its entity to be merged. */
export interface StagedChange {
  seq: number;
  nodeId: string;
  recordId: string;
  record: SourceRecord;
  /** The record projected into the conflict node's vocabulary; null when it failed or was filtered out. */
  projection: Record<string, unknown> | null;
  /** Why there is no projection: the node's error, or the filter's reason when `dropped`. */
  problem: string | null;
  dropped: boolean;
  matchKey: string | null;
}

/** What staging needs of a record besides the record itself. */
export interface StagedProjection {
  projection: Record<string, unknown> | null;
  problem: string | null;
  dropped: boolean;
  matchKey: string | null;
}

interface StagedRow {
  seq: number;
  node_id: string;
  record_id: string;
  version: string | null;
  tag: string | null;
  deleted: number;
  fields: string;
  projection: string | null;
  problem: string | null;
  match_key: string | null;
}

/**
 * Changes and scanned ids a pass keeps in memory before it moves them to a file. A staged change of the bench's
 * records takes about 1.7 KB in memory (100,000 of them raised peak RSS from 305 to 472 MB), so this bounds the extra
 * at about 20 MB, within the 400 MB a million-record sync may use, while webhook batches (2,000 events at most) and
 * ordinary polls stay in memory.
 */
export const DEFAULT_MEMORY_LIMIT = 10_000;

const SELECT = 'select seq, node_id, record_id, version, tag, deleted, fields, projection, problem, match_key from staged';

/** The staging file's statements by match values, prepared with their index (FileStaging.byMatch). */
interface MatchLookups {
  byMatchKey: Sqlite.Statement;
  byMatchKeys: Sqlite.Statement;
}

/**
 * Staged changes in a private temporary SQLite database (its pages spill to disk), so a pass over a million records
 * holds a page of them in memory, not all of them.
 */
class FileStaging implements Staging {
  private readonly db = new Sqlite('');
  private readonly statements;

  constructor() {
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    // 4 MB instead of better-sqlite3's 16: a million staged changes outgrow either, and building the match index sorts
    // within the cache's size, which would otherwise add to a million-record pass's peak memory.
    this.db.pragma('cache_size = -4000');
    this.db.exec(`
      create table staged (
        seq integer primary key,
        node_id text not null,
        record_id text not null,
        version text,
        tag text,
        deleted integer not null,
        fields text not null,
        projection text,
        problem text,
        match_key text,
        done integer not null default 0
      );
      create unique index staged_record on staged (node_id, record_id);
      create table scanned (node_id text not null, record_id text not null, primary key (node_id, record_id)) without rowid;
    `);
    // Prepared once: a pass runs these once per page or per record, and compiling SQL costs more than running it.
    this.statements = {
      // A record listed twice in one pass (a duplicated delivery, a page boundary) keeps its latest version.
      insert: this.db.prepare(
        `insert into staged (seq, node_id, record_id, version, tag, deleted, fields, projection, problem, match_key)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (node_id, record_id) do update set version = excluded.version, tag = excluded.tag,
           deleted = excluded.deleted, fields = excluded.fields, projection = excluded.projection,
           problem = excluded.problem, match_key = excluded.match_key, done = 0`,
      ),
      page: this.db.prepare(`${SELECT} where seq > ? and done = 0 order by seq limit ?`),
      get: this.db.prepare(`${SELECT} where node_id = ? and record_id = ? and done = 0`),
      getMany: this.db.prepare(`${SELECT} where node_id = ? and record_id in (select value from json_each(?)) and done = 0`),
      markDone: this.db.prepare('update staged set done = 1 where seq in (select value from json_each(?))'),
      countPending: this.db.prepare('select count(*) as n from staged where done = 0'),
      countPendingDeletes: this.db.prepare('select count(*) as n from staged where done = 0 and deleted = 1'),
      pendingDeletesOfNode: this.db.prepare('select record_id from staged where node_id = ? and done = 0 and deleted = 1').pluck(),
      presentOfNode: this.db.prepare('select record_id from staged where node_id = ? and deleted = 0 limit ?').pluck(),
      addScanned: this.db.prepare('insert or ignore into scanned (node_id, record_id) values (?, ?)'),
      scanned: this.db.prepare('select 1 from scanned where node_id = ? and record_id = ?'),
    };
  }

  /**
   * The lookups by match values, prepared with their index the first time one is asked for. A pass asks only once it
   * has staged every side, so the index is built once from all the keys (one sort) instead of entry by entry as the
   * changes come in, where each new key lands on a random page of it: that was 40% of the adds' time at 100,000
   * records and two thirds at a million (bench/engine.notes.md, sixth round). Changes staged after that are indexed as
   * they come, as by any index.
   */
  private matchLookups: MatchLookups | null = null;

  private byMatch(): MatchLookups {
    if (!this.matchLookups) {
      this.db.exec('create index staged_match on staged (match_key)');
      this.matchLookups = {
        byMatchKey: this.db.prepare(`${SELECT} where match_key = ? and done = 0 order by seq`),
        byMatchKeys: this.db.prepare(`${SELECT} where match_key in (select value from json_each(?)) and done = 0 and seq not between ? and ? order by seq`),
      };
    }
    return this.matchLookups;
  }

  add(entries: readonly StagedChange[]): void {
    const insert = this.statements.insert;
    const insertAll = this.db.transaction(() => {
      for (const { seq, nodeId, record, projection, problem, dropped, matchKey } of entries) {
        insert.run(
          seq,
          nodeId,
          record.id,
          record.version === null ? null : JSON.stringify(record.version),
          record.tag,
          record.deleted ? 1 : 0,
          JSON.stringify(record.fields),
          projection === null ? (dropped ? '"dropped"' : null) : JSON.stringify(projection),
          problem,
          matchKey,
        );
      }
    });
    insertAll();
  }

  /** Staged changes after `afterSeq` that are not done yet, in staging order. */
  page(afterSeq: number, limit: number): StagedChange[] {
    return this.rows(this.statements.page.all(afterSeq, limit));
  }

  /** Pending changes of every side whose match values are `matchKey`. */
  byMatchKey(matchKey: string): StagedChange[] {
    return this.rows(this.byMatch().byMatchKey.all(matchKey));
  }

  /**
   * Pending changes of every side, grouped by match values, for each of `matchKeys`, in staging order: one query
   * for a page. `page` is the page being merged (all of it pending): its changes are taken as they are rather than
   * read and parsed again.
   */
  byMatchKeys(matchKeys: readonly string[], page: readonly StagedChange[]): Map<string, StagedChange[]> {
    const groups = new Map<string, StagedChange[]>();
    if (matchKeys.length === 0) return groups;
    const wanted = new Set(matchKeys);
    const add = (change: StagedChange) => {
      const group = groups.get(change.matchKey as string);
      if (group) group.push(change);
      else groups.set(change.matchKey as string, [change]);
    };
    for (const change of page) if (change.matchKey !== null && wanted.has(change.matchKey)) add(change);
    const first = page[0]?.seq ?? 0;
    const last = page.at(-1)?.seq ?? 0;
    const others = this.rows(this.byMatch().byMatchKeys.all(JSON.stringify(matchKeys), first, last));
    for (const change of others) add(change);
    if (others.length > 0) for (const group of groups.values()) if (group.length > 1) group.sort((a, b) => a.seq - b.seq);
    return groups;
  }

  private rows(raw: unknown[]): StagedChange[] {
    return (raw as StagedRow[]).map((row) => ({
      projection: row.projection === null || row.projection === '"dropped"' ? null : (JSON.parse(row.projection) as Record<string, unknown>),
      dropped: row.projection === '"dropped"',
      problem: row.problem,
      matchKey: row.match_key,
      seq: row.seq,
      nodeId: row.node_id,
      recordId: row.record_id,
      record: {
        id: row.record_id,
        version: row.version === null ? null : (JSON.parse(row.version) as Version),
        tag: row.tag,
        deleted: row.deleted === 1,
        fields: JSON.parse(row.fields) as Record<string, unknown>,
      },
    }));
  }

  /** The staged change of a record, if any and not done. */
  get(nodeId: string, recordId: string): StagedChange | null {
    return this.rows(this.statements.get.all(nodeId, recordId))[0] ?? null;
  }

  /** The staged changes, not done, of these records of one side, by record id. */
  getMany(nodeId: string, recordIds: readonly string[]): Map<string, StagedChange> {
    const found = new Map<string, StagedChange>();
    if (recordIds.length === 0) return found;
    for (const change of this.rows(this.statements.getMany.all(nodeId, JSON.stringify(recordIds)))) found.set(change.recordId, change);
    return found;
  }

  markDone(seqs: readonly number[]): void {
    if (seqs.length > 0) this.statements.markDone.run(JSON.stringify(seqs));
  }

  countPending(): number {
    return (this.statements.countPending.get() as { n: number }).n;
  }

  /** How many pending changes are deletes. */
  countPendingDeletes(): number {
    return (this.statements.countPendingDeletes.get() as { n: number }).n;
  }

  pendingDeleteIdsOf(nodeId: string): string[] {
    return this.statements.pendingDeletesOfNode.all(nodeId) as string[];
  }

  /** Ids of the records of one side staged as present (not deleted), at most `limit` of them. */
  presentIdsOf(nodeId: string, limit: number): string[] {
    return this.statements.presentOfNode.all(nodeId, limit) as string[];
  }

  /** Remembers ids seen by a full scan of a side, to find the linked records that are gone; returns the new ones. */
  addScanned(nodeId: string, recordIds: readonly string[]): string[] {
    const statement = this.statements.addScanned;
    const added: string[] = [];
    this.db.transaction(() => {
      for (const id of recordIds) if (statement.run(nodeId, id).changes > 0) added.push(id);
    })();
    return added;
  }

  /** Which of these ids the scan of a side did not see. */
  missingFromScan(nodeId: string, recordIds: readonly string[]): string[] {
    const statement = this.statements.scanned;
    return recordIds.filter((id) => statement.get(nodeId, id) === undefined);
  }

  close(): void {
    this.db.close();
  }
}

/** What a pass asks of its staged changes; see {@link ChangeStaging} for each operation. */
interface Staging {
  add(entries: readonly StagedChange[]): void;
  page(afterSeq: number, limit: number): StagedChange[];
  byMatchKey(matchKey: string): StagedChange[];
  byMatchKeys(matchKeys: readonly string[], page: readonly StagedChange[]): Map<string, StagedChange[]>;
  get(nodeId: string, recordId: string): StagedChange | null;
  getMany(nodeId: string, recordIds: readonly string[]): Map<string, StagedChange>;
  markDone(seqs: readonly number[]): void;
  countPending(): number;
  countPendingDeletes(): number;
  pendingDeleteIdsOf(nodeId: string): string[];
  presentIdsOf(nodeId: string, limit: number): string[];
  addScanned(nodeId: string, recordIds: readonly string[]): string[];
  missingFromScan(nodeId: string, recordIds: readonly string[]): string[];
  close(): void;
}

/**
 * Staged changes in plain maps. Most passes stage a few hundred changes (a webhook batch, a poll); for them the file's
 * setup — opening it, creating its tables, preparing its statements — and the JSON round trip of every change cost
 * more than the merge. The changes are kept as staged: nothing in a pass changes a staged record or projection.
 */
class MemoryStaging implements Staging {
  /** By seq; a Map keeps insertion order, which is seq order, and a restaged record keeps its place. */
  private readonly changes = new Map<number, StagedChange>();
  /** The seqs in order, to start a page without walking the changes before it. */
  private readonly order: number[] = [];
  private readonly done = new Set<number>();
  private readonly byRecord = new Map<string, number>();
  private readonly byMatch = new Map<string, number[]>();
  private readonly scanned = new Map<string, Set<string>>();
  private scannedCount = 0;

  /** How many changes and scanned ids it holds: what decides when to move them to a file. */
  get size(): number {
    return this.changes.size + this.scannedCount;
  }

  add(entries: readonly StagedChange[]): void {
    for (const entry of entries) {
      const key = sideRecordKey(entry.nodeId, entry.recordId);
      const existing = this.byRecord.get(key);
      // A record listed twice in one pass keeps its first place and its latest version, and is pending again.
      const change = existing === undefined ? entry : { ...entry, seq: existing };
      if (existing === undefined) {
        this.byRecord.set(key, change.seq);
        this.order.push(change.seq);
      }
      this.changes.set(change.seq, change);
      this.done.delete(change.seq);
      if (change.matchKey !== null) {
        const seqs = this.byMatch.get(change.matchKey);
        if (!seqs) this.byMatch.set(change.matchKey, [change.seq]);
        else if (!seqs.includes(change.seq)) seqs.push(change.seq);
      }
    }
  }

  /** Every change with its done flag, in seq order: what a file takes over. */
  all(): Array<{ change: StagedChange; done: boolean }> {
    return [...this.changes.values()].map((change) => ({ change, done: this.done.has(change.seq) }));
  }

  scannedIds(): Map<string, Set<string>> {
    return this.scanned;
  }

  page(afterSeq: number, limit: number): StagedChange[] {
    const page: StagedChange[] = [];
    // The first seq after `afterSeq`: seqs are handed out in increasing order.
    let low = 0;
    let high = this.order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.order[middle] as number) <= afterSeq) low = middle + 1;
      else high = middle;
    }
    for (let index = low; index < this.order.length && page.length < limit; index++) {
      const seq = this.order[index] as number;
      if (!this.done.has(seq)) page.push(this.changes.get(seq) as StagedChange);
    }
    return page;
  }

  byMatchKey(matchKey: string): StagedChange[] {
    const found: StagedChange[] = [];
    for (const seq of this.byMatch.get(matchKey) ?? []) {
      const change = this.changes.get(seq) as StagedChange;
      // A restaged record may have changed its match values since it was filed under this key.
      if (change.matchKey === matchKey && !this.done.has(seq)) found.push(change);
    }
    return found.sort((a, b) => a.seq - b.seq);
  }

  /** Here the page's changes are the staged objects themselves, so every group comes from staging as it is. */
  byMatchKeys(matchKeys: readonly string[]): Map<string, StagedChange[]> {
    const groups = new Map<string, StagedChange[]>();
    for (const key of new Set(matchKeys)) {
      const group = this.byMatchKey(key);
      if (group.length > 0) groups.set(key, group);
    }
    return groups;
  }

  get(nodeId: string, recordId: string): StagedChange | null {
    const seq = this.byRecord.get(sideRecordKey(nodeId, recordId));
    return seq === undefined || this.done.has(seq) ? null : (this.changes.get(seq) as StagedChange);
  }

  getMany(nodeId: string, recordIds: readonly string[]): Map<string, StagedChange> {
    const found = new Map<string, StagedChange>();
    for (const recordId of recordIds) {
      const change = this.get(nodeId, recordId);
      if (change) found.set(recordId, change);
    }
    return found;
  }

  markDone(seqs: readonly number[]): void {
    for (const seq of seqs) if (this.changes.has(seq)) this.done.add(seq);
  }

  countPending(): number {
    return this.changes.size - this.done.size;
  }

  countPendingDeletes(): number {
    let deletes = 0;
    for (const change of this.changes.values()) if (change.record.deleted && !this.done.has(change.seq)) deletes++;
    return deletes;
  }

  pendingDeleteIdsOf(nodeId: string): string[] {
    const ids: string[] = [];
    for (const change of this.changes.values()) if (change.nodeId === nodeId && change.record.deleted && !this.done.has(change.seq)) ids.push(change.recordId);
    return ids;
  }

  presentIdsOf(nodeId: string, limit: number): string[] {
    const ids: string[] = [];
    for (const change of this.changes.values()) {
      if (ids.length >= limit) break;
      if (change.nodeId === nodeId && !change.record.deleted) ids.push(change.recordId);
    }
    return ids;
  }

  addScanned(nodeId: string, recordIds: readonly string[]): string[] {
    let ids = this.scanned.get(nodeId);
    if (!ids) {
      ids = new Set();
      this.scanned.set(nodeId, ids);
    }
    const added: string[] = [];
    for (const id of recordIds) {
      if (ids.has(id)) continue;
      ids.add(id);
      added.push(id);
      this.scannedCount++;
    }
    return added;
  }

  missingFromScan(nodeId: string, recordIds: readonly string[]): string[] {
    const ids = this.scanned.get(nodeId);
    return ids ? recordIds.filter((id) => !ids.has(id)) : [...recordIds];
  }

  close(): void {
    this.changes.clear();
    this.scanned.clear();
  }
}

/**
 * The changes of one pass, waiting to be merged. They start in memory; past `memoryLimit` changes and scanned ids
 * they move to a private temporary SQLite file, so a pass over a million records holds a page of them in memory, not
 * all of them. It is not the state: a dry run uses it too, and it vanishes when closed.
 */
export class ChangeStaging {
  private memory: MemoryStaging | null = new MemoryStaging();
  private store: Staging = this.memory as MemoryStaging;
  private nextSeq = 1;

  constructor(private readonly memoryLimit = DEFAULT_MEMORY_LIMIT) {}

  /** True once the changes live in a file. */
  get spilled(): boolean {
    return this.memory === null;
  }

  /** Stages records of one side, replacing any earlier staged version of the same record. */
  add(nodeId: string, entries: ReadonlyArray<{ record: SourceRecord } & StagedProjection>): void {
    const changes = entries.map(({ record, projection, problem, dropped, matchKey }) => ({
      seq: this.nextSeq++,
      nodeId,
      recordId: record.id,
      record,
      projection,
      problem,
      dropped,
      matchKey,
    }));
    this.store.add(changes);
    this.spillIfLarge();
  }

  private spillIfLarge(): void {
    if (!this.memory || this.memory.size <= this.memoryLimit) return;
    const file = new FileStaging();
    const changes = this.memory.all();
    file.add(changes.map(({ change }) => change));
    file.markDone(changes.filter(({ done }) => done).map(({ change }) => change.seq));
    for (const [nodeId, ids] of this.memory.scannedIds()) file.addScanned(nodeId, [...ids]);
    this.memory.close();
    this.memory = null;
    this.store = file;
  }

  /** Staged changes after `afterSeq` that are not done yet, in staging order. */
  page(afterSeq: number, limit: number): StagedChange[] {
    return this.store.page(afterSeq, limit);
  }

  /** Pending changes of every side whose match values are `matchKey`. */
  byMatchKey(matchKey: string): StagedChange[] {
    return this.store.byMatchKey(matchKey);
  }

  /**
   * Pending changes of every side, grouped by match values, for each of `matchKeys`, in staging order: one query
   * for a page. `page` is the page being merged (all of it pending): its changes are taken as they are rather than
   * read and parsed again.
   */
  byMatchKeys(matchKeys: readonly string[], page: readonly StagedChange[]): Map<string, StagedChange[]> {
    return this.store.byMatchKeys(matchKeys, page);
  }

  /** The staged change of a record, if any and not done. */
  get(nodeId: string, recordId: string): StagedChange | null {
    return this.store.get(nodeId, recordId);
  }

  /** The staged changes, not done, of these records of one side, by record id. */
  getMany(nodeId: string, recordIds: readonly string[]): Map<string, StagedChange> {
    return this.store.getMany(nodeId, recordIds);
  }

  markDone(seqs: readonly number[]): void {
    this.store.markDone(seqs);
  }

  countPending(): number {
    return this.store.countPending();
  }

  /** How many pending changes are deletes. */
  countPendingDeletes(): number {
    return this.store.countPendingDeletes();
  }

  /** Ids of the records of one side staged as deleted and not merged yet. */
  pendingDeleteIdsOf(nodeId: string): string[] {
    return this.store.pendingDeleteIdsOf(nodeId);
  }

  /** Ids of the records of one side staged as present (not deleted), at most `limit` of them. */
  presentIdsOf(nodeId: string, limit: number): string[] {
    return this.store.presentIdsOf(nodeId, limit);
  }

  /**
   * Remembers ids seen by a full scan or a whole listing of a side, to find the linked records that are gone. Returns
   * the ids not seen before in this pass: a listing may repeat a record, and counting it twice would hide a delete.
   */
  addScanned(nodeId: string, recordIds: readonly string[]): string[] {
    const added = this.store.addScanned(nodeId, recordIds);
    this.spillIfLarge();
    return added;
  }

  /** Which of these ids the scan of a side did not see. */
  missingFromScan(nodeId: string, recordIds: readonly string[]): string[] {
    return this.store.missingFromScan(nodeId, recordIds);
  }

  close(): void {
    this.store.close();
  }
}
