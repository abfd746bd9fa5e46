import { SqliteDialect, SqliteDriver, CompiledQuery, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';

/**
 * Kysely's SQLite driver opens transactions with a plain (deferred) `begin`. With a second connection writing the same
 * file (the pass worker, or `syncline run` next to a server), a deferred transaction that reads before it writes fails
 * at its first write with SQLITE_BUSY_SNAPSHOT whenever the other connection committed after that read: its snapshot
 * is stale, and SQLite reports that at once instead of calling the busy handler. `begin immediate` takes the write
 * lock up front, waiting through busy_timeout like any single write, so the transaction reads a snapshot nobody can
 * change under it. Every state transaction writes, so taking the lock early costs none of them anything.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/** Kysely's SQLite dialect with every transaction begun `immediate`. */
export class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly config: SqliteDialectConfig) {
    super(config);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.config);
  }
}
