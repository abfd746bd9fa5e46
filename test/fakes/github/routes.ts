/**
 * The endpoints the fake serves, each as GitHub documents it. Anything else — including DELETE on an issue,
 * which the REST API does not have (operations on /repos/{owner}/{repo}/issues/{issue_number} are only GET and
 * PATCH) — falls through to GitHub's plain 404.
 */
import { ApiError, docs, notFound } from './api-error';
import { listIssues, type ListingQuirks } from './listing';
import { issueJson, labelJson, type Urls } from './representation';
import type { Random } from './seeded-random';
import { allows, type IssueEvent, type IssuePatch, type RepoStore } from './store';
import { listReposForAuthenticatedUser } from './user-repos';
import { deliveryJson, hookJson, type WebhookDispatcher } from './webhooks';

/** What a handler knows about the call it answers. */
export interface RouteCall {
  repo: RepoStore;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  login: string | null;
  apiVersion: string;
}

export interface RouteAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Epoch seconds for `last-modified` / `if-modified-since` (docs: Use conditional requests if appropriate). */
  lastModified?: number;
}

export interface Route {
  method: string;
  /** The documented path, used for request counting: `GET /repos/{owner}/{repo}/issues`. */
  template: string;
  handler: (call: RouteCall) => RouteAnswer | Promise<RouteAnswer>;
}

/** Everything the handlers act on. */
export interface RouteContext {
  urls: Urls;
  main: RepoStore;
  webhooks: WebhookDispatcher;
  quirks: ListingQuirks;
  random: Random;
  seed: number;
  emitIssueEvents: (repo: RepoStore, events: IssueEvent[]) => void;
  emitPing: (hookId: number, sender: string) => void;
  rateLimitHeaders: (login: string | null) => Record<string, string>;
}

/** The issue and webhook endpoints. Paths under /repositories/{repository_id} are the ones Link and Location use. */
export function createRoutes(ctx: RouteContext): Route[] {
  const routes: Route[] = [];
  const both = (method: string, suffix: string, handler: Route['handler']) => {
    routes.push({ method, template: `/repos/{owner}/{repo}${suffix}`, handler });
    routes.push({ method, template: `/repositories/{repository_id}${suffix}`, handler });
  };

  // List repository issues. "GitHub's REST API considers every pull request an issue ... You can identify pull
  // requests by the `pull_request` key."
  both('GET', '/issues', ({ repo, query, apiVersion }): RouteAnswer => {
    // UNCONFIRMED: the listing documents no 410 (its responses are 200, 301, 404 and 422) and users report an empty
    // list for a repository with Issues turned off (GitScout feedback #248), so it answers as for no issues.
    if (!repo.issuesEnabled) return { status: 200, body: [] };
    const page = listIssues(repo, query, `${ctx.urls.api}/repositories/${repo.repositoryId}/issues`, ctx.quirks, ctx.random, ctx.seed);
    return {
      status: 200,
      body: page.items.map((issue) => issueJson(ctx.urls, repo, issue, { detail: 'list', apiVersion })),
      headers: page.link ? { link: page.link } : undefined,
    };
  });

  // Create an issue: "Any user with pull access to a repository can create an issue." 201 with a Location header.
  both('POST', '/issues', ({ repo, body, login, apiVersion }) => {
    const actor = requireUser(login);
    repo.assertIssuesEnabled(docs.createIssue);
    const { issue, events } = repo.createIssue(asObject(body) as IssuePatch, {
      actor,
      canPush: allows(repo.permissionOf(actor), 'write'),
      acceptsSingularAssignee: apiVersion !== '2026-03-10',
      documentationUrl: docs.createIssue,
    });
    ctx.emitIssueEvents(repo, events);
    const json = issueJson(ctx.urls, repo, issue, { detail: 'single', apiVersion });
    return { status: 201, body: json, headers: { location: String(json.url) } };
  });

  // Get an issue: 200, or 301 (transferred), 404, 410 (deleted); 304 for a matching conditional request.
  both('GET', '/issues/{issue_number}', ({ repo, params, apiVersion }) => {
    const issue = repo.readableIssue(issueNumber(params));
    return { status: 200, body: issueJson(ctx.urls, repo, issue, { detail: 'single', apiVersion }), lastModified: issue.updatedAt };
  });

  // Update an issue: "Issue owners and users with push access or Triage role can edit an issue."
  both('PATCH', '/issues/{issue_number}', ({ repo, params, body, login, apiVersion }) => {
    const actor = requireUser(login);
    const number = issueNumber(params);
    const existing = repo.readableIssue(number);
    const permission = repo.permissionOf(actor);
    if (existing.author.toLowerCase() !== actor.toLowerCase() && !allows(permission, 'triage')) {
      // Docs (Troubleshooting › Resource not accessible): insufficient permission is a 403 with this message.
      throw new ApiError(403, 'Resource not accessible by personal access token', docs.updateIssue);
    }
    const { issue, events } = repo.updateIssue(number, asObject(body) as IssuePatch, {
      actor,
      canPush: allows(permission, 'write'),
      acceptsSingularAssignee: apiVersion !== '2026-03-10',
      documentationUrl: docs.updateIssue,
    });
    ctx.emitIssueEvents(repo, events);
    return { status: 200, body: issueJson(ctx.urls, repo, issue, { detail: 'single', apiVersion }) };
  });

  // List labels for a repository (so a client can see labels GitHub created on the fly).
  both('GET', '/labels', ({ repo, query }) => {
    const perPage = Math.min(Math.max(Number.parseInt(query.get('per_page') ?? '30', 10) || 30, 1), 100);
    const page = Math.max(Number.parseInt(query.get('page') ?? '1', 10) || 1, 1);
    return { status: 200, body: repo.labels.slice((page - 1) * perPage, page * perPage).map((label) => labelJson(ctx.urls, repo, label)) };
  });

  // Repository webhooks. "The authenticated user must be a repository owner, or have admin access"; GitHub
  // answers 404 rather than 403 to others, so as not to confirm what exists.
  const admin = (call: RouteCall) => {
    if (call.repo !== ctx.main || !allows(call.repo.permissionOf(call.login), 'admin')) throw notFound(docs.getHook);
  };
  routes.push({
    method: 'GET',
    template: '/repos/{owner}/{repo}/hooks',
    handler: (call) => {
      admin(call);
      return { status: 200, body: ctx.webhooks.hooks.map((hook) => hookJson(ctx.urls, call.repo, hook)) };
    },
  });
  routes.push({
    method: 'POST',
    template: '/repos/{owner}/{repo}/hooks',
    handler: (call) => {
      admin(call);
      const hook = ctx.webhooks.createHook(asObject(call.body));
      // "When you create a new webhook, GitHub will send you a simple ping event" (webhook events: ping).
      if (hook.active) ctx.emitPing(hook.id, requireUser(call.login));
      const json = hookJson(ctx.urls, call.repo, hook);
      return { status: 201, body: json, headers: { location: String(json.url) } };
    },
  });
  routes.push({
    method: 'GET',
    template: '/repos/{owner}/{repo}/hooks/{hook_id}',
    handler: (call) => {
      admin(call);
      return { status: 200, body: hookJson(ctx.urls, call.repo, ctx.webhooks.hook(Number(call.params.hook_id))) };
    },
  });
  routes.push({
    method: 'PATCH',
    template: '/repos/{owner}/{repo}/hooks/{hook_id}',
    handler: (call) => {
      admin(call);
      return { status: 200, body: hookJson(ctx.urls, call.repo, ctx.webhooks.updateHook(Number(call.params.hook_id), asObject(call.body))) };
    },
  });
  routes.push({
    method: 'DELETE',
    template: '/repos/{owner}/{repo}/hooks/{hook_id}',
    handler: (call) => {
      admin(call);
      ctx.webhooks.deleteHook(Number(call.params.hook_id));
      return { status: 204 };
    },
  });
  routes.push({
    method: 'POST',
    template: '/repos/{owner}/{repo}/hooks/{hook_id}/pings',
    handler: (call) => {
      admin(call);
      const hook = ctx.webhooks.hook(Number(call.params.hook_id));
      ctx.emitPing(hook.id, requireUser(call.login));
      return { status: 204 };
    },
  });
  routes.push({
    method: 'GET',
    template: '/repos/{owner}/{repo}/hooks/{hook_id}/deliveries',
    handler: (call) => {
      admin(call);
      const hook = ctx.webhooks.hook(Number(call.params.hook_id));
      const attempted = ctx.webhooks.deliveries.filter((delivery) => delivery.hookId === hook.id && delivery.deliveredAt !== null);
      return { status: 200, body: attempted.reverse().map((delivery) => deliveryJson(call.repo, delivery)) };
    },
  });
  routes.push({
    method: 'POST',
    template: '/repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}/attempts',
    handler: (call) => {
      admin(call);
      const hook = ctx.webhooks.hook(Number(call.params.hook_id));
      const id = Number(call.params.delivery_id);
      if (!ctx.webhooks.deliveries.some((delivery) => delivery.id === id && delivery.hookId === hook.id)) throw notFound();
      ctx.webhooks.redeliver(id);
      // "Redeliver a delivery for a repository webhook": 202 Accepted.
      return { status: 202, body: {} };
    },
  });

  // List repositories for the authenticated user (user-repos.ts). The repository was created as the fake started.
  const repoCreatedAt = ctx.main.clock.nowSeconds();
  routes.push({
    method: 'GET',
    template: '/user/repos',
    handler: ({ login, query }) => listReposForAuthenticatedUser(ctx.urls, () => [ctx.main], repoCreatedAt, { login, query }),
  });

  // GET /rate_limit: "Calling this endpoint does not count against your primary rate limit".
  routes.push({
    method: 'GET',
    template: '/rate_limit',
    handler: (call) => {
      const headers = ctx.rateLimitHeaders(call.login);
      const core = {
        limit: Number(headers['x-ratelimit-limit']),
        remaining: Number(headers['x-ratelimit-remaining']),
        reset: Number(headers['x-ratelimit-reset']),
        used: Number(headers['x-ratelimit-used']),
        resource: 'core',
      };
      return { status: 200, body: { resources: { core }, rate: core } };
    },
  });

  return routes;
}

function issueNumber(params: Record<string, string>): number {
  const number = Number(params.issue_number);
  if (!Number.isInteger(number) || number < 1) throw notFound(docs.getIssue);
  return number;
}

/** Writes need a user; GitHub answers anonymous writes with 401 "Requires authentication". */
function requireUser(login: string | null): string {
  if (login === null) throw new ApiError(401, 'Requires authentication', docs.rest);
  return login;
}

/** Docs (Troubleshooting › Body should be a JSON object): anything else is a 400. */
function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'Body should be a JSON object', docs.rest);
  }
  return body as Record<string, unknown>;
}
