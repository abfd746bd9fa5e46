import { invalidIncrementalParameter, tooRecentStartTime } from './responses';

/**
 * Paging rules of the Incremental Exports API, on any list of records with an ordering timestamp.
 *
 * Sources: "Incremental Exports", https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
 * (JSON Format, Query String Parameters: start_time, cursor, per_page, exclude_deleted) and "Using the
 * Incremental Exports API", https://developer.zendesk.com/documentation/ticketing/managing-tickets/using-the-incremental-export-api/
 * (Cursor-based incremental exports, Time-based incremental exports).
 */

/** A record as the export sees it: its id and the seconds it sorts by (`generated_timestamp` for tickets, `updated_at` for users). */
export interface ExportEntry {
  id: number;
  timestamp: number;
}

export interface ExportQuery {
  startTime: string | null;
  cursor: string | null;
  perPage: string | null;
}

/**
 * "To prevent race conditions, the ticket and ticket event export endpoints will not return data for the most
 * recent minute" (Query String Parameters, start_time); announced in "Announcing a new limit for the Incremental
 * Export API", https://support.zendesk.com/hc/en-us/articles/8143500919322 (October 2024). The users endpoints
 * document the same "Data isn't provided for the most recent minute" in their parameter tables.
 */
export const recentMinuteExcluded = 60;

/**
 * The cursor format visible in the docs' own example: "MTU3NjYxMzUzOS4wfHw0Njd8" is base64 of
 * "1576613539.0||467|" — a timestamp and the id of the last record returned. Clients must treat it as opaque.
 */
export function encodeCursor(entry: ExportEntry): string {
  return Buffer.from(`${entry.timestamp}.0||${entry.id}|`).toString('base64');
}

export function decodeCursor(cursor: string): ExportEntry {
  const match = /^(\d+)\.0\|\|(\d+)\|$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  if (!match) throw invalidIncrementalParameter('Invalid cursor');
  return { timestamp: Number(match[1]), id: Number(match[2]) };
}

/** per_page: "up to a maximum of 1,000. If the parameter is not specified, the default number is 1,000." */
export function pageSize(perPage: string | null): number {
  const size = perPage === null ? NaN : Number(perPage);
  if (!Number.isInteger(size) || size < 1) return 1000;
  return Math.min(size, 1000);
}

/** Parses and checks `start_time`: an integer of epoch seconds at least a minute in the past. */
export function parseStartTime(startTime: string | null, nowSeconds: number): number {
  if (startTime === null || !/^\d+$/.test(startTime)) throw invalidIncrementalParameter('start_time is required and must be a Unix epoch time in seconds');
  const seconds = Number(startTime);
  // "The time must be more than one minute in the past to avoid missing data" (start_time).
  if (seconds > nowSeconds - recentMinuteExcluded) throw tooRecentStartTime();
  return seconds;
}

const byExportOrder = (a: ExportEntry, b: ExportEntry): number => a.timestamp - b.timestamp || a.id - b.id;

export interface CursorPage {
  ids: number[];
  afterCursor: string | null;
  endOfStream: boolean;
}

/**
 * One page of a cursor-based export. `visibleUntil` is the newest timestamp the export may show (now minus the
 * excluded minute minus any configured lag).
 *
 * At the end of the stream the response still carries an `after_cursor` — the docs' example response has
 * `"end_of_stream": true` next to a non-null `after_cursor`, and "Cursor-based incremental exports" tells
 * clients to keep it for the next export. Asking again with it returns no records and the same cursor; a
 * client that follows `after_url` without checking `end_of_stream` never stops.
 *
 * A start_time request that finds nothing returns no cursor at all (community report: "If no records are
 * returned … the API doesn't return a cursor in this case", Zendesk community, "Incremental exports with
 * recovery", 2025).
 */
export function cursorPage(entries: ExportEntry[], query: ExportQuery, nowSeconds: number, visibleUntil: number): CursorPage {
  let after: (entry: ExportEntry) => boolean;
  if (query.cursor !== null && query.cursor !== '') {
    const position = decodeCursor(query.cursor);
    after = (entry) => byExportOrder(entry, position) > 0;
  } else {
    const start = parseStartTime(query.startTime, nowSeconds);
    // "The API will return all the items that were created or changed on or after the start time."
    after = (entry) => entry.timestamp >= start;
  }
  const remaining = entries.filter((entry) => entry.timestamp <= visibleUntil && after(entry)).sort(byExportOrder);
  const page = remaining.slice(0, pageSize(query.perPage));
  const last = page.at(-1);
  const afterCursor = last ? encodeCursor(last) : query.cursor ? query.cursor : null;
  return { ids: page.map((entry) => entry.id), afterCursor, endOfStream: remaining.length <= page.length };
}

export interface TimePage {
  ids: number[];
  endTime: number;
  endOfStream: boolean;
}

/**
 * One page of a time-based export. The next page starts at `end_time`, inclusive, so the records that share the
 * last timestamp come back again ("Excluding duplicate items" in Using the Incremental Exports API: time-based
 * exports may contain duplicates). A page runs past per_page to keep records that share the last timestamp
 * together: "In time-based exports, the system may exceed the 1000-item default return limit if items share the
 * same timestamp" (per_page note).
 */
export function timePage(entries: ExportEntry[], query: ExportQuery, nowSeconds: number, visibleUntil: number): TimePage {
  const start = parseStartTime(query.startTime, nowSeconds);
  const remaining = entries.filter((entry) => entry.timestamp >= start && entry.timestamp <= visibleUntil).sort(byExportOrder);
  let size = Math.min(pageSize(query.perPage), remaining.length);
  while (size > 0 && size < remaining.length && remaining[size]!.timestamp === remaining[size - 1]!.timestamp) size++;
  const page = remaining.slice(0, size);
  return {
    ids: page.map((entry) => entry.id),
    endTime: page.at(-1)?.timestamp ?? start,
    endOfStream: remaining.length <= page.length,
  };
}
