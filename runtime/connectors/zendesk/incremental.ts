/**
 * Zendesk's cursor-based incremental exports
 * (https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/), read as a
 * change-feed source (saas/changeFeed.ts) that serves the listing.
 *
 * - The first request takes `start_time` in epoch seconds, at least a minute in the past ("The time must be more
 *   than one minute in the past to avoid missing data"): a start that is too recent is clamped, not refused.
 * - Each answer carries `after_cursor` and `end_of_stream`. The stream ends where `end_of_stream` is true, and there
 *   the reader stops: the last answer still carries an `after_cursor`, and asking with it returns no records and the
 *   same cursor again, forever.
 * - The same record may come twice (edited while the export is paged through); the change feed keeps its latest
 *   version. The last minute is never exported, so a listing lags at least that much; `lookbackMs` is Zendesk's
 *   replication lag as integration vendors publish it, about two minutes.
 */
import { ConnectorError } from '../types';
import { errorText, type ZendeskClient } from './client';

/** How far before its cursor a listing reads: Zendesk's export lags about two minutes behind its writes. */
export const zendeskLookbackMs = 2 * 60_000;
/** `start_time` must be a minute old; five seconds more allow for this machine's clock running ahead of Zendesk's. */
export const minimumStartAgeSeconds = 65;
/** A listing that never ends is a bug, not a big account: a million pages of 1000 is a billion records. */
const maxPages = 1_000_000;

export interface CursorExport {
  /** e.g. /api/v2/incremental/tickets/cursor.json */
  path: string;
  /** The list's key in each answer: `tickets`, `users`. */
  key: string;
  /** `per_page`: Zendesk's default and maximum is 1000. */
  perPage: number;
}

/** The raw items of a cursor-based export from `since` (the beginning when null), page by page, until `end_of_stream`. */
export async function* readCursorExport(client: ZendeskClient, exported: CursorExport, since: Date | null): AsyncGenerator<Array<Record<string, unknown>>> {
  const latest = Math.floor(client.now() / 1000) - minimumStartAgeSeconds;
  const start = Math.max(0, Math.min(since === null ? 0 : Math.floor(since.getTime() / 1000), latest));
  const perPage = String(exported.perPage);
  let url = client.url(exported.path, { start_time: String(start), per_page: perPage });
  let asked: string | null = null;
  for (let page = 0; page < maxPages; page++) {
    const response = await client.request('GET', url);
    if (response.status === 422) {
      throw client.failure(response, `Zendesk found start_time ${start} too recent: this machine's clock may run more than ${minimumStartAgeSeconds - 60} s ahead of Zendesk's`);
    }
    if (response.status !== 200) throw client.failure(response);
    const body = response.body as Record<string, unknown> | null;
    const items = body?.[exported.key];
    if (!body || !Array.isArray(items)) throw new ConnectorError(`${response.shown}: expected a "${exported.key}" list, got ${errorText(response) || 'no JSON object'}`);
    yield items.filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null && !Array.isArray(item));
    if (body.end_of_stream === true) return;
    const cursor = body.after_cursor;
    // No cursor (an export that found nothing) or one that did not move: nothing more to read.
    if (typeof cursor !== 'string' || cursor === '' || cursor === asked) return;
    asked = cursor;
    url = client.url(exported.path, { cursor, per_page: perPage });
  }
  throw new ConnectorError(`GET ${exported.path}: the export did not end after ${maxPages} pages`);
}

/** The record's time as epoch seconds, for comparing two versions of Zendesk's (whole seconds). */
export function versionSeconds(version: unknown): number | null {
  if (typeof version === 'number') return Math.floor(version / 1000);
  if (typeof version !== 'string') return null;
  const time = Date.parse(version);
  return Number.isFinite(time) ? Math.floor(time / 1000) : null;
}

