/**
 * Calls to one Moodle site's REST web service, `POST {baseUrl}/webservice/rest/server.php`, over the operator's host
 * policy (`guardedFetch`). Parameters travel form-encoded in the bracket syntax PHP builds arrays from
 * (`users[0][username]=ada`); the token goes in the body, never in a URL that could be logged.
 *
 * Moodle answers a failed call with HTTP 200 and `{"exception", "errorcode", "message"}` (webservice/rest/locallib.php,
 * `generate_error()`). Those are sorted here: the token, its service or its user's capabilities refused
 * ({@link MoodleAccessError}: every further call would be refused too) apart from a refusal of this call's input
 * ({@link MoodleCallError}: the writers isolate the record that caused it).
 *
 * Not `moodle-client` (npm): it sends through the deprecated `request` package and takes no `fetch`, so it cannot go
 * through `guardedFetch`; the protocol is one form POST (docs/connectors/moodle.md, "Why not moodle-client").
 */
import { responseExcerpt } from '../excerpt';
import { accessRefusalOf } from '../network';
import { ConnectorError } from '../types';
import { sleep } from '../http/rateLimit';
export { sleep };

/** A web-service parameter: scalars, lists (`name[0]`) and structures (`name[key]`). */
export type WsParam = string | number | boolean | readonly WsParam[] | { readonly [key: string]: WsParam };

export interface MoodleClientOptions {
  fetch: typeof globalThis.fetch;
  /** Waits between retries; rejects when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Per try, headers and body together. */
  timeoutMs: number;
}

/** How a call may be repeated after no answer or a 5xx: reads and idempotent writes may, a create may not. */
export type Repeat = 'repeatable' | 'once';

/** Network failures and 5xx retried for calls that may be repeated. */
const failureRetries = 2;

/**
 * Error codes that say the token cannot do this at all, whatever the input: an unknown or expired token, a function
 * outside its service, a capability its user lacks, an account that may not use web services.
 */
const accessCodes = new Set(['invalidtoken', 'invalidtimedtoken', 'accessexception', 'nopermissions', 'servicerequireslogin', 'usernotfullysetup', 'requireloginerror', 'restrictedcontextexception']);

/** Moodle refused this call's input (or a record it names): worth isolating which record, not worth retrying as is. */
export class MoodleCallError extends ConnectorError {
  constructor(
    readonly wsfunction: string,
    readonly exception: string,
    readonly errorcode: string,
    /** Moodle's message; on most sites only a generic sentence, the detail being in debuginfo. */
    readonly moodleMessage: string,
    readonly debuginfo: string | null,
  ) {
    super(`${wsfunction}: Moodle refused it — ${describe(exception, errorcode, moodleMessage, debuginfo)}`, { retryable: false });
    this.name = 'MoodleCallError';
  }
}

/** The token, its service or its user cannot make this call: every further call would fail the same way. */
export class MoodleAccessError extends ConnectorError {
  constructor(message: string, readonly errorcode: string | null, options: { retryable?: boolean } = {}) {
    super(message, { retryable: options.retryable ?? false });
    this.name = 'MoodleAccessError';
  }
}

/** One connector's calls to its site. */
export class MoodleClient {
  readonly endpoint: string;

  constructor(
    baseUrl: string,
    private readonly token: string,
    /** The credential's name, for messages; never the token. */
    private readonly credentialName: string,
    private readonly options: MoodleClientOptions,
    private readonly closed: AbortSignal,
  ) {
    this.endpoint = `${baseUrl}/webservice/rest/server.php`;
  }

  /**
   * Calls a function and returns its decoded JSON result (`null` for functions that return nothing). Throws
   * {@link MoodleCallError} when Moodle refuses the input, {@link MoodleAccessError} when it refuses the token, and
   * {@link ConnectorError} when no usable answer came.
   */
  async call(wsfunction: string, params: Record<string, WsParam>, repeat: Repeat): Promise<unknown> {
    const body = encodeParams({ wstoken: this.token, wsfunction, moodlewsrestformat: 'json', ...params });
    for (let attempt = 0; ; attempt++) {
      let status: number;
      let text: string;
      let type: string;
      try {
        const response = await this.options.fetch(this.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': 'syncline' },
          body,
          redirect: 'manual',
          signal: AbortSignal.any([this.closed, AbortSignal.timeout(this.options.timeoutMs)]),
        });
        status = response.status;
        type = response.headers.get('content-type') ?? '';
        text = await response.text();
      } catch (caught) {
        if (this.closed.aborted) throw new ConnectorError(`${wsfunction}: the connector was closed`, { retryable: true, cause: caught });
        const refusal = accessRefusalOf(caught);
        if (refusal) throw new ConnectorError(`${wsfunction}: ${refusal.message}`, { cause: refusal });
        const reason = caught instanceof Error && caught.name === 'TimeoutError' ? `no answer from ${this.endpoint} within ${this.options.timeoutMs} ms` : `cannot reach ${this.endpoint}: ${networkReason(caught)}`;
        if (repeat === 'repeatable' && attempt < failureRetries) {
          await this.pause(backoffMs(attempt), wsfunction);
          continue;
        }
        throw new ConnectorError(`${wsfunction}: ${reason}${repeat === 'once' ? '; it may or may not have been applied, so it is not repeated' : ''}`, { retryable: repeat === 'repeatable', cause: caught, mayHaveApplied: repeat === 'once' });
      }
      if (status >= 500 && repeat === 'repeatable' && attempt < failureRetries) {
        await this.pause(backoffMs(attempt), wsfunction);
        continue;
      }
      return this.read(wsfunction, status, type, text, repeat);
    }
  }

  private read(wsfunction: string, status: number, type: string, text: string, repeat: Repeat): unknown {
    if (status === 403 && text.trim() === '') {
      // webservice/rest/server.php answers an empty 403 while web services or the REST protocol are off.
      throw new MoodleAccessError(`${wsfunction}: ${this.endpoint} answered 403: web services or the REST protocol are off on this site (Site administration > Server > Web services > Overview)`, null);
    }
    if (status === 404) throw new MoodleAccessError(`${wsfunction}: ${this.endpoint} answered 404: no Moodle web service there; check connection.baseUrl (the site's address)`, null);
    if (status !== 200) {
      const retryable = status >= 500 || status === 429;
      const hint = repeat === 'once' && retryable ? '; it may or may not have been applied, so it is not repeated' : '';
      throw new ConnectorError(`${wsfunction}: ${this.endpoint} answered ${status}${text.trim() ? ` — ${responseExcerpt(text)}` : ''}${hint}`, {
        retryable: retryable && repeat === 'repeatable',
        mayHaveApplied: hint !== '',
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      const what = /xml/i.test(type) || text.trimStart().startsWith('<') ? 'XML or HTML' : 'something other than JSON';
      throw new ConnectorError(`${wsfunction}: expected JSON from ${this.endpoint}, got ${what}: ${responseExcerpt(text)}`);
    }
    if (isException(parsed)) throw this.failure(wsfunction, parsed);
    return parsed;
  }

  private failure(wsfunction: string, body: { exception: string; errorcode?: unknown; message?: unknown; debuginfo?: unknown }): ConnectorError {
    const errorcode = typeof body.errorcode === 'string' ? body.errorcode : '';
    const message = typeof body.message === 'string' ? body.message : '';
    const debuginfo = typeof body.debuginfo === 'string' ? body.debuginfo : null;
    if (errorcode === 'sitemaintenance') return new MoodleAccessError(`${wsfunction}: the site is in maintenance mode`, errorcode, { retryable: true });
    if (!accessCodes.has(errorcode) && !errorcode.startsWith('wsaccess')) return new MoodleCallError(wsfunction, body.exception, errorcode, message, debuginfo);
    const said = describe(body.exception, errorcode, message, debuginfo);
    switch (errorcode) {
      case 'invalidtoken':
      case 'invalidtimedtoken':
        return new MoodleAccessError(`${wsfunction}: Moodle does not accept the token in credential "${this.credentialName}" (${said}); check it under Site administration > Server > Web services > Manage tokens`, errorcode);
      case 'accessexception':
        return new MoodleAccessError(
          `${wsfunction}: the token's external service does not include ${wsfunction}, or the service restricts the token (${said}); add the function under Site administration > Server > Web services > External services > Functions`,
          errorcode,
        );
      case 'nopermissions':
        return new MoodleAccessError(`${wsfunction}: the token's user lacks a capability (${said}); docs/connectors/moodle.md lists the ones a sync needs`, errorcode);
      default:
        return new MoodleAccessError(`${wsfunction}: the token's user may not use this web service (${said})`, errorcode);
    }
  }

  private async pause(ms: number, wsfunction: string): Promise<void> {
    try {
      await this.options.sleep(ms, this.closed);
    } catch (caught) {
      throw new ConnectorError(`${wsfunction}: the connector was closed`, { retryable: true, cause: caught });
    }
  }
}

/**
 * The form body PHP turns back into arrays: `users[0][username]=ada&users[0][suspended]=1`. Booleans travel as 1 and
 * 0, which PARAM_BOOL and PARAM_INT both take.
 */
export function encodeParams(params: Record<string, WsParam>): string {
  const pairs: string[] = [];
  const add = (name: string, value: WsParam): void => {
    if (typeof value === 'boolean') pairs.push(`${encodeName(name)}=${value ? 1 : 0}`);
    else if (typeof value === 'string' || typeof value === 'number') pairs.push(`${encodeName(name)}=${encodeURIComponent(String(value))}`);
    else if (Array.isArray(value)) value.forEach((item: WsParam, index) => add(`${name}[${index}]`, item));
    else for (const [key, item] of Object.entries(value as Record<string, WsParam>)) add(`${name}[${key}]`, item);
  };
  for (const [name, value] of Object.entries(params)) add(name, value);
  return pairs.join('&');
}

/** How many input variables a parameter set costs PHP (its `max_input_vars` counts them). */
export function inputVars(value: WsParam): number {
  if (typeof value !== 'object') return 1;
  return (Array.isArray(value) ? value : Object.values(value)).reduce((sum: number, item: WsParam) => sum + inputVars(item), 0);
}

// Brackets stay literal so a logged body reads as Moodle's documentation writes it; PHP decodes a name before it reads
// its brackets, so `%5B` would do as well.
function encodeName(name: string): string {
  return encodeURIComponent(name).replace(/%5B/gi, '[').replace(/%5D/gi, ']');
}

function isException(value: unknown): value is { exception: string; errorcode?: unknown; message?: unknown; debuginfo?: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { exception?: unknown }).exception === 'string';
}

/** Moodle's own words: class, code, message, and debuginfo when the site's debugging shows it. */
function describe(exception: string, errorcode: string, message: string, debuginfo: string | null): string {
  const detail = debuginfo && !message.includes(debuginfo) ? `: ${debuginfo}` : '';
  return `${exception} (${errorcode}): ${message}${detail}`.slice(0, 600);
}

function backoffMs(attempt: number): number {
  return 500 * 2 ** attempt;
}

function networkReason(caught: unknown): string {
  const cause = caught instanceof Error ? (caught.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : null;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the host name (${code}): check connection.baseUrl`;
  const text = typeof cause?.message === 'string' ? cause.message : caught instanceof Error ? caught.message : String(caught);
  return code ? `${text} (${code})` : text;
}

