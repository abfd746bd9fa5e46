import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../../support/http';
import { pathParams, pathPattern, type PathPattern } from '../pathPattern';
import { bambooTimestamp, BambooHrCompany, employeeTables, fieldKey, type CustomFieldInput, type EmployeeRecord, type FieldDefinition, type TableName, type TableRow } from './company';
import {
  badChangeType,
  badSince,
  BambooHrError,
  malformedJson,
  malformedXml,
  noSuchEndpoint,
  noSuchTable,
  reportFormatNotFound,
  throttled,
  tooManyFields,
  unauthorized,
  employeeLimit,
} from './responses';
import { WebhookHub, type Delivery } from './webhooks';
import { element, readXmlReport, xmlDocument } from './xml';

/**
 * A stateful fake of BambooHR's REST API for one company — employees, field metadata, effective-dated tables,
 * last-change information, custom reports, throttling and webhooks — on node:http, 127.0.0.1, a free port. Built from BambooHR's documentation and
 * the OpenAPI description in its official SDK repositories (BambooHR/bhr-api-php `specs/public.yaml`); each
 * behaviour carries its source beside it and SOURCES.md lists them. Time never moves by itself: every timestamp comes
 * from the fake's clock, which a test sets or advances.
 */

export interface BambooHrFakeOptions {
  /** The company's subdomain, for the legacy `/api/gateway.php/{companyDomain}/v1/…` paths. Default "acme". */
  companyDomain?: string;
  /** The API key the fake accepts. */
  apiKey?: string;
  /** The clock's starting time. Default: the real time when the fake starts, rounded down to a second. */
  clockStart?: Date | number;
  /** Seconds before a change shows in Get Changed Employee IDs. Default 0. */
  changedLagSeconds?: number;
  /** Webhook URLs may be plain http (the real API requires https://; tests have no TLS receiver). Default false. */
  allowHttpWebhookTargets?: boolean;
  /** The account's employee limit (Technical Overview: 429 "The account has reached its employee limit"). */
  employeeLimit?: number;
}

/** One request the fake answered, for tests that count calls or check what was sent. */
export interface RequestLogEntry {
  method: string;
  /** Path and query as requested. */
  path: string;
  /** The route it matched, e.g. "GET /api/v1/employees/{id}", or null. */
  route: string | null;
  status: number;
  accept: string | null;
  contentType: string | null;
}

export interface BambooHrFake {
  /** http://127.0.0.1:PORT — what a client uses in place of https://{companyDomain}.bamboohr.com. */
  url: string;
  apiKey: string;
  /** A ready Authorization header: Basic base64("{apiKey}:x"). */
  authorization: string;
  company: BambooHrCompany;
  close(): Promise<void>;
  clock: { now(): Date; set(time: Date | number): void; advance(seconds: number): void };
  /** An employee added in BambooHR's screens (same checks as Create Employee; webhooks fire). */
  hire(values: Record<string, unknown>): EmployeeRecord;
  /** An edit in BambooHR's screens. */
  edit(id: number, values: Record<string, unknown>): EmployeeRecord;
  /**
   * A row entered in an employee's table in BambooHR's screens, with its effective date (`date`; `startDate` for
   * compensation): a promotion effective next month is `enterRow(id, 'jobInfo', {date: '2024-07-01', jobTitle: …})`.
   */
  enterRow(id: number, table: TableName, row: Record<string, unknown>): EmployeeRecord;
  terminate(id: number, date: string): EmployeeRecord;
  rehire(id: number, date: string): EmployeeRecord;
  deleteEmployee(id: number): void;
  addCustomField(input: CustomFieldInput): FieldDefinition;
  /** Every stored value of an employee, computed fields included, as Get Employee would give them. */
  employee(id: number): Record<string, string | null>;
  webhooks: {
    deliveries: Delivery[];
    hold(): void;
    release(): void;
    redeliver(delivery: Delivery): void;
    idle(): Promise<void>;
    privateKey(webhookId: string): string;
  };
  requests: RequestLogEntry[];
  countRequests(route?: string): number;
  /** Throttles beyond `requests` per `perSeconds` window (the real limits are not published). Null: no limit. */
  setRateLimit(limit: { requests: number; perSeconds: number; status?: 503 | 429 } | null): void;
  /** The next `count` requests are throttled with this status and Retry-After, before authentication. */
  failNextRequests(count: number, options?: { status?: 503 | 429; retryAfter?: number | null }): void;
  setChangedLag(seconds: number): void;
}

interface RequestContext {
  method: string;
  query: URLSearchParams;
  raw: string;
  contentType: string;
  accept: string;
  params: Record<string, string>;
}

/** A route's answer: JSON or XML by the request's Accept header, or a fixed body. */
interface RouteResult {
  status: number;
  json?: unknown;
  xml?: () => string;
  text?: string;
  headers?: Record<string, string>;
}

interface Route extends PathPattern {
  method: string;
  pattern: string;
  handle(context: RequestContext): RouteResult;
}

/** Get Employee and Request Custom Report: "The maximum number of fields per request is 400." */
const maxFields = 400;

/** Starts the fake on 127.0.0.1 and a free port. */
export async function startBambooHrFake(options: BambooHrFakeOptions = {}): Promise<BambooHrFake> {
  const apiKey = options.apiKey ?? 'fake-api-key';
  const companyDomain = options.companyDomain ?? 'acme';
  let nowMs = Math.floor((options.clockStart === undefined ? Date.now() : new Date(options.clockStart).getTime()) / 1000) * 1000;
  let changedLag = options.changedLagSeconds ?? 0;
  let rateLimit: { requests: number; perSeconds: number; status: 503 | 429 } | null = null;
  let window = { start: 0, used: 0 };
  let forced = { remaining: 0, status: 503 as 503 | 429, retryAfter: 30 as number | null };
  const requests: RequestLogEntry[] = [];
  let baseUrl = '';

  const company = new BambooHrCompany(() => nowMs);
  const hub = new WebhookHub(company, '12345', () => nowMs, options.allowHttpWebhookTargets ?? false);

  const routes: Route[] = [];
  const route = (method: string, pattern: string, handle: Route['handle'], params: Record<string, string> = {}): void => {
    // Employee and webhook ids are numbers, unless the route says otherwise.
    routes.push({ method, pattern, ...pathPattern(pattern, (name) => params[name] ?? '\\d+'), handle });
  };

  const liveEmployees = (): EmployeeRecord[] => [...company.employees.values()].filter((employee) => !employee.deleted).sort((a, b) => a.id - b.id);

  /**
   * A field's value as reads return it: text or null. Empty dates read "0000-00-00" (UNCONFIRMED: a BambooHR quirk
   * known from integrations, e.g. `"terminationDate":"0000-00-00"` in recorded directory answers; not documented).
   */
  const readValue = (employee: EmployeeRecord, field: FieldDefinition, onlyCurrent: boolean): string | null => {
    const value = company.valueOf(employee, fieldKey(field), { onlyCurrent });
    if (value === null && field.type === 'date') return '0000-00-00';
    return value;
  };

  // List Fields — GET /api/v1/meta/fields: [{id, name, type, alias?}] ("alias … Only present when the field has an
  // alias"); XML unless JSON is asked for (AcceptHeaderParameter).
  route('GET', '/api/v1/meta/fields', () => {
    const fields = [...company.fields.values()];
    return {
      status: 200,
      json: fields.map((field) => ({ id: field.id, name: field.name, type: field.type, ...(field.alias ? { alias: field.alias } : {}) })),
      xml: () => element('fields', {}, fields.map((field) => element('field', { id: field.id, type: field.type, alias: field.alias }, field.name))),
    };
  });

  /** Employees whose last change is at or after `since` and already shows (the change lag). */
  const changedSince = (since: number): EmployeeRecord[] => {
    const visibleUntil = nowMs - changedLag * 1000;
    return [...company.employees.values()].filter((employee) => employee.lastChanged >= since && employee.lastChanged <= visibleUntil);
  };

  // Get Changed Employee IDs — GET /api/v1/employees/changed?since=…&type=…: {latest, employees: {id: {id, action,
  // lastChanged}}}. "Only employees changed since this timestamp will be returned" (UNCONFIRMED whether a change at
  // exactly `since` is included; the fake includes it, as Pipedream's action documents "at or after").
  route('GET', '/api/v1/employees/changed', (context) => {
    const since = parseIsoTime(context.query.get('since'));
    if (since === null) throw badSince();
    const type = (context.query.get('type') ?? 'all').toLowerCase();
    if (!['inserted', 'updated', 'deleted', 'all'].includes(type)) throw badChangeType();
    const changed = changedSince(since)
      .filter((employee) => type === 'all' || employee.action.toLowerCase() === type)
      // "newest first" (as BambooHR MCP servers describe the answer); a map's order promises nothing anyway.
      .sort((a, b) => b.lastChanged - a.lastChanged || b.id - a.id);
    const latestMs = changed.reduce((max, employee) => Math.max(max, employee.lastChanged), since);
    const latest = bambooTimestamp(latestMs);
    return {
      status: 200,
      json: { latest, employees: Object.fromEntries(changed.map((employee) => [String(employee.id), { id: String(employee.id), action: employee.action, lastChanged: bambooTimestamp(employee.lastChanged) }])) },
      xml: () => element('employees', { latest }, changed.map((employee) => element('employee', { id: employee.id, action: employee.action, lastChanged: bambooTimestamp(employee.lastChanged) }))),
    };
  });

  // Get Employee — GET /api/v1/employees/{id}?fields=…: "A dictionary of the requested employee fields and their
  // values"; `fields` defaults to "firstName,lastName"; ids and custom field aliases both work; 400 over 400 fields;
  // 404 "The employee does not exist." Names matching no field are left out of the answer (UNCONFIRMED; the custom
  // report documents the same for its fields). `onlyCurrent`: "Setting to false will return future-dated values from
  // history table fields. Defaults to true."
  route('GET', '/api/v1/employees/{id}', (context) => {
    const employee = company.live(Number(context.params.id));
    const names = (context.query.get('fields') ?? 'firstName,lastName').split(',').map((name) => name.trim()).filter(Boolean);
    if (names.length > maxFields) throw tooManyFields();
    const values: Array<[string, string | null]> = [];
    for (const name of names) {
      const field = company.resolveField(name);
      if (field) values.push([name, readValue(employee, field, onlyCurrent(context))]);
    }
    return {
      status: 200,
      json: { id: String(employee.id), ...Object.fromEntries(values) },
      xml: () => element('employee', { id: employee.id }, values.map(([name, value]) => element('field', { id: name }, value ?? ''))),
    };
  });

  // Create Employee — POST /api/v1/employees: 201, "No response body is returned. The Location header points to the
  // new employee resource" ("The URL to view the employee in the web app. The ID of the employee will be included.").
  route('POST', '/api/v1/employees', (context) => {
    const input = writeBody(context);
    if (options.employeeLimit !== undefined && liveEmployees().length >= options.employeeLimit) throw employeeLimit();
    const employee = company.create(input);
    return { status: 201, text: '', headers: { Location: `${baseUrl}/employees/employee.php?id=${employee.id}` } };
  });

  // Update Employee — POST /api/v1/employees/{id}: "Only the fields you include will be updated"; 200, "No response
  // body is returned"; 404 when the employee does not exist.
  route('POST', '/api/v1/employees/{id}', (context) => {
    const id = Number(context.params.id);
    company.live(id);
    company.update(id, writeBody(context));
    return { status: 200, text: '' };
  });

  // Get Employee Table Data — GET /api/v1/employees/{id}/tables/{table}: "Returns all rows for a given employee and
  // table combination. The result is not sorted in any particular order"; `id` "Use the special value "all" to
  // retrieve table data for all employees the API user has access to"; rows `{id, employeeId, …}` with the table's
  // columns; 404 "The employee or table does not exist." Future-dated rows are among them. The XML shape (`<table><row
  // id employeeId><field id>…`) is the classic API's, UNCONFIRMED.
  route(
    'GET',
    '/api/v1/employees/{id}/tables/{table}',
    (context) => {
      const table = knownTable(context.params.table as string);
      const employees = context.params.id === 'all' ? liveEmployees() : [company.live(Number(context.params.id))];
      const rows = employees.flatMap((employee) => newestFirst(employee.tables[table]).map((row) => ({ employee, row })));
      return {
        status: 200,
        json: rows.map(({ employee, row }) => ({ id: String(row.id), employeeId: String(employee.id), ...tableRow(table, row) })),
        xml: () => element('table', {}, rows.map(({ employee, row }) => element('row', { id: row.id, employeeId: employee.id }, rowFields(table, row)))),
      };
    },
    { id: '\\d+|all', table: '[A-Za-z]+' },
  );

  // Get Changed Employee Table Data — GET /api/v1/employees/changed/tables/{table}?since=…: employees changed since
  // then ("a change in ANY field in the employee record will cause ALL of that employee's table rows to show up"),
  // `{table, employees: {"<id>": {lastChanged, rows: [...]}}}` with rows of the table's columns, newest first and
  // `lastChanged` with a `Z` as the documented sample has them; XML `<table id><employee id lastChanged><row><field
  // id>…` as documented. 400 for a bad `since`, 404 for no such table. Deleted employees and employees without a row
  // in the table are left out (UNCONFIRMED).
  route(
    'GET',
    '/api/v1/employees/changed/tables/{table}',
    (context) => {
      const table = knownTable(context.params.table as string);
      const since = parseIsoTime(context.query.get('since'));
      if (since === null) throw badSince();
      const changed = changedSince(since).filter((employee) => !employee.deleted && employee.tables[table].length > 0);
      const lastChanged = (employee: EmployeeRecord) => new Date(employee.lastChanged).toISOString().replace(/\.\d{3}Z$/, 'Z');
      return {
        status: 200,
        json: { table, employees: Object.fromEntries(changed.map((employee) => [String(employee.id), { lastChanged: lastChanged(employee), rows: newestFirst(employee.tables[table]).map((row) => tableRow(table, row)) }])) },
        xml: () =>
          element(
            'table',
            { id: table },
            changed.map((employee) => element('employee', { id: employee.id, lastChanged: lastChanged(employee) }, newestFirst(employee.tables[table]).map((row) => element('row', {}, rowFields(table, row))))),
          ),
      };
    },
    { table: '[A-Za-z]+' },
  );

  // Request Custom Report — POST /api/v1/reports/custom (deprecated in favour of Datasets, still served).
  route('POST', '/api/v1/reports/custom', (context) => {
    const format = reportFormat(context);
    let definition: ReportDefinition;
    // "To submit JSON, set `Content-Type: application/json` exactly — any variation such as `application/json;
    // charset=UTF-8` is not recognised as JSON and the body will be parsed as XML instead, which typically results
    // in `400 Malformed XML`."
    if (context.contentType === 'application/json') {
      let body: unknown;
      try {
        body = JSON.parse(context.raw);
      } catch {
        throw malformedJson();
      }
      definition = reportDefinition(body);
    } else {
      const parsed = readXmlReport(context.raw);
      if (!parsed) throw malformedXml();
      definition = parsed;
    }
    if (definition.fields.length > maxFields) throw tooManyFields();
    // "Field IDs in the request that are unknown or that the caller does not have permission to view are silently
    // omitted from the report — the endpoint still returns 200."
    const columns = definition.fields.map((name) => ({ name, field: company.resolveField(name) })).filter((column): column is { name: string; field: FieldDefinition } => column.field !== undefined);
    // "The report includes all employees regardless of status (both Active and Inactive)".
    let employees = liveEmployees();
    if (definition.employeeIds) {
      const wanted = new Set(definition.employeeIds);
      employees = employees.filter((employee) => wanted.has(employee.id));
    }
    if (definition.lastChanged) {
      // `lastChanged`: "Only employees whose data has changed at or after this date-time will be included."
      const from = parseIsoTime(definition.lastChanged.value);
      if (from === null) throw headerMalformedFilter();
      employees = employees.filter((employee) => employee.lastChanged >= from);
    }
    // `onlyCurrent`: "Set to false to include future-dated history values in the report output. Defaults to true."
    const rows = employees.map((employee) => ({ employee, values: columns.map((column) => [column.name, readValue(employee, column.field, onlyCurrent(context))] as [string, string | null]) }));
    const title = definition.title ?? '';
    if (format === 'json') {
      // "an object with a `title` string, a `fields` array (each with `id`, `type`, and `name`), and an `employees`
      // array (each with `id` and one key per requested field)".
      return {
        status: 200,
        json: {
          title,
          fields: columns.map((column) => ({ id: column.name, type: column.field.type, name: column.field.name })),
          employees: rows.map((row) => ({ id: String(row.employee.id), ...Object.fromEntries(row.values) })),
        },
      };
    }
    return {
      status: 200,
      xml: () =>
        element('report', {}, [
          element('title', {}, title),
          element('fields', {}, columns.map((column) => element('field', { id: column.name, type: column.field.type }, column.field.name))),
          element('employees', {}, rows.map((row) => element('employee', { id: row.employee.id }, row.values.map(([name, value]) => element('field', { id: name }, value ?? ''))))),
        ]),
    };
  });

  // Webhooks — List, Create, Get, Update, Delete Webhook, List Monitor Fields (OpenAPI "Webhooks" tag). JSON only.
  route('GET', '/api/v1/webhooks', () => ({ status: 200, json: { webhooks: [...hub.webhooks.values()].map((webhook) => ({ id: webhook.id, name: webhook.name, created: hub.json(webhook).created, lastSent: hub.json(webhook).lastSent, url: webhook.url })) } }));
  route('POST', '/api/v1/webhooks', (context) => ({ status: 201, json: hub.json(hub.create(jsonObject(context)), true) }));
  // List Monitor Fields (`MonitorFieldList`): "one entry per monitorable employee field, including the field ID (as a
  // string), human-readable name, and alias (null if no alias is defined)".
  route('GET', '/api/v1/webhooks/monitor_fields', () => ({
    status: 200,
    json: { fields: company.monitorFields().map((field) => ({ id: String(field.id), name: field.name, alias: field.alias ?? null })) },
  }));
  route('GET', '/api/v1/webhooks/{id}', (context) => ({ status: 200, json: hub.json(hub.get(context.params.id as string)) }));
  // Update Webhook: 200 with the webhook as Get Webhook shows it, its private key kept and not shown.
  route('PUT', '/api/v1/webhooks/{id}', (context) => ({ status: 200, json: hub.json(hub.update(context.params.id as string, jsonObject(context))) }));
  route('DELETE', '/api/v1/webhooks/{id}', (context) => {
    hub.delete(context.params.id as string);
    return { status: 200, text: 'Web hook has been deleted.', headers: { 'Content-Type': 'text/plain' } };
  });

  // ------------------------------------------------------------ request handling

  /**
   * "Authentication" (documentation.bamboohr.com/docs/getting-started): HTTP Basic with the API key as the username
   * and any string (commonly "x") as the password. 401 otherwise (Technical Overview).
   */
  const authenticated = (header: string | undefined): boolean => {
    const basic = /^Basic\s+(.+)$/i.exec(header ?? '');
    if (!basic) return false;
    const decoded = Buffer.from((basic[1] as string).trim(), 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    return separator > 0 && decoded.slice(0, separator) === apiKey;
  };

  const throttle = (): BambooHrError | null => {
    if (forced.remaining > 0) {
      forced.remaining--;
      // A 503 without Retry-After is BambooHR being unavailable, not a rate limit ("Planned Changes to the API").
      return forced.retryAfter === null ? new BambooHrError(forced.status, 'Service Unavailable') : throttled(forced.status, forced.retryAfter);
    }
    if (!rateLimit) return null;
    const windowMs = rateLimit.perSeconds * 1000;
    if (nowMs >= window.start + windowMs || nowMs < window.start) window = { start: Math.floor(nowMs / windowMs) * windowMs, used: 0 };
    if (window.used >= rateLimit.requests) return throttled(rateLimit.status, Math.max(1, Math.ceil((window.start + windowMs - nowMs) / 1000)));
    window.used++;
    return null;
  };

  const answer = async (request: IncomingMessage): Promise<{ result: RouteResult; route: string | null; error: BambooHrError | null }> => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    // The Technical Overview of earlier years gives https://api.bamboohr.com/api/gateway.php/{company subdomain
    // name}/v1/…; the OpenAPI description's server is https://{companyDomain}.bamboohr.com with /api/v1/… paths.
    // Both spellings reach the same routes.
    let path = url.pathname.replace(/\/+$/, '');
    const gateway = /^\/api\/gateway\.php\/([^/]+)(\/v1\/.*)$/.exec(path);
    if (gateway) path = gateway[1] === companyDomain ? `/api${gateway[2]}` : '/unknown-company';
    const raw = await readBody(request);
    const throttledNow = throttle();
    if (throttledNow) return { result: { status: throttledNow.status }, route: null, error: throttledNow };
    const matched = routes.find((candidate) => candidate.method === method && candidate.regex.test(path));
    const routeKey = matched ? `${matched.method} ${matched.pattern}` : null;
    if (!authenticated(request.headers.authorization)) return { result: { status: 401 }, route: routeKey, error: unauthorized() };
    if (!matched) return { result: { status: 404 }, route: null, error: noSuchEndpoint() };
    const params = pathParams(matched, path);
    const context: RequestContext = { method, query: url.searchParams, raw, contentType: (request.headers['content-type'] ?? '').trim(), accept: request.headers.accept ?? '', params };
    try {
      return { result: matched.handle(context), route: routeKey, error: null };
    } catch (error) {
      if (error instanceof BambooHrError) return { result: { status: error.status }, route: routeKey, error };
      throw error;
    }
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    answer(request).then(
      ({ result, route: routeKey, error }) => {
        const accept = request.headers.accept ?? '';
        // Every answer's Date is the fake clock's, as a server's is its own clock (a recorded BambooHR answer in
        // PyBambooHR#34 carries "Date: Mon, 13 Nov 2017 00:35:45 GMT").
        let headers: Record<string, string> = { Date: new Date(nowMs).toUTCString(), ...(result.headers ?? {}) };
        let body = '';
        if (error) {
          headers = { ...headers, ...error.headers };
          body = error.body;
        } else if (result.text !== undefined) {
          body = result.text;
        } else if (result.json !== undefined && (wantsJson(accept) || result.xml === undefined)) {
          headers['Content-Type'] = 'application/json';
          body = JSON.stringify(result.json);
        } else if (result.xml) {
          headers['Content-Type'] = 'text/xml; charset=utf-8';
          body = xmlDocument(result.xml());
        }
        requests.push({ method: request.method ?? 'GET', path: request.url ?? '/', route: routeKey, status: result.status, accept: request.headers.accept ?? null, contentType: request.headers['content-type'] ?? null });
        response.writeHead(result.status, headers).end(body);
      },
      (failure: unknown) => {
        response.writeHead(500, { 'Content-Type': 'text/plain' }).end(`fake failure: ${failure instanceof Error ? failure.message : String(failure)}`);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    apiKey,
    authorization: `Basic ${Buffer.from(`${apiKey}:x`).toString('base64')}`,
    company,
    close: async () => {
      await hub.idle();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    clock: {
      now: () => new Date(nowMs),
      set: (time) => {
        const previous = nowMs;
        nowMs = Math.floor(new Date(time).getTime() / 1000) * 1000;
        company.clockMoved(previous);
      },
      advance: (seconds) => {
        const previous = nowMs;
        nowMs += Math.round(seconds * 1000);
        company.clockMoved(previous);
      },
    },
    hire: (values) => company.create(values),
    edit: (id, values) => company.update(id, values),
    enterRow: (id, table, row) => company.enterRow(id, table, row),
    terminate: (id, date) => company.terminate(id, date),
    rehire: (id, date) => company.rehire(id, date),
    deleteEmployee: (id) => company.deleteEmployee(id),
    addCustomField: (input) => company.addCustomField(input),
    employee: (id) => {
      const employee = company.live(id);
      return Object.fromEntries([...company.fields.values()].map((field) => [fieldKey(field), company.valueOf(employee, fieldKey(field))]));
    },
    webhooks: {
      deliveries: hub.deliveries,
      hold: () => hub.hold(),
      release: () => hub.release(),
      redeliver: (delivery) => hub.redeliver(delivery),
      idle: () => hub.idle(),
      privateKey: (webhookId) => hub.get(webhookId).privateKey,
    },
    requests,
    countRequests: (routeKey) => (routeKey === undefined ? requests.length : requests.filter((entry) => entry.route === routeKey).length),
    setRateLimit: (limit) => {
      rateLimit = limit ? { status: 503, ...limit } : null;
      window = { start: 0, used: 0 };
    },
    failNextRequests: (count, failure = {}) => {
      forced = { remaining: count, status: failure.status ?? 503, retryAfter: failure.retryAfter === undefined ? 30 : failure.retryAfter };
    },
    setChangedLag: (seconds) => {
      changedLag = seconds;
    },
  };
}

/**
 * JSON only when the request asks for it: "Send `Accept: application/json` to receive JSON; omit the header or send
 * any other value to receive XML" (OpenAPI description, List Users; the same `AcceptHeaderParameter` on Get
 * Employee, List Fields and the rest).
 */
function wantsJson(accept: string): boolean {
  return /application\/json/i.test(accept);
}

/** `onlyCurrent` of Get Employee and Request Custom Report: true unless "false" (or 0) is sent. */
function onlyCurrent(context: RequestContext): boolean {
  return !/^(?:false|0)$/i.test(context.query.get('onlyCurrent') ?? '');
}

function knownTable(name: string): TableName {
  if (!Object.hasOwn(employeeTables, name)) throw noSuchTable(name);
  return name as TableName;
}

/** The latest-dated row first, as the documented samples list them; nothing promises an order. */
function newestFirst(rows: readonly TableRow[]): TableRow[] {
  return [...rows].sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : b.id - a.id));
}

/** A row as the tables API shows it: its effective date under the table's date column, then its columns. */
function tableRow(table: TableName, row: TableRow): Record<string, string | null> {
  return { [employeeTables[table].dateColumn]: row.date, ...row.values };
}

function rowFields(table: TableName, row: TableRow): string[] {
  return Object.entries(tableRow(table, row)).map(([name, value]) => element('field', { id: name }, value ?? ''));
}

/**
 * The report's output format: the `format` query parameter, case-insensitive; without it, the Accept header, "but
 * only these exact values are supported: `application/json`, `text/xml`, `text/csv`, `application/pdf`,
 * `application/vnd.ms-excel`. Any other `Accept` value (including `application/xml` and `*\/*`) will return 404."
 * CSV, XLS and PDF are not reproduced: the fake answers them as an unknown format.
 */
function reportFormat(context: RequestContext): 'json' | 'xml' {
  const format = context.query.get('format');
  if (format !== null) {
    const lower = format.toLowerCase();
    if (lower === 'json' || lower === 'xml') return lower;
    throw reportFormatNotFound();
  }
  if (context.accept === 'application/json') return 'json';
  if (context.accept === 'text/xml') return 'xml';
  throw reportFormatNotFound();
}

/** `RequestCustomReport`: {title?, fields: string[], filters?: {lastChanged?: {value, includeNull}, employeeIds?: int[]}}. */
interface ReportDefinition {
  title?: string;
  fields: string[];
  lastChanged: { value: string; includeNull: string } | null;
  employeeIds: number[] | null;
}

function reportDefinition(body: unknown): ReportDefinition {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw headerMalformedFilter('the report definition must be a JSON object');
  const { title, fields, filters } = body as { title?: unknown; fields?: unknown; filters?: { lastChanged?: { value?: unknown; includeNull?: unknown }; employeeIds?: unknown } };
  if (!Array.isArray(fields)) throw headerMalformedFilter('fields must be a list of field ids');
  const employeeIds = filters?.employeeIds;
  if (employeeIds !== undefined && (!Array.isArray(employeeIds) || employeeIds.some((id) => !Number.isInteger(id)))) throw headerMalformedFilter('filters.employeeIds must be a list of whole numbers');
  const lastChanged = filters?.lastChanged;
  return {
    ...(typeof title === 'string' ? { title } : {}),
    fields: fields.map(String),
    lastChanged: lastChanged && typeof lastChanged.value === 'string' ? { value: lastChanged.value, includeNull: lastChanged.includeNull === 'no' ? 'no' : 'yes' } : null,
    employeeIds: Array.isArray(employeeIds) ? (employeeIds as number[]) : null,
  };
}

function headerMalformedFilter(detail = 'filters.lastChanged.value must be an ISO 8601 date-time'): BambooHrError {
  return new BambooHrError(400, detail, { 'X-BambooHR-Error-Message': detail });
}

/** A write's JSON object. "If the posted XML or JSON is invalid" → 400. The fake reads JSON bodies only. */
function writeBody(context: RequestContext): Record<string, unknown> {
  return jsonObject(context);
}

function jsonObject(context: RequestContext): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(context.raw);
  } catch {
    throw malformedJson();
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw malformedJson();
  return body as Record<string, unknown>;
}

/**
 * An ISO 8601 date or date-time as `since` takes it ("ISO 8601 timestamp (URL-encoded)"): "2024-06-03T12:00:00Z",
 * "…+00:00", "…+0000" or a date alone. Null when it is none of these — a `+` sent unencoded arrives as a space and is
 * refused like any other malformed value.
 */
export function parseIsoTime(text: string | null): number | null {
  if (text === null) return null;
  const match = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text.trim());
  if (!match) return null;
  const zone = match[3] === undefined ? 'Z' : match[3] === 'Z' ? 'Z' : match[3].length === 5 ? `${match[3].slice(0, 3)}:${match[3].slice(3)}` : match[3];
  const time = Date.parse(match[2] === undefined ? `${match[1]}T00:00:00Z` : `${match[1]}T${match[2]}${zone}`);
  return Number.isNaN(time) ? null : time;
}
