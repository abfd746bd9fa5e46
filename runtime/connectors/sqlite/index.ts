/**
 * The `sqlite` connector (SPEC §9): one table of one SQLite file, through better-sqlite3's synchronous API.
 *
 * Performance: listSince is a keyset query on (updatedAt, key). Without an index SQLite scans and sorts the whole table
 * for every page, so a full poll is quadratic (100k rows at 500 a page: ~4.5 s; 1M rows: many minutes). The connector
 * creates nothing in someone else's database; the owner should create:
 *
 *   CREATE INDEX leads_updated_at ON leads (updated_at);          -- key is INTEGER PRIMARY KEY (the rowid rides along)
 *   CREATE INDEX leads_updated_at ON leads (updated_at, uid);     -- any other key
 *
 * With it, paging 1M rows at 500 a page takes ~1.5 s and 100k updates in batches of 500 ~1 s. The key should be
 * unique (a primary key or a unique index): an update addresses one record by it.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import type { FlowRecord } from '../../../nodes/types';
import {
  ConnectorError,
  type CollectionDescription,
  type ConnectionContext,
  type Connector,
  type ConnectorCapabilities,
  type ConnectorContext,
  type ConnectorType,
  type ListPage,
  type ListPosition,
  type SourceRecord,
  type Version,
  type WriteOp,
  type WriteResult,
} from '../types';
import { quoteIdentifier } from '../sql/quoting';
import { coarseStampMs, detectTimestampFormat, formatTimestamp, nextStampMs, parseTimestampMs, resolutionMs, type TimestampFormat } from '../timestamps';
import {
  columnAffinity,
  columnDecoder,
  isDeletedFlag,
  liveRowCondition,
  toSqlValue,
  toVersion,
} from './values';
import { throwIfConnectionProblems } from '../connection';
import { allowedFilePath } from '../files';
import { sqliteConnectionForm } from './form';

const defaultBusyTimeoutMs = 5000;
const knownConnectionKeys = ['file', 'busyTimeoutMs', 'journalMode'];
/** The journal modes a connection may ask for; `memory` and `off` can corrupt a database on a crash, so they are not offered. */
const journalModes = ['wal', 'delete', 'truncate', 'persist'];
// Field sets vary per flow but not per record; this bounds the cache if something generates many.
const maxCachedStatements = 256;

interface ColumnInfo {
  name: string;
  declaredType: string;
  notNull: boolean;
  /** Position in the primary key, 0 when not part of it. */
  primaryKey: number;
}

type Statement = Database.Statement<unknown[], unknown>;

function checkSqliteConnection(connection: Record<string, unknown>): Array<{ path: (string | number)[]; message: string }> {
  const problems: Array<{ path: (string | number)[]; message: string }> = [];
  if (typeof connection.file !== 'string' || connection.file.trim() === '') {
    problems.push({ path: ['file'], message: 'must name a SQLite database file, e.g. crm.db (relative to the flow file)' });
  }
  const timeout = connection.busyTimeoutMs;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0)) {
    problems.push({ path: ['busyTimeoutMs'], message: 'must be a whole number of milliseconds, 0 or more' });
  }
  const journalMode = connection.journalMode;
  if (journalMode !== undefined && (typeof journalMode !== 'string' || !journalModes.includes(journalMode))) {
    problems.push({ path: ['journalMode'], message: `must be one of ${journalModes.join(', ')}` });
  }
  for (const key of Object.keys(connection)) {
    if (!knownConnectionKeys.includes(key)) {
      problems.push({ path: [key], message: `is not a sqlite connection option; known options: ${knownConnectionKeys.join(', ')}` });
    }
  }
  return problems;
}

async function openSqliteConnector(context: ConnectorContext): Promise<Connector> {
  const { config } = context;
  const problems = checkSqliteConnection(config.connection);
  throwIfConnectionProblems(problems);
  const fileName = config.connection.file as string;
  const path = allowedFilePath(context.access.files, context.baseDir, fileName, 'connection.file');
  // better-sqlite3 would create an empty database, and a typo would then look like a table that vanished.
  if (!existsSync(path)) throw new ConnectorError(`SQLite database file not found: ${path}`);

  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true, timeout: (config.connection.busyTimeoutMs as number | undefined) ?? defaultBusyTimeoutMs });
  } catch (error) {
    throw new ConnectorError(`cannot open SQLite database ${path}: ${messageOf(error)}`, { cause: error });
  }
  try {
    const tables = listTables(db);
    const journalMode = config.connection.journalMode as string | undefined;
    // The journal mode belongs to the database's owner: it stays in the file for every program that opens it, so it is
    // changed only when the connection asks (WAL lets a poll and another program's writes run side by side).
    if (journalMode !== undefined) setJournalMode(db, journalMode);
    return new SqliteCollection(db, context, fileName, tables, path);
  } catch (error) {
    db.close();
    if (error instanceof ConnectorError) throw error;
    throw new ConnectorError(`cannot read SQLite database ${path}: ${messageOf(error)}`, { cause: error });
  }
}

function setJournalMode(db: Database.Database, wanted: string): void {
  let mode: unknown;
  try {
    mode = db.pragma(`journal_mode = ${wanted}`, { simple: true });
  } catch (error) {
    throw new ConnectorError(`connection.journalMode: cannot switch the database to ${wanted}: ${messageOf(error)}`, { cause: error });
  }
  if (String(mode).toLowerCase() !== wanted) throw new ConnectorError(`connection.journalMode: the database stayed in ${String(mode)} mode instead of ${wanted}`);
}

function listTables(db: Database.Database): string[] {
  return db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    .pluck()
    .all() as string[];
}

function readColumns(db: Database.Database, table: string): ColumnInfo[] {
  const rows = db.prepare('SELECT name, type, "notnull" AS not_null, pk FROM pragma_table_info(?)').all(table) as Array<{
    name: string;
    type: string;
    not_null: number;
    pk: number;
  }>;
  return rows.map((row) => ({ name: row.name, declaredType: row.type, notNull: row.not_null === 1, primaryKey: row.pk }));
}

function readTableSql(db: Database.Database, table: string): string {
  return (db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?").pluck().get(table) as string | null) ?? '';
}

/** The column that is the table's rowid under another name (`id INTEGER PRIMARY KEY`), if one is. */
function rowidAlias(columns: readonly ColumnInfo[], tableSql: string): ColumnInfo | undefined {
  const keyColumns = columns.filter((info) => info.primaryKey > 0);
  const only = keyColumns.length === 1 ? keyColumns[0] : undefined;
  // Only the exact type name INTEGER makes a column an alias of the rowid, and only in a rowid table.
  if (!only || only.declaredType.toUpperCase() !== 'INTEGER' || /WITHOUT\s+ROWID/i.test(tableSql)) return undefined;
  return only;
}

/**
 * Whether the table's CREATE TABLE declares AUTOINCREMENT, which SQLite allows on an INTEGER PRIMARY KEY only. Quoted
 * names, string literals and comments are left out first: a column named "autoincrement" declares nothing.
 */
function declaresAutoincrement(tableSql: string): boolean {
  const bare = tableSql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)/g, ' ');
  return /\bAUTOINCREMENT\b/i.test(bare);
}

/**
 * What to know before keying a trigger on the table's rowid alias (`key`: the trigger's key; null, any trigger's):
 * without AUTOINCREMENT SQLite hands a deleted row's id to the next row, and a sync takes the newcomer for the record
 * it replaced. SQLite (https://www.sqlite.org/autoinc.html): "The usual algorithm is to give the newly created row a
 * ROWID that is one larger than the largest ROWID in the table prior to the insert", so the largest one is given
 * again once its row is deleted; with AUTOINCREMENT "The ROWID chosen for the new row is at least one larger than the
 * largest ROWID that has ever before existed in that same table".
 */
function reusedKeyWarnings(table: string, columns: readonly ColumnInfo[], tableSql: string, key: string | null): string[] {
  const alias = rowidAlias(columns, tableSql);
  if (!alias || (key !== null && alias.name !== key) || declaresAutoincrement(tableSql)) return [];
  return [
    `table "${table}": its key "${alias.name}" is an INTEGER PRIMARY KEY without AUTOINCREMENT, so SQLite gives the id of a deleted last row to the next row inserted; ` +
      'a sync keyed on it takes that row for the deleted record and overwrites the record linked to it in the other systems. ' +
      `Declare the column "${alias.name} INTEGER PRIMARY KEY AUTOINCREMENT" (SQLite cannot add it to an existing table: create the table anew and copy the rows over), ` +
      'or key the trigger on a column the application never reuses, such as a UUID',
  ];
}

/** A table as `describe()` tells of it, with what to know before keying a trigger on it (reusedKeyWarnings). */
export type TableDescription = CollectionDescription & { warnings?: string[] };

/** One table's data fields (`isData` leaves bookkeeping columns out) and its warnings for a trigger keyed on `key`. */
function describeTable(db: Database.Database, table: string, key: string | null, isData: (column: string) => boolean = () => true): TableDescription {
  const columns = readColumns(db, table);
  const warnings = reusedKeyWarnings(table, columns, readTableSql(db, table), key);
  return {
    name: table,
    fields: columns.filter((info) => isData(info.name)).map((info) => ({ name: info.name, type: info.declaredType === '' ? 'any' : info.declaredType, nullable: !info.notNull })),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/** SQLite matches names without regard to case; the schema's spelling is what rows come back with. */
function findByName<T>(items: readonly T[], name: string, nameOf: (item: T) => string): T | undefined {
  return items.find((item) => nameOf(item) === name) ?? items.find((item) => nameOf(item).toLowerCase() === name.toLowerCase());
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function failedResult(error: unknown): WriteResult {
  const code = (error as { code?: unknown } | null)?.code;
  // Locks and I/O trouble pass; a constraint or a type error will fail the same way next time.
  const retryable = typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL)/.test(code);
  return { ok: false, reason: 'failed', message: messageOf(error), retryable };
}

/** Hands out updatedAt stamps for one write() batch: one instant for the batch, a later one for an id seen twice. */
class BatchClock {
  private stamp: number | null = null;
  private readonly touched = new Set<string>();
  /** The last stamp as the column stores it: a batch's writes mostly share one, and formatting it costs more than the insert's bookkeeping. */
  private formatted: { stamp: number; value: unknown } | null = null;
  constructor(
    private readonly resolution: number,
    readonly format: TimestampFormat,
  ) {}

  /** `stampFor`, as the updatedAt column stores it. */
  storedStampFor(id: string | null, afterMs: number | null): unknown {
    const stamp = this.stampFor(id, afterMs);
    if (this.formatted?.stamp !== stamp) this.formatted = { stamp, value: toSqlValue(formatTimestamp(stamp, this.format)) };
    return this.formatted.value;
  }

  /** `afterMs`: the record's current stamp, which the new one must pass even if another program's clock ran ahead. */
  stampFor(id: string | null, afterMs: number | null = null): number {
    if (this.stamp === null || (id !== null && this.touched.has(id)) || (afterMs !== null && this.stamp <= afterMs)) {
      this.stamp = nextStampMs(this.resolution, afterMs === null ? Date.now() : Math.max(Date.now(), afterMs + this.resolution));
      this.touched.clear();
    }
    if (id !== null) this.touched.add(id);
    return this.stamp;
  }

  /** After a create: its database-assigned id counts as touched. */
  touch(id: string): void {
    this.touched.add(id);
  }
}

class SqliteCollection implements Connector {
  readonly capabilities: ConnectorCapabilities;
  private readonly table: string;
  private readonly quotedTable: string;
  private readonly key: ColumnInfo;
  /** The key is the rowid: SQLite assigns it on insert, and lookups must bind integers. */
  private readonly keyIsRowid: boolean;
  private readonly keyIsNumeric: boolean;
  private readonly updatedAt: ColumnInfo | undefined;
  private readonly tag: ColumnInfo | undefined;
  private readonly deletedFlag: ColumnInfo | undefined;
  /** Column name to role, for the columns that are identity and bookkeeping rather than data (SPEC §3). */
  private readonly bookkeeping: Map<string, string>;
  private columns = new Map<string, ColumnInfo>();
  private decoders = new Map<string, (value: unknown) => unknown>();
  private readonly statements = new Map<string, Statement>();
  /** The file's schema_version when `columns` was read: a write batch reads them again once it moves on. */
  private columnsVersion = -1;
  /** Row readers by the columns a statement returns (records()); cleared when the columns are read again. */
  private readonly readers = new Map<string, (row: unknown[]) => SourceRecord>();
  /** How a create reads back the row it wrote, for the columns of `columns`. */
  private createdReader: { statement: Statement; read: (row: unknown[]) => SourceRecord } | null = null;
  /** Detected on the first write that finds a value to copy; until then each write looks again. */
  private timestampFormat: TimestampFormat | null = null;
  private readonly runBatch: (ops: readonly WriteOp[]) => WriteResult[];
  /** Tells marks of this connection from another's (removalMark). */
  private readonly connectionMark = randomUUID();

  /** The file and the shape of its tables as opened: a connector kept between passes must still match them. */
  private readonly opened: { dev: number; ino: number; schemaVersion: number };

  constructor(
    private readonly db: Database.Database,
    context: ConnectorContext,
    private readonly fileName: string,
    tables: string[],
    private readonly path: string,
  ) {
    const { config } = context;
    const file = statSync(path);
    this.opened = { dev: file.dev, ino: file.ino, schemaVersion: db.pragma('schema_version', { simple: true }) as number };
    const table = findByName(tables, config.collection, (name) => name);
    if (table === undefined) {
      throw new ConnectorError(
        `table "${config.collection}" does not exist in ${fileName}; tables: ${tables.length > 0 ? tables.join(', ') : '(none)'}`,
      );
    }
    this.table = table;
    this.quotedTable = quoteIdentifier(table);
    const columns = this.refreshColumns();
    const column = (name: string | undefined, role: string): ColumnInfo | undefined => {
      if (name === undefined) return undefined;
      const found = findByName(columns, name, (info) => info.name);
      if (found === undefined) {
        throw new ConnectorError(
          `column "${name}" (${role}) does not exist in table "${table}" of ${fileName}; columns: ${columns.map((info) => info.name).join(', ')}`,
        );
      }
      return found;
    };
    this.key = column(config.key, 'key') as ColumnInfo;
    this.updatedAt = column(config.updatedAt, 'updatedAt');
    this.tag = column(config.tagColumn, 'tagColumn');
    this.deletedFlag = column(config.deletedFlag, 'deletedFlag');
    this.bookkeeping = new Map();
    for (const [info, role] of [
      [this.deletedFlag, 'deletedFlag'],
      [this.tag, 'tagColumn'],
      [this.updatedAt, 'updatedAt'],
      [this.key, 'key'],
    ] as const) {
      if (info) this.bookkeeping.set(info.name, role);
    }

    this.keyIsRowid = rowidAlias(columns, readTableSql(db, table)) === this.key;
    this.keyIsNumeric = ['integer', 'real', 'numeric'].includes(columnAffinity(this.key.declaredType));

    this.capabilities = {
      conditionalWrites: this.updatedAt !== undefined,
      tags: this.tag !== undefined,
      incremental: this.updatedAt !== undefined,
      fullScan: true,
      givenKeys: true,
      // The row is read right after its INSERT, in the same transaction, triggers and defaults applied.
      createdRecords: true,
    };
    const step = this.coarseStampStep();
    if (step !== null) this.capabilities = { ...this.capabilities, lookbackMs: step };
    this.runBatch = db.transaction((ops: readonly WriteOp[]) => this.applyBatch(ops)).immediate;
  }

  async listSince(position: ListPosition, limit: number): Promise<ListPage> {
    assertLimit(limit);
    // One row past the page tells whether another page follows without a second round trip.
    const found = this.updatedAt ? this.recordsByVersion(this.updatedAt, position, limit + 1) : this.recordsByKey(position.afterId, limit + 1);
    const records = found.slice(0, limit);
    const last = records.at(-1);
    return { records, next: found.length > limit && last ? { since: last.version, afterId: last.id } : null };
  }

  /**
   * Keyset paging on (updatedAt, key), split in two queries at the tie: rows at exactly `since` after `afterId`, then
   * rows after `since`. Each is a single index range, where `(u, k) > (?, ?)` or an OR would seek on `u` alone and
   * rescan every tied row for every page — quadratic when a bulk import gave a million rows one timestamp.
   */
  private recordsByVersion(updatedAt: ColumnInfo, position: ListPosition, want: number): SourceRecord[] {
    const u = quoteIdentifier(updatedAt.name);
    const k = quoteIdentifier(this.key.name);
    const from = `SELECT * FROM ${this.quotedTable}`;
    const since = position.since === null ? null : toSqlValue(position.since);
    if (position.afterId === null) {
      if (since === null) return this.records('list:all', () => `${from} ORDER BY ${u}, ${k} LIMIT ?`, want);
      return this.records('list:from', () => `${from} WHERE ${u} >= ? ORDER BY ${u}, ${k} LIMIT ?`, since, want);
    }
    const afterKey = this.keyParam(position.afterId);
    // Rows without a version sort first; a listing from the start pages through them before the versioned ones.
    const ties =
      since === null
        ? this.records('list:nullTies', () => `${from} WHERE ${u} IS NULL AND ${k} > ? ORDER BY ${k} LIMIT ?`, afterKey, want)
        : this.records('list:ties', () => `${from} WHERE ${u} = ? AND ${k} > ? ORDER BY ${k} LIMIT ?`, since, afterKey, want);
    if (ties.length >= want) return ties;
    const rest =
      since === null
        ? this.records('list:versioned', () => `${from} WHERE ${u} IS NOT NULL ORDER BY ${u}, ${k} LIMIT ?`, want - ties.length)
        : this.records('list:after', () => `${from} WHERE ${u} > ? ORDER BY ${u}, ${k} LIMIT ?`, since, want - ties.length);
    return ties.concat(rest);
  }

  /** Without updatedAt there is nothing to resume from but the key: every poll lists the whole table. */
  private recordsByKey(afterId: string | null, want: number): SourceRecord[] {
    const k = quoteIdentifier(this.key.name);
    const from = `SELECT * FROM ${this.quotedTable}`;
    if (afterId === null) return this.records('keys:all', () => `${from} ORDER BY ${k} LIMIT ?`, want);
    return this.records('keys:after', () => `${from} WHERE ${k} > ? ORDER BY ${k} LIMIT ?`, this.keyParam(afterId), want);
  }

  async getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>> {
    const found = new Map<string, SourceRecord>();
    if (ids.length === 0) return found;
    // One statement for any number of ids: the list travels as a JSON array instead of one placeholder per id.
    const keys = JSON.stringify(ids.map((id) => this.keyJson(id)));
    const records = this.records(
      'getMany',
      () => `SELECT * FROM ${this.quotedTable} WHERE ${quoteIdentifier(this.key.name)} IN (SELECT value FROM json_each(?))`,
      keys,
    );
    for (const record of records) found.set(record.id, record);
    return found;
  }

  async write(ops: readonly WriteOp[]): Promise<WriteResult[]> {
    if (ops.length === 0) return [];
    try {
      return this.runBatch(ops);
    } catch (error) {
      // The transaction rolled back as a whole (a lock never came free, the disk is full): nothing was written.
      return ops.map(() => failedResult(error));
    }
  }

  async *scanIds(limit: number): AsyncIterable<string[]> {
    assertLimit(limit);
    const k = quoteIdentifier(this.key.name);
    // Soft-deleted rows are reported by listSince; here they count as gone, like a hard delete.
    const live = this.deletedFlag ? liveRowCondition(quoteIdentifier(this.deletedFlag.name)) : '1';
    let afterKey: unknown = undefined;
    for (;;) {
      const keys =
        afterKey === undefined
          ? this.statement('scan:first', () => `SELECT ${k} FROM ${this.quotedTable} WHERE ${live} ORDER BY ${k} LIMIT ?`)
              .pluck()
              .all(limit)
          : this.statement('scan:after', () => `SELECT ${k} FROM ${this.quotedTable} WHERE ${live} AND ${k} > ? ORDER BY ${k} LIMIT ?`)
              .pluck()
              .all(afterKey, limit);
      if (keys.length > 0) yield keys.map((key) => String(key));
      if (keys.length < limit) return;
      afterKey = toSqlValue(keys.at(-1));
    }
  }

  async count(): Promise<number> {
    // The rows scanIds lists. Without a condition SQLite counts the cells of the smallest index page by page (its
    // count optimization); any WHERE, even a constant true one, makes it step through every row instead, which took
    // twice as long over a million rows (bench/engine.notes.md, sixth round).
    const where = this.deletedFlag ? ` WHERE ${liveRowCondition(quoteIdentifier(this.deletedFlag.name))}` : '';
    return Number(this.statement('count', () => `SELECT count(*) FROM ${this.quotedTable}${where}`).pluck().get());
  }

  /**
   * `data_version` changes when another connection (another process, a person's tool) commits to the file, and not
   * for this connection's own writes: while it stays the same, no row can have left the table but by this connector.
   * It means nothing to another connection, so the mark names this one.
   */
  async removalMark(): Promise<string | null> {
    if (!this.db.open) return null;
    return `${this.connectionMark}:${String(this.db.pragma('data_version', { simple: true }))}`;
  }

  /**
   * Every table with its columns, this collection's bookkeeping left out. This collection carries a warning when the
   * trigger is keyed on a rowid that SQLite reuses, another table when its rowid would be (reusedKeyWarnings): no
   * other path carries what a connector finds in the system to the person who set the trigger up.
   */
  async describe(): Promise<TableDescription[]> {
    return listTables(this.db).map((table) =>
      table === this.table ? describeTable(this.db, table, this.key.name, (name) => !this.bookkeeping.has(name)) : describeTable(this.db, table, null),
    );
  }

  /**
   * Still the same file (not replaced, say by a restored backup) with the same tables and columns: the columns, key
   * and statements read at open still hold.
   */
  async stillCurrent(): Promise<boolean> {
    if (!this.db.open) return false;
    try {
      const file = statSync(this.path);
      return file.dev === this.opened.dev && file.ino === this.opened.ino && this.db.pragma('schema_version', { simple: true }) === this.opened.schemaVersion;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private applyBatch(ops: readonly WriteOp[]): WriteResult[] {
    // Inside the batch's write transaction no one else can change the table: columns read now hold for its creates.
    if (this.db.pragma('schema_version', { simple: true }) !== this.columnsVersion) this.refreshColumns();
    const format = this.currentTimestampFormat();
    // No clock where the table keeps no stamp the runtime writes.
    const clock = this.updatedAt && format ? new BatchClock(resolutionMs(format), format) : null;
    const results: WriteResult[] = [];
    for (const op of ops) {
      try {
        results.push(this.applyOp(op, clock));
      } catch (error) {
        // A failed statement undoes only itself, so the batch goes on; a failure that ended the transaction cannot.
        if (!this.db.inTransaction) throw error;
        results.push(failedResult(error));
      }
    }
    return results;
  }

  private applyOp(op: WriteOp, clock: BatchClock | null): WriteResult {
    switch (op.kind) {
      case 'create': {
        const problem = this.checkFields(op.fields);
        if (problem) return problem;
        const given = op.id === undefined ? null : this.givenKey(op.id);
        if (given && !given.ok) return given.result;
        const id = given ? given.id : this.keyIsRowid ? null : randomUUID();
        const assignments = this.fieldAssignments(op.fields);
        if (id !== null) assignments.unshift([this.key.name, this.keyParam(id)]);
        this.addBookkeeping(assignments, clock, id, null, op.tag);
        const names = assignments.map(([name]) => name);
        const insert = this.statement(`insert:${names.join('\u0000')}`, () =>
          names.length === 0
            ? `INSERT INTO ${this.quotedTable} DEFAULT VALUES`
            : `INSERT INTO ${this.quotedTable} (${names.map(quoteIdentifier).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`,
        );
        const info = insert.run(...assignments.map(([, value]) => value));
        // An IGNORE conflict clause skips the row without an error, and the last rowid then names another row: linking
        // the entity to it would have the next update overwrite someone else's record.
        if (info.changes === 0) return { ok: false, reason: 'failed', message: `table "${this.table}" ignored the create: no row was written`, retryable: false };
        const newId = id ?? String(info.lastInsertRowid);
        clock?.touch(newId);
        // The whole row, not only its version (one lookup either way): the engine need not read it back.
        const record = this.readCreated(newId);
        return record ? { ok: true, id: newId, version: record.version, record } : { ok: true, id: newId, version: null };
      }
      case 'update': {
        const problem = this.checkFields(op.fields);
        if (problem) return problem;
        const assignments = this.fieldAssignments(op.fields);
        this.addBookkeeping(assignments, clock, op.id, op.expectedVersion, op.tag);
        return this.updateWhere('update', op.id, op.expectedVersion, assignments);
      }
      case 'delete': {
        if (this.deletedFlag) {
          const assignments: Array<[string, unknown]> = [[this.deletedFlag.name, this.deletedFlagValue()]];
          this.addBookkeeping(assignments, clock, op.id, null, undefined);
          return this.updateWhere('softDelete', op.id, op.expectedVersion, assignments);
        }
        const conditional = this.isConditional(op.expectedVersion);
        const remove = this.statement(`delete:${conditional}`, () => `DELETE FROM ${this.quotedTable} ${this.whereKey(conditional)}`);
        const info = remove.run(...this.whereParams(op.id, op.expectedVersion, conditional));
        if (info.changes > 0) return { ok: true, id: op.id, version: null };
        return this.explainNoChange(op.id, conditional);
      }
    }
  }

  /**
   * The columns the runtime keeps besides the fields: the updatedAt stamp (past `current`, the record's stamp when
   * known) and the write's tag, when the table has them and the op carries one (a soft delete has no tag).
   */
  private addBookkeeping(assignments: Array<[string, unknown]>, clock: BatchClock | null, id: string | null, current: Version | null, tag: string | undefined): void {
    if (this.updatedAt && clock) assignments.push([this.updatedAt.name, clock.storedStampFor(id, current === null ? null : parseTimestampMs(current, clock.format))]);
    if (this.tag && tag !== undefined) assignments.push([this.tag.name, tag]);
  }

  /**
   * A key a create was given, as the key column stores it ("042" is 42 in a numeric key); `taken` when a row holds it
   * already, soft-deleted or not (checked first: a key column need not be unique, and nothing is ever overwritten).
   */
  private givenKey(id: string): { ok: true; id: string } | { ok: false; result: WriteResult } {
    if (this.keyIsRowid && !/^-?\d+$/.test(id)) {
      return { ok: false, result: this.fieldProblem(`key "${id}" is not a whole number, and the key column "${this.key.name}" of table "${this.table}" is an INTEGER PRIMARY KEY`) };
    }
    const stored = this.keyIsNumeric && /^-?\d{1,15}$/.test(id) ? String(BigInt(id)) : id;
    if (this.readCurrent(stored) !== undefined) return { ok: false, result: { ok: false, reason: 'taken' } };
    return { ok: true, id: stored };
  }

  private updateWhere(purpose: string, id: string, expectedVersion: Version | null, assignments: Array<[string, unknown]>): WriteResult {
    const conditional = this.isConditional(expectedVersion);
    if (assignments.length === 0) {
      // Nothing to set (no fields, no updatedAt, no tag): still tell the caller whether the record is there as read.
      const current = this.readCurrent(id);
      if (current === undefined || current.deleted) return { ok: false, reason: 'missing' };
      if (conditional && current.version !== expectedVersion) return { ok: false, reason: 'changed' };
      return { ok: true, id, version: current.version };
    }
    const names = assignments.map(([name]) => name);
    const update = this.statement(
      `${purpose}:${conditional}:${names.join('\u0000')}`,
      () => `UPDATE ${this.quotedTable} SET ${names.map((name) => `${quoteIdentifier(name)} = ?`).join(', ')} ${this.whereKey(conditional)}`,
    );
    const info = update.run(...assignments.map(([, value]) => value), ...this.whereParams(id, expectedVersion, conditional));
    if (info.changes > 0) return { ok: true, id, version: this.readVersion(id) };
    return this.explainNoChange(id, conditional);
  }

  private isConditional(expectedVersion: Version | null): boolean {
    // A null expectedVersion asks for no condition: there is no version to hold the record to.
    return this.capabilities.conditionalWrites && expectedVersion !== null;
  }

  /** `WHERE key = ?`, plus `AND updatedAt IS ?` for update-if-unchanged, plus "not soft-deleted". */
  private whereKey(conditional: boolean): string {
    let where = `WHERE ${quoteIdentifier(this.key.name)} = ?`;
    if (conditional && this.updatedAt) where += ` AND ${quoteIdentifier(this.updatedAt.name)} IS ?`;
    if (this.deletedFlag) where += ` AND ${liveRowCondition(quoteIdentifier(this.deletedFlag.name))}`;
    return where;
  }

  private whereParams(id: string, expectedVersion: Version | null, conditional: boolean): unknown[] {
    return conditional ? [this.keyParam(id), toSqlValue(expectedVersion)] : [this.keyParam(id)];
  }

  /** No row matched: gone (or soft-deleted) is `missing`; still there means its version moved on, `changed`. */
  private explainNoChange(id: string, conditional: boolean): WriteResult {
    const current = this.readCurrent(id);
    if (current === undefined || current.deleted) return { ok: false, reason: 'missing' };
    if (conditional) return { ok: false, reason: 'changed' };
    // Only a trigger that ignores the statement (RAISE(IGNORE)) gets here.
    return { ok: false, reason: 'failed', message: `table "${this.table}" ignored the write to ${this.key.name} = ${id}`, retryable: false };
  }

  private readCurrent(id: string): { version: SourceRecord['version']; deleted: boolean } | undefined {
    const record = this.readRecord(id);
    return record && { version: record.version, deleted: record.deleted };
  }

  /**
   * A row just created, as a record. Its columns are named, so the statement and its reader serve every create: asking
   * SQLite a `SELECT *`'s columns costs more than the read, once per created row. Should the table have changed under
   * the connector (a column renamed or dropped), `SELECT *` reads it instead: the row is written, so its read must not
   * fail the create.
   */
  private readCreated(id: string): SourceRecord | undefined {
    try {
      this.createdReader ??= this.makeCreatedReader();
      const row = this.createdReader.statement.get(this.keyParam(id)) as unknown[] | undefined;
      return row && this.createdReader.read(row);
    } catch {
      return this.readRecord(id);
    }
  }

  /** Made once per set of columns (refreshColumns drops it): a create pays for the lookup alone. */
  private makeCreatedReader(): { statement: Statement; read: (row: unknown[]) => SourceRecord } {
    const names = [...this.columns.keys()];
    const statement = this.db.prepare(`SELECT ${names.map(quoteIdentifier).join(', ')} FROM ${this.quotedTable} WHERE ${quoteIdentifier(this.key.name)} = ?`).raw(true);
    return { statement, read: this.recordReader(names) };
  }

  /** The row of one key as a record, soft-deleted or not. */
  private readRecord(id: string): SourceRecord | undefined {
    return this.records('current', () => `SELECT * FROM ${this.quotedTable} WHERE ${quoteIdentifier(this.key.name)} = ?`, this.keyParam(id))[0];
  }

  /** Read back rather than trusted: a trigger or a column default may have put something else there. */
  private readVersion(id: string): SourceRecord['version'] {
    if (!this.updatedAt) return null;
    const version = this.statement(
      'version',
      () => `SELECT ${quoteIdentifier(this.updatedAt?.name ?? '')} FROM ${this.quotedTable} WHERE ${quoteIdentifier(this.key.name)} = ?`,
    )
      .pluck()
      .get(this.keyParam(id));
    return toVersion(version);
  }

  /** A failed result when a field is bookkeeping or names no column; null when every field can be written. */
  private checkFields(fields: FlowRecord): WriteResult | null {
    for (const name of Object.keys(fields)) {
      const role = this.bookkeeping.get(name);
      if (role !== undefined) {
        return this.fieldProblem(`field "${name}" is the ${role} column of table "${this.table}": bookkeeping, not data`);
      }
      if (this.columns.has(name)) continue;
      // The table may have gained the column since open.
      if (this.refreshColumns().some((info) => info.name === name)) continue;
      const sameButCase = [...this.columns.keys()].find((column) => column.toLowerCase() === name.toLowerCase());
      const hint = sameButCase ? ` (did you mean "${sameButCase}"?)` : '';
      return this.fieldProblem(`table "${this.table}" in ${this.fileName} has no column "${name}"${hint}`);
    }
    return null;
  }

  private fieldProblem(message: string): WriteResult {
    return { ok: false, reason: 'failed', message, retryable: false };
  }

  /** Sorted by name so one statement serves every op that writes the same fields. */
  private fieldAssignments(fields: FlowRecord): Array<[string, unknown]> {
    return Object.keys(fields)
      .filter((name) => fields[name] !== undefined)
      .sort()
      .map((name) => [name, toSqlValue(fields[name])]);
  }

  private currentTimestampFormat(): TimestampFormat | null {
    if (!this.updatedAt) return null;
    if (this.timestampFormat) return this.timestampFormat;
    const newest = this.newestStamp();
    const format = detectTimestampFormat(newest ?? null, this.updatedAt.declaredType);
    if (newest !== undefined) this.timestampFormat = format;
    return format;
  }

  private newestStamp(): unknown {
    const u = quoteIdentifier((this.updatedAt as ColumnInfo).name);
    return this.statement('newestVersion', () => `SELECT ${u} FROM ${this.quotedTable} WHERE ${u} IS NOT NULL ORDER BY ${u} DESC LIMIT 1`)
      .pluck()
      .get();
  }

  /**
   * The step of the stamps the table's other writers leave (coarseStampMs), read from its newest: with
   * CURRENT_TIMESTAMP's whole seconds, two edits of one row within a second share a version, and the engine must
   * compare a row listed at the cursor's version with its shadow rather than drop it as seen there.
   */
  private coarseStampStep(): number | null {
    if (!this.updatedAt) return null;
    const newest = this.newestStamp();
    return newest === undefined ? null : coarseStampMs(newest, detectTimestampFormat(newest, this.updatedAt.declaredType));
  }

  /** What a runtime soft delete stores: the time for a `deleted_at`-style column, otherwise 1. */
  private deletedFlagValue(): unknown {
    const flag = this.deletedFlag;
    if (!flag) return 1n;
    const looksLikeTime = /DATE|TIME/i.test(flag.declaredType) || /(_at|At|_on|_time)$/.test(flag.name);
    if (!looksLikeTime) return 1n;
    return toSqlValue(formatTimestamp(Date.now(), detectTimestampFormat(null, flag.declaredType)));
  }

  /**
   * Builds records from rows of `SELECT *` read as arrays: better-sqlite3 spends more time making row objects than
   * SQLite spends finding the rows, so a poll over a large table runs about twice as fast this way.
   */
  private recordReader(columns: readonly string[]): (row: unknown[]) => SourceRecord {
    const indexOf = (info: ColumnInfo | undefined): number => (info ? columns.indexOf(info.name) : -1);
    const keyIndex = indexOf(this.key);
    const versionIndex = indexOf(this.updatedAt);
    const tagIndex = indexOf(this.tag);
    const deletedIndex = indexOf(this.deletedFlag);
    const data = columns
      .map((name, index) => ({ name, index, decode: this.decoders.get(name) ?? columnDecoder('') }))
      .filter((column) => !this.bookkeeping.has(column.name));
    return (row) => {
      const fields: FlowRecord = {};
      for (const column of data) fields[column.name] = column.decode(row[column.index]);
      const tag = tagIndex < 0 ? null : row[tagIndex];
      return {
        id: String(row[keyIndex]),
        version: versionIndex < 0 ? null : toVersion(row[versionIndex]),
        tag: tag === null || tag === undefined ? null : String(tag),
        deleted: deletedIndex < 0 ? false : isDeletedFlag(row[deletedIndex]),
        fields,
      };
    };
  }

  /** An id as the key column compares it: numbers for a numeric key, so `rowid = ?` is an index lookup. */
  private keyParam(id: string): unknown {
    if (this.keyIsNumeric && /^-?\d{1,15}$/.test(id)) return BigInt(id);
    return id;
  }

  private keyJson(id: string): string | number {
    if (this.keyIsNumeric && /^-?\d{1,15}$/.test(id)) return Number(id);
    return id;
  }

  private refreshColumns(): ColumnInfo[] {
    this.columnsVersion = this.db.pragma('schema_version', { simple: true }) as number;
    const columns = readColumns(this.db, this.table);
    this.columns = new Map(columns.map((info) => [info.name, info]));
    this.decoders = new Map(columns.map((info) => [info.name, columnDecoder(info.declaredType)]));
    this.readers.clear();
    this.createdReader = null;
    return columns;
  }

  private statement(cacheKey: string, sql: () => string): Statement {
    let statement = this.statements.get(cacheKey);
    if (statement === undefined) {
      if (this.statements.size >= maxCachedStatements) this.statements.clear();
      statement = this.db.prepare(sql());
      this.statements.set(cacheKey, statement);
    }
    return statement;
  }

  /** Runs a cached `SELECT *` and reads its rows as records. */
  private records(cacheKey: string, sql: () => string, ...params: unknown[]): SourceRecord[] {
    const statement = this.statement(cacheKey, sql).raw(true);
    const rows = statement.all(...params) as unknown[][];
    if (rows.length === 0) return [];
    // Asked per call: SQLite re-expands `*` when the table changes shape under a cached statement. A reader is kept
    // per shape, as a write reads back one row per create.
    const names = statement.columns().map((column) => column.name);
    return rows.map(this.readerOf(names));
  }

  /** The reader of rows with these columns, made once per shape. */
  private readerOf(names: readonly string[]): (row: unknown[]) => SourceRecord {
    const shape = names.join('\u0000');
    let read = this.readers.get(shape);
    if (read === undefined) {
      if (this.readers.size >= maxCachedStatements) this.readers.clear();
      read = this.recordReader(names);
      this.readers.set(shape, read);
    }
    return read;
  }
}

function assertLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number above 0, got ${limit}`);
}

/** Every table of a database file with its columns, opened read-only: nothing is created or changed. */
async function describeSqliteConnection(context: ConnectionContext): Promise<TableDescription[]> {
  const problems = checkSqliteConnection(context.connection);
  throwIfConnectionProblems(problems);
  const path = allowedFilePath(context.access.files, context.baseDir, context.connection.file as string, 'connection.file');
  if (!existsSync(path)) throw new ConnectorError(`SQLite database file not found: ${path}`);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new ConnectorError(`cannot open SQLite database ${path}: ${messageOf(error)}`, { cause: error });
  }
  try {
    // No trigger yet: a table whose rowid alias would make a reused key warns whoever picks it as the key.
    return listTables(db).map((table) => describeTable(db, table, null));
  } finally {
    db.close();
  }
}

/** The embedded default connector: a table in a SQLite file (SPEC §9). */
export const sqliteConnector = {
  type: 'sqlite',
  title: 'SQLite',
  checkConnection: checkSqliteConnection,
  open: openSqliteConnector,
  describeConnection: describeSqliteConnection,
  connectionForm: sqliteConnectionForm,
  givenKeys: true,
} satisfies ConnectorType;
