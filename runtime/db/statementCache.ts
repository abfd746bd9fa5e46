import type Sqlite from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

const MAX_CACHED_SQL = 2000;
/** Multi-row inserts come in a few fixed row counts (runtime/db/queries.ts): few shapes, each long. */
const MAX_CACHED_INSERTS = 200;

/**
 * A better-sqlite3 database whose `prepare` reuses statements by SQL text, least recently used first out. Kysely's
 * SQLite driver prepares every query anew, and under load (a webhook burst, a long pass) compiling the same few
 * statements again and again costs as much as running them. Kysely runs one query at a time on its connection, so a
 * cached statement is never in use twice at once.
 */
export function cachingStatements(sqlite: Sqlite.Database, capacity = 500): SqliteDatabase {
  const cache = new Map<string, Sqlite.Statement>();
  const inserts = new Map<string, Sqlite.Statement>();
  const cached = (lru: Map<string, Sqlite.Statement>, limit: number, sql: string) => {
    let statement = lru.get(sql);
    if (statement) {
      // Re-inserting keeps the map in least-recently-used order.
      lru.delete(sql);
    } else {
      statement = sqlite.prepare(sql);
      if (lru.size >= limit) lru.delete(lru.keys().next().value as string);
    }
    lru.set(sql, statement);
    return statement as unknown as ReturnType<SqliteDatabase['prepare']>;
  };
  return {
    close: () => {
      cache.clear();
      inserts.clear();
      sqlite.close();
    },
    prepare: (sql: string) => {
      if (sql.length <= MAX_CACHED_SQL) return cached(cache, capacity, sql);
      // Long IN lists differ in length almost every time: caching them would only evict the rest.
      if (/^insert into /i.test(sql)) return cached(inserts, MAX_CACHED_INSERTS, sql);
      return sqlite.prepare(sql) as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}
