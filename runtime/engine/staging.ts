import Sqlite from 'better-sqlite3';
import type { SourceRecord, Version } from '../connectors/types';

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

const SELECT = 'select seq, node_id, record_id, version, tag, deleted, fields, projection, problem, match_key from staged';

/**
 * The changes of one pass, kept in a private temporary SQLite database (its pages spill to disk), so a pass
 * over a million records holds a page of them in memory, not all of them. It is not the state: a dry run uses it
 * too, and it vanishes when closed.
 */
export class ChangeStaging {
  private readonly db = new Sqlite('');
  private readonly statements;
  private nextSeq = 1;

  constructor() {
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
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
      create index staged_match on staged (match_key);
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
      byMatchKey: this.db.prepare(`${SELECT} where match_key = ? and done = 0 order by seq`),
      byMatchKeys: this.db.prepare(`${SELECT} where match_key in (select value from json_each(?)) and done = 0 and seq not between ? and ? order by seq`),
      get: this.db.prepare(`${SELECT} where node_id = ? and record_id = ? and done = 0`),
      getMany: this.db.prepare(`${SELECT} where node_id = ? and record_id in (select value from json_each(?)) and done = 0`),
      markDone: this.db.prepare('update staged set done = 1 where seq in (select value from json_each(?))'),
      countPending: this.db.prepare('select count(*) as n from staged where done = 0'),
      countPendingDeletes: this.db.prepare('select count(*) as n from staged where done = 0 and deleted = 1'),
      presentOfNode: this.db.prepare('select record_id from staged where node_id = ? and deleted = 0 limit ?').pluck(),
      addScanned: this.db.prepare('insert or ignore into scanned (node_id, record_id) values (?, ?)'),
      scanned: this.db.prepare('select 1 from scanned where node_id = ? and record_id = ?'),
    };
  }

  /** Stages records of one side, replacing any earlier staged version of the same record. */
  add(nodeId: string, entries: ReadonlyArray<{ record: SourceRecord } & StagedProjection>): void {
    const insert = this.statements.insert;
    const insertAll = this.db.transaction(() => {
      for (const { record, projection, problem, dropped, matchKey } of entries) {
        insert.run(
          this.nextSeq++,
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
    return this.rows(this.statements.byMatchKey.all(matchKey));
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
    const others = this.rows(this.statements.byMatchKeys.all(JSON.stringify(matchKeys), first, last));
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

  /** Ids of the records of one side staged as present (not deleted), at most `limit` of them. */
  presentIdsOf(nodeId: string, limit: number): string[] {
    return this.statements.presentOfNode.all(nodeId, limit) as string[];
  }

  /** Remembers ids seen by a full scan of a side, to find the linked records that are gone. */
  addScanned(nodeId: string, recordIds: readonly string[]): void {
    const statement = this.statements.addScanned;
    this.db.transaction(() => {
      for (const id of recordIds) statement.run(nodeId, id);
    })();
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
