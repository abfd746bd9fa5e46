/**
 * What changed in a HubSpot collection since a time, read as a change-feed source (saas/changeFeed.ts serves the
 * listing from it, sorted, with its lookback):
 *
 * - From the start: the objects list (`GET /crm/v3/objects/{objectType}`, 100 a page, `paging.next.after` followed).
 *   It reads the records themselves, so it has neither the search index's lag nor its 10,000-result ceiling.
 * - Since a time: the search API (`POST /crm/v3/objects/{objectType}/search`), filtered `lastmodifieddate GTE since`
 *   (`hs_lastmodifieddate` for companies), sorted by it ascending, 200 a page. Each page is a query of its own, from
 *   the last modified date of the page before, never `paging.next.after`: that token is an offset into the query's
 *   results as they are when each page is asked for, so a record edited while the listing goes on moves to the end
 *   and shifts every later one down a place, and the one at the page's edge would never be read (by the time the
 *   lookback below could bring it back, the cursor is past it). Read by date, an edited record only comes later.
 *   This also keeps every query far from the ceiling: "The search endpoints are limited to 10,000 total results for
 *   any given query. Attempting to page beyond 10,000 will result in a 400 error" (Search the CRM, Limitations).
 *   A search takes one sort, so records of one instant come in no set order: an instant that fills a whole page (a
 *   bulk import) is read on its own, by id (`hs_object_id GT` the last id), before the window moves past it.
 * - The search index trails the records ("It may take a few moments for newly created or updated CRM objects to
 *   appear in search results", Limitations; integrators hold their cursors minutes behind for it: airbytehq/airbyte
 *   #69203 added a lookback to its HubSpot search streams, estuary/connectors#1549 delays HubSpot data 5 minutes,
 *   hubspot-api-php#59 reports records missing right after a write). So a listing reads from {@link hubspotLookbackMs}
 *   before its cursor, which also covers records that share the cursor's millisecond and came in another order.
 * - For the same reason a search result may be an older state of a record written since (the index shows the write
 *   before last): taken as it stands, it would read as a change back to old values and undo the newer ones. So search
 *   only says which records changed; each is read as it is now with `batch/read`, a hundred a request.
 * - Archived objects never appear in search; the objects list names them with `archived=true`, and they are listed
 *   as deleted, at the later of their last change and their archiving. The archived list has no time filter: every
 *   listing reads it whole (archived records are kept 90 days).
 */
import { ConnectorError, type SourceRecord } from '../types';
import { errorText, type HubSpotClient } from './client';
import type { HubSpotCollection } from './config';
import { versionProperty, type PropertyCatalog } from './properties';

/** How far before its cursor a listing reads: the search index's lag as integrators report it, about five minutes. */
export const hubspotLookbackMs = 5 * 60_000;
/** The search API's largest page ("up to 200 objects", OpenAPI `PublicObjectSearchRequest.limit`). */
export const searchPageSize = 200;
/** The objects list's largest page. */
export const listPageSize = 100;
/** A listing that never ends is a bug, not a big account. */
const maxRequests = 1_000_000;

/** One object as the API returns it (OpenAPI `SimplePublicObject`). */
export interface ObjectJson {
  id: string;
  properties: Record<string, unknown>;
  createdAt?: string;
  updatedAt?: string;
  archived?: boolean;
  archivedAt?: string;
}

/** The record a flow sees of one object; null for an answer without an id. */
export function toRecord(object: unknown, catalog: PropertyCatalog): SourceRecord | null {
  if (typeof object !== 'object' || object === null) return null;
  const { id, properties, updatedAt, archived, archivedAt } = object as Partial<ObjectJson>;
  if (typeof id !== 'string' && typeof id !== 'number') return null;
  const props = typeof properties === 'object' && properties !== null ? properties : {};
  const deleted = archived === true;
  const version = latest([updatedAt, props[versionProperty[catalog.collection]], deleted ? archivedAt : undefined]);
  return { id: String(id), version, tag: null, deleted, fields: catalog.read(props) };
}

/** The latest of some timestamps, as ISO text with milliseconds (one format, so text order is time order). */
export function latest(values: readonly unknown[]): string | null {
  let best: number | null = null;
  for (const value of values) {
    const time = typeof value === 'string' ? (/^\d+$/.test(value) ? Number(value) : Date.parse(value)) : typeof value === 'number' ? value : Number.NaN;
    if (Number.isFinite(time) && (best === null || time > best)) best = time;
  }
  return best === null ? null : new Date(best).toISOString();
}

/** Live objects by id as they are now (`batch/read`); ids not found are left out. */
export type ReadLive = (ids: readonly string[], properties: readonly string[]) => Promise<unknown[]>;

export class HubSpotChanges {
  constructor(
    private readonly client: HubSpotClient,
    private readonly collection: HubSpotCollection,
    private readonly catalog: () => Promise<PropertyCatalog>,
    private readonly readLive: ReadLive,
  ) {}

  /** Every record changed at or after `since` (all records when null), archived ones as deletes. */
  async *changedSince(since: Date | null): AsyncIterable<SourceRecord[]> {
    const catalog = await this.catalog();
    const records = (objects: unknown[]): SourceRecord[] => objects.map((object) => toRecord(object, catalog)).filter((record): record is SourceRecord => record !== null);
    if (since === null) {
      for await (const page of this.listObjects(catalog, false)) yield records(page);
    } else {
      for await (const page of this.searchFrom(since.getTime())) {
        const ids = page.map((object) => (object as { id?: unknown }).id).filter((id): id is string | number => typeof id === 'string' || typeof id === 'number');
        // One archived since the index saw it is not found live; the archived listing below has it.
        if (ids.length > 0) yield records(await this.readLive(ids.map(String), catalog.requested()));
      }
    }
    const from = since?.toISOString() ?? null;
    for await (const page of this.listObjects(catalog, true)) {
      yield records(page).filter((record) => from === null || (record.version !== null && record.version >= from));
    }
  }

  /** Every live (or every archived) object, in pages of the objects list. */
  async *listObjects(catalog: PropertyCatalog, archived: boolean): AsyncGenerator<unknown[]> {
    let after: string | null = null;
    for (let requests = 0; requests < maxRequests; requests++) {
      const query: Record<string, string> = { limit: String(listPageSize), properties: catalog.requested().join(','), archived: String(archived) };
      if (after !== null) query.after = after;
      const body = await this.client.json('GET', `/crm/v3/objects/${this.collection}`, { query, repeatable: true });
      yield resultsOf(body, `GET /crm/v3/objects/${this.collection}`);
      const next = nextAfter(body);
      if (next === null || next === after) return;
      after = next;
    }
    throw new ConnectorError(`GET /crm/v3/objects/${this.collection}: the listing did not end after ${maxRequests} pages`);
  }

  /**
   * Objects modified at or after `sinceMs` as the index shows them, a page a query: their ids and last-modified dates
   * (the only property asked for; their values are read by id).
   */
  private async *searchFrom(sinceMs: number): AsyncGenerator<unknown[]> {
    const version = versionProperty[this.collection];
    const path = `/crm/v3/objects/${this.collection}/search`;
    let from = sinceMs;
    // The ids read at `from` already: the next query, from that date, returns them again.
    let readAtFrom = new Set<string>();
    // Set while one instant fills a whole page: that instant, paged by id.
    let instant: { at: number; afterId: string | null } | null = null;
    for (let requests = 0; requests < maxRequests; requests++) {
      const filters = instant
        ? [{ propertyName: version, operator: 'EQ', value: String(instant.at) }, ...(instant.afterId === null ? [] : [{ propertyName: 'hs_object_id', operator: 'GT', value: instant.afterId }])]
        : [{ propertyName: version, operator: 'GTE', value: String(from) }];
      const body = { filterGroups: [{ filters }], sorts: [{ propertyName: instant ? 'hs_object_id' : version, direction: 'ASCENDING' }], properties: [version], limit: searchPageSize };
      const response = await this.client.request('POST', path, { body, search: true, repeatable: true });
      if (response.status !== 200) throw this.client.failure(response, response.status === 400 ? `HubSpot refused the search — ${errorText(response)}` : '');
      const answer = (response.body ?? {}) as Record<string, unknown>;
      const results = resultsOf(answer, `POST ${path}`);
      const more = nextAfter(answer) !== null && results.length > 0;
      const page = results.map((object) => ({ object, id: idOf(object), time: timeOf(object, version) }));
      if (instant) {
        yield results;
        const lastId = page.at(-1)?.id ?? null;
        if (more && lastId !== null) instant = { at: instant.at, afterId: lastId };
        else {
          // That instant is read: the window goes on just after it.
          from = instant.at + 1;
          readAtFrom = new Set();
          instant = null;
        }
        continue;
      }
      const fresh = page.filter((entry) => entry.id === null || !readAtFrom.has(entry.id)).map((entry) => entry.object);
      if (fresh.length > 0) yield fresh;
      if (!more) return;
      const last = page.reduce<number | null>((max, entry) => (entry.time !== null && (max === null || entry.time > max) ? entry.time : max), null);
      if (last === null || last <= from) {
        instant = { at: from, afterId: null };
        continue;
      }
      from = last;
      readAtFrom = new Set(page.filter((entry) => entry.time === last && entry.id !== null).map((entry) => entry.id as string));
    }
    throw new ConnectorError(`POST ${path}: the search did not end after ${maxRequests} requests`);
  }
}

/** A search result's id, as text. */
function idOf(object: unknown): string | null {
  const id = (object as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

/** A search result's last-modified time (ms), the later of its `updatedAt` and its version property. */
function timeOf(object: unknown, version: string): number | null {
  const { updatedAt, properties } = (object ?? {}) as Partial<ObjectJson>;
  const time = Date.parse(String(latest([updatedAt, properties?.[version]]) ?? ''));
  return Number.isFinite(time) ? time : null;
}

function resultsOf(body: Record<string, unknown>, shown: string): unknown[] {
  if (!Array.isArray(body.results)) throw new ConnectorError(`${shown}: expected {"results": [...]}, got no results list`);
  return body.results as unknown[];
}

/** `paging.next.after`, or null on the last page. */
function nextAfter(body: Record<string, unknown>): string | null {
  const after = (body.paging as { next?: { after?: unknown } } | undefined)?.next?.after;
  return typeof after === 'string' && after !== '' ? after : typeof after === 'number' ? String(after) : null;
}
