/**
 * "List repository issues": query parameters, filtering, ordering, pages and the Link header.
 * Parameters, defaults and enums are those of operation issues/list-for-repo in github/rest-api-description.
 */
import { ApiError, validationFailed, docs, type ValidationErrorItem } from './api-error';
import { hashToUnit, type Random } from './seeded-random';
import type { IssueRecord, RepoStore } from './store';

/**
 * How issues with equal sort keys come out. GitHub documents no order among ties and updated_at has one-second
 * resolution, so ties are ordinary. `per-request` draws a new order on every request (a later page may repeat or
 * skip a tied issue); `fixed` draws one order per seed; `stable` breaks ties by number, the same way as the sort.
 */
export type TieOrder = 'per-request' | 'fixed' | 'stable';

/**
 * How the pages of a listing are reached. `numbered`: `page=N` to any depth, the Link header naming page numbers (the
 * docs' example, the recorded "paginate-issues" scenario). `cursor`: what GitHub serves a large repository since 2025:
 * the Link header's next page carries an `after` cursor beside the page number, and `page` alone is refused deep in
 * the listing (see {@link cursorPage}); "The header carries GitHub's `after` cursor on large datasets and plain page
 * links otherwise" (wshm-dev/wshm#133).
 */
export type Pagination = 'numbered' | 'cursor';

export interface ListingQuirks {
  tieOrder: TieOrder;
  /**
   * `since`: "Only show results that were last updated after the given time" (parameter `since`). The older
   * developer.github.com wording was "Only issues updated at or after this time are returned", and GitHub
   * keeps that inclusive behaviour; `false` makes it strictly after.
   */
  sinceInclusive: boolean;
  pagination: Pagination;
  /**
   * In `cursor` pagination, how many positions `page=N` reaches: a page whose last position (page × per_page) is at or
   * past it is refused. 10,000 as observed with per_page=100: page 99 answered, page 100 refused (google/go-github#3565,
   * cooperspencer/gickup#334, josegonzalez/python-github-backup#449). UNCONFIRMED for other page sizes, and for a
   * listing shorter than that (facebook/react answered page=9999 with the 422).
   */
  pageWindow: number;
}

export interface IssuePage {
  items: IssueRecord[];
  /** The Link header value, or null when everything fits on one page (docs: "the link header will be omitted"). */
  link: string | null;
}

const states = ['open', 'closed', 'all'];
const sorts = ['created', 'updated', 'comments'];
const directions = ['asc', 'desc'];

/** Filters, orders and cuts one page; `linkBase` is the absolute URL the Link entries are built on. */
export function listIssues(
  repo: RepoStore,
  query: URLSearchParams,
  linkBase: string,
  quirks: ListingQuirks,
  random: Random,
  seed: number,
): IssuePage {
  const { state, sort, direction, since } = listingQuery(query);
  let issues = repo.presentIssues();
  if (state !== 'all') issues = issues.filter((issue) => issue.state === state);
  if (since !== null) {
    issues = issues.filter((issue) => (quirks.sinceInclusive ? issue.updatedAt * 1000 >= since : issue.updatedAt * 1000 > since));
  }
  issues = issues.filter((issue) => matchesFilters(repo, issue, query));

  const key = (issue: IssueRecord) => (sort === 'created' ? issue.createdAt : sort === 'updated' ? issue.updatedAt : issue.comments);
  const sign = direction === 'asc' ? 1 : -1;
  const tieKey = new Map<number, number>();
  for (const issue of issues) {
    // A cursor names the last issue by its sort value and id, so a listing paged by cursor orders ties by id.
    if (quirks.pagination === 'cursor') tieKey.set(issue.number, sign * issue.id);
    else tieKey.set(issue.number, quirks.tieOrder === 'per-request' ? random() : quirks.tieOrder === 'fixed' ? hashToUnit(seed, issue.id) : sign * issue.number);
  }
  issues.sort((a, b) => sign * (key(a) - key(b)) || (tieKey.get(a.number) ?? 0) - (tieKey.get(b.number) ?? 0));

  // per_page: "The number of results per page (max 100)", default 30; page: default 1. Values out of range are
  // clamped rather than refused, as GitHub does.
  const perPageRaw = Number.parseInt(query.get('per_page') ?? '', 10);
  const perPage = Number.isNaN(perPageRaw) || perPageRaw < 1 ? 30 : Math.min(perPageRaw, 100);
  const pageRaw = Number.parseInt(query.get('page') ?? '', 10);
  const page = Number.isNaN(pageRaw) || pageRaw < 1 ? 1 : pageRaw;
  if (quirks.pagination === 'cursor') {
    return cursorPage(issues, { query, linkBase, page, perPage, window: quirks.pageWindow, position: (issue) => [key(issue), issue.id], sign });
  }
  const lastPage = Math.max(1, Math.ceil(issues.length / perPage));
  const items = issues.slice((page - 1) * perPage, page * perPage);
  return { items, link: issues.length <= perPage && page === 1 ? null : linkHeader(linkBase, query, page, lastPage) };
}

/** state, sort, direction and since, or the 422 for values outside the operation's enums. */
function listingQuery(query: URLSearchParams): { state: string; sort: string; direction: string; since: number | null } {
  const errors: ValidationErrorItem[] = [];
  const state = query.get('state') ?? 'open';
  const sort = query.get('sort') ?? 'created';
  const direction = query.get('direction') ?? 'desc';
  // Enum violations: the operation documents a 422 validation_failed answer; which field it names is GitHub's
  // habit of reporting the offending value.
  if (!states.includes(state)) errors.push({ resource: 'Issue', code: 'invalid', field: 'state', value: state });
  if (!sorts.includes(sort)) errors.push({ resource: 'Issue', code: 'invalid', field: 'sort', value: sort });
  if (!directions.includes(direction)) errors.push({ resource: 'Issue', code: 'invalid', field: 'direction', value: direction });
  const sinceText = query.get('since');
  const since = sinceText === null ? null : Date.parse(sinceText);
  if (since !== null && Number.isNaN(since)) errors.push({ resource: 'Issue', code: 'invalid', field: 'since', value: sinceText });
  if (errors.length > 0) throw validationFailed(docs.listIssues, errors);
  return { state, sort, direction, since };
}

/** An issue's place in a listing paged by cursor: its sort value, then its id. */
type CursorPosition = [number, number];

interface CursorPaging {
  query: URLSearchParams;
  linkBase: string;
  page: number;
  perPage: number;
  window: number;
  position: (issue: IssueRecord) => CursorPosition;
  sign: number;
}

/**
 * One page of a listing paged by cursor. `after` resumes after the issue it names, however deep; without it, a page
 * reaching the window is refused with the body GitHub sends (josegonzalez/python-github-backup#429, for
 * `per_page=100&page=100`): {"message": "Pagination with the page parameter is not supported for large datasets,
 * please use cursor based pagination (after/before)", "documentation_url": ".../issues/issues#list-repository-issues",
 * "status": "422"}. The next page's link keeps the query and adds `after` and `page`, as in real answers
 * (`issues?per_page=2&after=Y3Vyc29yOnYy…&page=3`; python-github-backup's tests: `per_page=100&after=ABC123&page=2`).
 * Real cursors decode to "cursor:v2:" and a MessagePack pair, the last issue's sort value and its id; these are the
 * same pair in JSON, as opaque to clients.
 */
function cursorPage(issues: IssueRecord[], paging: CursorPaging): IssuePage {
  const { query, perPage, position } = paging;
  const after = query.get('after');
  let start: number;
  if (after !== null) {
    const cursor = readCursor(after);
    // UNCONFIRMED: GitHub's answer to a cursor it did not make; a 422 naming the parameter, like its other 422s.
    if (!cursor) throw validationFailed(docs.listIssues, [{ resource: 'Issue', code: 'invalid', field: 'after', value: after }]);
    const next = issues.findIndex((issue) => paging.sign * comparePositions(position(issue), cursor) > 0);
    start = next === -1 ? issues.length : next;
  } else {
    if (paging.page * perPage >= paging.window) {
      throw new ApiError(422, 'Pagination with the page parameter is not supported for large datasets, please use cursor based pagination (after/before)', docs.listIssues);
    }
    start = (paging.page - 1) * perPage;
  }
  const items = issues.slice(start, start + perPage);
  const last = items.at(-1);
  if (last === undefined || start + perPage >= issues.length) return { items, link: null };
  const params = new URLSearchParams(query);
  for (const name of ['page', 'after', 'before']) params.delete(name);
  params.append('after', Buffer.from(`cursor:v2:${JSON.stringify(position(last))}`).toString('base64'));
  params.append('page', String(paging.page + 1));
  return { items, link: `<${paging.linkBase}?${params.toString()}>; rel="next"` };
}

/** The position a cursor of {@link cursorPage} names, or null for anything else. */
function readCursor(cursor: string): CursorPosition | null {
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  if (!text.startsWith('cursor:v2:')) return null;
  try {
    const pair = JSON.parse(text.slice('cursor:v2:'.length)) as unknown;
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((value) => Number.isInteger(value))) return null;
    return [pair[0] as number, pair[1] as number];
  } catch {
    return null;
  }
}

function comparePositions(a: CursorPosition, b: CursorPosition): number {
  return a[0] - b[0] || a[1] - b[1];
}

/**
 * Docs, Using pagination › Using link headers: `<url>; rel="prev", <url>; rel="next", <url>; rel="last",
 * <url>; rel="first"` in that order, only the ones that apply; URLs keep the request's query and put `page`
 * last (`?per_page=2&page=2`). Real answers link to /repositories/{id}/issues, as in the docs' example and the
 * recorded "paginate-issues" scenario.
 */
export function linkHeader(base: string, query: URLSearchParams, page: number, lastPage: number): string | null {
  const pageUrl = (n: number) => {
    const params = new URLSearchParams(query);
    params.delete('page');
    params.append('page', String(n));
    return `<${base}?${params.toString()}>`;
  };
  const parts: string[] = [];
  if (page > 1) parts.push(`${pageUrl(page - 1)}; rel="prev"`);
  if (page < lastPage) {
    parts.push(`${pageUrl(page + 1)}; rel="next"`);
    parts.push(`${pageUrl(lastPage)}; rel="last"`);
  }
  if (page > 1) parts.push(`${pageUrl(1)}; rel="first"`);
  return parts.length > 0 ? parts.join(', ') : null;
}

/** milestone, assignee, creator and labels filters, with the `*` and `none` values the parameters document. */
function matchesFilters(repo: RepoStore, issue: IssueRecord, query: URLSearchParams): boolean {
  const milestone = query.get('milestone');
  if (milestone !== null) {
    if (milestone === 'none' ? issue.milestone !== null : milestone === '*' ? issue.milestone === null : issue.milestone !== Number(milestone)) return false;
  }
  const assignee = query.get('assignee');
  if (assignee !== null) {
    const has = issue.assignees.map((login) => login.toLowerCase());
    if (assignee === 'none' ? has.length > 0 : assignee === '*' ? has.length === 0 : !has.includes(assignee.toLowerCase())) return false;
  }
  const creator = query.get('creator');
  if (creator !== null && issue.author.toLowerCase() !== creator.toLowerCase()) return false;
  const labels = query.get('labels');
  if (labels !== null && labels !== '') {
    const names = issue.labelIds.map((id) => repo.label(id).name.toLowerCase());
    if (!labels.split(',').every((name) => names.includes(name.trim().toLowerCase()))) return false;
  }
  return true;
}
