import { SqliteDialect, SqliteDriver, CompiledQuery, type DatabaseConnection, type Driver, type QueryCompiler, type SqliteDialectConfig } from 'kysely';
import { SqliteStateCompiler } from './dialect';

/** How long `begin immediate` keeps trying for the write lock, as busy_timeout does for single statements. */
const LOCK_WAIT_MS = 5000;
/** The longest pause between two tries: a transaction of the other connection usually ends within milliseconds. */
const MAX_PAUSE_MS = 4;

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Kysely's SQLite driver opens transactions with a plain (deferred) `begin`. With a second connection writing the same
 * file (the pass worker, or `syncline run` next to a server), a deferred transaction that reads before it writes fails
 * at its first write with SQLITE_BUSY_SNAPSHOT whenever the other connection committed after that read: its snapshot
 * is stale, and SQLite reports that at once instead of calling the busy handler. `begin immediate` takes the write
 * lock up front, so the transaction reads a snapshot nobody can change under it. Every state transaction writes, so
 * taking the lock early costs none of them anything.
 *
 * While the other connection holds the lock, SQLite's busy handler would sleep inside the call and stop this thread's
 * event loop with it (the server's webhook intake waited milliseconds per batch on the pass worker's commits). So
 * the lock is asked for without the busy handler, and asked again after a short pause that lets the loop run.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  /** Each connection's own busy timeout, read once: it is put back after every `begin`. */
  private readonly busyTimeouts = new WeakMap<DatabaseConnection, number>();

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    let busyTimeout = this.busyTimeouts.get(connection);
    if (busyTimeout === undefined) {
      const { rows } = await connection.executeQuery<{ timeout: number }>(CompiledQuery.raw('pragma busy_timeout'));
      busyTimeout = rows[0]?.timeout ?? 0;
      this.busyTimeouts.set(connection, busyTimeout);
    }
    await connection.executeQuery(CompiledQuery.raw('pragma busy_timeout = 0'));
    try {
      const deadline = Date.now() + Math.max(busyTimeout, LOCK_WAIT_MS);
      for (let pause = 1; ; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
        try {
          await connection.executeQuery(CompiledQuery.raw('begin immediate'));
          return;
        } catch (error) {
          if (!isBusy(error) || Date.now() >= deadline) throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    } finally {
      await connection.executeQuery(CompiledQuery.raw(`pragma busy_timeout = ${Math.trunc(busyTimeout)}`));
    }
  }
}

/** Kysely's SQLite dialect with every transaction begun `immediate`, compiling the state's lists (dialect.ts). */
export class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly config: SqliteDialectConfig) {
    super(config);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.config);
  }

  override createQueryCompiler(): QueryCompiler {
    return new SqliteStateCompiler();
  }
}
