/**
 * What json-server cannot show: a cursor in the body, auth, Retry-After, timeouts, rate limits, answers that are not
 * JSON, lost answers to a create. A few lines of node:http play the API, each test its own.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadFlow } from '../../../nodes/flow/load';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { createFlowLoader } from '../../flows/flowLoader';
import { connectorRegistry, loadOptionsFor } from '../index';
import { RateLimitedError, type Connector, type ListPosition, type SourceRecord } from '../types';
import { HttpRequestError, parseRetryAfter } from './client';
import { httpConnectionSchema, webhookSettingsSchema } from './config';
import { httpConnector, httpWebhook, signWebhookBody } from './index';
import { linkTarget } from './pagination';
import { loopbackAccess, testAccess } from '../../../test/support/access';
import type { ConnectorAccess } from '../access';

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

const servers: Server[] = [];
const connectors: Connector[] = [];
afterEach(async () => {
  for (const connector of connectors.splice(0)) await connector.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function stubApi(handler: Handler): Promise<{ url: string; requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> }> {
  const requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      handler(request, body, response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** Opens a connector on a stub API; the stubs listen on 127.0.0.1, which the operator has to allow (`access`). */
async function open(
  connection: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  credentials: Record<string, string> = {},
  access: ConnectorAccess = loopbackAccess,
): Promise<Connector> {
  const config = triggerConfigSchema.parse({ connector: 'http', collection: 'items', key: 'id', updatedAt: 'updatedAt', connection, ...extra });
  const connector = await httpConnector.open({
    config,
    baseDir: '/',
    access,
    resolveCredential: async (name) => {
      const value = credentials[name];
      if (value === undefined) throw new Error(`no credential "${name}"`);
      return value;
    },
  });
  connectors.push(connector);
  return connector;
}

const fastRetries = { attempts: 3, baseMs: 5, maxWaitMs: 5000 };

describe('http connector against a stub API', () => {
  it('pages with a cursor in the body and finds the records at a nested items path', async () => {
    const records = Array.from({ length: 7 }, (_, index) => ({ id: `r${index}`, name: `Record ${index}`, updatedAt: `2024-05-0${1 + Math.floor(index / 2)}T00:00:00Z` }));
    const api = await stubApi((request, _body, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      const since = url.searchParams.get('updated_since');
      const start = Number(url.searchParams.get('cursor') ?? 0);
      const limit = Number(url.searchParams.get('limit'));
      const matching = records.filter((record) => since === null || record.updatedAt >= since);
      const page = matching.slice(start, start + limit);
      json(response, 200, { data: { items: page }, meta: { next: start + limit < matching.length ? String(start + limit) : null } });
    });
    const connector = await open({
      baseUrl: `${api.url}/v2/`,
      list: { itemsPath: 'data.items', pagination: { style: 'cursor', cursorPath: 'meta.next', cursorParam: 'cursor', sizeParam: 'limit' }, pageSize: 3, updatedSinceParam: 'updated_since' },
    });
    const all: SourceRecord[] = [];
    let position: { since: string | number | null; afterId: string | null } | null = { since: null, afterId: null };
    while (position) {
      const page: Awaited<ReturnType<Connector['listSince']>> = await connector.listSince(position, 4);
      all.push(...page.records);
      position = page.next;
    }
    expect(all.map((record) => record.id)).toEqual(records.map((record) => record.id));
    expect(all[0]).toEqual({ id: 'r0', version: '2024-05-01T00:00:00Z', tag: null, deleted: false, fields: { name: 'Record 0' } });
    expect(api.requests[0]?.url).toBe('/v2/items?limit=3');
    expect(api.requests.some((request) => request.url.includes('updated_since=2024-05-02T00%3A00%3A00Z'))).toBe(true);
  });

  it('sends each kind of credential, and never shows a query-string key in an error', async () => {
    const api = await stubApi((_request, _body, response) => json(response, 401, { error: 'bad key' }));
    const bearer = await open({ baseUrl: api.url, auth: { type: 'bearer', token: { credential: 't' } }, retries: fastRetries }, {}, { t: 'tok-1' });
    const basic = await open({ baseUrl: api.url, auth: { type: 'basic', username: 'api', password: { credential: 'p' } }, retries: fastRetries }, {}, { p: 'pw' });
    const header = await open({ baseUrl: api.url, auth: { type: 'header', name: 'X-Api-Key', value: { credential: 'k' }, prefix: 'Key ' }, retries: fastRetries }, {}, { k: 'key-3' });
    const query = await open({ baseUrl: api.url, auth: { type: 'query', name: 'api_key', value: { credential: 'q' } }, retries: fastRetries }, {}, { q: 'very-secret' });
    for (const connector of [bearer, basic, header]) await expect(connector.listSince({ since: null, afterId: null }, 5)).rejects.toThrow(/401 Unauthorized: the API refused the credentials/);
    const error = (await query.listSince({ since: null, afterId: null }, 5).catch((caught: unknown) => caught)) as Error;
    expect(error.message).toBe(
      `GET ${api.url}/items?api_key=***: 401 Unauthorized: the API refused the credentials (query parameter api_key from credential "q"): check the stored credential and connection.auth — "{\\"error\\":\\"bad key\\"}"`,
    );
    expect(api.requests.map((request) => [request.headers.authorization, request.headers['x-api-key'], request.url])).toEqual([
      ['Bearer tok-1', undefined, '/items'],
      [`Basic ${Buffer.from('api:pw').toString('base64')}`, undefined, '/items'],
      [undefined, 'Key key-3', '/items'],
      [undefined, undefined, '/items?api_key=very-secret'],
    ]);
    await expect(open({ baseUrl: api.url, auth: { type: 'bearer', token: { credential: 'missing' } } })).rejects.toThrow('connection.auth.token: cannot read credential "missing"');
  });

  it('retries 429 and 5xx, waiting as long as Retry-After says', async () => {
    let calls = 0;
    const api = await stubApi((_request, _body, response) => {
      calls++;
      if (calls === 1) return json(response, 429, { error: 'slow down' }, { 'retry-after': '1' });
      if (calls === 2) return json(response, 503, { error: 'busy' });
      json(response, 200, [{ id: 1, updatedAt: '2024-01-01T00:00:00Z' }]);
    });
    const connector = await open({ baseUrl: api.url, retries: fastRetries });
    const started = performance.now();
    const page = await connector.listSince({ since: null, afterId: null }, 5);
    expect(page.records.map((record) => record.id)).toEqual(['1']);
    expect(calls).toBe(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('hands a Retry-After longer than it will wait back to the engine: a read stops the pass as a rate limit', async () => {
    const api = await stubApi((_request, _body, response) => json(response, 429, {}, { 'retry-after': '120' }));
    const connector = await open({ baseUrl: api.url, retries: { attempts: 4, baseMs: 5, maxWaitMs: 1000 } });
    const before = Date.now();
    const error = (await connector.listSince({ since: null, afterId: null }, 5).catch((caught: unknown) => caught)) as RateLimitedError;
    // A RateLimitedError holds the part until then (engine/pass/holds.ts) instead of failing the pass.
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.message).toMatch(/^the API at 127\.0\.0\.1:\d+ rate limit reached \(GET .*\/items: 429, Retry-After 120 s\)/);
    expect(error.resumeAt.getTime()).toBeGreaterThanOrEqual(before + 120_000);
    expect(api.requests).toHaveLength(1);
    await expect(connector.getMany(['1'])).rejects.toBeInstanceOf(RateLimitedError);
    const [result] = await connector.write([{ kind: 'delete', id: '1', expectedVersion: null }]);
    expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: true, retryAfterMs: 120_000 });
  });

  it('sends a strong ETag as If-Match, and never a weak one, which no server may match', async () => {
    const etags: Record<string, string> = { '1': '"v1"', '2': 'W/"v1"' };
    const api = await stubApi((request, _body, response) => {
      const id = (request.url ?? '').split('/').pop() as string;
      if (request.method === 'GET') return json(response, 200, { id: Number(id), name: 'Ada', updatedAt: '2024-01-01T00:00:00Z' }, { etag: etags[id] as string });
      // RFC 9110 §13.1.1: If-Match compares strongly, so a weak tag fails it.
      const asked = request.headers['if-match'];
      if (asked !== undefined && (asked.startsWith('W/') || asked !== etags[id])) return json(response, 412, {});
      json(response, 200, { id: Number(id), name: 'Grace', updatedAt: '2024-01-02T00:00:00Z' });
    });
    const connector = await open({ baseUrl: api.url, conditionalWrites: 'if-match' });
    const results = await connector.write([
      { kind: 'update', id: '1', fields: { name: 'Grace' }, tag: 't1', expectedVersion: '2024-01-01T00:00:00Z' },
      { kind: 'update', id: '2', fields: { name: 'Grace' }, tag: 't2', expectedVersion: '2024-01-01T00:00:00Z' },
    ]);
    expect(results).toEqual([expect.objectContaining({ ok: true, id: '1' }), expect.objectContaining({ ok: true, id: '2' })]);
    const sent = api.requests.filter((request) => request.method === 'PATCH').map((request) => [request.url, request.headers['if-match']]);
    expect(sent.sort()).toEqual([['/items/1', '"v1"'], ['/items/2', undefined]]);
  });

  it('gives up on a server that does not answer within the timeout', async () => {
    const api = await stubApi(() => undefined);
    const connector = await open({ baseUrl: api.url, timeoutMs: 100, retries: { attempts: 2, baseMs: 5, maxWaitMs: 1000 } });
    const started = performance.now();
    await expect(connector.listSince({ since: null, afterId: null }, 5)).rejects.toThrow(`GET ${api.url}/items: no response within 100 ms (2 tries)`);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(api.requests).toHaveLength(2);
  });

  it('keeps to the rate limit', async () => {
    const api = await stubApi((_request, _body, response) => json(response, 200, { id: 1, updatedAt: '2024-01-01T00:00:00Z' }));
    const connector = await open({ baseUrl: api.url, rateLimit: { requestsPerSecond: 20, burst: 1 }, maxConcurrent: 8 });
    const started = performance.now();
    await connector.getMany(['1', '2', '3', '4', '5', '6', '7']);
    // 7 requests, 1 at once, then one every 50 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    expect(api.requests).toHaveLength(7);
  });

  it('says what came back when an answer is not JSON, naming the URL', async () => {
    const api = await stubApi((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html><body>Maintenance</body></html>');
    });
    const connector = await open({ baseUrl: api.url });
    await expect(connector.listSince({ since: null, afterId: null }, 5)).rejects.toThrow(
      `GET ${api.url}/items: the response is not JSON (status 200, text/html): "Maintenance"`,
    );
  });

  it('finds a created record by its tag when the answer to the create was lost, and creates nothing twice', async () => {
    const stored: Array<Record<string, unknown>> = [];
    let posts = 0;
    const api = await stubApi((request, body, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      if (request.method === 'POST') {
        posts++;
        stored.push({ ...(JSON.parse(body) as Record<string, unknown>), id: stored.length + 1 });
        // The record is stored, but the API fails before it answers.
        return json(response, 500, { error: 'internal error' });
      }
      const tag = url.searchParams.get('tag');
      json(response, 200, stored.filter((record) => tag === null || record['tag'] === tag));
    });
    const findable = await open({ baseUrl: api.url, list: { tagParam: 'tag' }, stampUpdatedAt: true, retries: fastRetries }, { tagColumn: 'tag' });
    const [created] = await findable.write([{ kind: 'create', fields: { name: 'Ada' }, tag: 'syncline:f:1' }]);
    expect(created).toMatchObject({ ok: true, id: '1' });
    expect(posts).toBe(1);

    const blind = await open({ baseUrl: api.url, stampUpdatedAt: true, retries: fastRetries }, { tagColumn: 'tag' });
    const [unsure] = await blind.write([{ kind: 'create', fields: { name: 'Grace' }, tag: 'syncline:f:2' }]);
    expect(unsure).toMatchObject({ ok: false, reason: 'failed', retryable: false, mayHaveApplied: true, message: expect.stringMatching(/500 Internal Server Error.*may have been created all the same/) });
    expect(posts).toBe(2);
  });

  it('does not send a create again while the API may still be making it: no answer, or a gateway gave up on it', async () => {
    const stored: Array<Record<string, unknown>> = [];
    const pending: Array<() => void> = [];
    let posts = 0;
    const api = await stubApi((request, body, response) => {
      if (request.method === 'POST') {
        posts++;
        // Behind a gateway that gives up first, the API is still at work: the record lands after the look-up.
        pending.push(() => stored.push({ ...(JSON.parse(body) as Record<string, unknown>), id: stored.length + 1 }));
        return posts === 1 ? json(response, 504, { error: 'gateway timeout' }) : undefined;
      }
      const tag = new URL(request.url ?? '/', 'http://x').searchParams.get('tag');
      json(response, 200, stored.filter((record) => tag === null || record['tag'] === tag));
    });
    const connector = await open({ baseUrl: api.url, list: { tagParam: 'tag' }, stampUpdatedAt: true, retries: fastRetries, timeoutMs: 300 }, { tagColumn: 'tag' });
    const results = await connector.write([
      { kind: 'create', fields: { name: 'Ada' }, tag: 'syncline:f:1' },
      { kind: 'create', fields: { name: 'Grace' }, tag: 'syncline:f:2' },
    ]);
    for (const result of results) {
      expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false, mayHaveApplied: true, message: expect.stringMatching(/no record carries its tag yet; the API may still be creating it/) });
    }
    expect(posts).toBe(2);
    for (const land of pending.splice(0)) land();
    expect(stored.map((record) => record['name']).sort()).toEqual(['Ada', 'Grace']);
  });

  it('reads Retry-After as seconds or as a date, and Link headers with several relations', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(5000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
    const link = '<https://api.example.com/items?page=1>; rel="first", <https://api.example.com/items?page=3>; rel="next last"';
    expect(linkTarget(link, 'next')).toBe('https://api.example.com/items?page=3');
    expect(linkTarget(link, 'prev')).toBeNull();
  });

  it('checks its connection, keeping secrets out of the flow', () => {
    const check = httpConnector.checkConnection;
    expect(check({ baseUrl: 'https://api.example.com' })).toEqual([]);
    expect(check({ baseUrl: 'ftp://api.example.com' })[0]).toMatchObject({ path: ['baseUrl'] });
    expect(check({ baseUrl: 'https://user:pw@api.example.com' })[0]?.message).toMatch(/without user, password or query/);
    expect(check({ baseUrl: 'https://api.example.com', auth: { type: 'bearer', token: 'abc' } })[0]).toMatchObject({ path: ['auth', 'token'] });
    expect(check({ baseUrl: 'https://api.example.com', headers: { Authorization: 'Bearer abc' } })[0]?.message).toMatch(/must not carry secrets/);
    expect(check({ baseUrl: 'https://api.example.com', list: { pagination: { style: 'pages' } } })[0]?.message).toMatch(/style must be one of page, offset, cursor, link, none/);
    expect(check({ baseUrl: 'https://api.example.com', paging: {} })[0]?.message).toMatch(/see docs\/connectors\.md/);
  });
});

describe('http connector: record paths', () => {
  const recordPathError = (where: string, write: string) => ({ path: where.split('.'), message: `must contain {id}, where the record id goes: write "${write}"` });

  it('refuses an item, update or delete path without {id} in its schema, saying what to write instead', () => {
    const check = httpConnector.checkConnection;
    const connection = { baseUrl: 'https://api.example.com', item: { path: '/contacts/:id' }, update: { path: '/contacts' }, delete: { path: '/contacts/' } };
    expect(check(connection)).toEqual([recordPathError('item.path', '/contacts/{id}'), recordPathError('update.path', '/contacts/{id}'), recordPathError('delete.path', '/contacts/{id}/')]);
    expect(httpConnectionSchema.safeParse(connection).success).toBe(false);
    expect(check({ baseUrl: 'https://api.example.com', item: { path: '/contacts/{id}' }, update: { path: '/contacts/{id}/edit' }, delete: { path: '/{collection}/{id}' } })).toEqual([]);
    // The defaults are the list path and /{id}.
    expect(check({ baseUrl: 'https://api.example.com', list: { path: '/crm/contacts' } })).toEqual([]);
  });

  it('reports a record path without {id} when a flow is validated, at its place in the flow document', async () => {
    const flow = (item: Record<string, unknown>) => ({
      format: 'syncline.flow',
      version: 1,
      id: 'api-paths',
      name: 'API paths',
      nodes: [
        { id: 'crm', type: 'trigger', typeVersion: 1, position: { x: 0, y: 0 }, config: { connector: 'sqlite', connection: { file: 'crm.db' }, collection: 'leads', key: 'id', updatedAt: 'updated_at' } },
        { id: 'map', type: 'mapping', typeVersion: 1, position: { x: 240, y: 0 }, config: { fields: [{ left: 'email', right: 'email', direction: 'both' }] } },
        { id: 'resolve', type: 'conflict', typeVersion: 1, position: { x: 480, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } },
        { id: 'api', type: 'trigger', typeVersion: 1, position: { x: 720, y: 0 }, config: { connector: 'http', connection: { baseUrl: 'https://api.example.com', item }, collection: 'contacts', key: 'id' } },
      ],
      edges: [
        { id: 'e1', source: 'crm', target: 'map' },
        { id: 'e2', source: 'map', target: 'resolve' },
        { id: 'e3', source: 'resolve', target: 'api' },
      ],
    });
    const problem = { path: 'nodes[3].config.connection.item.path', nodeId: 'api', message: 'must contain {id}, where the record id goes: write "/contacts/{id}"', severity: 'error' };
    // `syncline validate` loads a flow this way, and the API's flow loader the same through createFlowLoader.
    expect(loadFlow(flow({ path: '/contacts/:id' }), loadOptionsFor(connectorRegistry)).issues).toEqual([problem]);
    expect(createFlowLoader(connectorRegistry)(flow({ path: '/contacts/:id' }))).toEqual({ ok: false, issues: [problem] });
    expect(createFlowLoader(connectorRegistry)(flow({ path: '/contacts/{id}' }))).toMatchObject({ ok: true });
    // Opening the connector refuses it through the same check.
    await expect(open({ baseUrl: 'https://api.example.com', item: { path: '/contacts/:id' } })).rejects.toThrow('connection.item.path: must contain {id}, where the record id goes: write "/contacts/{id}"');
  });
});

describe('http connector: where a listing ends', () => {
  interface Contact {
    id: number;
    updated_at: string;
  }

  /**
   * Django REST framework's PageNumberPagination: the records under `results`, and `404 {"detail": "Invalid page."}`
   * for a page past the last (an empty list has one, empty, page). `pastTheEnd` counts those answers.
   */
  async function pageNumberApi(records: Contact[]) {
    let pastTheEnd = 0;
    const api = await stubApi((request, _body, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      if (url.pathname !== '/api/contacts/') return json(response, 404, { detail: 'Not found.' });
      const since = url.searchParams.get('updated_at__gte');
      const listed = records.filter((record) => since === null || record.updated_at >= since);
      const size = Number(url.searchParams.get('page_size'));
      const page = Number(url.searchParams.get('page'));
      if (!(page >= 1 && page <= Math.max(1, Math.ceil(listed.length / size)))) {
        pastTheEnd++;
        return json(response, 404, { detail: 'Invalid page.' });
      }
      json(response, 200, { count: listed.length, next: null, previous: null, results: listed.slice((page - 1) * size, page * size) });
    });
    return { ...api, pastTheEnd: () => pastTheEnd };
  }

  const pageNumbers = { path: '/contacts/', itemsPath: 'results', pagination: { style: 'page', pageParam: 'page', sizeParam: 'page_size' }, pageSize: 3 };
  const contacts = (count: number): Contact[] => Array.from({ length: count }, (_, index) => ({ id: index + 1, updated_at: `2024-05-01T00:00:${String(index).padStart(2, '0')}Z` }));

  async function scan(connector: Connector): Promise<string[]> {
    const ids: string[] = [];
    for await (const chunk of connector.scanIds(2)) ids.push(...chunk);
    return ids;
  }

  it('ends a page-numbered listing at a 404 for a page past the last, as at an empty page', async () => {
    for (const count of [7, 6]) {
      const records = contacts(count);
      const api = await pageNumberApi(records);
      const connector = await open(
        { baseUrl: `${api.url}/api`, list: { ...pageNumbers, updatedSinceParam: 'updated_at__gte', query: { ordering: 'updated_at,id' } } },
        { updatedAt: 'updated_at' },
      );
      expect(await scan(connector)).toEqual(records.map((record) => String(record.id)));
      // A poll with nothing new: the first page holds only the record it stopped at, and the second is past the last.
      const last = records.at(-1) as Contact;
      const before = api.pastTheEnd();
      expect(await connector.listSince({ since: last.updated_at, afterId: String(last.id) }, 100)).toEqual({ records: [], next: null });
      expect(api.pastTheEnd()).toBe(before + 1);
    }
  });

  it('says a 404 for the first page is no list endpoint, and a 404 for a later page in another style is an error, not the end', async () => {
    const api = await pageNumberApi(contacts(7));
    const wrongPath = await open({ baseUrl: `${api.url}/api`, list: { ...pageNumbers, path: '/contact/' } });
    await expect(wrongPath.listSince({ since: null, afterId: null }, 10)).rejects.toThrow(
      `GET ${api.url}/api/contact/?page=1&page_size=3: 404 Not Found: no list endpoint there: check the collection and connection.list.path`,
    );
    // An offset listing whose API answers 404 past the end: nothing says the records stop there.
    const offsets = await stubApi((request, _body, response) => {
      const offset = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('offset'));
      if (offset > 0) return json(response, 404, { detail: 'Invalid page.' });
      json(response, 200, contacts(3));
    });
    const connector = await open({ baseUrl: offsets.url, list: { pagination: { style: 'offset' }, pageSize: 3 } }, { updatedAt: 'updated_at' });
    await expect(connector.listSince({ since: null, afterId: null }, 10)).rejects.toThrow(
      `GET ${offsets.url}/items?offset=3&limit=3: 404 Not Found: the API has no such page, though the first page of this listing was there: check connection.list.pagination`,
    );
  });

  it('without a change feed, starts over when the page it stopped in is now past the last, and loses no record after it', async () => {
    const records = contacts(40);
    const api = await pageNumberApi(records);
    const connector = await open({ baseUrl: `${api.url}/api`, list: { ...pageNumbers, pageSize: 10, changeFeed: false } }, { updatedAt: 'updated_at' });
    const listed: string[] = [];
    let listings = 0;
    for (let position: ListPosition | null = { since: null, afterId: null }; position; ) {
      const page = await connector.listSince(position, 10);
      listed.push(...page.records.map((record) => record.id));
      position = page.next;
      // The second listing stops in page 2; thirty deletes leave one page, so the third finds page 2 past the last.
      if (++listings === 2) records.splice(0, 30);
    }
    expect(listed).toEqual([...contacts(20), ...contacts(40).slice(30)].map((record) => String(record.id)));
    expect(api.pastTheEnd()).toBeGreaterThanOrEqual(2);
  });
});

describe('http connector: a next-page address where the cursor sits', () => {
  const records = Array.from({ length: 7 }, (_, index) => ({ id: `r${index}`, updatedAt: `2024-05-01T00:00:0${index}Z` }));
  const encode = (offset: number) => Buffer.from(String(offset)).toString('base64url');

  /**
   * An API that hands out the next page as an address (`next`), made from the URL asked by `address`. A cursor it
   * does not know it answers with an empty page, as some do: sent such an address as a cursor, a listing ended there.
   */
  async function nextAddressApi(address: (origin: string, url: URL) => string) {
    const api = await stubApi((request, _body, response) => {
      const url = new URL(request.url ?? '/', api.url);
      const cursor = url.searchParams.get('cursor');
      const start = cursor === null ? 0 : Number(Buffer.from(cursor, 'base64url').toString());
      if (!/^[A-Za-z0-9_-]*$/.test(cursor ?? '') || !Number.isInteger(start)) return json(response, 200, { data: [], next: null });
      const limit = Number(url.searchParams.get('limit'));
      url.searchParams.set('cursor', encode(start + limit));
      json(response, 200, { data: records.slice(start, start + limit), next: start + limit < records.length ? address(api.url, url) : null });
    });
    return api;
  }

  const cursorListing = (baseUrl: string) => ({ baseUrl, list: { path: '/items', itemsPath: 'data', pagination: { style: 'cursor', cursorPath: 'next', sizeParam: 'limit' }, pageSize: 3 } });

  it('follows a whole URL or a path with its query as a Link is followed, instead of sending it as the cursor', async () => {
    const absolute = await nextAddressApi((origin, url) => `${origin}${url.pathname}${url.search}`);
    const path = await nextAddressApi((_origin, url) => `${url.pathname}${url.search}`);
    for (const api of [absolute, path]) {
      const connector = await open(cursorListing(`${api.url}/v1`));
      const listed = await connector.listSince({ since: null, afterId: null }, 10);
      expect(listed.records.map((record) => record.id)).toEqual(records.map((record) => record.id));
      expect(api.requests.map((request) => request.url)).toEqual(['/v1/items?limit=3', `/v1/items?limit=3&cursor=${encode(3)}`, `/v1/items?limit=3&cursor=${encode(6)}`]);
    }
  });

  it('sends a cursor that starts with "/" but has no query as the cursor, and refuses an address on another origin', async () => {
    const api = await stubApi((request, _body, response) => {
      const cursor = new URL(request.url ?? '/', 'http://x').searchParams.get('cursor');
      // A standard base64 cursor may start with "/".
      json(response, 200, cursor === null ? { data: records.slice(0, 3), next: '/w==' } : { data: records.slice(3), next: null });
    });
    const connector = await open(cursorListing(api.url));
    expect((await connector.listSince({ since: null, afterId: null }, 10)).records).toHaveLength(7);
    expect(api.requests[1]?.url).toBe('/items?limit=3&cursor=%2Fw%3D%3D');

    const elsewhere = await nextAddressApi((_origin, url) => `https://elsewhere.example${url.pathname}${url.search}`);
    const refused = await open(cursorListing(elsewhere.url));
    await expect(refused.listSince({ since: null, afterId: null }, 10)).rejects.toThrow(
      `GET ${elsewhere.url}/items?limit=3: the next page at "next" (list.pagination.cursorPath) points to another origin (https://elsewhere.example); credentials are only sent to the API's own`,
    );
    expect(elsewhere.requests).toHaveLength(1);
  });
});

describe('http connector: what it may reach and echo', () => {
  const listing = [{ id: 1, updatedAt: '2024-01-01T00:00:00Z' }];

  it('refuses a host that resolves to loopback unless the operator allowed it, at once and without sending anything', async () => {
    const api = await stubApi((_request, _body, response) => json(response, 200, listing));
    const port = new URL(api.url).port;
    const strict = await open({ baseUrl: `http://localhost:${port}`, retries: { attempts: 4, baseMs: 60_000, maxWaitMs: 60_000 } }, {}, {}, testAccess());
    const error = await strict.listSince({ since: null, afterId: null }, 5).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HttpRequestError);
    expect(error).toMatchObject({ retryable: false });
    expect((error as Error).message).toBe(
      `GET http://localhost:${port}/items: localhost:${port}: the name resolves to a loopback or private address, which a flow may reach only when the operator allows it: start Syncline with --allow-hosts localhost:${port} (or add it to SYNCLINE_ALLOW_HOSTS)`,
    );
    expect(api.requests).toHaveLength(0);

    const allowed = await open({ baseUrl: `http://localhost:${port}` }, {}, {}, testAccess({ hosts: [`localhost:${port}`] }));
    expect((await allowed.listSince({ since: null, afterId: null }, 5)).records.map((record) => record.id)).toEqual(['1']);
  });

  it('refuses the cloud metadata address even when every private host is allowed', async () => {
    for (const baseUrl of ['http://169.254.169.254/latest', 'http://[::ffff:169.254.169.254]', 'http://[fd00:ec2::254]']) {
      const connector = await open({ baseUrl }, {}, {}, testAccess({ hosts: ['private'] }));
      await expect(connector.listSince({ since: null, afterId: null }, 5)).rejects.toThrow(/link-local, cloud metadata, unspecified or multicast address, which Syncline never connects to/);
    }
  });

  it('quotes a short, plain excerpt of what an API answered: no markup, no control characters', async () => {
    const page = `<html><head><script>var secret = "s3cret";</script></head><body><h1>Bad\u001b[2J request</h1>${'<p>internal detail</p>'.repeat(200)}</body></html>`;
    const api = await stubApi((request, _body, response) => {
      response.writeHead(request.url?.startsWith('/items?') || request.url === '/items' ? 400 : 200, { 'content-type': 'text/html' });
      response.end(page);
    });
    const connector = await open({ baseUrl: api.url });
    const error = (await connector.listSince({ since: null, afterId: null }, 5).catch((caught: unknown) => caught)) as Error;
    expect(error.message).toMatch(new RegExp(`^GET ${api.url}/items: 400 Bad Request — "Bad \\[2J request internal detail internal detail`));
    const excerpt = error.message.slice(error.message.indexOf('—'));
    expect([...excerpt].length).toBeLessThanOrEqual(2 + 2 + 200);
    expect(error.message).not.toMatch(/[<>\p{Cc}]|s3cret/u);
  });
});

describe('http webhook settings', () => {
  const body = JSON.stringify({ event: 'contact.deleted', data: { object: { id: 42 } } });

  it('verifies the SPEC scheme by default', () => {
    const webhook = httpWebhook({ baseUrl: 'https://api.example.com' });
    const header = signWebhookBody(webhookSettingsSchema.parse({}), 's3cret', body);
    expect(webhook.signatureHeader).toBe('X-Syncline-Signature');
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(webhook.verify('s3cret', body, header)).toBe(true);
    expect(webhook.verify('s3cret', body, header.toUpperCase().replace('SHA256=', 'sha256='))).toBe(true);
    expect(webhook.verify('other', body, header)).toBe(false);
    expect(webhook.verify('s3cret', `${body} `, header)).toBe(false);
    expect(webhook.verify('s3cret', body, undefined)).toBe(false);
    expect(webhook.shape).toEqual({ idPath: 'id' });
  });

  it('verifies a configured scheme and says where the id and type sit', () => {
    const settings = { signature: { header: 'X-Shop-Hmac-Sha256', algorithm: 'sha256', encoding: 'base64', prefix: '' }, idPath: 'data.object.id', typePath: 'event' };
    const webhook = httpWebhook({ baseUrl: 'https://api.example.com', webhook: settings });
    const header = signWebhookBody(webhookSettingsSchema.parse(settings), 'k', body);
    expect(header).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(webhook.signatureHeader).toBe('X-Shop-Hmac-Sha256');
    expect(webhook.verify('k', Buffer.from(body), header)).toBe(true);
    expect(webhook.verify('k', body, `sha256=${header}`)).toBe(false);
    expect(webhook.shape).toEqual({ idPath: 'data.object.id', typePath: 'event' });
    const sha1 = httpWebhook({ baseUrl: 'https://x.example', webhook: { signature: { header: 'X-Hub-Signature', algorithm: 'sha1', prefix: 'sha1=' } } });
    expect(sha1.verify('k', body, signWebhookBody(webhookSettingsSchema.parse({ signature: { algorithm: 'sha1', prefix: 'sha1=' } }), 'k', body))).toBe(true);
  });
});

describe('http connector: nested partial updates', () => {
  const stored = { id: 'c1', updatedAt: '2024-05-01T00:00:00.000Z', properties: { email: 'a@b.org', firstname: 'Ada', hs_extra: 'x' }, tags: ['t'] };

  /** An API holding one record, which answers a GET with it and every write with 200 and the record. */
  async function oneRecordApi() {
    return stubApi((request, body, response) => {
      if (request.method === 'GET') json(response, 200, stored);
      else json(response, 200, { ...stored, ...(JSON.parse(body) as object) });
    });
  }

  it('PATCHes only the leaves that changed, for the API to merge', async () => {
    const api = await oneRecordApi();
    const connector = await open({ baseUrl: api.url }, { tagColumn: 'meta.sync_tag' });
    const fields = { properties: { email: 'ada@example.org' } };
    const [result] = await connector.write([{ kind: 'update', id: 'c1', fields, tag: 'syncline:f:w1', expectedVersion: null }]);
    expect(result).toMatchObject({ ok: true });
    const patch = api.requests.find((request) => request.method === 'PATCH');
    expect(JSON.parse(patch?.body ?? '{}')).toEqual({ properties: { email: 'ada@example.org' }, meta: { sync_tag: 'syncline:f:w1' } });
    // The op is the engine's: building the body never changes it.
    expect(fields).toEqual({ properties: { email: 'ada@example.org' } });
  });

  it('PUTs the whole record read just before, with the changed leaves merged in', async () => {
    const api = await oneRecordApi();
    const connector = await open({ baseUrl: api.url, update: { method: 'PUT' } });
    await connector.write([{ kind: 'update', id: 'c1', fields: { properties: { email: 'ada@example.org' }, tags: ['u'] }, tag: 'syncline:f:w2', expectedVersion: null }]);
    const put = api.requests.find((request) => request.method === 'PUT');
    expect(JSON.parse(put?.body ?? '{}')).toEqual({ id: 'c1', updatedAt: expect.any(String), properties: { email: 'ada@example.org', firstname: 'Ada', hs_extra: 'x' }, tags: ['u'] });
  });

  it('writes leaves beside a nested updatedAt, and still refuses to write the bookkeeping itself', async () => {
    const api = await oneRecordApi();
    const connector = await open({ baseUrl: api.url }, { updatedAt: 'properties.lastmodified' });
    const [beside, over, replaced] = await connector.write([
      { kind: 'update', id: 'c1', fields: { properties: { email: 'ada@example.org' } }, tag: 'syncline:f:w3', expectedVersion: null },
      { kind: 'update', id: 'c1', fields: { properties: { lastmodified: 'x' } }, tag: 'syncline:f:w4', expectedVersion: null },
      { kind: 'update', id: 'c1', fields: { properties: 'flat' }, tag: 'syncline:f:w5', expectedVersion: null },
    ]);
    expect(beside).toMatchObject({ ok: true });
    expect(over).toMatchObject({ ok: false, message: 'field "properties.lastmodified" is the updatedAt of collection "items": bookkeeping, not data' });
    expect(replaced).toMatchObject({ ok: false, message: 'field "properties" is the updatedAt of collection "items": bookkeeping, not data' });
    expect(api.requests.filter((request) => request.method === 'PATCH')).toHaveLength(1);
  });
});

describe('http connector: times as APIs write them', () => {
  /** An API that filters and sorts by the instant a time stands for, whatever width its text has. */
  async function timedApi(records: Array<{ id: number; updatedAt: string | number }>): Promise<{ url: string; requests: Array<{ method: string; url: string; body: string }> }> {
    const instant = (value: string | number): number => (typeof value === 'number' ? value : Date.parse(value));
    return stubApi((request, body, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      if (request.method === 'GET' && url.pathname === '/items') {
        const since = url.searchParams.get('since');
        const listed = records
          .filter((record) => since === null || instant(record.updatedAt) >= instant(/^\d+$/.test(since) ? Number(since) : since))
          .sort((a, b) => instant(a.updatedAt) - instant(b.updatedAt) || a.id - b.id);
        return json(response, 200, listed);
      }
      const record = records.find((candidate) => `/items/${candidate.id}` === url.pathname);
      if (!record) return json(response, 404, {});
      if (request.method === 'PATCH') Object.assign(record, JSON.parse(body) as object);
      json(response, 200, record);
    });
  }

  it("lists times written as Go's RFC3339Nano writes them (trailing zeros trimmed) in time order, and loses none after a cursor", async () => {
    // As text "…:00.12Z" sorts after "…:00.123Z" ('Z' > '3'): compared that way, the listing below is "not sorted",
    // and a cursor at 10:00:00.12 would skip the record at 10:00:00.123.
    const api = await timedApi([
      { id: 1, updatedAt: '2024-05-01T10:00:00Z' },
      { id: 2, updatedAt: '2024-05-01T10:00:00.12Z' },
      { id: 3, updatedAt: '2024-05-01T10:00:00.123Z' },
      { id: 4, updatedAt: '2024-05-01T12:00:00.5+02:00' },
      { id: 5, updatedAt: '2024-05-01T10:00:01Z' },
    ]);
    const connector = await open({ baseUrl: api.url, list: { updatedSinceParam: 'since' } });
    const all = await connector.listSince({ since: null, afterId: null }, 10);
    expect(all.records.map((record) => record.id)).toEqual(['1', '2', '3', '4', '5']);
    const rest = await connector.listSince({ since: '2024-05-01T10:00:00.12Z', afterId: '2' }, 10);
    expect(rest.records.map((record) => record.id)).toEqual(['3', '4', '5']);
  });

  it('stamps a record the way it keeps its time: epoch seconds stay seconds, an offset stays an offset', async () => {
    const seconds = Math.floor(Date.now() / 1000) + 3600;
    const api = await timedApi([
      { id: 1, updatedAt: seconds },
      { id: 2, updatedAt: '2024-05-01T12:00:00.000+02:00' },
    ]);
    const connector = await open({ baseUrl: api.url, stampUpdatedAt: true, conditionalWrites: 'none', fields: { name: 'string' } });
    const results = await connector.write([
      { kind: 'update', id: '1', fields: { name: 'A' }, tag: 't1', expectedVersion: seconds },
      { kind: 'update', id: '2', fields: { name: 'B' }, tag: 't2', expectedVersion: '2024-05-01T12:00:00.000+02:00' },
    ]);
    expect(results.every((result) => result.ok)).toBe(true);
    const sent = api.requests.filter((request) => request.method === 'PATCH').map((request) => (JSON.parse(request.body) as { updatedAt: unknown }).updatedAt);
    // Later than the record's own time even though its clock runs an hour ahead of ours.
    expect(sent[0]).toBe(seconds + 1);
    expect(sent[1]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+02:00$/);
  });
});
