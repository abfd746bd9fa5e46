/**
 * The `mailchimp` connector's `connection` (docs/connectors/mailchimp.md): one zod schema is the source of its type,
 * defaults and messages. The key or token is named, never held: `auth: {"credential": NAME}` (SPEC §1).
 */
import { z } from 'zod';
import type { ConnectionProblem } from '../connection';

/** A data center prefix, the `us19` of `https://us19.api.mailchimp.com` and of an API key's `-us19` suffix. */
const serverPattern = /^[a-z]{2,6}\d{1,4}$/;
/** An API key: 32 hex characters, a dash, the data center ("API keys" in Mailchimp's account settings). */
const apiKeyPattern = /^[0-9a-f]{32}-([a-z]{2,6}\d{1,4})$/i;
/** Audience ids are short alphanumeric strings, `a1b2c3d4e5` (the list_id of every audience path). */
const listPattern = /^[A-Za-z0-9]{1,50}$/;

/** How a new member's status is set when the flow does not give one (`status_if_new` of Add or update list member). */
export const newMemberStatuses = ['subscribed', 'pending', 'unsubscribed', 'transactional'] as const;

const httpUrl = z
  .string({ error: 'must be an http(s) URL, e.g. https://us19.api.mailchimp.com' })
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '' && url.search === '' && url.hash === '';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without user, password or query, e.g. https://us19.api.mailchimp.com (the API answers under its /3.0)');

export const mailchimpConnectionSchema = z.strictObject({
  auth: z.strictObject(
    { credential: z.string({ error: 'must name a stored credential' }).min(1, 'must name a stored credential') },
    { error: 'must name the stored credential that holds the Mailchimp API key or OAuth token, as {"credential": "<name>"}: a flow never holds a secret' },
  ),
  /** The audience (list) whose members sync. */
  list: z.string({ error: 'must be the audience id, e.g. "a1b2c3d4e5"' }).regex(listPattern, 'must be the audience id (letters and digits, e.g. "a1b2c3d4e5"): Audience › Settings › Audience name and defaults › Audience ID'),
  /** The data center; taken from an API key's `-us19` suffix when left out. */
  server: z.string({ error: 'must be the data center, e.g. "us19"' }).regex(serverPattern, 'must be the data center prefix of the account, e.g. "us19" (the part after the dash of an API key, or of https://us19.admin.mailchimp.com)').optional(),
  /** Another address for the API (a proxy, a test's fake), in place of https://<server>.api.mailchimp.com. */
  baseUrl: httpUrl.optional(),
  statusIfNew: z
    .enum(newMemberStatuses, { error: `must be one of ${newMemberStatuses.join(', ')}: the status a member created by the sync gets when the flow gives none` })
    .default('subscribed'),
  /** The longest wait for a rate limit within a pass, in seconds; a longer one stops the pass cleanly. */
  maxWaitSeconds: z.number({ error: 'must be a number of seconds' }).int('must be a whole number of seconds').min(0).max(3600).default(60),
});

export type MailchimpConnection = z.infer<typeof mailchimpConnectionSchema>;

const optionNames = Object.keys(mailchimpConnectionSchema.shape).join(', ');

/** Checks a `mailchimp` connection; each problem names its path inside `connection`. */
export function checkMailchimpConnection(connection: Record<string, unknown>): ConnectionProblem[] {
  const parsed = mailchimpConnectionSchema.safeParse(connection);
  const problems: ConnectionProblem[] = parsed.success
    ? []
    : parsed.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ path: [...issue.path.map(String), key], message: `is not a mailchimp connection option; the options are ${optionNames} (docs/connectors/mailchimp.md)` }))
          : [
              {
                path: issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
                message: issue.path.length === 1 && connection[String(issue.path[0])] === undefined ? missingMessage(issue.path[0]) : issue.message,
              },
            ],
      );
  if (connection.server !== undefined && connection.baseUrl !== undefined) problems.push({ path: ['baseUrl'], message: 'give server or baseUrl, not both: baseUrl replaces https://<server>.api.mailchimp.com' });
  return problems;
}

function missingMessage(field: PropertyKey | undefined): string {
  switch (field) {
    case 'auth':
      return 'is required: {"credential": "<name>"} naming the stored Mailchimp API key (or OAuth access token)';
    case 'list':
      return 'is required: the id of the audience whose members sync (the editor lists them once the credential is chosen)';
    default:
      return 'is required';
  }
}

/** Parses a connection already checked by {@link checkMailchimpConnection}. */
export function parseMailchimpConnection(connection: Record<string, unknown>): MailchimpConnection {
  return mailchimpConnectionSchema.parse(connection);
}

/** The data center an API key names (`us19` of `…-us19`), or null for a secret that is not an API key (an OAuth token). */
export function dataCenterOfKey(secret: string): string | null {
  return apiKeyPattern.exec(secret.trim())?.[1]?.toLowerCase() ?? null;
}

/**
 * Where the API answers: `baseUrl`, else `https://<server>.api.mailchimp.com`, the data center taken from the
 * connection or from the API key. Null when neither says (an OAuth token, which names no data center, without `server`).
 */
export function apiRoot(connection: Pick<MailchimpConnection, 'server' | 'baseUrl'>, keyDataCenter: string | null): string | null {
  if (connection.baseUrl) return connection.baseUrl.replace(/\/+$/, '');
  const server = connection.server ?? keyDataCenter;
  return server ? `https://${server}.api.mailchimp.com` : null;
}
