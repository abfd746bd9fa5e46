import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../../support/http';
import { pathPattern, type PathPattern } from '../pathPattern';
import { BatchQueue, type BatchOperationInput, type BatchTiming } from './batches';
import { apiKeyInvalid, apiKeyMissing, invalidResource, jsonParseError, MailchimpProblem, memberCannotBeArchived, memberExists, methodNotAllowed, resourceNotFound, tooManyRequests } from './problems';
import {
  FakeClock,
  listJson,
  mailchimpTime,
  MailchimpAccount,
  memberJson,
  memberStatuses,
  mergeFieldJson,
  subscriberHash,
  webhookJson,
  type ChangeSource,
  type ListRecord,
  type MemberInput,
  type MemberRecord,
  type MergeFieldType,
} from './store';
import { WebhookHub } from './webhooks';

/**
 * A stateful fake of the Mailchimp Marketing API 3.0 — audiences, merge fields, members, member tags, audience
 * webhooks and batch operations — on node:http, 127.0.0.1, a free port. Built from Mailchimp's API reference and
 * guides and its published OpenAPI description (SOURCES.md lists them, and each behaviour names its source beside it).
 * Paths are served under `/3.0` as on `https://<dc>.api.mailchimp.com/3.0`. Time does not move by itself unless the
 * clock is `real`: every timestamp comes from the fake's clock.
 */

export interface MailchimpFakeOptions {
  /** The data center the fake plays, the suffix of its API keys. Default us19. */
  dc?: string;
  /** API keys it accepts ("<32 hex>-<dc>"). */
  apiKeys?: string[];
  /** OAuth2 access tokens it accepts (they carry no data center). */
  oauthTokens?: string[];
  /** The clock's starting time; default the real time. */
  clockStart?: Date | number;
  /** `manual` (default): time moves when a test sets or advances it; `real`: it follows the wall clock. */
  clock?: 'manual' | 'real';
  /** Simultaneous connections per user before a 429. Error glossary: 10. */
  connectionLimit?: number;
  batchTiming?: Partial<BatchTiming>;
  /** Wall-clock ms each API answer takes, as a network would (so simultaneous requests overlap). Default 0. */
  latencyMs?: number;
}

/** One request the fake answered, for tests that count calls. */
export interface RequestLogEntry {
  method: string;
  path: string;
  query: string;
  /** The route key, e.g. "PATCH /lists/{list_id}/members/{subscriber_hash}", or null when none matched. */
  route: string | null;
  status: number;
}

export interface MailchimpFake {
  /** http://127.0.0.1:PORT — what a client uses in place of https://<dc>.api.mailchimp.com (paths under /3.0). */
  url: string;
  dc: string;
  apiKey: string;
  oauthToken: string;
  close(): Promise<void>;
  account: MailchimpAccount;
  /** The audience the fake starts with. */
  list: ListRecord;
  clock: { now(): Date; set(time: Date | number): void; advance(seconds: number): void };
  createList(name: string): ListRecord;
  addMergeField(input: { tag: string; name?: string; type: MergeFieldType; required?: boolean; options?: Record<string, unknown> }, list?: ListRecord): void;
  /** A member as history has it: no webhook fires; `lastChanged` may be set (default the clock's now). */
  seedMember(input: MemberInput & { email_address: string; lastChanged?: Date | number | string }, list?: ListRecord): MemberRecord;
  /** The member as `GET .../members/{subscriber_hash}` shows it. */
  member(hashOrEmail: string, list?: ListRecord): Record<string, unknown> | null;
  /** Changes made in Mailchimp's web app (source admin) or by the subscriber (source user); webhooks fire. */
  person: {
    edit(hashOrEmail: string, input: MemberInput, list?: ListRecord): void;
    subscribe(input: MemberInput & { email_address: string }, list?: ListRecord): MemberRecord;
    unsubscribe(hashOrEmail: string, list?: ListRecord): void;
    archive(hashOrEmail: string, list?: ListRecord): void;
    changeEmail(hashOrEmail: string, email: string, list?: ListRecord): void;
    clean(hashOrEmail: string, list?: ListRecord): void;
    tag(hashOrEmail: string, tags: Array<{ name: string; status: 'active' | 'inactive' }>, list?: ListRecord): void;
  };
  webhooks: WebhookHub;
  batches: BatchQueue;
  requests: RequestLogEntry[];
  /** Requests answered for a route key ("PATCH /lists/{list_id}/members/{subscriber_hash}"), or all. */
  countRequests(route?: string): number;
  /** Requests that change something: every method but GET, batch operations excluded. */
  countWrites(): number;
  /** The next `count` API requests get Mailchimp's 429 TooManyRequests. */
  failNextRequests(count: number): void;
  /** The most simultaneous API requests one credential had open. */
  maxConcurrent(): number;
}

interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface ApiCall {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** Batch operations are API calls too; both have source api. */
  source: ChangeSource;
}

interface Route extends PathPattern {
  method: string;
  pattern: string;
  handle(call: ApiCall): RouteResult | Promise<RouteResult>;
}

/** Starts the fake on 127.0.0.1 and a free port. */
export async function startMailchimpFake(options: MailchimpFakeOptions = {}): Promise<MailchimpFake> {
  const dc = options.dc ?? 'us19';
  const apiKeys = new Set(options.apiKeys ?? [`0123456789abcdef0123456789abcdef-${dc}`]);
  const oauthTokens = new Set(options.oauthTokens ?? ['fedcba9876543210fedcba9876543210']);
  const clock = new FakeClock(options.clockStart === undefined ? Date.now() : new Date(options.clockStart).getTime(), options.clock ?? 'manual');
  const account = new MailchimpAccount(clock);
  const list = account.createList('Newsletter', 'a1b2c3d4e5');
  const hub = new WebhookHub(() => clock.nowMs());
  account.onMemberEvent((event) => hub.publish(event));
  const connectionLimit = options.connectionLimit ?? 10;
  let baseUrl = '';
  let forcedFailures = 0;
  const inFlight = new Map<string, number>();
  let maxInFlight = 0;
  const requests: RequestLogEntry[] = [];

  const routes: Route[] = [];
  const route = (method: string, pattern: string, handle: Route['handle']): void => {
    routes.push({ method, pattern, ...pathPattern(pattern, undefined, { trailingSlash: true }), handle });
  };
  const listOf = (call: ApiCall): ListRecord => account.list(call.params.list_id as string);
  const memberOf = (call: ApiCall, list: ListRecord): MemberRecord => {
    const member = account.findMember(list, decodeURIComponent(call.params.subscriber_hash as string));
    if (!member) throw resourceNotFound();
    return member;
  };
  const object = (body: unknown): Record<string, unknown> => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidResource([{ field: '', message: 'Schema describes object, NULL found instead' }]);
    return body as Record<string, unknown>;
  };
  const skipMergeValidation = (call: ApiCall) => call.query.get('skip_merge_validation') === 'true';

  // "Methods and parameters › Pagination": `count` (default 10, at most 1000) and `offset` (default 0); every
  // collection answers `total_items`, "the total number of items matching the query regardless of pagination".
  const page = <T>(items: T[], query: URLSearchParams): T[] => {
    const count = Math.min(1000, Math.max(0, integer(query.get('count'), 10, 'count')));
    const offset = Math.max(0, integer(query.get('offset'), 0, 'offset'));
    // UNCONFIRMED: a count over 1000 is capped rather than refused.
    return items.slice(offset, offset + count);
  };

  route('GET', '/3.0/ping', () => ({ status: 200, body: { health_status: "Everything's Chimpy!" } }));

  // Lists/Audiences — API reference "Lists/Audiences": Get lists info.
  route('GET', '/3.0/lists', (call) => {
    const all = [...account.lists.values()];
    return { status: 200, body: { lists: page(all, call.query).map((each) => listJson(each, baseUrl)), total_items: all.length, constraints: { may_create: true, max_instances: 1, current_total_instances: all.length }, _links: [] } };
  });
  route('GET', '/3.0/lists/{list_id}', (call) => ({ status: 200, body: listJson(listOf(call), baseUrl) }));

  // Merge Fields — "List merges": Get merge fields.
  route('GET', '/3.0/lists/{list_id}/merge-fields', (call) => {
    const audience = listOf(call);
    return { status: 200, body: { merge_fields: page(audience.mergeFields, call.query).map((field) => mergeFieldJson(audience, field)), list_id: audience.id, total_items: audience.mergeFields.length, _links: [] } };
  });

  // Members — "List members info" (GET), with its filters: status, since_last_changed/before_last_changed ("Restrict
  // results to subscribers whose information changed after/before the set timeframe"), sort_field (timestamp_opt,
  // timestamp_signup, last_changed) and sort_dir (ASC, DESC).
  route('GET', '/3.0/lists/{list_id}/members', (call) => {
    const audience = listOf(call);
    const { query } = call;
    const status = query.get('status');
    if (status !== null && !(memberStatuses as readonly string[]).includes(status)) throw invalidResource([{ field: 'status', message: `Value must be one of: ${memberStatuses.join(', ')}` }]);
    const since = timeParameter(query, 'since_last_changed');
    const before = timeParameter(query, 'before_last_changed');
    let members = [...audience.members.values()].filter((member) => {
      // Archived contacts are listed only when asked for by status (observed: brandonseydel/MailChimp.Net #529 —
      // "need a way to list all contacts, including archived contacts"). UNCONFIRMED for transactional ones.
      if (status === null ? member.status === 'archived' : member.status !== status) return false;
      // "changed after" / "changed before": both ends exclusive, compared at whole seconds as the field is shown.
      if (since !== null && !(member.lastChanged > since)) return false;
      if (before !== null && !(member.lastChanged < before)) return false;
      return true;
    });
    const sortField = query.get('sort_field');
    if (sortField !== null) {
      const keys: Record<string, (member: MemberRecord) => number> = {
        last_changed: (member) => member.lastChanged,
        timestamp_opt: (member) => member.timestampOpt ?? 0,
        timestamp_signup: (member) => member.timestampSignup ?? 0,
      };
      const key = keys[sortField];
      if (!key) throw invalidResource([{ field: 'sort_field', message: 'Value must be one of: timestamp_opt, timestamp_signup, last_changed' }]);
      const direction = (query.get('sort_dir') ?? 'ASC').toUpperCase() === 'DESC' ? -1 : 1;
      // Ties come in no documented order; the fake orders them by id, which is not the order they were added in.
      members = members.sort((a, b) => direction * (key(a) - key(b)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    } else {
      members = members.sort((a, b) => a.webId - b.webId);
    }
    return { status: 200, body: { members: page(members, query).map((member) => memberJson(audience, member, baseUrl)), list_id: audience.id, total_items: members.length, _links: [] } };
  });
  // "Add member to list" (POST): refuses an address already on the audience (Member Exists).
  route('POST', '/3.0/lists/{list_id}/members', (call) => {
    const audience = listOf(call);
    const input = object(call.body) as MemberInput;
    const existing = typeof input.email_address === 'string' ? audience.members.get(subscriberHash(input.email_address)) : undefined;
    if (existing) throw memberExists(existing.emailAddress);
    return { status: 200, body: memberJson(audience, account.createMember(audience, input, call.source, { skipMergeValidation: skipMergeValidation(call) }), baseUrl) };
  });
  route('GET', '/3.0/lists/{list_id}/members/{subscriber_hash}', (call) => {
    const audience = listOf(call);
    return { status: 200, body: memberJson(audience, memberOf(call, audience), baseUrl) };
  });
  // "Add or update list member" (PUT): `email_address` and `status_if_new` are required; an existing member is updated
  // (its status changes only with `status`), a new one is created with `status_if_new`. The id of a member is the hash
  // of its address, so a hash that names nobody must be the hash of `email_address`: an address already on the
  // audience under its own hash is "Member Exists" (recorded, python-mailchimp #182 — a hash of the address not
  // lower-cased), any other mismatch is refused too (UNCONFIRMED wording).
  route('PUT', '/3.0/lists/{list_id}/members/{subscriber_hash}', (call) => {
    const audience = listOf(call);
    const input = object(call.body) as MemberInput;
    const pathId = decodeURIComponent(call.params.subscriber_hash as string);
    const errors = [];
    if (typeof input.email_address !== 'string' || input.email_address.trim() === '') errors.push({ field: 'email_address', message: 'This value should not be blank.' });
    if (input.status_if_new === undefined) errors.push({ field: 'status_if_new', message: 'This value should not be blank.' });
    if (errors.length > 0) throw invalidResource(errors);
    const existing = account.findMember(audience, pathId);
    if (existing) return { status: 200, body: memberJson(audience, account.updateMember(audience, existing, input, call.source, { skipMergeValidation: skipMergeValidation(call) }), baseUrl) };
    const email = (input.email_address as string).trim();
    const named = pathId.includes('@') ? subscriberHash(pathId) : pathId.toLowerCase();
    if (named !== subscriberHash(email)) {
      const holder = audience.members.get(subscriberHash(email));
      if (holder) throw memberExists(holder.emailAddress);
      throw invalidResource([{ field: 'email_address', message: `The subscriber hash in the URL (${pathId}) is not the MD5 hash of the lower-cased email_address.` }]);
    }
    const created = account.createMember(audience, { ...input, status: input.status ?? input.status_if_new }, call.source, { skipMergeValidation: skipMergeValidation(call) });
    return { status: 200, body: memberJson(audience, created, baseUrl) };
  });
  // "Update list member" (PATCH): partial; merge_fields merge key by key.
  route('PATCH', '/3.0/lists/{list_id}/members/{subscriber_hash}', (call) => {
    const audience = listOf(call);
    const member = memberOf(call, audience);
    const input = object(call.body) as MemberInput;
    // "Update list member" takes status subscribed, unsubscribed, cleaned or pending.
    if (input.status !== undefined && !['subscribed', 'unsubscribed', 'cleaned', 'pending'].includes(String(input.status))) {
      throw invalidResource([{ field: 'status', message: 'Value must be one of: subscribed, unsubscribed, cleaned, pending' }]);
    }
    return { status: 200, body: memberJson(audience, account.updateMember(audience, member, input, call.source, { skipMergeValidation: skipMergeValidation(call) }), baseUrl) };
  });
  // "Archive list member" (DELETE): 204, the member stays with status archived. A member that is archived already,
  // pending or cleaned ("bounced") is not archived: 405 (memberCannotBeArchived, recorded for an archived member).
  // UNCONFIRMED: that pending and cleaned members get the very same answer, as its detail says they do.
  route('DELETE', '/3.0/lists/{list_id}/members/{subscriber_hash}', (call) => {
    const audience = listOf(call);
    const member = memberOf(call, audience);
    if (member.status === 'archived' || member.status === 'pending' || member.status === 'cleaned') throw memberCannotBeArchived();
    account.archiveMember(audience, member, call.source);
    return { status: 204 };
  });
  // "Delete list member" (permanent): 204; the member is gone, and its address cannot be added again
  // (forgottenEmailNotSubscribed).
  route('POST', '/3.0/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent', (call) => {
    const audience = listOf(call);
    account.deletePermanently(audience, memberOf(call, audience));
    return { status: 204 };
  });
  // "List member tags" and "Add or remove member tags".
  route('GET', '/3.0/lists/{list_id}/members/{subscriber_hash}/tags', (call) => {
    const audience = listOf(call);
    const member = memberOf(call, audience);
    const tags = member.tags.map((tag) => ({ id: tag.id, name: tag.name, date_added: mailchimpTime(member.lastChanged) }));
    return { status: 200, body: { tags: page(tags, call.query), total_items: tags.length, _links: [] } };
  });
  route('POST', '/3.0/lists/{list_id}/members/{subscriber_hash}/tags', (call) => {
    const audience = listOf(call);
    const member = memberOf(call, audience);
    const tags = object(call.body).tags;
    if (!Array.isArray(tags)) throw invalidResource([{ field: 'tags', message: 'This value should not be blank.' }]);
    const parsed = tags.map((tag: unknown, index) => {
      const { name, status } = (tag ?? {}) as { name?: unknown; status?: unknown };
      if (typeof name !== 'string' || name === '' || (status !== 'active' && status !== 'inactive')) {
        throw invalidResource([{ field: `tags.item:${index}`, message: 'Each tag needs a name and a status of active or inactive.' }]);
      }
      return { name, status: status as 'active' | 'inactive' };
    });
    account.updateTags(audience, member, parsed);
    return { status: 204 };
  });

  // Webhooks — "List webhooks", "Add webhook", "Get webhook info", "Update webhook", "Delete webhook".
  route('GET', '/3.0/lists/{list_id}/webhooks', (call) => {
    const audience = listOf(call);
    const hooks = [...audience.webhooks.values()];
    return { status: 200, body: { webhooks: hooks.map((hook) => webhookJson(audience, hook, baseUrl)), list_id: audience.id, total_items: hooks.length, _links: [] } };
  });
  route('POST', '/3.0/lists/{list_id}/webhooks', async (call) => {
    const audience = listOf(call);
    return { status: 200, body: webhookJson(audience, await hub.create(audience, object(call.body)), baseUrl) };
  });
  route('GET', '/3.0/lists/{list_id}/webhooks/{webhook_id}', (call) => {
    const audience = listOf(call);
    const hook = audience.webhooks.get(call.params.webhook_id as string);
    if (!hook) throw resourceNotFound();
    return { status: 200, body: webhookJson(audience, hook, baseUrl) };
  });
  route('PATCH', '/3.0/lists/{list_id}/webhooks/{webhook_id}', async (call) => {
    const audience = listOf(call);
    return { status: 200, body: webhookJson(audience, await hub.update(audience, call.params.webhook_id as string, object(call.body)), baseUrl) };
  });
  route('DELETE', '/3.0/lists/{list_id}/webhooks/{webhook_id}', (call) => {
    hub.remove(listOf(call), call.params.webhook_id as string);
    return { status: 204 };
  });

  // Batch operations.
  const batches = new BatchQueue(() => clock.nowMs(), runOperation, { startDelaySeconds: options.batchTiming?.startDelaySeconds ?? 2, operationsPerSecond: options.batchTiming?.operationsPerSecond ?? 500 });
  route('POST', '/3.0/batches', (call) => ({ status: 200, body: batches.json(batches.submit(call.body), baseUrl) }));
  route('GET', '/3.0/batches', (call) => {
    const all = batches.list();
    return { status: 200, body: { batches: page(all, call.query).map((batch) => batches.json(batch, baseUrl)), total_items: all.length, _links: [] } };
  });
  route('GET', '/3.0/batches/{batch_id}', (call) => ({ status: 200, body: batches.json(batches.get(call.params.batch_id as string), baseUrl) }));
  route('DELETE', '/3.0/batches/{batch_id}', (call) => {
    batches.remove(call.params.batch_id as string);
    return { status: 204 };
  });

  /** One batch operation, through the same routes as a request (webhooks, which call out, are not taken). */
  function runOperation(operation: BatchOperationInput): { status: number; body: unknown } {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(operation.params ?? {})) query.set(name, String(value));
    let body: unknown = undefined;
    try {
      if (operation.body !== undefined && operation.body !== '') body = JSON.parse(operation.body);
      const matched = match(operation.method, `/3.0${operation.path}`);
      if (!matched.route) throw matched.problem;
      const result = matched.route.handle({ method: operation.method, params: matched.params, query, body, source: 'api' });
      if (result instanceof Promise) throw invalidResource([{ field: 'path', message: 'This operation is not available in a batch.' }]);
      return { status: result.status, body: result.body };
    } catch (error) {
      const problem = error instanceof SyntaxError ? jsonParseError() : error;
      if (problem instanceof MailchimpProblem) return { status: problem.status, body: problem.body() };
      throw error;
    }
  }

  function match(method: string, path: string): { route: Route; params: Record<string, string>; problem: null } | { route: null; params: null; problem: MailchimpProblem } {
    const allowed: string[] = [];
    for (const candidate of routes) {
      const found = candidate.regex.exec(path);
      if (!found) continue;
      if (candidate.method !== method) {
        allowed.push(candidate.method);
        continue;
      }
      const params: Record<string, string> = {};
      candidate.names.forEach((name, index) => (params[name] = found[index + 1] as string));
      return { route: candidate, params, problem: null };
    }
    return { route: null, params: null, problem: allowed.length > 0 ? methodNotAllowed(allowed) : resourceNotFound() };
  }

  /**
   * "Authentication": an API key as HTTP basic auth with any user name (`anystring:<key>`), or an OAuth2 access token
   * as a bearer token (`Authorization: Bearer <token>`; the older `OAuth <token>` and `apikey <key>` schemes too). Which
   * secret works with which scheme is not documented, so either works with either.
   */
  function credentialOf(header: string | undefined): string {
    if (!header) throw apiKeyMissing();
    const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
    let secret = value;
    if (/^basic$/i.test(scheme)) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      secret = decoded.slice(decoded.indexOf(':') + 1);
    } else if (!/^(bearer|oauth|apikey)$/i.test(scheme)) {
      throw apiKeyMissing();
    }
    if (!apiKeys.has(secret) && !oauthTokens.has(secret)) throw apiKeyInvalid();
    return secret;
  }

  async function answer(request: IncomingMessage, url: URL): Promise<{ result: RouteResult; route: string | null }> {
    const method = request.method ?? 'GET';
    if (forcedFailures > 0) {
      forcedFailures--;
      return { result: problemResult(tooManyRequests()), route: null };
    }
    const matched = match(method, url.pathname);
    const routeKey = matched.route ? `${method} ${matched.route.pattern.replace(/^\/3\.0/, '')}` : null;
    try {
      credentialOf(request.headers.authorization);
      if (!matched.route) throw matched.problem;
      const raw = await readBody(request);
      let body: unknown = undefined;
      if (raw.trim() !== '') {
        try {
          body = JSON.parse(raw);
        } catch {
          throw jsonParseError();
        }
      }
      batches.catchUp();
      const result = await matched.route.handle({ method, params: matched.params, query: url.searchParams, body, source: 'api' });
      return { result, route: routeKey };
    } catch (error) {
      if (error instanceof MailchimpProblem) return { result: problemResult(error), route: routeKey };
      throw error;
    }
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/batch-results/')) {
      void answerArchive(request, response, url);
      return;
    }
    // "10 simultaneous connections" per user: counted from the request's arrival to its answer, per credential.
    const who = request.headers.authorization ?? '';
    const open = (inFlight.get(who) ?? 0) + 1;
    inFlight.set(who, open);
    maxInFlight = Math.max(maxInFlight, open);
    response.on('close', () => inFlight.set(who, (inFlight.get(who) ?? 1) - 1));
    const answered =
      open > connectionLimit ? Promise.resolve({ result: problemResult(tooManyRequests()), route: null }).finally(() => request.resume()) : answer(request, url);
    answered
      .then(async (answer) => {
        if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
        return answer;
      })
      .then(({ result, route }) => {
        requests.push({ method: request.method ?? 'GET', path: url.pathname, query: url.search, route, status: result.status });
        send(response, result, clock.nowMs());
      })
      .catch((error: unknown) => {
        requests.push({ method: request.method ?? 'GET', path: url.pathname, query: url.search, route: null, status: 500 });
        send(response, { status: 500, body: { type: 'about:blank', title: 'Fake failure', status: 500, detail: (error as Error).message, instance: '' } }, clock.nowMs());
      });
  });

  /** The pre-signed archive address: no Mailchimp credentials, and S3 refuses an Authorization header besides the signature. */
  async function answerArchive(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    await readBody(request);
    const id = /^\/batch-results\/([^/]+)\.tar\.gz$/.exec(url.pathname)?.[1] ?? '';
    requests.push({ method: request.method ?? 'GET', path: url.pathname, query: '', route: 'GET /batch-results/{batch_id}', status: 0 });
    const entry = requests.at(-1) as RequestLogEntry;
    if (request.headers.authorization !== undefined) {
      entry.status = 400;
      response
        .writeHead(400, { 'content-type': 'application/xml' })
        .end(
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified</Message></Error>',
        );
      return;
    }
    const archive = batches.archive(id, url.searchParams.get('X-Amz-Signature'));
    if (!archive) {
      entry.status = 403;
      response.writeHead(403, { 'content-type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
      return;
    }
    const bytes = await archive;
    entry.status = 200;
    response.writeHead(200, { 'content-type': 'application/x-gzip', 'content-length': String(bytes.length) }).end(bytes);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const memberFor = (hashOrEmail: string, audience: ListRecord): MemberRecord => {
    batches.catchUp();
    const member = account.findMember(audience, hashOrEmail);
    if (!member) throw new Error(`the fake has no member ${hashOrEmail} in audience ${audience.id}`);
    return member;
  };

  return {
    url: baseUrl,
    dc,
    apiKey: [...apiKeys][0] as string,
    oauthToken: [...oauthTokens][0] as string,
    close: async () => {
      await hub.idle();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
    account,
    list,
    clock: {
      now: () => new Date(clock.nowMs()),
      set: (time) => clock.set(time),
      advance: (seconds) => clock.advance(seconds),
    },
    createList: (name) => account.createList(name),
    addMergeField: (input, audience = list) => void account.addMergeField(audience, input),
    seedMember: (input, audience = list) => {
      const { lastChanged, ...fields } = input;
      const member = account.quietly(() => account.createMember(audience, { status: 'subscribed', ...fields }, 'admin', { skipMergeValidation: true }));
      if (lastChanged !== undefined) member.lastChanged = Math.floor(new Date(lastChanged).getTime() / 1000) * 1000;
      return member;
    },
    member: (hashOrEmail, audience = list) => {
      batches.catchUp();
      const member = account.findMember(audience, hashOrEmail);
      return member ? memberJson(audience, member, baseUrl) : null;
    },
    person: {
      edit: (hashOrEmail, input, audience = list) => void account.updateMember(audience, memberFor(hashOrEmail, audience), input, 'admin', { skipMergeValidation: true }),
      subscribe: (input, audience = list) => account.createMember(audience, { status: 'subscribed', ...input }, 'user'),
      unsubscribe: (hashOrEmail, audience = list) => void account.updateMember(audience, memberFor(hashOrEmail, audience), { status: 'unsubscribed' }, 'user'),
      archive: (hashOrEmail, audience = list) => account.archiveMember(audience, memberFor(hashOrEmail, audience), 'admin'),
      changeEmail: (hashOrEmail, email, audience = list) => void account.updateMember(audience, memberFor(hashOrEmail, audience), { email_address: email }, 'user', { skipMergeValidation: true }),
      clean: (hashOrEmail, audience = list) => account.clean(audience, memberFor(hashOrEmail, audience)),
      tag: (hashOrEmail, tags, audience = list) => account.updateTags(audience, memberFor(hashOrEmail, audience), tags),
    },
    webhooks: hub,
    batches,
    requests,
    countRequests: (key) => (key === undefined ? requests.length : requests.filter((entry) => entry.route === key).length),
    countWrites: () => requests.filter((entry) => entry.method !== 'GET' && entry.route !== null).length,
    failNextRequests: (count) => {
      forcedFailures = count;
    },
    maxConcurrent: () => maxInFlight,
  };
}

function integer(value: string | null, fallback: number, field: string): number {
  if (value === null || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw invalidResource([{ field, message: 'This value should be of type integer.' }]);
  return parsed;
}

/** An ISO 8601 time parameter ("Uses ISO 8601 time format: 2015-10-21T15:41:36+00:00"), as ms at whole seconds. */
function timeParameter(query: URLSearchParams, name: string): number | null {
  const value = query.get(name);
  if (value === null || value === '') return null;
  const time = Date.parse(value);
  // UNCONFIRMED wording.
  if (!Number.isFinite(time)) throw invalidResource([{ field: name, message: 'Please provide a valid ISO 8601 date' }]);
  return Math.floor(time / 1000) * 1000;
}

function problemResult(problem: MailchimpProblem): RouteResult {
  return {
    status: problem.status,
    body: problem.body(),
    headers: {
      'Content-Type': 'application/problem+json; charset=utf-8',
      'X-Request-Id': problem.instance,
      Link: '<https://us19.api.mailchimp.com/schema/3.0/ProblemDetailDocument.json>; rel="describedBy"',
      ...problem.headers,
    },
  };
}

function send(response: ServerResponse, result: RouteResult, nowMs: number): void {
  // Every answer carries the fake's time, as a server's Date header carries its own.
  const headers: Record<string, string> = { Date: new Date(nowMs).toUTCString(), ...result.headers };
  if (result.status === 204) {
    response.writeHead(204, headers).end();
    return;
  }
  headers['Content-Type'] ??= 'application/json; charset=utf-8';
  response.writeHead(result.status, headers).end(JSON.stringify(result.body ?? {}));
}
