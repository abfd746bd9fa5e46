/**
 * Real-time changes through LISTEN/NOTIFY. Nothing here runs unless the connection asks for it (`notify: true`):
 * the connector then installs, once, a trigger on the table that sends `{"op":"insert|update|delete","id":"<key>"}`
 * on a channel of its own. A notification is a hint, like a webhook (SPEC §5.1): the engine reads the record itself.
 *
 * To remove what it installs (docs/connectors.md):
 *
 *   DROP TRIGGER IF EXISTS syncline_notify ON <schema>.<table>;
 *   DROP FUNCTION IF EXISTS <schema>.syncline_notify_change();   -- once no table's trigger uses it
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';

export const notifyTriggerName = 'syncline_notify';
export const notifyFunctionName = 'syncline_notify_change';

/** A change the table reported: the id of the row and whether it is gone. */
export interface TableChange {
  id: string;
  type: 'upsert' | 'delete';
}

/** The channel a table's changes are sent on; PostgreSQL channel names stop at 63 bytes, so long ones are hashed. */
export function channelFor(schema: string, table: string): string {
  const plain = `syncline:${schema}.${table}`;
  if (Buffer.byteLength(plain) <= 63) return plain;
  return `syncline:${createHash('sha256').update(`${schema}.${table}`).digest('hex').slice(0, 40)}`;
}

/**
 * Installs the trigger and its function when the table does not have them yet; true when it installed them now.
 * Needs the rights to create a function in the schema and a trigger on the table (usually: owning the table).
 */
export async function installChangeNotifications(db: Kysely<unknown>, schema: string, table: string, keyColumn: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    // Two runtimes opening at once would both CREATE OR REPLACE the function and one would fail.
    await sql`SELECT pg_advisory_xact_lock(hashtext('syncline_notify_install'))`.execute(trx);
    const existing = await sql<{ found: number }>`
      SELECT 1 AS found FROM pg_trigger tg
      JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE tg.tgname = ${notifyTriggerName} AND n.nspname = ${schema} AND c.relname = ${table}`.execute(trx);
    if (existing.rows.length > 0) return false;
    await sql`
      CREATE OR REPLACE FUNCTION ${sql.id(schema, notifyFunctionName)}() RETURNS trigger LANGUAGE plpgsql AS $body$
      DECLARE
        changed jsonb;
      BEGIN
        IF TG_OP = 'DELETE' THEN changed := to_jsonb(OLD); ELSE changed := to_jsonb(NEW); END IF;
        PERFORM pg_notify(TG_ARGV[0], json_build_object('op', lower(TG_OP), 'id', changed ->> TG_ARGV[1])::text);
        RETURN NULL;
      END
      $body$`.execute(trx);
    await sql`
      CREATE TRIGGER ${sql.id(notifyTriggerName)} AFTER INSERT OR UPDATE OR DELETE ON ${sql.id(schema, table)}
      FOR EACH ROW EXECUTE FUNCTION ${sql.id(schema, notifyFunctionName)}(${sql.lit(channelFor(schema, table))}, ${sql.lit(keyColumn)})`.execute(trx);
    return true;
  });
}

/** Removes the trigger from the table, and the function once no other table's trigger uses it. */
export async function removeChangeNotifications(db: Kysely<unknown>, schema: string, table: string): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS ${sql.id(notifyTriggerName)} ON ${sql.id(schema, table)}`.execute(db);
  try {
    await sql`DROP FUNCTION IF EXISTS ${sql.id(schema, notifyFunctionName)}()`.execute(db);
  } catch (error) {
    // 2BP01: another table's trigger still uses the function; it goes with the last one.
    if ((error as { code?: unknown }).code !== '2BP01') throw error;
  }
}

/**
 * Listens on a table's channel on a connection of its own (a pooled one would be handed to other queries); returns
 * how to stop. `onError` hears of a lost connection, after which the caller should poll and subscribe again.
 */
export async function listenForChanges(
  config: pg.ClientConfig,
  channel: string,
  onChange: (change: TableChange) => void,
  onError: (error: Error) => void,
): Promise<() => Promise<void>> {
  const client = new pg.Client(config);
  let stopped = false;
  client.on('error', (error) => {
    if (!stopped) onError(error);
  });
  client.on('notification', (message) => {
    if (message.channel !== channel || !message.payload) return;
    try {
      const payload = JSON.parse(message.payload) as { op?: unknown; id?: unknown };
      if (payload.id === null || payload.id === undefined) return;
      onChange({ id: String(payload.id), type: payload.op === 'delete' ? 'delete' : 'upsert' });
    } catch {
      // Someone else's NOTIFY on our channel: not ours to read.
    }
  });
  await client.connect();
  await client.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
  return async () => {
    if (stopped) return;
    stopped = true;
    await client.end().catch(() => undefined);
  };
}
