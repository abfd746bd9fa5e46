/**
 * Real-time changes through LISTEN/NOTIFY. Nothing here runs unless the connection asks for it (`notify: true`):
 * the connector then installs, once, three statement triggers on the table (insert, update, delete) that send, per
 * statement, `{"op":"upsert|delete","rows":[["<key>","<tag>"|null],…]}` on a channel of its own, as many
 * notifications as the rows need (a payload holds under 8,000 bytes). A notification is a hint, like a webhook
 * (SPEC §5.1): the engine reads the record itself.
 *
 * To remove what it installs (docs/connectors.md):
 *
 *   DROP TRIGGER IF EXISTS syncline_notify_insert ON <schema>.<table>;
 *   DROP TRIGGER IF EXISTS syncline_notify_update ON <schema>.<table>;
 *   DROP TRIGGER IF EXISTS syncline_notify_delete ON <schema>.<table>;
 *   DROP FUNCTION IF EXISTS <schema>.syncline_notify_for_<table>();
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { quoteIdentifier, quoteLiteral } from '../sql/quoting';

/** The trigger of versions before the statement triggers: one per row, for every event. Replaced where found. */
const rowTriggerName = 'syncline_notify';
/** The statement triggers, one per event: a trigger with transition tables may fire on one event only. */
const statementTriggers = [
  { name: 'syncline_notify_insert', event: 'INSERT', referencing: 'NEW TABLE AS syncline_new' },
  { name: 'syncline_notify_update', event: 'UPDATE', referencing: 'OLD TABLE AS syncline_old NEW TABLE AS syncline_new' },
  { name: 'syncline_notify_delete', event: 'DELETE', referencing: 'OLD TABLE AS syncline_old' },
] as const;
/** Every trigger name of ours a table may carry, of this version or an older one: none of them changes a row. */
export const notifyTriggerNames: readonly string[] = [rowTriggerName, ...statementTriggers.map((trigger) => trigger.name)];
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
 * The body of a table's trigger function, run once per statement with the statement's rows as transition tables.
 * Per row it had cost a plpgsql call and a pg_notify: a 100,000-row INSERT in pages of 2,000 took 0.84–0.87 s with
 * that trigger, 0.45–0.56 s with none and 0.56–0.58 s with this one (bench/postgres.notes.md). It reads the key and
 * the tag as columns of the rows, not through `to_jsonb`, which made the shared function of older versions slower still.
 *
 * A notification's payload must stay under 8,000 bytes, so the rows go in chunks of at most 7,800 bytes of entries:
 * chunk n holds the entries whose running total of sizes falls in [3,900·n, 3,900·(n+1)), which with no entry above
 * 3,900 bytes bounds each chunk by twice that. A row whose key and tag pass 3,900 bytes as JSON is left out: its change
 * is still listed by the next poll, only not hinted.
 */
function notifyBody(channel: string, keyColumn: string, tagColumn: string | null): string {
  const key = quoteIdentifier(keyColumn);
  const tag = tagColumn === null ? null : quoteIdentifier(tagColumn);
  const send = (op: 'upsert' | 'delete', entries: string) => `
    PERFORM pg_notify(${quoteLiteral(channel)}, '{"op":"${op}","rows":[' || string_agg(entry, ',' ORDER BY position) || ']}')
    FROM (
      SELECT entry, position, sum(octet_length(entry) + 1) OVER (ORDER BY position ROWS UNBOUNDED PRECEDING) / ${CHUNK_BYTES} AS chunk
      FROM (SELECT json_build_array(k, t)::text AS entry, row_number() OVER () AS position FROM (${entries}) AS changed) AS listed
      WHERE octet_length(entry) <= ${CHUNK_BYTES}
    ) AS chunked
    GROUP BY chunk;`;
  // A tag is reported only where the statement set it, as the runtime's writes do; a person's edit leaves it as it was.
  const updatedTag = tag === null ? 'NULL::text' : `CASE WHEN o.${key} IS NULL OR n.${tag} IS NOT DISTINCT FROM o.${tag} THEN NULL ELSE n.${tag} END`;
  return `
-- ${functionVersion}
BEGIN
  IF TG_OP = 'INSERT' THEN${send('upsert', `SELECT n.${key}::text AS k, ${tag === null ? 'NULL::text' : `n.${tag}`} AS t FROM syncline_new n`)}
  ELSIF TG_OP = 'UPDATE' THEN${send('upsert', `SELECT n.${key}::text AS k, ${updatedTag} AS t FROM syncline_new n LEFT JOIN syncline_old o ON o.${key} = n.${key}`)}
  ELSE${send('delete', `SELECT o.${key}::text AS k, NULL::text AS t FROM syncline_old o`)}
  END IF;
  RETURN NULL;
END
`;
}

/** Half the bytes a chunk of entries may take (see notifyBody): 2 × 3,900 plus the payload's frame stays under 8,000. */
const CHUNK_BYTES = 3900;

/** Marks the function's body, so an installation made by an older version is recognised and replaced. */
const functionVersion = 'syncline notify v4: statements';

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
    const existing = await sql<{ trigger: string; name: string; body: string }>`
      SELECT tg.tgname AS trigger, p.proname AS name, p.prosrc AS body FROM pg_trigger tg
      JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p ON p.oid = tg.tgfoid
      WHERE tg.tgname IN (${sql.join(notifyTriggerNames)}) AND n.nspname = ${schema} AND c.relname = ${table}`.execute(trx);
    const upToDate = (trigger: string) => existing.rows.some((row) => row.trigger === trigger && row.name === name && row.body === body);
    if (existing.rows.length === statementTriggers.length && statementTriggers.every((trigger) => upToDate(trigger.name))) return false;
    await sql`CREATE OR REPLACE FUNCTION ${sql.id(schema, name)}() RETURNS trigger LANGUAGE plpgsql AS ${sql.lit(body)}`.execute(trx);
    for (const row of existing.rows) await sql`DROP TRIGGER ${sql.id(row.trigger)} ON ${sql.id(schema, table)}`.execute(trx);
    for (const trigger of statementTriggers) {
      await sql`
        CREATE TRIGGER ${sql.id(trigger.name)} AFTER ${sql.raw(trigger.event)} ON ${sql.id(schema, table)}
        REFERENCING ${sql.raw(trigger.referencing)} FOR EACH STATEMENT EXECUTE FUNCTION ${sql.id(schema, name)}()`.execute(trx);
    }
    for (const old of new Set(existing.rows.map((row) => row.name))) if (old !== name) await dropUnlessUsed(trx, schema, old);
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
    for (const trigger of notifyTriggerNames) await sql`DROP TRIGGER IF EXISTS ${sql.id(trigger)} ON ${sql.id(schema, table)}`.execute(trx);
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
    let payload: { op?: unknown; id?: unknown; tag?: unknown; rows?: unknown };
    try {
      payload = JSON.parse(message.payload) as typeof payload;
    } catch {
      // Someone else's NOTIFY on our channel: not ours to read.
      return;
    }
    const type = payload.op === 'delete' ? 'delete' : 'upsert';
    // A row at a time from a trigger of an older version not yet replaced, or a statement's rows from today's.
    const rows = Array.isArray(payload.rows) ? (payload.rows as unknown[]) : [[payload.id, payload.tag]];
    for (const row of rows) {
      if (!Array.isArray(row) || row[0] === null || row[0] === undefined) continue;
      onChange({ id: String(row[0]), type, ...(typeof row[1] === 'string' ? { tag: row[1] } : {}) });
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
