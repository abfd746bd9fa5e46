/**
 * Requests to one Zendesk account over the operator's host policy (`guardedFetch`), with Zendesk's rate limits read
 * as Zendesk states them: a 429 carries `Retry-After` in seconds, for the account's per-minute limit and for the
 * endpoints' own limits alike — the incremental exports' 10 requests a minute
 * (https://developer.zendesk.com/api-reference/introduction/rate-limits/), List Deleted Tickets' 10 a minute (Tickets
 * API, List Deleted Tickets › Limits). A wait up to `maxWaitMs` is waited out;
 * a longer one ends the pass cleanly with a {@link RateLimitedError}, never a credential error.
 *
 * Not node-zendesk: see docs/connectors/zendesk.md ("Why not node-zendesk") — in short, its 429 handling hands back an
 * Error object as the result instead of waiting, its incremental paging ignores `end_of_stream`, and its errors drop
 * the status that tells a 409 from a 404 from a 422.
 */
import { responseExcerpt } from '../excerpt';
import { accessRefusalOf } from '../network';
import { ConnectorError, RateLimitedError } from '../types';
// The http connector's readings of Retry-After and its abortable wait, shared by every SaaS client.
export { parseRetryAfter as retryAfterMs } from '../http/client';
import { parseRetryAfter as retryAfterMs } from '../http/client';
import { sleep } from '../http/rateLimit';
export { sleep };

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface ZendeskClientOptions {
  fetch: typeof globalThis.fetch;
  /** The time, for when a rate-limited pass may resume and for the export's one-minute rule. */
  now(): number;
  /** Waits out a Retry-After; rejects when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** The longest Retry-After waited out within a pass; a longer one stops the pass (RateLimitedError). */
  maxWaitMs: number;
  /** Per try, headers and body together. */
  timeoutMs: number;
}

export interface ZendeskResponse {
  method: HttpMethod;
  /** Path and query, for messages (the host is the connection's). */
  shown: string;
  status: number;
  headers: Headers;
  /** Parsed JSON, or null for an empty or non-JSON body. */
  body: unknown;
  text: string;
}

/** How many 429s one request waits out before it gives up for this pass. */
const rateLimitWaits = 3;
/** Network failures and 5xx retried for requests that may be repeated. */
const failureRetries = 2;

/** One connector's requests to its account. */
export class ZendeskClient {
  constructor(
    private readonly baseUrl: string,
    private readonly authorization: string,
    /** How the credential is used, for a 401's message; never the secret. */
    private readonly authDescription: string,
    private readonly options: ZendeskClientOptions,
    private readonly closed: AbortSignal,
  ) {}

  url(path: string, query: Record<string, string> = {}): URL {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return url;
  }

  now(): number {
    return this.options.now();
  }

  /**
   * Sends a request and returns Zendesk's answer whatever its status (the caller knows what a 404 or a 409 means for
   * it), after waiting out short rate limits and retrying what may be repeated. Throws {@link RateLimitedError} for a
   * long rate limit, and {@link ConnectorError} for refused credentials and for no answer at all.
   */
  async request(method: HttpMethod, url: URL, body?: unknown): Promise<ZendeskResponse> {
    const shown = `${method} ${url.pathname}${url.search}`;
    // A POST that got no answer may have created the ticket: repeating it could make a second one.
    const repeatable = method !== 'POST';
    let waits = 0;
    for (let attempt = 0; ; attempt++) {
      let response: ZendeskResponse;
      try {
        response = await this.tryOnce(method, url, body, shown);
      } catch (caught) {
        if (this.closed.aborted) throw new ConnectorError(`${shown}: the connector was closed`, { retryable: true, cause: caught });
        const refusal = accessRefusalOf(caught);
        if (refusal) throw new ConnectorError(`${shown}: ${refusal.message}`, { cause: refusal });
        const reason = caught instanceof Error && caught.name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : `the request failed: ${describeNetworkError(caught)}`;
        if (repeatable && attempt < failureRetries) {
          await this.pause(backoffMs(attempt), shown);
          continue;
        }
        throw new ConnectorError(`${shown}: ${reason}${repeatable ? '' : '; it may or may not have been applied, so it is not repeated'}`, { retryable: repeatable, cause: caught, mayHaveApplied: !repeatable });
      }
      if (response.status === 429) {
        const waitMs = retryAfterMs(response.headers.get('retry-after'), this.options.now()) ?? 60_000;
        if (waitMs <= this.options.maxWaitMs && waits < rateLimitWaits) {
          waits++;
          await this.pause(waitMs, shown);
          continue;
        }
        throw new RateLimitedError('Zendesk', new Date(this.options.now() + waitMs), `${limitName(url)}, ${shown}: ${errorText(response) || '429'}; Retry-After ${Math.ceil(waitMs / 1000)} s`);
      }
      if (response.status >= 500 && repeatable && attempt < failureRetries) {
        const waitMs = retryAfterMs(response.headers.get('retry-after'), this.options.now()) ?? backoffMs(attempt);
        if (waitMs <= this.options.maxWaitMs) {
          await this.pause(waitMs, shown);
          continue;
        }
      }
      if (response.status === 401) {
        throw new ZendeskCredentialsError(`${shown}: 401, Zendesk refused the credentials (${this.authDescription}): check the stored credential and connection.email${detail(response)}`);
      }
      return response;
    }
  }

  /** A GET whose answer must be a 200 with a JSON object; anything else is an error naming the request. */
  async getJson(url: URL): Promise<Record<string, unknown>> {
    const response = await this.request('GET', url);
    if (response.status !== 200) throw this.failure(response);
    if (typeof response.body !== 'object' || response.body === null || Array.isArray(response.body)) {
      throw new ConnectorError(`${response.shown}: expected a JSON object, got ${response.text.trim() === '' ? 'an empty body' : responseExcerpt(response.text)}`);
    }
    return response.body as Record<string, unknown>;
  }

  /** The error for an answer the caller cannot use: status and Zendesk's own words; 5xx are worth retrying. */
  failure(response: ZendeskResponse, hint = ''): ConnectorError {
    const retryable = response.status >= 500;
    return new ConnectorError(`${response.shown}: ${response.status}${hint ? `, ${hint}` : ''}${detail(response)}`, { retryable });
  }

  private async tryOnce(method: HttpMethod, url: URL, body: unknown, shown: string): Promise<ZendeskResponse> {
    const headers: Record<string, string> = { accept: 'application/json', authorization: this.authorization, 'user-agent': 'syncline' };
    // Zendesk reads no parameters from a body without this header (Requests, "Request format").
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

/** Zendesk refused the credentials: every further request would be refused too. */
export class ZendeskCredentialsError extends ConnectorError {
  constructor(message: string) {
    super(message, { retryable: false });
    this.name = 'ZendeskCredentialsError';
  }
}

/** Zendesk's own words about an error: `error`, `description` and each `details` entry, or an excerpt of the body. */
export function errorText(response: ZendeskResponse): string {
  const body = response.body;
  if (typeof body !== 'object' || body === null) return response.text.trim() === '' ? '' : responseExcerpt(response.text);
  const { error, description, details } = body as { error?: unknown; description?: unknown; details?: unknown };
  const parts: string[] = [];
  if (typeof error === 'string') parts.push(error);
  else if (typeof error === 'object' && error !== null) {
    const { title, message } = error as { title?: unknown; message?: unknown };
    if (typeof title === 'string') parts.push(title);
    if (typeof message === 'string') parts.push(message);
  }
  if (typeof description === 'string') parts.push(description);
  if (typeof details === 'object' && details !== null) {
    for (const entries of Object.values(details)) {
      if (!Array.isArray(entries)) continue;
      for (const entry of entries) {
        const text = (entry as { description?: unknown } | null)?.description;
        if (typeof text === 'string') parts.push(text);
      }
    }
  }
  return parts.length > 0 ? parts.join(': ').slice(0, 400) : responseExcerpt(response.text);
}

/** Whether Zendesk's 422 says the ticket is closed (Status: closed prevents ticket update). */
export function isClosedTicketError(response: ZendeskResponse): boolean {
  if (response.status !== 422 || typeof response.body !== 'object' || response.body === null) return false;
  const details = (response.body as { details?: Record<string, unknown> }).details;
  const status = details?.status;
  return Array.isArray(status) && status.some((entry) => (entry as { error?: unknown } | null)?.error === 'ClosedTicket');
}

function detail(response: ZendeskResponse): string {
  const text = errorText(response);
  return text ? ` — ${text}` : '';
}

function limitName(url: URL): string {
  if (url.pathname.startsWith('/api/v2/incremental/')) return 'the incremental export limit (10 requests a minute, 30 with the High Volume add-on)';
  if (/^\/api\/v2\/deleted_tickets(\.json)?$/.test(url.pathname)) return "the deleted tickets list's own limit (10 requests a minute, add-on or not)";
  return "the account's API rate limit";
}


function backoffMs(attempt: number): number {
  return 500 * 2 ** attempt;
}

function describeNetworkError(caught: unknown): string {
  const cause = caught instanceof Error ? (caught.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : null;
  if (code === 'ECONNREFUSED') return 'cannot connect (connection refused)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the host name (${code}): check connection.subdomain`;
  const text = typeof cause?.message === 'string' ? cause.message : caught instanceof Error ? caught.message : String(caught);
  return code ? `${text} (${code})` : text;
}

