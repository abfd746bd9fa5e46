import Sqlite from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, type SqliteDatabase } from 'kysely';
import { ImmediateSqliteDialect } from './immediateTransactions';
import { migrateToLatest, type StateDb } from './index';
import type { Database } from './schema';

const MAX_CACHED_SQL = 2000;

/**
 * A better-sqlite3 database whose `prepare` reuses statements by SQL text, least recently used first out. Kysely's
 * SQLite driver prepares every query anew, and under load (a webhook burst, a long pass) compiling the same few
 * statements again and again costs as much as running them. Kysely runs one query at a time on its connection, so a
 * cached statement is never in use twice at once.
 */
export function cachingStatements(sqlite: Sqlite.Database, capacity = 500): SqliteDatabase {
  const cache = new Map<string, Sqlite.Statement>();
  return {
    close: () => {
      cache.clear();
      sqlite.close();
    },
    prepare: (sql: string) => {
      // Multi-row inserts and long IN lists differ in length almost every time: caching them only evicts the rest.
      if (sql.length > MAX_CACHED_SQL) return sqlite.prepare(sql) as unknown as ReturnType<SqliteDatabase['prepare']>;
      let statement = cache.get(sql);
      if (statement) {
        // Re-inserting keeps the map in least-recently-used order.
        cache.delete(sql);
      } else {
        statement = sqlite.prepare(sql);
        if (cache.size >= capacity) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, statement);
      return statement as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}

/** Opens the state like `openStateDb`, with prepared statements reused across queries. */
export async function openCachedStateDb(file: string): Promise<StateDb> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new Sqlite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: cachingStatements(sqlite) }) });
  await migrateToLatest(db);
  return db;
}
