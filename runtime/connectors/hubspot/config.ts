/**
 * The `hubspot` connector's `connection` (docs/connectors/hubspot.md): one zod schema is the source of its type, its
 * defaults and its messages. The token is named, never held: `auth: {"credential": NAME}` (SPEC §1), a private-app
 * access token or an OAuth2 credential, both sent as `Authorization: Bearer`.
 */
import { z } from 'zod';

/** HubSpot's API address. */
export const publicApiUrl = 'https://api.hubapi.com';

export const hubspotCollections = ['contacts', 'companies'] as const;
export type HubSpotCollection = (typeof hubspotCollections)[number];

/** A property's internal name as the properties API gives it: lower-case letters, digits and `_` (custom ones too). */
const propertyNamePattern = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;

/**
 * The properties read when the connection names none: what HubSpot itself returns by default for each object
 * (Search the CRM, "Searchable CRM objects"), less its id and dates, which are the record's key and version.
 */
export const defaultProperties: Record<HubSpotCollection, readonly string[]> = {
  contacts: ['email', 'firstname', 'lastname'],
  companies: ['name', 'domain'],
};

const propertyList = z.union(
  [
    z.array(z.string().regex(propertyNamePattern, 'must be a property\'s internal name, e.g. "email" or "lifecyclestage" (Settings › Properties › the property › "Internal name")')).min(1, 'must name at least one property'),
    z.string().refine((text) => splitNames(text).length > 0 && splitNames(text).every((name) => propertyNamePattern.test(name)), 'must be property internal names separated by commas, e.g. "email, firstname, lifecyclestage"'),
  ],
  { error: 'must list the properties to sync: a list of internal names, or names separated by commas, e.g. "email, firstname, lifecyclestage"' },
);

export const hubspotConnectionSchema = z.strictObject({
  auth: z.strictObject(
    { credential: z.string().min(1, 'must name a stored credential') },
    { error: 'must name the stored credential holding a private-app token or an OAuth2 app, as {"credential": "<name>"}: a flow never holds a secret' },
  ),
  /** The properties that sync, by internal name; without it, each collection's defaults. */
  properties: propertyList.optional(),
  baseUrl: z
    .string({ error: 'must be the API address, https://api.hubapi.com unless a proxy stands in front of it' })
    .refine((value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '' && url.search === '' && url.hash === '';
      } catch {
        return false;
      }
    }, 'must be an http(s) URL without user, password or query, e.g. https://api.hubapi.com')
    .optional(),
  /**
   * The longest wait for a rate limit within a pass, in seconds: the ten-second and per-second limits lift sooner and
   * are waited out; the daily limit stops the pass cleanly and the next pass after midnight goes on.
   */
  maxWaitSeconds: z.number({ error: 'must be a number of seconds' }).int('must be a whole number of seconds').min(0).max(3600).default(60),
});

export type HubSpotConnectionInput = z.infer<typeof hubspotConnectionSchema>;

export interface HubSpotConnection {
  /** No trailing slash. */
  baseUrl: string;
  credential: string;
  /** The named properties, in order, without repeats; null when the connection names none (the collection's defaults). */
  properties: readonly string[] | null;
  maxWaitMs: number;
}

/** Checks a `hubspot` connection; each problem names its path inside `connection`. */
export function checkHubSpotConnection(connection: Record<string, unknown>): Array<{ path: (string | number)[]; message: string }> {
  const parsed = hubspotConnectionSchema.safeParse(connection);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({
    path: issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
    message:
      issue.code === 'unrecognized_keys'
        ? `${issue.message}; the hubspot options are auth, properties, baseUrl, maxWaitSeconds (docs/connectors/hubspot.md)`
        : issue.path.length === 1 && issue.path[0] === 'auth' && connection.auth === undefined
          ? 'is required: {"credential": "<name>"} naming the stored private-app token or OAuth2 credential'
          : issue.message,
  }));
}

/** Parses a connection already checked by {@link checkHubSpotConnection}. */
export function parseHubSpotConnection(connection: Record<string, unknown>): HubSpotConnection {
  const parsed = hubspotConnectionSchema.parse(connection);
  const names = parsed.properties === undefined ? null : typeof parsed.properties === 'string' ? splitNames(parsed.properties) : parsed.properties;
  return {
    baseUrl: (parsed.baseUrl ?? publicApiUrl).replace(/\/+$/, ''),
    credential: parsed.auth.credential,
    properties: names === null ? null : [...new Set(names)],
    maxWaitMs: parsed.maxWaitSeconds * 1000,
  };
}

function splitNames(text: string): string[] {
  return text.split(/[\s,;]+/).filter((name) => name !== '');
}
