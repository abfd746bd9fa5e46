/**
 * `syncline state copy --from A --to B`: moves an installation's whole state and webhook inbox from a SQLite file to
 * PostgreSQL (or back), keeping every id, so the runtime on the copy goes on where the original stopped.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { sql, type Kysely, type Transaction } from 'kysely';
import { runtimeFileNames } from '../connectors/access';
import { isSqlite } from '../db/dialect';
import { carryOverWebhookEvents, openInboxDb, type InboxDb } from '../db/inbox';
import { openStateDb, type StateDb } from '../db/index';
import { isPostgresUrl } from '../util/postgresUrl';
import { commandArgs } from './args';
import { DEFAULT_DATA_DIR, describeState, resolveState, stateInPostgres } from './stateOption';

const usage = `usage: syncline state copy --from FILE.db|URL --to URL|FILE.db [--inbox FILE.db]

Copies the runtime's whole state (flows, links, golden records, journal, cursors, runs, conflicts, credentials) and
its webhook inbox into an empty target, keeping ids, in one transaction on a PostgreSQL target, then checks each
table's row count and prints it. Stop every \`syncline serve\` on the source first.

  --from FILE.db   a state file, e.g. .syncline/state.db; its webhook inbox is webhooks.db beside it
  --from URL       a state in PostgreSQL, postgres://USER@HOST:PORT/DB?schema=NAME (its inbox is in the same schema)
  --to URL|FILE.db where to copy it: an empty schema (it must exist), or a file that does not exist yet
  credential:NAME  instead of a URL: the URL stored as credential NAME in the state file on the other side
  --inbox FILE.db  the SQLite side's webhook inbox, when it is not webhooks.db beside the state file

Credentials stay encrypted with the key in the data folder (credentials.key): serve the copy with the same --data.`;

/** Rows bound per insert: SQLite binds at most 32766 parameters a statement, PostgreSQL 65535. */
const PARAMETERS_PER_INSERT = 30_000;
/** Rows read from the source at a time. */
const READ_PAGE = 2000;

/** The inbox's tables; on PostgreSQL they sit in the state's schema, in a SQLite installation in webhooks.db. */
const INBOX_TABLES = ['webhook_events', 'webhook_deliveries'] as const;

/** What a copy moved: rows per table, in the order copied. */
export interface CopyReport {
  tables: Array<{ table: string; rows: number }>;
}

/** Refused before anything was written: the target holds state already, or the source is missing. */
export class StateCopyRefused extends Error {
  override name = 'StateCopyRefused';
}

/** A state or an inbox handle, as the copy sees it: tables by name, rows as they come. */
type AnyTables = Record<string, Record<string, unknown>>;
type AnyDb = Kysely<AnyTables>;
type AnyTransaction = Transaction<AnyTables>;

interface Side {
  state: StateDb;
  inbox: InboxDb;
  /** The same two handles, as the copy sees them. */
  tables: { state: AnyDb; inbox: AnyDb };
  /** How messages name it. */
  label: string;
  close(): Promise<void>;
}

/** The webhook inbox file of a state file: `inbox` when given, else webhooks.db beside it. */
function inboxFileOf(stateFile: string, inbox: string | null): string {
  return inbox ?? join(dirname(stateFile), runtimeFileNames.inbox);
}

async function openSide(location: string, inboxFile: string | null): Promise<Side> {
  const state = await openStateDb(location);
  let inbox: InboxDb;
  try {
    inbox = await openInboxDb(isPostgresUrl(location) ? location : inboxFileOf(location, inboxFile));
  } catch (error) {
    await state.destroy();
    throw error;
  }
  return {
    state,
    inbox,
    tables: { state: state as unknown as AnyDb, inbox: inbox as unknown as AnyDb },
    label: describeState(location),
    close: async () => {
      await inbox.destroy();
      await state.destroy();
    },
  };
}

/**
 * The tables of a state handle's own schema (or file), without the migration histories and without the cluster's
 * (runtime/cluster: who is running, what is due), which describe the processes on that database, not the state.
 */
async function tablesOf(db: AnyDb): Promise<string[]> {
  const tables = await db.introspection.getTables();
  let schema: string | undefined;
  if (!isSqlite(db)) schema = (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema;
  return tables
    .filter((table) => (schema === undefined || table.schema === schema) && !table.isView)
    .map((table) => table.name)
    .filter((name) => !/^(kysely|inbox)_migration(_lock)?$/.test(name) && !name.startsWith('cluster_'))
    .sort();
}

async function countRows(db: AnyDb, table: string): Promise<number> {
  const { rows } = await sql<{ count: number | string }>`select count(*) as count from ${sql.table(table)}`.execute(db);
  return Number(rows[0]?.count ?? 0);
}

/**
 * Calls `onPage` with the rows of a table, a page at a time, all read in the handle's transaction: a cursor on
 * PostgreSQL (offsets without an order could skip rows, and an order needs a key every table may not have), SQLite's
 * own iteration on a file.
 */
async function forEachPage(db: AnyTransaction, table: string, onPage: (rows: Record<string, unknown>[]) => Promise<void>): Promise<void> {
  if (isSqlite(db)) {
    let page: Record<string, unknown>[] = [];
    for await (const row of db.selectFrom(table).selectAll().stream(READ_PAGE)) {
      page.push(row as Record<string, unknown>);
      if (page.length === READ_PAGE) {
        await onPage(page);
        page = [];
      }
    }
    if (page.length > 0) await onPage(page);
    return;
  }
  await sql`declare state_copy no scroll cursor for select * from ${sql.table(table)}`.execute(db);
  for (;;) {
    const { rows } = await sql<Record<string, unknown>>`fetch forward ${sql.lit(READ_PAGE)} from state_copy`.execute(db);
    if (rows.length > 0) await onPage(rows);
    if (rows.length < READ_PAGE) break;
  }
  await sql`close state_copy`.execute(db);
}

async function insertPage(db: AnyTransaction, table: string, rows: Record<string, unknown>[]): Promise<void> {
  const columns = Object.keys(rows[0] ?? {}).length || 1;
  const perInsert = Math.max(1, Math.floor(PARAMETERS_PER_INSERT / columns));
  for (let start = 0; start < rows.length; start += perInsert) {
    await db.insertInto(table).values(rows.slice(start, start + perInsert)).execute();
  }
}

/**
 * On PostgreSQL, the identity columns (run_log.id, webhook_events.id) go on numbering after the largest id copied:
 * rows inserted with their ids leave the sequence where it was. (SQLite's autoincrement follows the largest by itself.)
 */
async function advanceSequences(db: AnyTransaction): Promise<void> {
  if (isSqlite(db)) return;
  const { rows } = await sql<{ table_name: string; column_name: string }>`
    select table_name, column_name from information_schema.columns
    where table_schema = current_schema() and is_identity = 'YES'`.execute(db);
  for (const { table_name: table, column_name: column } of rows) {
    await sql`select setval(pg_get_serial_sequence(${`"${table}"`}, ${column}), coalesce((select max(${sql.ref(column)}) from ${sql.table(table)}), 0) + 1, false)`.execute(db);
  }
}

/**
 * Copies the source's state and inbox into the target, which must hold none. Runs in one transaction on a PostgreSQL
 * target (state and inbox share its schema); a SQLite target gets one per file, the inbox first. The source is read in
 * a transaction of its own, so a copy is of one moment. Throws, having written nothing, when the target is not empty,
 * the two are at different migrations, or a count differs at the end.
 */
export async function copyState(from: string, to: string, options: { inbox?: string | null } = {}): Promise<CopyReport> {
  const inboxFile = options.inbox ?? null;
  if (!isPostgresUrl(from) && !existsSync(from)) throw new StateCopyRefused(`no state at ${from}: --from names a state file (state.db in a data folder) or a postgres:// URL`);
  if (isPostgresUrl(from) === isPostgresUrl(to) && !isPostgresUrl(from)) throw new StateCopyRefused('copy between a state file and PostgreSQL: one of --from and --to is a postgres:// URL');
  if (!isPostgresUrl(to) && existsSync(to)) throw new StateCopyRefused(`${to} exists: copy into a file that does not exist yet, or remove it first`);
  const source = await openSide(from, inboxFile);
  let target: Side | undefined;
  try {
    // What a state file from before the inbox still holds moves to its inbox first, as `serve` would on start.
    await carryOverWebhookEvents(source.state, source.inbox);
    target = await openSide(to, inboxFile);
    const inboxTables = new Set<string>(INBOX_TABLES);
    const stateTables = (await tablesOf(target.tables.state)).filter((table) => !inboxTables.has(table));
    const sourceTables = (await tablesOf(source.tables.state)).filter((table) => !inboxTables.has(table));
    if (sourceTables.join() !== stateTables.join()) {
      throw new StateCopyRefused(`${source.label} and ${target.label} hold different tables (${sourceTables.join(', ')} against ${stateTables.join(', ')}): run both at the same Syncline version`);
    }
    const held = [];
    for (const table of stateTables) if ((await countRows(target.tables.state, table)) > 0) held.push(table);
    for (const table of INBOX_TABLES) if ((await countRows(target.tables.inbox, table)) > 0) held.push(table);
    if (held.length > 0) {
      const how = isPostgresUrl(to) ? 'empty its schema first (drop schema NAME cascade; create schema NAME) or copy into a new one' : 'remove the file first';
      throw new StateCopyRefused(`${target.label} already holds state (rows in ${held.join(', ')}): ${how}`);
    }
    return await copyInto(source, target, stateTables);
  } finally {
    await target?.close();
    await source.close();
  }
}

async function copyInto(source: Side, target: Side, stateTables: string[]): Promise<CopyReport> {
  const report: CopyReport = { tables: [] };
  const copyTable = async (from: AnyTransaction, into: AnyTransaction, table: string) => {
    const expected = await countRows(from, table);
    let copied = 0;
    await forEachPage(from, table, async (rows) => {
      await insertPage(into, table, rows);
      copied += rows.length;
    });
    const landed = await countRows(into, table);
    if (copied !== expected || landed !== expected) {
      throw new Error(`${table}: ${expected} rows in the source, ${copied} read, ${landed} in the target: nothing was copied`);
    }
    report.tables.push({ table, rows: landed });
  };
  const read = (db: AnyDb) => (isSqlite(db) ? db.transaction() : db.transaction().setIsolationLevel('repeatable read'));
  const { state: sourceState, inbox: sourceInbox } = source.tables;
  const { state: targetState, inbox: targetInbox } = target.tables;
  await read(sourceState).execute(async (fromState) => {
    // On PostgreSQL the inbox's tables are read in the state's transaction, from the same schema.
    const withInbox = async (body: (fromInbox: AnyTransaction) => Promise<void>) =>
      isSqlite(sourceInbox) ? read(sourceInbox).execute(body) : body(fromState);
    await withInbox(async (fromInbox) => {
      if (!isSqlite(targetState)) {
        await targetState.transaction().execute(async (into) => {
          for (const table of stateTables) await copyTable(fromState, into, table);
          for (const table of INBOX_TABLES) await copyTable(fromInbox, into, table);
          await advanceSequences(into);
        });
        return;
      }
      // Two files, two transactions: the inbox first, so a failure between them leaves no state without its events
      // (and the target files, new, are simply removed to try again).
      await targetInbox.transaction().execute(async (into) => {
        for (const table of INBOX_TABLES) await copyTable(fromInbox, into, table);
      });
      await targetState.transaction().execute(async (into) => {
        for (const table of stateTables) await copyTable(fromState, into, table);
      });
    });
  });
  return report;
}

/** `syncline state copy`: exit 0 copied, 1 refused or failed (nothing written), 2 wrong usage. */
export async function stateCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === '--help' || action === '-h' || action === 'help' || action === undefined) {
    process[action === undefined ? 'stderr' : 'stdout'].write(`${usage}\n`);
    return action === undefined ? 2 : 0;
  }
  if (action !== 'copy') {
    process.stderr.write(`syncline state: unknown action "${action}": use copy\n${usage}\n`);
    return 2;
  }
  let from: string | null = null;
  let to: string | null = null;
  let inbox: string | null = null;
  const location = (text: string) => (stateInPostgres(text) ? text : resolve(text));
  for (const { arg, value } of commandArgs(rest)) {
    try {
      if (arg === '--from') from = location(value('a state file or a postgres:// URL'));
      else if (arg === '--to') to = location(value('a postgres:// URL or a state file'));
      else if (arg === '--inbox') inbox = resolve(value('a file'));
      else if (arg === '--help' || arg === '-h') {
        process.stdout.write(`${usage}\n`);
        return 0;
      } else {
        process.stderr.write(`syncline state copy: unexpected ${arg}\n${usage}\n`);
        return 2;
      }
    } catch (error) {
      process.stderr.write(`syncline state copy: ${(error as Error).message}\n`);
      return 2;
    }
  }
  if (from === null || to === null) {
    process.stderr.write(`syncline state copy: needs --from and --to\n${usage}\n`);
    return 2;
  }
  try {
    // A credential:NAME is read from the data folder of the state file on the other side (the one being copied).
    const dataDir = !stateInPostgres(from) ? dirname(from) : !stateInPostgres(to) ? dirname(to) : resolve(DEFAULT_DATA_DIR);
    [from, to] = [await resolveState(from, dataDir), await resolveState(to, dataDir)];
    const report = await copyState(from, to, { inbox });
    const width = Math.max(...report.tables.map(({ table }) => table.length));
    process.stdout.write(`copied ${describeState(from)} to ${describeState(to)}:\n`);
    for (const { table, rows } of report.tables) process.stdout.write(`  ${table.padEnd(width)}  ${rows}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`syncline state copy: ${(error as Error).message}\n`);
    return 1;
  }
}
