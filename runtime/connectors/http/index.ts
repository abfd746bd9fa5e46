/**
 * The `http` connector: one collection of a JSON REST API (docs/connectors.md). The trigger's `key`, `updatedAt`,
 * `tagColumn` and `deletedFlag` are dotted paths inside one record; `collection` names the resource, and the
 * endpoints default to `/{collection}` and `/{collection}/{id}`.
 *
 * Polling is keyset paging emulated over the list endpoint: records come sorted by (updatedAt, id) from an inclusive
 * updated-since filter, and each further request starts a fresh query from the last version collected, so a record
 * edited while a poll pages through the list moves behind the reader instead of shifting another out of its page.
 * Only inside a run of more than `list.pageSize` records sharing one updatedAt does the reader page by position.
 */
import { isPlainObject, mergeLeaves } from '../../../nodes/paths';
import type { FlowRecord } from '../../../nodes/types';
import type { TriggerConfig } from '../../../nodes/trigger/schema';
import {
  ConnectorError,
  RateLimitedError,
  type CollectionDescription,
  type Connector,
  type ConnectorCapabilities,
  type ConnectorContext,
  type ConnectorType,
  type FieldDescription,
  type ListPage,
  type ListPosition,
  type SourceRecord,
  type Version,
  type WriteOp,
  type WriteResult,
} from '../types';
import { compareTimeVersions, detectTimestampFormat, formatTimestamp, nextStampMs, parseTimestampMs, resolutionMs } from '../timestamps';
import { sameVersion } from '../versions';
import { HttpClient, HttpRequestError, type HttpResponse, type ResolvedAuth } from './client';
import { checkHttpConnection, parseHttpConnection, type HttpAuth, type HttpConnection } from './config';
import { endsListing, firstPage, nextPage, type PageStep } from './pagination';
import { deletePath, describeKeys, getPath, pathSegments, setPath } from './paths';
import { throwIfConnectionProblems } from '../connection';
import { guardedFetch } from '../network';
import { httpConnectionForm } from './form';

export { httpWebhook, signWebhookBody, type HttpWebhook } from './webhook';
export { checkHttpConnection, type HttpConnection } from './config';

/** A listing that never ends is a bug in the API or its configuration, not a big collection. */
const maxPagesPerListing = 100_000;
const idsPerRequest = 50;

interface ItemRead {
  record: SourceRecord;
  /** The item as the API sent it, bookkeeping included, for a PUT that must send the whole record. */
  raw: Record<string, unknown>;
  etag: string | null;
}

async function openHttpConnector(context: ConnectorContext): Promise<Connector> {
  const problems = checkHttpConnection(context.config.connection);
  throwIfConnectionProblems(problems);
  const connection = parseHttpConnection(context.config.connection);
  const auth = connection.auth ? await resolveAuth(connection.auth, context.resolveCredential) : null;
  return new HttpCollection(context.config, connection, auth, guardedFetch(context.access.hosts));
}

async function resolveAuth(auth: HttpAuth, resolveCredential: (name: string) => Promise<string>): Promise<ResolvedAuth> {
  const read = async (reference: { credential: string }, where: string): Promise<string> => {
    try {
      return await resolveCredential(reference.credential);
    } catch (error) {
      throw new ConnectorError(`connection.auth.${where}: cannot read credential "${reference.credential}": ${messageOf(error)}`, { cause: error });
    }
  };
  switch (auth.type) {
    case 'bearer':
      return { headers: { authorization: `Bearer ${await read(auth.token, 'token')}` }, query: null, description: `bearer token from credential "${auth.token.credential}"` };
    case 'basic': {
      const username = typeof auth.username === 'string' ? auth.username : await read(auth.username, 'username');
      const password = await read(auth.password, 'password');
      return {
        headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
        query: null,
        description: `basic auth with the password from credential "${auth.password.credential}"`,
      };
    }
    case 'header':
      return { headers: { [auth.name]: `${auth.prefix}${await read(auth.value, 'value')}` }, query: null, description: `header ${auth.name} from credential "${auth.value.credential}"` };
    case 'query':
      return { headers: {}, query: { name: auth.name, value: await read(auth.value, 'value') }, description: `query parameter ${auth.name} from credential "${auth.value.credential}"` };
  }
}

class HttpCollection implements Connector {
  readonly capabilities: ConnectorCapabilities;
  private readonly client: HttpClient;
  private readonly closing = new AbortController();
  private readonly listPath: string;
  private readonly itemPath: string;
  private readonly createPath: string;
  private readonly updatePath: string;
  private readonly deletePath: string;
  /** Path to role, for the paths that are identity and bookkeeping rather than data (SPEC §3). */
  private readonly bookkeeping = new Map<string, string>();
  /**
   * How many records the list has, from `list.totalHeader`: lets the engine skip the scan for hard deletes when the
   * count shows none can be missing. Absent when the API gives no exact total.
   */
  readonly count: (() => Promise<number>) | undefined;
  /** The last updatedAt read, as the API writes it: the form a create's stamp takes. */
  private versionSeen: Version | null = null;
  /** A listing went on to a next page of the same query, where a delete meanwhile could have shifted a record past it. */
  private pagedByPosition = false;
  /**
   * Without a change feed, where the last listing stopped: the record it ended with and the page that held it. The
   * next listing from that record goes on from that page instead of walking the pages before it again, which made
   * reading a collection of n pages cost about n²/2 requests.
   */
  private resume: { afterId: string; step: PageStep; size: number } | null = null;

  constructor(
    private readonly config: TriggerConfig,
    private readonly connection: HttpConnection,
    auth: ResolvedAuth | null,
    fetch: typeof globalThis.fetch,
  ) {
    const collection = encodeURIComponent(config.collection);
    const expandCollection = (template: string): string => template.replaceAll('{collection}', collection);
    this.listPath = expandCollection(connection.list.path ?? `/${collection}`);
    // The record paths hold {id}: the defaults by construction, a path given by the schema's check (config.ts).
    this.itemPath = expandCollection(connection.item.path ?? `${this.listPath}/{id}`);
    this.createPath = expandCollection(connection.create.path ?? this.listPath);
    this.updatePath = expandCollection(connection.update.path ?? this.itemPath);
    this.deletePath = expandCollection(connection.delete.path ?? this.itemPath);
    for (const [path, role] of [
      [config.deletedFlag, 'deletedFlag'],
      [config.tagColumn, 'tagColumn'],
      [config.updatedAt, 'updatedAt'],
      [config.key, 'key'],
    ] as const) {
      if (path !== undefined) this.bookkeeping.set(path, role);
    }
    const conditional = connection.conditionalWrites !== 'none' && config.updatedAt !== undefined;
    this.capabilities = {
      conditionalWrites: conditional,
      tags: config.tagColumn !== undefined,
      incremental: connection.list.changeFeed && config.updatedAt !== undefined && connection.list.updatedSinceParam !== undefined,
      fullScan: connection.scanDeletes,
      // A PATCH is merged by the API; a PUT body is the record read first with the leaves merged in (requests.ts).
      partialObjects: true,
      // Listed whole on every pass, and compared record by record (runtime/engine/snapshot.ts); its listing is the scan.
      ...(connection.list.changeFeed ? {} : { changeFeed: false }),
    };
    this.count = connection.list.totalHeader ? () => this.countFromHeader(connection.list.totalHeader as string) : undefined;
    const bucketKey = `${new URL(connection.baseUrl).origin}\u0000${JSON.stringify(connection.auth ?? null)}`;
    this.client = new HttpClient(connection, auth, this.closing.signal, bucketKey, fetch);
  }

  async listSince(position: ListPosition, limit: number): Promise<ListPage> {
    assertLimit(limit);
    // One record past the page tells whether another page follows.
    const { records: found, steps, size } = await this.listFrom(position, limit + 1);
    const records = found.slice(0, limit);
    const last = records.at(-1);
    const next = found.length > limit && last ? { since: this.capabilities.incremental ? last.version : null, afterId: last.id } : null;
    this.resume = next && !this.capabilities.incremental && this.connection.list.pagination.style !== 'none' ? { afterId: next.afterId, step: steps[limit - 1] as PageStep, size } : null;
    return { records, next };
  }

  /**
   * Up to `want` records after `position` in (version, id) order. Without incremental listing the version is ignored
   * and the listing must come sorted by id.
   */
  private async listFrom(position: ListPosition, want: number): Promise<{ records: SourceRecord[]; steps: PageStep[]; size: number }> {
    const incremental = this.capabilities.incremental;
    const size = Math.min(this.connection.list.pageSize, Math.max(want, 10));
    let querySince = incremental ? position.since : null;
    let after: ListPosition = incremental ? position : { since: null, afterId: position.afterId };
    const resumed = !incremental && position.afterId !== null && this.resume?.afterId === position.afterId && this.resume.size === size ? this.resume.step : null;
    let step = resumed ?? this.firstListPage(querySince, size);
    let previous: SourceRecord | null = null;
    // Ids this query returned: a delete on an earlier page shifts records back onto the next one.
    let seen = new Set<string>();
    const collected: SourceRecord[] = [];
    // The page each collected record came from, for the next listing to go on from.
    const steps: PageStep[] = [];
    for (let pages = 0; pages < maxPagesPerListing; pages++) {
      const page = step === resumed ? await this.resumedPage(step, position.afterId as string) : await this.fetchListPage(step);
      if (!page) {
        // Not where it was left: what shifted meanwhile is found by walking from the start, as without resuming.
        step = this.firstListPage(querySince, size);
        continue;
      }
      if (step === resumed) this.pagedByPosition = true;
      for (const record of page.records) {
        if (seen.has(record.id)) continue;
        this.checkOrder(previous, record, page.response);
        seen.add(record.id);
        previous = record;
        if (!this.isAfter(record, after)) continue;
        collected.push(record);
        steps.push(step);
        after = { since: record.version, afterId: record.id };
        if (collected.length >= want) return { records: collected, steps, size };
      }
      const next = nextPage(this.connection.list.pagination, this.client, step, page.response, page.body, page.itemCount);
      if (!next) return { records: collected, steps, size };
      const last = collected.at(-1);
      if (incremental && last && last.version !== null && (querySince === null || compareTimeVersions(last.version, querySince) > 0)) {
        // A fresh query from the last version collected: nothing edited meanwhile can shift a record past the reader.
        querySince = last.version;
        step = this.firstListPage(querySince, size);
        previous = null;
        seen = new Set();
      } else {
        this.pagedByPosition = true;
        step = next;
      }
    }
    throw new ConnectorError(`GET ${this.client.redact(step.url)}: the listing did not end after ${maxPagesPerListing} pages; check list.pagination`);
  }

  private firstListPage(since: Version | null, size: number, extra: Record<string, string> = {}): PageStep {
    const query: Record<string, string> = { ...this.connection.list.query, ...extra };
    const sinceParam = this.connection.list.updatedSinceParam;
    if (since !== null && sinceParam && this.capabilities.incremental) query[sinceParam] = String(since);
    return firstPage(this.connection.list.pagination, this.client, this.listPath, query, size);
  }

  /** Whether a record lies after a listing position: a later version, or the same version and a later id. */
  private isAfter(record: SourceRecord, position: ListPosition): boolean {
    if (!this.capabilities.incremental) return position.afterId === null || compareIds(record.id, position.afterId) > 0;
    const byVersion = compareTimeVersions(record.version, position.since);
    if (byVersion !== 0) return byVersion > 0;
    return position.afterId === null || compareIds(record.id, position.afterId) > 0;
  }

  /**
   * Keyset paging is only right when the API lists in (updatedAt, id) order: a listing out of order is an error
   * rather than a silent gap.
   */
  private checkOrder(previous: SourceRecord | null, record: SourceRecord, response: HttpResponse): void {
    if (this.capabilities.incremental && record.version === null) {
      // Such a record sorts nowhere in (updatedAt, id) order, and the updated-since filter would never return it.
      throw new ConnectorError(
        `GET ${response.url}: record ${record.id} has no updatedAt at "${this.config.updatedAt}": polling by updatedAt needs every record to carry one (set stampUpdatedAt if the API leaves it to the client)`,
      );
    }
    if (!previous) return;
    const byVersion = this.capabilities.incremental ? compareTimeVersions(previous.version, record.version) : 0;
    if (byVersion < 0 || (byVersion === 0 && compareIds(previous.id, record.id) < 0)) return;
    const order = this.capabilities.incremental ? `${this.config.updatedAt ?? 'updatedAt'}, then ${this.config.key}` : this.config.key;
    throw new ConnectorError(
      `GET ${response.url}: the list is not sorted by ${order} (record ${record.id}${this.capabilities.incremental ? ` at ${String(record.version)}` : ''} comes after record ${previous.id}${this.capabilities.incremental ? ` at ${String(previous.version)}` : ''}): set list.query to sort it, e.g. {"_sort":"${this.capabilities.incremental ? `${this.config.updatedAt},${this.config.key}` : this.config.key}"} for json-server`,
    );
  }

  /**
   * The page the last listing stopped in, read again: null unless it still holds the record the listing ended with, so
   * that nothing between that record and the rest of the page can have moved to a page before it (a delete, an
   * expired cursor). Then, and when the API refuses the old page's URL or says it is past the end (endsListing: an
   * empty page here), the listing starts over: that is no end of this listing, whose first page it never read.
   */
  private async resumedPage(step: PageStep, afterId: string): Promise<Awaited<ReturnType<HttpCollection['fetchListPage']>> | null> {
    try {
      const page = await this.fetchListPage(step);
      return page.records.some((record) => record.id === afterId) ? page : null;
    } catch (error) {
      if (error instanceof HttpRequestError && error.status !== null && error.status >= 400 && error.status < 500 && error.status !== 429) return null;
      throw error;
    }
  }

  private async fetchListPage(step: PageStep): Promise<{ records: SourceRecord[]; body: unknown; response: HttpResponse; itemCount: number }> {
    const response = await this.get(step.url);
    if (!isSuccess(response)) {
      // As an empty page: nextPage ends the listing there.
      if (endsListing(this.connection.list.pagination, step, response)) return { records: [], body: null, response, itemCount: 0 };
      throw this.client.readError(response, response.status === 404 ? notFoundHint(step) : '');
    }
    const body = this.client.json(response);
    const itemsPath = this.connection.list.itemsPath;
    const items = getPath(body, itemsPath);
    if (!Array.isArray(items)) {
      const where = itemsPath === '' ? 'the response itself' : `"${itemsPath}"`;
      throw new HttpRequestError(`${response.method} ${response.url}: expected the list of records at ${where} (connection.list.itemsPath), but the response is ${describeKeys(body)}`, {
        retryable: false,
      });
    }
    const records = items.map((item, index) => this.toRecord(item, response, `item ${index} at "${itemsPath}"`));
    return { records, body, response, itemCount: items.length };
  }

  async getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>> {
    const found = new Map<string, SourceRecord>();
    const wanted = [...new Set(ids)];
    if (wanted.length === 0) return found;
    const idsParam = this.connection.list.idsParam;
    if (idsParam) {
      for (let start = 0; start < wanted.length; start += idsPerRequest) {
        const chunk = wanted.slice(start, start + idsPerRequest);
        const asked = new Set(chunk);
        for await (const records of this.walkAll(this.firstListPageWithIds(idsParam, chunk))) {
          for (const record of records) if (asked.has(record.id)) found.set(record.id, record);
        }
      }
      return found;
    }
    const reads = await Promise.all(wanted.map((id) => this.readItem(id)));
    for (const read of reads) if (read) found.set(read.record.id, read.record);
    return found;
  }

  private firstListPageWithIds(idsParam: string, ids: readonly string[]): PageStep {
    const step = firstPage(this.connection.list.pagination, this.client, this.listPath, { ...this.connection.list.query }, Math.max(ids.length, 10));
    for (const id of ids) step.url.searchParams.append(idsParam, id);
    return step;
  }

  /** Every page of one query, as it comes, without keyset logic: for lookups whose order does not matter. */
  private async *walkAll(first: PageStep): AsyncIterable<SourceRecord[]> {
    let step: PageStep | null = first;
    for (let pages = 0; step && pages < maxPagesPerListing; pages++) {
      const page = await this.fetchListPage(step);
      yield page.records;
      step = nextPage(this.connection.list.pagination, this.client, step, page.response, page.body, page.itemCount);
    }
  }

  /** One record by id, or null when the API says it does not exist. */
  private async readItem(id: string): Promise<ItemRead | null> {
    const response = await this.get(this.client.url(this.expandId(this.itemPath, id)));
    if (response.status === 404 || response.status === 410) return null;
    if (!isSuccess(response)) throw this.client.readError(response);
    const body = this.client.json(response);
    const item = getPath(body, this.connection.item.itemPath);
    const record = this.toRecord(item, response, this.connection.item.itemPath === '' ? 'the response' : `"${this.connection.item.itemPath}" (connection.item.itemPath)`);
    return { record, raw: item as Record<string, unknown>, etag: response.headers.get('etag') };
  }

  async write(ops: readonly WriteOp[]): Promise<WriteResult[]> {
    // Ops run concurrently (the client caps requests in flight), but ops on one id keep their order.
    const chains = new Map<string, Promise<unknown>>();
    const results = ops.map((op) => {
      const id = op.kind === 'create' ? null : op.id;
      const before = id === null ? undefined : chains.get(id);
      const result = (before ?? Promise.resolve()).then(() => this.applyOp(op));
      if (id !== null) chains.set(id, result.catch(() => undefined));
      return result;
    });
    return Promise.all(results);
  }

  private async applyOp(op: WriteOp): Promise<WriteResult> {
    try {
      switch (op.kind) {
        case 'create':
          return await this.create(op.fields, op.tag);
        case 'update':
          return await this.update(op.id, op.fields, op.tag, op.expectedVersion);
        case 'delete':
          return await this.remove(op.id, op.expectedVersion);
      }
    } catch (error) {
      if (error instanceof ConnectorError) return failedResult(error);
      // A read within the write (read-check, read-back) met the rate limit: the write waits for it, as any other.
      if (error instanceof RateLimitedError) return { ok: false, reason: 'failed', message: error.message, retryable: true, retryAfterMs: Math.max(0, error.resumeAt.getTime() - Date.now()) };
      throw error;
    }
  }

  private async create(fields: FlowRecord, tag: string): Promise<WriteResult> {
    const problem = this.checkFields(fields);
    if (problem) return problem;
    const body: Record<string, unknown> = structuredClone(fields);
    if (this.config.tagColumn) setPath(body, this.config.tagColumn, tag);
    const stamp = this.stampFor(null);
    if (stamp !== null && this.config.updatedAt) setPath(body, this.config.updatedAt, stamp);

    let recovered: SourceRecord | null = null;
    const findable = this.config.tagColumn !== undefined && this.connection.list.tagParam !== undefined;
    const shown = `POST ${this.client.redact(this.client.url(this.createPath))}`;
    const onAmbiguous = findable
      ? async (settled: boolean): Promise<'applied' | 'not-applied'> => {
          try {
            recovered = await this.findByTag(tag);
          } catch (error) {
            // Unknown either way: sending it again could make a second record, so the engine must not retry it.
            throw new ConnectorError(`${shown}: the answer was lost and the record could not be looked up by its tag (${messageOf(error)}); it may have been created, so it is not sent again`, {
              retryable: false,
              cause: error,
              mayHaveApplied: true,
            });
          }
          if (recovered) return 'applied';
          if (settled) return 'not-applied';
          // The API may still be making it, after the look-up: sent again now, it could exist twice. The engine keeps
          // the create journaled, and its next pass adopts the record by its tag or, when none turns up, creates it.
          throw new ConnectorError(`${shown}: the answer was lost and no record carries its tag yet; the API may still be creating it, so it is not sent again until the next pass looks again`, {
            retryable: false,
            mayHaveApplied: true,
          });
        }
      : undefined;
    const response = await this.client.send({ method: 'POST', url: this.client.url(this.createPath), body, idempotent: false }, onAmbiguous);
    if (response === 'applied') {
      const record = recovered as SourceRecord | null;
      if (!record) throw new ConnectorError('internal: a create was reported applied without its record');
      return { ok: true, id: record.id, version: record.version };
    }
    if (!isSuccess(response)) {
      const error = this.client.statusError(response);
      if (response.status >= 500 && !findable) {
        return {
          ok: false,
          reason: 'failed',
          retryable: false,
          mayHaveApplied: true,
          message: `${error.message}; the record may have been created all the same, so it is not sent again (give connection.list.tagParam and a tagColumn to let the connector check)`,
        };
      }
      return failedResult(error);
    }
    const record = await this.createdRecord(response);
    return { ok: true, id: record.id, version: record.version ?? stamp };
  }

  /** The record a create answered with, or the one its Location header names when the answer has no body. */
  private async createdRecord(response: HttpResponse): Promise<SourceRecord> {
    const location = response.headers.get('location');
    if (response.text.trim() === '' && location) {
      const url = new URL(location, response.url);
      if (this.client.sameOrigin(url)) {
        const read = await this.get(this.client.withAuthQuery(url));
        if (isSuccess(read)) return this.toRecord(getPath(this.client.json(read), this.connection.item.itemPath), read, 'the created record');
      }
    }
    const item = getPath(this.client.json(response), this.connection.item.itemPath);
    return this.toRecord(item, response, 'the created record');
  }

  /** The record carrying a tag, or null: how a create whose answer was lost is told apart from one never made. */
  private async findByTag(tag: string): Promise<SourceRecord | null> {
    const tagParam = this.connection.list.tagParam as string;
    const size = this.connection.list.pageSize;
    const first = firstPage(this.connection.list.pagination, this.client, this.listPath, { ...this.connection.list.query, [tagParam]: tag }, size);
    for await (const records of this.walkAll(first)) {
      // Checked here too: an API that ignores an unknown filter (json-server does) answers with everything.
      const match = records.find((record) => record.tag === tag);
      if (match) return match;
    }
    return null;
  }

  private async update(id: string, fields: FlowRecord, tag: string, expectedVersion: Version | null): Promise<WriteResult> {
    const problem = this.checkFields(fields);
    if (problem) return problem;
    const conditional = this.capabilities.conditionalWrites && expectedVersion !== null;
    const put = this.connection.update.method === 'PUT';
    let current: ItemRead | null = null;
    if (conditional || put) {
      current = await this.readItem(id);
      if (!current || current.record.deleted) return { ok: false, reason: 'missing' };
      if (conditional && !sameVersion(current.record.version, expectedVersion)) return { ok: false, reason: 'changed' };
    }
    // Nested objects in `fields` are partial, holding only the leaves that changed: a PUT merges them into the whole
    // record just read; a PATCH sends just them, for the API to merge (docs/connectors.md). Cloned, so setting the
    // bookkeeping paths below never changes the engine's op.
    const base: Record<string, unknown> = put && current ? structuredClone(current.raw) : {};
    const body = mergeLeaves(base, structuredClone(fields));
    if (this.config.tagColumn) setPath(body, this.config.tagColumn, tag);
    const stamp = this.stampFor(current?.record.version ?? expectedVersion);
    if (stamp !== null && this.config.updatedAt) setPath(body, this.config.updatedAt, stamp);
    const headers = this.ifMatch(current);
    const response = await this.client.send({ method: this.connection.update.method, url: this.client.url(this.expandId(this.updatePath, id)), body, headers, idempotent: true });
    if (response === 'applied') throw new ConnectorError('internal: an idempotent update cannot be ambiguous');
    if (response.status === 404 || response.status === 410) return { ok: false, reason: 'missing' };
    if (response.status === 412 && headers) return { ok: false, reason: 'changed' };
    if (!isSuccess(response)) return failedResult(this.client.statusError(response));
    const written = this.recordIn(response);
    return { ok: true, id, version: written?.version ?? stamp ?? (await this.readItem(id))?.record.version ?? null };
  }

  private async remove(id: string, expectedVersion: Version | null): Promise<WriteResult> {
    const conditional = this.capabilities.conditionalWrites && expectedVersion !== null;
    const soft = this.config.deletedFlag;
    let current: ItemRead | null = null;
    if (conditional || soft) {
      current = await this.readItem(id);
      if (!current || current.record.deleted) return { ok: false, reason: 'missing' };
      if (conditional && !sameVersion(current.record.version, expectedVersion)) return { ok: false, reason: 'changed' };
    }
    const headers = this.ifMatch(current);
    if (soft) {
      const body: Record<string, unknown> = {};
      const stamp = this.stampFor(current?.record.version ?? expectedVersion);
      setPath(body, soft, looksLikeTime(soft) ? new Date(nextStampMs()).toISOString() : true);
      if (stamp !== null && this.config.updatedAt) setPath(body, this.config.updatedAt, stamp);
      const response = await this.client.send({ method: 'PATCH', url: this.client.url(this.expandId(this.updatePath, id)), body, headers, idempotent: true });
      if (response === 'applied') throw new ConnectorError('internal: an idempotent update cannot be ambiguous');
      if (response.status === 404 || response.status === 410) return { ok: false, reason: 'missing' };
      if (response.status === 412 && headers) return { ok: false, reason: 'changed' };
      if (!isSuccess(response)) return failedResult(this.client.statusError(response));
      return { ok: true, id, version: this.recordIn(response)?.version ?? stamp };
    }
    const response = await this.client.send({ method: 'DELETE', url: this.client.url(this.expandId(this.deletePath, id)), headers, idempotent: true });
    if (response === 'applied') throw new ConnectorError('internal: an idempotent delete cannot be ambiguous');
    // After a try whose answer was lost, a 404 means that try did the work.
    if (response.status === 404 || response.status === 410) return response.repeated ? { ok: true, id, version: null } : { ok: false, reason: 'missing' };
    if (response.status === 412 && headers) return { ok: false, reason: 'changed' };
    if (!isSuccess(response)) return failedResult(this.client.statusError(response));
    return { ok: true, id, version: null };
  }

  private ifMatch(current: ItemRead | null): Record<string, string> | undefined {
    if (this.connection.conditionalWrites !== 'if-match' || !current?.etag) return undefined;
    // "An origin server MUST use the strong comparison function when comparing entity-tags for If-Match" (RFC 9110
    // §13.1.1): a weak tag (W/"…", as Express sends by default and nginx makes of a strong one when it compresses)
    // never matches, and every write would be answered 412. The read just made has checked the record; the short
    // race it leaves stays open for this record, as with read-check.
    if (/^\s*W\//.test(current.etag)) return undefined;
    return { 'if-match': current.etag };
  }

  /** The record in a write's answer, when it holds one; APIs that answer 204 leave it to a read. */
  private recordIn(response: HttpResponse): SourceRecord | null {
    if (response.text.trim() === '') return null;
    try {
      const item = getPath(this.client.json(response), this.connection.item.itemPath);
      return this.toRecord(item, response, 'the written record');
    } catch {
      return null;
    }
  }

  /**
   * Every live id. An id missing here is taken for deleted and the delete propagates, so a scan that paged by position
   * (where a concurrent delete shifts a record past the reader) is run a second time and the two are joined.
   */
  async *scanIds(limit: number): AsyncIterable<string[]> {
    assertLimit(limit);
    const seen = new Set<string>();
    this.pagedByPosition = false;
    for (let round = 0; round < 2; round++) {
      let position: ListPosition | null = { since: null, afterId: null };
      while (position) {
        const page: ListPage = await this.listSince(position, limit);
        // Soft-deleted records are reported by listSince; here they count as gone, like a hard delete.
        const ids = page.records.filter((record) => !record.deleted && !seen.has(record.id)).map((record) => record.id);
        for (const id of ids) seen.add(id);
        if (ids.length > 0) yield ids;
        position = page.next;
      }
      if (!this.pagedByPosition) return;
    }
  }

  private async countFromHeader(header: string): Promise<number> {
    const step = firstPage(this.connection.list.pagination, this.client, this.listPath, { ...this.connection.list.query }, 1);
    const response = await this.get(step.url);
    if (!isSuccess(response)) throw this.client.readError(response);
    const value = response.headers.get(header);
    if (value === null || !/^\d+$/.test(value.trim())) {
      throw new HttpRequestError(`${response.method} ${response.url}: no whole number in the ${header} header (connection.list.totalHeader), got ${value === null ? 'no such header' : JSON.stringify(value)}`, {
        retryable: false,
      });
    }
    return Number(value.trim());
  }

  async describe(): Promise<CollectionDescription[]> {
    const types = new Map<string, Set<string>>();
    for (const [name, type] of Object.entries(this.connection.fields)) types.set(name, new Set([type]));
    // A sample of the first page fills in what the configuration does not declare.
    const page = await this.fetchListPage(this.firstListPage(null, Math.min(this.connection.list.pageSize, 20)));
    for (const record of page.records) {
      for (const [name, value] of Object.entries(record.fields)) {
        const seen = types.get(name) ?? new Set<string>();
        if (value !== null && value !== undefined) seen.add(Array.isArray(value) ? 'array' : typeof value);
        types.set(name, seen);
      }
    }
    const fields: FieldDescription[] = [...types]
      .filter(([name]) => !this.bookkeeping.has(name))
      .map(([name, seen]) => {
        const known = [...seen].filter((type) => type !== 'any');
        return { name, type: known.length === 1 ? (known[0] as string) : 'any', nullable: true };
      });
    return [{ name: this.config.collection, fields }];
  }

  async close(): Promise<void> {
    if (!this.closing.signal.aborted) this.closing.abort(new ConnectorError('the connector was closed'));
  }

  private async get(url: URL): Promise<HttpResponse> {
    const response = await this.client.send({ method: 'GET', url, idempotent: true });
    if (response === 'applied') throw new ConnectorError('internal: a GET cannot be ambiguous');
    return response;
  }

  private expandId(template: string, id: string): string {
    return template.replaceAll('{id}', encodeURIComponent(id));
  }

  /** A record from one JSON item, or an error naming the URL and what is missing. */
  private toRecord(item: unknown, response: HttpResponse, where: string): SourceRecord {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new HttpRequestError(`${response.method} ${response.url}: expected a record (a JSON object) at ${where}, got ${describeKeys(item)}`, { retryable: false });
    }
    const id = getPath(item, this.config.key);
    if (!((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id)))) {
      throw new HttpRequestError(`${response.method} ${response.url}: the record at ${where} has no id at "${this.config.key}" (the trigger's key); it is ${describeKeys(item)}`, {
        retryable: false,
      });
    }
    const version = this.config.updatedAt ? getPath(item, this.config.updatedAt) : null;
    const tag = this.config.tagColumn ? getPath(item, this.config.tagColumn) : null;
    if (typeof version === 'string' || typeof version === 'number') this.versionSeen = version;
    const fields = structuredClone(item) as Record<string, unknown>;
    for (const path of this.bookkeeping.keys()) deletePath(fields, path);
    return {
      id: String(id),
      version: typeof version === 'string' || typeof version === 'number' ? version : null,
      tag: typeof tag === 'string' ? tag : null,
      deleted: this.config.deletedFlag ? isDeletedFlag(getPath(item, this.config.deletedFlag)) : false,
      fields: fields as FlowRecord,
    };
  }

  /** A failed result when a field is bookkeeping; null when every field can be written. */
  private checkFields(fields: FlowRecord): WriteResult | null {
    // Nested objects merge leaf by leaf, so `{ meta: { color } }` leaves a `meta.updated_at` updatedAt alone: a field
    // is bookkeeping when it sets the path itself, or a value that is not an object on the way to it.
    for (const [path, role] of this.bookkeeping) {
      const segments = pathSegments(path);
      let holder: unknown = fields;
      for (let depth = 0; depth < segments.length; depth += 1) {
        const segment = segments[depth] as string;
        if (!isPlainObject(holder) || holder[segment] === undefined || !Object.hasOwn(holder, segment)) break;
        const value = holder[segment];
        if (depth < segments.length - 1 && isPlainObject(value)) {
          holder = value;
          continue;
        }
        const name = segments.slice(0, depth + 1).join('.');
        return { ok: false, reason: 'failed', retryable: false, message: `field "${name}" is the ${role} of collection "${this.config.collection}": bookkeeping, not data` };
      }
    }
    return null;
  }

  /**
   * The updatedAt this write sets, when the connector stamps it: now, and later than the record's current one, in the
   * record's own representation (epoch seconds stay seconds, an offset stays an offset), so that it sorts among the
   * stamps the API's other clients write. `current`: the record's time as just read, or as the engine last saw it.
   */
  private stampFor(current: Version | null): Version | null {
    if (!this.connection.stampUpdatedAt || !this.config.updatedAt) return null;
    // A create has no time of its own to copy: the last one listed shows how this API writes them.
    const format = detectTimestampFormat(current ?? this.versionSeen, '');
    const resolution = resolutionMs(format);
    const currentMs = parseTimestampMs(current, format);
    return formatTimestamp(nextStampMs(resolution, Math.max(Date.now(), currentMs === null ? -Infinity : currentMs + resolution)), format);
  }
}

function isSuccess(response: HttpResponse): boolean {
  return response.status >= 200 && response.status < 300;
}

/** What a 404 for a list page means: the first shows the list path is wrong; a later one, that the API has no such page. */
function notFoundHint(step: PageStep): string {
  if (step.first) return 'no list endpoint there: check the collection and connection.list.path';
  return 'the API has no such page, though the first page of this listing was there: check connection.list.pagination';
}


/** Ids order as json-server and most APIs sort them: numbers numerically, anything else by code unit. */
export function compareIds(a: string, b: string): number {
  const integer = /^-?\d{1,15}$/;
  if (integer.test(a) && integer.test(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A soft-delete value that marks a record deleted: true, a non-zero number, a timestamp, anything but 0/false/''. */
function isDeletedFlag(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return false;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return !['', '0', 'false'].includes(value.trim().toLowerCase());
  return true;
}

function looksLikeTime(path: string): boolean {
  const name = pathSegments(path).at(-1) ?? '';
  return /(_at|At|_on|_time|Time|_date|Date)$/.test(name);
}

function failedResult(error: ConnectorError): WriteResult {
  const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return { ok: false, reason: 'failed', message: error.message, retryable: error.retryable, ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}), ...(error.mayHaveApplied ? { mayHaveApplied: true } : {}) };
}

function assertLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number above 0, got ${limit}`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A JSON REST API: list, get, create, update and delete endpoints, with auth, pagination, retries and a rate limit. */
export const httpConnector = {
  type: 'http',
  title: 'HTTP JSON API',
  checkConnection: checkHttpConnection,
  open: openHttpConnector,
  connectionForm: httpConnectionForm,
} satisfies ConnectorType;
