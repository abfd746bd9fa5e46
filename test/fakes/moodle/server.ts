import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../../support/http';
import { accessException, invalidToken, InvalidParameterException, missingRecord, MoodleException, type DebugLevel } from './exceptions';
import { deleteUser, functions, validEmail } from './functions';
import { cleanReturnValue, parsePhpVariables, PhpArray, single, validateParameters, type Description } from './php';
import { ADMIN_ID, MoodleSite, type Course, type MoodleUser, type ProfileField, type ServiceToken, type SiteConfig } from './site';

/**
 * A stateful fake of a Moodle site's REST web-service server (`/webservice/rest/server.php`) for the functions a user
 * and enrolment sync needs, on node:http, 127.0.0.1, a free port. Built from Moodle's own source: each function's
 * declared parameters and returns, its checks in order, its exceptions (always HTTP 200), PHP's handling of bracketed
 * form names and `max_input_vars`. SOURCES.md lists what was read; comments cite it beside each behaviour.
 */

export interface MoodleFakeOptions {
  siteName?: string;
  /** The admin's token; its service holds every function the fake serves unless `functions` narrows it. */
  token?: string;
  functions?: readonly string[];
  allowAccountsSameEmail?: boolean;
  extendedUsernameChars?: boolean;
  debug?: DebugLevel;
  /** PHP's `max_input_vars` (default 5000, what Moodle's environment check asks for). */
  maxInputVars?: number;
  restEnabled?: boolean;
  /** The clock's start (ms); it stands still unless a test moves it. Default: the real time. */
  clockStart?: number;
  profileFields?: readonly ProfileField[];
}

/** One request the fake answered. */
export interface RequestLogEntry {
  wsfunction: string | null;
  /** The exception class it answered with, or null for a result. */
  exception: string | null;
  errorcode: string | null;
  /** How many input variables PHP read from the request (GET and POST). */
  inputVars: number;
}

export interface MoodleFake {
  /** The site's wwwroot, what a client uses as its base URL. */
  url: string;
  token: string;
  site: MoodleSite;
  clock: { now(): number; advance(seconds: number): void };
  requests: RequestLogEntry[];
  /** Requests for a function, or all of them. */
  countRequests(wsfunction?: string): number;
  /** A token for another user, with the functions of its service and (for a non-admin) its capabilities. */
  addToken(token: string, grant: { userid: number; functions?: readonly string[]; capabilities?: readonly string[] | null }): void;
  /** A user as an administrator adds one in Moodle (Site administration > Users > Add a new user). */
  seedUser(input: Partial<Omit<MoodleUser, 'profile'>> & { username: string; firstname: string; lastname: string; email: string; profile?: Record<string, string> }): MoodleUser;
  /** An administrator's edit in Moodle: fields change and timemodified moves on. */
  editUser(id: number, changes: Partial<Omit<MoodleUser, 'id' | 'profile'>> & { profile?: Record<string, string> }): MoodleUser;
  /** An administrator deletes a user (delete_user()): the row stays, flagged deleted. */
  deleteUser(id: number): void;
  seedCourse(input: { shortname: string; fullname: string; idnumber?: string; visible?: boolean }): Course;
  /** Enrols a user through a method of the course (the manual one by default, or another added for the purpose). */
  seedEnrolment(courseid: number, userid: number, options?: { method?: string; roleid?: number; suspended?: boolean }): void;
  /** The next `count` requests get this answer instead of reaching Moodle (a proxy's 502, a dropped connection). */
  failNextRequests(count: number, failure: { status: number } | 'drop'): void;
  close(): Promise<void>;
}

/** Every function the fake serves; a name outside this list does not exist on the site. */
export const moodleFunctionNames = Object.keys(functions);

export async function startMoodleFake(options: MoodleFakeOptions = {}): Promise<MoodleFake> {
  let now = options.clockStart ?? Date.now();
  let wwwroot = '';
  const config: SiteConfig = {
    siteName: options.siteName ?? 'Acme Learning',
    allowAccountsSameEmail: options.allowAccountsSameEmail ?? false,
    extendedUsernameChars: options.extendedUsernameChars ?? false,
    debug: options.debug ?? 'none',
    restEnabled: options.restEnabled ?? true,
    maxInputVars: options.maxInputVars ?? 5000,
    auths: ['cas', 'db', 'email', 'ldap', 'lti', 'manual', 'mnet', 'nologin', 'none', 'oauth2', 'shibboleth', 'webservice'],
    languages: ['en'],
    themes: ['boost', 'classic'],
    release: '4.3.4 (Build: 20240422)',
    version: '2023100904',
  };
  const site = new MoodleSite(config, () => now, () => wwwroot);
  for (const field of options.profileFields ?? []) site.profileFields.set(field.shortname, field);
  const token = options.token ?? 'fake-ws-token';
  site.tokens.set(token, { userid: ADMIN_ID, functions: new Set(options.functions ?? moodleFunctionNames), capabilities: null });
  const requests: RequestLogEntry[] = [];
  const failures: Array<{ status: number } | 'drop'> = [];

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`fake failure: ${error instanceof Error ? error.stack : String(error)}`);
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const failure = failures.shift();
    if (failure === 'drop') {
      request.socket.destroy();
      return;
    }
    if (failure) {
      response.writeHead(failure.status, { 'content-type': 'text/html' });
      response.end(`<html><body>${failure.status}</body></html>`);
      return;
    }
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/webservice/rest/server.php') {
      response.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      response.end('<html><body><h1>Not Found</h1></body></html>');
      return;
    }
    // webservice/rest/server.php: "The server died because the web services or the REST protocol are not enable".
    if (!config.restEnabled) {
      response.writeHead(403);
      response.end();
      return;
    }
    // $_GET and $_POST, each read up to max_input_vars; the REST server merges them, POST winning.
    const get = new PhpArray();
    const post = new PhpArray();
    const counted = { vars: 0 };
    parsePhpVariables(url.search.slice(1), get, config.maxInputVars, counted);
    const postCounted = { vars: 0 };
    if (request.method === 'POST' && /application\/x-www-form-urlencoded/i.test(request.headers['content-type'] ?? '')) {
      parsePhpVariables(body, post, config.maxInputVars, postCounted);
    }
    const variables = new PhpArray([...get, ...post]);
    const format = variables.get('moodlewsrestformat') === 'json' ? 'json' : 'xml';
    variables.delete('moodlewsrestformat');
    const tokenValue = variables.get('wstoken');
    variables.delete('wstoken');
    const functionName = variables.get('wsfunction');
    variables.delete('wsfunction');
    const entry: RequestLogEntry = { wsfunction: typeof functionName === 'string' ? functionName : null, exception: null, errorcode: null, inputVars: counted.vars + postCounted.vars };
    requests.push(entry);
    try {
      // webservice_server::authenticate_user(), then load_function_info(), then execute().
      const grant = typeof tokenValue === 'string' ? site.tokens.get(tokenValue) : undefined;
      if (!grant) throw invalidToken();
      if (typeof functionName !== 'string' || functionName === '') throw new InvalidParameterException('Missing function name');
      const fn = functions[functionName];
      // external_api::external_function_info(): the function must be in external_functions (MUST_EXIST).
      if (!fn) throw missingRecord('external_functions');
      if (!grant.functions.has(functionName)) throw accessException(functionName);
      const developerDebug = config.debug === 'developer';
      const params = validateParameters(single(fn.parameters), variables, config, developerDebug) as Record<string, never>;
      const result = cleanReturnValue(fn.returns, fn.execute(params, { site, token: grant, developerDebug }));
      send(response, format, format === 'json' ? phpJson(result) : xmlResponse(result, fn.returns));
    } catch (caught) {
      if (!(caught instanceof MoodleException)) throw caught;
      entry.exception = caught.exceptionClass;
      entry.errorcode = caught.errorcode;
      // send_error(): HTTP 200, whatever went wrong.
      send(response, format, format === 'json' ? phpJson(caught.toJson(config.debug)) : xmlException(caught, config.debug));
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  wwwroot = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: wwwroot,
    token,
    site,
    clock: {
      now: () => now,
      advance: (seconds) => {
        now += seconds * 1000;
      },
    },
    requests,
    countRequests: (wsfunction) => (wsfunction === undefined ? requests.length : requests.filter((entry) => entry.wsfunction === wsfunction).length),
    addToken(value, grant) {
      const serviceToken: ServiceToken = { userid: grant.userid, functions: new Set(grant.functions ?? moodleFunctionNames), capabilities: grant.capabilities ? new Set(grant.capabilities) : null };
      site.tokens.set(value, serviceToken);
    },
    seedUser(input) {
      if (site.users.has(input.id ?? -1)) throw new Error(`user ${input.id} exists`);
      if (!validEmail(input.email)) throw new Error(`seedUser: ${input.email} is not an email Moodle accepts`);
      const { profile, ...fields } = input;
      const user = site.blankUser({ ...fields, id: input.id ?? site.newUserId() });
      for (const [shortname, data] of Object.entries(profile ?? {})) user.profile.set(shortname, data);
      site.users.set(user.id, user);
      return user;
    },
    editUser(id, changes) {
      const user = site.liveUser(id);
      if (!user) throw new Error(`no user ${id}`);
      const { profile, ...fields } = changes;
      Object.assign(user, fields);
      for (const [shortname, data] of Object.entries(profile ?? {})) user.profile.set(shortname, data);
      user.timemodified = site.unixNow();
      return user;
    },
    deleteUser(id) {
      const user = site.liveUser(id);
      if (!user) throw new Error(`no user ${id}`);
      deleteUser(site, user);
    },
    seedCourse: (input) => site.addCourse(input),
    seedEnrolment(courseid, userid, enrolment = {}) {
      const method = enrolment.method ?? 'manual';
      const instance = site.instancesOf(courseid).find((candidate) => candidate.enrol === method) ?? site.addEnrolInstance(courseid, method);
      site.enrolUser(instance, userid, enrolment.roleid ?? 5, 0, 0, enrolment.suspended ? 1 : 0);
    },
    failNextRequests(count, failure) {
      for (let i = 0; i < count; i++) failures.push(failure);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** webservice_rest_server::send_headers(). */
function send(response: ServerResponse, format: 'json' | 'xml', body: string): void {
  response.writeHead(200, {
    'content-type': format === 'json' ? 'application/json' : 'application/xml; charset=utf-8',
    'cache-control': 'private, must-revalidate, pre-check=0, post-check=0, max-age=0',
    'access-control-allow-origin': '*',
  });
  response.end(body);
}

/** PHP's json_encode() without flags: slashes and non-ASCII characters escaped. */
function phpJson(value: unknown): string {
  return JSON.stringify(value ?? null)
    .replace(/\//g, '\\/')
    .replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** webservice_rest_server::xmlize_result(), for a client that leaves moodlewsrestformat out. */
function xmlResponse(result: unknown, description: Description | null): string {
  return `<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n${xmlize(result, description)}</RESPONSE>\n`;
}

function xmlize(value: unknown, description: Description | null): string {
  if (description === null) return '';
  if (description.kind === 'value') {
    if (value === null || value === undefined) return '<VALUE null="null"/>\n';
    return `<VALUE>${escapeXml(String(typeof value === 'boolean' ? Number(value) : value))}</VALUE>\n`;
  }
  if (description.kind === 'multiple') {
    const items = Array.isArray(value) ? value : [];
    return `<MULTIPLE>\n${items.map((item) => xmlize(item, description.content)).join('')}</MULTIPLE>\n`;
  }
  // A key the result lacks is written with a null value.
  const object = (value ?? {}) as Record<string, unknown>;
  const keys = Object.entries(description.keys).map(([key, child]) => `<KEY name="${key}">${xmlize(object[key] ?? null, child)}</KEY>\n`);
  return `<SINGLE>\n${keys.join('')}</SINGLE>\n`;
}

function xmlException(error: MoodleException, debug: DebugLevel): string {
  const debuginfo = debug !== 'none' && error.debuginfo !== null ? `<DEBUGINFO>${escapeXml(error.debuginfo)}</DEBUGINFO>\n` : '';
  return `<?xml version="1.0" encoding="UTF-8" ?>\n<EXCEPTION class="${error.exceptionClass}">\n<ERRORCODE>${escapeXml(error.errorcode)}</ERRORCODE>\n<MESSAGE>${escapeXml(error.text(debug === 'developer'))}</MESSAGE>\n${debuginfo}</EXCEPTION>\n`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
