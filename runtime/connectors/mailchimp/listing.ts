/**
 * Members changed since a time, read from "List members info" (`GET /lists/{list_id}/members`) as a change-feed source
 * for saas/changeFeed.ts.
 *
 * - `since_last_changed` "restrict[s] results to subscribers whose information changed after the set timeframe": after
 *   may well be exclusive, so a member changed in the very second of the cursor could be left out. The feed's lookback
 *   ({@link mailchimpLookbackMs}) asks from a second before; what that reads again is dropped by the engine.
 * - Pages are `count` (at most 1000) and `offset`, with `total_items` for the whole query. Offset paging slides when
 *   the result changes under it: a member read on an earlier page that changes moves to the end (sorted by
 *   last_changed), and every member after its old place moves up one, so the member at the page boundary would never
 *   be read. So a listing is a closed window — `before_last_changed` fixed a second before the server's time when the
 *   listing starts (from the Date header of an earlier answer) — in which members can only leave: a change moves a
 *   member past the window's end. When `total_items` shrinks between two pages, that many members left from somewhere
 *   before the next offset at most, and the listing steps back that many places and reads them again. Members that
 *   changed while it read are read by the next listing, which starts at or before the window's end.
 * - Archived members are listed only when asked for by status, so each window is read twice: every other status, then
 *   `status=archived`.
 */
import { ConnectorError } from '../types';
import type { MailchimpClient } from './client';
import { isoSeconds } from '../timestamps';

/** A second: `since_last_changed` may leave out the second it names. */
export const mailchimpLookbackMs = 1000;
/** "Maximum value is 1000" (count). */
export const maxPageSize = 1000;
/** A listing that never ends is a bug, not a big audience. */
const maxPages = 100_000;

export interface MemberWindow {
  /** Members changed after this (exclusive, whole seconds); null: from the first. */
  since: Date | null;
  /** Members changed before this (whole seconds). */
  before: Date;
  /** `archived`, or null for every other status. */
  status: 'archived' | null;
}

/** The raw members of one window, page by page, stepping back over members that left it between two pages. */
export async function* readWindow(client: MailchimpClient, listId: string, window: MemberWindow, pageSize: number): AsyncGenerator<Array<Record<string, unknown>>> {
  const count = Math.min(maxPageSize, Math.max(1, pageSize));
  const query: Record<string, string | number> = { count, sort_field: 'last_changed', sort_dir: 'ASC', before_last_changed: mailchimpTime(window.before) };
  if (window.since) query.since_last_changed = mailchimpTime(window.since);
  if (window.status) query.status = window.status;
  let offset = 0;
  let knownTotal: number | null = null;
  for (let page = 0; page < maxPages; page++) {
    const body = await client.json('GET', `/lists/${encodeURIComponent(listId)}/members`, { query: { ...query, offset } });
    const members = Array.isArray(body.members) ? (body.members as unknown[]).filter((member): member is Record<string, unknown> => typeof member === 'object' && member !== null) : null;
    if (members === null || typeof body.total_items !== 'number') throw new ConnectorError(`GET /lists/${listId}/members: expected "members" and "total_items", got ${Object.keys(body).join(', ') || 'nothing'}`);
    yield members;
    const total = body.total_items;
    const left = knownTotal === null ? 0 : knownTotal - total;
    knownTotal = total;
    if (left > 0) {
      offset = Math.max(0, offset - left);
      continue;
    }
    offset += members.length;
    if (members.length === 0 || offset >= total) return;
  }
  throw new ConnectorError(`GET /lists/${listId}/members: the listing did not end after ${maxPages} pages`);
}

/** Mailchimp's time format for parameters: "2015-10-21T15:41:36+00:00". */
export function mailchimpTime(time: Date): string {
  return isoSeconds(time.getTime()).replace(/Z$/, '+00:00');
}
