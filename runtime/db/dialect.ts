/**
 * What the state's SQL says differently on SQLite and on PostgreSQL, said once. Queries elsewhere are written with
 * Kysely's builder and these helpers, so the same function runs on either database; migrations branch on
 * {@link isSqlite} where a statement has no common form.
 *
 * The migrations up to 2026_12_04 were written for SQLite alone and took these helpers afterwards, without changing a
 * statement they run on SQLite: a state file gets exactly the tables and history it always did (dialect.test.ts
 * compares with a file made by that release).
 */
import {
  PostgresQueryCompiler,
  sql,
  SqliteAdapter,
  SqliteQueryCompiler,
  type ColumnDefinitionBuilder,
  type Expression,
  type QueryExecutorProvider,
  type RawBuilder,
} from 'kysely';

/** Whether a state handle (a Kysely instance, a transaction, or a migration's `db`) talks to SQLite. */
export function isSqlite(db: QueryExecutorProvider): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/**
 * The column type of the state's text. On PostgreSQL it compares and sorts bytewise (`collate "C"`), as SQLite's
 * BINARY does: record ids and ISO timestamps are compared with `<` and paged with `order by` in code-unit order,
 * which a database created with a language's collation (en_US sorts `a` before `B`, and skips `-` at first) would
 * not give. On SQLite it is plain `text`, so state files get exactly the tables they always did.
 */
export function textType(db: QueryExecutorProvider): 'text' | RawBuilder<unknown> {
  return isSqlite(db) ? 'text' : sql`text collate "C"`;
}

/**
 * A primary key the database numbers (run_log.id, webhook_events.id), as `addColumn(name, key.type, key.build)`:
 * SQLite's `integer primary key autoincrement` is a 64-bit rowid, so PostgreSQL gets a bigint identity column.
 */
export function serialKey(db: QueryExecutorProvider): { type: 'integer' | 'bigint'; build: (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder } {
  return isSqlite(db)
    ? { type: 'integer', build: (column) => column.primaryKey().autoIncrement() }
    : { type: 'bigint', build: (column) => column.primaryKey().generatedByDefaultAsIdentity() };
}

/**
 * The keys and values of a JSON object held in a text column, as a table to join (`key` and `value` columns): SQLite's
 * `json_each` of the text, PostgreSQL's `json_each` of the text read as json.
 */
export function jsonObjectEntries(db: QueryExecutorProvider, column: Expression<string>): RawBuilder<{ key: string }> {
  return isSqlite(db) ? sql`json_each(${column})` : sql`json_each(cast(${column} as json))`;
}

/**
 * A list of values bound as one parameter, for `in` (bulk.ts `oneOf`). The state's dialects compile it: SQLite reads a
 * JSON array with `json_each`, PostgreSQL unnests an array. Either way the statement is the same for any length of
 * list (on PostgreSQL, any but none).
 */
export class ValueList {
  constructor(readonly values: readonly (string | number)[]) {}
}

/** SQLite's compiler for the state, which knows {@link ValueList}. */
export class SqliteStateCompiler extends SqliteQueryCompiler {
  protected override appendValue(parameter: unknown): void {
    if (!(parameter instanceof ValueList)) return super.appendValue(parameter);
    this.append('(select value from json_each(');
    super.appendValue(JSON.stringify(parameter.values));
    this.append('))');
  }
}

/** PostgreSQL's compiler for the state, which knows {@link ValueList}. */
export class PostgresStateCompiler extends PostgresQueryCompiler {
  protected override appendValue(parameter: unknown): void {
    if (!(parameter instanceof ValueList)) return super.appendValue(parameter);
    const { values } = parameter;
    // An empty array has no element type to compare with; `(null)` matches nothing and compares with any column.
    if (values.length === 0) return this.append('(null)');
    this.append('(select unnest(');
    super.appendValue(values);
    this.append(values.every((value) => typeof value === 'number') ? '::bigint[]))' : '::text[]))');
  }
}
