/**
 * Requests to one BambooHR company over the operator's host policy (`guardedFetch`), as BambooHR's documentation asks
 * to be talked to:
 *
 * - Authentication: HTTP Basic with the API key as the username and any password ("x").
 * - Content: BambooHR answers XML unless asked for JSON ("Send `Accept: application/json` to receive JSON; omit the
 *   header or send any other value to receive XML", OpenAPI description), so every request says `Accept:
 *   application/json`, and an XML answer anyway (a proxy that drops the header) is an error that says so, never a body
 *   misread. A JSON body is sent as exactly `Content-Type: application/json`: Request Custom Report parses anything
 *   else, `; charset=UTF-8` included, as XML.
 * - Throttling: "API requests can be throttled if BambooHR deems them to be too frequent. Implementations should
 *   always be ready for a 503 Service Unavailable response" (Technical Overview), with a `Retry-After` header ("API
 *   Error Code Definitions"); from September 16, 2026 the status is 429, and "Every rate-limited response includes a
 *   `Retry-After` header" ("Planned Changes to the API"). Both are read as a rate limit: a wait up to `maxWaitMs` is
 *   waited out, a longer one ends the pass cleanly with a {@link RateLimitedError}. A 503 without Retry-After is
 *   BambooHR being unavailable: retried with backoff where the request may be repeated. A 429 without one is not a rate
 *   limit but the account's employee limit (Technical Overview, "429 Limit Exceeded"), left to the caller.
 * - Errors: BambooHR puts its reason in the `X-BambooHR-Error-Message` header, which its help pages spell
 *   `X-BambooHR-Error-Messsage` ("the extra "s" in the message will be there"); both are read.
 *
 * Not an SDK: BambooHR publishes official SDKs for PHP and Python only (BambooHR/bhr-api-php, bhr-api-python); the one
 * npm package (node-bamboohr 1.0.2) is a third party's, built on the deprecated `request` library with the host written
 * in, XML only and without the calls or the throttling above (docs/connectors/bamboohr.md, "Why no SDK").
 */
import { plainExcerpt, responseExcerpt } from '../excerpt';
import { parseRetryAfter } from '../http/client';
import { accessRefusalOf } from '../network';
import { ConnectorError, RateLimitedError } from '../types';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface BambooHrClientOptions {
  fetch: typeof globalThis.fetch;
  /** The time, for when a throttled pass may resume. */
  now(): number;
  /** Waits out a Retry-After; rejects when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** The longest Retry-After waited out within a pass; a longer one stops the pass (RateLimitedError). */
  maxWaitMs: number;
  /** Per try, headers and body together. */
  timeoutMs: number;
}

export interface BambooHrResponse {
  method: HttpMethod;
  /** Method, path and query, for messages (the host is the connection's). */
  shown: string;
  status: number;
  headers: Headers;
  /** Parsed JSON, or null for an empty or non-JSON body. */
  body: unknown;
  text: string;
  /** The answer is XML: what BambooHR sends when it did not see `Accept: application/json`. */
  xml: boolean;
}

/** How many throttled answers one request waits out before it gives up for this pass. */
const throttleWaits = 3;
/** Network failures and 5xx retried for requests that may be repeated. */
const failureRetries = 2;

/** One connector's requests to its company. */
export class BambooHrClient {
  private readonly authorization: string;

  constructor(
    private readonly baseUrl: string,
    apiKey: string,
    /** Which credential the key came from, for a 401's message; never the key. */
    private readonly credentialName: string,
    private readonly options: BambooHrClientOptions,
    private readonly closed: AbortSignal,
  ) {
    // "Authentication": the API key is the username; the password is ignored ("x" by convention).
    this.authorization = `Basic ${Buffer.from(`${apiKey}:x`).toString('base64')}`;
  }

  url(path: string, query: Record<string, string> = {}): URL {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return url;
  }

  now(): number {
    return this.options.now();
  }

  /** The company and the credential whose key reaches it: what is learnt through this client holds for them. */
  get identity(): string {
    return `${this.baseUrl} ${this.credentialName}`;
  }

  /**
   * Sends a request and returns BambooHR's answer whatever its status (the caller knows what a 404 or a 409 means for
   * it), after waiting out short throttling and retrying what may be repeated. Throws {@link RateLimitedError} for
   * long throttling and {@link ConnectorError} for a refused key and for no answer at all.
   */
  async request(method: HttpMethod, url: URL, body?: unknown, options: { repeatable?: boolean } = {}): Promise<BambooHrResponse> {
    const shown = `${method} ${url.pathname}${url.search}`;
    // A create that got no answer may have created the employee: repeating it could hire them twice.
    const repeatable = options.repeatable ?? method === 'GET';
    let waits = 0;
    for (let attempt = 0; ; attempt++) {
      let response: BambooHrResponse;
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
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), this.options.now());
      // A throttled request was refused before BambooHR acted on it, so even a create is safe to send again.
      if ((response.status === 503 || response.status === 429) && retryAfter !== undefined) {
        if (retryAfter <= this.options.maxWaitMs && waits < throttleWaits) {
          waits++;
          await this.pause(retryAfter, shown);
          continue;
        }
        throw new RateLimitedError('BambooHR', new Date(this.options.now() + retryAfter), `${shown}: ${response.status}${detail(response)}; Retry-After ${Math.ceil(retryAfter / 1000)} s`);
      }
      if (response.status >= 500 && repeatable && attempt < failureRetries) {
        await this.pause(backoffMs(attempt), shown);
        continue;
      }
      if (response.status === 401) {
        throw new BambooHrCredentialsError(
          `${shown}: 401, BambooHR refused the API key from credential "${this.credentialName}": check that the credential holds an API key of an enabled BambooHR user (the key is sent as the Basic username)${detail(response)}`,
        );
      }
      return response;
    }
  }

  /** A request whose answer must be a 200 with JSON; anything else is an error naming the request. */
  async json(method: HttpMethod, url: URL, body?: unknown, options: { repeatable?: boolean } = {}): Promise<unknown> {
    const response = await this.request(method, url, body, options);
    if (response.status !== 200) throw this.failure(response);
    return this.jsonBody(response);
  }

  /** The JSON of a successful answer; an XML answer or an unreadable one is a clear error. */
  jsonBody(response: BambooHrResponse): unknown {
    if (response.xml) {
      throw new ConnectorError(
        `${response.shown}: BambooHR answered XML (${plainExcerpt(response.headers.get('content-type') ?? 'no Content-Type', 60)}), not JSON, although the request sent Accept: application/json. BambooHR answers XML when it does not see that header: a proxy between Syncline and BambooHR may drop or rewrite it. The answer begins ${responseExcerpt(response.text, 80)}`,
      );
    }
    if (response.body === null) throw new ConnectorError(`${response.shown}: expected JSON, got ${response.text.trim() === '' ? 'an empty body' : responseExcerpt(response.text)}`);
    return response.body;
  }

  /** The error for an answer the caller cannot use: status and BambooHR's own words; 5xx are worth retrying. */
  failure(response: BambooHrResponse, hint = ''): ConnectorError {
    return new ConnectorError(`${response.shown}: ${response.status}${hint ? `, ${hint}` : ''}${detail(response)}`, { retryable: response.status >= 500 });
  }

  private async tryOnce(method: HttpMethod, url: URL, body: unknown, shown: string): Promise<BambooHrResponse> {
    const headers: Record<string, string> = { accept: 'application/json', authorization: this.authorization, 'user-agent': 'syncline' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.options.fetch(url, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.any([this.closed, AbortSignal.timeout(this.options.timeoutMs)]),
    });
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    const xml = /xml/i.test(contentType) || (!/json/i.test(contentType) && /^\s*<[?a-z]/i.test(text));
    let parsed: unknown = null;
    if (!xml && text.trim() !== '') {
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        parsed = null;
      }
    }
    return { method, shown, status: response.status, headers: response.headers, body: parsed, text, xml };
  }

  private async pause(ms: number, shown: string): Promise<void> {
    try {
      await this.options.sleep(ms, this.closed);
    } catch (caught) {
      throw new ConnectorError(`${shown}: the connector was closed`, { retryable: true, cause: caught });
    }
  }
}

/** BambooHR refused the API key: every further request would be refused too. */
export class BambooHrCredentialsError extends ConnectorError {
  constructor(message: string) {
    super(message, { retryable: false });
    this.name = 'BambooHrCredentialsError';
  }
}

/**
 * BambooHR's own words about an error: the `X-BambooHR-Error-Message` header (or its help pages' spelling with three
 * s), else the webhooks API's `{"errors": [{"error": …, "issues": […]}]}` with the fields a 403 names
 * (`unknownFields`, `monitorFields`, `postFields`: `[{id, name}]`), else an excerpt of the body.
 */
export function errorText(response: BambooHrResponse): string {
  const header = response.headers.get('x-bamboohr-error-message') ?? response.headers.get('x-bamboohr-error-messsage');
  if (header) return plainExcerpt(header, 300);
  const errors = (response.body as { errors?: unknown } | null)?.errors;
  const list = Array.isArray(errors) ? errors : errors ? [errors] : [];
  const words = list.flatMap((entry) => webhookErrorWords(entry as Record<string, unknown> | null));
  if (words.length > 0) return plainExcerpt(words.join(': '), 300);
  return response.text.trim() === '' ? '' : responseExcerpt(response.text);
}

function webhookErrorWords(entry: Record<string, unknown> | null): string[] {
  const words = [entry?.error, ...(Array.isArray(entry?.issues) ? entry.issues : [])].filter((text): text is string => typeof text === 'string');
  for (const list of ['unknownFields', 'monitorFields', 'postFields']) {
    const fields = entry?.[list];
    const names = Array.isArray(fields) ? fields.map((field) => (field as { name?: unknown } | null)?.name).filter((name): name is string => typeof name === 'string') : [];
    if (names.length > 0) words.push(`${list} ${names.join(', ')}`);
  }
  return words;
}

function detail(response: BambooHrResponse): string {
  const text = errorText(response);
  return text ? ` — ${text}` : '';
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
