/**
 * The `zendesk` connection: which account (`subdomain`, or `baseUrl` for a test's fake), whose credentials
 * (`email` + `auth`), and what the account's custom ticket fields are called (`customFields`). Checked field by field
 * so each problem names its path (SPEC §4).
 */
import type { ConnectionProblem } from '../connection';

/** The two ways Zendesk takes a credential: an API token with the agent's email (Basic), or an OAuth access token. */
export type ZendeskAuthType = 'token' | 'bearer';

/** Which users the `users` collection holds: Zendesk's roles. */
export const userRoles = ['end-user', 'agent', 'admin'] as const;
export type UserRole = (typeof userRoles)[number];

export interface ZendeskConnection {
  /** https://{subdomain}.zendesk.com, or the given baseUrl; no trailing slash. */
  baseUrl: string;
  email: string | null;
  auth: { credential: string; type: ZendeskAuthType };
  /** Custom ticket fields by the name a flow uses for them: name → ticket field id. */
  customFields: ReadonlyMap<string, number>;
  /** The roles of the users the `users` collection lists and reads; null: every user. */
  userRoles: ReadonlySet<UserRole> | null;
}

const knownOptions = ['subdomain', 'baseUrl', 'email', 'auth', 'customFields', 'userRoles'];
const subdomainPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
/** A flow's name for a custom field: a plain identifier, so it cannot be mistaken for a system field or a path. */
const fieldNamePattern = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Every problem with a `zendesk` connection, each with its path inside `connection` and what to do. */
export function checkZendeskConnection(connection: Record<string, unknown>): ConnectionProblem[] {
  const problems: ConnectionProblem[] = [];
  const problem = (path: (string | number)[], message: string): void => void problems.push({ path, message });
  const { subdomain, baseUrl, email, auth, customFields } = connection;

  if (subdomain === undefined && baseUrl === undefined) {
    problem(['subdomain'], 'is required: the account\'s subdomain, "acme" for https://acme.zendesk.com (or give baseUrl)');
  } else if (subdomain !== undefined && baseUrl !== undefined) {
    problem(['baseUrl'], 'give subdomain or baseUrl, not both');
  } else if (subdomain !== undefined) {
    if (typeof subdomain !== 'string' || !subdomainPattern.test(subdomain)) {
      const hint = typeof subdomain === 'string' && /\.zendesk\.com/i.test(subdomain) ? ': only the first part, "acme" for acme.zendesk.com' : '';
      problem(['subdomain'], `must be the account's subdomain, letters, digits and "-"${hint}`);
    }
  } else if (typeof baseUrl !== 'string' || !isHttpUrl(baseUrl)) {
    problem(['baseUrl'], 'must be an http or https URL without query or fragment, e.g. https://acme.zendesk.com');
  }

  const authType = checkAuth(auth, problem);
  if (authType === 'token') {
    if (email === undefined) problem(['email'], 'is required with an API token: the email address of the Zendesk user the token belongs to');
    else if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email)) problem(['email'], 'must be an email address, the Zendesk user the API token belongs to');
  } else if (email !== undefined && (typeof email !== 'string' || email === '')) {
    problem(['email'], 'must be an email address, or be left out with an OAuth token');
  }

  if (customFields !== undefined) {
    if (!isPlainObject(customFields)) {
      problem(['customFields'], 'must be an object naming custom ticket fields, e.g. {"product": 360001234567}');
    } else {
      const ids = new Map<number, string>();
      for (const [name, id] of Object.entries(customFields)) {
        if (!fieldNamePattern.test(name)) problem(['customFields', name], 'the name must be a plain identifier: letters, digits and "_", not starting with a digit');
        else if (reservedTicketFieldNames.has(name)) problem(['customFields', name], `"${name}" is a ticket field of its own; choose another name for the custom field`);
        const numeric = typeof id === 'string' && /^\d+$/.test(id) ? Number(id) : id;
        if (typeof numeric !== 'number' || !Number.isSafeInteger(numeric) || numeric <= 0) {
          problem(['customFields', name], 'must be the id of a custom ticket field (Admin Center > Objects and rules > Tickets > Fields)');
        } else if (ids.has(numeric)) {
          problem(['customFields', name], `names the same field as "${ids.get(numeric)}"`);
        } else {
          ids.set(numeric, name);
        }
      }
    }
  }

  const roles = connection.userRoles;
  if (roles !== undefined && (!Array.isArray(roles) || roles.length === 0 || roles.some((role) => !(userRoles as readonly unknown[]).includes(role)))) {
    problem(['userRoles'], `must be a non-empty list of ${userRoles.join(', ')}`);
  }

  for (const key of Object.keys(connection)) {
    if (!knownOptions.includes(key)) problem([key], `is not a zendesk connection option; known options: ${knownOptions.join(', ')}`);
  }
  return problems;
}

function checkAuth(auth: unknown, problem: (path: (string | number)[], message: string) => void): ZendeskAuthType | null {
  if (auth === undefined) {
    problem(['auth'], 'is required: {"credential": NAME} naming a stored API token, or {"credential": NAME, "type": "bearer"} for an OAuth access token');
    return null;
  }
  if (!isPlainObject(auth)) {
    problem(['auth'], 'must be {"credential": NAME}, or {"credential": NAME, "type": "bearer"} for an OAuth access token');
    return null;
  }
  if (typeof auth.credential !== 'string' || auth.credential === '') problem(['auth', 'credential'], 'must name a stored credential');
  for (const key of Object.keys(auth)) if (key !== 'credential' && key !== 'type') problem(['auth', key], 'is not an auth option; known options: credential, type');
  if (auth.type === undefined || auth.type === 'token') return 'token';
  if (auth.type === 'bearer') return 'bearer';
  problem(['auth', 'type'], 'must be "token" (an API token, the default) or "bearer" (an OAuth access token)');
  return null;
}

/** The connection as the connector uses it; call only after {@link checkZendeskConnection} found nothing. */
export function parseZendeskConnection(connection: Record<string, unknown>): ZendeskConnection {
  const base = typeof connection.baseUrl === 'string' ? connection.baseUrl : `https://${String(connection.subdomain).toLowerCase()}.zendesk.com`;
  const auth = connection.auth as { credential: string; type?: ZendeskAuthType };
  const customFields = new Map<string, number>();
  if (isPlainObject(connection.customFields)) for (const [name, id] of Object.entries(connection.customFields)) customFields.set(name, Number(id));
  return {
    baseUrl: base.replace(/\/+$/, ''),
    email: typeof connection.email === 'string' ? connection.email : null,
    auth: { credential: auth.credential, type: auth.type ?? 'token' },
    customFields,
    userRoles: Array.isArray(connection.userRoles) ? new Set(connection.userRoles as UserRole[]) : null,
  };
}

/** Ticket fields the connector reads and writes itself; a custom field may not take one of these names. */
export const reservedTicketFieldNames: ReadonlySet<string> = new Set([
  'id',
  'updated_at',
  'created_at',
  'subject',
  'description',
  'status',
  'priority',
  'type',
  'tags',
  'assignee_id',
  'group_id',
  'organization_id',
  'external_id',
  'due_at',
  'requester_email',
  'custom_fields',
]);

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
