/**
 * The GitHub REST client of one connection: `@octokit/rest` with GitHub's own throttling (`@octokit/plugin-throttling`:
 * writes spaced as GitHub recommends, rate limits waited out) and retries of server errors (`@octokit/plugin-retry`),
 * calling through the operator's host policy (`guardedFetch`). Failures are read the way GitHub's documentation
 * describes them and turned into what the engine understands: a rate limit is a {@link RateLimitedError}, never a
 * credential problem.
 */
import { createHash } from 'node:crypto';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { linkTarget } from '../http/pagination';
import { accessRefusalOf } from '../network';
import { ConnectorError, RateLimitedError } from '../types';
import type { IssueJson, IssueWrite } from './issues';

/**
 * @octokit/request reports a fetch that failed as status 500, which plugin-retry retries (1, 4 and 9 seconds later).
 * A connection the operator's host policy refused will be refused again: it leaves as the policy's own error, which is
 * not an HTTP error and so is not retried. Placed before `retry`, this hook sees the error first.
 */
function refusalsAreFinal(octokit: Pick<Octokit, 'hook'>): void {
  octokit.hook.error('request', (error: unknown) => {
    throw accessRefusalOf(error) ?? error;
  });
}

const SynclineOctokit = Octokit.plugin(throttling, refusalsAreFinal, retry);
type OctokitClient = InstanceType<typeof SynclineOctokit>;

/** The REST API version every request asks for (docs: API Versions), so answers keep the shapes this connector reads. */
export const apiVersion = '2022-11-28';
/** "The number of results per page (max 100)" (List repository issues). */
export const issuesPerPage = 100;

export interface GitHubClientOptions {
  baseUrl: string;
  token: string;
  /** `owner/name`. */
  repo: string;
  /** The stored credential's name, for messages. */
  credential: string;
  fetch: typeof fetch;
  /** Rate limits that lift within this many seconds are waited out; longer ones end the pass. */
  maxWaitSeconds: number;
  signal: AbortSignal;
}

/** One page of "List repository issues", pull requests included, as GitHub sent it. */
export interface IssuePage {
  items: IssueJson[];
  /** GitHub's Link header has a `next` page. */
  hasNext: boolean;
  /** The `after` cursor of that next page, when GitHub pages this listing by cursor; else null. */
  after: string | null;
}

/** Where a page of a listing is: its number, and the cursor GitHub gave for it, if any. */
export interface PageRequest {
  page: number;
  after?: string | null;
  perPage?: number;
}

/** What became of a request for one issue. */
export type IssueAnswer =
  | { kind: 'issue'; issue: IssueJson }
  /** 404, or moved to another repository (301). */
  | { kind: 'missing' }
  /** 410: "If the issue was deleted from a repository where the authenticated user has read access". */
  | { kind: 'gone' };

/** A failed call, as GitHub's documentation classifies it. */
export type GitHubFailure =
  | { kind: 'rate-limited'; resumeAt: Date; detail: string }
  | { kind: 'unauthorized'; message: string }
  | { kind: 'not-found'; message: string }
  | { kind: 'gone'; message: string }
  /** 410 for the whole repository: "If issues are disabled in the repository, the API returns a `410 Gone` status". */
  | { kind: 'disabled'; message: string }
  | { kind: 'forbidden'; message: string }
  | { kind: 'invalid'; status: number; message: string }
  | { kind: 'server'; status: number; message: string; retryAfterMs?: number }
  | { kind: 'network'; message: string; refused: boolean };

/** The calls the connector makes, on one repository. */
export class GitHubClient {
  readonly owner: string;
  readonly repo: string;
  private readonly octokit: OctokitClient;

  constructor(readonly options: GitHubClientOptions) {
    const [owner = '', repo = ''] = options.repo.split('/');
    this.owner = owner;
    this.repo = repo;
    const maxWait = options.maxWaitSeconds;
    const signal = options.signal;
    this.octokit = new SynclineOctokit({
      auth: options.token,
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      userAgent: 'syncline',
      request: { fetch: options.fetch, signal },
      headers: { 'x-github-api-version': apiVersion },
      // Expected answers (404 for a missing issue, 410 for a deleted one) are not worth a log line each.
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      throttle: {
        // Writes are spaced per account and host (GitHub: "wait at least one second between each request"), across
        // every connector of this process that uses the same token.
        id: `syncline:${createHash('sha256').update(`${options.baseUrl}\u0000${options.token}`).digest('hex').slice(0, 24)}`,
        onRateLimit: (retryAfter: number, _request: unknown, _octokit: unknown, retryCount: number) => !signal.aborted && retryAfter <= maxWait && retryCount < 2,
        onSecondaryRateLimit: (retryAfter: number, _request: unknown, _octokit: unknown, retryCount: number) => !signal.aborted && retryAfter <= maxWait && retryCount < 3,
      },
      // Server errors are retried (1, 4 and 9 seconds apart); a 429 is a rate limit, which the throttling plugin
      // alone decides about.
      retry: { doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
    });
  }

  /**
   * One page of the repository's issues and pull requests changed at or after `since`, oldest change first (docs:
   * List repository issues, `since`, `sort=updated`, `direction=asc`, `state=all`). A redirect means the repository
   * itself moved (renamed or transferred, docs: Best practices › Follow redirects): its issues are not gone, the
   * connection names an old address, so the pass stops and says so rather than read issues as missing.
   *
   * A page with a cursor is asked for as GitHub's Link header names it, `after` beside the page number: GitHub refuses
   * `page` alone deep in a large listing (422 "Pagination with the page parameter is not supported for large datasets,
   * please use cursor based pagination (after/before)", at page 100 of 100: google/go-github#3565), and a cursor
   * reaches any depth.
   */
  async listIssues(since: string | null, { page, after = null, perPage = issuesPerPage }: PageRequest): Promise<IssuePage> {
    const response = await this.octokit.rest.issues.listForRepo({
      owner: this.owner,
      repo: this.repo,
      state: 'all',
      sort: 'updated',
      direction: 'asc',
      per_page: perPage,
      ...(since === null ? {} : { since }),
      ...(after === null ? {} : { after }),
      page,
      request: { redirect: 'manual' },
    });
    const status = response.status as number;
    if (status >= 300 && status < 400) {
      throw new ConnectorError(
        `GitHub answers that repository "${this.options.repo}" moved (${status} to ${String(response.headers.location ?? 'another address')}): it was renamed or transferred; set connection.repo to its new owner/name`,
      );
    }
    const next = linkTarget(response.headers.link ?? null, 'next');
    return { items: response.data as unknown as IssueJson[], hasNext: next !== null, after: afterCursor(next) };
  }

  async getIssue(number: number): Promise<IssueAnswer> {
    return this.issueRequest('GET', number);
  }

  /** "Create an issue" takes no state; an absent body and a null one are the same there. */
  /**
   * "Create an issue" is a POST with no idempotency key: a server error or a lost answer does not mean no issue was
   * made, so it is sent once (the retry plugin would send it up to three times more). Rate limits, which GitHub
   * answers before doing anything, are still waited out by the throttling plugin.
   */
  async createIssue(fields: Omit<IssueWrite, 'state' | 'state_reason'> & { title: string }): Promise<IssueJson> {
    const { body, ...rest } = fields;
    const response = await this.octokit.rest.issues.create({ owner: this.owner, repo: this.repo, ...rest, ...(typeof body === 'string' ? { body } : {}), request: { retries: 0 } });
    return response.data as unknown as IssueJson;
  }

  async updateIssue(number: number, body: IssueWrite): Promise<IssueAnswer> {
    return this.issueRequest('PATCH', number, body);
  }

  /**
   * GET or PATCH one issue, never following a redirect: GitHub answers 301 for an issue transferred to another
   * repository (docs: Get an issue), and a PATCH must not reach the issue the transfer made there. The issue is then
   * missing from this repository; the caller checks that the repository itself did not move before saying so.
   */
  private async issueRequest(method: 'GET' | 'PATCH', number: number, body?: IssueWrite): Promise<IssueAnswer> {
    let response;
    try {
      response = await this.octokit.request(`${method} /repos/{owner}/{repo}/issues/{issue_number}`, {
        owner: this.owner,
        repo: this.repo,
        issue_number: number,
        ...body,
        request: { redirect: 'manual' },
      });
    } catch (error) {
      const failure = classifyFailure(error);
      if (failure?.kind === 'not-found') return { kind: 'missing' };
      if (failure?.kind === 'gone') return { kind: 'gone' };
      throw error;
    }
    const status = response.status as number;
    if (status >= 300 && status < 400) return { kind: 'missing' };
    return { kind: 'issue', issue: response.data as unknown as IssueJson };
  }

  /** A connector-level error for a failed read: what the engine shows, or a {@link RateLimitedError}. */
  readError(error: unknown, what: string): Error {
    const failure = classifyFailure(error);
    if (!failure) return error instanceof Error ? error : new Error(String(error));
    const { repo, credential } = this.options;
    switch (failure.kind) {
      case 'rate-limited':
        return new RateLimitedError('GitHub', failure.resumeAt, failure.detail);
      case 'unauthorized':
        return new ConnectorError(unauthorizedMessage(credential), { cause: error });
      case 'not-found':
        return new ConnectorError(repositoryNotFoundMessage(repo, credential), { cause: error });
      case 'forbidden':
        return new ConnectorError(`${what}: GitHub refused it (403 ${failure.message}); the token of credential "${credential}" needs Issues read and write on ${repo}`, { cause: error });
      case 'disabled':
        return new ConnectorError(`${what}: ${issuesDisabledMessage(repo, failure.message)}`, { cause: error });
      case 'gone':
      case 'invalid':
        return new ConnectorError(`${what}: GitHub answered ${failure.kind === 'gone' ? 410 : failure.status} ${failure.message}`, { cause: error });
      case 'server':
        return new ConnectorError(`${what}: GitHub answered ${failure.status} ${failure.message}; the next pass tries again`, { retryable: true, cause: error });
      case 'network':
        return new ConnectorError(`${what}: ${failure.refused ? '' : `cannot reach GitHub at ${this.options.baseUrl}: `}${failure.message}`, { retryable: !failure.refused, cause: error });
    }
  }
}

/** The `after` parameter of the next page's URL, or null when it has none (a listing paged by number). */
function afterCursor(next: string | null): string | null {
  if (next === null) return null;
  try {
    return new URL(next).searchParams.get('after');
  } catch {
    return null;
  }
}

/** Why nothing of the repository's issues can be read or written, and that none of them is taken for deleted. */
export function issuesDisabledMessage(repo: string, message: string): string {
  return `GitHub answers that Issues are turned off for ${repo} (410 ${message}): no issue is read as deleted meanwhile; turn Issues on again (Settings › General › Features) or pause this flow`;
}

export function unauthorizedMessage(credential: string): string {
  return `GitHub refused the token (401 Bad credentials): the token in credential "${credential}" is wrong, expired or revoked; store a current one (a fine-grained token with Issues read and write, or a classic token with the repo scope)`;
}

export function repositoryNotFoundMessage(repo: string, credential: string): string {
  return `GitHub repository "${repo}" not found, or the token cannot see it (GitHub answers 404, not 403, for a private repository the token has no access to): check connection.repo and the repository access of the token in credential "${credential}"`;
}

interface HttpErrorLike {
  name: string;
  status: number;
  message: string;
  response?: { headers: Record<string, string | number | undefined>; data: unknown };
}

function isHttpError(error: unknown): error is HttpErrorLike {
  return error instanceof Error && error.name === 'HttpError' && typeof (error as { status?: unknown }).status === 'number';
}

/** GitHub's own message in an error body (`message`, and the `errors` of a 422), without the documentation link. */
export function gitHubMessage(error: HttpErrorLike): string {
  const data = error.response?.data;
  if (data && typeof data === 'object' && typeof (data as { message?: unknown }).message === 'string') {
    const { message, errors } = data as { message: string; errors?: unknown };
    if (!Array.isArray(errors) || errors.length === 0) return message;
    const details = errors.map((item) => {
      if (typeof item === 'string') return item;
      const entry = item as { field?: unknown; code?: unknown; message?: unknown; value?: unknown };
      if (typeof entry.message === 'string') return entry.message;
      return [entry.field, entry.code].filter((part) => part !== undefined).join(' ') + (entry.value === undefined ? '' : ` (${JSON.stringify(entry.value)})`);
    });
    return `${message}: ${details.join('; ')}`;
  }
  return error.message;
}

/**
 * What a failed call means, following GitHub's documentation (Rate limits for the REST API › Exceeding the rate
 * limit; Troubleshooting the REST API): null for errors that are not GitHub's answers.
 */
export function classifyFailure(error: unknown, now: Date = new Date()): GitHubFailure | null {
  if (!isHttpError(error)) return null;
  const headers = error.response?.headers ?? {};
  const header = (name: string): string | undefined => {
    const value = headers[name];
    return value === undefined ? undefined : String(value);
  };
  if (!error.response) {
    // @octokit/request reports a fetch that failed (no answer at all) as status 500 without a response.
    const refusal = accessRefusalOf(error);
    return { kind: 'network', message: refusal ? refusal.message : error.message, refused: refusal !== null };
  }
  const status = error.status;
  const message = gitHubMessage(error);
  if (status === 403 || status === 429) {
    // "If the retry-after response header is present, you should not retry your request until after that many
    // seconds has elapsed. If the x-ratelimit-remaining header is 0, you should not retry your request until after
    // the time, in UTC epoch seconds, specified by the x-ratelimit-reset header." Otherwise a secondary limit says so
    // in its message, and GitHub asks for at least a minute.
    const retryAfter = Number(header('retry-after'));
    const remaining = header('x-ratelimit-remaining');
    const reset = Number(header('x-ratelimit-reset'));
    if (header('retry-after') !== undefined && Number.isFinite(retryAfter)) {
      return { kind: 'rate-limited', resumeAt: new Date(now.getTime() + Math.max(retryAfter, 0) * 1000), detail: `${status} ${message}; retry-after ${retryAfter} s` };
    }
    if (remaining === '0' && Number.isFinite(reset)) {
      return { kind: 'rate-limited', resumeAt: new Date((reset + 1) * 1000), detail: `${status} ${message}; the hourly budget of ${header('x-ratelimit-limit') ?? '?'} requests is spent until its reset` };
    }
    if (/secondary rate limit/i.test(message)) {
      return { kind: 'rate-limited', resumeAt: new Date(now.getTime() + 60_000), detail: `${status} ${message}` };
    }
    if (status === 403) return { kind: 'forbidden', message };
  }
  if (status === 401) return { kind: 'unauthorized', message };
  if (status === 404) return { kind: 'not-found', message };
  // One status for two meanings: a deleted issue, and Issues turned off for the repository, which leaves every issue
  // out of reach without deleting any. Only GitHub's message tells them apart.
  if (status === 410) return /^issues are disabled/i.test(message) ? { kind: 'disabled', message } : { kind: 'gone', message };
  if (status >= 500) {
    const retryAfter = Number(header('retry-after'));
    return { kind: 'server', status, message, ...(header('retry-after') !== undefined && Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter * 1000 } : {}) };
  }
  return { kind: 'invalid', status, message };
}
