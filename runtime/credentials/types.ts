/**
 * The one definition of each kind of credential: what a person supplies (the API, the command line and the editor's
 * form all parse it with these schemas), what the store keeps encrypted, and what a connector gets back. Plain zod, no
 * Node: the editor imports it too.
 */
import { z } from 'zod';

/** The kinds of credential. */
export const credentialTypes = ['token', 'basic', 'oauth2'] as const;
export type CredentialType = (typeof credentialTypes)[number];

/**
 * The kind a stored type stands for. Before credentials had kinds, a type was any label (`webhook-secret`,
 * `postgres-url`) on a plain secret: such a credential is a token, and keeps its label.
 */
export function credentialKind(type: string): CredentialType {
  return type === 'basic' || type === 'oauth2' ? type : 'token';
}

export const credentialNameSchema = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be 1-100 letters, digits and . _ - (starting with a letter or digit)');

const MAX_SECRET = 65_536;

/** A secret: an API token, a password, a client secret. */
export const secretSchema = z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(MAX_SECRET, 'must be at most 64 KiB');

/** An API token or bearer token, sent as it is. Also every credential stored under a label of its own. */
export const tokenValueSchema = secretSchema;

/** Username and password for HTTP basic auth. Zendesk's API tokens are `you@example.com/token` and the token. */
export const basicValueSchema = z.strictObject({
  username: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(1000, 'must be at most 1000 characters'),
  password: secretSchema,
});
export type BasicValue = z.infer<typeof basicValueSchema>;

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** Whether a URL points at this machine: where an authorization server may be reached over plain http (a local test server). */
export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOST.test(url.hostname);
}

/** The address of an authorization server or one of its endpoints: https, or http on this machine only. */
export const serverUrlSchema = z
  .string({ error: 'must be a URL' })
  .max(2000, 'must be at most 2000 characters')
  .refine((text) => URL.canParse(text), 'must be an absolute URL, e.g. https://auth.example.com/oauth/token')
  .refine((text) => {
    if (!URL.canParse(text)) return true;
    const url = new URL(text);
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackUrl(url));
  }, 'must use https (plain http only for a server on this machine, such as a test server)');

/** One OAuth2 scope (RFC 6749 §3.3: printable ASCII without space, quote or backslash). */
export const scopeSchema = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be one scope without spaces, e.g. read:issues');

/**
 * How the client proves itself to the token endpoint: the secret in the form body (what GitHub, Zendesk, HubSpot and
 * most SaaS expect: the default) or in a basic Authorization header. A client without a secret sends only its id.
 */
export const clientAuthSchema = z.enum(['client_secret_post', 'client_secret_basic']);
export type ClientAuth = z.infer<typeof clientAuthSchema> | 'none';

/** What both OAuth2 grants are told about the server and the client. */
const oauth2ServerFields = {
  /** Where the server publishes its metadata (OpenID Connect discovery or RFC 8414); stands in for the endpoints. */
  issuer: serverUrlSchema.optional(),
  tokenEndpoint: serverUrlSchema.optional(),
  clientId: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(1000, 'must be at most 1000 characters'),
  clientAuth: clientAuthSchema.optional(),
  scopes: z.array(scopeSchema, { error: 'must be a list of scopes' }).max(100, 'must be at most 100 scopes').optional(),
};

/** A machine-to-machine client: the client-credentials grant (RFC 6749 §4.4). Its token is fetched when stored, to prove it works. */
export const clientCredentialsValueSchema = z
  .strictObject({
    grant: z.literal('client_credentials'),
    ...oauth2ServerFields,
    clientSecret: secretSchema,
  })
  .refine((value) => value.issuer !== undefined || value.tokenEndpoint !== undefined, {
    message: 'needs the token endpoint, or the issuer that publishes it',
    path: ['tokenEndpoint'],
  });
export type ClientCredentialsValue = z.infer<typeof clientCredentialsValueSchema>;

/**
 * An app a person grants access to: the authorization-code grant with PKCE (RFC 6749 §4.1, RFC 7636), connected by the
 * consent the editor opens. A public client has no secret. Every field may be left out when reconnecting a credential
 * that has them.
 */
export const authorizationCodeSettingsSchema = z.strictObject({
  ...oauth2ServerFields,
  clientId: oauth2ServerFields.clientId.optional(),
  authorizationEndpoint: serverUrlSchema.optional(),
  clientSecret: secretSchema.optional(),
  /** The address the server sends the browser back to (`<runtime>/api/oauth/callback`); the runtime's own by default. */
  redirectUri: serverUrlSchema.optional(),
});
export type AuthorizationCodeSettings = z.infer<typeof authorizationCodeSettingsSchema>;

/** What a person supplies to store a credential of each kind, keyed by type. */
export const credentialInputSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('token'), value: tokenValueSchema }),
  z.strictObject({ type: z.literal('basic'), value: basicValueSchema }),
  z.strictObject({ type: z.literal('oauth2'), value: clientCredentialsValueSchema }),
]);
export type CredentialInput = z.infer<typeof credentialInputSchema>;

/** The value schema of each type, for a body whose type is read first (a label other than these is a token). */
export const credentialValueSchemas = {
  token: tokenValueSchema,
  basic: basicValueSchema,
  oauth2: clientCredentialsValueSchema,
} as const satisfies Record<CredentialType, z.ZodType>;

/** An OAuth2 credential as the store keeps it, encrypted as a whole: the server, the client, and the tokens it holds. */
export const oauth2StoredSchema = z.object({
  grant: z.enum(['authorization_code', 'client_credentials']),
  issuer: z.string().nullable(),
  authorizationEndpoint: z.string().nullable(),
  tokenEndpoint: z.string(),
  clientId: z.string(),
  clientSecret: z.string().nullable(),
  clientAuth: z.enum(['client_secret_post', 'client_secret_basic', 'none']),
  scopes: z.array(z.string()),
  accessToken: z.string(),
  refreshToken: z.string().nullable(),
  /** ISO-8601; null when the server did not say (the token is used until it is refused). */
  expiresAt: z.string().nullable(),
  obtainedAt: z.string(),
});
export type OAuth2Stored = z.infer<typeof oauth2StoredSchema>;

/** A credential as the store holds it once decrypted, keyed by kind. */
export type StoredCredential =
  | { type: 'token'; label: string; token: string }
  | { type: 'basic'; value: BasicValue }
  | { type: 'oauth2'; value: OAuth2Stored };

/** Whether an OAuth2 credential can be used (`connected`), or its server refused it and a person must connect it again. */
export const oauth2StatusSchema = z.enum(['connected', 'reconnect']);
export type OAuth2Status = z.infer<typeof oauth2StatusSchema>;

/** What the list shows of an OAuth2 credential besides its name: nothing secret. Kept unencrypted beside the value. */
export const oauth2DetailsSchema = z.object({
  grant: oauth2StoredSchema.shape.grant,
  status: oauth2StatusSchema,
  expiresAt: z.string().nullable(),
  /** The server's words when it refused the credential (`invalid_grant: …`), for the error and the editor. */
  refusal: z.string().nullable().default(null),
});
export type OAuth2Details = z.infer<typeof oauth2DetailsSchema>;

/** What a connector sends to authenticate: a bearer token, or a username and password. */
export type ResolvedAuth = { kind: 'bearer'; token: string } | { kind: 'basic'; username: string; password: string };
