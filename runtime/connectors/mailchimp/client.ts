/**
 * Requests to one Mailchimp account over the operator's host policy (`guardedFetch`), read as Mailchimp states its
 * rules ("Fundamentals", "Errors", https://mailchimp.com/developer/marketing/docs/):
 *
 * - Authentication: an API key as HTTP basic auth with any user name, or an OAuth2 access token as a bearer token.
 * - Errors are RFC 7807 problem documents (`type`, `title`, `status`, `detail`, `instance`, and for validation an
 *   `errors` array of `{field, message}`); messages quote Mailchimp's own words.
 * - "The Marketing API has a limit of 10 concurrent connections for your API key": the client keeps at most
 *   `maxConnections` requests open (fewer than 10, leaving room for other users of the key), and a 429 TooManyRequests
 *   is waited out a few times with growing pauses (Mailchimp sends no Retry-After; one that is sent is honoured). A
 *   limit that lasts longer than the pass waits ends the pass with a {@link RateLimitedError}, never a credential error.
 * - "Requests to the Marketing API time out at 120 seconds": no answer is awaited longer.
 *
 * Not @mailchimp/mailchimp_marketing: its last release (3.0.80, November 2022) sends through superagent 3.8.1 with its
 * own agent and offers no way to pass a `fetch` or a dispatcher, so its requests could not go through `guardedFetch`;
 * it also turns every non-2xx answer into a thrown superagent error and has no rate-limit handling.
 */
import { responseExcerpt } from '../excerpt';
import { accessRefusalOf } from '../network';
import { ConnectorError, RateLimitedError, type ConnectionContext } from '../types';
import { apiRoot, dataCenterOfKey, type MailchimpConnection } from './config';
// The http connector's readings of Retry-After and its abortable wait, shared by every SaaS client.
export { parseRetryAfter as retryAfterMs } from '../http/client';
import { parseRetryAfter as retryAfterMs } from '../http/client';
import { sleep } from '../http/rateLimit';
export { sleep };

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface MailchimpClientOptions {
  fetch: typeof globalThis.fetch;
  /** The local time (ms), for when a rate-limited pass may resume and for reading the server's clock. */
  now(): number;
  /** Waits; rejects when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** The longest rate-limit wait within a pass; a longer one stops the pass. */
  maxWaitMs: number;
  /** Per try: Mailchimp times requests out at 120 s. */
  timeoutMs: number;
  /** Requests open at once, under Mailchimp's 10 per user. */
  maxConnections: number;
}

export const clientDefaults: Omit<MailchimpClientOptions, 'fetch'> = {
  now: () => Date.now(),
  sleep,
  maxWaitMs: 60_000,
  timeoutMs: 120_000,
  maxConnections: 4,
};

export interface MailchimpResponse {
  method: HttpMethod;
  /** Method, path and query, for messages (the host is the connection's). */
  shown: string;
  status: number;
  headers: Headers;
  /** Parsed JSON, or null for an empty or non-JSON body. */
  body: unknown;
  text: string;
}

/** What the account's credential sends, and how to name it in a message without the secret. */
export interface MailchimpAuth {
  authorization: string;
  description: string;
  /** The data center an API key names; null for an OAuth token. */
  dataCenter: string | null;
}

/** Pauses between answers of 429 TooManyRequests within one request, before the pass gives up. */
const rateLimitPausesMs = [1000, 2000, 4000, 8000];
/** Network failures and 5xx retried for requests that may be repeated. */
const failureRetries = 2;
/** When a pass stopped by the connection limit may resume: Mailchimp names no time, connections free up as requests end. */
const rateLimitResumeMs = 60_000;

/** One connector's requests to its account. */
export class MailchimpClient {
  private open = 0;
  private readonly waiting: Array<() => void> = [];
  /** The server's clock minus ours (ms), from the last answer's Date header. */
  private clockOffset: number | null = null;

  constructor(
    /** https://us19.api.mailchimp.com, or the connection's baseUrl; paths go under /3.0. */
    readonly root: string,
    private readonly auth: MailchimpAuth,
    private readonly options: MailchimpClientOptions,
    private readonly closed: AbortSignal,
  ) {}

  url(path: string, query: Record<string, string | number> = {}): URL {
    const url = new URL(`${this.root}/3.0${path}`);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, String(value));
    return url;
  }

  now(): number {
    return this.options.now();
  }

  /** The server's time now, as its last Date header tells (whole seconds), or null before any answer. */
  serverNow(): number | null {
    return this.clockOffset === null ? null : this.options.now() + this.clockOffset;
  }

  /**
   * Sends a request and returns Mailchimp's answer whatever its status (the caller knows what a 404 means for it), after
   * waiting out short rate limits and retrying what may be repeated. Throws {@link RateLimitedError} for a long rate
   * limit and {@link ConnectorError} for refused credentials and for no answer at all.
   */
  async request(method: HttpMethod, path: string, init: { query?: Record<string, string | number>; body?: unknown } = {}): Promise<MailchimpResponse> {
    const url = this.url(path, init.query);
    const shown = `${method} ${url.pathname}${url.search}`;
    // A POST may not be repeated (a second batch, a second webhook) unless it is one that sets a state: member tags.
    const repeatable = method !== 'POST' || path.endsWith('/tags');
    let pauses = 0;
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      let response: MailchimpResponse;
      try {
        response = await this.limited(() => this.tryOnce(method, url, init.body, shown));
      } catch (caught) {
        if (this.closed.aborted) throw new ConnectorError(`${shown}: the connector was closed`, { retryable: true, cause: caught });
        const refusal = accessRefusalOf(caught);
        if (refusal) throw new ConnectorError(`${shown}: ${refusal.message}`, { cause: refusal });
        const reason = caught instanceof Error && caught.name === 'TimeoutError' ? `no answer within ${Math.round(this.options.timeoutMs / 1000)} s` : `the request failed: ${describeNetworkError(caught)}`;
        if (repeatable && attempt < failureRetries) {
          await this.pause(500 * 2 ** attempt, shown);
          continue;
        }
        throw new ConnectorError(`${shown}: ${reason}${repeatable ? '' : '; it may or may not have been applied, so it is not repeated'}`, { retryable: repeatable, cause: caught, mayHaveApplied: !repeatable });
      }
      if (response.status === 429) {
        const told = retryAfterMs(response.headers.get('retry-after'), this.options.now());
        const pause = told ?? rateLimitPausesMs[pauses];
        if (pause !== undefined && waited + pause <= this.options.maxWaitMs && pauses < rateLimitPausesMs.length) {
          pauses++;
          waited += pause;
          await this.pause(pause, shown);
          continue;
        }
        const resumeAt = new Date(this.options.now() + Math.max(told ?? 0, rateLimitResumeMs));
        throw new RateLimitedError('Mailchimp', resumeAt, `${shown}: ${problemText(response) || '429'}${waited > 0 ? `; still limited after waiting ${Math.round(waited / 1000)} s` : ''} (Mailchimp allows 10 simultaneous connections per user: another integration may share the key)`);
      }
      if (response.status >= 500 && repeatable && attempt < failureRetries) {
        await this.pause(500 * 2 ** attempt, shown);
        continue;
      }
      if (response.status === 401) {
        throw new MailchimpCredentialsError(
          `${shown}: 401, Mailchimp refused the credentials (${this.auth.description})${detail(response)}: check the stored key or token, and the data center (connection.server, or the -us19 of an API key)`,
        );
      }
      return response;
    }
  }

  /** A request whose answer must be 2xx with a JSON object; anything else is an error naming the request. */
  async json(method: HttpMethod, path: string, init: { query?: Record<string, string | number>; body?: unknown } = {}): Promise<Record<string, unknown>> {
    const response = await this.request(method, path, init);
    if (response.status < 200 || response.status >= 300) throw this.failure(response);
    if (typeof response.body !== 'object' || response.body === null || Array.isArray(response.body)) {
      throw new ConnectorError(`${response.shown}: expected a JSON object, got ${response.text.trim() === '' ? 'an empty body' : responseExcerpt(response.text)}`);
    }
    return response.body as Record<string, unknown>;
  }

  /** The error for an answer the caller cannot use: status and Mailchimp's own words; 5xx are worth retrying. */
  failure(response: Pick<MailchimpResponse, 'shown' | 'status' | 'body' | 'text'>, hint = ''): ConnectorError {
    const forbidden = response.status === 403 ? 'Mailchimp does not let this key or token do that' : '';
    return new ConnectorError(`${response.shown}: ${response.status}${hint || forbidden ? `, ${hint || forbidden}` : ''}${detail(response)}`, { retryable: response.status >= 500 });
  }

  /**
   * Downloads a batch's results archive. `response_body_url` is a pre-signed storage address: it takes no Mailchimp
   * credentials (and refuses an Authorization header beside its own signature).
   */
  async download(address: string): Promise<Uint8Array> {
    const shown = `GET ${new URL(address).pathname}`;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.limited(() =>
          this.options.fetch(address, { method: 'GET', redirect: 'follow', signal: AbortSignal.any([this.closed, AbortSignal.timeout(this.options.timeoutMs)]) }),
        );
        const bytes = new Uint8Array(await response.arrayBuffer());
        if (response.ok) return bytes;
        if (response.status < 500 || attempt >= failureRetries) {
          throw new ConnectorError(`${shown} (the batch's results archive): ${response.status} — ${responseExcerpt(Buffer.from(bytes).toString('utf8'))}`, { retryable: response.status >= 500 });
        }
      } catch (caught) {
        if (caught instanceof ConnectorError) throw caught;
        if (this.closed.aborted) throw new ConnectorError(`${shown}: the connector was closed`, { retryable: true, cause: caught });
        const refusal = accessRefusalOf(caught);
        if (refusal) throw new ConnectorError(`${shown}: ${refusal.message}`, { cause: refusal });
        if (attempt >= failureRetries) throw new ConnectorError(`${shown} (the batch's results archive): ${describeNetworkError(caught)}`, { retryable: true, cause: caught });
      }
      await this.pause(500 * 2 ** attempt, shown);
    }
  }

  /** Waits on the connector's clock (tests move a fake's); rejects when the connector closes. */
  async pause(ms: number, shown: string): Promise<void> {
    try {
      await this.options.sleep(ms, this.closed);
    } catch (caught) {
      throw new ConnectorError(`${shown}: the connector was closed`, { retryable: true, cause: caught });
    }
  }

  private async limited<T>(run: () => Promise<T>): Promise<T> {
    while (this.open >= this.options.maxConnections) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.open++;
    try {
      return await run();
    } finally {
      this.open--;
      this.waiting.shift()?.();
    }
  }

  private async tryOnce(method: HttpMethod, url: URL, body: unknown, shown: string): Promise<MailchimpResponse> {
    const headers: Record<string, string> = { accept: 'application/json', authorization: this.auth.authorization, 'user-agent': 'syncline' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.options.fetch(url, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.any([this.closed, AbortSignal.timeout(this.options.timeoutMs)]),
    });
    const text = await response.text();
    const date = Date.parse(response.headers.get('date') ?? '');
    if (Number.isFinite(date)) this.clockOffset = date - this.options.now();
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
}

/** Mailchimp refused the credentials: every further request would be refused too. */
export class MailchimpCredentialsError extends ConnectorError {
  constructor(message: string) {
    super(message, { retryable: false });
    this.name = 'MailchimpCredentialsError';
  }
}

/** Mailchimp's own words about an error: `title: detail`, then each `errors` entry as `field: message`. */
export function problemText(response: Pick<MailchimpResponse, 'body' | 'text'>): string {
  const body = response.body;
  if (typeof body !== 'object' || body === null) return response.text.trim() === '' ? '' : responseExcerpt(response.text);
  const { title, detail: said, errors } = body as { title?: unknown; detail?: unknown; errors?: unknown };
  const parts: string[] = [];
  if (typeof title === 'string' && title !== '') parts.push(title);
  if (typeof said === 'string' && said !== '') parts.push(said);
  if (Array.isArray(errors)) {
    for (const entry of errors) {
      const { field, message } = (entry ?? {}) as { field?: unknown; message?: unknown };
      if (typeof message === 'string') parts.push(typeof field === 'string' && field !== '' ? `${field}: ${message}` : message);
    }
  }
  return parts.length > 0 ? parts.join(' — ').slice(0, 500) : responseExcerpt(response.text);
}

function detail(response: Pick<MailchimpResponse, 'body' | 'text'>): string {
  const text = problemText(response);
  return text ? ` — ${text}` : '';
}

/**
 * The Authorization header for a stored credential. A `basic` credential is sent as it is (the password being the API
 * key); a token that looks like an API key (32 hex and `-us19`) as basic auth with the user name "syncline", as
 * Mailchimp documents for keys; any other token — an `oauth2` credential's access token — as a bearer token. Mailchimp's
 * OAuth2 access tokens do not expire ("Access Data on Behalf of Other Users with OAuth 2"), so the credential store
 * keeps using the one it holds until Mailchimp refuses it.
 */
export async function mailchimpAuth(context: Pick<ConnectionContext, 'resolveCredential' | 'resolveAuth'>, credential: string): Promise<MailchimpAuth> {
  let resolved: { kind: 'bearer'; token: string } | { kind: 'basic'; username: string; password: string };
  try {
    resolved = context.resolveAuth ? await context.resolveAuth(credential) : { kind: 'bearer', token: await context.resolveCredential(credential) };
  } catch (error) {
    throw new ConnectorError(`connection.auth.credential: cannot read credential "${credential}": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (resolved.kind === 'basic') {
    const password = resolved.password.trim();
    return { authorization: `Basic ${Buffer.from(`${resolved.username}:${password}`).toString('base64')}`, description: `API key from credential "${credential}"`, dataCenter: dataCenterOfKey(password) };
  }
  const token = resolved.token.trim();
  if (token === '') throw new ConnectorError(`connection.auth.credential: credential "${credential}" is empty: store the Mailchimp API key or OAuth token in it`);
  const dataCenter = dataCenterOfKey(token);
  if (dataCenter) return { authorization: `Basic ${Buffer.from(`syncline:${token}`).toString('base64')}`, description: `API key from credential "${credential}"`, dataCenter };
  return { authorization: `Bearer ${token}`, description: `OAuth token from credential "${credential}"`, dataCenter: null };
}

/** The client for a connection: its credential, address and the operator's host policy. */
export async function mailchimpClient(
  connection: Pick<MailchimpConnection, 'auth' | 'server' | 'baseUrl' | 'maxWaitSeconds'>,
  context: Pick<ConnectionContext, 'resolveCredential' | 'resolveAuth'>,
  options: MailchimpClientOptions,
  closed: AbortSignal,
): Promise<MailchimpClient> {
  const auth = await mailchimpAuth(context, connection.auth.credential);
  const root = apiRoot(connection, auth.dataCenter);
  if (root === null) {
    throw new ConnectorError(
      'connection.server: is required with an OAuth token, which names no data center: the prefix of your account, e.g. "us19" (https://login.mailchimp.com/oauth2/metadata answers it as `dc` for the token)',
    );
  }
  return new MailchimpClient(root, auth, options, closed);
}


function describeNetworkError(caught: unknown): string {
  const cause = caught instanceof Error ? (caught.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : null;
  if (code === 'ECONNREFUSED') return 'cannot connect (connection refused)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the host name (${code}): check connection.server`;
  const text = typeof cause?.message === 'string' ? cause.message : caught instanceof Error ? caught.message : String(caught);
  return code ? `${text} (${code})` : text;
}

