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

/** A change the table reported: the id of the row, whether it is gone, and the tag the change wrote, if any. */
export interface TableChange {
  id: string;
  type: 'upsert' | 'delete';
  /** The tag column's value when this change set it (a runtime's write); absent for anyone else's change. */
  tag?: string;
}

/** The channel a table's changes are sent on; PostgreSQL channel names stop at 63 bytes, so long ones are hashed. */
export function channelFor(schema: string, table: string): string {
  const plain = `syncline:${schema}.${table}`;
  if (Buffer.byteLength(plain) <= 63) return plain;
  return `syncline:${createHash('sha256').update(`${schema}.${table}`).digest('hex').slice(0, 40)}`;
}

/**
 * Installs the trigger and its function when the table does not have them yet, or brings an older installation up to
 * date; true when it changed anything. Needs the rights to create a function in the schema and a trigger on the table
 * (usually: owning the table).
 *
 * With a tag column, a notification also carries the tag a statement wrote (an INSERT's tag, or an UPDATE's when it
 * changed): the runtime's own writes carry a fresh `syncline:<flow>:<write>` tag, so the flow that made them drops
 * their echoes unread instead of running a pass for each (an initial sync into a `notify` table wrote every row
 * twice over: once as the write, once as the pass its echo woke). A person's edit leaves the tag as it was, so it
 * carries none and is read like any change.
 */
export async function installChangeNotifications(db: Kysely<unknown>, schema: string, table: string, keyColumn: string, tagColumn: string | null = null): Promise<boolean> {
  const args = [channelFor(schema, table), keyColumn, ...(tagColumn === null ? [] : [tagColumn])];
  return db.transaction().execute(async (trx) => {
    // Two runtimes opening at once would both CREATE OR REPLACE the function and one would fail.
    await sql`SELECT pg_advisory_xact_lock(hashtext('syncline_notify_install'))`.execute(trx);
    const existing = await sql<{ args: string; body: string }>`
      SELECT encode(tg.tgargs, 'escape') AS args, p.prosrc AS body FROM pg_trigger tg
      JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p ON p.oid = tg.tgfoid
      WHERE tg.tgname = ${notifyTriggerName} AND n.nspname = ${schema} AND c.relname = ${table}`.execute(trx);
    const current = existing.rows[0];
    // tgargs holds each argument followed by a NUL byte, which encode(…, 'escape') shows as \000.
    if (current && current.args === args.map((arg) => `${arg}\\000`).join('') && current.body.includes(functionVersion)) return false;
    await sql`
      CREATE OR REPLACE FUNCTION ${sql.id(schema, notifyFunctionName)}() RETURNS trigger LANGUAGE plpgsql AS $body$
      -- ${sql.raw(functionVersion)}
      DECLARE
        changed jsonb;
        written text;
      BEGIN
        IF TG_OP = 'DELETE' THEN changed := to_jsonb(OLD); ELSE changed := to_jsonb(NEW); END IF;
        IF TG_NARGS > 2 AND TG_OP <> 'DELETE' THEN
          written := changed ->> TG_ARGV[2];
          IF TG_OP = 'UPDATE' AND written IS NOT DISTINCT FROM (to_jsonb(OLD) ->> TG_ARGV[2]) THEN written := NULL; END IF;
        END IF;
        PERFORM pg_notify(TG_ARGV[0], json_build_object('op', lower(TG_OP), 'id', changed ->> TG_ARGV[1], 'tag', written)::text);
        RETURN NULL;
      END
      $body$`.execute(trx);
    if (current) await sql`DROP TRIGGER ${sql.id(notifyTriggerName)} ON ${sql.id(schema, table)}`.execute(trx);
    await sql`
      CREATE TRIGGER ${sql.id(notifyTriggerName)} AFTER INSERT OR UPDATE OR DELETE ON ${sql.id(schema, table)}
      FOR EACH ROW EXECUTE FUNCTION ${sql.id(schema, notifyFunctionName)}(${sql.join(args.map((arg) => sql.lit(arg)))})`.execute(trx);
    return true;
  });
}

/** Marks the function's body, so an installation made by an older version is recognised and replaced. */
const functionVersion = 'syncline notify v2: tags';

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
      const payload = JSON.parse(message.payload) as { op?: unknown; id?: unknown; tag?: unknown };
      if (payload.id === null || payload.id === undefined) return;
      const tag = typeof payload.tag === 'string' ? { tag: payload.tag } : {};
      onChange({ id: String(payload.id), type: payload.op === 'delete' ? 'delete' : 'upsert', ...tag });
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
