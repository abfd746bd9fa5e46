/**
 * "List repository issues": query parameters, filtering, ordering, pages and the Link header.
 * Parameters, defaults and enums are those of operation issues/list-for-repo in github/rest-api-description.
 */
import { validationFailed, docs, type ValidationErrorItem } from './api-error';
import { hashToUnit, type Random } from './seeded-random';
import type { IssueRecord, RepoStore } from './store';

/**
 * How issues with equal sort keys come out. GitHub documents no order among ties and updated_at has one-second
 * resolution, so ties are ordinary. `per-request` draws a new order on every request (a later page may repeat or
 * skip a tied issue); `fixed` draws one order per seed; `stable` breaks ties by number, the same way as the sort.
 */
export type TieOrder = 'per-request' | 'fixed' | 'stable';

export interface ListingQuirks {
  tieOrder: TieOrder;
  /**
   * `since`: "Only show results that were last updated after the given time" (parameter `since`). The older
   * developer.github.com wording was "Only issues updated at or after this time are returned", and GitHub
   * keeps that inclusive behaviour; `false` makes it strictly after.
   */
  sinceInclusive: boolean;
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
    tieKey.set(
      issue.number,
      quirks.tieOrder === 'per-request' ? random() : quirks.tieOrder === 'fixed' ? hashToUnit(seed, issue.id) : sign * issue.number,
    );
  }
  issues.sort((a, b) => sign * (key(a) - key(b)) || (tieKey.get(a.number) ?? 0) - (tieKey.get(b.number) ?? 0));

  // per_page: "The number of results per page (max 100)", default 30; page: default 1. Values out of range are
  // clamped rather than refused, as GitHub does.
  const perPageRaw = Number.parseInt(query.get('per_page') ?? '', 10);
  const perPage = Number.isNaN(perPageRaw) || perPageRaw < 1 ? 30 : Math.min(perPageRaw, 100);
  const pageRaw = Number.parseInt(query.get('page') ?? '', 10);
  const page = Number.isNaN(pageRaw) || pageRaw < 1 ? 1 : pageRaw;
  const lastPage = Math.max(1, Math.ceil(issues.length / perPage));
  const items = issues.slice((page - 1) * perPage, page * perPage);
  return { items, link: issues.length <= perPage && page === 1 ? null : linkHeader(linkBase, query, page, lastPage) };
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
