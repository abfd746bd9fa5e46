/**
 * A stateful fake of GitHub's REST API for the issues of one repository, plus its repository webhooks, on
 * 127.0.0.1. It copies what GitHub documents (docs.github.com REST pages, github/rest-api-description) and
 * what recorded real answers show (@octokit/fixtures, @octokit/webhooks-examples); each behaviour carries a
 * comment naming its source. It is not shaped after any client.
 *
 * Request pipeline, in GitHub's order as far as it can be observed:
 *   User-Agent → API version → credentials → route → private-repo visibility → primary limit →
 *   secondary limit → handler → conditional request (304, free) → charge one request.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from '../../../runtime/seededRandom';
import { readBody } from '../../support/http';
import { ApiError, docs, notFound } from './api-error';
import type { ListingQuirks, Pagination, TieOrder } from './listing';
import { RateLimiter, type RateLimitSettings, type SecondaryLimitSettings } from './rate-limit';
import { issueJson, type Urls } from './representation';
import { createRoutes, type Route, type RouteAnswer } from './routes';
import { Clock, RepoStore, type IssueEvent, type IssuePatch, type Permission, type SeedIssueInput, type StateReason } from './store';
import { issuesPayload, pingPayload } from './webhook-payloads';
import { WebhookDispatcher, type DeliveryRecord, type HookRecord, type ReleaseOrder } from './webhooks';

export type { DeliveryRecord, HookRecord, Pagination, Permission, ReleaseOrder, SeedIssueInput, StateReason, TieOrder };

/**
 * API versions (docs: API Versions). The description ships 2022-11-28 and 2026-03-10; a request without the
 * header gets 2022-11-28 ("Requests without the X-GitHub-Api-Version header will default to use the
 * 2022-11-28 version").
 */
export const supportedApiVersions = ['2026-03-10', '2022-11-28'] as const;
const defaultApiVersion = '2022-11-28';

// A new repository's labels, as listed by the recorded @octokit/fixtures scenario "labels" (all default: true).
const defaultLabels = [
  { name: 'bug', color: 'd73a4a', description: "Something isn't working" },
  { name: 'documentation', color: '0075ca', description: 'Improvements or additions to documentation' },
  { name: 'duplicate', color: 'cfd3d7', description: 'This issue or pull request already exists' },
  { name: 'enhancement', color: 'a2eeef', description: 'New feature or request' },
  { name: 'good first issue', color: '7057ff', description: 'Good for newcomers' },
  { name: 'help wanted', color: '008672', description: 'Extra attention is needed' },
  { name: 'invalid', color: 'e4e669', description: "This doesn't seem right" },
  { name: 'question', color: 'd876e3', description: 'Further information is requested' },
  { name: 'wontfix', color: 'ffffff', description: 'This will not be worked on' },
];

export interface GitHubFakeOptions {
  /** Owner login; default `octo-org`, an organization. */
  owner?: string;
  ownerType?: 'User' | 'Organization';
  /** Repository name; default `hello-world`. */
  repo?: string;
  repositoryId?: number;
  /** Private repositories answer anonymous callers with 404 (Troubleshooting › 404 Not Found for an existing resource). Default true. */
  private?: boolean;
  /** token → login (permission `admin`) or { login, permission }. Users become collaborators with that role. */
  tokens?: Record<string, string | { login: string; permission?: Permission }>;
  /** The clock's source until `clock.set`/`clock.advance` freeze it; default real time. */
  now?: () => Date;
  /** Seeds tie shuffling, delivery GUIDs and anything else random. Default 1. */
  seed?: number;
  /** Base of `html_url` values; default https://github.com. */
  htmlUrl?: string;
  quirks?: Partial<ListingQuirks>;
  /** Start with the nine labels GitHub gives every new repository (default true). */
  defaultLabels?: boolean;
  /** Hourly budgets; defaults 5,000 authenticated and 60 unauthenticated (Rate limits for the REST API). */
  rateLimit?: { authenticated?: number; unauthenticated?: number; primaryStatus?: 403 | 429 };
}

/** One call as the fake saw it. */
export interface RequestLogEntry {
  method: string;
  /** Documented route (`GET /repos/{owner}/{repo}/issues`) or `unmatched`. */
  route: string;
  path: string;
  status: number;
  login: string | null;
  requestId: string;
}

export interface HumanOptions {
  /** Who does it (the webhook `sender`); default the repository owner. */
  actor?: string;
}

/** The running fake and its controls. */
export interface GitHubFake {
  /** http://127.0.0.1:PORT — the `baseUrl` for Octokit. */
  url: string;
  owner: string;
  repo: string;
  repositoryId: number;
  close(): Promise<void>;

  clock: {
    now(): Date;
    /** Freezes the clock at this instant. */
    set(at: Date | string | number): void;
    /** Moves the (then frozen) clock forward. */
    advance(ms: number): void;
  };

  /** Put state in place without webhooks or request counting. */
  seed: {
    user(login: string, type?: 'User' | 'Organization' | 'Bot'): void;
    collaborator(login: string, permission?: Permission): void;
    token(token: string, login: string, permission?: Permission): void;
    label(input: { name: string; color?: string; description?: string | null }): void;
    milestone(input: { title: string; description?: string | null; state?: 'open' | 'closed'; dueOn?: Date | string | null }): number;
    /** Returns the issue number. */
    issue(input: SeedIssueInput): number;
    pullRequest(input: Omit<SeedIssueInput, 'pullRequest'> & { mergedAt?: Date | string }): number;
  };

  /** Act as a person in GitHub's web interface: bumps updated_at and fires webhooks like the API would. */
  human: {
    createIssue(input: { title: string; body?: string; labels?: string[]; assignees?: string[]; milestone?: number }, options?: HumanOptions): number;
    editIssue(number: number, patch: { title?: string; body?: string | null; state?: 'open' | 'closed'; state_reason?: StateReason | null; labels?: string[]; assignees?: string[]; milestone?: number | null }, options?: HumanOptions): void;
    comment(number: number): void;
    deleteIssue(number: number, options?: HumanOptions): void;
    /** Moves the issue to another repository; `readable: false` means the API caller cannot see the target. */
    transferIssue(number: number, to: { repository: string; readable?: boolean }, options?: HumanOptions): { repositoryId: number; number: number };
    /** An admin turns the repository's Issues feature off or on (Settings › General › Features). */
    setIssuesEnabled(enabled: boolean): void;
  };

  /** Reads of the current state, in the REST shape (list view, API version 2022-11-28). */
  issues: {
    get(number: number): Record<string, unknown> | undefined;
    all(): Array<Record<string, unknown>>;
  };

  requests: {
    readonly log: readonly RequestLogEntry[];
    /** Calls to one documented route (`GET /repos/{owner}/{repo}/issues`), or all calls. */
    count(route?: string): number;
    reset(): void;
  };

  rateLimit: {
    /** Sets limit / remaining / reset for one login, `null` for unauthenticated callers, or everyone. */
    set(settings: RateLimitSettings, login?: string | null): void;
    /** The next `count` calls meet a secondary rate limit (default 403 with retry-after: 60). */
    triggerSecondary(count: number, settings?: SecondaryLimitSettings): void;
    /** Answer a spent primary budget with 403 (default) or 429. */
    setPrimaryStatus(status: 403 | 429): void;
  };

  webhooks: {
    hooks(): readonly HookRecord[];
    deliveries(): readonly DeliveryRecord[];
    hold(): void;
    release(order?: ReleaseOrder): Promise<void>;
    discardHeld(): DeliveryRecord[];
    redeliver(guid: string, hookId?: number): Promise<DeliveryRecord>;
    /** Resolves when every queued delivery has been attempted. */
    settled(): Promise<void>;
  };

  quirks: {
    set(quirks: Partial<ListingQuirks>): void;
  };
}

/** Starts the fake on 127.0.0.1 and a free port. */
export async function startGitHubFake(options: GitHubFakeOptions = {}): Promise<GitHubFake> {
  const seed = options.seed ?? 1;
  const random = seededRandom(seed);
  const clock = new Clock(options.now);
  const quirks: ListingQuirks = { tieOrder: 'per-request', sinceInclusive: true, pagination: 'numbered', pageWindow: 10_000, ...options.quirks };
  const ownerLogin = options.owner ?? 'octo-org';
  const placeholderOwner = { login: ownerLogin, id: 1, nodeId: 'O_kgDOAAAAAQ', type: options.ownerType ?? 'Organization' } as const;
  const main = new RepoStore({ ...placeholderOwner }, options.repo ?? 'hello-world', options.repositoryId ?? 515435940, options.private ?? true, clock);
  const repoCreatedAt = clock.nowSeconds();
  if (options.defaultLabels ?? true) for (const label of defaultLabels) main.addLabel({ ...label, default: true });
  const foreign = new Map<number, RepoStore>();
  const tokens = new Map<string, string>();
  const limiter = new RateLimiter(clock, {
    authenticated: options.rateLimit?.authenticated ?? 5000,
    unauthenticated: options.rateLimit?.unauthenticated ?? 60,
  });
  limiter.primaryStatus = options.rateLimit?.primaryStatus ?? 403;
  const webhooks = new WebhookDispatcher(main, clock, random);
  const log: RequestLogEntry[] = [];
  let requestCounter = 0;
  const urls: Urls = { api: '', html: options.htmlUrl ?? 'https://github.com' };

  const addToken = (token: string, login: string, permission: Permission = 'admin') => {
    tokens.set(token, main.user(login).login);
    if (login.toLowerCase() !== ownerLogin.toLowerCase()) main.addCollaborator(login, permission);
  };
  for (const [token, holder] of Object.entries(options.tokens ?? {})) {
    if (typeof holder === 'string') addToken(token, holder);
    else addToken(token, holder.login, holder.permission);
  }

  const emitIssueEvents = (repo: RepoStore, events: IssueEvent[]) => {
    if (repo !== main) return;
    const otherRepo = (fullName: string) => [...foreign.values()].find((candidate) => candidate.fullName === fullName);
    for (const event of events) webhooks.emit('issues', issuesPayload(urls, repo, repoCreatedAt, event, otherRepo));
  };
  const emitPing = (hookId: number, sender: string) => {
    const hook = webhooks.hook(hookId);
    webhooks.emit('ping', pingPayload(urls, main, repoCreatedAt, hook, sender, random()), hook);
  };
  const routes = createRoutes({
    urls,
    main,
    webhooks,
    quirks,
    random,
    seed,
    emitIssueEvents,
    emitPing,
    rateLimitHeaders: (login) => limiter.headers(login),
  });

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requestCounter += 1;
    // Shaped like GitHub's request ids (`0683:13C7:1074B74:2631A8B:62D63574` in the recorded answers).
    const requestId = `FAKE:${requestCounter.toString(16).toUpperCase().padStart(4, '0')}:${(seed >>> 0).toString(16).toUpperCase()}:${clock.nowSeconds().toString(16).toUpperCase()}`;
    const url = new URL(req.url ?? '/', urls.api);
    const method = (req.method ?? 'GET').toUpperCase();
    let route: Route | undefined;
    let login: string | null = null;
    let charge = true;
    let apiVersion: string = defaultApiVersion;
    const headers: Record<string, string> = {};
    let status: number;
    let payload: string | undefined;
    try {
      const rawBody = await readBody(req);
      // Troubleshooting › User agent required: "Requests without a valid User-Agent header will be rejected."
      if (!req.headers['user-agent']) {
        throw new ApiError(403, 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header', docs.rest);
      }
      // API Versions; Troubleshooting › Not a supported version: an unknown version is a 400.
      const askedVersion = header(req, 'x-github-api-version');
      if (askedVersion !== undefined) {
        if (!(supportedApiVersions as readonly string[]).includes(askedVersion)) {
          throw new ApiError(
            400,
            `The version you specified in the "X-GitHub-Api-Version" request header, "${askedVersion}", is not a supported version. The following versions are currently supported: ${supportedApiVersions.map((version, i) => `"${version}"${i === 0 ? ' (most recent)' : ''}`).join(', ')}.`,
            docs.rest,
          );
        }
        apiVersion = askedVersion;
      }
      // Authenticating to the REST API: `Authorization: Bearer <token>` or `token <token>`; "Authenticating with
      // invalid credentials will initially return a 401 Unauthorized response" with message "Bad credentials".
      const authorization = header(req, 'authorization');
      if (authorization !== undefined) {
        const match = /^(?:bearer|token)\s+(\S+)\s*$/i.exec(authorization);
        const holder = match?.[1] === undefined ? undefined : tokens.get(match[1]);
        if (holder === undefined) throw new ApiError(401, 'Bad credentials', docs.rest);
        login = holder;
      }
      const found = matchRoute(routes, method, url.pathname);
      route = found?.route;
      const repo = found ? repoFor(found.params) : undefined;
      if (!found || (found.route.template.includes('{') && !repo)) throw notFound();
      // Private repositories are 404 to anyone without access, "to avoid confirming the existence".
      if (repo && repo.permissionOf(login) === null) throw notFound();
      if (found.route.template === '/rate_limit') charge = false;
      else {
        const spent = limiter.refusal(login, login === null ? null : main.user(login).id, req.socket.remoteAddress ?? '127.0.0.1');
        if (spent) {
          charge = false;
          throw spent;
        }
        const secondary = limiter.secondaryRefusal(requestId);
        if (secondary) {
          charge = false;
          throw secondary;
        }
      }
      const answer = await found.route.handler({
        repo: repo ?? main,
        params: found.params,
        query: url.searchParams,
        body: parseJson(rawBody),
        login,
        apiVersion,
      });
      status = answer.status;
      Object.assign(headers, answer.headers);
      if (answer.body !== undefined) payload = JSON.stringify(answer.body);
      if (payload !== undefined && status >= 200 && status < 300) headers.etag = etagOf(payload);
      if (method === 'GET' && status === 200 && payload !== undefined) {
        if (conditionalHit(req, answer, headers)) {
          // "Making a conditional request does not count against your primary rate limit if a 304 response is
          // returned." (Best practices › Use conditional requests if appropriate)
          status = 304;
          payload = undefined;
          charge = false;
        }
      }
    } catch (caught) {
      // A bug in the fake must not pass for GitHub behaviour: answer like GitHub's 500 and say so loudly.
      const error = caught instanceof ApiError ? caught : new ApiError(500, 'Server Error', docs.rest);
      if (!(caught instanceof ApiError)) console.error('GitHub fake failed on', method, url.pathname, caught);
      status = error.status;
      payload = JSON.stringify(error.body());
      Object.assign(headers, error.headers);
      if (error.status === 301 && error.extra.url) {
        headers.location = `${urls.api}${error.extra.url}`;
        payload = JSON.stringify({ ...error.body(), url: `${urls.api}${error.extra.url}` });
      }
    }
    if (charge) limiter.charge(login);
    Object.assign(headers, limiter.headers(login), {
      'x-github-api-version-selected': apiVersion,
      'x-github-request-id': requestId,
      'x-github-media-type': 'github.v3; format=json',
      'access-control-allow-origin': '*',
      'x-content-type-options': 'nosniff',
      vary: 'Accept, Authorization, Cookie, X-GitHub-OTP',
    });
    if (payload !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    if (method === 'GET' && (status === 200 || status === 304)) headers['cache-control'] = 'private, max-age=60, s-maxage=60';
    log.push({ method, route: route ? `${method} ${route.template}` : 'unmatched', path: url.pathname + url.search, status, login, requestId });
    res.writeHead(status, headers);
    res.end(payload);
  }

  function repoFor(params: Record<string, string>): RepoStore | undefined {
    if (params.repository_id !== undefined) {
      const id = Number(params.repository_id);
      return id === main.repositoryId ? main : foreign.get(id);
    }
    if (params.owner === undefined || params.repo === undefined) return undefined;
    const fullName = `${params.owner}/${params.repo}`.toLowerCase();
    if (main.fullName.toLowerCase() === fullName) return main;
    return [...foreign.values()].find((repo) => repo.fullName.toLowerCase() === fullName);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  urls.api = `http://127.0.0.1:${port}`;

  const human = (options_: HumanOptions | undefined) => {
    const actor = main.user(options_?.actor ?? ownerLogin).login;
    return { actor, canPush: true, acceptsSingularAssignee: true, documentationUrl: docs.updateIssue };
  };

  const fake: GitHubFake = {
    url: urls.api,
    owner: ownerLogin,
    repo: main.name,
    repositoryId: main.repositoryId,
    close: async () => {
      await webhooks.settled();
      await new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },

    clock: {
      now: () => new Date(clock.nowMs()),
      set: (at) => clock.set(at),
      advance: (ms) => clock.advance(ms),
    },

    seed: {
      user: (login, type) => void main.user(login, type),
      collaborator: (login, permission = 'write') => main.addCollaborator(login, permission),
      token: (token, login, permission) => addToken(token, login, permission),
      label: (input) => void main.addLabel(input),
      milestone: (input) => main.addMilestone(input).number,
      issue: (input) => main.seedIssue(input).number,
      pullRequest: ({ mergedAt, ...input }) => main.seedIssue({ ...input, pullRequest: mergedAt ? { mergedAt } : true }).number,
    },

    human: {
      createIssue: (input, options_) => {
        const { issue, events } = main.createIssue(input, human(options_));
        emitIssueEvents(main, events);
        return issue.number;
      },
      editIssue: (number, patch, options_) => {
        const { events } = main.updateIssue(number, patch as IssuePatch, human(options_));
        emitIssueEvents(main, events);
      },
      comment: (number) => void main.addComment(number),
      setIssuesEnabled: (enabled) => {
        main.issuesEnabled = enabled;
      },
      deleteIssue: (number, options_) => {
        const issue = main.readableIssue(number);
        emitIssueEvents(main, [{ action: 'deleted', number, actor: human(options_).actor }]);
        issue.fate = { kind: 'deleted' };
      },
      transferIssue: (number, to, options_) => {
        const issue = main.readableIssue(number);
        const [owner = '', name = ''] = to.repository.split('/');
        let target = [...foreign.values()].find((repo) => repo.fullName.toLowerCase() === to.repository.toLowerCase());
        if (!target) {
          target = new RepoStore(main.user(owner, 'Organization'), name, main.repositoryId + 1 + foreign.size, !(to.readable ?? true), clock);
          foreign.set(target.repositoryId, target);
        }
        // Same users, same ids: a transfer moves the issue, not its people.
        for (const user of main.users.values()) if (!target.users.has(user.login.toLowerCase())) target.users.set(user.login.toLowerCase(), user);
        const moved = target.seedIssue({ title: issue.title, body: issue.body, author: issue.author, comments: issue.comments });
        moved.createdAt = issue.createdAt;
        moved.updatedAt = clock.nowSeconds();
        const actor = human(options_).actor;
        emitIssueEvents(main, [{ action: 'transferred', number, actor, newRepositoryFullName: target.fullName, newNumber: moved.number }]);
        issue.fate = { kind: 'transferred', toRepositoryId: target.repositoryId, toFullName: target.fullName, toNumber: moved.number, readable: to.readable ?? true };
        return { repositoryId: target.repositoryId, number: moved.number };
      },
    },

    issues: {
      get: (number) => {
        const issue = main.issues.get(number);
        return issue && issue.fate.kind === 'present' ? issueJson(urls, main, issue, { detail: 'list', apiVersion: defaultApiVersion }) : undefined;
      },
      all: () => main.presentIssues().map((issue) => issueJson(urls, main, issue, { detail: 'list', apiVersion: defaultApiVersion })),
    },

    requests: {
      log,
      count: (routeKey) => (routeKey === undefined ? log.length : log.filter((entry) => entry.route === routeKey).length),
      reset: () => void log.splice(0, log.length),
    },

    rateLimit: {
      set: (settings, login) => limiter.set(settings, login),
      triggerSecondary: (count, settings) => limiter.triggerSecondary(count, settings),
      setPrimaryStatus: (status) => {
        limiter.primaryStatus = status;
      },
    },

    webhooks: {
      hooks: () => webhooks.hooks,
      deliveries: () => webhooks.deliveries,
      hold: () => webhooks.hold(),
      release: (order) => webhooks.release(order),
      discardHeld: () => webhooks.discardHeld(),
      redeliver: async (guid, hookId) => {
        const target = [...webhooks.deliveries].reverse().find((delivery) => delivery.guid === guid && (hookId === undefined || delivery.hookId === hookId));
        if (!target) throw new Error(`no delivery ${guid}`);
        const attempt = webhooks.redeliver(target.id);
        await webhooks.settled();
        return attempt;
      },
      settled: () => webhooks.settled(),
    },

    quirks: {
      set: (next) => void Object.assign(quirks, next),
    },
  };
  return fake;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Troubleshooting › Problems parsing JSON: invalid JSON is a 400 "Problems parsing JSON". */
function parseJson(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new ApiError(400, 'Problems parsing JSON', docs.rest);
  }
}

const templateCache = new Map<string, RegExp>();

/** Exact path match: a trailing slash is a 404 (Troubleshooting: "adding a trailing slash ... will result in a 404"). */
function matchRoute(routes: Route[], method: string, pathname: string): { route: Route; params: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    let pattern = templateCache.get(route.template);
    if (!pattern) {
      const source = route.template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, '(?<$1>[^/]+)');
      pattern = new RegExp(`^${source}$`);
      templateCache.set(route.template, pattern);
    }
    const match = pattern.exec(pathname);
    if (match) {
      const params: Record<string, string> = {};
      for (const [key, value] of Object.entries(match.groups ?? {})) params[key] = decodeURIComponent(value);
      return { route, params };
    }
  }
  return undefined;
}

/** The ETag is the SHA-256 of the body in quotes, as in the recorded answers (raw-fixture.json). */
function etagOf(payload: string): string {
  return `"${createHash('sha256').update(payload).digest('hex')}"`;
}

/**
 * If-None-Match / If-Modified-Since (Best practices › Use conditional requests if appropriate): "If the response
 * has not changed, you will receive a 304 Not Modified response." Weak (W/) validators from clients match too.
 */
function conditionalHit(req: IncomingMessage, answer: RouteAnswer, headers: Record<string, string>): boolean {
  const etag = headers.etag;
  if (answer.lastModified !== undefined) headers['last-modified'] = new Date(answer.lastModified * 1000).toUTCString();
  const ifNoneMatch = header(req, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag || candidate.trim() === '*');
  }
  const ifModifiedSince = header(req, 'if-modified-since');
  if (ifModifiedSince !== undefined && answer.lastModified !== undefined) {
    const since = Date.parse(ifModifiedSince);
    return !Number.isNaN(since) && answer.lastModified * 1000 <= since;
  }
  return false;
}
