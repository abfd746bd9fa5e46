import type Sqlite from 'better-sqlite3';
import { sql, type Kysely, type Migration } from 'kysely';
import { isPostgresUrl } from '../util/postgresUrl';
import { isSqlite } from './dialect';
import { applyMigrations, migrateToLatest, openSqliteFile, wrapSqlite, type StateDb } from './index';
import { connectPostgresState, type PostgresStateOptions } from './postgresState';
import * as webhookInbox from './inboxMigrations/2026_11_26_2100_webhook_inbox';
import type { InboxDatabase } from './schema';

/** The inbox's dated migrations, in order; kept apart from the state's, in a migration table of their own. */
const migrations: Record<string, Migration> = {
  '2026_11_26_2100_webhook_inbox': webhookInbox,
};

export type InboxDb = Kysely<InboxDatabase>;

/** Names of its own, so neither migration history can be mistaken for the other's. */
const MIGRATION_TABLES = { migrationTableName: 'inbox_migration', migrationLockTableName: 'inbox_migration_lock' };

/**
 * Opens (creating if needed) the webhook inbox and migrates it: in a SQLite file, in memory for ':memory:', or for a
 * `postgres://` URL in the state's schema there (the same URL and options as the state's).
 *
 * On SQLite it is a file apart from the state because SQLite lets one connection write a file at a time: the
 * intake's group commits and the pass worker's transactions kept waiting for each other's lock while they shared
 * state.db. PostgreSQL has no such lock, so there the inbox keeps its tables beside the state's, on connections of
 * its own (a 202 waits for no pass's transaction), with its own migration history.
 */
export async function openInboxDb(location: string, options: PostgresStateOptions = {}): Promise<InboxDb> {
  if (isPostgresUrl(location)) return openPostgresInbox(location, options);
  const file = location;
  let sqlite: Sqlite.Database;
  try {
    sqlite = openSqliteFile(file);
  } catch (error) {
    throw new Error(`the webhook inbox ${file} could not be opened: ${(error as Error).message}`, { cause: error });
  }
  const db = wrapSqlite<InboxDatabase>(sqlite);
  try {
    await applyMigrations(db, migrations, `webhook inbox ${file}: migration`, MIGRATION_TABLES);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}

/**
 * The inbox in the state's schema on PostgreSQL. Its tables are the ones the state's migrations make (see the inbox's
 * migration), so the state is brought up to date first, whichever of the two a process opens first.
 */
async function openPostgresInbox(url: string, options: PostgresStateOptions): Promise<InboxDb> {
  const db = await connectPostgresState<InboxDatabase>(url, options);
  try {
    await migrateToLatest(db as unknown as StateDb);
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    await applyMigrations(db, migrations, 'webhook inbox: migration', { ...MIGRATION_TABLES, migrationTableSchema: rows[0]?.schema });
  } catch (error) {
    await db.destroy();
    throw error;
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
  // Only SQLite state files older than the inbox hold webhook events (and the copy pages by SQLite's rowid).
  if (!isSqlite(state)) return { events: 0, deliveries: 0 };
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
