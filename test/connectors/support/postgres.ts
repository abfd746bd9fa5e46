import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach } from 'vitest';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { postgresConnector } from '../../../runtime/connectors/postgres/index';
import type { Connector } from '../../../runtime/connectors/types';
import { testAccess } from '../../support/access';
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

/**
 * For a describe block: a schema of its own for each test, and `open` for postgres connectors on its tables (key "id"
 * unless `extra` says otherwise), closed and the schema dropped after each test.
 */
export function schemaPerTest(): { readonly schema: TestSchema; open(table: string, extra?: Record<string, unknown>): Promise<Connector> } {
  const opened: Connector[] = [];
  let current: TestSchema | undefined;
  beforeEach(async () => {
    current = await createTestSchema();
  });
  afterEach(async () => {
    for (const connector of opened.splice(0)) await connector.close();
    await current?.drop();
  });
  return {
    get schema(): TestSchema {
      if (!current) throw new Error('schemaPerTest: the schema exists only inside a test');
      return current;
    },
    async open(table, extra = {}) {
      const config = triggerConfigSchema.parse({ connector: 'postgres', key: 'id', connection: { url: databaseUrl }, collection: `${this.schema.name}.${table}`, ...extra });
      const connector = await postgresConnector.open({ config, baseDir: '/', access: testAccess(), resolveCredential: () => Promise.reject(new Error('none')) });
      opened.push(connector);
      return connector;
    },
  };
}
