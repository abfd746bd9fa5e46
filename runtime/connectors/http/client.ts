/**
 * Requests to one JSON API: auth, a shared rate limit, a cap on requests in flight, a timeout per try, and retries on
 * 429, 5xx and network failures that honour Retry-After (SPEC §7). Every error names the method and the URL, with a
 * query-string secret masked.
 */
import { plainExcerpt, responseExcerpt } from '../excerpt';
import { accessRefusalOf } from '../network';
import { ConnectorError, RateLimitedError } from '../types';
import type { HttpConnection } from './config';
import { sleep, sharedBucket, type TokenBucket } from './rateLimit';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  url: URL;
  body?: unknown;
  headers?: Record<string, string>;
  /** Repeating it after a lost answer does no harm: GET, PUT, DELETE, and a PATCH of absolute values. */
  idempotent: boolean;
}

export interface HttpResponse {
  method: HttpMethod;
  /** The URL with a query-string secret masked, for messages. */
  url: string;
  status: number;
  statusText: string;
  headers: Headers;
  text: string;
  /** An earlier try may have reached the server and lost its answer: a 404 for a DELETE then means done. */
  repeated: boolean;
}

/** Credentials turned into what each request carries. */
export interface ResolvedAuth {
  headers: Record<string, string>;
  query: { name: string; value: string } | null;
  /** How the credential is used, for a 401's message; never the secret. */
  description: string;
}

/** A request that failed for good, or that the engine should retry later (`retryAfterMs`, SPEC §7). */
export class HttpRequestError extends ConnectorError {
  readonly status: number | null;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { retryable: boolean; status?: number | null; retryAfterMs?: number | undefined; cause?: unknown; mayHaveApplied?: boolean }) {
    super(message, { retryable: options.retryable, cause: options.cause, mayHaveApplied: options.mayHaveApplied ?? false });
    this.name = 'HttpRequestError';
    this.status = options.status ?? null;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * What to do after a try whose outcome is unknown (a POST that timed out): `applied` ends the request as done.
 * `settled`: the API itself answered (a 5xx), so whatever that try did is done and a look-up sees it; without an
 * answer, or with a gateway's (502, 504), the API may still be working on it.
 */
export type AmbiguityCheck = (settled: boolean) => Promise<'applied' | 'not-applied'>;

/** A gateway answered for an API that did not answer in time or at all: the request may still be in progress behind it. */
const gatewayStatuses = new Set([502, 504]);

/** Network failures that happen before a request is sent: repeating one cannot apply it twice. */
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

interface Failure {
  message: string;
  /** The server may have acted on it. */
  maybeApplied: boolean;
  cause: unknown;
}

/** One connector's requests: its auth, its share of the rate limit, its cap on requests in flight. */
export class HttpClient {
  private readonly bucket: TokenBucket | null;
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly connection: HttpConnection,
    private readonly auth: ResolvedAuth | null,
    /** Aborts every request when the connector closes. */
    private readonly closed: AbortSignal,
    bucketKey: string,
    /** Connects only where the operator's host policy allows (network.ts guardedFetch). */
    private readonly fetch: typeof globalThis.fetch,
  ) {
    const limit = connection.rateLimit;
    this.bucket = limit ? sharedBucket(bucketKey, limit.requestsPerSecond, limit.burst ?? Math.max(1, Math.ceil(limit.requestsPerSecond))) : null;
  }

  /** A URL below baseUrl with the query-key credential added; `path` is already expanded. */
  url(path: string, query: Record<string, string> = {}): URL {
    const base = this.connection.baseUrl.replace(/\/+$/, '');
    const url = new URL(base + path);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return this.withAuthQuery(url);
  }

  /** Adds the query-key credential to a URL the API handed out (a Link header), once. */
  withAuthQuery(url: URL): URL {
    if (this.auth?.query && !url.searchParams.has(this.auth.query.name)) url.searchParams.set(this.auth.query.name, this.auth.query.value);
    return url;
  }

  /** The URL as messages show it: a query-string secret masked. */
  redact(url: URL | string): string {
    const copy = new URL(String(url));
    if (this.auth?.query && copy.searchParams.has(this.auth.query.name)) copy.searchParams.set(this.auth.query.name, '***');
    return copy.toString().replace(/%2A%2A%2A/g, '***');
  }

  /** Where a response's Link may point: the API's own origin only, so credentials never go elsewhere. */
  sameOrigin(url: URL): boolean {
    return url.origin === new URL(this.connection.baseUrl).origin;
  }

  /**
   * Sends a request, retrying what is safe to retry. Returns the last response, whatever its status (the caller knows
   * what a 404 means for it), or `applied` when `onAmbiguous` found that a lost try had done the work. Throws
   * {@link HttpRequestError} when no response came at all.
   */
  async send(request: HttpRequest, onAmbiguous?: AmbiguityCheck): Promise<HttpResponse | 'applied'> {
    const { attempts, baseMs, maxWaitMs } = this.connection.retries;
    const shown = `${request.method} ${this.redact(request.url)}`;
    let repeated = false;
    let lastFailure: Failure | null = null;
    for (let attempt = 0; ; attempt++) {
      let response: HttpResponse | null = null;
      let failure: Failure | null = null;
      try {
        response = await this.tryOnce(request, repeated);
      } catch (caught) {
        if (this.closed.aborted) throw new HttpRequestError(`${shown}: the connector was closed`, { retryable: true, cause: caught });
        // Asking again gets the same answer: only the operator can change the policy.
        const refusal = accessRefusalOf(caught);
        if (refusal) throw new HttpRequestError(`${shown}: ${refusal.message}`, { retryable: false, cause: refusal });
        failure = describeFailure(caught, this.connection.timeoutMs);
      }
      let retryAfterMs: number | undefined;
      let ambiguous = false;
      if (response) {
        const retryableStatus = response.status === 429 || response.status >= 500;
        if (!retryableStatus) return response;
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
        // A 429 was refused before any work; a 5xx may have happened after some.
        ambiguous = response.status !== 429 && !request.idempotent;
        if (ambiguous && !onAmbiguous) return response;
      } else if (failure) {
        lastFailure = failure;
        ambiguous = failure.maybeApplied && !request.idempotent;
        if (ambiguous && !onAmbiguous) {
          throw new HttpRequestError(`${shown}: ${failure.message}; it may or may not have been applied, so it is not repeated (give list.tagParam to let the connector check)`, {
            retryable: false,
            cause: failure.cause,
            mayHaveApplied: true,
          });
        }
      }
      if (ambiguous && onAmbiguous && (await onAmbiguous(response !== null && !gatewayStatuses.has(response.status))) === 'applied') return 'applied';
      // A 429 was turned away before any work; a 5xx or a lost answer may have done some.
      repeated ||= (response !== null && response.status !== 429) || (failure?.maybeApplied ?? false);
      const delay = retryAfterMs ?? backoffMs(baseMs, maxWaitMs, attempt);
      const lastTry = attempt + 1 >= attempts || delay > maxWaitMs;
      if (lastTry) {
        if (response) return response;
        const tries = attempt + 1;
        throw new HttpRequestError(`${shown}: ${lastFailure?.message ?? 'failed'} (${tries} ${tries === 1 ? 'try' : 'tries'})`, {
          retryable: true,
          cause: lastFailure?.cause,
        });
      }
      await sleep(delay, this.closed).catch((caught: unknown) => {
        throw new HttpRequestError(`${shown}: the connector was closed`, { retryable: true, cause: caught });
      });
    }
  }

  private async tryOnce(request: HttpRequest, repeated: boolean): Promise<HttpResponse> {
    await this.acquireSlot();
    try {
      await this.bucket?.take(this.closed);
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(new TimeoutReached()), this.connection.timeoutMs);
      try {
        const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'syncline', ...this.connection.headers, ...this.auth?.headers, ...request.headers };
        if (request.body !== undefined) headers['content-type'] = 'application/json';
        const response = await this.fetch(request.url, {
          method: request.method,
          headers,
          body: request.body === undefined ? null : JSON.stringify(request.body),
          signal: AbortSignal.any([this.closed, timeout.signal]),
          redirect: 'manual',
        });
        // The body is read under the same timeout: a server can stall mid-body as well as before the headers.
        const text = await response.text();
        return { method: request.method, url: this.redact(request.url), status: response.status, statusText: response.statusText, headers: response.headers, text, repeated };
      } finally {
        clearTimeout(timer);
      }
    } finally {
      this.releaseSlot();
    }
  }

  private async acquireSlot(): Promise<void> {
    while (this.inFlight >= this.connection.maxConcurrent) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
  }

  private releaseSlot(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }

  /** The error for a response the caller cannot use; 429 and 5xx are retryable, with the server's Retry-After. */
  statusError(response: HttpResponse, hint = ''): HttpRequestError {
    const retryable = response.status === 429 || response.status >= 500;
    let advice = hint;
    if (response.status === 401 || response.status === 403) {
      advice = `the API refused the credentials${this.auth ? ` (${this.auth.description})` : ' (no auth is configured)'}: check the stored credential and connection.auth`;
    }
    const detail = responseExcerpt(response.text);
    const statusText = plainHeader(response.statusText);
    return new HttpRequestError(
      `${response.method} ${response.url}: ${response.status}${statusText ? ` ${statusText}` : ''}${advice ? `: ${advice}` : ''}${detail ? ` — ${detail}` : ''}`,
      { retryable, status: response.status, retryAfterMs: retryable ? parseRetryAfter(response.headers.get('retry-after')) : undefined },
    );
  }

  /**
   * The error for a read the caller cannot use. A 429, or a 503 with Retry-After ("how long the user agent ought to
   * wait before making a follow-up request", RFC 9110 §10.2.3), that is still there after the retries within the
   * pass is the API's rate limit: the pass stops and its part is held until then (engine/pass/holds.ts), instead of
   * failing and being polled again at once. A 429 without a Retry-After is given a minute.
   */
  readError(response: HttpResponse, hint = ''): HttpRequestError | RateLimitedError {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    if (response.status !== 429 && !(response.status === 503 && retryAfterMs !== undefined)) return this.statusError(response, hint);
    const waitMs = retryAfterMs ?? 60_000;
    const detail = `${response.method} ${response.url}: ${response.status}${retryAfterMs === undefined ? ', no Retry-After (a minute assumed)' : `, Retry-After ${Math.round(waitMs / 1000)} s`}`;
    return new RateLimitedError(`the API at ${new URL(this.connection.baseUrl).host}`, new Date(Date.now() + waitMs), detail);
  }

  /** The response body as JSON, or an error naming the URL that says what came instead. */
  json(response: HttpResponse): unknown {
    const type = plainHeader(response.headers.get('content-type')) || 'no content type';
    if (response.text.trim() === '') {
      throw new HttpRequestError(`${response.method} ${response.url}: the response is empty where JSON was expected (status ${response.status}, ${type})`, { retryable: false, status: response.status });
    }
    try {
      return JSON.parse(response.text) as unknown;
    } catch {
      throw new HttpRequestError(`${response.method} ${response.url}: the response is not JSON (status ${response.status}, ${type})${excerptSuffix(response.text)}`, {
        retryable: false,
        status: response.status,
      });
    }
  }
}

class TimeoutReached extends Error {
  constructor() {
    super('timeout');
    this.name = 'TimeoutReached';
  }
}

function describeFailure(caught: unknown, timeoutMs: number): Failure {
  if (caught instanceof TimeoutReached || (caught instanceof Error && caught.cause instanceof TimeoutReached)) {
    return { message: `no response within ${timeoutMs} ms`, maybeApplied: true, cause: caught };
  }
  const cause = caught instanceof Error ? (caught.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : typeof (caught as { code?: unknown })?.code === 'string' ? (caught as { code: string }).code : null;
  if (code === 'ECONNREFUSED') return { message: 'cannot connect (connection refused): is the API running at that address?', maybeApplied: false, cause: caught };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { message: `cannot resolve the host name (${code})`, maybeApplied: false, cause: caught };
  const text = typeof cause?.message === 'string' ? cause.message : caught instanceof Error ? caught.message : String(caught);
  return { message: `the request failed: ${text}${code ? ` (${code})` : ''}`, maybeApplied: code === null || !notSentCodes.has(code), cause: caught };
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function backoffMs(baseMs: number, maxWaitMs: number, attempt: number): number {
  const ceiling = Math.min(maxWaitMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** `: "excerpt"` of a body, or nothing when it has nothing printable. */
function excerptSuffix(text: string): string {
  const excerpt = responseExcerpt(text);
  return excerpt ? `: ${excerpt}` : '';
}

/** A header value the server chose (reason phrase, content type), as short plain text for a message. */
function plainHeader(value: string | null): string {
  return plainExcerpt(value ?? '', 60);
}
