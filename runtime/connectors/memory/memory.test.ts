import { afterEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { runConnectorContract, type ContractFixture } from '../../../test/connector-contract';
import { testAccess } from '../../../test/support/access';
import { ConnectorError, type Connector, type SourceRecord } from '../types';
import {
  createMemoryStore,
  deleteMemoryStore,
  getMemoryStore,
  InjectedFault,
  memoryConnector,
  SimulatedCrash,
  type MemoryCollection,
  type MemoryCollectionOptions,
} from './index';

const personFields = { email: 'text', name: 'text', score: 'number' };

function openOn(store: string, collection: string, extra: Record<string, unknown> = {}): Promise<Connector> {
  const config = triggerConfigSchema.parse({ connector: 'memory', connection: { store }, collection, key: 'id', ...extra });
  return memoryConnector.open({ config, baseDir: '/', resolveCredential: () => Promise.reject(new Error('no credentials in tests')), access: testAccess() });
}

let contractStores = 0;

function contractSetup(options: MemoryCollectionOptions, columns: { updatedAt?: string; tagColumn?: string; deletedFlag?: string }) {
  return async (): Promise<ContractFixture> => {
    const storeName = `contract-${++contractStores}`;
    const collection = createMemoryStore(storeName).createCollection('people', { fields: personFields, ...options });
    const connector = await openOn(storeName, 'people', columns);
    return {
      connector,
      collection: 'people',
      bookkeeping: ['id', ...Object.values(columns)],
      softDeletes: options.softDelete ?? false,
      external: {
        insert: async (fields) => collection.insert(fields),
        insertAtOneVersion: async (records) => collection.insertAtOneVersion(records),
        update: async (id, fields) => collection.update(id, fields),
        delete: async (id) => collection.delete(id),
        ...(options.softDelete ? { softDelete: async (id: string) => collection.softDelete(id) } : {}),
      },
      teardown: async () => {
        await connector.close();
        deleteMemoryStore(storeName);
      },
    };
  };
}

runConnectorContract('memory (counter versions, tags, hard deletes)', contractSetup({}, { updatedAt: 'updated', tagColumn: 'sync_tag' }));
runConnectorContract('memory (creates return their records)', contractSetup({ createdRecords: true }, { updatedAt: 'updated', tagColumn: 'sync_tag' }));
runConnectorContract(
  'memory (ISO versions, soft deletes)',
  contractSetup({ versions: 'iso', softDelete: true }, { updatedAt: 'updated_at', tagColumn: 'sync_tag', deletedFlag: 'deleted' }),
);
runConnectorContract('memory (no versions, no tags: full listings)', contractSetup({ versions: 'none', tags: false }, {}));
runConnectorContract('memory (no change feed: whole listings in id order, versions kept)', contractSetup({ changeFeed: false }, { updatedAt: 'updated', tagColumn: 'sync_tag' }));
runConnectorContract('memory (no change feed, no versions, no tags, no scan)', contractSetup({ changeFeed: false, versions: 'none', tags: false, fullScan: false }, {}));

describe('memory connector', () => {
  afterEach(() => {
    deleteMemoryStore('crm');
    deleteMemoryStore('other');
  });

  function crm(options: MemoryCollectionOptions = {}, seed = 7): MemoryCollection {
    return createMemoryStore('crm', { seed }).createCollection('leads', { fields: personFields, ...options });
  }

  function seedPeople(collection: MemoryCollection, count: number): string[] {
    return Array.from({ length: count }, (_, i) => collection.insert({ email: `p${i}@example.com`, name: `P ${i}`, score: i }));
  }

  describe('opening', () => {
    it('checks the connection names a store', () => {
      expect(memoryConnector.checkConnection({ store: 'crm' })).toEqual([]);
      expect(memoryConnector.checkConnection({})).toEqual([{ path: ['store'], message: expect.stringContaining('memory store') }]);
      expect(memoryConnector.checkConnection({ store: 'crm', file: 'x' })).toEqual([{ path: ['file'], message: expect.stringContaining('known options: store') }]);
    });

    it('names the known stores and collections when one is missing', async () => {
      crm();
      createMemoryStore('other');
      await expect(openOn('nope', 'leads')).rejects.toThrow('memory store "nope" does not exist; stores: crm, other');
      await expect(openOn('crm', 'contacts')).rejects.toThrow('memory store "crm" has no collection "contacts"; collections: leads');
      await expect(openOn('crm', 'contacts')).rejects.toBeInstanceOf(ConnectorError);
    });

    it('shares a store by name between a test and the connectors it opens', async () => {
      const leads = crm();
      const connector = await openOn('crm', 'leads');
      const [result] = await connector.write([{ kind: 'create', fields: { name: 'Via Connector' }, tag: 'syncline:t:1' }]);
      expect(result?.ok).toBe(true);
      expect(getMemoryStore('crm')?.collection('leads')).toBe(leads);
      expect(leads.all().map((record) => record.fields.name)).toEqual(['Via Connector']);
    });
  });

  describe('records', () => {
    it('fails a write naming an undeclared field, and applies the rest of the batch', async () => {
      const leads = crm();
      const [id] = seedPeople(leads, 1);
      const connector = await openOn('crm', 'leads');
      const results = await connector.write([
        { kind: 'update', id: id as string, fields: { phone: '555' }, tag: 'syncline:t:1', expectedVersion: null },
        { kind: 'update', id: id as string, fields: { name: 'Kept Going' }, tag: 'syncline:t:2', expectedVersion: null },
      ]);
      expect(results[0]).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining('no field "phone"') });
      expect(results[1]?.ok).toBe(true);
      expect(leads.get(id as string)?.fields.name).toBe('Kept Going');
    });

    it('accepts any field when none are declared, and describes the fields it has seen', async () => {
      const loose = createMemoryStore('crm').createCollection('leads');
      loose.insert({ email: 'a@example.com', vip: true });
      const connector = await openOn('crm', 'leads', { updatedAt: 'email' });
      expect((await connector.write([{ kind: 'create', fields: { anything: [1, 2] }, tag: 'syncline:t:1' }]))[0]?.ok).toBe(true);
      const [description] = await connector.describe();
      // `email` is this trigger's updatedAt here, so it is bookkeeping and not listed.
      expect(description?.fields.map((field) => [field.name, field.type])).toEqual([
        ['vip', 'boolean'],
        ['anything', 'json'],
      ]);
    });

    it('keeps the old tag when the record is edited out of band, as a column nobody else writes would', async () => {
      const leads = crm();
      const connector = await openOn('crm', 'leads');
      const [created] = await connector.write([{ kind: 'create', fields: { name: 'Synced' }, tag: 'syncline:flow:w1' }]);
      const id = (created as { id: string }).id;
      leads.update(id, { name: 'Edited By Hand' });
      expect(leads.get(id)).toMatchObject({ tag: 'syncline:flow:w1', fields: { name: 'Edited By Hand' } });
    });

    it('hands out copies, so changing a read record does not change the store', async () => {
      const leads = crm();
      const [id] = seedPeople(leads, 1);
      const connector = await openOn('crm', 'leads');
      const record = (await connector.getMany([id as string])).get(id as string) as SourceRecord;
      record.fields.name = 'Mutated';
      expect(leads.get(id as string)?.fields.name).toBe('P 0');
    });

    it('refuses use after close', async () => {
      crm();
      const connector = await openOn('crm', 'leads');
      await connector.close();
      await expect(connector.listSince({ since: null, afterId: null }, 10)).rejects.toThrow('used after close()');
    });

    it('refuses a full scan when the collection cannot do one', async () => {
      crm({ fullScan: false });
      const connector = await openOn('crm', 'leads');
      expect(connector.capabilities.fullScan).toBe(false);
      const scan = connector.scanIds(10)[Symbol.asyncIterator]();
      await expect(scan.next()).rejects.toThrow('fullScan is off');
    });
  });

  describe('faults', () => {
    it('counts calls per method', async () => {
      const leads = crm();
      const [id] = seedPeople(leads, 3);
      const connector = await openOn('crm', 'leads');
      await connector.listSince({ since: null, afterId: null }, 2);
      await connector.listSince({ since: null, afterId: null }, 2);
      await connector.getMany([id as string]);
      await connector.write([
        { kind: 'update', id: id as string, fields: { score: 1 }, tag: 'syncline:t:1', expectedVersion: null },
        { kind: 'delete', id: id as string, expectedVersion: null },
      ]);
      for await (const page of connector.scanIds(1)) expect(page).toHaveLength(1);
      expect(getMemoryStore('crm')?.calls).toEqual({ open: 1, listSince: 2, getMany: 1, write: 1, writeOp: 2, scanIds: 3, describe: 0 });
    });

    it('fails the nth call of a method from now, once', async () => {
      const leads = crm();
      seedPeople(leads, 2);
      const store = getMemoryStore('crm');
      const connector = await openOn('crm', 'leads');
      await connector.listSince({ since: null, afterId: null }, 10);
      store?.failNthCall('listSince', 2, new InjectedFault('listing timed out'));
      await expect(connector.listSince({ since: null, afterId: null }, 10)).resolves.toMatchObject({ next: null });
      await expect(connector.listSince({ since: null, afterId: null }, 10)).rejects.toThrow('listing timed out');
      await expect(connector.listSince({ since: null, afterId: null }, 10)).resolves.toMatchObject({ next: null });
    });

    it('fails a whole write before anything is applied when the write call fails', async () => {
      const leads = crm();
      const store = getMemoryStore('crm');
      const connector = await openOn('crm', 'leads');
      store?.failNthCall('write', 1);
      await expect(connector.write([{ kind: 'create', fields: { name: 'Lost' }, tag: 'syncline:t:1' }])).rejects.toThrow('injected failure of write call 1');
      expect(leads.size).toBe(0);
    });

    it('fails single ops as results, with retryability and Retry-After from the injected error', async () => {
      const leads = crm();
      const [a, b, c] = seedPeople(leads, 3);
      const store = getMemoryStore('crm');
      const connector = await openOn('crm', 'leads');
      const stop = store?.failWhen((call) =>
        call.method === 'writeOp' && call.op.kind !== 'create' && call.op.id === b ? new InjectedFault('rate limited', { retryAfterMs: 1500 }) : undefined,
      );
      store?.failNthCall('writeOp', 3, new ConnectorError('bad value', { retryable: false }));
      const update = (id: string) => ({ kind: 'update' as const, id, fields: { score: 100 }, tag: 'syncline:t:1', expectedVersion: null });
      const results = await connector.write([update(a as string), update(b as string), update(c as string)]);
      expect(results).toEqual([
        { ok: true, id: a, version: expect.any(Number) },
        { ok: false, reason: 'failed', message: 'rate limited', retryable: true, retryAfterMs: 1500 },
        { ok: false, reason: 'failed', message: 'bad value', retryable: false },
      ]);
      expect(leads.get(a as string)?.fields.score).toBe(100);
      expect(leads.get(b as string)?.fields.score).toBe(1);
      stop?.();
      expect((await connector.write([update(b as string)]))[0]?.ok).toBe(true);
    });

    it('fails calls a predicate picks, with a message or a stock error', async () => {
      crm();
      const store = getMemoryStore('crm');
      const connector = await openOn('crm', 'leads');
      store?.failWhen((call) => call.method === 'getMany' && call.ids.includes('poison') && 'getMany refused');
      store?.failWhen((call) => call.method === 'describe');
      await expect(connector.getMany(['poison'])).rejects.toThrow('getMany refused');
      await expect(connector.getMany(['fine'])).resolves.toEqual(new Map());
      await expect(connector.describe()).rejects.toThrow('injected failure of describe');
      store?.clearFaults();
      await expect(connector.describe()).resolves.toHaveLength(1);
    });

    it('can make open itself fail', async () => {
      crm();
      getMemoryStore('crm')?.failNthCall('open', 1, new InjectedFault('connection refused'));
      await expect(openOn('crm', 'leads')).rejects.toThrow('connection refused');
      await expect(openOn('crm', 'leads')).resolves.toBeDefined();
    });

    it('delays every call', async () => {
      crm();
      const store = getMemoryStore('crm');
      const connector = await openOn('crm', 'leads');
      if (store) store.faults.delayMs = 40;
      const started = performance.now();
      await connector.getMany(['x']);
      expect(performance.now() - started).toBeGreaterThanOrEqual(35);
    });

    it('applies a write and then crashes, as a process dying before the runtime commits', async () => {
      const leads = crm();
      const store = getMemoryStore('crm');
      const connector = await openOn('crm', 'leads');
      if (store) store.faults.crashAfterWrite = 1;
      await expect(connector.write([{ kind: 'create', fields: { name: 'Applied' }, tag: 'syncline:t:1' }])).rejects.toBeInstanceOf(SimulatedCrash);
      expect(leads.all().map((record) => [record.fields.name, record.tag])).toEqual([['Applied', 'syncline:t:1']]);
      await expect(connector.write([{ kind: 'create', fields: { name: 'Normal' }, tag: 'syncline:t:2' }])).resolves.toHaveLength(1);
      expect(store?.faults.crashAfterWrite).toBe(0);
    });

    async function disturbedListing(seed: number, faults: { reorderListings?: boolean; duplicateListings?: boolean }): Promise<string[][]> {
      const leads = crm({}, seed);
      seedPeople(leads, 20);
      Object.assign(getMemoryStore('crm')?.faults ?? {}, faults);
      const connector = await openOn('crm', 'leads');
      const pages: string[][] = [];
      let position: { since: string | number | null; afterId: string | null } | null = { since: null, afterId: null };
      while (position) {
        const page = await connector.listSince(position, 6);
        pages.push(page.records.map((record) => record.id));
        position = page.next;
      }
      return pages;
    }

    it('reorders records within each page, the same way for the same seed, without breaking paging', async () => {
      const plain = await disturbedListing(3, {});
      const shuffled = await disturbedListing(3, { reorderListings: true });
      const again = await disturbedListing(3, { reorderListings: true });
      const otherSeed = await disturbedListing(4, { reorderListings: true });
      expect(shuffled).toEqual(again);
      expect(shuffled).not.toEqual(plain);
      expect(otherSeed).not.toEqual(shuffled);
      expect(shuffled.map((page) => [...page].sort())).toEqual(plain.map((page) => [...page].sort()));
    });

    it('lists some records twice, deterministically, without losing any', async () => {
      const plain = await disturbedListing(5, {});
      const duplicated = await disturbedListing(5, { duplicateListings: true });
      expect(duplicated).toEqual(await disturbedListing(5, { duplicateListings: true }));
      expect(duplicated.flat().length).toBeGreaterThan(plain.flat().length);
      expect(new Set(duplicated.flat())).toEqual(new Set(plain.flat()));
      duplicated.forEach((page, index) => expect(new Set(page)).toEqual(new Set(plain[index])));
    });
  });

  describe('versions', () => {
    it('can give records chosen or shared versions, for cursor tests', () => {
      const leads = crm();
      const [a, b] = leads.insertAtOneVersion([{ name: 'A' }, { name: 'B' }]);
      const c = leads.insert({ name: 'C' }, { version: 100 });
      expect(leads.get(a as string)?.version).toBe(leads.get(b as string)?.version);
      expect(leads.get(c)?.version).toBe(100);
    });

    it('uses ISO-8601 text one millisecond apart, the same from run to run', () => {
      const leads = crm({ versions: 'iso' });
      seedPeople(leads, 2);
      expect(leads.all().map((record) => record.version)).toEqual(['2024-01-01T00:00:00.001Z', '2024-01-01T00:00:00.002Z']);
    });
  });
});
