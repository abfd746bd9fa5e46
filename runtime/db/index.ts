import Sqlite from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, Migrator, type Migration, type MigrationProvider } from 'kysely';
import { ImmediateSqliteDialect } from './immediateTransactions';
import { cachingStatements } from './statementCache';
import * as initialState from './migrations/2026_11_26_1600_initial_state';
import * as serverState from './migrations/2026_11_26_1730_server_state';
import * as leanerState from './migrations/2026_11_26_1900_leaner_state';
import * as flowKnowledge from './migrations/2026_11_26_2000_flow_knowledge';
import type { Database } from './schema';

/** The dated migrations, in order. Imported statically so they work the same under tsx, vitest and a bundle. */
const migrations: Record<string, Migration> = {
  '2026_11_26_1600_initial_state': initialState,
  '2026_11_26_1730_server_state': serverState,
  '2026_11_26_1900_leaner_state': leanerState,
  '2026_11_26_2000_flow_knowledge': flowKnowledge,
};

const staticProvider: MigrationProvider = { getMigrations: async () => migrations };

export type StateDb = Kysely<Database>;

/** Opens (creating if needed) the runtime state in a SQLite file, or in memory for ':memory:', and migrates it. */
export async function openStateDb(file: string): Promise<StateDb> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new Sqlite(file);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL keeps WAL commits durable across a process crash (not a power cut) at a fraction of FULL's cost.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  const db = wrapSqlite(sqlite);
  await migrateToLatest(db);
  return db;
}

/**
 * A Kysely handle over an open better-sqlite3 database (not migrated); its transactions begin `immediate`, and its
 * statements are prepared once and reused (see cachingStatements).
 */
export function wrapSqlite(sqlite: Sqlite.Database): StateDb {
  return new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: cachingStatements(sqlite) }) });
}

/** Applies every pending migration, or throws with the one that failed. */
export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider: staticProvider }).migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error');
    throw new Error(`state migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
}
