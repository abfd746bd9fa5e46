/**
 * GitHub's "changed since" feed of a repository's issues, read so that nothing is lost, for {@link ChangeFeed}.
 *
 * "List repository issues" with `since`, `sort=updated` and `direction=asc` is GitHub's change feed, but updated_at
 * has one-second resolution and GitHub promises no order among issues updated in the same second, nor that a tie
 * keeps its order from one request to the next; and `page=N` counts positions in a list that moves while it is read.
 * Following `page=2, 3, …` of one query could therefore skip an issue at a page boundary twice over: a tie drawn in
 * another order, or an issue edited meanwhile that moved to the end and shifted the rest one place up.
 *
 * So each query starts again from the newest second read completely (`since` is inclusive, so that second's issues
 * come first and are dropped as already read; were it exclusive, nothing is lost either). Only a tie of a page or more
 * is read across pages, and there the positions it fills are counted: pages are read again until as many distinct
 * issues are known at that second as it has positions.
 *
 * Such a tie is the one reason to read past the first page, and it may be longer than page numbers reach: GitHub
 * refuses `page=100` of 100 in a large listing (422 "Pagination with the page parameter is not supported for large
 * datasets, please use cursor based pagination (after/before)") and links its next pages by an `after` cursor instead.
 * A later page is asked for by that cursor whenever GitHub gave one, so no tie is too long to be read whole.
 */
import type { ChangeFeedSource } from '../saas/changeFeed';
import { ConnectorError, type SourceRecord } from '../types';
import type { IssuePage, PageRequest } from './client';
import { isPullRequest, issueRecord, type IssueJson } from './issues';
import { isoSeconds } from '../timestamps';

/**
 * How far before the cursor a listing starts: a second for a `since` that turned out exclusive (the docs say "after",
 * GitHub has answered "at or after"), and a margin for an update that becomes visible to the list a moment after its
 * updated_at (GitHub reads from replicas). The engine drops what it already has at the same version.
 */
export const issuesLookbackMs = 5_000;

/** A tie read this many times without every one of its issues turning up is a listing that keeps changing. */
const maxRounds = 20;

/** Reads one page of the query `since` (whole seconds, ISO 8601) — or of every issue, for null. */
export type IssuePageReader = (since: string | null, page: PageRequest) => Promise<IssuePage>;

/** The issues of one repository as a change feed whose pages have no dependable order. */
export class IssueChanges implements ChangeFeedSource {
  readonly lookbackMs = issuesLookbackMs;

  constructor(private readonly readPage: IssuePageReader) {}

  async *changedSince(since: Date | null): AsyncIterable<readonly SourceRecord[]> {
    let query = since === null ? null : isoSeconds(since);
    // Every issue updated at or before `done` has been read.
    let done: string | null = null;
    for (;;) {
      const step = await this.readPrefix(query, done);
      const records: SourceRecord[] = [];
      for (const item of step.items) {
        if (isPullRequest(item)) continue;
        records.push(issueRecord(item));
      }
      if (records.length > 0) yield records;
      if (step.done === null) break;
      done = step.done;
      query = done;
    }
  }

  /**
   * Reads the query `since` from its first page until at least one second after `done` is complete: returns the
   * issues updated after `done` that it saw, and the newest complete second, or null when the listing ended.
   */
  private async readPrefix(since: string | null, done: string | null): Promise<{ items: IssueJson[]; done: string | null }> {
    const fresh = (item: IssueJson) => done === null || item.updated_at > done;
    // Every issue seen after `done` in any round, at the newest updated_at it was seen with.
    const known = new Map<number, IssueJson>();
    for (let round = 0; round < maxRounds; round++) {
      const listed: IssueJson[] = [];
      let ended = false;
      let after: string | null = null;
      for (let page = 1; ; page++) {
        const answer = await this.readPage(since, { page, after });
        after = answer.after;
        listed.push(...answer.items);
        const last = answer.items.at(-1);
        if (!answer.hasNext || last === undefined) {
          ended = true;
          break;
        }
        // A second older than the last issue read is complete: its issues all lie in the positions read so far.
        if (listed.some((item) => fresh(item) && item.updated_at < last.updated_at)) break;
      }
      const limit = ended ? null : (listed.at(-1) as IssueJson).updated_at;
      const positions = new Map<string, number>();
      for (const item of listed) {
        if (!fresh(item)) continue;
        const seen = known.get(item.number);
        if (!seen || seen.updated_at <= item.updated_at) known.set(item.number, item);
        if (limit === null || item.updated_at < limit) positions.set(item.updated_at, (positions.get(item.updated_at) ?? 0) + 1);
      }
      // Within one answer a tie is whole; across answers its issues may have been drawn in other orders, so each
      // complete second must be filled by as many distinct issues as it has positions.
      const distinct = new Map<string, number>();
      for (const item of known.values()) if (positions.has(item.updated_at)) distinct.set(item.updated_at, (distinct.get(item.updated_at) ?? 0) + 1);
      if ([...positions].every(([second, count]) => (distinct.get(second) ?? 0) >= count)) {
        if (ended) return { items: [...known.values()], done: null };
        // Not empty: the pages were read until a fresh second older than the last one showed.
        const newestComplete = [...positions.keys()].sort().at(-1) as string;
        return { items: [...known.values()], done: newestComplete };
      }
    }
    throw new ConnectorError(
      `listing the issues changed since ${since ?? 'the start'}: a run of issues updated in the same second came back incomplete ${maxRounds} times (the list kept changing while it was read); the next pass reads it again`,
      { retryable: true },
    );
  }
}
