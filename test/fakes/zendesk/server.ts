import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../../support/http';
import { pathParams, pathPattern, type PathPattern } from '../pathPattern';
import { cursorPage, recentMinuteExcluded, timePage, type ExportEntry, type ExportQuery } from './incremental';
import { MinuteBudget, planLimits, TicketUpdateBudget, type BudgetState, type ZendeskPlan } from './limits';
import {
  commentJson,
  isObject,
  isoSeconds,
  ticketFieldJson,
  ticketJson,
  userJson,
  ZendeskAccount,
  type TicketChange,
  type TicketFieldInput,
  type TicketInput,
  type TicketRecord,
  type UserInput,
  type UserRecord,
} from './records';
import { accountRateLimited, badRequestText, couldNotAuthenticate, incrementalRateLimited, recordNotFound, ZendeskError } from './responses';
import { WebhookHub, type Invocation } from './webhooks';

/**
 * A stateful fake of Zendesk Support's REST API — tickets, users, ticket fields, incremental exports, rate
 * limits and webhooks — on node:http, 127.0.0.1, a free port. Built from Zendesk's published documentation, its
 * OpenAPI examples and responses recorded from real accounts; each behaviour carries its source beside it, and
 * SOURCES.md in this folder lists them. Time never moves by itself: every timestamp comes from the fake's clock,
 * which a test sets or advances.
 */

export interface ZendeskFakeOptions {
  /** x-zendesk-account-id and the events' account_id. */
  accountId?: number;
  /** The admin whose credentials the API accepts. */
  email?: string;
  apiToken?: string;
  password?: string;
  oauthTokens?: string[];
  /** Basic email:password works only when an admin has enabled password access (Admin Center > APIs). Default true. */
  passwordAccess?: boolean;
  /** Sets the per-minute account limit from the plan table; `rateLimitPerMinute` wins when both are given. Default enterprise (700). */
  plan?: ZendeskPlan;
  rateLimitPerMinute?: number;
  /** High Volume API add-on: 2500 requests a minute and 30 incremental export requests a minute. */
  highVolumeAddOn?: boolean;
  /** The clock's starting time. Default: the real time when the fake starts, rounded down to a second. */
  clockStart?: Date | number;
  /** Extra seconds, beyond the documented excluded minute, before a change shows in the incremental exports. Default 0. */
  exportLagSeconds?: number;
  /** Tags on users and organizations enabled (Admin Center › Objects and rules › Tags). Default true. */
  userTagging?: boolean;
}

/** One request the fake answered, for tests that count calls. */
export interface RequestLogEntry {
  method: string;
  path: string;
  /** The route it matched, e.g. "GET /api/v2/tickets/{ticket_id}", or null when none did. */
  route: string | null;
  status: number;
}

export interface ZendeskFake {
  /** http://127.0.0.1:PORT — what a client uses in place of https://{subdomain}.zendesk.com. */
  url: string;
  close(): Promise<void>;
  /** Basic auth header values a client may send, ready to use. */
  auth: { apiToken: string; password: string; bearer: string };
  /** The records themselves, for assertions that must not go through the API. */
  account: ZendeskAccount;
  clock: {
    now(): Date;
    set(time: Date | number): void;
    advance(seconds: number): void;
  };
  /** The admin the credentials belong to, and an agent the agent-edit controls act as. */
  admin: Record<string, unknown>;
  agent: Record<string, unknown>;
  seedUser(input: UserInput & { created_at?: string; updated_at?: string }): Record<string, unknown>;
  /** Creates a ticket without webhooks or rate limits; `created_at`/`updated_at` may be set for history. */
  seedTicket(input: TicketInput & { created_at?: string; updated_at?: string }): Record<string, unknown>;
  /** A custom field; a drop-down's or multi-select's option `value`s and a checkbox's `tag` are kept as tags on tickets. */
  seedTicketField(input: TicketFieldInput): Record<string, unknown>;
  /** A ticket as Show Ticket would return it, soft-deleted ones included (status "deleted"). */
  ticket(id: number): Record<string, unknown>;
  user(id: number): Record<string, unknown>;
  /** Edits a ticket as an agent in the Zendesk UI would: bumps updated_at and fires webhooks. */
  agentUpdateTicket(id: number, changes: TicketInput): Record<string, unknown>;
  agentDeleteTicket(id: number): void;
  agentRestoreTicket(id: number): void;
  agentUpdateUser(id: number, changes: UserInput): Record<string, unknown>;
  webhooks: {
    invocations: Invocation[];
    hold(): void;
    release(): void;
    redeliver(invocationId: string): void;
    /** Resolves when no delivery is in flight. */
    idle(): Promise<void>;
    fireTrigger(webhookId: string, body: unknown): Invocation;
    signingSecret(webhookId: string): string;
  };
  requests: RequestLogEntry[];
  /** Requests answered for a route key ("GET /api/v2/tickets/{ticket_id}"), or all of them. */
  countRequests(route?: string): number;
  setRateLimit(perMinute: number): void;
  setIncrementalLimit(perMinute: number): void;
  setExportLag(seconds: number): void;
  /** The next `count` requests (any route) get a 429 with this Retry-After, before authentication. */
  failNextRequests(count: number, options?: { retryAfter?: number }): void;
}

interface RequestContext {
  method: string;
  query: URLSearchParams;
  body: unknown;
  params: Record<string, string>;
  actor: UserRecord;
  /** Headers added to whatever the route answers, errors included. */
  headers: Record<string, string>;
  /** The path as requested, `.json` included, for URLs the fake hands back. */
  rawPath: string;
}

interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Route extends PathPattern {
  method: string;
  pattern: string;
  handle(context: RequestContext): RouteResult | Promise<RouteResult>;
}

/** Starts the fake on 127.0.0.1 and a free port. */
export async function startZendeskFake(options: ZendeskFakeOptions = {}): Promise<ZendeskFake> {
  const email = options.email ?? 'admin@example.com';
  const apiToken = options.apiToken ?? 'fake-api-token';
  const password = options.password ?? 'fake-password';
  const oauthTokens = new Set(options.oauthTokens ?? ['fake-oauth-token']);
  const accountId = options.accountId ?? 123456;
  let nowMs = Math.floor((options.clockStart === undefined ? Date.now() : new Date(options.clockStart).getTime()) / 1000) * 1000;
  const nowSeconds = (): number => Math.floor(nowMs / 1000);
  let baseUrl = '';
  let exportLag = options.exportLagSeconds ?? 0;

  const account = new ZendeskAccount(() => baseUrl, nowSeconds, email);
  account.userTagging = options.userTagging ?? true;
  const agent = account.createUser({ name: 'Fake Agent', email: 'agent@example.com', role: 'agent', verified: true });
  const hub = new WebhookHub(account, accountId, () => nowMs);
  account.onTicketChange((change) => hub.publishTicketChange(change));

  const accountBudget = new MinuteBudget(options.rateLimitPerMinute ?? (options.highVolumeAddOn ? 2500 : planLimits[options.plan ?? 'enterprise']));
  // "Incremental Exports global limit: 10 requests per minute; with High Volume add-on: 30" (Endpoint rate limits).
  const incrementalBudget = new MinuteBudget(options.highVolumeAddOn ? 30 : 10);
  // Incremental User Export, Cursor Based > Limits: its own allocation, 20 a minute (60 with the add-on), reported
  // in a Zendesk-RateLimit-incremental-exports-cursor header.
  const usersCursorBudget = new MinuteBudget(options.highVolumeAddOn ? 60 : 20);
  // List Deleted Tickets › Rate Limit: "You can make 10 requests every 1 minute using this endpoint", and › Limits:
  // "This endpoint has its own rate limit that is different from the account wide rate limit", 10 with or without the
  // High Volume add-on, reported in Zendesk-RateLimit-deleted-tickets-index (Tickets API reference). Its 5 a minute
  // "beyond page 100" is not reproduced: the fake answers the list in one page.
  const deletedTicketsBudget = new MinuteBudget(10);
  const ticketUpdateBudget = new TicketUpdateBudget();
  let forcedFailures: { remaining: number; retryAfter: number } = { remaining: 0, retryAfter: 0 };
  const requests: RequestLogEntry[] = [];

  const visibleUntil = (): number => nowSeconds() - recentMinuteExcluded - exportLag;

  // ------------------------------------------------------------ routes

  const routes: Route[] = [];
  const route = (method: string, pattern: string, handle: Route['handle']): void => {
    routes.push({ method, pattern, ...pathPattern(pattern, (name) => (name.endsWith('webhook_id') ? '[^/]+' : '\\d+')), handle });
  };

  const ticketId = (context: RequestContext): number => Number(context.params.ticket_id);
  const userId = (context: RequestContext): number => Number(context.params.user_id);

  /**
   * The `ticket`/`user` root object of a write. Zendesk takes writes only inside that envelope; other top-level
   * keys are dropped with an `X-Zendesk-API-Warn: Removed restricted keys [...] from parameters according to
   * whitelist` header and the write goes ahead without them (recorded: zendesk/zendesk_api_client_rb issues #11
   * and #153; Speedygeek/ZendeskApi_v2 #433 shows `["ticket.id"]` for an id inside the envelope). So a create
   * without the envelope fails validation (422 "Description: cannot be blank", issue #91) and an update without it
   * changes nothing yet answers 200.
   */
  const envelope = (context: RequestContext, key: 'ticket' | 'user' | 'identity'): Record<string, unknown> => {
    const body = isObject(context.body) ? context.body : {};
    const removed = Object.keys(body).filter((name) => name !== key);
    const inner = isObject(body[key]) ? { ...body[key] } : {};
    if ('id' in inner) {
      removed.push(`${key}.id`);
      delete inner.id;
    }
    if (removed.length > 0) context.headers['X-Zendesk-API-Warn'] = `Removed restricted keys [${removed.map((name) => JSON.stringify(name)).join(', ')}] from parameters according to whitelist`;
    return inner;
  };

  // Tickets — https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
  route('GET', '/api/v2/tickets/show_many', (context) => {
    // Show Multiple Tickets: "Accepts a comma-separated list of ticket ids … will return up to 100 tickets records."
    const ids = (context.query.get('ids') ?? '').split(',').filter(Boolean).slice(0, 100).map(Number);
    const tickets = ids.map((id) => account.tickets.get(id)).filter((ticket): ticket is TicketRecord => ticket !== undefined && ticket.deleted === null);
    return { status: 200, body: { tickets: tickets.map((ticket) => ticketJson(account, ticket)) } };
  });
  route('GET', '/api/v2/tickets/{ticket_id}', (context) => ({ status: 200, body: { ticket: ticketJson(account, account.liveTicket(ticketId(context))) } }));
  route('POST', '/api/v2/tickets', (context) => {
    const { ticket, comment } = account.createTicket(envelope(context, 'ticket') as TicketInput, context.actor.id);
    // Create Ticket: 201 with a Location header "The URL of the created ticket" and {ticket, audit}.
    return { status: 201, body: { ticket: ticketJson(account, ticket), audit: auditJson(ticket, context.actor.id, null, comment) }, headers: { Location: `${baseUrl}/api/v2/tickets/${ticket.id}.json` } };
  });
  route('PUT', '/api/v2/tickets/{ticket_id}', (context) => {
    const id = ticketId(context);
    account.liveTicket(id);
    const input = envelope(context, 'ticket') as TicketInput;
    // "Update Ticket: 30 updates per 10 minutes per user per ticket" (Rate limits, Endpoint rate limits).
    const wait = ticketUpdateBudget.take(context.actor.id, id, nowMs);
    if (wait !== null) throw accountRateLimited(wait, 'Number of allowed ticket updates per 10 minutes exceeded for this ticket');
    const before = ticketJson(account, account.liveTicket(id));
    const { ticket, comment } = account.updateTicket(id, input, context.actor.id);
    return { status: 200, body: { ticket: ticketJson(account, ticket), audit: auditJson(ticket, context.actor.id, before, comment) } };
  });
  route('DELETE', '/api/v2/tickets/{ticket_id}', (context) => {
    // Delete Ticket: 204 No content; the ticket is soft-deleted (Show Deleted Tickets, Restore Previously Deleted Ticket).
    account.softDeleteTicket(ticketId(context), context.actor.id);
    return { status: 204 };
  });
  route('GET', '/api/v2/tickets/{ticket_id}/comments', (context) => {
    const comments = account.liveTicket(ticketId(context)).comments.map(commentJson);
    return { status: 200, body: { comments, next_page: null, previous_page: null, count: comments.length } };
  });
  route('GET', '/api/v2/deleted_tickets', () => {
    // List Deleted Tickets: {deleted_tickets: [{id, subject, actor {id, name}, deleted_at, previous_state}]} plus offset pagination keys.
    const deleted = [...account.tickets.values()]
      .filter((ticket) => ticket.deleted)
      .map((ticket) => ({
        id: ticket.id,
        subject: ticket.subject,
        actor: { id: ticket.deleted!.actorId, name: account.users.get(ticket.deleted!.actorId)?.name ?? '' },
        deleted_at: isoSeconds(ticket.deleted!.at),
        previous_state: ticket.deleted!.previousStatus,
      }));
    return { status: 200, body: { deleted_tickets: deleted, next_page: null, previous_page: null, count: deleted.length } };
  });
  route('PUT', '/api/v2/deleted_tickets/{ticket_id}/restore', (context) => {
    // Restore Previously Deleted Ticket: 200, "Empty response".
    account.restoreTicket(ticketId(context), context.actor.id);
    return { status: 200, body: '' };
  });

  // Ticket fields — https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_fields/
  route('GET', '/api/v2/ticket_fields', () => {
    const fields = [...account.ticketFields.values()].map((field) => ticketFieldJson(account, field));
    return { status: 200, body: { ticket_fields: fields, next_page: null, previous_page: null, count: fields.length } };
  });
  route('GET', '/api/v2/ticket_fields/{ticket_field_id}', (context) => {
    const field = account.ticketFields.get(Number(context.params.ticket_field_id));
    if (!field) throw recordNotFound();
    return { status: 200, body: { ticket_field: ticketFieldJson(account, field) } };
  });

  // Users — https://developer.zendesk.com/api-reference/ticketing/users/users/
  route('GET', '/api/v2/users/me', (context) => ({ status: 200, body: { user: userJson(account, context.actor) } }));
  route('GET', '/api/v2/users/show_many', (context) => {
    // Show Many Users: "a comma-separated list of up to 100 user ids or external ids".
    const ids = (context.query.get('ids') ?? '').split(',').filter(Boolean).slice(0, 100);
    const externalIds = (context.query.get('external_ids') ?? '').split(',').filter(Boolean).slice(0, 100);
    const users = [...ids.map((id) => account.users.get(Number(id))), ...externalIds.map((id) => account.findUserByExternalId(id))].filter((user): user is UserRecord => user !== undefined);
    return { status: 200, body: { users: users.map((user) => userJson(account, user)) } };
  });
  route('GET', '/api/v2/users/search', (context) => {
    const users = searchUsers([...account.users.values()], context.query);
    return { status: 200, body: { users: users.map((user) => userJson(account, user)), next_page: null, previous_page: null, count: users.length } };
  });
  route('GET', '/api/v2/users/{user_id}', (context) => {
    const user = account.users.get(userId(context));
    if (!user) throw recordNotFound();
    return { status: 200, body: { user: userJson(account, user) } };
  });
  route('POST', '/api/v2/users', (context) => ({ status: 201, body: { user: userJson(account, account.createUser(envelope(context, 'user') as UserInput)) } }));
  route('PUT', '/api/v2/users/{user_id}', (context) => ({ status: 200, body: { user: userJson(account, account.updateUser(userId(context), envelope(context, 'user') as UserInput)) } }));
  // User Identities — https://developer.zendesk.com/api-reference/ticketing/users/user_identities/
  route('GET', '/api/v2/users/{user_id}/identities', (context) => {
    const identities = account.identities(userId(context));
    return { status: 200, body: { identities, next_page: null, previous_page: null, count: identities.length } };
  });
  route('PUT', '/api/v2/users/{user_id}/identities/{user_identity_id}', (context) => {
    const identity = envelope(context, 'identity') as { value?: unknown };
    return { status: 200, body: { identity: account.updateIdentity(userId(context), Number(context.params.user_identity_id), identity.value) } };
  });
  route('PUT', '/api/v2/users/{user_id}/identities/{user_identity_id}/make_primary', (context) => ({
    status: 200,
    body: { identities: account.makeIdentityPrimary(userId(context), Number(context.params.user_identity_id)) },
  }));
  route('POST', '/api/v2/users/create_or_update', (context) => {
    // Create Or Update User: matches "by e-mail address or external ID"; 200 + "Location: /api/v2/users/{user_id}.json"
    // for an existing user, 201 + the new user's Location otherwise.
    const input = envelope(context, 'user') as UserInput;
    const existing =
      (typeof input.email === 'string' ? account.findUserByEmail(input.email) : undefined) ?? (typeof input.external_id === 'string' ? account.findUserByExternalId(input.external_id) : undefined);
    const user = existing ? account.updateUser(existing.id, input) : account.createUser(input);
    return { status: existing ? 200 : 201, body: { user: userJson(account, user) }, headers: { Location: `/api/v2/users/${user.id}.json` } };
  });

  // Incremental exports — https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
  const exportQuery = (context: RequestContext): ExportQuery => ({ startTime: context.query.get('start_time'), cursor: context.query.get('cursor'), perPage: context.query.get('per_page') });
  const ticketEntries = (context: RequestContext): ExportEntry[] =>
    // exclude_deleted: "If true, excludes deleted tickets from the response. By default, deletions will appear in the ticket stream."
    [...account.tickets.values()].filter((ticket) => !(context.query.get('exclude_deleted') === 'true' && ticket.deleted)).map((ticket) => ({ id: ticket.id, timestamp: ticket.generatedTimestamp }));
  const userEntries = (): ExportEntry[] => [...account.users.values()].map((user) => ({ id: user.id, timestamp: user.updatedAt }));
  const cursorUrl = (context: RequestContext, cursor: string | null): string | null => (cursor === null ? null : `${baseUrl}${context.rawPath}?cursor=${encodeURIComponent(cursor)}`);
  /** A cursor-based export page of `records` under `key`, with the keys that say where the next one starts. */
  const cursorPageBody = (context: RequestContext, key: 'tickets' | 'users', records: unknown[], page: { afterCursor: string | null; endOfStream: boolean }) => ({
    [key]: records,
    after_url: cursorUrl(context, page.afterCursor),
    after_cursor: page.afterCursor,
    // Backward paging is not reproduced; null is what a first page carries ("If there's no previous page, the value is null").
    before_url: null,
    before_cursor: null,
    end_of_stream: page.endOfStream,
  });

  route('GET', '/api/v2/incremental/tickets/cursor', (context) => {
    const page = cursorPage(ticketEntries(context), exportQuery(context), nowSeconds(), visibleUntil());
    return { status: 200, body: cursorPageBody(context, 'tickets', page.ids.map((id) => ticketJson(account, account.tickets.get(id)!)), page) };
  });
  route('GET', '/api/v2/incremental/tickets', (context) => {
    const query = exportQuery(context);
    const page = timePage(ticketEntries(context), query, nowSeconds(), visibleUntil());
    return { status: 200, body: { tickets: page.ids.map((id) => ticketJson(account, account.tickets.get(id)!)), ...timePageKeys(context, query, page.endTime, page.ids.length, page.endOfStream) } };
  });
  route('GET', '/api/v2/incremental/users/cursor', (context) => {
    const page = cursorPage(userEntries(), exportQuery(context), nowSeconds(), visibleUntil());
    return { status: 200, body: cursorPageBody(context, 'users', page.ids.map((id) => userJson(account, account.users.get(id)!)), page) };
  });
  route('GET', '/api/v2/incremental/users', (context) => {
    const query = exportQuery(context);
    const page = timePage(userEntries(), query, nowSeconds(), visibleUntil());
    return { status: 200, body: { users: page.ids.map((id) => userJson(account, account.users.get(id)!)), ...timePageKeys(context, query, page.endTime, page.ids.length, page.endOfStream) } };
  });

  /** Time-based Pagination JSON Format: end_time, next_page (start_time=end_time, per_page kept, as in the docs' example), count. */
  const timePageKeys = (context: RequestContext, query: ExportQuery, endTime: number, count: number, endOfStream: boolean): Record<string, unknown> => ({
    count,
    end_of_stream: endOfStream,
    end_time: endTime,
    next_page: `${baseUrl}${context.rawPath}?${query.perPage === null ? '' : `per_page=${query.perPage}&`}start_time=${endTime}`,
  });

  // Webhooks — https://developer.zendesk.com/api-reference/webhooks/webhooks-api/webhooks/
  route('POST', '/api/v2/webhooks', (context) => {
    const body = isObject(context.body) && isObject(context.body.webhook) ? context.body.webhook : {};
    return { status: 201, body: { webhook: hub.json(hub.create(body, context.actor.id)) } };
  });
  route('GET', '/api/v2/webhooks', () => ({
    status: 200,
    body: { webhooks: [...hub.webhooks.values()].map((webhook) => hub.json(webhook)), meta: { has_more: false, after_cursor: null, before_cursor: null }, links: { next: null, prev: null } },
  }));
  route('GET', '/api/v2/webhooks/{webhook_id}', (context) => ({ status: 200, body: { webhook: hub.json(hub.get(context.params.webhook_id!)) } }));
  // Update Webhook: PUT with the whole {webhook: {...}}, answered 204 No Content.
  route('PUT', '/api/v2/webhooks/{webhook_id}', (context) => {
    const body = isObject(context.body) && isObject(context.body.webhook) ? context.body.webhook : {};
    hub.update(context.params.webhook_id!, body);
    return { status: 204 };
  });
  route('DELETE', '/api/v2/webhooks/{webhook_id}', (context) => {
    hub.delete(context.params.webhook_id!);
    return { status: 204 };
  });
  route('GET', '/api/v2/webhooks/{webhook_id}/signing_secret', (context) => ({
    status: 200,
    // Show Webhook Signing Secret: {signing_secret: {algorithm, secret}} (go-zendesk WebhookSigningSecret). UNCONFIRMED: the algorithm's spelling.
    body: { signing_secret: { algorithm: 'SHA256', secret: hub.get(context.params.webhook_id!).secret } },
  }));

  // ------------------------------------------------------------ request handling

  /**
   * Authentication — https://developer.zendesk.com/api-reference/introduction/security-and-auth/ : Basic
   * "{email_address}/token:{api_token}", Basic "{email_address}:{password}" (when password access is on), or
   * "Bearer {oauth_access_token}".
   */
  const authenticate = (header: string | undefined): UserRecord | null => {
    if (!header) return null;
    const bearer = /^Bearer\s+(.+)$/i.exec(header);
    if (bearer) return oauthTokens.has(bearer[1]!.trim()) ? account.admin : null;
    const basic = /^Basic\s+(.+)$/i.exec(header);
    if (!basic) return null;
    const decoded = Buffer.from(basic[1]!.trim(), 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    if (separator < 0) return null;
    const user = decoded.slice(0, separator);
    const secret = decoded.slice(separator + 1);
    if (user.toLowerCase() === `${email}/token`.toLowerCase()) return secret === apiToken ? account.admin : null;
    if (options.passwordAccess !== false && user.toLowerCase() === email.toLowerCase() && secret === password) return account.admin;
    return null;
  };

  const rateHeaders = (state: BudgetState): Record<string, string> => ({
    // "Monitoring your request activity": X-Rate-Limit / X-Rate-Limit-Remaining on all responses, and for the
    // Ticketing APIs also ratelimit-limit, ratelimit-remaining, ratelimit-reset. (Responses recorded in 2023 by
    // node-zendesk spelled the latter rate-limit, rate-limit-remaining, rate-limit-reset; the fake follows the docs.)
    'X-Rate-Limit': String(state.limit),
    'X-Rate-Limit-Remaining': String(state.remaining),
    'ratelimit-limit': String(state.limit),
    'ratelimit-remaining': String(state.remaining),
    'ratelimit-reset': String(state.resetSeconds),
  });

  const answer = async (request: IncomingMessage): Promise<{ result: RouteResult; route: string | null }> => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    // Paths work with or without ".json" (the docs use both: "/api/v2/tickets.json" and "/api/v2/incremental/tickets/cursor").
    const path = url.pathname.replace(/\.json$/, '');
    const raw = await readBody(request);

    if (forcedFailures.remaining > 0) {
      forcedFailures.remaining--;
      return { result: errorResult(accountRateLimited(forcedFailures.retryAfter)), route: null };
    }

    const matched = routes.find((candidate) => candidate.method === method && candidate.regex.test(path));
    const routeKey = matched ? `${matched.method} ${matched.pattern}` : null;
    const actor = authenticate(request.headers.authorization);
    if (!actor) {
      // An unauthenticated /users/me answers 200 with the anonymous user, whatever the credentials (recorded:
      // node-zendesk test/fixtures/authentication_test_incorrect_token.json, …_incorrect_u_p.json, …_no_creds.json).
      if (method === 'GET' && path === '/api/v2/users/me') return { result: { status: 200, body: { user: { id: null, url: null, name: 'Anonymous user', email: 'invalid@example.com', role: 'end-user' } } }, route: routeKey };
      return { result: errorResult(couldNotAuthenticate()), route: routeKey };
    }
    const accountState = accountBudget.take(nowMs);
    const headers = rateHeaders(accountState);
    if (!accountState.allowed) return { result: errorResult(accountRateLimited(accountState.resetSeconds), headers), route: routeKey };
    if (!matched) {
      // UNCONFIRMED body for a path the API doesn't have.
      return { result: { status: 404, body: { error: 'InvalidEndpoint', description: 'Not found' }, headers }, route: null };
    }
    if (path === '/api/v2/incremental/users/cursor') {
      const state = usersCursorBudget.take(nowMs);
      headers['Zendesk-RateLimit-incremental-exports-cursor'] = endpointLimit(state);
      if (!state.allowed) return { result: errorResult(incrementalRateLimited(state.resetSeconds), headers), route: routeKey };
    } else if (method === 'GET' && path === '/api/v2/deleted_tickets') {
      const state = deletedTicketsBudget.take(nowMs);
      headers['Zendesk-RateLimit-deleted-tickets-index'] = endpointLimit(state);
      // UNCONFIRMED: the 429's description; the docs give the status ("429 Too Many Requests") and the header only.
      if (!state.allowed) return { result: errorResult(accountRateLimited(state.resetSeconds, 'Number of allowed deleted tickets index requests per minute exceeded'), headers), route: routeKey };
    } else if (path.startsWith('/api/v2/incremental/')) {
      // Incremental Exports > Rate limits: "You can make up to 10 requests per minute to these endpoints."
      const state = incrementalBudget.take(nowMs);
      if (!state.allowed) return { result: errorResult(incrementalRateLimited(state.resetSeconds), headers), route: routeKey };
    }

    let body: unknown = {};
    // "You must supply a Content-Type: application/json header in PUT, POST, and DELETE requests" (Requests,
    // Request format): without it the fake reads no parameters, so a write behaves as an empty one.
    if (raw.length > 0 && /application\/json/i.test(request.headers['content-type'] ?? '')) {
      try {
        body = JSON.parse(raw);
      } catch {
        return { result: errorResult(badRequestText(), headers), route: routeKey };
      }
    }
    const params = pathParams(matched, path);
    const context: RequestContext = { method, query: url.searchParams, body, params, actor, headers, rawPath: url.pathname };
    try {
      const result = await matched.handle(context);
      return { result: { ...result, headers: { ...headers, ...result.headers } }, route: routeKey };
    } catch (error) {
      if (error instanceof ZendeskError) return { result: errorResult(error, headers), route: routeKey };
      throw error;
    }
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    answer(request)
      .then(({ result, route: routeKey }) => {
        requests.push({ method: request.method ?? 'GET', path: request.url ?? '/', route: routeKey, status: result.status });
        send(response, result);
      })
      .catch((error: unknown) => {
        requests.push({ method: request.method ?? 'GET', path: request.url ?? '/', route: null, status: 500 });
        send(response, { status: 500, body: { error: 'FakeFailure', description: (error as Error).message } });
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const parseTime = (value: string | undefined): number | undefined => (value === undefined ? undefined : Math.floor(Date.parse(value) / 1000));

  return {
    url: baseUrl,
    close: async () => {
      await hub.idle();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
    auth: {
      apiToken: `Basic ${Buffer.from(`${email}/token:${apiToken}`).toString('base64')}`,
      password: `Basic ${Buffer.from(`${email}:${password}`).toString('base64')}`,
      bearer: `Bearer ${[...oauthTokens][0] ?? ''}`,
    },
    account,
    clock: {
      now: () => new Date(nowMs),
      set: (time) => {
        nowMs = new Date(time).getTime();
      },
      advance: (seconds) => {
        nowMs += seconds * 1000;
      },
    },
    admin: userJson(account, account.admin),
    agent: userJson(account, agent),
    seedUser: (input) => userJson(account, account.createUser(input, { createdAt: parseTime(input.created_at), updatedAt: parseTime(input.updated_at) }, true)),
    seedTicket: (input) => {
      const { ticket } = account.createTicket(input, agent.id, { times: { createdAt: parseTime(input.created_at), updatedAt: parseTime(input.updated_at) }, silent: true });
      return ticketJson(account, ticket);
    },
    seedTicketField: (input) => ticketFieldJson(account, account.createTicketField(input)),
    ticket: (id) => {
      const ticket = account.tickets.get(id);
      if (!ticket) throw new Error(`no ticket ${id}`);
      return ticketJson(account, ticket);
    },
    user: (id) => {
      const user = account.users.get(id);
      if (!user) throw new Error(`no user ${id}`);
      return userJson(account, user);
    },
    agentUpdateTicket: (id, changes) => ticketJson(account, account.updateTicket(id, changes, agent.id).ticket),
    agentDeleteTicket: (id) => account.softDeleteTicket(id, agent.id),
    agentRestoreTicket: (id) => account.restoreTicket(id, agent.id),
    agentUpdateUser: (id, changes) => userJson(account, account.updateUser(id, changes)),
    webhooks: {
      invocations: hub.invocations,
      hold: () => hub.hold(),
      release: () => hub.release(),
      redeliver: (invocationId) => hub.redeliver(invocationId),
      idle: () => hub.idle(),
      fireTrigger: (webhookId, body) => hub.fireTrigger(webhookId, body),
      signingSecret: (webhookId) => hub.get(webhookId).secret,
    },
    requests,
    countRequests: (routeKey) => (routeKey === undefined ? requests.length : requests.filter((entry) => entry.route === routeKey).length),
    setRateLimit: (perMinute) => {
      accountBudget.limit = perMinute;
    },
    setIncrementalLimit: (perMinute) => {
      incrementalBudget.limit = perMinute;
    },
    setExportLag: (seconds) => {
      exportLag = seconds;
    },
    failNextRequests: (count, failOptions) => {
      forcedFailures = { remaining: count, retryAfter: failOptions?.retryAfter ?? 60 };
    },
  };
}

/** An endpoint's own limit as its header reports it: "total={number}; remaining={number}; resets={number}". */
function endpointLimit(state: BudgetState): string {
  return `total=${state.limit}; remaining=${state.remaining}; resets=${state.resetSeconds}`;
}

function errorResult(error: ZendeskError, headers: Record<string, string> = {}): RouteResult {
  return { status: error.status, body: error.body, headers: { ...headers, ...error.headers } };
}

function send(response: ServerResponse, result: RouteResult): void {
  const headers: Record<string, string> = { 'x-zendesk-api-version': 'v2', ...result.headers };
  if (result.status === 204) {
    response.writeHead(204, headers).end();
    return;
  }
  const text = typeof result.body === 'string' ? result.body : JSON.stringify(result.body ?? {});
  headers['Content-Type'] = typeof result.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
  response.writeHead(result.status, headers).end(text);
}

/**
 * Search Users: `query` "can specify a partial or full value of any user property, including name, email address,
 * notes, or phone"; `external_id` "only accepts ids". Supports `field:value` terms for email, name, role,
 * external_id and free-text terms, all case-insensitive. Real search reads an index that lags writes; the fake
 * does not reproduce that lag.
 */
function searchUsers(users: UserRecord[], query: URLSearchParams): UserRecord[] {
  const externalId = query.get('external_id');
  if (externalId !== null) return users.filter((user) => user.externalId === externalId);
  const terms = (query.get('query') ?? '').trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return [];
  return users.filter((user) =>
    terms.every((term) => {
      const [field, value] = term.includes(':') ? (term.split(/:(.*)/s) as [string, string]) : [null, term];
      const text = (candidate: string | null): string => (candidate ?? '').toLowerCase();
      switch (field) {
        case 'email':
          return text(user.email) === value;
        case 'name':
          return text(user.name).includes(value);
        case 'role':
          return user.role === value;
        case 'external_id':
          return text(user.externalId) === value;
        default:
          return [user.name, user.email, user.notes, user.phone, user.externalId].some((candidate) => text(candidate).includes(value));
      }
    }),
  );
}

/**
 * The `audit` beside the ticket in create and update responses (Ticket Audits JSON format: id, ticket_id,
 * created_at, author_id, metadata, via, events; events of type Comment, Create and Change as in the recorded
 * go-zendesk fixture/POST/ticket.json).
 */
function auditJson(ticket: TicketRecord, authorId: number, before: Record<string, unknown> | null, comment: TicketChange['comment']): Record<string, unknown> {
  const after = ticketJsonLike(ticket);
  const events: Array<Record<string, unknown>> = [];
  let eventId = ticket.updatedAt * 1000;
  if (comment) events.push({ id: eventId++, type: 'Comment', author_id: comment.authorId, body: comment.body, plain_body: comment.body, public: comment.public, attachments: [], audit_id: ticket.updatedAt });
  for (const field of ['subject', 'status', 'priority', 'type', 'requester_id', 'assignee_id', 'group_id', 'organization_id', 'tags'] as const) {
    const value = after[field];
    if (before === null) events.push({ id: eventId++, type: 'Create', value: stringifyAuditValue(value), field_name: field });
    else if (JSON.stringify(before[field]) !== JSON.stringify(value)) events.push({ id: eventId++, type: 'Change', value: stringifyAuditValue(value), previous_value: stringifyAuditValue(before[field]), field_name: field });
  }
  return {
    id: ticket.updatedAt,
    ticket_id: ticket.id,
    created_at: isoSeconds(ticket.updatedAt),
    author_id: authorId,
    metadata: { system: {}, custom: {} },
    events,
    via: { channel: 'api', source: { from: {}, to: {}, rel: null } },
  };
}

function ticketJsonLike(ticket: TicketRecord): Record<string, unknown> {
  return {
    subject: ticket.subject,
    status: ticket.status,
    priority: ticket.priority,
    type: ticket.type,
    requester_id: ticket.requesterId,
    assignee_id: ticket.assigneeId,
    group_id: ticket.groupId,
    organization_id: ticket.organizationId,
    tags: ticket.tags,
  };
}

function stringifyAuditValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value;
  return String(value);
}
