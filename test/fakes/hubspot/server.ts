import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../../support/http';
import { pathParams, pathPattern, type PathPattern } from '../pathPattern';
import { DailyCount, oauthAppTenSecondly, privateAppLimits, RollingWindow, searchPerSecond, tenSecondsMs, type Tier } from './limits';
import {
  defaultProperties,
  isoMillis,
  modifiedProperty,
  objectTypes,
  Portal,
  singularName,
  type CrmObject,
  type ObjectState,
  type ObjectType,
  type PropertyDefinition,
  type PropertyInput,
  textOf,
} from './portal';
import {
  authenticationExpired,
  authenticationNotFound,
  contactExistsMessage,
  duplicateIds,
  HubSpotError,
  invalidInput,
  objectNotFound,
  objectsNotFound,
  propertyValuesMessage,
  rateLimited,
  searchRateLimited,
  standardError,
  tooManyInputs,
} from './responses';
import { search } from './search';
import { WebhookSender, type Delivery, type Subscription, type WebhookEvent } from './webhooks';

/**
 * A stateful fake of HubSpot's CRM v3 objects API for contacts and companies — list, read, search, batch read,
 * create, update and archive, the properties API, rate limits and signed webhooks — on node:http, 127.0.0.1, a free
 * port. Built from HubSpot's documentation and its published OpenAPI specs (HubSpot/HubSpot-public-api-spec-
 * collection, CRM Contacts / Companies / Properties v3); each behaviour carries its source beside it and SOURCES.md
 * lists them. Time never moves by itself: timestamps come from the fake's clock, which a test sets or advances.
 */

export interface HubSpotFakeOptions {
  portalId?: number;
  appId?: number;
  /** The app's client secret, which signs webhook deliveries. */
  clientSecret?: string;
  /** Private-app access tokens the API accepts. */
  privateAppTokens?: string[];
  /** OAuth access tokens the API accepts (public app installs). */
  oauthTokens?: string[];
  /** The account's subscription tier: the private-app limits. Default starter (100 / 10 s, 250,000 a day). */
  tier?: Tier;
  /** The clock's start. Default: the real time when the fake starts. */
  clockStart?: Date | number;
  /**
   * The clock runs with real time (from `clockStart`, moved on by `advance`) instead of standing still. For tests in
   * which the runtime opens the connector and keeps real time itself: a frozen clock would count all its searches in
   * one second. Default false.
   */
  realTime?: boolean;
  /** How long after a write the search index shows it (ms). Default 10 s: "a few moments". */
  searchLagMs?: number;
}

/** One request the fake answered, for tests that count calls. */
export interface RequestLogEntry {
  method: string;
  path: string;
  /** The route it matched, e.g. "POST /crm/v3/objects/{objectType}/batch/update", or null when none did. */
  route: string | null;
  status: number;
  /** How many `inputs` a batch request carried. */
  inputs: number | null;
  body: unknown;
}

export interface HubSpotFake {
  /** http://127.0.0.1:PORT — what a client uses in place of https://api.hubapi.com. */
  url: string;
  close(): Promise<void>;
  portal: Portal;
  tokens: { privateApp: string; oauth: string };
  clock: { now(): Date; set(time: Date | number): void; advance(ms: number): void };
  /** Adds a property definition (a custom property, as an admin creates in Settings › Properties). */
  defineProperty(type: ObjectType, input: PropertyInput): PropertyDefinition;
  /** An object that has been in the account a while: indexed for search at once unless `indexed: false`. */
  seed(type: ObjectType, properties: Record<string, unknown>, at?: { createdAt?: number; updatedAt?: number; indexed?: boolean }): string;
  /** A person's edits in HubSpot: they move the last-modified date and fire webhooks like any write. */
  personCreate(type: ObjectType, properties: Record<string, unknown>): string;
  personUpdate(type: ObjectType, id: string, properties: Record<string, unknown>): void;
  personArchive(type: ObjectType, id: string): void;
  /** Runs `callback` after each search is answered: a person at work in HubSpot between a listing's requests. */
  afterEachSearch(callback: () => void): void;
  personRestore(type: ObjectType, id: string): void;
  /** The object as the API would show it with every property it holds; archived ones included. */
  object(type: ObjectType, id: string): { id: string; properties: Record<string, string>; updatedAt: string; archived: boolean } | undefined;
  setSearchLag(ms: number): void;
  limits: {
    setTenSecondly(limit: number): void;
    setDaily(limit: number): void;
    setSearchPerSecond(limit: number): void;
    exhaustDaily(): void;
    /** The next `count` requests (any route, before authentication) answer this instead. */
    failNext(count: number, failure: { status: number; body?: Record<string, unknown>; headers?: Record<string, string> } | 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY'): void;
  };
  revokeToken(token: string): void;
  expireToken(token: string): void;
  addOAuthToken(token: string): void;
  webhooks: {
    clientSecret: string;
    configure(settings: { targetUrl: string; connectTo?: string; subscriptions: Array<Omit<Subscription, 'id'>> }): void;
    queued(): readonly WebhookEvent[];
    flush(): Promise<Delivery[]>;
    retryFailed(): Promise<Delivery[]>;
    deliveries: Delivery[];
  };
  requests: RequestLogEntry[];
  /** Requests answered for a route key ("POST /crm/v3/objects/{objectType}/search"), or all of them. */
  countRequests(route?: string): number;
}

interface Context {
  query: URLSearchParams;
  body: unknown;
  params: Record<string, string>;
  /** Who the token is for: "API" for HubSpot's own changeSource of an app's writes. */
  source: string;
}

interface RouteResult {
  status: number;
  body?: unknown;
}

interface Route extends PathPattern {
  method: string;
  pattern: string;
  search: boolean;
  handle(context: Context): RouteResult;
}

const maxBatchInputs = 100;

/** Starts the fake on 127.0.0.1 and a free port. */
export async function startHubSpotFake(options: HubSpotFakeOptions = {}): Promise<HubSpotFake> {
  const portalId = options.portalId ?? 62515;
  // The clock: `base` at the real instant `anchor`, running on from there when `realTime` is set.
  let base = options.clockStart === undefined ? Date.now() : new Date(options.clockStart).getTime();
  let anchor = Date.now();
  const now = () => (options.realTime ? base + (Date.now() - anchor) : base);
  const portal = new Portal(portalId, now, options.searchLagMs ?? 10_000);
  const sender = new WebhookSender(portalId, options.appId ?? 54321, options.clientSecret ?? 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy', now);
  portal.onChange((change) => sender.record(change));

  const privateTokens = new Set(options.privateAppTokens ?? ['pat-na1-11111111-2222-3333-4444-555555555555']);
  const oauthTokens = new Map<string, { expired: boolean }>((options.oauthTokens ?? ['oauth-access-token']).map((token) => [token, { expired: false }]));
  const tier = privateAppLimits[options.tier ?? 'starter'];
  // Each private app has its own burst window; each OAuth install its own; the daily count is the account's.
  const burst = new Map<string, RollingWindow>();
  let tenSecondlyOverride: number | null = null;
  const daily = new DailyCount(tier.daily);
  const searches = new RollingWindow(searchPerSecond, 1000);
  const forced: Array<{ status: number; body: Record<string, unknown>; headers: Record<string, string> }> = [];
  const requests: RequestLogEntry[] = [];
  const afterSearch: Array<() => void> = [];

  const burstFor = (token: string, oauth: boolean): RollingWindow => {
    let window = burst.get(token);
    if (!window) {
      window = new RollingWindow(tenSecondlyOverride ?? (oauth ? oauthAppTenSecondly : tier.tenSecondly), tenSecondsMs);
      burst.set(token, window);
    }
    return window;
  };

  // ------------------------------------------------------------ routes

  const routes: Route[] = [];
  const route = (method: string, pattern: string, handle: Route['handle'], kind: { search?: boolean } = {}): void => {
    routes.push({ method, pattern, ...pathPattern(pattern), search: kind.search ?? false, handle });
  };

  /**
   * The object type of the path. Only contacts and companies live in this fake; HubSpot answers an unknown type with
   * 400 "Unable to infer object type from: …" (UNCONFIRMED wording).
   */
  const objectType = (context: Context): ObjectType => {
    const name = context.params.objectType ?? '';
    if ((objectTypes as readonly string[]).includes(name)) return name as ObjectType;
    throw standardError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${name}`);
  };

  /**
   * `properties` as a query parameter: "A comma separated list of the properties to be returned" (OpenAPI), which
   * may also be repeated (style form, explode).
   */
  const queryProperties = (context: Context): string[] | null => {
    const names = context.query.getAll('properties').flatMap((value) => value.split(',')).filter((name) => name !== '');
    return names.length === 0 ? null : names;
  };

  /**
   * An object as the API shows it (OpenAPI `SimplePublicObject`): id, the asked-for properties (null when it holds no
   * value), createdAt, updatedAt, archived, archivedAt for archived ones. Without a list, the default properties
   * (Search, "Searchable CRM objects"). HubSpot adds its id and dates to any list asked for (UNCONFIRMED).
   */
  const objectJson = (type: ObjectType, object: CrmObject, state: ObjectState, asked: readonly string[] | null, extra: Record<string, unknown> = {}): Record<string, unknown> => {
    const names = asked === null ? defaultProperties[type] : [...new Set([...asked, 'hs_object_id', 'createdate', modifiedProperty[type]])];
    const properties: Record<string, string | null> = {};
    for (const name of names) if (portal.properties[type].has(name)) properties[name] = state.properties.get(name) ?? null;
    return {
      id: object.id,
      properties,
      createdAt: isoMillis(state.createdAt),
      updatedAt: isoMillis(state.updatedAt),
      archived: state.archivedAt !== null,
      ...(state.archivedAt !== null ? { archivedAt: isoMillis(state.archivedAt) } : {}),
      ...extra,
    };
  };

  const inputsOf = (body: unknown): Array<Record<string, unknown>> => {
    const inputs = (body as { inputs?: unknown } | null)?.inputs;
    if (!Array.isArray(inputs)) throw invalidInput('inputs must be a list');
    // Batch endpoints take up to 100 inputs (Contacts guide, "Batch" sections; the batch limit recorded by clients).
    if (inputs.length > maxBatchInputs) throw tooManyInputs(maxBatchInputs);
    return inputs.map((input) => (input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {}));
  };

  const refuseDuplicates = (ids: readonly string[]): void => {
    const seen = new Set<string>();
    const twice = ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
    if (twice.length > 0) throw duplicateIds([...new Set(twice)]);
  };

  const batchTimes = (started: number) => ({ startedAt: isoMillis(started), completedAt: isoMillis(now()) });

  /**
   * Results of a batch come in no promised order (the OpenAPI documents none): the fake lists them by a hash of the id,
   * so a client that pairs results with inputs by position fails here as it could against HubSpot.
   */
  const unordered = <T extends Record<string, unknown>>(results: T[]): T[] =>
    [...results].sort((a, b) => createHash('sha256').update(String(a.id)).digest().readUInt32BE(0) - createHash('sha256').update(String(b.id)).digest().readUInt32BE(0));

  // Objects — CRM objects v3, OpenAPI paths /crm/v3/objects/{objectType}…
  route('GET', '/crm/v3/objects/{objectType}', (context) => {
    const type = objectType(context);
    // `limit` default 10 (OpenAPI); 100 at most (Contacts guide, "Retrieve contacts"). UNCONFIRMED: a larger limit
    // is taken as 100 rather than refused.
    const limit = Math.min(100, Math.max(1, Number(context.query.get('limit') ?? 10) || 10));
    const archived = context.query.get('archived') === 'true';
    const after = context.query.get('after');
    // `after`: "The paging cursor token of the last successfully read resource". An opaque token in HubSpot's
    // example ("NTI1Cg%3D%3D", base64); the fake's is base64 of the next id.
    const from = after ? Number(Buffer.from(after, 'base64').toString('utf8')) : 0;
    const listed = [...portal.objects[type].values()].filter((object) => (object.state.archivedAt !== null) === archived && Number(object.id) >= from).sort((a, b) => Number(a.id) - Number(b.id));
    const page = listed.slice(0, limit);
    const next = listed[limit];
    const asked = queryProperties(context);
    return {
      status: 200,
      body: {
        results: page.map((object) => objectJson(type, object, object.state, asked)),
        ...(next ? { paging: { next: { after: Buffer.from(next.id).toString('base64'), link: `?after=${encodeURIComponent(Buffer.from(next.id).toString('base64'))}` } } } : {}),
      },
    };
  });

  route('GET', '/crm/v3/objects/{objectType}/{objectId}', (context) => {
    const type = objectType(context);
    const object = portal.find(type, context.params.objectId ?? '', context.query.get('archived') === 'true');
    if (!object) throw objectNotFound();
    return { status: 200, body: objectJson(type, object, object.state, queryProperties(context)) };
  });

  route(
    'POST',
    '/crm/v3/objects/{objectType}/search',
    (context) => {
      const type = objectType(context);
      const body = context.body && typeof context.body === 'object' ? (context.body as Record<string, unknown>) : {};
      const answer = search(portal, type, body);
      const asked = Array.isArray(body.properties) ? body.properties.map(String) : null;
      // The answer is made; whatever a test does now (a person's edit) happens between this search and the next.
      for (const callback of afterSearch) callback();
      // CollectionResponseWithTotalSimplePublicObject: {total, results, paging?: {next: {after}}}.
      return {
        status: 200,
        body: {
          total: answer.total,
          results: answer.results.map(({ object, state }) => objectJson(type, object, state, asked)),
          ...(answer.nextAfter !== null ? { paging: { next: { after: answer.nextAfter } } } : {}),
        },
      };
    },
    { search: true },
  );

  route('POST', '/crm/v3/objects/{objectType}/batch/read', (context) => {
    const type = objectType(context);
    const started = now();
    const inputs = inputsOf(context.body);
    const body = context.body as { properties?: unknown; idProperty?: unknown };
    const asked = Array.isArray(body.properties) && body.properties.length > 0 ? body.properties.map(String) : null;
    // archived: "Whether to return only results that have been archived" (OpenAPI, batch/read).
    const archived = context.query.get('archived') === 'true';
    const ids = [...new Set(inputs.map((input) => String(input.id ?? '')))];
    const results: Array<Record<string, unknown>> = [];
    const missing: string[] = [];
    for (const id of ids) {
      const object = portal.find(type, id, archived);
      if (object) results.push(objectJson(type, object, object.state, asked));
      else missing.push(id);
    }
    if (missing.length === 0) return { status: 200, body: { status: 'COMPLETE', results: unordered(results), ...batchTimes(started) } };
    // 207 multi-status with the ids it could not find (HubSpot/hubspot-api-php#619: "returns an HTTP 207 … when some
    // IDs are found and others are not").
    return { status: 207, body: { status: 'COMPLETE', results: unordered(results), numErrors: 1, errors: [objectsNotFound(singularName[type], missing)], ...batchTimes(started) } };
  });

  /**
   * Batch create. Error handling, "Multi-status errors": with a unique `objectWriteTraceId` on every input, the answer
   * shows which records were created and which were not (207, `errors[].context.objectWriteTraceId`); without them a
   * refused input fails the whole batch and nothing is created (hubspot-api-python#51: only the first error is told).
   */
  route('POST', '/crm/v3/objects/{objectType}/batch/create', (context) => {
    const type = objectType(context);
    const started = now();
    const inputs = inputsOf(context.body);
    const traces = inputs.map((input) => (typeof input.objectWriteTraceId === 'string' && input.objectWriteTraceId !== '' ? input.objectWriteTraceId : null));
    const multiStatus = traces.every((trace) => trace !== null) && new Set(traces).size === traces.length;
    const valuesOf = (input: Record<string, unknown>) => (input.properties && typeof input.properties === 'object' ? (input.properties as Record<string, unknown>) : {});

    if (!multiStatus) {
      // All or nothing: every input is checked before any is created.
      const emails = new Set<string>();
      for (const input of inputs) {
        const values = valuesOf(input);
        const problems = portal.problems(type, values);
        if (problems.length > 0) throw standardError(400, 'VALIDATION_ERROR', propertyValuesMessage(problems, portalId));
        const email = type === 'contacts' && typeof values.email === 'string' ? values.email.trim().toLowerCase() : '';
        if (email !== '') {
          const taken = [...portal.objects.contacts.values()].find((object) => object.state.archivedAt === null && object.state.properties.get('email')?.toLowerCase() === email);
          if (taken || emails.has(email)) throw standardError(409, 'CONFLICT', `Contact already exists. Existing ID: ${taken?.id ?? ''}`);
          emails.add(email);
        }
      }
    }
    const results: Array<Record<string, unknown>> = [];
    const errors: Array<Record<string, unknown>> = [];
    const emails = new Set<string>();
    inputs.forEach((input, index) => {
      const values = valuesOf(input);
      const outcome = portal.create(type, values, 'API', emails);
      const trace = traces[index];
      if (outcome.ok) {
        const email = type === 'contacts' ? outcome.object.state.properties.get('email')?.toLowerCase() : undefined;
        if (email) emails.add(email);
        results.push(objectJson(type, outcome.object, outcome.object.state, Object.keys(values), trace ? { objectWriteTraceId: trace } : {}));
      } else if ('problems' in outcome) {
        errors.push({ status: 'error', category: 'VALIDATION_ERROR', message: propertyValuesMessage(outcome.problems, portalId), context: { objectWriteTraceId: [trace] } });
      } else {
        errors.push({ status: 'error', category: outcome.category, message: outcome.message, context: { objectWriteTraceId: [trace], ...outcome.context } });
      }
    });
    if (errors.length === 0) return { status: 201, body: { status: 'COMPLETE', results: unordered(results), ...batchTimes(started) } };
    return { status: 207, body: { status: 'COMPLETE', results: unordered(results), numErrors: errors.length, errors, ...batchTimes(started) } };
  });

  /**
   * Batch update: "Provided property values will be overwritten. Read-only and non-existent properties will result in
   * an error" (OpenAPI). Ids it cannot find come back in a 207 as OBJECT_NOT_FOUND with the id and the input's
   * objectWriteTraceId in `context` while the other inputs are applied (recorded in rudder-transformer's HubSpot
   * batch/update fixtures). An input with invalid values fails alone when it carries an objectWriteTraceId, else the
   * whole batch (as for creates). Archived objects cannot be updated: they are not found.
   *
   * An email another contact holds (Portal.emailTakenBy) is refused the same way: with a trace id, a 207 entry
   * CONFLICT "Contact already exists. Existing ID: …" with `context: {objectWriteTraceId, existingId}` — the shape
   * recorded for batch create's multi-status conflicts — the other inputs applied; without, 409 for the whole batch,
   * nothing applied. UNCONFIRMED for batch/update: the OpenAPI gives its inputs an `objectWriteTraceId` and the endpoint
   * a 207 answer ("a 207 Multi-Status response when one or more of the batch operations fails", changelog
   * "Simplifying batch update response codes for CRM v3 APIs"), but no recorded conflict from it was found.
   */
  route('POST', '/crm/v3/objects/{objectType}/batch/update', (context) => {
    const type = objectType(context);
    const started = now();
    const inputs = inputsOf(context.body);
    refuseDuplicates(inputs.map((input) => String(input.id ?? '')));
    const valuesOf = (input: Record<string, unknown>) => (input.properties && typeof input.properties === 'object' ? (input.properties as Record<string, unknown>) : {});
    // All or nothing for inputs without a trace id: each is checked, in order, before any is applied.
    const pendingEmails = new Map<string, string>();
    for (const input of inputs) {
      const values = valuesOf(input);
      const traced = typeof input.objectWriteTraceId === 'string';
      const problems = portal.problems(type, values);
      if (problems.length > 0 && !traced) throw standardError(400, 'VALIDATION_ERROR', propertyValuesMessage(problems, portalId));
      const holder = portal.emailTakenBy(type, String(input.id ?? ''), values, pendingEmails);
      if (holder !== null && !traced) throw standardError(409, 'CONFLICT', contactExistsMessage(holder));
      const email = type === 'contacts' ? textOf(values.email)?.trim().toLowerCase() : undefined;
      if (email && holder === null) pendingEmails.set(email, String(input.id ?? ''));
    }
    const results: Array<Record<string, unknown>> = [];
    const errors: Array<Record<string, unknown>> = [];
    for (const input of inputs) {
      const id = String(input.id ?? '');
      const trace = typeof input.objectWriteTraceId === 'string' ? [input.objectWriteTraceId] : [];
      const values = valuesOf(input);
      const outcome = portal.update(type, id, values, 'API');
      if (outcome.ok) {
        results.push(objectJson(type, outcome.object, outcome.object.state, Object.keys(values), trace.length > 0 ? { objectWriteTraceId: trace[0] } : {}));
      } else if ('problems' in outcome) {
        errors.push({ status: 'error', category: 'VALIDATION_ERROR', message: propertyValuesMessage(outcome.problems, portalId), context: { objectWriteTraceId: trace, ids: [id] } });
      } else if (outcome.category === 'CONFLICT') {
        errors.push({ status: 'error', category: outcome.category, message: outcome.message, context: { objectWriteTraceId: trace, ...outcome.context } });
      } else {
        // UNCONFIRMED: one entry per missing input (a batch read groups them in one).
        errors.push(objectsNotFound(singularName[type], [id], trace));
      }
    }
    if (errors.length === 0) return { status: 200, body: { status: 'COMPLETE', results: unordered(results), ...batchTimes(started) } };
    return { status: 207, body: { status: 'COMPLETE', results: unordered(results), numErrors: errors.length, errors, ...batchTimes(started) } };
  });

  /**
   * Batch archive: 204 No Content (OpenAPI), "Archived contacts can be restored within 90 days". UNCONFIRMED: an id
   * that is not there (never was, or archived already) changes nothing and is not reported; the OpenAPI documents no
   * other answer.
   */
  route('POST', '/crm/v3/objects/{objectType}/batch/archive', (context) => {
    const type = objectType(context);
    const inputs = inputsOf(context.body);
    refuseDuplicates(inputs.map((input) => String(input.id ?? '')));
    for (const input of inputs) portal.archive(type, String(input.id ?? ''), 'API');
    return { status: 204 };
  });

  // Properties — CRM Properties v3, GET /crm/v3/properties/{objectType}: CollectionResponsePropertyNoPaging {results}.
  route('GET', '/crm/v3/properties/{objectType}', (context) => {
    const type = objectType(context);
    return { status: 200, body: { results: [...portal.properties[type].values()] } };
  });

  // ------------------------------------------------------------ request handling

  /** "Authorization: Bearer" with a private-app token or an OAuth access token (Authentication overview). */
  const authenticate = (header: string | undefined): { token: string; oauth: boolean } | HubSpotError => {
    const bearer = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
    const token = bearer?.[1]?.trim() ?? '';
    if (privateTokens.has(token)) return { token, oauth: false };
    const oauth = oauthTokens.get(token);
    if (oauth?.expired) return authenticationExpired();
    if (oauth) return { token, oauth: true };
    return authenticationNotFound();
  };

  /**
   * Usage guidelines, "Rate limits" headers: X-HubSpot-RateLimit-Max, -Remaining, -Interval-Milliseconds on every
   * non-search answer; -Daily and -Daily-Remaining for private apps only ("OAuth authenticated calls will not include
   * X-HubSpot-RateLimit-Daily or X-HubSpot-RateLimit-Daily-Remaining").
   */
  const limitHeaders = (window: RollingWindow, oauth: boolean): Record<string, string> => ({
    'X-HubSpot-RateLimit-Interval-Milliseconds': String(tenSecondsMs),
    'X-HubSpot-RateLimit-Max': String(window.limit),
    'X-HubSpot-RateLimit-Remaining': String(window.remaining(now())),
    ...(oauth ? {} : { 'X-HubSpot-RateLimit-Daily': String(daily.limit), 'X-HubSpot-RateLimit-Daily-Remaining': String(daily.remaining(now())) }),
  });

  const answer = async (request: IncomingMessage): Promise<{ status: number; body?: unknown; headers: Record<string, string>; route: string | null; requestBody: unknown }> => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    const raw = await readBody(request);
    let body: unknown = undefined;
    const matched = routes.find((candidate) => candidate.method === method && candidate.regex.test(url.pathname));
    const routeKey = matched ? `${matched.method} ${matched.pattern}` : null;
    const fail = (error: HubSpotError, headers: Record<string, string> = {}) => ({ status: error.status, body: error.body, headers: { ...headers, ...error.headers }, route: routeKey, requestBody: body });

    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        return fail(invalidInput('the body is not JSON'));
      }
    }
    const injected = forced.shift();
    if (injected) return { status: injected.status, body: injected.body, headers: injected.headers, route: routeKey, requestBody: body };

    const caller = authenticate(request.headers.authorization);
    if (caller instanceof HubSpotError) return fail(caller);
    let headers: Record<string, string> = {};
    if (matched?.search) {
      // Search: its own per-second limit, no rate-limit headers; it counts toward the day like any call.
      if (!searches.take(now())) return fail(searchRateLimited());
    } else {
      const window = burstFor(caller.token, caller.oauth);
      if (!window.take(now())) return fail(rateLimited('TEN_SECONDLY_ROLLING', limitHeaders(window, caller.oauth)));
      headers = limitHeaders(window, caller.oauth);
    }
    if (!caller.oauth && !daily.take(now())) return fail(rateLimited('DAILY', headers));
    if (!caller.oauth) headers['X-HubSpot-RateLimit-Daily-Remaining'] = String(daily.remaining(now()));
    if (!matched) return fail(standardError(404, 'OBJECT_NOT_FOUND', 'resource not found'), headers); // UNCONFIRMED
    const params = pathParams(matched, url.pathname);
    try {
      const result = matched.handle({ query: url.searchParams, body, params, source: 'API' });
      return { status: result.status, body: result.body, headers, route: routeKey, requestBody: body };
    } catch (error) {
      if (error instanceof HubSpotError) return fail(error, headers);
      throw error;
    }
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    answer(request).then(
      (result) => {
        const inputs = (result.requestBody as { inputs?: unknown } | undefined)?.inputs;
        requests.push({
          method: request.method ?? 'GET',
          path: request.url ?? '/',
          route: result.route,
          status: result.status,
          inputs: Array.isArray(inputs) ? inputs.length : null,
          body: result.requestBody ?? null,
        });
        const headers: Record<string, string> = { ...result.headers, 'X-HubSpot-Correlation-Id': randomUUID() };
        if (result.body === undefined) {
          response.writeHead(result.status, headers).end();
        } else {
          response.writeHead(result.status, { ...headers, 'Content-Type': 'application/json;charset=utf-8' }).end(JSON.stringify(result.body));
        }
      },
      (error: unknown) => {
        response.writeHead(500, { 'Content-Type': 'application/json;charset=utf-8' }).end(JSON.stringify({ status: 'error', message: String(error), category: 'INTERNAL_ERROR', correlationId: randomUUID() }));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const failure = (kind: 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY'): HubSpotError => (kind === 'SECONDLY' ? searchRateLimited() : rateLimited(kind));

  return {
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    portal,
    tokens: { privateApp: [...privateTokens][0] as string, oauth: [...oauthTokens.keys()][0] as string },
    clock: {
      now: () => new Date(now()),
      set: (time) => {
        base = new Date(time).getTime();
        anchor = Date.now();
      },
      advance: (ms) => {
        base += ms;
      },
    },
    defineProperty: (type, input) => portal.defineProperty(type, input),
    seed: (type, properties, at) => portal.seed(type, properties, at).id,
    personCreate: (type, properties) => {
      const outcome = portal.create(type, properties, 'CRM_UI');
      if (!outcome.ok) throw new Error(`the fake refused the create: ${JSON.stringify(outcome)}`);
      return outcome.object.id;
    },
    personUpdate: (type, id, properties) => {
      const outcome = portal.update(type, id, properties, 'CRM_UI');
      if (!outcome.ok) throw new Error(`the fake refused the update: ${JSON.stringify(outcome)}`);
    },
    personArchive: (type, id) => {
      if (!portal.archive(type, id, 'CRM_UI')) throw new Error(`no live ${type} ${id}`);
    },
    personRestore: (type, id) => {
      if (!portal.restore(type, id, 'CRM_UI')) throw new Error(`no archived ${type} ${id}`);
    },
    object: (type, id) => {
      const object = portal.objects[type].get(id);
      if (!object) return undefined;
      return { id, properties: Object.fromEntries(object.state.properties), updatedAt: isoMillis(object.state.updatedAt), archived: object.state.archivedAt !== null };
    },
    setSearchLag: (ms) => {
      portal.searchLagMs = ms;
    },
    limits: {
      setTenSecondly: (limit) => {
        tenSecondlyOverride = limit;
        for (const window of burst.values()) window.limit = limit;
      },
      setDaily: (limit) => {
        daily.limit = limit;
      },
      setSearchPerSecond: (limit) => {
        searches.limit = limit;
      },
      exhaustDaily: () => daily.exhaust(now()),
      failNext: (count, kind) => {
        for (let i = 0; i < count; i++) {
          if (typeof kind === 'string') {
            const error = failure(kind);
            forced.push({ status: error.status, body: error.body, headers: error.headers });
          } else {
            forced.push({ status: kind.status, body: kind.body ?? { status: 'error', message: 'fake failure', correlationId: randomUUID(), category: 'INTERNAL_ERROR' }, headers: kind.headers ?? {} });
          }
        }
      },
    },
    revokeToken: (token) => {
      privateTokens.delete(token);
      oauthTokens.delete(token);
    },
    expireToken: (token) => {
      const known = oauthTokens.get(token);
      if (known) known.expired = true;
    },
    addOAuthToken: (token) => {
      oauthTokens.set(token, { expired: false });
    },
    webhooks: {
      clientSecret: sender.clientSecret,
      configure: (settings) => sender.configure(settings),
      queued: () => sender.queued,
      flush: () => sender.flush(),
      retryFailed: () => sender.retryFailed(),
      deliveries: sender.deliveries,
    },
    requests,
    countRequests: (routeKey) => (routeKey === undefined ? requests.length : requests.filter((entry) => entry.route === routeKey).length),
    afterEachSearch: (callback) => void afterSearch.push(callback),
  };
}
