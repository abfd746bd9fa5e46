/**
 * The `bamboohr` connection: which company (`subdomain`, or `baseUrl` for a test's fake), whose API key (`auth`), which
 * employee fields sync (`fields`), and how long a pass waits out BambooHR's throttling (`maxWaitSeconds`). Checked field
 * by field so each problem names its path (SPEC §4).
 */
import type { ConnectionProblem } from '../connection';

export interface BambooHrConnection {
  /** https://{subdomain}.bamboohr.com, or the given baseUrl; no trailing slash. API paths start with /api/v1/. */
  baseUrl: string;
  /** The stored credential holding the API key. */
  credential: string;
  /** The employee fields read and written, by API alias or, for a custom field without one, its numeric id. */
  fields: readonly string[];
  /** The longest Retry-After waited out within a pass. */
  maxWaitMs: number;
}

/**
 * The fields synced when `fields` is left out: who a person is, where they work and whether they still do — what an
 * HR-to-learning flow needs, and nothing sensitive (no birth date, pay or national ids: those are read only when
 * chosen).
 */
export const defaultFields: readonly string[] = [
  'firstName',
  'lastName',
  'preferredName',
  'workEmail',
  'employeeNumber',
  'jobTitle',
  'department',
  'division',
  'location',
  'status',
  'employmentHistoryStatus',
  'hireDate',
  'terminationDate',
];

/** The record's key and version: BambooHR's employee id and its `lastChanged` timestamp. Never data fields. */
export const bookkeepingFields: Readonly<Record<string, string>> = {
  id: "the employee's id, BambooHR's key for the record",
  lastChanged: "the time BambooHR last changed the employee, the record's version",
};

/** Get Employee and Request Custom Report take at most 400 fields; one goes to `lastChanged`. */
export const maxChosenFields = 399;
const knownOptions = ['subdomain', 'baseUrl', 'auth', 'fields', 'maxWaitSeconds'];
const subdomainPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
/** An API alias (`firstName`, `customShirtSize`) or a custom field's numeric id (`4047`). */
const fieldNamePattern = /^(?:[A-Za-z][A-Za-z0-9_]{0,99}|\d{1,10})$/;

/** Every problem with a `bamboohr` connection, each with its path inside `connection` and what to do. */
export function checkBambooHrConnection(connection: Record<string, unknown>): ConnectionProblem[] {
  const problems: ConnectionProblem[] = [];
  const problem = (path: (string | number)[], message: string): void => void problems.push({ path, message });
  const { subdomain, baseUrl, auth, fields, maxWaitSeconds } = connection;

  if (subdomain === undefined && baseUrl === undefined) {
    problem(['subdomain'], 'is required: the company\'s subdomain, "acme" for https://acme.bamboohr.com (or give baseUrl)');
  } else if (subdomain !== undefined && baseUrl !== undefined) {
    problem(['baseUrl'], 'give subdomain or baseUrl, not both');
  } else if (subdomain !== undefined) {
    if (typeof subdomain !== 'string' || !subdomainPattern.test(subdomain)) {
      const hint = typeof subdomain === 'string' && /\.bamboohr\.com/i.test(subdomain) ? ': only the first part, "acme" for acme.bamboohr.com' : '';
      problem(['subdomain'], `must be the company's subdomain, letters, digits and "-"${hint}`);
    }
  } else if (typeof baseUrl !== 'string' || !isHttpUrl(baseUrl)) {
    problem(['baseUrl'], 'must be an http or https URL without query or fragment, e.g. https://acme.bamboohr.com');
  }

  if (auth === undefined) {
    problem(['auth'], 'is required: {"credential": NAME} naming the stored credential that holds a BambooHR API key');
  } else if (!isPlainObject(auth)) {
    problem(['auth'], 'must be {"credential": NAME}, naming the stored credential that holds a BambooHR API key');
  } else {
    if (typeof auth.credential !== 'string' || auth.credential === '') problem(['auth', 'credential'], 'must name a stored credential holding a BambooHR API key');
    for (const key of Object.keys(auth)) if (key !== 'credential') problem(['auth', key], 'is not an auth option; known options: credential');
  }

  if (fields !== undefined) checkFields(fields, problem);

  if (maxWaitSeconds !== undefined && (typeof maxWaitSeconds !== 'number' || !Number.isFinite(maxWaitSeconds) || maxWaitSeconds < 0 || maxWaitSeconds > 3600)) {
    problem(['maxWaitSeconds'], 'must be a number of seconds from 0 to 3600');
  }

  for (const key of Object.keys(connection)) {
    if (!knownOptions.includes(key)) problem([key], `is not a bamboohr connection option; known options: ${knownOptions.join(', ')}`);
  }
  return problems;
}

function checkFields(fields: unknown, problem: (path: (string | number)[], message: string) => void): void {
  const names = fieldList(fields);
  if (names === null) {
    problem(['fields'], 'must be a list of BambooHR field names, e.g. ["firstName", "workEmail", "department"], or the same names separated by commas');
    return;
  }
  if (names.length === 0) problem(['fields'], 'must name at least one field; leave it out for the default fields');
  if (names.length > maxChosenFields) problem(['fields'], `names ${names.length} fields; BambooHR reads at most ${maxChosenFields + 1} a request, one of them lastChanged`);
  const seen = new Set<string>();
  names.forEach((name, index) => {
    const path = Array.isArray(fields) ? ['fields', index] : ['fields'];
    if (!fieldNamePattern.test(name)) problem(path, `"${name.slice(0, 60)}" is not a BambooHR field name: use the API alias (firstName, workEmail) or a custom field's numeric id`);
    else if (Object.hasOwn(bookkeepingFields, name)) problem(path, `"${name}" is ${bookkeepingFields[name]}: it is not chosen as a field`);
    else if (seen.has(name)) problem(path, `"${name}" is named twice`);
    seen.add(name);
  });
}

/** The names in `fields`: a list, or the names separated by commas (how Get Employee's own `fields` takes them). */
function fieldList(fields: unknown): string[] | null {
  if (typeof fields === 'string') return fields.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (Array.isArray(fields) && fields.every((name) => typeof name === 'string')) return fields.map((name) => (name as string).trim());
  return null;
}

/** The connection as the connector uses it; call only after {@link checkBambooHrConnection} found nothing. */
export function parseBambooHrConnection(connection: Record<string, unknown>): BambooHrConnection {
  const base = typeof connection.baseUrl === 'string' ? connection.baseUrl : `https://${String(connection.subdomain).toLowerCase()}.bamboohr.com`;
  return {
    baseUrl: base.replace(/\/+$/, ''),
    credential: (connection.auth as { credential: string }).credential,
    fields: connection.fields === undefined ? defaultFields : (fieldList(connection.fields) as string[]),
    maxWaitMs: Math.round((typeof connection.maxWaitSeconds === 'number' ? connection.maxWaitSeconds : 60) * 1000),
  };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
