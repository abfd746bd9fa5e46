import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../../nodes/types';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { runConnectorContract, type ContractFixture } from '../../../test/connector-contract';
import { jsonRequest, laterStamp, startJsonServer, type JsonServer } from '../../../test/connectors/support/jsonServer';
import { loopbackAccess } from '../../../test/support/access';
import type { Connector, ListPosition, SourceRecord } from '../types';
import { httpConnector } from './index';

// One json-server for the file; each test takes a collection of its own, so nothing leaks between tests.
const collections = Array.from({ length: 160 }, (_, index) => `people${index}`);
let server: JsonServer;
let nextCollection = 0;

beforeAll(async () => {
  server = await startJsonServer(Object.fromEntries(collections.map((name) => [name, []])));
});
afterAll(async () => {
  await server?.stop();
});

function takeCollection(): string {
  const name = collections[nextCollection++];
  if (!name) throw new Error('out of json-server collections: add more to the list');
  return name;
}

interface Variant {
  connection: Record<string, unknown>;
  /** False for an API without change timestamps: every poll lists everything, versions are null. */
  versioned?: boolean;
  tagColumn?: string;
  deletedFlag?: string;
}

/** A contract fixture on a fresh json-server collection, edited from outside through json-server's own API. */
function fixtureFor(variant: Variant): () => Promise<ContractFixture> {
  return async () => {
    const collection = takeCollection();
    const versioned = variant.versioned ?? true;
    const config = triggerConfigSchema.parse({
      connector: 'http',
      connection: { baseUrl: server.url, stampUpdatedAt: true, fields: { email: 'string', name: 'string', score: 'number' }, ...variant.connection },
      collection,
      key: 'id',
      ...(versioned ? { updatedAt: 'updatedAt' } : {}),
      ...(variant.tagColumn ? { tagColumn: variant.tagColumn } : {}),
      ...(variant.deletedFlag ? { deletedFlag: variant.deletedFlag } : {}),
    });
    const connector = await httpConnector.open({ config, baseDir: '/', resolveCredential: () => Promise.reject(new Error('no credentials here')), access: loopbackAccess });
    const base = `${server.url}/${collection}`;
    const stamp = async (): Promise<Record<string, string>> => (versioned ? { updatedAt: await laterStamp(server, collection) } : {});
    const insertAt = async (fields: FlowRecord, stamped: Record<string, string>): Promise<string> => String((await jsonRequest('POST', base, { ...fields, ...stamped }))['id']);
    return {
      connector,
      collection,
      bookkeeping: ['id', ...(versioned ? ['updatedAt'] : []), ...(variant.tagColumn ? [variant.tagColumn] : []), ...(variant.deletedFlag ? [variant.deletedFlag] : [])],
      softDeletes: variant.deletedFlag !== undefined,
      external: {
        insert: async (fields) => insertAt(fields, await stamp()),
        insertAtOneVersion: async (records) => {
          const stamped = await stamp();
          const ids: string[] = [];
          for (const fields of records) ids.push(await insertAt(fields, stamped));
          return ids;
        },
        update: async (id, fields) => void (await jsonRequest('PATCH', `${base}/${id}`, { ...fields, ...(await stamp()) })),
        delete: async (id) => void (await jsonRequest('DELETE', `${base}/${id}`)),
        ...(variant.deletedFlag
          ? { softDelete: async (id: string) => void (await jsonRequest('PATCH', `${base}/${id}`, { [variant.deletedFlag as string]: true, ...(await stamp()) })) }
          : {}),
      },
      teardown: async () => {
        await connector.close();
        for (const record of await server.all(collection)) await fetch(`${base}/${String(record['id'])}`, { method: 'DELETE' });
      },
    };
  };
}

const sorted = { _sort: 'updatedAt,id', _order: 'asc,asc' };

runConnectorContract(
  'http on json-server (page and size, tags, read-check)',
  fixtureFor({
    connection: {
      list: { pagination: { style: 'page', pageParam: '_page', sizeParam: '_limit' }, pageSize: 4, updatedSinceParam: 'updatedAt_gte', tagParam: 'syncline_tag', query: sorted },
    },
    tagColumn: 'syncline_tag',
  }),
);

runConnectorContract(
  'http on json-server (offset and limit, ids in one request, PUT, soft deletes)',
  fixtureFor({
    connection: {
      list: { pagination: { style: 'offset', offsetParam: '_start', limitParam: '_limit' }, pageSize: 5, updatedSinceParam: 'updatedAt_gte', idsParam: 'id', query: sorted },
      update: { method: 'PUT' },
    },
    tagColumn: 'sync.tag',
    deletedFlag: 'deleted',
  }),
);

runConnectorContract(
  'http on json-server (Link header, no change timestamps)',
  fixtureFor({
    versioned: false,
    connection: {
      list: { pagination: { style: 'link', sizeParam: '_limit' }, pageSize: 3, query: { _page: '1', _sort: 'id', _order: 'asc' } },
      conditionalWrites: 'none',
    },
  }),
);

runConnectorContract(
  'http on json-server (no change feed: whole listings by offset, updatedAt kept, tags)',
  fixtureFor({
    connection: {
      list: { changeFeed: false, pagination: { style: 'offset', offsetParam: '_start', limitParam: '_limit' }, pageSize: 4, query: { _sort: 'id', _order: 'asc' } },
    },
    tagColumn: 'syncline_tag',
  }),
);

describe('http connector on json-server', () => {
  async function open(connection: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ connector: Connector; collection: string }> {
    const collection = takeCollection();
    const config = triggerConfigSchema.parse({ connector: 'http', connection: { baseUrl: server.url, ...connection }, collection, key: 'id', updatedAt: 'updatedAt', ...extra });
    return { connector: await httpConnector.open({ config, baseDir: '/', resolveCredential: () => Promise.reject(new Error('none')), access: loopbackAccess }), collection };
  }

  it('refuses a listing that is not sorted by updatedAt then id, naming the URL and the fix', async () => {
    const { connector, collection } = await open({ list: { updatedSinceParam: 'updatedAt_gte' } });
    await jsonRequest('POST', `${server.url}/${collection}`, { email: 'b@example.com', updatedAt: '2024-05-02T00:00:00.000Z' });
    await jsonRequest('POST', `${server.url}/${collection}`, { email: 'a@example.com', updatedAt: '2024-05-01T00:00:00.000Z' });
    await expect(connector.listSince({ since: null, afterId: null }, 10)).rejects.toThrow(
      new RegExp(`GET ${server.url}/${collection}.*not sorted by updatedAt, then id.*_sort`),
    );
    await connector.close();
  });

  it.each([
    { style: 'page', pagination: { style: 'page', pageParam: 'page', sizeParam: 'per_page' } },
    { style: 'offset', pagination: { style: 'offset', offsetParam: 'offset', limitParam: 'limit' } },
  ])('lists everything from an API that caps its pages below the size asked for ($style)', async ({ pagination }) => {
    // "the maxResults in the request is overridden if it is above the limit… rely on pagination" (Atlassian): this
    // API answers at most 2 records a page, whatever per_page or limit says, and says nothing about it.
    const records = Array.from({ length: 7 }, (_, index) => ({ id: index + 1, email: `p${index + 1}@example.com` }));
    const capped = createServer((request, response) => {
      const query = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams;
      const start = query.has('offset') ? Number(query.get('offset')) : (Number(query.get('page') ?? '1') - 1) * 2;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(records.slice(start, start + 2)));
    });
    await new Promise<void>((resolve) => capped.listen(0, '127.0.0.1', resolve));
    try {
      const config = triggerConfigSchema.parse({
        connector: 'http',
        connection: { baseUrl: `http://127.0.0.1:${(capped.address() as AddressInfo).port}`, list: { changeFeed: false, pagination, pageSize: 5 } },
        collection: 'people',
        key: 'id',
      });
      const connector = await httpConnector.open({ config, baseDir: '/', resolveCredential: () => Promise.reject(new Error('none')), access: loopbackAccess });
      const listed: string[] = [];
      for (let position: ListPosition | null = { since: null, afterId: null }; position; ) {
        const page = await connector.listSince(position, 100);
        listed.push(...page.records.map((record) => record.id));
        position = page.next;
      }
      expect(listed).toEqual(records.map((record) => String(record.id)));
      await connector.close();
    } finally {
      await new Promise<void>((resolve) => capped.close(() => resolve()));
    }
  });

  it('with list.changeFeed false, declares no change feed and lists every record whatever updatedAt says', async () => {
    const { connector, collection } = await open({ list: { changeFeed: false, pagination: { style: 'page', pageParam: '_page', sizeParam: '_limit' }, pageSize: 2, query: { _sort: 'id' } } });
    expect(connector.capabilities).toMatchObject({ changeFeed: false, incremental: false });
    // Out of updatedAt order, and one without any: a whole listing goes by id alone.
    await jsonRequest('POST', `${server.url}/${collection}`, { email: 'b@example.com', updatedAt: '2024-05-02T00:00:00.000Z' });
    await jsonRequest('POST', `${server.url}/${collection}`, { email: 'a@example.com', updatedAt: '2024-05-01T00:00:00.000Z' });
    await jsonRequest('POST', `${server.url}/${collection}`, { email: 'c@example.com' });
    const listed: string[] = [];
    for (let position: ListPosition | null = { since: null, afterId: null }; position; ) {
      const page = await connector.listSince(position, 2);
      listed.push(...page.records.map((record) => String(record.fields.email)));
      position = page.next;
    }
    expect(listed).toEqual(['b@example.com', 'a@example.com', 'c@example.com']);
    await connector.close();
  });

  it('refuses list.changeFeed false beside an updated-since parameter, naming the option', () => {
    const problems = httpConnector.checkConnection({ baseUrl: 'https://api.example.com', list: { changeFeed: false, updatedSinceParam: 'updated_since' } });
    expect(problems).toEqual([{ path: ['list', 'updatedSinceParam'], message: expect.stringContaining('not used when list.changeFeed is false') }]);
    expect(httpConnector.checkConnection({ baseUrl: 'https://api.example.com', list: { changeFeed: false } })).toEqual([]);
  });

  it('counts the records from the total header, without listing them', async () => {
    const { connector, collection } = await open({ list: { pagination: { style: 'page', pageParam: '_page', sizeParam: '_limit' }, totalHeader: 'X-Total-Count' } });
    for (let i = 0; i < 3; i++) await jsonRequest('POST', `${server.url}/${collection}`, { n: i, updatedAt: await laterStamp(server, collection) });
    expect(await (connector as Connector & { count(): Promise<number> }).count()).toBe(3);
    const { connector: without } = await open({});
    expect((without as { count?: unknown }).count).toBeUndefined();
    const { connector: noHeader } = await open({ list: { totalHeader: 'X-Total' } });
    await expect((noHeader as Connector & { count(): Promise<number> }).count()).rejects.toThrow('no whole number in the X-Total header (connection.list.totalHeader), got no such header');
    for (const opened of [connector, without, noHeader]) await opened.close();
  });

  it('refuses to poll past a record without updatedAt, which no updated-since query would ever return', async () => {
    const { connector, collection } = await open({ list: { updatedSinceParam: 'updatedAt_gte', query: sorted } });
    await jsonRequest('POST', `${server.url}/${collection}`, { email: 'a@example.com', updatedAt: '2024-05-01T00:00:00.000Z' });
    const { id } = await jsonRequest('POST', `${server.url}/${collection}`, { email: 'b@example.com' });
    await expect(connector.listSince({ since: null, afterId: null }, 10)).rejects.toThrow(
      `record ${String(id)} has no updatedAt at "updatedAt": polling by updatedAt needs every record to carry one (set stampUpdatedAt if the API leaves it to the client)`,
    );
    await connector.close();
  });

  it('says where it looked for the list when the items path is missing, naming the URL', async () => {
    const { connector, collection } = await open({ list: { itemsPath: 'data.items' } });
    const error = (await connector.listSince({ since: null, afterId: null }, 10).catch((caught: unknown) => caught)) as Error;
    expect(error.message).toBe(`GET ${server.url}/${collection}: expected the list of records at "data.items" (connection.list.itemsPath), but the response is a JSON array of 0`);
    await connector.close();
  });

  /** An API listing `records` by offset and limit, sorted by id, that counts the list requests it answers. */
  async function offsetApi(records: Array<{ id: number }>): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
    let requests = 0;
    const api = createServer((request, response) => {
      requests++;
      const query = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams;
      const offset = Number(query.get('offset') ?? '0');
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(records.slice(offset, offset + Number(query.get('limit') ?? '10'))));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, requests: () => requests, close: () => new Promise<void>((resolve) => api.close(() => resolve())) };
  }

  /** Lists a whole collection 10 at a time, calling `between` after each listing. */
  async function listAll(connector: Connector, between: () => void = () => {}): Promise<string[]> {
    const listed: string[] = [];
    for (let position: ListPosition | null = { since: null, afterId: null }; position; ) {
      const page = await connector.listSince(position, 10);
      listed.push(...page.records.map((record) => record.id));
      position = page.next;
      between();
    }
    return listed;
  }

  async function openOffsetListing(url: string): Promise<Connector> {
    const pagination = { style: 'offset', offsetParam: 'offset', limitParam: 'limit' };
    const config = triggerConfigSchema.parse({ connector: 'http', connection: { baseUrl: url, list: { changeFeed: false, pagination, pageSize: 10 } }, collection: 'people', key: 'id' });
    return httpConnector.open({ config, baseDir: '/', resolveCredential: () => Promise.reject(new Error('none')), access: loopbackAccess });
  }

  it('without a change feed, goes on from the page where the last listing stopped: requests grow with the pages, not their square', async () => {
    const records = Array.from({ length: 200 }, (_, index) => ({ id: index + 1 }));
    const api = await offsetApi(records);
    const connector = await openOffsetListing(api.url);
    try {
      expect(await listAll(connector)).toEqual(records.map((record) => String(record.id)));
      // 20 listings of 10 over pages of 10: each reads the page it stopped in again, its own, and the next one to know
      // whether more follow. Walking from the first page every time took 230 requests.
      expect(api.requests()).toBeLessThanOrEqual(3 * 20);
    } finally {
      await connector.close();
      await api.close();
    }
  });

  it('without a change feed, starts over when the record it stopped at left its page, and loses no record after it', async () => {
    const records = Array.from({ length: 40 }, (_, index) => ({ id: index + 1 }));
    const api = await offsetApi(records);
    const connector = await openOffsetListing(api.url);
    try {
      let listings = 0;
      // The second listing ends at record 20, the last of the page at offset 10. Eleven deletes before it move record
      // 21 back to the page at offset 0, before the page the next listing would go on from.
      const listed = await listAll(connector, () => {
        if (++listings === 2) records.splice(0, 11);
      });
      expect(listed).toEqual(Array.from({ length: 40 }, (_, index) => String(index + 1)));
    } finally {
      await connector.close();
      await api.close();
    }
  });

  it('a page that an edit reorders mid-listing loses no record', async () => {
    const { connector, collection } = await open({
      list: { pagination: { style: 'page', pageParam: '_page', sizeParam: '_limit' }, pageSize: 3, updatedSinceParam: 'updatedAt_gte', query: sorted },
    });
    const base = `${server.url}/${collection}`;
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) ids.push(String((await jsonRequest('POST', base, { n: i, updatedAt: await laterStamp(server, collection) }))['id']));
    const seen: SourceRecord[] = [];
    let position: ListPosition | null = { since: null, afterId: null };
    let edited = false;
    while (position) {
      const page: Awaited<ReturnType<Connector['listSince']>> = await connector.listSince(position, 3);
      seen.push(...page.records);
      if (!edited) {
        // The first record moves to the end of the order: a reader paging by position would now skip one.
        await jsonRequest('PATCH', `${base}/${ids[0]}`, { n: 100, updatedAt: await laterStamp(server, collection) });
        edited = true;
      }
      position = page.next;
    }
    expect(new Set(seen.map((record) => record.id))).toEqual(new Set(ids));
    await connector.close();
  });
});
