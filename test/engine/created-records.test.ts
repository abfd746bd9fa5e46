import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FlowDocument } from '../../nodes/index';
import { loadFlow } from '../../nodes/flow/load';
import { connectorRegistry } from '../../runtime/connectors/index';
import { RateLimitedError, type Connector, type ConnectorType, type SourceRecord } from '../../runtime/connectors/types';
import { openStateDb, type StateDb } from '../../runtime/db/index';
import { storedLinks } from '../support/links';
import { SyncEngine } from '../../runtime/engine/index';
import { testAccess } from '../support/access';
import { createTestSchema, databaseUrl, skipPostgres, type TestSchema } from '../connectors/support/postgres';
import { contents, memoryHarness } from './memory-flows';

// A page of creates is read back so that each link's shadow and echo are what the system holds (defaults, trigger-set
// values). A connector whose create returns the stored record (capabilities.createdRecords: INSERT … RETURNING) spares
// that read; one whose table an AFTER INSERT trigger may rewrite does not claim it, and is read back as before.
describe.skipIf(skipPostgres())('created records on PostgreSQL', () => {
  let schema: TestSchema;
  let db: StateDb;

  beforeEach(async () => {
    schema = await createTestSchema();
    await schema.query(`CREATE TABLE "${schema.name}".a (id serial PRIMARY KEY, email text, name text, updated_at timestamptz)`);
    // What the system fills in itself: a default, and a value a BEFORE trigger derives from what was written.
    await schema.query(`CREATE TABLE "${schema.name}".b (id serial PRIMARY KEY, email text, name text, stage text DEFAULT 'new', initials text, updated_at timestamptz, sync_tag text)`);
    await schema.query(`CREATE FUNCTION "${schema.name}".initials() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.initials := left(NEW.name, 1); RETURN NEW; END $$`);
    await schema.query(`CREATE TRIGGER b_initials BEFORE INSERT ON "${schema.name}".b FOR EACH ROW EXECUTE FUNCTION "${schema.name}".initials()`);
    await schema.query(`INSERT INTO "${schema.name}".a (email, name, updated_at) SELECT 'p' || n || '@example.com', 'Person ' || n, clock_timestamp() FROM generate_series(1, 30) n`);
    db = await openStateDb(':memory:');
  });
  afterEach(async () => {
    await db.destroy();
    await schema.drop();
  });

  const flow = (): FlowDocument => {
    const side = (id: string, x: number, extra: object) => ({
      id,
      type: 'trigger',
      typeVersion: 1,
      position: { x, y: 0 },
      config: { connector: 'postgres', connection: { url: databaseUrl }, collection: `${schema.name}.${id}`, key: 'id', updatedAt: 'updated_at', detect: { mode: 'manual' }, ...extra },
    });
    const { document, issues } = loadFlow({
      format: 'syncline.flow',
      version: 1,
      id: 'pg-created-records',
      name: 'PostgreSQL created records',
      nodes: [side('a', 0, {}), { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 200, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } }, side('b', 400, { tagColumn: 'sync_tag' })],
      edges: [
        { id: 'e1', source: 'a', target: 'hub' },
        { id: 'e2', source: 'hub', target: 'b' },
      ],
    });
    if (!document) throw new Error(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
    return document;
  };

  /** The registry with every read by id of table b counted. */
  function countingReads(): { connectors: typeof connectorRegistry; reads: () => number; createdRecords: () => boolean | undefined } {
    let reads = 0;
    let createdRecords: boolean | undefined;
    const real = connectorRegistry.postgres as ConnectorType;
    const open: ConnectorType['open'] = async (context) => {
      const connector = await real.open(context);
      if (!context.config.collection.endsWith('.b')) return connector;
      createdRecords = connector.capabilities.createdRecords;
      const getMany = connector.getMany.bind(connector);
      return new Proxy(connector, {
        get: (target, property, receiver) =>
          property === 'getMany'
            ? (ids: readonly string[]) => {
                reads += ids.length;
                return getMany(ids);
              }
            : (Reflect.get(target, property, receiver) as unknown),
      }) satisfies Connector;
    };
    return { connectors: { ...connectorRegistry, postgres: { ...connectorRegistry.postgres, open } }, reads: () => reads, createdRecords: () => createdRecords };
  }

  /** Each link of b with its shadow, and b's rows as the connector reads them now. */
  async function shadowsAndRows(): Promise<{ shadows: Map<string, unknown>; rows: Map<string, SourceRecord> }> {
    const links = await storedLinks(db, { nodeId: 'b' });
    const connector = await connectorRegistry.postgres.open({
      config: flow().nodes.find((node) => node.id === 'b')?.config as never,
      baseDir: '/',
      resolveCredential: () => Promise.reject(new Error('no credentials here')),
      access: testAccess(),
    });
    try {
      const rows = await connector.getMany(links.map((link) => link.record_id));
      return { shadows: new Map(links.map((link) => [link.record_id, JSON.parse(link.shadow ?? 'null') as unknown])), rows };
    } finally {
      await connector.close();
    }
  }

  it('takes what the system filled in from the INSERT, reads nothing back, and the next pass finds only echoes', async () => {
    const { connectors, reads, createdRecords } = countingReads();
    const engine = new SyncEngine({ db, connectors });
    expect((await engine.runPass(flow(), { baseDir: '/' })).summary).toMatchObject({ created: 30, failed: 0 });
    expect(createdRecords()).toBe(true);
    expect(reads()).toBe(0);
    const { shadows, rows } = await shadowsAndRows();
    expect(shadows.size).toBe(30);
    for (const [id, shadow] of shadows) {
      expect(shadow).toEqual(rows.get(id)?.fields);
      expect(shadow).toMatchObject({ stage: 'new', initials: 'P' });
    }
    const next = await engine.runPass(flow(), { baseDir: '/' });
    expect(next.summary).toMatchObject({ created: 0, updated: 0, deleted: 0, echoes: 30, failed: 0 });
    await engine.close();
  });

  it('reads creates back where an AFTER INSERT trigger may rewrite the row, so shadows hold what the trigger left', async () => {
    await schema.query(`CREATE FUNCTION "${schema.name}".shout() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE "${schema.name}".b SET stage = 'seen' WHERE id = NEW.id; RETURN NULL; END $$`);
    await schema.query(`CREATE TRIGGER b_seen AFTER INSERT ON "${schema.name}".b FOR EACH ROW EXECUTE FUNCTION "${schema.name}".shout()`);
    const { connectors, reads, createdRecords } = countingReads();
    const engine = new SyncEngine({ db, connectors });
    expect((await engine.runPass(flow(), { baseDir: '/' })).summary).toMatchObject({ created: 30, failed: 0 });
    expect(createdRecords()).toBe(false);
    expect(reads()).toBe(30);
    const { shadows, rows } = await shadowsAndRows();
    expect(shadows.size).toBe(30);
    for (const [id, shadow] of shadows) {
      expect(shadow).toEqual(rows.get(id)?.fields);
      expect(shadow).toMatchObject({ stage: 'seen' });
    }
    await engine.close();
  });
});

describe('created records whose read-back is refused', () => {
  it('counts, logs and links the creates when the system refuses to read them back, and the next pass writes nothing', async () => {
    const h = await memoryHarness({ sides: ['a', 'b'] });
    for (const name of ['Ada', 'Grace', 'Hedy']) h.sides.a!.insert({ email: `${name.toLowerCase()}@example.com`, name });
    let limited = true;
    // The creates go through; the read by id right after meets the system's rate limit.
    h.store.failWhen((call) => (limited && call.method === 'getMany' && call.collection === 'b' ? new RateLimitedError('Memory', new Date(Date.now() + 60_000), '0 requests left') : undefined));
    const first = await h.pass();
    expect(first.summary).toMatchObject({ created: 3, failed: 0 });
    expect(contents(h.sides.b!).map((record) => record.name)).toEqual(['Ada', 'Grace', 'Hedy']);
    const logged = await h.db.selectFrom('run_log').select('outcome').where('run_id', '=', first.runId).execute();
    expect(logged.filter((row) => row.outcome === 'created')).toHaveLength(3);
    limited = false;
    const next = await h.pass();
    expect(next.summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
    expect(h.sides.b!.all()).toHaveLength(3);
  });
});
