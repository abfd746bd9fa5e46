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
   * URL's `schema` parameter names it; without one, the server's search_path decides (`public`, or what the URL's
   * `options` set).
   */
  schema?: string;
  /** Connections the pool keeps at most. */
  poolSize?: number;
  /** What to do when an idle connection fails (the server restarted): the pool drops it and opens another when needed. */
  onIdleError?: (error: Error) => void;
  /** How the connections show in pg_stat_activity (default syncline-state). */
  applicationName?: string;
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
export async function connectPostgresState<DB>(url: string, given: PostgresStateOptions = {}): Promise<Kysely<DB>> {
  const target = describePostgresUrl(url, '(a URL that does not parse)');
  const { connectionString, schema: schemaInUrl, settings } = splitStateUrl(url);
  const options = { ...given, schema: given.schema ?? schemaInUrl };
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new Error(`PostgreSQL state ${target}: schema "${options.schema}" must be lower-case letters, digits and _, starting with a letter or _ (at most 63)`);
  }
  const pool = new pg.Pool(poolConfig(connectionString, settings, options));
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
 * A plain `pg` pool on the state's database, its sessions set up as the state's (schema, UTC): for what needs
 * connections of its own rather than Kysely's (the cluster's advisory locks and job queue, runtime/cluster).
 */
export function openPostgresPool(url: string, given: PostgresStateOptions = {}): pg.Pool {
  const target = describePostgresUrl(url, '(a URL that does not parse)');
  const { connectionString, schema: schemaInUrl, settings } = splitStateUrl(url);
  const pool = new pg.Pool({ ...poolConfig(connectionString, settings, { ...given, schema: given.schema ?? schemaInUrl }), keepAlive: true });
  pool.on('error', given.onIdleError ?? ((error) => console.warn(`PostgreSQL state ${target}: an idle connection failed (${error.message}); the next query opens another`)));
  return pool;
}

/**
 * A state URL taken apart: what pg connects with, the `schema` parameter (ours: pg would take it for a setting of its
 * own), and the URL's `options`, which pg would let replace the pool's own and so are joined to them instead.
 */
function splitStateUrl(url: string): { connectionString: string; schema: string | undefined; settings: string | undefined } {
  try {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema') ?? undefined;
    const settings = parsed.searchParams.get('options') ?? undefined;
    parsed.searchParams.delete('schema');
    parsed.searchParams.delete('options');
    return { connectionString: schema === undefined && settings === undefined ? url : parsed.toString(), schema, settings };
  } catch {
    // pg reports a URL it cannot read, when it connects.
    return { connectionString: url, schema: undefined, settings: undefined };
  }
}

/** The pool settings: UTC sessions in the state's schema (set last, so it wins over the URL's own), and counts as numbers. */
function poolConfig(connectionString: string, own: string | undefined, options: PostgresStateOptions): pg.PoolConfig {
  const settings = [...(own === undefined ? [] : [own]), '-c TimeZone=UTC'];
  if (options.schema !== undefined) settings.push(`-c search_path=${options.schema}`);
  return {
    connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 10_000,
    // PostgreSQL cuts the name at 63 bytes.
    application_name: (options.applicationName ?? 'syncline-state').slice(0, 63),
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
