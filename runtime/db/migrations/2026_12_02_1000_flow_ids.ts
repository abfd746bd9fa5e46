import { sql, type Kysely } from 'kysely';
import { isSqlite } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/** The flow id pattern when this migration was written (nodes/index.ts FLOW_ID_PATTERN); frozen here on purpose. */
const FLOW_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Flow ids got a pattern (letters, digits, `-` and `_`, 1-64, starting with a letter or digit) because ids go into
 * URLs and write tags: a stored flow named `.`, `..`, `a/b` or `<script>` could be listed but never fetched, paused or
 * deleted through the API. Each such flow is renamed to an id made from its old one (other characters become `-`,
 * made unique with a number), in the flows table, in its document, and in every state table that names flows, so
 * its links, shadows, runs and conflicts stay its own. Nothing is dropped.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const flows = await sql<{ id: string; document: string }>`select id, document from flows`.execute(db);
  const taken = new Set(flows.rows.map((row) => row.id));
  const renames: Array<[string, string]> = [];
  for (const row of flows.rows) {
    if (FLOW_ID.test(row.id)) continue;
    const renamed = unusedId(fittingId(row.id), taken);
    taken.add(renamed);
    renames.push([row.id, renamed]);
  }
  if (renames.length === 0) return;
  // PostgreSQL's introspection lists the tables of every schema; the state's are those of its own (the first of its
  // search_path), which the unqualified statements below address.
  const schema = isSqlite(db) ? undefined : (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema;
  const tables = (await db.introspection.getTables()).filter(
    (table) => table.name !== 'flows' && (schema === undefined || table.schema === schema) && table.columns.some((column) => column.name === 'flow_id'),
  );
  for (const [from, to] of renames) {
    const row = flows.rows.find((candidate) => candidate.id === from) as { document: string };
    for (const table of tables) await sql`update ${sql.table(table.name)} set flow_id = ${to} where flow_id = ${from}`.execute(db);
    await sql`update flows set id = ${to}, document = ${renamedDocument(row.document, to)} where id = ${from}`.execute(db);
  }
}

export async function down(): Promise<void> {
  // The old ids cannot be told apart again; renamed flows keep their new ids.
}

/** The old id with every character the pattern refuses made `-`, trimmed to the pattern's length. */
function fittingId(id: string): string {
  const replaced = [...id].map((char) => (/[A-Za-z0-9_-]/.test(char) ? char : '-')).join('').replace(/^[-_]+/, '').slice(0, 56);
  return replaced === '' ? 'flow' : replaced;
}

function unusedId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** The document with its new id, in the canonical form (two-space JSON and a newline); unreadable text kept as it is. */
function renamedDocument(text: string, id: string): string {
  try {
    const document = JSON.parse(text) as unknown;
    if (typeof document !== 'object' || document === null || Array.isArray(document)) return text;
    return `${JSON.stringify({ ...document, id }, null, 2)}\n`;
  } catch {
    return text;
  }
}
