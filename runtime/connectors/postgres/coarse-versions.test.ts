import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FlowDocument } from '../../../nodes/index';
import { loadFlow } from '../../../nodes/flow/load';
import { createTestSchema, databaseUrl, skipPostgres, type TestSchema } from '../../../test/connectors/support/postgres';
import { testAccess } from '../../../test/support/access';
import { openStateDb, type StateDb } from '../../db/index';
import { SyncEngine } from '../../engine/index';
import { connectorRegistry } from '../index';
import type { Connector } from '../types';
import { postgresConnector } from './index';

/**
 * An updatedAt column coarser than the runtime's stamps (a date, `timestamp(0)`, epoch seconds, whole-second text)
 * gives every edit of one day, or one second, the same version. Each case stamps every row and every edit with one
 * fixed value, as edits within one such step would be: each edit must still arrive.
 */
const coarse = [
  { type: 'date', stamp: `'2024-05-01'`, lookbackMs: 86_400_000 },
  { type: 'timestamp(0)', stamp: `'2024-05-01 10:00:00'`, lookbackMs: 1000 },
  { type: 'timestamptz(0)', stamp: `'2024-05-01 10:00:00Z'`, lookbackMs: 1000 },
  { type: 'timestamptz(3)', stamp: `'2024-05-01 10:00:00.123Z'`, lookbackMs: 1 },
  { type: 'bigint', stamp: `1714557600`, lookbackMs: 1000 },
  { type: 'integer', stamp: `1714557600`, lookbackMs: 1000 },
  { type: 'text', stamp: `'2024-05-01 10:00:00'`, lookbackMs: 1000 },
];

describe.skipIf(skipPostgres())('updatedAt columns coarser than the runtime’s stamps', () => {
  let schema: TestSchema;
  let db: StateDb;

  beforeEach(async () => {
    schema = await createTestSchema();
    db = await openStateDb(':memory:');
  });
  afterEach(async () => {
    await db.destroy();
    await schema.drop();
  });

  function flow(): FlowDocument {
    const side = (id: string, x: number) => ({
      id,
      type: 'trigger',
      typeVersion: 1,
      position: { x, y: 0 },
      config: { connector: 'postgres', connection: { url: databaseUrl }, collection: `${schema.name}.${id}`, key: 'id', updatedAt: 'updated_at', detect: { mode: 'manual' } },
    });
    const { document, issues } = loadFlow({
      format: 'syncline.flow',
      version: 1,
      id: 'pg-coarse-versions',
      name: 'PostgreSQL coarse versions',
      nodes: [side('a', 0), { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 200, y: 0 }, config: { policy: 'last-write-wins', match: ['email'] } }, side('b', 400)],
      edges: [
        { id: 'e1', source: 'a', target: 'hub' },
        { id: 'e2', source: 'hub', target: 'b' },
      ],
    });
    if (!document) throw new Error(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
    return document;
  }

  async function open(table: string): Promise<Connector> {
    const config = flow().nodes.find((node) => node.id === table)?.config as never;
    return postgresConnector.open({ config, baseDir: '/', access: testAccess(), resolveCredential: () => Promise.reject(new Error('no credentials here')) });
  }

  for (const { type, stamp, lookbackMs } of coarse) {
    it(`carries every edit of a ${type}-versioned table made within one step of its version`, async () => {
      const a = `"${schema.name}".a`;
      await schema.query(`CREATE TABLE ${a} (id serial PRIMARY KEY, email text, name text, updated_at ${type})`);
      await schema.query(`CREATE TABLE "${schema.name}".b (id serial PRIMARY KEY, email text, name text, updated_at timestamptz)`);
      await schema.query(`INSERT INTO ${a} (email, name, updated_at) VALUES ('ada@example.com', 'Ada', ${stamp}), ('grace@example.com', 'Grace', ${stamp})`);
      const connector = await open('a');
      expect(connector.capabilities.lookbackMs).toBe(lookbackMs);
      await connector.close();

      const engine = new SyncEngine({ db, connectors: connectorRegistry });
      const pass = async () => (await engine.runPass(flow(), { baseDir: '/' })).summary;
      const names = async () => (await schema.query<{ name: string }>(`SELECT name FROM "${schema.name}".b ORDER BY email`)).map((row) => row.name);
      expect(await pass()).toMatchObject({ created: 2, failed: 0 });
      for (const name of ['Ada Lovelace', 'Ada King']) {
        await schema.query(`UPDATE ${a} SET name = $1, updated_at = ${stamp} WHERE email = 'ada@example.com'`, [name]);
        expect(await pass()).toMatchObject({ updated: 1, failed: 0 });
        expect(await names()).toEqual([name, 'Grace']);
      }
      // Nothing changed since: the records at the cursor's version are compared with their shadows, and none is written.
      expect(await pass()).toMatchObject({ created: 0, updated: 0, failed: 0 });
      await engine.close();
    });
  }

  it('declares no lookback where every write moves the version on', async () => {
    await schema.query(`CREATE TABLE "${schema.name}".a (id serial PRIMARY KEY, email text, updated_at timestamptz)`);
    await schema.query(`CREATE TABLE "${schema.name}".b (id serial PRIMARY KEY, email text, updated_at text)`);
    await schema.query(`INSERT INTO "${schema.name}".b (email, updated_at) VALUES ('ada@example.com', '2024-05-01T10:00:00.123Z')`);
    for (const table of ['a', 'b']) {
      const connector = await open(table);
      expect(connector.capabilities.lookbackMs).toBeUndefined();
      await connector.close();
    }
  });

  it('stamps a page of epoch-second rows with the current second, not one second further for each', async () => {
    const b = `"${schema.name}".b`;
    await schema.query(`CREATE TABLE "${schema.name}".a (id serial PRIMARY KEY, email text, name text, updated_at timestamptz)`);
    await schema.query(`CREATE TABLE ${b} (id serial PRIMARY KEY, email text, name text, updated_at bigint)`);
    await schema.query(`INSERT INTO ${b} (email, name, updated_at) VALUES ('old@example.com', 'Old', 1714557600)`);
    await schema.query(`INSERT INTO "${schema.name}".a (email, name, updated_at) SELECT 'p' || n || '@example.com', 'P' || n, clock_timestamp() FROM generate_series(1, 50) n`);
    const engine = new SyncEngine({ db, connectors: connectorRegistry });
    const before = Math.floor(Date.now() / 1000);
    expect((await engine.runPass(flow(), { baseDir: '/' })).summary).toMatchObject({ created: 51, failed: 0 });
    const after = Math.floor(Date.now() / 1000);
    const [newest] = await schema.query<{ at: string }>(`SELECT max(updated_at)::text AS at FROM ${b}`);
    expect(Number(newest?.at)).toBeGreaterThanOrEqual(before);
    expect(Number(newest?.at)).toBeLessThanOrEqual(after);
    await engine.close();
  });
});
