import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresRequirement, skipUnless } from '../../support/requirements';

/**
 * PostgreSQL for tests: the server `DATABASE_URL` names (.ci/run starts one on 127.0.0.1:54329). Each test works in a
 * schema of its own, dropped afterwards, so test files can run in parallel against one server.
 */
export const databaseUrl = process.env.DATABASE_URL ?? '';

/** True when PostgreSQL tests should be skipped; under CI a missing server fails instead (see skipUnless). */
export function skipPostgres(): boolean {
  return skipUnless(postgresRequirement());
}

export interface TestSchema {
  name: string;
  /** A client of its own, for setting up tables and editing rows as another user of the database would. */
  client: pg.Client;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** Creates a uniquely named schema and a client connected to the server. */
export async function createTestSchema(prefix = 'syncline_test'): Promise<TestSchema> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const client = new pg.Client({ connectionString: databaseUrl, options: '-c TimeZone=UTC' });
  await client.connect();
  await client.query(`CREATE SCHEMA "${name}"`);
  return {
    name,
    client,
    query: async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) => (await client.query<T>(text, values)).rows,
    drop: async () => {
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A URL to the same server that nothing listens on: a port taken from loopback's unused range. */
export function unreachableUrl(port: number): string {
  const url = new URL(databaseUrl || 'postgres://postgres@127.0.0.1:54329/postgres');
  url.port = String(port);
  return url.toString();
}

/** The same server, logging in as someone else. */
export function urlWithUser(user: string): string {
  const url = new URL(databaseUrl || 'postgres://postgres@127.0.0.1:54329/postgres');
  url.username = user;
  return url.toString();
}
