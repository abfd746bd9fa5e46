/**
 * Requests to one HubSpot account over the operator's host policy (`guardedFetch`), with HubSpot's limits read as
 * HubSpot states them (Usage guidelines, https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines;
 * Error handling, https://developers.hubspot.com/docs/api-reference/error-handling):
 *
 * - A 429's body names the limit: `policyName` TEN_SECONDLY_ROLLING (the app's burst window, 10 seconds, in
 *   `X-HubSpot-RateLimit-Interval-Milliseconds`) is waited out; DAILY (the account's day, private apps) ends the pass
 *   with a {@link RateLimitedError} until midnight. The search endpoints' own "five requests per second per account"
 *   answers "You have reached your secondly limit." and is waited out a second. No 429 carries Retry-After.
 * - Before it is hit: searches of one account are spaced ({@link HubSpotClientOptions.searchSpacingMs}), and an
 *   answer whose `X-HubSpot-RateLimit-Remaining` is 0 holds further requests for the window's length.
 * - 423 Locked: "include a delay of at least 2 seconds"; 477: its Retry-After, in seconds; 502/503/504/521/523/524:
 *   "pause your requests for a few seconds, then retry" — for requests that may be repeated.
 * - The credential is asked for before every request, so an OAuth2 access token (30 minutes) refreshed by the
 *   credential store is picked up within a pass; a 401 is tried once more with a token that changed meanwhile.
 *
 * Not `@hubspot/api-client`: it sends every request through Node's global `fetch` or, given an `httpAgent`, through
 * `http.request` — neither can be routed through `guardedFetch` (its configuration takes no fetch and no dispatcher),
 * and its retry waits on `setTimeout` for fixed times, retries POSTs that create records after a 5xx, and gives up
 * on DAILY by rethrowing a generic error. docs/connectors/hubspot.md, "Why not @hubspot/api-client".
 */
import { responseExcerpt } from '../excerpt';
import { accessRefusalOf } from '../network';
import { ConnectorError, RateLimitedError } from '../types';
// The http connector's readings of Retry-After and its abortable wait, shared by every SaaS client.
export { parseRetryAfter as retryAfterMs } from '../http/client';
import { parseRetryAfter as retryAfterMs } from '../http/client';
import { sleep } from '../http/rateLimit';
export { sleep };

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface HubSpotClientOptions {
  fetch: typeof globalThis.fetch;
  now(): number;
  /** Waits; rejects when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** The longest wait for a rate limit within a pass; a longer one stops the pass (RateLimitedError). */
  maxWaitMs: number;
  /** Per try, headers and body together. */
  timeoutMs: number;
  /** Smallest gap between two searches of one account: "five requests per second per account", with room to spare. */
  searchSpacingMs: number;
}

export interface HubSpotResponse {
  method: HttpMethod;
  /** Method, path and query, for messages. */
  shown: string;
  status: number;
  headers: Headers;
  /** Parsed JSON, or null for an empty or non-JSON body. */
  body: unknown;
  text: string;
}

export interface RequestOptions {
  query?: Record<string, string>;
  body?: unknown;
  /** A search request: its own per-second limit, no rate-limit headers. */
  search?: boolean;
  /** Whether sending it twice does no harm (reads, updates, archives); a create is not. */
  repeatable: boolean;
}

/** How many rate-limit waits one request sits through before it gives up for this pass. */
const rateLimitWaits = 6;
/** Network failures and 5xx retried for requests that may be repeated. */
const failureRetries = 2;
/** 423 Locked: "Locks will last for 2 seconds". */
const lockedWaitMs = 2000;
const retryableStatuses = new Set([500, 502, 503, 504, 521, 523, 524]);

/**
 * Pacing shared by every client of one account and credential in this process: a pass may open two connectors on the
 * same account (contacts and companies), and HubSpot counts their requests together.
 */
const pacing = new Map<string, { nextSearchAt: number; heldUntil: number }>();

export class HubSpotClient {
  private readonly pace: { nextSearchAt: number; heldUntil: number };

  constructor(
    private readonly baseUrl: string,
    /** The current access token (asked of the credential store each time). */
    private readonly token: () => Promise<string>,
    /** The credential's name, for messages; never the secret. */
    private readonly credential: string,
    private readonly options: HubSpotClientOptions,
    private readonly closed: AbortSignal,
  ) {
    const key = `${baseUrl}\u0000${credential}`;
    let pace = pacing.get(key);
    if (!pace) {
      pace = { nextSearchAt: 0, heldUntil: 0 };
      pacing.set(key, pace);
    }
    this.pace = pace;
  }

  now(): number {
    return this.options.now();
  }

  /**
   * Sends a request and returns HubSpot's answer whatever its status (the caller knows what a 207 or a 404 means for
   * it), after waiting out short limits and retrying what may be repeated. Throws {@link RateLimitedError} for a limit
   * that lasts longer than the pass waits, {@link HubSpotCredentialsError} for a refused token and
   * {@link ConnectorError} for no answer at all.
   */
  async request(method: HttpMethod, path: string, options: RequestOptions): Promise<HubSpotResponse> {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
    const shown = `${method} ${url.pathname}${url.search}`;
    let waits = 0;
    let failures = 0;
    let tokenRetried = false;
    for (;;) {
      await this.waitForTurn(shown, options.search === true);
      const token = await this.currentToken();
      let response: HubSpotResponse;
      try {
        response = await this.tryOnce(method, url, shown, token, options.body);
      } catch (caught) {
        if (this.closed.aborted) throw new ConnectorError(`${shown}: the connector was closed`, { retryable: true, cause: caught });
        const refusal = accessRefusalOf(caught);
        if (refusal) throw new ConnectorError(`${shown}: ${refusal.message}`, { cause: refusal });
        const reason = caught instanceof Error && caught.name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : `the request failed: ${describeNetworkError(caught)}`;
        if (options.repeatable && failures < failureRetries) {
          await this.pause(backoffMs(failures++), shown);
          continue;
        }
        throw new ConnectorError(`${shown}: ${reason}${options.repeatable ? '' : '; it may or may not have been applied, so it is not repeated'}`, { retryable: options.repeatable, cause: caught, mayHaveApplied: !options.repeatable });
      }
      if (!options.search) this.noteRemaining(response);

      if (response.status === 429) {
        const limit = rateLimitOf(response);
        if (limit.policy === 'DAILY') {
          throw new RateLimitedError('HubSpot', nextUtcMidnight(this.options.now()), `the account's daily request limit is used up${dailyDetail(response)}; ${shown}`);
        }
        if (waits < rateLimitWaits && limit.waitMs <= this.options.maxWaitMs) {
          waits++;
          await this.pause(limit.waitMs, shown);
          continue;
        }
        throw new RateLimitedError('HubSpot', new Date(this.options.now() + limit.waitMs), `${limit.name}; ${shown}: ${errorText(response) || '429'}`);
      }
      if (response.status === 423 && waits < rateLimitWaits) {
        // Nothing was done: a locked request may be sent again, a create included.
        waits++;
        await this.pause(lockedWaitMs, shown);
        continue;
      }
      if (response.status === 477) {
        const waitMs = retryAfterMs(response.headers.get('retry-after'), this.options.now()) ?? 3_600_000;
        if (waitMs <= this.options.maxWaitMs && waits < rateLimitWaits) {
          waits++;
          await this.pause(waitMs, shown);
          continue;
        }
        throw new RateLimitedError('HubSpot', new Date(this.options.now() + waitMs), `the account is being migrated between data centres (477 Migration in Progress); ${shown}`);
      }
      if (retryableStatuses.has(response.status) && options.repeatable && failures < failureRetries) {
        await this.pause(backoffMs(failures++), shown);
        continue;
      }
      if (response.status === 401) {
        // Another process may have refreshed an OAuth2 token just now: one more try when the store holds another.
        if (!tokenRetried && (await this.currentToken()) !== token) {
          tokenRetried = true;
          continue;
        }
        throw new HubSpotCredentialsError(`${shown}: 401, HubSpot refused the access token of credential "${this.credential}"${detail(response)}: store a valid private-app token in it, or reconnect it if it is an OAuth2 app`);
      }
      if (response.status === 403) {
        throw new HubSpotCredentialsError(`${shown}: 403, the token of credential "${this.credential}" may not do this${detail(response)}: give the app the scopes docs/connectors/hubspot.md lists`);
      }
      return response;
    }
  }

  /** A JSON object answer with a 2xx status, or the error for any other. */
  async json(method: HttpMethod, path: string, options: RequestOptions): Promise<Record<string, unknown>> {
    const response = await this.request(method, path, options);
    if (response.status < 200 || response.status >= 300) throw this.failure(response);
    if (typeof response.body !== 'object' || response.body === null || Array.isArray(response.body)) {
      throw new ConnectorError(`${response.shown}: expected a JSON object, got ${response.text.trim() === '' ? 'an empty body' : responseExcerpt(response.text)}`);
    }
    return response.body as Record<string, unknown>;
  }

  /** The error for an answer the caller cannot use: status and HubSpot's own words; 5xx are worth retrying. */
  failure(response: HubSpotResponse, hint = ''): ConnectorError {
    return new ConnectorError(`${response.shown}: ${response.status}${hint ? `, ${hint}` : ''}${detail(response)}`, { retryable: response.status >= 500 });
  }

  private async currentToken(): Promise<string> {
    let token: string;
    try {
      token = (await this.token()).trim();
    } catch (error) {
      throw new HubSpotCredentialsError(`connection.auth.credential: cannot read credential "${this.credential}": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (token === '') throw new HubSpotCredentialsError(`connection.auth.credential: credential "${this.credential}" is empty: store the private-app token in it`);
    return token;
  }

  /** Waits for the account's next search slot, or until a window that showed no requests left has passed. */
  private async waitForTurn(shown: string, search: boolean): Promise<void> {
    const now = this.options.now();
    const until = search ? this.pace.nextSearchAt : this.pace.heldUntil;
    if (until > now) {
      const waitMs = until - now;
      if (waitMs > this.options.maxWaitMs) throw new RateLimitedError('HubSpot', new Date(until), `the app's ten-second request limit is used up; ${shown}`);
      await this.pause(waitMs, shown);
    }
    if (search) this.pace.nextSearchAt = Math.max(this.options.now(), this.pace.nextSearchAt) + this.options.searchSpacingMs;
  }

  /** "X-HubSpot-RateLimit-Remaining: 0": the next request would be refused until the window moves on. */
  private noteRemaining(response: HubSpotResponse): void {
    const remaining = response.headers.get('x-hubspot-ratelimit-remaining');
    if (remaining === null || Number(remaining) > 0) return;
    const interval = Number(response.headers.get('x-hubspot-ratelimit-interval-milliseconds'));
    this.pace.heldUntil = this.options.now() + (Number.isFinite(interval) && interval > 0 ? interval : 10_000);
  }

  private async tryOnce(method: HttpMethod, url: URL, shown: string, token: string, body: unknown): Promise<HubSpotResponse> {
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${token}`, 'user-agent': 'syncline' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.options.fetch(url, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.any([this.closed, AbortSignal.timeout(this.options.timeoutMs)]),
    });
    const text = await response.text();
    let parsed: unknown = null;
    if (/json/i.test(response.headers.get('content-type') ?? '') && text.trim() !== '') {
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        parsed = null;
      }
    }
    return { method, shown, status: response.status, headers: response.headers, body: parsed, text };
  }

  private async pause(ms: number, shown: string): Promise<void> {
    try {
      await this.options.sleep(ms, this.closed);
    } catch (caught) {
      throw new ConnectorError(`${shown}: the connector was closed`, { retryable: true, cause: caught });
    }
  }
}

/** HubSpot refused the credential: every further request would be refused too. Never a rate limit. */
export class HubSpotCredentialsError extends ConnectorError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retryable: false, cause: options.cause });
    this.name = 'HubSpotCredentialsError';
  }
}

/** Which limit a 429 is about, and how long to wait for it. */
function rateLimitOf(response: HubSpotResponse): { policy: string | null; name: string; waitMs: number } {
  const body = (response.body ?? {}) as { policyName?: unknown; message?: unknown };
  const policy = typeof body.policyName === 'string' ? body.policyName : null;
  if (policy === 'DAILY') return { policy, name: "the account's daily limit", waitMs: Number.POSITIVE_INFINITY };
  if (policy === 'TEN_SECONDLY_ROLLING') {
    const interval = Number(response.headers.get('x-hubspot-ratelimit-interval-milliseconds'));
    return { policy, name: "the app's ten-second limit", waitMs: Number.isFinite(interval) && interval > 0 ? interval : 10_000 };
  }
  if (policy === 'SECONDLY' || body.message === 'You have reached your secondly limit.') return { policy, name: 'the search limit of five requests a second', waitMs: 1000 };
  return { policy, name: 'a HubSpot rate limit', waitMs: retryAfterMs(response.headers.get('retry-after'), Date.now()) ?? 10_000 };
}

function dailyDetail(response: HubSpotResponse): string {
  const limit = response.headers.get('x-hubspot-ratelimit-daily');
  return limit ? ` (${limit} requests a day)` : '';
}

/**
 * The daily limit resets at midnight in the account's time zone, which the API does not say: the pass resumes at the
 * next midnight UTC, and a pass that finds the day not over yet stops again after one request.
 */
export function nextUtcMidnight(now: number): Date {
  const date = new Date(now);
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1));
}

/** HubSpot's own words about an error: its message and category (Error handling: every field optional). */
export function errorText(response: HubSpotResponse): string {
  const body = response.body;
  if (typeof body !== 'object' || body === null) return response.text.trim() === '' ? '' : responseExcerpt(response.text);
  const { message, category, correlationId } = body as { message?: unknown; category?: unknown; correlationId?: unknown };
  const parts: string[] = [];
  if (typeof message === 'string') parts.push(message.slice(0, 400));
  if (typeof category === 'string') parts.push(`(${category})`);
  if (typeof correlationId === 'string') parts.push(`correlationId ${correlationId}`);
  return parts.length > 0 ? parts.join(' ') : responseExcerpt(response.text);
}

function detail(response: HubSpotResponse): string {
  const text = errorText(response);
  return text ? ` — ${text}` : '';
}


function backoffMs(attempt: number): number {
  return 1000 * 2 ** attempt;
}

function describeNetworkError(caught: unknown): string {
  const cause = caught instanceof Error ? (caught.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : null;
  if (code === 'ECONNREFUSED') return 'cannot connect (connection refused)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the host name (${code}): check connection.baseUrl`;
  const text = typeof cause?.message === 'string' ? cause.message : caught instanceof Error ? caught.message : String(caught);
  return code ? `${text} (${code})` : text;
}

