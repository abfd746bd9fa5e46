/**
 * The `postgres` connection (SPEC §9): where the database is, how the URL's secret is kept out of the flow, the pool
 * and its session settings, and the words for what went wrong when it cannot be used.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { z } from 'zod';
import { credentialRef } from '../../../nodes/trigger/schema';
import { ConnectorError } from '../types';
import { describePostgresUrl, isPostgresUrl } from '../../util/postgresUrl';

export const postgresConnectionSchema = z
  .strictObject({
    /** A postgres:// URL, or a stored credential holding one (the only way to give a password). */
    url: z.union([z.string({ error: 'must be a postgres:// URL or {"credential": ...}' }), credentialRef], {
      error: 'must be a postgres:// URL or {"credential": "<name>"} naming a stored credential that holds one',
    }).optional(),
    /** The whole connection as a stored credential holding the URL: `{ "credential": "crm-db" }`. */
    credential: z.string().min(1, 'must name a stored credential').optional(),
    poolSize: z.number().int().min(1).max(100).default(4),
    connectTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    statementTimeoutMs: z.number().int().min(0).max(86_400_000).default(60_000),
    /** Install (once) the trigger that reports changes through LISTEN/NOTIFY; see docs/connectors.md to remove it. */
    notify: z.boolean().default(false),
    /** `require` for TLS that checks the server's certificate; `no-verify` for TLS without that check. */
    ssl: z.enum(['disable', 'require', 'no-verify'], { error: 'must be one of disable, require, no-verify' }).optional(),
  })
  .superRefine((connection, context) => {
    if ((connection.url === undefined) === (connection.credential === undefined)) {
      context.addIssue({ code: 'custom', path: ['url'], message: 'give either url (a postgres:// URL or {"credential": ...}) or credential, not both and not neither' });
      return;
    }
    if (typeof connection.url !== 'string') return;
    let url: URL;
    try {
      url = new URL(connection.url);
    } catch {
      context.addIssue({ code: 'custom', path: ['url'], message: 'must be a URL such as postgres://user@127.0.0.1:5432/db' });
      return;
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      context.addIssue({ code: 'custom', path: ['url'], message: `must start with postgres:// (got ${url.protocol}//)` });
    }
    if (url.password !== '') {
      context.addIssue({ code: 'custom', path: ['url'], message: 'holds a password: a flow never holds secrets, so store the URL as a credential and write {"credential": "<name>"}' });
    }
  });

export type PostgresConnection = z.infer<typeof postgresConnectionSchema>;

/** Checks a `postgres` connection; each problem names its path inside `connection`. */
export function checkPostgresConnection(connection: Record<string, unknown>): Array<{ path: (string | number)[]; message: string }> {
  const parsed = postgresConnectionSchema.safeParse(connection);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({
    path: issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
    message: issue.code === 'unrecognized_keys' ? `${issue.message}; postgres options: url, credential, poolSize, connectTimeoutMs, statementTimeoutMs, notify, ssl` : issue.message,
  }));
}

/** The connection string, read from the credential when the flow names one. */
export async function resolveUrl(connection: PostgresConnection, resolveCredential: (name: string) => Promise<string>): Promise<string> {
  const reference = typeof connection.url === 'object' ? connection.url.credential : connection.credential;
  if (reference === undefined) return connection.url as string;
  let value: string;
  try {
    value = (await resolveCredential(reference)).trim();
  } catch (error) {
    throw new ConnectorError(`cannot read credential "${reference}" for the PostgreSQL URL: ${messageOf(error)}`, { cause: error });
  }
  if (!isPostgresUrl(value)) {
    throw new ConnectorError(`credential "${reference}" must hold a postgres:// URL, e.g. postgres://user:password@host:5432/db`);
  }
  return value;
}

/** The URL as messages may show it: never its password. */
export function describeTarget(url: string): string {
  return describePostgresUrl(url, 'the configured PostgreSQL URL');
}

/**
 * Values as JSON sees them: int8 and numeric as numbers when that loses nothing, dates and timestamps as ISO-8601
 * text rather than Date (which would drop microseconds and shift `timestamp` by the local zone). By type oid (pg_type).
 */
const scalarParsers: ReadonlyMap<number, (text: string) => unknown> = new Map<number, (text: string) => unknown>([
  [
    20,
    (text) => {
      const value = Number(text);
      return Number.isSafeInteger(value) ? value : text;
    },
  ],
  [
    1700,
    (text) => {
      const value = Number(text);
      // Beyond 15 significant digits a double no longer holds every numeric exactly: keep the text.
      return Number.isFinite(value) && text.replace(/\D/g, '').replace(/^0+/, '').length <= 15 ? value : text;
    },
  ],
  [1082, (text) => text],
  [1114, isoTimestamp],
  [1184, isoTimestamp],
]);

/** Array type oids and their element types: their elements read as the scalar rules above say, NULL as null. */
const arrayElements: ReadonlyMap<number, number> = new Map([
  [1016, 20],
  [1231, 1700],
  [1182, 1082],
  [1115, 1114],
  [1185, 1184],
]);

/** pg's text[] parser: PostgreSQL's array syntax (quotes, escapes, NULL, nested dimensions) into strings and nulls. */
const parseTextArray = (pg.types.getTypeParser as (oid: number, format: 'text') => (text: string) => unknown)(1009, 'text');

function mapElements(value: unknown, parse: (text: string) => unknown): unknown {
  if (Array.isArray(value)) return value.map((element: unknown) => mapElements(element, parse));
  return typeof value === 'string' ? parse(value) : value;
}

const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    const scalar = scalarParsers.get(oid);
    if (scalar) return scalar;
    const element = scalarParsers.get(arrayElements.get(oid) ?? -1);
    if (element) return (text: string) => mapElements(parseTextArray(text), element);
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** PostgreSQL's timestamp output (`2024-05-01 10:00:00.123456+00`) as ISO-8601 (`2024-05-01T10:00:00.123456Z`). */
export function isoTimestamp(text: string): string {
  const match = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2}(?::?\d{2}){0,2})?$/.exec(text);
  if (!match) return text;
  const zone = match[3];
  const suffix = zone === undefined ? '' : /^\+00(:?00)*$/.test(zone) ? 'Z' : zone.length === 3 ? `${zone}:00` : zone;
  return `${match[1]}T${match[2]}${suffix}`;
}

/** The pool settings for a URL: UTC sessions, so timestamps read and stamped are UTC whatever the server's zone. */
export function poolConfig(url: string, connection: PostgresConnection): pg.PoolConfig {
  return {
    connectionString: url,
    max: connection.poolSize,
    connectionTimeoutMillis: connection.connectTimeoutMs,
    statement_timeout: connection.statementTimeoutMs === 0 ? false : connection.statementTimeoutMs,
    application_name: 'syncline',
    options: '-c TimeZone=UTC',
    types: typeParsers,
    ...(connection.ssl === 'require' ? { ssl: true } : connection.ssl === 'no-verify' ? { ssl: { rejectUnauthorized: false } } : connection.ssl === 'disable' ? { ssl: false } : {}),
  };
}

/** A Kysely instance over its own pool; the pool's idle-client errors are reported, not thrown into the process. */
export function openDatabase<DB>(url: string, connection: PostgresConnection, onIdleError: (error: Error) => void): { db: Kysely<DB>; pool: pg.Pool } {
  const pool = new pg.Pool(poolConfig(url, connection));
  // A server restart kills idle connections; without a listener pg would crash the process with the error.
  pool.on('error', onIdleError);
  return { db: new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }), pool };
}

const connectionCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Whether an error means the connection (not one statement) failed: the batch cannot go on. */
export function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (connectionCodes.has(code) || /^(08|57P)/.test(code) || code === '53300')) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection timeout|timeout expired|Client has encountered a connection error/i.test(message);
}

/** A ConnectorError that says, in words, why PostgreSQL could not be used. */
export function explainPostgresError(error: unknown, target: string, timeoutMs: number): ConnectorError {
  const code = (error as { code?: unknown } | null)?.code;
  const detail = messageOf(error);
  const host = hostOf(target);
  const say = (message: string, retryable: boolean) => new ConnectorError(`PostgreSQL ${target}: ${message}`, { retryable, cause: error });
  switch (code) {
    case 'ECONNREFUSED':
      return say(`cannot connect to ${host} (connection refused): is PostgreSQL running and listening there?`, true);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return say(`cannot resolve the host name ${host} (${code})`, true);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return say(`cannot reach ${host} (${code})`, true);
    case '28P01':
    case '28000':
      return say(`the server refused the login (${detail}): check the user and password in the URL's credential`, false);
    case '3D000':
      return say(`${detail}: check the database name at the end of the URL`, false);
    case '42501':
      return say(`permission denied (${detail}): grant the URL's user access to the table`, false);
    case '42P01':
      return say(`${detail}: the table is gone or was renamed`, false);
    case '57P01':
    case '57P02':
    case '57P03':
    case '53300':
      return say(`the server cannot take the connection now (${detail})`, true);
    case '57014':
      return say(`a statement ran past the time limit (${detail})`, true);
  }
  if (/timeout expired|connection timeout/i.test(detail)) return say(`no answer from ${host} within ${timeoutMs} ms`, true);
  return say(detail, isConnectionFailure(error) || code === '40001' || code === '40P01' || code === '55P03');
}

function hostOf(target: string): string {
  try {
    const url = new URL(target);
    return `${url.hostname}:${url.port || '5432'}`;
  } catch {
    return 'the server';
  }
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return messageOf(error.errors[0]);
  return error instanceof Error ? error.message || String((error as { code?: unknown }).code ?? error.name) : String(error);
}
