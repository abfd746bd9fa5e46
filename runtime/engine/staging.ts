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
  private readonly insertStatement;
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
      create index staged_match on staged (match_key, done);
      create table scanned (node_id text not null, record_id text not null, primary key (node_id, record_id)) without rowid;
    `);
    // A record listed twice in one pass (a duplicated delivery, a page boundary) keeps its latest version.
    this.insertStatement = this.db.prepare(
      `insert into staged (seq, node_id, record_id, version, tag, deleted, fields, projection, problem, match_key)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       on conflict (node_id, record_id) do update set version = excluded.version, tag = excluded.tag,
         deleted = excluded.deleted, fields = excluded.fields, projection = excluded.projection,
         problem = excluded.problem, match_key = excluded.match_key, done = 0`,
    );
  }

  /** Stages records of one side, replacing any earlier staged version of the same record. */
  add(nodeId: string, entries: ReadonlyArray<{ record: SourceRecord } & StagedProjection>): void {
    const insertAll = this.db.transaction(() => {
      for (const { record, projection, problem, dropped, matchKey } of entries) {
        this.insertStatement.run(
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
    return this.rows(this.db.prepare(`${SELECT} where seq > ? and done = 0 order by seq limit ?`).all(afterSeq, limit));
  }

  /** Pending changes of every side whose match values are `matchKey`. */
  byMatchKey(matchKey: string): StagedChange[] {
    return this.rows(this.db.prepare(`${SELECT} where match_key = ? and done = 0 order by seq`).all(matchKey));
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
    return this.rows(this.db.prepare(`${SELECT} where node_id = ? and record_id = ? and done = 0`).all(nodeId, recordId))[0] ?? null;
  }

  markDone(seqs: readonly number[]): void {
    const statement = this.db.prepare('update staged set done = 1 where seq = ?');
    this.db.transaction(() => {
      for (const seq of seqs) statement.run(seq);
    })();
  }

  countPending(): number {
    return (this.db.prepare('select count(*) as n from staged where done = 0').get() as { n: number }).n;
  }

  /** Remembers ids seen by a full scan of a side, to find the linked records that are gone. */
  addScanned(nodeId: string, recordIds: readonly string[]): void {
    const statement = this.db.prepare('insert or ignore into scanned (node_id, record_id) values (?, ?)');
    this.db.transaction(() => {
      for (const id of recordIds) statement.run(nodeId, id);
    })();
  }

  /** Which of these ids the scan of a side did not see. */
  missingFromScan(nodeId: string, recordIds: readonly string[]): string[] {
    const statement = this.db.prepare('select 1 from scanned where node_id = ? and record_id = ?');
    return recordIds.filter((id) => statement.get(nodeId, id) === undefined);
  }

  close(): void {
    this.db.close();
  }
}
