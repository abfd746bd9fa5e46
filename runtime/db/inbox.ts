import Sqlite from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import type { StateDb } from './index';
import { ImmediateSqliteDialect } from './immediateTransactions';
import * as webhookInbox from './inboxMigrations/2026_11_26_2100_webhook_inbox';
import type { InboxDatabase } from './schema';
import { cachingStatements } from './statementCache';

/** The inbox's dated migrations, in order; kept apart from the state's, in a migration table of their own. */
const migrations: Record<string, Migration> = {
  '2026_11_26_2100_webhook_inbox': webhookInbox,
};

const staticProvider: MigrationProvider = { getMigrations: async () => migrations };

export type InboxDb = Kysely<InboxDatabase>;

/**
 * Opens (creating if needed) the webhook inbox in a SQLite file, or in memory for ':memory:', and migrates it. It is
 * a file apart from the state because SQLite lets one connection write a file at a time: the intake's group commits
 * and the pass worker's transactions kept waiting for each other's lock while they shared state.db.
 */
export async function openInboxDb(file: string): Promise<InboxDb> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  let sqlite: Sqlite.Database | undefined;
  try {
    sqlite = new Sqlite(file);
    sqlite.pragma('journal_mode = WAL');
    // As for the state: durable across a process crash, which is what a 202 promises.
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
  } catch (error) {
    sqlite?.close();
    throw new Error(`the webhook inbox ${file} could not be opened: ${(error as Error).message}`, { cause: error });
  }
  const db = new Kysely<InboxDatabase>({ dialect: new ImmediateSqliteDialect({ database: cachingStatements(sqlite) }) });
  const { error, results } = await new Migrator({
    db,
    provider: staticProvider,
    // Names of its own, so neither file's migration history can be mistaken for the other's.
    migrationTableName: 'inbox_migration',
    migrationLockTableName: 'inbox_migration_lock',
  }).migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((result) => result.status === 'Error');
    throw new Error(`inbox migration ${failed?.migrationName ?? ''} failed on ${file}: ${String(error)}`, { cause: error });
  }
  return db;
}

/** Rows copied per statement: seven columns times this stays well under the 32766 parameters SQLite binds. */
const CARRY_OVER_PAGE = 2000;

/**
 * Moves the webhook events and delivery ids that a state file from an earlier version still holds into the inbox, so
 * what was acknowledged before an upgrade is still processed, and a repeated delivery still recognised, after it.
 * Runs before the runtime starts; returns how many rows it moved.
 *
 * The rows are copied in one inbox transaction (processed or not, with their times and delivery ids, in their order
 * under new ids), committed, and only then deleted from the state. A crash between the two leaves them in both, and
 * the next start copies them again, which is harmless: a repeated event is only a hint (the engine reads the record
 * itself, SPEC §5.1), so it costs one read, and a repeated delivery id meets its earlier copy and is skipped by
 * `on conflict do nothing`. Deleting first could lose acknowledged events.
 */
export async function carryOverWebhookEvents(state: StateDb, inbox: InboxDb): Promise<{ events: number; deliveries: number }> {
  try {
    return await moveWebhookRows(state, inbox);
  } catch (error) {
    throw new Error(`moving webhook events from the state to the webhook inbox failed (nothing was removed from the state; the next start tries again): ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function moveWebhookRows(state: StateDb, inbox: InboxDb): Promise<{ events: number; deliveries: number }> {
  // Bounded by what is there now, so the delete below removes exactly the rows that were copied.
  const lastEvent = (await state.selectFrom('webhook_events').select((eb) => eb.fn.max('id').as('last')).executeTakeFirst())?.last ?? null;
  const lastDelivery = (await state.selectFrom('webhook_deliveries').select(sql<number | null>`max(rowid)`.as('last')).executeTakeFirst())?.last ?? null;
  if (lastEvent === null && lastDelivery === null) return { events: 0, deliveries: 0 };

  const moved = { events: 0, deliveries: 0 };
  await inbox.transaction().execute(async (trx) => {
    for (let after = 0; lastDelivery !== null && after < lastDelivery; ) {
      // The state's delivery table has a rowid (the inbox's has none): it pages the copy.
      const page = await state
        .selectFrom('webhook_deliveries')
        .select([sql<number>`rowid`.as('seq'), 'flow_id', 'node_id', 'delivery_id', 'received_at'])
        .where(sql`rowid`, '>', after)
        .where(sql`rowid`, '<=', lastDelivery)
        .orderBy(sql`rowid`)
        .limit(CARRY_OVER_PAGE)
        .execute();
      if (page.length === 0) break;
      await trx
        .insertInto('webhook_deliveries')
        .values(page.map(({ seq: _seq, ...delivery }) => delivery))
        .onConflict((oc) => oc.columns(['flow_id', 'node_id', 'delivery_id']).doNothing())
        .execute();
      moved.deliveries += page.length;
      after = page[page.length - 1]!.seq;
    }
    for (let after = 0; lastEvent !== null && after < lastEvent; ) {
      const page = await state
        .selectFrom('webhook_events')
        .selectAll()
        .where('id', '>', after)
        .where('id', '<=', lastEvent)
        .orderBy('id')
        .limit(CARRY_OVER_PAGE)
        .execute();
      if (page.length === 0) break;
      // Inserted in their old order, the events get new ids in that order: the worker reads them as they arrived.
      await trx
        .insertInto('webhook_events')
        .values(page.map(({ id: _id, ...event }) => event))
        .execute();
      moved.events += page.length;
      after = page[page.length - 1]!.id!;
    }
  });
  await state.transaction().execute(async (trx) => {
    if (lastEvent !== null) await trx.deleteFrom('webhook_events').where('id', '<=', lastEvent).execute();
    if (lastDelivery !== null) await trx.deleteFrom('webhook_deliveries').where(sql`rowid`, '<=', lastDelivery).execute();
  });
  return moved;
}
