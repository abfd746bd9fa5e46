/**
 * Real-time changes through LISTEN/NOTIFY. Nothing here runs unless the connection asks for it (`notify: true`):
 * the connector then installs, once, a trigger on the table that sends `{"op":"insert|update|delete","id":"<key>"}`
 * on a channel of its own. A notification is a hint, like a webhook (SPEC §5.1): the engine reads the record itself.
 *
 * To remove what it installs (docs/connectors.md):
 *
 *   DROP TRIGGER IF EXISTS syncline_notify ON <schema>.<table>;
 *   DROP FUNCTION IF EXISTS <schema>.syncline_notify_for_<table>();
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { quoteIdentifier, quoteLiteral } from '../sql/quoting';

export const notifyTriggerName = 'syncline_notify';
/** The one function every table's trigger called before each table got its own (functionFor); removed once unused. */
const sharedFunctionName = 'syncline_notify_change';

/** A change the table reported: the id of the row, whether it is gone, and the tag the change wrote, if any. */
export interface TableChange {
  id: string;
  type: 'upsert' | 'delete';
  /** The tag column's value when this change set it (a runtime's write); absent for anyone else's change. */
  tag?: string;
}

/** PostgreSQL truncates names past 63 bytes (NAMEDATALEN − 1), so longer ones end in a hash of what they name instead. */
function boundedName(prefix: string, schema: string, table: string, readable: string): string {
  if (Buffer.byteLength(readable) <= 63) return readable;
  return `${prefix}${createHash('sha256').update(`${schema}.${table}`).digest('hex').slice(0, 40)}`;
}

/** The channel a table's changes are sent on. */
export function channelFor(schema: string, table: string): string {
  return boundedName('syncline:', schema, table, `syncline:${schema}.${table}`);
}

/** The trigger function of one table: its body names the table's own columns (see notifyBody). */
export function functionFor(schema: string, table: string): string {
  return boundedName('syncline_notify_for_', schema, table, `syncline_notify_for_${table}`);
}

/**
 * The body of a table's trigger function. It reads the key and the tag as columns of NEW and OLD: the function shared
 * by every table before (`to_jsonb(NEW) ->> column`, the column given as an argument) turned the whole row into
 * JSON for each, which made a 100,000-row UPDATE of a notify table take 1.5 s instead of 0.4 s without the trigger;
 * reading the columns themselves takes it to 0.9 s (bench/postgres.notes.md). The rest is pg_notify's own work.
 */
function notifyBody(channel: string, keyColumn: string, tagColumn: string | null): string {
  const key = quoteIdentifier(keyColumn);
  const written = tagColumn === null
    ? ''
    : `
    written := NEW.${quoteIdentifier(tagColumn)};
    IF TG_OP = 'UPDATE' AND written IS NOT DISTINCT FROM OLD.${quoteIdentifier(tagColumn)} THEN written := NULL; END IF;`;
  return `
-- ${functionVersion}
DECLARE
  written text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify(${quoteLiteral(channel)}, json_build_object('op', 'delete', 'id', OLD.${key}::text, 'tag', NULL)::text);
  ELSE${written}
    PERFORM pg_notify(${quoteLiteral(channel)}, json_build_object('op', lower(TG_OP), 'id', NEW.${key}::text, 'tag', written)::text);
  END IF;
  RETURN NULL;
END
`;
}

/** Marks the function's body, so an installation made by an older version is recognised and replaced. */
const functionVersion = 'syncline notify v3: columns';

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
  const name = functionFor(schema, table);
  const body = notifyBody(channelFor(schema, table), keyColumn, tagColumn);
  return db.transaction().execute(async (trx) => {
    // Two runtimes opening at once would both CREATE OR REPLACE the function and one would fail.
    await sql`SELECT pg_advisory_xact_lock(hashtext('syncline_notify_install'))`.execute(trx);
    const existing = await sql<{ name: string; body: string }>`
      SELECT p.proname AS name, p.prosrc AS body FROM pg_trigger tg
      JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p ON p.oid = tg.tgfoid
      WHERE tg.tgname = ${notifyTriggerName} AND n.nspname = ${schema} AND c.relname = ${table}`.execute(trx);
    const current = existing.rows[0];
    if (current && current.name === name && current.body === body) return false;
    await sql`CREATE OR REPLACE FUNCTION ${sql.id(schema, name)}() RETURNS trigger LANGUAGE plpgsql AS ${sql.lit(body)}`.execute(trx);
    if (current) await sql`DROP TRIGGER ${sql.id(notifyTriggerName)} ON ${sql.id(schema, table)}`.execute(trx);
    await sql`
      CREATE TRIGGER ${sql.id(notifyTriggerName)} AFTER INSERT OR UPDATE OR DELETE ON ${sql.id(schema, table)}
      FOR EACH ROW EXECUTE FUNCTION ${sql.id(schema, name)}()`.execute(trx);
    if (current && current.name !== name) await dropUnlessUsed(trx, schema, current.name);
    return true;
  });
}

/** Drops a trigger function of ours, unless a trigger still uses it (the shared one of older versions may be). */
async function dropUnlessUsed(db: Kysely<unknown>, schema: string, name: string): Promise<void> {
  const users = await sql<{ n: string }>`
    SELECT count(*) AS n FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = ${schema} AND p.proname = ${name}`.execute(db);
  if (Number(users.rows[0]?.n ?? 0) === 0) await sql`DROP FUNCTION IF EXISTS ${sql.id(schema, name)}()`.execute(db);
}

/** Removes the trigger from the table, and its function (and the shared one of older versions once unused). */
export async function removeChangeNotifications(db: Kysely<unknown>, schema: string, table: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('syncline_notify_install'))`.execute(trx);
    await sql`DROP TRIGGER IF EXISTS ${sql.id(notifyTriggerName)} ON ${sql.id(schema, table)}`.execute(trx);
    await dropUnlessUsed(trx, schema, functionFor(schema, table));
    await dropUnlessUsed(trx, schema, sharedFunctionName);
  });
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
  await client.query(`LISTEN ${quoteIdentifier(channel)}`);
  return async () => {
    if (stopped) return;
    stopped = true;
    await client.end().catch(() => undefined);
  };
}
