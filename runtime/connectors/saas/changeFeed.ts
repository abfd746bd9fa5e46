/**
 * Change feeds of SaaS systems, made to meet the connector contract (ordered by version then id, resumable by
 * position) without any sort promise from the system. Systems list "changed since" with ties in no order (GitHub's
 * `since`), with the same record twice (Zendesk's exports), from a search index that lags (HubSpot's search, about
 * five minutes), or exclusively (Mailchimp's `since_last_changed`). So a listing reads the whole window from a little
 * before the cursor (`lookbackMs`), following the system's own pages or cursor until it says the stream ended, keeps
 * the latest version of each record, and serves it sorted. Records from the lookback that the engine already has
 * are harmless: it drops those equal to their shadow and those it has seen at the cursor's exact version.
 */
import { compareVersions } from '../versions';
import type { ListPage, ListPosition, SourceRecord, Version } from '../types';

export interface ChangeFeedSource {
  /**
   * Every record changed at or after `since` (all records when null), in pages as the system hands them out: any
   * order, repeats allowed. Ends when the system says the stream ended.
   */
  changedSince(since: Date | null): AsyncIterable<readonly SourceRecord[]>;
  /** How far before the cursor a listing starts: the system's index lag, plus a second for exclusive filters. */
  lookbackMs: number;
  /** Order of ids within one version; default: numeric ids as numbers, then by code unit. */
  compareIds?(a: string, b: string): number;
}

/** The time a version stands for, for systems whose versions are timestamps (ISO text or epoch milliseconds). */
export function versionDate(version: Version): Date | null {
  const time = typeof version === 'number' ? version : Date.parse(version);
  return Number.isFinite(time) ? new Date(time) : null;
}

export function compareRecordIds(a: string, b: string): number {
  const numeric = /^\d+$/;
  if (numeric.test(a) && numeric.test(b)) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Serves `listSince` from a {@link ChangeFeedSource}. A position without `afterId` starts a listing: the window is
 * read whole, once; later pages of the same listing (positions the feed handed out) are served from it. A listing of
 * more than one page reads its tail once more when it reaches the end, from the last position handed out, so what
 * changed while the engine paged through it is listed now rather than by the next pass: one more read of the system,
 * only for listings longer than a page.
 */
export class ChangeFeed {
  private window: { since: Version | null; records: SourceRecord[]; tailRead: boolean } | null = null;

  constructor(private readonly source: ChangeFeedSource) {}

  async listSince(position: ListPosition, limit: number): Promise<ListPage> {
    if (position.afterId === null || !this.window) this.window = { since: position.since, records: await this.read(position.since), tailRead: position.afterId !== null };
    let page = this.serve(this.window.records, position, limit);
    if (position.afterId !== null && page.next === null && !this.window.tailRead) {
      this.window = { since: position.since, records: await this.read(position.since), tailRead: true };
      page = this.serve(this.window.records, position, limit);
    }
    return page;
  }

  private serve(records: readonly SourceRecord[], position: ListPosition, limit: number): ListPage {
    const compareIds = this.source.compareIds ?? compareRecordIds;
    // A new listing starts at the window's first record, lookback included: records before `since` that the
    // system's lag or unordered ties hid last time. A later page starts after the position it was handed.
    let first = 0;
    if (position.afterId !== null) {
      const afterId = position.afterId;
      let high = records.length;
      while (first < high) {
        const middle = (first + high) >>> 1;
        const record = records[middle] as SourceRecord;
        if ((compareVersions(record.version, position.since) || compareIds(record.id, afterId)) > 0) high = middle;
        else first = middle + 1;
      }
    }
    const page = records.slice(first, first + limit);
    const last = page.at(-1);
    return { records: page, next: first + limit < records.length && last ? { since: last.version, afterId: last.id } : null };
  }

  private async read(since: Version | null): Promise<SourceRecord[]> {
    const from = since === null ? null : versionDate(since);
    const start = from ? new Date(from.getTime() - this.source.lookbackMs) : null;
    const latest = new Map<string, SourceRecord>();
    for await (const page of this.source.changedSince(start)) {
      for (const record of page) {
        const known = latest.get(record.id);
        if (!known || compareVersions(record.version, known.version) >= 0) latest.set(record.id, record);
      }
    }
    const compareIds = this.source.compareIds ?? compareRecordIds;
    return [...latest.values()].sort((a, b) => compareVersions(a.version, b.version) || compareIds(a.id, b.id));
  }
}
