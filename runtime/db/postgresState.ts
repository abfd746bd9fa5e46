/**
 * The runtime's state on PostgreSQL: the same tables, migrations and queries as in a SQLite file, through Kysely's
 * PostgresDialect over a `pg` pool. SQL that differs between the two lives in dialect.ts.
 */
import { Kysely, PostgresDialect, sql, type QueryCompiler } from 'kysely';
import pg from 'pg';
import { PostgresStateCompiler } from './dialect';
import { describePostgresUrl } from '../util/postgresUrl';

export interface PostgresStateOptions {
  /**
   * The schema that holds the state (it must exist): every connection of the pool works in it alone. Left out, the
   * server's search_path decides (`public`, or what the URL's `options` set).
   */
  schema?: string;
  /** Connections the pool keeps at most. */
  poolSize?: number;
  /** What to do when an idle connection fails (the server restarted): the pool drops it and opens another when needed. */
  onIdleError?: (error: Error) => void;
}

/** Lower-case names only: they go into the connection's startup options, where quoting would be the server's to undo. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Kysely's PostgreSQL dialect, compiling the state's lists (dialect.ts). */
class PostgresStateDialect extends PostgresDialect {
  override createQueryCompiler(): QueryCompiler {
    return new PostgresStateCompiler();
  }
}

/**
 * A Kysely handle over the state in PostgreSQL (not migrated: see openStateDb), once a first connection showed that the
 * server answers and the schema exists. Throws, naming the server but never the password, when it cannot.
 */
export async function connectPostgresState<DB>(url: string, options: PostgresStateOptions = {}): Promise<Kysely<DB>> {
  const target = describePostgresUrl(url, '(a URL that does not parse)');
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new Error(`PostgreSQL state ${target}: schema "${options.schema}" must be lower-case letters, digits and _, starting with a letter or _ (at most 63)`);
  }
  const pool = new pg.Pool(poolConfig(url, options));
  pool.on('error', options.onIdleError ?? ((error) => console.warn(`PostgreSQL state ${target}: an idle connection failed (${error.message}); the next query opens another`)));
  const db = new Kysely<DB>({ dialect: new PostgresStateDialect({ pool }) });
  try {
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    if (rows[0]?.schema == null) {
      throw new Error(
        options.schema === undefined
          ? 'no schema of the search_path exists: create one ("create schema syncline") and name it'
          : `schema "${options.schema}" does not exist: create it first ("create schema ${options.schema}")`,
      );
    }
  } catch (error) {
    await db.destroy();
    throw new Error(`PostgreSQL state ${target}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return db;
}

/**
 * The pool settings: UTC sessions in the state's schema, and counts as numbers. pg lets a URL's own `options`
 * parameter replace the pool's, so those are taken out of the URL and joined to ours (the schema last, so it wins).
 */
function poolConfig(url: string, options: PostgresStateOptions): pg.PoolConfig {
  let connectionString = url;
  const settings = ['-c TimeZone=UTC'];
  try {
    const parsed = new URL(url);
    const own = parsed.searchParams.get('options');
    if (own !== null) {
      settings.unshift(own);
      parsed.searchParams.delete('options');
      connectionString = parsed.toString();
    }
  } catch {
    // pg reports a URL it cannot read, when it connects.
  }
  if (options.schema !== undefined) settings.push(`-c search_path=${options.schema}`);
  return {
    connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 10_000,
    application_name: 'syncline-state',
    options: settings.join(' '),
    types: { getTypeParser: typeParser as pg.CustomTypesConfig['getTypeParser'] },
  };
}

const INT8 = 20;
const NUMERIC = 1700;

/**
 * count(*) and sum() answer int8 or numeric, which pg gives as text; SQLite gives numbers, and the queries expect
 * them. A value a double cannot hold exactly stays text rather than be rounded.
 */
function typeParser(oid: number, format?: 'text' | 'binary'): unknown {
  if (oid === INT8 || oid === NUMERIC) {
    return (text: string) => {
      const value = Number(text);
      return Number.isSafeInteger(value) ? value : text;
    };
  }
  return pg.types.getTypeParser(oid, format);
}
