/**
 * The `postgres` connector (SPEC §9): one table, `table` or `schema.table`, through Kysely's PostgresDialect and pg.
 *
 * Polling is keyset paging on (updatedAt, key). The connector creates nothing in someone else's database unless asked
 * (`notify`), so the owner should index what it sorts by:
 *
 *   CREATE INDEX ON leads (updated_at, id);
 *   CREATE INDEX ON leads (updated_at COLLATE "C", id COLLATE "C");   -- text columns: it sorts them by code unit
 *
 * Versions read back exactly as stored: timestamps as UTC ISO-8601 text with microseconds, numbers as numbers, text
 * as text. Updates and deletes are conditional on the version read (`WHERE updated_at = <read>`), so a row changed in
 * between is reported `changed` rather than overwritten. Timestamp columns are stamped by the database's clock
 * (`clock_timestamp()`, and always later than the row's previous stamp); number and text columns by the runtime's.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type pg from 'pg';
import type { FlowRecord } from '../../../nodes/types';
import type { TriggerConfig } from '../../../nodes/trigger/schema';
import { detectTimestampFormat, formatTimestamp, nextStampMs, resolutionMs, type TimestampFormat } from '../timestamps';
import {
  ConnectorError,
  type CollectionDescription,
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
import {
  castTo,
  castToArray,
  coarseResolutionMs,
  columnFromRow,
  deletedValue,
  isDeletedValue,
  keyAccepts,
  liveCondition,
  ref,
  sortExpression,
  versionExpression,
  versionKinds,
  writeParameter,
  type ColumnInfo,
  type ColumnRow,
} from './columns';
import {
  checkPostgresConnection,
  describeTarget,
  explainPostgresError,
  isConnectionFailure,
  openDatabase,
  poolConfig,
  postgresConnectionSchema,
  resolveUrl,
  type PostgresConnection,
} from './connection';
import { channelFor, installChangeNotifications, listenForChanges, notifyTriggerNames, removeChangeNotifications, type TableChange } from './notify';
import { throwIfConnectionProblems } from '../connection';
import { postgresConnectionForm } from './form';
import { groupInto } from '../../util/collections';

export { checkPostgresConnection } from './connection';
export { channelFor, functionFor, notifyTriggerNames, type TableChange } from './notify';

/** The tables are the user's, unknown at compile time: rows are plain objects. */
type AnyDatabase = Record<string, Record<string, unknown>>;
type Db = Kysely<AnyDatabase>;
type Row = Record<string, unknown>;

const versionAlias = '__syncline_version';
const idAlias = '__syncline_id';
const idsPerQuery = 5000;
/** Most rows one write statement carries: past a few hundred a statement saves no more round trips worth having. */
const rowsPerStatement = 500;
/** PostgreSQL takes at most 65,535 parameters a statement; wide tables get fewer rows a statement. */
const paramsPerStatement = 30_000;
const batchableKeyKinds: ReadonlySet<ColumnInfo['kind']> = new Set(['integer', 'bigint', 'uuid', 'text']);
/** Key kinds the runtime makes a value for (a UUID) when the column has no default. */
const runtimeMadeKeyKinds: ReadonlySet<ColumnInfo['kind']> = new Set(['uuid', 'text', 'other']);

/** A connector that can push change hints as they happen (LISTEN/NOTIFY), besides being polled. */
export interface ChangeSubscriber {
  /** Starts listening; resolves to a function that stops. `onError` hears of a lost connection. */
  subscribe(onChange: (change: TableChange) => void, onError?: (error: Error) => void): Promise<() => Promise<void>>;
}

/** True for a connector opened with `notify: true`, which can {@link ChangeSubscriber.subscribe}. */
export function canSubscribe(connector: Connector): connector is Connector & ChangeSubscriber {
  return connector instanceof PostgresCollection && connector.notifies;
}

interface Opened {
  db: Db;
  pool: pg.Pool;
  url: string;
  target: string;
  connection: PostgresConnection;
  currentSchema: string;
}

/** Connects and checks that the server answers, with a clear error for each way that can fail. */
async function connect(connectionValue: Record<string, unknown>, resolveCredential: (name: string) => Promise<string>): Promise<Opened> {
  const problems = checkPostgresConnection(connectionValue);
  throwIfConnectionProblems(problems);
  const connection = postgresConnectionSchema.parse(connectionValue);
  const url = await resolveUrl(connection, resolveCredential);
  const target = describeTarget(url);
  let idleError: Error | null = null;
  const { db, pool } = openDatabase<AnyDatabase>(url, connection, (error) => (idleError = error));
  try {
    const { rows } = await sql<{ schema: string | null }>`SELECT current_schema() AS schema`.execute(db);
    return { db, pool, url, target, connection, currentSchema: rows[0]?.schema ?? 'public' };
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw explainPostgresError(idleError ?? error, target, connection.connectTimeoutMs);
  }
}

async function openPostgresConnector(context: ConnectorContext): Promise<Connector> {
  const opened = await connect(context.config.connection, context.resolveCredential);
  try {
    const collection = new PostgresCollection(opened, context.config);
    await collection.init();
    return collection;
  } catch (error) {
    await opened.db.destroy().catch(() => undefined);
    if (error instanceof ConnectorError) throw error;
    throw explainPostgresError(error, opened.target, opened.connection.connectTimeoutMs);
  }
}

/** Every table and view the URL's user can see, with their columns (information_schema), named as a trigger would. */
async function describeTables(db: Db, currentSchema: string, skip?: { schema: string; table: string; columns: ReadonlySet<string> }): Promise<CollectionDescription[]> {
  const { rows } = await sql<{ table_schema: string; table_name: string; column_name: string; data_type: string; is_nullable: string }>`
    SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.is_nullable
    FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg\\_%'
    ORDER BY c.table_schema, c.table_name, c.ordinal_position`.execute(db);
  const byTable = new Map<string, CollectionDescription>();
  for (const row of rows) {
    const name = row.table_schema === currentSchema ? row.table_name : `${row.table_schema}.${row.table_name}`;
    let description = byTable.get(name);
    if (!description) {
      description = { name, fields: [] };
      byTable.set(name, description);
    }
    if (skip && row.table_schema === skip.schema && row.table_name === skip.table && skip.columns.has(row.column_name)) continue;
    description.fields.push({ name: row.column_name, type: row.data_type, nullable: row.is_nullable === 'YES' });
  }
  return [...byTable.values()];
}

/** The collections of a connection without opening one of them: the editor's table dropdown. */
async function describePostgresConnection(context: Omit<ConnectorContext, 'config'> & { connection: Record<string, unknown> }): Promise<CollectionDescription[]> {
  const opened = await connect(context.connection, context.resolveCredential);
  try {
    return await describeTables(opened.db, opened.currentSchema);
  } catch (error) {
    throw explainPostgresError(error, opened.target, opened.connection.connectTimeoutMs);
  } finally {
    await opened.db.destroy().catch(() => undefined);
  }
}

class PostgresCollection implements Connector, ChangeSubscriber {
  capabilities: ConnectorCapabilities = { conditionalWrites: false, tags: false, incremental: false, fullScan: true };
  readonly notifies: boolean;
  private readonly db: Db;
  private readonly target: string;
  private schema = '';
  private tableName = '';
  private table: RawBuilder<unknown> = sql``;
  private columns = new Map<string, ColumnInfo>();
  private key!: ColumnInfo;
  private updatedAt: ColumnInfo | undefined;
  private tag: ColumnInfo | undefined;
  private deletedFlag: ColumnInfo | undefined;
  /** Whether a unique index on the key alone can arbitrate `INSERT … ON CONFLICT` (keyArbiter). */
  private keyUnique = false;
  /** Column name to role, for the columns that are identity and bookkeeping rather than data (SPEC §3). */
  private readonly bookkeeping = new Map<string, string>();
  /** For number and text updatedAt columns, stamped by the runtime in the column's own representation. */
  private stampFormat: TimestampFormat | null = null;
  private closed = false;

  constructor(
    private readonly opened: Opened,
    private readonly config: TriggerConfig,
  ) {
    this.db = opened.db;
    this.target = opened.target;
    this.notifies = opened.connection.notify;
  }

  async init(): Promise<void> {
    const { schema, table, view } = await this.findTable(this.config.collection);
    this.schema = schema;
    this.tableName = table;
    this.table = sql.id(schema, table);
    const columns = await this.readColumns();
    const column = (name: string | undefined, role: string): ColumnInfo | undefined => {
      if (name === undefined) return undefined;
      const found = columns.get(name) ?? [...columns.values()].find((info) => info.name.toLowerCase() === name.toLowerCase());
      if (!found) {
        throw new ConnectorError(`column "${name}" (${role}) does not exist in table ${this.qualified()} of ${this.target}; columns: ${[...columns.keys()].join(', ')}`);
      }
      return found;
    };
    this.key = keyOfView(column(this.config.key, 'key') as ColumnInfo, view);
    if (this.key.kind === 'boolean' || this.key.kind === 'json') throw new ConnectorError(`column "${this.key.name}" (key) of ${this.qualified()} is ${this.key.dataType}: a key must be a number, text or uuid`);
    this.updatedAt = column(this.config.updatedAt, 'updatedAt');
    if (this.updatedAt && !versionKinds.includes(this.updatedAt.kind)) {
      throw new ConnectorError(`column "${this.updatedAt.name}" (updatedAt) of ${this.qualified()} is ${this.updatedAt.dataType}: it must be a timestamp, a date, a number or text`);
    }
    this.tag = column(this.config.tagColumn, 'tagColumn');
    this.deletedFlag = column(this.config.deletedFlag, 'deletedFlag');
    for (const [info, role] of [
      [this.deletedFlag, 'deletedFlag'],
      [this.tag, 'tagColumn'],
      [this.updatedAt, 'updatedAt'],
      [this.key, 'key'],
    ] as const) {
      if (info) this.bookkeeping.set(info.name, role);
    }
    // A GENERATED ALWAYS key takes no value but the database's own.
    this.capabilities = {
      conditionalWrites: this.updatedAt !== undefined,
      tags: this.tag !== undefined,
      incremental: this.updatedAt !== undefined,
      fullScan: true,
      givenKeys: !this.key.generated,
      createdRecords: !(await this.rewrittenAfterInsert()),
    };
    this.keyUnique = this.capabilities.givenKeys === true && (await this.keyArbiter());
    if (this.updatedAt) await this.prepareStamps();
    if (this.config.keys === 'shared' && this.key.generated) {
      throw new ConnectorError(
        `column "${this.key.name}" (key) of ${this.qualified()} is GENERATED ALWAYS: it cannot take the key of a record from another side (keys "shared"); make it GENERATED BY DEFAULT AS IDENTITY, or set keys to "own"`,
      );
    }
    if (this.notifies) {
      try {
        await installChangeNotifications(this.db as Kysely<unknown>, schema, table, this.key.name, this.tag?.name ?? null);
      } catch (error) {
        const explained = explainPostgresError(error, this.target, this.opened.connection.connectTimeoutMs);
        throw new ConnectorError(
          `cannot install the LISTEN/NOTIFY trigger on table ${this.qualified()} (connection.notify is true): ${explained.message}; install it as the table's owner (docs/connectors.md) or set notify to false`,
          { cause: error },
        );
      }
    }
  }

  /**
   * Whether an AFTER INSERT trigger of the table (other than Syncline's own notify triggers, which change nothing) may
   * change a row once inserted: RETURNING shows the row as the INSERT left it, BEFORE triggers and defaults included,
   * but not what such a trigger does next, so created rows are then read back.
   */
  private async rewrittenAfterInsert(): Promise<boolean> {
    // tgtype bits (pg_trigger.h): 2 BEFORE, 4 INSERT, 64 INSTEAD OF.
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ${this.schema} AND c.relname = ${this.tableName} AND NOT tg.tgisinternal AND tg.tgname NOT IN (${sql.join(notifyTriggerNames)})
        AND (tg.tgtype & 4) <> 0 AND (tg.tgtype & 66) = 0`.execute(this.db);
    return Number(rows[0]?.n ?? 0) > 0;
  }

  /**
   * Whether the key alone has a unique index that `ON CONFLICT (key)` may name as its arbiter: valid, not partial, on
   * the column itself rather than an expression, and checked at once (a deferrable constraint cannot arbitrate;
   * INSERT, "ON CONFLICT Clause", PostgreSQL 15 manual). A primary key is such an index.
   */
  private async keyArbiter(): Promise<boolean> {
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
      WHERE n.nspname = ${this.schema} AND c.relname = ${this.tableName} AND a.attname = ${this.key.name}
        AND i.indisunique AND i.indisvalid AND i.indimmediate AND i.indnkeyatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL`.execute(this.db);
    return Number(rows[0]?.n ?? 0) > 0;
  }

  private qualified(): string {
    return `"${this.schema}"."${this.tableName}"`;
  }

  /** `table` in the current schema, or `schema.table`; a name that differs only in case is accepted, as unquoted SQL would. */
  private async findTable(collection: string): Promise<{ schema: string; table: string; view: boolean }> {
    const dot = collection.indexOf('.');
    const schema = dot > 0 ? collection.slice(0, dot) : this.opened.currentSchema;
    const table = dot > 0 ? collection.slice(dot + 1) : collection;
    const { rows } = await sql<{ table_name: string; table_schema: string; table_type: string }>`
      SELECT table_schema, table_name, table_type FROM information_schema.tables
      WHERE lower(table_schema) = lower(${schema}) ORDER BY table_name`.execute(this.db);
    const found = rows.find((row) => row.table_schema === schema && row.table_name === table) ?? rows.find((row) => row.table_name.toLowerCase() === table.toLowerCase());
    if (found) return { schema: found.table_schema, table: found.table_name, view: found.table_type === 'VIEW' };
    const names = rows.map((row) => row.table_name);
    throw new ConnectorError(
      `table "${schema}.${table}" does not exist in ${this.target} (or the user cannot see it); tables in schema "${schema}": ${names.length > 0 ? names.join(', ') : '(none)'}`,
    );
  }

  private async readColumns(): Promise<Map<string, ColumnInfo>> {
    const { rows } = await sql<ColumnRow>`
      SELECT column_name, data_type, udt_schema, udt_name, is_nullable, column_default, is_identity, identity_generation, is_generated, datetime_precision
      FROM information_schema.columns WHERE table_schema = ${this.schema} AND table_name = ${this.tableName} ORDER BY ordinal_position`.execute(this.db);
    this.columns = new Map(rows.map((row) => [row.column_name, columnFromRow(row)]));
    return this.columns;
  }

  async listSince(position: ListPosition, limit: number): Promise<ListPage> {
    assertLimit(limit);
    const found = await this.guard(() => (this.updatedAt ? this.recordsByVersion(this.updatedAt, position, limit + 1) : this.recordsByKey(position.afterId, limit + 1)));
    const records = found.slice(0, limit);
    const last = records.at(-1);
    return { records, next: found.length > limit && last ? { since: last.version, afterId: last.id } : null };
  }

  /** Keyset paging on (updatedAt, key); rows without a version sort first, as the engine orders null versions. */
  private async recordsByVersion(updatedAt: ColumnInfo, position: ListPosition, want: number): Promise<SourceRecord[]> {
    const u = sortExpression(updatedAt);
    const k = sortExpression(this.key);
    const byVersion = sql`${u}, ${k}`;
    if (position.afterId === null) {
      if (position.since === null) return this.select(sql`true`, sql`${u} NULLS FIRST, ${k}`, want);
      return this.select(sql`${ref(updatedAt)} >= ${castTo(updatedAt, position.since)}`, byVersion, want);
    }
    if (position.since !== null) {
      // One index range on (updatedAt, key): the row comparison is what PostgreSQL turns into a seek.
      return this.select(sql`(${u}, ${k}) > (${castTo(updatedAt, position.since)}, ${castTo(this.key, position.afterId)})`, byVersion, want);
    }
    const ties = await this.select(sql`${ref(updatedAt)} IS NULL AND ${k} > ${castTo(this.key, position.afterId)}`, k, want);
    if (ties.length >= want) return ties;
    return ties.concat(await this.select(sql`${ref(updatedAt)} IS NOT NULL`, byVersion, want - ties.length));
  }

  /** Without updatedAt there is nothing to resume from but the key: every poll lists the whole table. */
  private async recordsByKey(afterId: string | null, want: number): Promise<SourceRecord[]> {
    const k = sortExpression(this.key);
    return this.select(afterId === null ? sql`true` : sql`${k} > ${castTo(this.key, afterId)}`, k, want);
  }

  private async select(where: RawBuilder<unknown>, order: RawBuilder<unknown>, limit: number, executor: Db | Transaction<AnyDatabase> = this.db): Promise<SourceRecord[]> {
    const version = this.updatedAt ? versionExpression(this.updatedAt) : sql`NULL`;
    const { rows } = await sql<Row>`
      SELECT t.*, ${version} AS ${sql.id(versionAlias)}, ${ref(this.key)}::text AS ${sql.id(idAlias)}
      FROM ${this.table} AS t WHERE ${where} ORDER BY ${order} LIMIT ${limit}`.execute(executor);
    return rows.map((row) => this.toRecord(row));
  }

  async getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>> {
    const found = new Map<string, SourceRecord>();
    const wanted = [...new Set(ids)].filter((id) => keyAccepts(this.key, id));
    for (let start = 0; start < wanted.length; start += idsPerQuery) {
      const chunk = wanted.slice(start, start + idsPerQuery);
      // One array parameter rather than one per id: the statement text stays the same whatever the chunk's length, so
      // the server plans it once, and the message carries no per-id cast.
      const records = await this.guard(() => this.select(sql`${ref(this.key)} = ANY(${castToArray(this.key, chunk)})`, sql`1`, chunk.length));
      for (const record of records) found.set(record.id, record);
    }
    return found;
  }

  /**
   * Writes a page of ops in a few statements rather than one per op: creates of the same columns as one multi-row
   * INSERT, updates of the same fields as one UPDATE … FROM (VALUES …), deletes as one statement, each still
   * conditional per row on the version read (a row changed in between comes back `changed`, never overwritten). Each
   * statement runs in a savepoint: when one row makes it fail (a constraint, a bad value), it is rolled back and its
   * ops are written one by one, so only that op fails. A page that names one record twice is written op by op, in
   * order.
   */
  async write(ops: readonly WriteOp[]): Promise<WriteResult[]> {
    if (ops.length === 0) return [];
    await this.prepareStamps();
    const results: Array<WriteResult | undefined> = new Array(ops.length);
    const batches = await this.batchesOf(ops, results);
    try {
      return await this.db.transaction().execute(async (trx) => {
        for (const batch of batches) {
          if (batch.length > 1) {
            await sql`SAVEPOINT syncline_batch`.execute(trx);
            try {
              const written = await this.applyBatch(trx, batch.map((index) => ops[index] as WriteOp));
              await sql`RELEASE SAVEPOINT syncline_batch`.execute(trx);
              batch.forEach((index, position) => (results[index] = written[position]));
              continue;
            } catch (error) {
              if (isConnectionFailure(error)) throw error;
              await sql`ROLLBACK TO SAVEPOINT syncline_batch`.execute(trx);
            }
          }
          for (const index of batch) results[index] = await this.applyAlone(trx, ops[index] as WriteOp);
        }
        return results as WriteResult[];
      });
    } catch (error) {
      // The transaction rolled back as a whole: nothing of the batch was written, and the engine may retry it all.
      throw explainPostgresError(error, this.target, this.opened.connection.connectTimeoutMs);
    }
  }

  /** One op in a savepoint of its own: a failed statement aborts a PostgreSQL transaction, the savepoint keeps it going. */
  private async applyAlone(trx: Transaction<AnyDatabase>, op: WriteOp): Promise<WriteResult> {
    await sql`SAVEPOINT syncline_op`.execute(trx);
    try {
      const result = await this.applyOp(trx, op);
      await sql`RELEASE SAVEPOINT syncline_op`.execute(trx);
      return result;
    } catch (error) {
      if (isConnectionFailure(error)) throw error;
      await sql`ROLLBACK TO SAVEPOINT syncline_op`.execute(trx);
      if (error instanceof ConnectorError) return { ok: false, reason: 'failed', message: error.message, retryable: error.retryable };
      return this.failedResult(error, op);
    }
  }

  /**
   * The ops as batches of indices that one statement can write: same kind, same columns, at most `rowsPerStatement`
   * rows and about `paramsPerStatement` parameters. Ops that cannot be written at all get their result here; ops a
   * batch cannot take (a create whose key the database cannot make, an update setting nothing) are batches of one.
   */
  private async batchesOf(ops: readonly WriteOp[], results: Array<WriteResult | undefined>): Promise<number[][]> {
    const ids = ops.filter((op) => op.kind !== 'create').map((op) => (op as { id: string }).id);
    if (new Set(ids).size !== ids.length) return ops.map((_op, index) => [index]);
    const groups = new Map<string, number[]>();
    const alone: number[][] = [];
    for (const [index, op] of ops.entries()) {
      if (op.kind !== 'delete') {
        const problem = (await this.checkFields(op.fields)) ?? (op.kind === 'create' && op.id !== undefined ? this.checkGivenKey(op.id) : null);
        if (problem) {
          results[index] = problem;
          continue;
        }
      }
      const signature = this.batchSignature(op);
      if (signature === null) alone.push([index]);
      else groupInto(groups, signature, index);
    }
    const batches: number[][] = [];
    for (const [signature, indices] of groups) {
      const perRow = signature.split('\u0000').length + 3;
      const size = Math.max(1, Math.min(rowsPerStatement, Math.floor(paramsPerStatement / perRow)));
      for (let start = 0; start < indices.length; start += size) batches.push(indices.slice(start, start + size));
    }
    return [...batches, ...alone];
  }

  /** Ops with the same signature are written by one statement; null for an op written alone. */
  private batchSignature(op: WriteOp): string | null {
    // Rows written are told apart by their key's text: only kinds whose text has one spelling per value.
    if (op.kind !== 'create' && !batchableKeyKinds.has(this.key.kind)) return null;
    const fields = op.kind === 'delete' ? [] : Object.keys(op.fields).filter((name) => op.fields[name] !== undefined).sort();
    switch (op.kind) {
      case 'create':
        // Rows given their keys are told apart by them, like the rows of an update.
        if (op.id !== undefined) return batchableKeyKinds.has(this.key.kind) ? ['create:key', ...fields].join('\u0000') : null;
        if (!this.key.hasDefault && !runtimeMadeKeyKinds.has(this.key.kind)) return null;
        if (fields.length === 0 && !this.updatedAt && !this.tag && this.key.hasDefault) return null;
        return ['create', ...fields].join('\u0000');
      case 'update':
        if (!keyAccepts(this.key, op.id) || (fields.length === 0 && !this.updatedAt && !this.tag)) return null;
        return ['update', ...fields].join('\u0000');
      case 'delete':
        return keyAccepts(this.key, op.id) ? 'delete' : null;
    }
  }

  /** Writes ops of one signature with one statement; throws when the statement fails as a whole. */
  private async applyBatch(trx: Transaction<AnyDatabase>, ops: readonly WriteOp[]): Promise<WriteResult[]> {
    const first = ops[0] as WriteOp;
    if (first.kind === 'create') return this.createBatch(trx, ops as Array<Extract<WriteOp, { kind: 'create' }>>);
    const rows = ops as Array<Extract<WriteOp, { kind: 'update' | 'delete' }>>;
    const fields = first.kind === 'update' ? Object.keys(first.fields).filter((name) => first.fields[name] !== undefined).sort() : [];
    const alias = (index: number) => sql.id(`__f${index}`);
    const values = rows.map((op) => {
      const cells = [castTo(this.key, op.id), this.updatedAt ? (op.expectedVersion === null ? sql`CAST(NULL AS ${sql.id(this.updatedAt.udtSchema, this.updatedAt.udtName)})` : castTo(this.updatedAt, op.expectedVersion)) : sql`NULL`];
      if (op.kind === 'update') {
        for (const name of fields) cells.push(typedParameter(this.columns.get(name) as ColumnInfo, op.fields[name]));
        cells.push(sql`${op.tag}`);
      }
      return sql`(${sql.join(cells)})`;
    });
    const names = [sql.id('__k'), sql.id('__e'), ...(first.kind === 'update' ? [...fields.map((_name, index) => alias(index)), sql.id('__g')] : [])];
    const input = sql`(VALUES ${sql.join(values)}) AS v (${sql.join(names)})`;
    const matches = sql.join(
      [
        sql`${ref(this.key)} = v.__k`,
        ...(this.updatedAt ? [sql`(v.__e IS NULL OR ${ref(this.updatedAt)} = v.__e)`] : []),
        ...(this.deletedFlag ? [liveCondition(this.deletedFlag)] : []),
      ],
      sql` AND `,
    );
    const version = this.updatedAt ? versionExpression(this.updatedAt) : sql`NULL`;
    let written: Row[];
    if (first.kind === 'delete' && !this.deletedFlag) {
      ({ rows: written } = await sql<Row>`DELETE FROM ${this.table} AS t USING ${input} WHERE ${matches} RETURNING ${ref(this.key)}::text AS ${sql.id(idAlias)}, NULL AS ${sql.id(versionAlias)}`.execute(trx));
    } else {
      const assignments: RawBuilder<unknown>[] =
        first.kind === 'delete' ? [sql`${sql.id((this.deletedFlag as ColumnInfo).name)} = ${deletedValue(this.deletedFlag as ColumnInfo)}`] : fields.map((name, index) => sql`${sql.id(name)} = v.${alias(index)}`);
      if (this.updatedAt) assignments.push(sql`${sql.id(this.updatedAt.name)} = ${this.stampExpression(this.updatedAt, true)}`);
      if (this.tag && first.kind === 'update') assignments.push(sql`${sql.id(this.tag.name)} = v.__g`);
      ({ rows: written } = await sql<Row>`UPDATE ${this.table} AS t SET ${sql.join(assignments)} FROM ${input} WHERE ${matches} RETURNING ${ref(this.key)}::text AS ${sql.id(idAlias)}, ${version} AS ${sql.id(versionAlias)}`.execute(trx));
    }
    const byId = new Map(written.map((row) => [String(row[idAlias]), row]));
    // A key several rows hold wrote them all: the statement is rolled back, and that op fails alone (write()).
    if (byId.size < written.length) throw new Error(`${written.length - byId.size} rows share a key with another row written`);
    const results: WriteResult[] = [];
    for (const op of rows) {
      const row = byId.get(canonicalKey(this.key, op.id));
      // No row matched: gone, or changed since it was read; the few such rows are explained one by one.
      results.push(row ? { ok: true, id: op.id, version: first.kind === 'delete' && !this.deletedFlag ? null : toVersion(row[versionAlias]) } : await this.explainNoChange(trx, op.id, op.expectedVersion));
    }
    return results;
  }

  /**
   * Creates of the same columns as one multi-row INSERT. Rows come back from RETURNING in the order of VALUES (the
   * executor inserts them in that order); where the runtime makes the keys or the creates carry them, rows are matched
   * by key instead. A given key some row holds already is `taken`, and its create left out of the INSERT; one taken
   * meanwhile by another session fails the INSERT, and the ops are written one by one (write()).
   */
  private async createBatch(trx: Transaction<AnyDatabase>, ops: ReadonlyArray<Extract<WriteOp, { kind: 'create' }>>): Promise<WriteResult[]> {
    const given = (ops[0] as Extract<WriteOp, { kind: 'create' }>).id !== undefined;
    if (given && this.keyUnique) return this.createSkippingTaken(trx, ops);
    const held = given ? await this.heldKeys(trx, ops.map((op) => op.id as string)) : new Set<string>();
    const writing = given ? ops.filter((op) => !held.has(canonicalKey(this.key, op.id as string))) : ops;
    const written = writing.length === 0 ? new Map<Extract<WriteOp, { kind: 'create' }>, WriteResult>() : await this.insertRows(trx, writing, given);
    return ops.map((op) => written.get(op) ?? { ok: false, reason: 'taken' });
  }

  /**
   * Creates under given keys where the key is unique: one `INSERT … ON CONFLICT (key) DO NOTHING`, so a key held
   * already, or taken by another session meanwhile, leaves its row out instead of failing the statement. No probe of
   * the keys first: while a table grows from empty its planner statistics are stale, and a probe of 500 keys was a
   * sequential scan each page (0.9 s of the server's time in a 100,000-row initial sync, bench/postgres.notes.md).
   * A key given twice in one page goes to its first create; the later ones are taken, as one by one they would be.
   */
  private async createSkippingTaken(trx: Transaction<AnyDatabase>, ops: ReadonlyArray<Extract<WriteOp, { kind: 'create' }>>): Promise<WriteResult[]> {
    const firsts = new Map<string, Extract<WriteOp, { kind: 'create' }>>();
    for (const op of ops) {
      const key = canonicalKey(this.key, op.id as string);
      if (!firsts.has(key)) firsts.set(key, op);
    }
    const written = await this.insertRows(trx, [...firsts.values()], true, true);
    const missing = [...firsts.values()].filter((op) => !written.has(op)).map((op) => op.id as string);
    if (missing.length > 0) {
      // Left out by the arbiter, unless a BEFORE trigger skipped the row: then it is nowhere.
      const held = await this.heldKeys(trx, missing);
      const skipped = missing.find((id) => !held.has(canonicalKey(this.key, id)));
      if (skipped !== undefined) throw new Error(`INSERT of the row with key ${skipped} returned nothing: a BEFORE trigger skipped it`);
    }
    return ops.map((op) => written.get(op) ?? { ok: false, reason: 'taken' });
  }

  /** The multi-row INSERT of {@link createBatch}: each op's result, by op. */
  private async insertRows(
    trx: Transaction<AnyDatabase>,
    ops: ReadonlyArray<Extract<WriteOp, { kind: 'create' }>>,
    given: boolean,
    /** `ON CONFLICT (key) DO NOTHING`: rows whose key is held are left out, and so are their ops from the result. */
    skipTaken = false,
  ): Promise<Map<Extract<WriteOp, { kind: 'create' }>, WriteResult>> {
    const keys = given ? ops.map((op) => op.id as string) : this.key.hasDefault ? null : ops.map(() => randomUUID());
    const fields = Object.keys((ops[0] as WriteOp & { fields: FlowRecord }).fields).filter((name) => (ops[0] as { fields: FlowRecord }).fields[name] !== undefined).sort();
    const columns = [...(keys ? [this.key.name] : []), ...fields, ...(this.updatedAt ? [this.updatedAt.name] : []), ...(this.tag ? [this.tag.name] : [])];
    const values = ops.map((op, index) => {
      const cells: RawBuilder<unknown>[] = keys ? [given ? typedParameter(this.key, keys[index]) : sql`${keys[index]}`] : [];
      for (const [, value] of this.fieldAssignments(op.fields)) cells.push(value);
      if (this.updatedAt) cells.push(this.stampExpression(this.updatedAt, false));
      if (this.tag) cells.push(sql`${op.tag}`);
      return sql`(${sql.join(cells)})`;
    });
    const onConflict = skipTaken ? sql`ON CONFLICT (${sql.id(this.key.name)}) DO NOTHING` : sql``;
    const { rows } = await sql<Row>`INSERT INTO ${this.table} AS t (${sql.join(columns.map((name) => sql.id(name)))}) VALUES ${sql.join(values)}
      ${onConflict} RETURNING ${this.createdReturning()}`.execute(trx);
    if (!skipTaken && rows.length !== ops.length) throw new Error(`INSERT of ${ops.length} rows returned ${rows.length}: a BEFORE trigger skipped some`);
    const byKey = keys ? new Map(rows.map((row) => [String(row[idAlias]), row])) : null;
    const results = new Map<Extract<WriteOp, { kind: 'create' }>, WriteResult>();
    ops.forEach((op, index) => {
      const row = (byKey ? byKey.get(canonicalKey(this.key, (keys as string[])[index] as string)) : rows[index]) as Row | undefined;
      if (row) results.set(op, this.created(row));
      else if (!skipTaken) throw new Error('a created row did not come back from RETURNING');
    });
    return results;
  }

  /**
   * What an INSERT returns: the version and key as a listing reads them, and, where the row as inserted is the row as
   * stored (`createdRecords`), the whole row.
   */
  private createdReturning(): RawBuilder<unknown> {
    const version = sql`${this.updatedAt ? versionExpression(this.updatedAt) : sql`NULL`} AS ${sql.id(versionAlias)}, ${ref(this.key)}::text AS ${sql.id(idAlias)}`;
    return this.capabilities.createdRecords ? sql`t.*, ${version}` : version;
  }

  /** The result of a create from its row of {@link createdReturning}. */
  private created(row: Row): WriteResult {
    const result = { ok: true as const, id: String(row[idAlias]), version: toVersion(row[versionAlias]) };
    return this.capabilities.createdRecords ? { ...result, record: this.toRecord(row) } : result;
  }

  /** Which of these keys rows hold already, soft-deleted or not, as the key column's text prints them. */
  private async heldKeys(trx: Transaction<AnyDatabase>, ids: readonly string[]): Promise<Set<string>> {
    const { rows } = await sql<{ id: string }>`SELECT ${ref(this.key)}::text AS id FROM ${this.table} AS t WHERE ${ref(this.key)} = ANY(${castToArray(this.key, ids)})`.execute(trx);
    return new Set(rows.map((row) => row.id));
  }

  /** A failed result when a create's given key cannot be a value of the key column at all; null when it can. */
  private checkGivenKey(id: string): WriteResult | null {
    if (keyAccepts(this.key, id)) return null;
    return fieldProblem(`key "${id}" cannot be a value of column "${this.key.name}" (key, ${this.key.dataType}) of ${this.qualified()}`);
  }

  private async applyOp(trx: Transaction<AnyDatabase>, op: WriteOp): Promise<WriteResult> {
    switch (op.kind) {
      case 'create': {
        const problem = await this.checkFields(op.fields);
        if (problem) return problem;
        const assignments: Array<[string, RawBuilder<unknown>]> = [];
        if (op.id !== undefined) {
          const refused = this.checkGivenKey(op.id);
          if (refused) return refused;
          if ((await this.heldKeys(trx, [op.id])).size > 0) return { ok: false, reason: 'taken' };
          assignments.push([this.key.name, typedParameter(this.key, op.id)]);
        } else if (!this.key.hasDefault) {
          if (!runtimeMadeKeyKinds.has(this.key.kind)) {
            return fieldProblem(`column "${this.key.name}" (key) of ${this.qualified()} has no default: give it one (GENERATED ALWAYS AS IDENTITY) so the database assigns keys`);
          }
          assignments.push([this.key.name, sql`${randomUUID()}`]);
        }
        for (const [name, value] of this.fieldAssignments(op.fields)) assignments.push([name, value]);
        if (this.updatedAt) assignments.push([this.updatedAt.name, this.stampExpression(this.updatedAt, false)]);
        if (this.tag) assignments.push([this.tag.name, sql`${op.tag}`]);
        const returning = this.createdReturning();
        const insert =
          assignments.length === 0
            ? sql<Row>`INSERT INTO ${this.table} AS t DEFAULT VALUES RETURNING ${returning}`
            : sql<Row>`INSERT INTO ${this.table} AS t (${sql.join(assignments.map(([name]) => sql.id(name)))}) VALUES (${sql.join(assignments.map(([, value]) => value))}) RETURNING ${returning}`;
        const { rows } = await insert.execute(trx);
        return this.created(rows[0] as Row);
      }
      case 'update': {
        const problem = await this.checkFields(op.fields);
        if (problem) return problem;
        const assignments = this.fieldAssignments(op.fields);
        if (this.updatedAt) assignments.push([this.updatedAt.name, this.stampExpression(this.updatedAt, true)]);
        if (this.tag) assignments.push([this.tag.name, sql`${op.tag}`]);
        return this.updateWhere(trx, op.id, op.expectedVersion, assignments);
      }
      case 'delete': {
        if (!keyAccepts(this.key, op.id)) return { ok: false, reason: 'missing' };
        if (this.deletedFlag) {
          const assignments: Array<[string, RawBuilder<unknown>]> = [[this.deletedFlag.name, deletedValue(this.deletedFlag)]];
          if (this.updatedAt) assignments.push([this.updatedAt.name, this.stampExpression(this.updatedAt, true)]);
          return this.updateWhere(trx, op.id, op.expectedVersion, assignments);
        }
        const { rows } = await sql<Row>`DELETE FROM ${this.table} AS t WHERE ${this.whereKey(op.id, op.expectedVersion)} RETURNING 1 AS deleted`.execute(trx);
        if (rows.length > 1) throw this.sharedKeyError(op.id, rows.length);
        if (rows.length > 0) return { ok: true, id: op.id, version: null };
        return this.explainNoChange(trx, op.id, op.expectedVersion);
      }
    }
  }

  private async updateWhere(trx: Transaction<AnyDatabase>, id: string, expectedVersion: Version | null, assignments: Array<[string, RawBuilder<unknown>]>): Promise<WriteResult> {
    if (!keyAccepts(this.key, id)) return { ok: false, reason: 'missing' };
    if (assignments.length === 0) {
      // Nothing to set (no fields, no updatedAt, no tag): still say whether the row is there as read.
      const outcome = await this.explainNoChange(trx, id, expectedVersion);
      return outcome.ok === false && outcome.reason === 'failed' ? { ok: true, id, version: expectedVersion } : outcome;
    }
    const set = sql.join(assignments.map(([name, value]) => sql`${sql.id(name)} = ${value}`));
    const version = this.updatedAt ? versionExpression(this.updatedAt) : sql`NULL`;
    const { rows } = await sql<Row>`UPDATE ${this.table} AS t SET ${set} WHERE ${this.whereKey(id, expectedVersion)} RETURNING ${version} AS ${sql.id(versionAlias)}`.execute(trx);
    if (rows.length > 1) throw this.sharedKeyError(id, rows.length);
    if (rows.length > 0) return { ok: true, id, version: toVersion((rows[0] as Row)[versionAlias]) };
    return this.explainNoChange(trx, id, expectedVersion);
  }

  /** `key = id`, plus `updatedAt = expected` for update-if-unchanged, plus "not soft-deleted". */
  private whereKey(id: string, expectedVersion: Version | null): RawBuilder<unknown> {
    const parts: RawBuilder<unknown>[] = [sql`${ref(this.key)} = ${castTo(this.key, id)}`];
    // A null expectedVersion asks for no condition: there is no version to hold the row to.
    if (this.updatedAt && expectedVersion !== null) parts.push(sql`${ref(this.updatedAt)} = ${castTo(this.updatedAt, expectedVersion)}`);
    if (this.deletedFlag) parts.push(liveCondition(this.deletedFlag));
    return sql.join(parts, sql` AND `);
  }

  /** No row matched: gone (or soft-deleted) is `missing`; still there with another version is `changed`. */
  private async explainNoChange(trx: Transaction<AnyDatabase>, id: string, expectedVersion: Version | null): Promise<WriteResult> {
    const [current] = await this.select(sql`${ref(this.key)} = ${castTo(this.key, id)}`, sql`1`, 1, trx);
    if (!current || current.deleted) return { ok: false, reason: 'missing' };
    if (this.updatedAt && expectedVersion !== null && compareVersionValues(current.version, expectedVersion) !== 0) return { ok: false, reason: 'changed' };
    // Only a trigger that skips the statement (RETURN NULL in a BEFORE trigger) gets here.
    return { ok: false, reason: 'failed', message: `table ${this.qualified()} ignored the write to ${this.key.name} = ${id} (a BEFORE trigger?)`, retryable: false };
  }

  /**
   * The new updatedAt. Timestamp columns take the database's clock, and on update never less than a microsecond
   * past the row's previous stamp, so successive writes to one row always get increasing versions.
   */
  private stampExpression(column: ColumnInfo, update: boolean): RawBuilder<unknown> {
    switch (column.kind) {
      case 'timestamptz':
        return update ? sql`GREATEST(clock_timestamp(), ${ref(column)} + interval '1 microsecond')` : sql`clock_timestamp()`;
      case 'timestamp':
        return update ? sql`GREATEST(clock_timestamp()::timestamp, ${ref(column)} + interval '1 microsecond')` : sql`clock_timestamp()::timestamp`;
      case 'date':
        return sql`current_date`;
      default: {
        const format = this.stampFormat ?? detectTimestampFormat(null, column.kind === 'text' ? 'TEXT' : 'INTEGER');
        const resolution = resolutionMs(format);
        // A coarse column's versions may tie anyway (lookbackMs): stepping each stamp past the last would stamp a page
        // of 500 writes in epoch seconds 500 s ahead, and an edit made meanwhile would sort before the cursor.
        const coarse = this.capabilities.lookbackMs !== undefined;
        const stamp = formatTimestamp(coarse ? Math.floor(Date.now() / resolution) * resolution : nextStampMs(resolution), format);
        if (column.kind === 'text' || !update) return castTo(column, stamp);
        const step = coarse ? 0 : format.kind === 'epochSeconds' && !format.fractional ? 1 : format.kind === 'epochSeconds' ? 0.001 : 1;
        return sql`GREATEST(${castTo(column, stamp)}, ${ref(column)} + ${step})`;
      }
    }
  }

  /**
   * Number and text stamps copy the column's representation (epoch ms or seconds, ISO with or without T), read once;
   * and a column coarser than the runtime's stamps declares how coarse ({@link coarseResolutionMs}).
   */
  private async prepareStamps(): Promise<void> {
    const column = this.updatedAt;
    if (!column || this.stampFormat) return;
    if (['timestamptz', 'timestamp', 'date'].includes(column.kind)) {
      this.declareResolution(coarseResolutionMs(column, null, null));
      return;
    }
    const { rows } = await this.guard(() =>
      sql<{ newest: unknown }>`SELECT ${versionExpression(column)} AS newest FROM ${this.table} AS t WHERE ${ref(column)} IS NOT NULL ORDER BY ${sortExpression(column)} DESC LIMIT 1`.execute(this.db),
    );
    const newest = rows[0]?.newest;
    // An int4 cannot hold epoch milliseconds: an empty one gets seconds.
    const declared = column.kind === 'text' ? 'TEXT' : column.kind === 'float' || column.kind === 'decimal' ? 'REAL' : 'INTEGER';
    const format = newest === undefined && column.kind === 'integer' ? ({ kind: 'epochSeconds', fractional: false } as const) : detectTimestampFormat(newest ?? null, declared);
    if (newest !== undefined || column.kind === 'integer') {
      this.stampFormat = format;
      this.declareResolution(coarseResolutionMs(column, format, newest));
    }
  }

  /**
   * Where two edits can share a version, the engine must compare a record listed at the cursor's version with its
   * shadow instead of dropping it as seen there (engine/pass/stage.ts): `lookbackMs` says so. The listing reaches back
   * no further than the cursor (`>=` takes its version in), so the resolution is all the value says.
   */
  private declareResolution(resolution: number | null): void {
    if (resolution !== null) this.capabilities = { ...this.capabilities, lookbackMs: resolution };
  }

  /** A failed result when a field is bookkeeping, generated, or names no column; null when every field can be written. */
  private async checkFields(fields: FlowRecord): Promise<WriteResult | null> {
    let refreshed = false;
    for (const name of Object.keys(fields)) {
      const role = this.bookkeeping.get(name);
      if (role !== undefined) return fieldProblem(`field "${name}" is the ${role} column of table ${this.qualified()}: bookkeeping, not data`);
      let column = this.columns.get(name);
      if (!column && !refreshed) {
        // The table may have gained the column since open.
        refreshed = true;
        column = (await this.readColumns()).get(name);
      }
      if (!column) {
        const sameButCase = [...this.columns.keys()].find((known) => known.toLowerCase() === name.toLowerCase());
        return fieldProblem(`table ${this.qualified()} has no column "${name}"${sameButCase ? ` (did you mean "${sameButCase}"?)` : ''}`);
      }
      if (column.generated) return fieldProblem(`column "${name}" of ${this.qualified()} is generated by the database and cannot be written`);
    }
    return null;
  }

  private fieldAssignments(fields: FlowRecord): Array<[string, RawBuilder<unknown>]> {
    return Object.keys(fields)
      .filter((name) => fields[name] !== undefined)
      .sort()
      .map((name) => [name, writeParameter(this.columns.get(name) as ColumnInfo, fields[name])]);
  }

  async *scanIds(limit: number): AsyncIterable<string[]> {
    assertLimit(limit);
    const k = sortExpression(this.key);
    // Soft-deleted rows are reported by listSince; here they count as gone, like a hard delete.
    const live = this.deletedFlag ? liveCondition(this.deletedFlag) : sql`true`;
    let after: string | null = null;
    for (;;) {
      const from: string | null = after;
      const { rows }: { rows: Array<{ id: string }> } = await this.guard(() =>
        sql<{ id: string }>`SELECT ${ref(this.key)}::text AS id FROM ${this.table} AS t
          WHERE ${live} AND ${from === null ? sql`true` : sql`${k} > ${castTo(this.key, from)}`} ORDER BY ${k} LIMIT ${limit}`.execute(this.db),
      );
      if (rows.length > 0) yield rows.map((row) => row.id);
      if (rows.length < limit) return;
      after = (rows.at(-1) as { id: string }).id;
    }
  }

  /** How many ids scanIds would list: counted by the server, without sending them. */
  async count(): Promise<number> {
    const live = this.deletedFlag ? liveCondition(this.deletedFlag) : sql`true`;
    const { rows } = await this.guard(() => sql<{ n: number | string }>`SELECT count(*) AS n FROM ${this.table} AS t WHERE ${live}`.execute(this.db));
    return Number(rows[0]?.n ?? 0);
  }

  async describe(): Promise<CollectionDescription[]> {
    return this.guard(() => describeTables(this.db, this.opened.currentSchema, { schema: this.schema, table: this.tableName, columns: new Set(this.bookkeeping.keys()) }));
  }

  async subscribe(onChange: (change: TableChange) => void, onError: (error: Error) => void = () => undefined): Promise<() => Promise<void>> {
    if (!this.notifies) throw new ConnectorError(`table ${this.qualified()}: real-time changes need "notify": true in the connection`);
    try {
      return await listenForChanges(poolConfig(this.opened.url, this.opened.connection), channelFor(this.schema, this.tableName), onChange, onError);
    } catch (error) {
      throw explainPostgresError(error, this.target, this.opened.connection.connectTimeoutMs);
    }
  }

  /** Drops the LISTEN/NOTIFY trigger from this table (and its function once no table uses it). */
  async removeNotifications(): Promise<void> {
    await this.guard(() => removeChangeNotifications(this.db as Kysely<unknown>, this.schema, this.tableName));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy();
  }

  /** Runs a read, turning what PostgreSQL throws into a ConnectorError that says what happened. */
  private async guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof ConnectorError) throw error;
      throw explainPostgresError(error, this.target, this.opened.connection.connectTimeoutMs);
    }
  }

  private failedResult(error: unknown, op: WriteOp): WriteResult {
    const explained = explainPostgresError(error, this.target, this.opened.connection.connectTimeoutMs);
    const columns = op.kind === 'delete' ? null : this.refusedValueColumns(error, op.fields);
    return { ok: false, reason: 'failed', message: columns ? `${explained.message}; ${columns}` : explained.message, retryable: explained.retryable };
  }

  /**
   * For a value PostgreSQL refused (SQLSTATE class 22, a data exception: bad syntax, out of range, too long), which of
   * the columns written may hold it, since the driver's error names none: those of the type the message names
   * ("invalid input syntax for type numeric"), else every column written, each with its type. Null for other errors.
   */
  private refusedValueColumns(error: unknown, fields: FlowRecord): string | null {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !code.startsWith('22')) return null;
    const written = Object.keys(fields)
      .filter((name) => fields[name] !== undefined)
      .sort()
      .flatMap((name) => this.columns.get(name) ?? []);
    if (written.length === 0) return null;
    const typeName = /for (?:type|enum) ([\w .]+?)(?:\(\d+(?:,\d+)?\))?(?::|$)/.exec(error instanceof Error ? error.message : '')?.[1];
    const ofType = written.filter((column) => typeName !== undefined && (column.dataType === typeName || column.udtName === typeName));
    const list = (ofType.length > 0 ? ofType : written).map((column) => `"${column.name}" (${column.dataType})`).join(', ');
    const which = ofType.length === 1 ? `column ${list}` : ofType.length > 1 ? `one of the columns ${list}` : `one of the columns written: ${list}`;
    return `table ${this.qualified()}, ${which}: give it a value of the column's type, or change the column`;
  }

  /** An update or delete by a key several rows hold (the key has no unique index): it would write every one of them. */
  private sharedKeyError(id: string, rows: number): ConnectorError {
    return new ConnectorError(
      `table ${this.qualified()} has ${rows} rows with key "${this.key.name}" = ${id}, so the write would change them all; nothing was written. ` +
        `Key "${this.key.name}" has no unique index: remove the duplicates and make it unique (ALTER TABLE ${this.qualified()} ADD PRIMARY KEY ("${this.key.name}")), or use a key column that is`,
    );
  }

  private toRecord(row: Row): SourceRecord {
    const fields: FlowRecord = {};
    for (const [name, value] of Object.entries(row)) {
      if (name === versionAlias || name === idAlias || this.bookkeeping.has(name)) continue;
      fields[name] = toJsonValue(value);
    }
    const tag = this.tag ? row[this.tag.name] : null;
    return {
      id: String(row[idAlias]),
      version: toVersion(row[versionAlias]),
      tag: tag === null || tag === undefined ? null : String(tag),
      deleted: this.deletedFlag ? isDeletedValue(row[this.deletedFlag.name]) : false,
      fields,
    };
  }
}

function toVersion(value: unknown): Version | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  return String(value);
}

function compareVersionValues(a: Version | null, b: Version): number {
  if (a === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) === String(b) ? 0 : String(a) < String(b) ? -1 : 1;
}

/** A read value as JSON: what the runtime wrote compares equal to what it reads next time. */
function toJsonValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return value;
}

/** A value as a typed parameter: in VALUES of an UPDATE … FROM nothing tells PostgreSQL the column's type. */
function typedParameter(column: ColumnInfo, value: unknown): RawBuilder<unknown> {
  return sql`CAST(${writeParameter(column, value)} AS ${sql.id(column.udtSchema, column.udtName)})`;
}

/** An id as the key column's `::text` prints it, so ids sent and rows returned compare ("0042" is 42 in an integer key). */
function canonicalKey(column: ColumnInfo, id: string): string {
  switch (column.kind) {
    case 'integer':
    case 'bigint':
      return BigInt(id).toString();
    case 'uuid':
      return id.toLowerCase().replace(/^(.{8})-?(.{4})-?(.{4})-?(.{4})-?(.{12})$/, '$1-$2-$3-$4-$5');
    default:
      return id;
  }
}

/**
 * The key column of a view as an INSERT finds it: information_schema shows no default for a view's columns, but an
 * INSERT into an updatable view that leaves the column out gets the base table's (serial, identity), so a key the
 * runtime would not make up is left to it; where the base table has none either, its NOT NULL says so.
 */
function keyOfView(key: ColumnInfo, view: boolean): ColumnInfo {
  return view && !key.hasDefault && !runtimeMadeKeyKinds.has(key.kind) ? { ...key, hasDefault: true } : key;
}

function fieldProblem(message: string): WriteResult {
  return { ok: false, reason: 'failed', message, retryable: false };
}

function assertLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number above 0, got ${limit}`);
}

/** Removes what `notify: true` installed on a trigger's table: its trigger, and the function once unused. */
export async function removePostgresNotifications(context: ConnectorContext): Promise<void> {
  const connector = (await openPostgresConnector({ ...context, config: { ...context.config, connection: { ...context.config.connection, notify: false } } })) as PostgresCollection;
  try {
    await connector.removeNotifications();
  } finally {
    await connector.close();
  }
}

/** A table of a PostgreSQL database (SPEC §9). */
export const postgresConnector = {
  type: 'postgres',
  title: 'PostgreSQL',
  checkConnection: checkPostgresConnection,
  open: openPostgresConnector,
  describeConnection: describePostgresConnection,
  connectionForm: postgresConnectionForm,
  givenKeys: true,
} satisfies ConnectorType & { describeConnection: typeof describePostgresConnection };
