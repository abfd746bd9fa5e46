import Sqlite from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import { createPrivateFolder, ensurePrivateFile, SQLITE_COMPANIONS } from '../credentials/privateFiles';
import { BackgroundCheckpoints } from './checkpoints';
import { isSqlite } from './dialect';
import { ImmediateSqliteDialect } from './immediateTransactions';
import { cachingStatements } from './statementCache';
import * as initialState from './migrations/2026_11_26_1600_initial_state';
import * as serverState from './migrations/2026_11_26_1730_server_state';
import * as leanerState from './migrations/2026_11_26_1900_leaner_state';
import * as flowKnowledge from './migrations/2026_11_26_2000_flow_knowledge';
import * as credentialTypes from './migrations/2026_12_02_0800_credential_types';
import * as flowIds from './migrations/2026_12_02_1000_flow_ids';
import * as flowDrafts from './migrations/2026_12_03_1200_flow_drafts';
import * as shadowHashes from './migrations/2026_12_03_1300_shadow_hashes';
import * as fieldProvenance from './migrations/2026_12_04_1000_field_provenance';
import * as pageJournal from './migrations/2026_12_05_0900_page_journal';
import * as runProcess from './migrations/2026_12_06_1100_run_process';
import * as entitySides from './migrations/2026_12_07_0900_entity_sides';
import * as triggerHolds from './migrations/2026_12_08_0900_trigger_holds';
import * as webhookRemovals from './migrations/2026_12_09_0900_webhook_removals';
import { isPostgresUrl } from '../util/postgresUrl';
import { connectPostgresState, type PostgresStateOptions } from './postgresState';
import type { Database } from './schema';

/** The dated migrations, in order. Imported statically so they work the same under tsx, vitest and a bundle. */
const migrations = {
  '2026_11_26_1600_initial_state': initialState,
  '2026_11_26_1730_server_state': serverState,
  '2026_11_26_1900_leaner_state': leanerState,
  '2026_11_26_2000_flow_knowledge': flowKnowledge,
  '2026_12_02_0800_credential_types': credentialTypes,
  '2026_12_02_1000_flow_ids': flowIds,
  '2026_12_03_1200_flow_drafts': flowDrafts,
  '2026_12_03_1300_shadow_hashes': shadowHashes,
  '2026_12_04_1000_field_provenance': fieldProvenance,
  '2026_12_05_0900_page_journal': pageJournal,
  '2026_12_06_1100_run_process': runProcess,
  '2026_12_07_0900_entity_sides': entitySides,
  '2026_12_08_0900_trigger_holds': triggerHolds,
  '2026_12_09_0900_webhook_removals': webhookRemovals,
} satisfies Record<string, Migration>;

export type StateDb = Kysely<Database>;

/**
 * A connection to one of the runtime's SQLite files, or to memory for ':memory:', set up as they all are: WAL, and
 * NORMAL syncing, which keeps commits durable across a process crash (not a power cut) at a fraction of FULL's cost.
 * The file, and the -wal and -shm files SQLite makes beside it with its mode, are the owner's only (0600), in a
 * folder created 0700.
 */
export function openSqliteFile(file: string): Sqlite.Database {
  if (file !== ':memory:') {
    createPrivateFolder(dirname(file));
    ensurePrivateFile(file, SQLITE_COMPANIONS);
  }
  const sqlite = new Sqlite(file);
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
  } catch (error) {
    sqlite.close();
    throw error;
  }
  return sqlite;
}

export interface StateOptions extends PostgresStateOptions {
  /**
   * For the connection that runs passes on a SQLite file: checkpoint its WAL on a thread of its own (checkpoints.ts),
   * stopped when the state is closed. Ignored in memory and on PostgreSQL.
   */
  backgroundCheckpoints?: boolean;
}

/**
 * Opens (creating if needed) the runtime state and migrates it: in a SQLite file, in memory for ':memory:', or in
 * PostgreSQL for a `postgres://` URL (in `options.schema` when given; see postgresState.ts). An existing file that is
 * not a state is refused before it is changed in any way (readStateFile).
 */
export async function openStateDb(location: string, options: StateOptions = {}): Promise<StateDb> {
  if (!isPostgresUrl(location) && location !== ':memory:' && existsSync(location)) readStateFile(location, () => undefined);
  const sqlite = isPostgresUrl(location) ? null : openSqliteFile(location);
  const checkpoints = sqlite && options.backgroundCheckpoints && location !== ':memory:' ? BackgroundCheckpoints.start(location, sqlite) : null;
  const db = sqlite ? wrapSqlite<Database>(sqlite, () => checkpoints?.stop()) : await connectPostgresState<Database>(location, options);
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  // A multi-row statement inside a transaction first copies every page it will change to a statement journal, so it
  // can be undone alone; in a temporary file that was 560 MB of writes in an import of 100,000 records, more than the
  // WAL took (bench/engine.notes.md, fifth round). It only serves a rollback within a live transaction: what a commit
  // keeps is in the WAL as before. In memory it holds the pages one statement changes, a page of records for a pass's
  // statements; set after the migrations, whose statements may rewrite a whole table and so keep a temporary file.
  sqlite?.pragma('temp_store = MEMORY');
  return db;
}

/** The table a state's migration history is kept in (Kysely's Migrator's own name): every Syncline state file has one. */
const STATE_HISTORY_TABLE = 'kysely_migration';

/**
 * Reads an existing state file through a read-only handle, closed again before this returns, once it is known to be a
 * state: a SQLite database without tables (a state not made yet) or with Syncline's migration history. Any other
 * database is refused, before anything opens it to write: it is someone else's (a flow's own database, named by a
 * mistaken --state), and opening it as the state would fill it with Syncline's tables, switch it to WAL and make it
 * private to this user. Every error names the file.
 */
export function readStateFile<T>(file: string, read: (sqlite: Sqlite.Database) => T): T {
  let tables: string[];
  let sqlite: Sqlite.Database | undefined;
  try {
    sqlite = new Sqlite(file, { readonly: true, fileMustExist: true });
    tables = sqlite.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\' order by name").pluck().all() as string[];
    if (tables.length === 0 || tables.includes(STATE_HISTORY_TABLE)) return read(sqlite);
  } catch (error) {
    throw new Error(`cannot read the state ${file}: ${String(error)}`, { cause: error });
  } finally {
    sqlite?.close();
  }
  const shown = tables.length > 3 ? `${tables.slice(0, 3).join(', ')}, …` : tables.join(', ');
  throw new Error(`${file} holds tables of its own (${shown}) and is not a Syncline state: pick another --state`);
}

/**
 * A Kysely handle over an open better-sqlite3 database (not migrated); its transactions begin `immediate`, and its
 * statements are prepared once and reused (see cachingStatements). `beforeClose` runs when the handle is destroyed,
 * before the database is closed.
 */
export function wrapSqlite<DB = Database>(sqlite: Sqlite.Database, beforeClose?: () => void): Kysely<DB> {
  const database = cachingStatements(sqlite);
  const closing = beforeClose
    ? {
        prepare: database.prepare,
        close: () => {
          beforeClose();
          database.close();
        },
      }
    : database;
  return new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: closing }) });
}

/**
 * Applies every pending migration of the state, or throws with the one that failed. On PostgreSQL the history is kept
 * in the state's own schema: left to itself, Kysely takes a migration table of any schema of the database for its own.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  if (isSqlite(db)) return applyMigrations(db, migrations, 'state migration');
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  await applyMigrations(db, migrations, 'state migration', { migrationTableSchema: rows[0]?.schema });
}

/**
 * Applies the state's migrations up to and including `last`, as a release that ended there left its files: for tests
 * that make state in an older shape and migrate it forward.
 */
export async function migrateUpTo(db: Kysely<Database>, last: keyof typeof migrations): Promise<void> {
  const entries: Array<[string, Migration]> = Object.entries(migrations);
  const upTo = Object.fromEntries(entries.slice(0, entries.findIndex(([name]) => name === last) + 1));
  await applyMigrations(db, upTo, 'state migration');
}

/**
 * Applies every pending migration of one set, or throws naming the one that failed (`what` starts the message). A set
 * other than the state's keeps its history in tables of its own (`tables`); on PostgreSQL, `tables` names the schema.
 */
export async function applyMigrations<DB>(
  db: Kysely<DB>,
  set: Record<string, Migration>,
  what: string,
  tables: { migrationTableName?: string; migrationLockTableName?: string; migrationTableSchema?: string } | null = null,
): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => set };
  const { error, results } = await new Migrator({ db, provider, ...tables }).migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error');
    // No migration failed when the database could not be read at all: the message then names none.
    throw new Error(`${what}${failed ? ` ${failed.migrationName}` : ''} failed: ${String(error)}`, { cause: error });
  }
}
