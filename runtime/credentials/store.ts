import { randomUUID } from 'node:crypto';
import type { HostAccess } from '../connectors/access';
import type { StateDb } from '../db';
import {
  deleteCredentialRow,
  getCredentialRow,
  insertCredentialRow,
  listCredentialNames,
  refreshLeaseHeld,
  releaseRefreshLease,
  storeRefreshed,
  takeRefreshLease,
  upsertCredentialRow,
} from '../db/credentialQueries';
import { decryptSecret, encryptSecret } from './cipher';
import { clientCredentialsTokens, discoverServer, OAuthRefusedError, refreshTokens, type OAuthHttp, type OAuthServer } from './oauth2';
import {
  basicValueSchema,
  clientCredentialsValueSchema,
  credentialKind,
  oauth2DetailsSchema,
  oauth2StoredSchema,
  tokenValueSchema,
  type OAuth2Details,
  type OAuth2Status,
  type OAuth2Stored,
  type ResolvedAuth,
  type StoredCredential,
} from './types';

/** What the list shows of a credential: never a value. */
export type CredentialSummary =
  | { name: string; type: string; createdAt: string }
  | {
      name: string;
      type: 'oauth2';
      createdAt: string;
      grant: OAuth2Stored['grant'];
      status: OAuth2Status;
      expiresAt: string | null;
      refusal: string | null;
    };

/** Thrown when a flow names a credential that is not stored. */
export class MissingCredentialError extends Error {
  readonly credential: string;
  constructor(name: string) {
    super(`credential "${name}" is not stored: add it in the editor (Credentials), with POST /api/credentials, or with syncline credentials add ${name} --type TYPE`);
    this.name = 'MissingCredentialError';
    this.credential = name;
  }
}

/**
 * An OAuth2 credential whose server refused it (a revoked grant, an expired refresh token, a changed client secret):
 * only a person can fix it, by connecting it again. Not retried until then.
 */
export class CredentialReconnectError extends Error {
  readonly credential: string;
  constructor(name: string, grant: OAuth2Stored['grant'], refusal: string) {
    super(
      grant === 'authorization_code'
        ? `credential "${name}": the authorization server refused its refresh token (${refusal}); reconnect the credential in the editor (Credentials, then Reconnect on "${name}")`
        : `credential "${name}": the authorization server refused its client id or secret (${refusal}); store the credential again with a valid client secret, in the editor (Credentials) or with syncline credentials add`,
    );
    this.name = 'CredentialReconnectError';
    this.credential = name;
  }
}

/** OAuth errors that mean the grant or the client itself was refused: asking again will not help, a person must act. */
const REFUSALS_NEEDING_A_PERSON = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_scope', 'unsupported_grant_type', 'access_denied']);

/** How long a refresher holds a credential's lease: longer than a token request may take (30 s), shorter than a person waits. */
const REFRESH_LEASE_MS = 60_000;
/** How often a resolution that found a refresh in progress looks whether it finished. */
const LEASE_POLL_MS = 100;
/** An access token is refreshed this long before it expires, or at half its lifetime for a short-lived one. */
const REFRESH_MARGIN_MS = 5 * 60_000;

export interface CredentialStoreOptions {
  now?: () => Date;
  /** Where token endpoints may be: the operator's host policy, as for connectors. Default: public addresses only. */
  hosts?: HostAccess;
  /**
   * False for a store over a throwaway copy of the state (a dry run): it never uses a refresh token, since a server
   * that rotates refresh tokens would void the stored one and the new one would be thrown away with the copy.
   */
  persistent?: boolean;
}

interface Loaded {
  credential: StoredCredential;
  /** An OAuth2 credential's status; `connected` for every other kind. */
  status: OAuth2Status;
  /** What the authorization server said when it refused the credential. */
  refusal: string | null;
}

/**
 * Refreshes in progress per state connection and credential, so that resolutions of one credential in one process
 * share one refresh, whichever store instance they come through (the pass worker renews its store every pass).
 */
const refreshesInFlight = new WeakMap<StateDb, Map<string, Promise<Loaded>>>();

/** Whether an OAuth2 access token is expired or about to be. */
export function needsRefresh(value: OAuth2Stored, now: Date): boolean {
  if (value.expiresAt === null) return false;
  const expires = Date.parse(value.expiresAt);
  const lifetime = expires - Date.parse(value.obtainedAt);
  return expires - now.getTime() <= Math.min(REFRESH_MARGIN_MS, Math.max(0, lifetime) / 2);
}

function detailsOf(value: OAuth2Stored, status: OAuth2Status, refusal: string | null = null): string {
  return JSON.stringify({ grant: value.grant, status, expiresAt: value.expiresAt, refusal } satisfies OAuth2Details);
}

function parseDetails(text: string | null): OAuth2Details | null {
  if (text === null) return null;
  try {
    const parsed = oauth2DetailsSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Stored secrets, encrypted at rest. Values leave this class only through `resolve` and `resolveAuth`, which the
 * engine and the webhook check call; nothing here logs or returns them otherwise. Decrypted values are cached because
 * a webhook signature check needs the secret on every request; an OAuth2 access token is refreshed when it is about to
 * expire, once for all who ask at the same time, and the new tokens are stored encrypted like the rest.
 */
export class CredentialStore {
  private readonly cache = new Map<string, Loaded>();
  private readonly now: () => Date;
  private readonly persistent: boolean;
  /** How this store reaches authorization servers (the host policy) and tells the time: consents use the same. */
  readonly oauth: OAuthHttp;

  /** `key` may be a function, for a command that needs the key only when a credential is actually read. */
  constructor(
    private readonly db: StateDb,
    private readonly key: Buffer | (() => Buffer),
    options: CredentialStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.persistent = options.persistent ?? true;
    this.oauth = { hosts: options.hosts ?? { allowed: [] }, now: this.now };
  }

  private loadedKey: Buffer | null = null;

  private secretKey(): Buffer {
    return (this.loadedKey ??= typeof this.key === 'function' ? this.key() : this.key);
  }

  /** Names and types (and an OAuth2 credential's status), never values. */
  async list(): Promise<CredentialSummary[]> {
    const rows = await listCredentialNames(this.db);
    return rows.map((row) => {
      const details = row.type === 'oauth2' ? parseDetails(row.details) : null;
      if (!details) return { name: row.name, type: row.type, createdAt: row.created_at };
      const { grant, status, expiresAt, refusal } = details;
      return { name: row.name, type: 'oauth2', createdAt: row.created_at, grant, status, expiresAt, refusal };
    });
  }

  /**
   * Stores a new credential of `type` (`token`, `basic`, `oauth2`, or a label on a plain secret, which is a token);
   * null when the name is taken. `value` is checked against the type's schema. An OAuth2 client-credentials value gets
   * its first token here, which proves the client id and secret work: a refusal throws OAuthRefusedError and stores
   * nothing.
   */
  async create(name: string, type: string, value: unknown): Promise<CredentialSummary | null> {
    const createdAt = this.now().toISOString();
    let plaintext: string;
    let details: string | null = null;
    switch (credentialKind(type)) {
      case 'token':
        plaintext = tokenValueSchema.parse(value);
        break;
      case 'basic':
        plaintext = JSON.stringify(basicValueSchema.parse(value));
        break;
      case 'oauth2': {
        if (await getCredentialRow(this.db, name)) return null;
        const stored = await this.clientCredentials(clientCredentialsValueSchema.parse(value));
        plaintext = JSON.stringify(stored);
        details = detailsOf(stored, 'connected');
        break;
      }
    }
    const inserted = await insertCredentialRow(this.db, { name, type, value_encrypted: encryptSecret(this.secretKey(), name, plaintext), created_at: createdAt, details });
    if (!inserted) return null;
    this.cache.delete(name);
    const summaries = await this.list();
    return summaries.find((summary) => summary.name === name) ?? { name, type, createdAt };
  }

  /** Stores an OAuth2 credential a person just connected, replacing one by that name (a reconnect). */
  async saveConnected(name: string, value: OAuth2Stored): Promise<void> {
    const stored = oauth2StoredSchema.parse(value);
    await upsertCredentialRow(this.db, {
      name,
      type: 'oauth2',
      value_encrypted: encryptSecret(this.secretKey(), name, JSON.stringify(stored)),
      details: detailsOf(stored, 'connected'),
      created_at: this.now().toISOString(),
    });
    this.cache.delete(name);
  }

  /**
   * Stores a token credential, replacing one by that name: for a secret the runtime got from a system rather than
   * from a person (the signing secret Zendesk makes for a webhook it registered).
   */
  async replace(name: string, type: string, value: string): Promise<void> {
    if (credentialKind(type) !== 'token') throw new Error(`replace stores secrets of the token kind, not ${type}`);
    await upsertCredentialRow(this.db, {
      name,
      type,
      value_encrypted: encryptSecret(this.secretKey(), name, tokenValueSchema.parse(value)),
      details: null,
      created_at: this.now().toISOString(),
    });
    this.cache.delete(name);
  }

  /** Removes a credential; false when there is none by that name. */
  async remove(name: string): Promise<boolean> {
    this.cache.delete(name);
    return deleteCredentialRow(this.db, name);
  }

  /**
   * The stored kind of a credential with its secrets (for reconnecting an OAuth2 credential with the settings it
   * has), or null when the name is not stored. Inside the runtime only.
   */
  async stored(name: string): Promise<StoredCredential | null> {
    try {
      return (await this.load(name, true)).credential;
    } catch (error) {
      if (error instanceof MissingCredentialError) return null;
      throw error;
    }
  }

  /**
   * The secret a connector sends, as one string: a token as stored, a basic credential's password (the username sits
   * in the connection, as the http connector's `basic` auth and Zendesk's `email/token` expect), an OAuth2
   * credential's access token, refreshed first when it is about to expire. Throws MissingCredentialError when the
   * name is not stored, CredentialReconnectError when the authorization server refused the credential.
   */
  async resolve(name: string): Promise<string> {
    const auth = await this.resolveAuth(name);
    return auth.kind === 'bearer' ? auth.token : auth.password;
  }

  /** How to authenticate with a credential, by its kind: a bearer token, or a username and password. */
  async resolveAuth(name: string): Promise<ResolvedAuth> {
    let loaded = await this.load(name, false);
    if (loaded.credential.type === 'oauth2') {
      const { value } = loaded.credential;
      if (loaded.status === 'reconnect') throw new CredentialReconnectError(name, value.grant, loaded.refusal ?? 'refused earlier');
      if (needsRefresh(value, this.now())) loaded = await this.refreshOnce(name);
    }
    const { credential } = loaded;
    switch (credential.type) {
      case 'token':
        return { kind: 'bearer', token: credential.token };
      case 'basic':
        return { kind: 'basic', username: credential.value.username, password: credential.value.password };
      case 'oauth2':
        return { kind: 'bearer', token: credential.value.accessToken };
    }
  }

  /** Reads and decrypts a credential, from the cache unless `fresh`. */
  private async load(name: string, fresh: boolean): Promise<Loaded> {
    const cached = fresh ? undefined : this.cache.get(name);
    if (cached) return cached;
    const row = await getCredentialRow(this.db, name);
    if (!row) throw new MissingCredentialError(name);
    const plaintext = decryptSecret(this.secretKey(), name, row.value_encrypted);
    let loaded: Loaded;
    try {
      switch (credentialKind(row.type)) {
        case 'token':
          loaded = { credential: { type: 'token', label: row.type, token: plaintext }, status: 'connected', refusal: null };
          break;
        case 'basic':
          loaded = { credential: { type: 'basic', value: basicValueSchema.parse(JSON.parse(plaintext)) }, status: 'connected', refusal: null };
          break;
        case 'oauth2': {
          const details = parseDetails(row.details);
          loaded = { credential: { type: 'oauth2', value: oauth2StoredSchema.parse(JSON.parse(plaintext)) }, status: details?.status ?? 'connected', refusal: details?.refusal ?? null };
          break;
        }
      }
    } catch (error) {
      throw new Error(`credential "${name}" could not be read as a ${row.type} credential: store it again`, { cause: error });
    }
    this.cache.set(name, loaded);
    return loaded;
  }

  /** One refresh per credential and process at a time: who asks while one runs gets its outcome. */
  private refreshOnce(name: string): Promise<Loaded> {
    let inFlight = refreshesInFlight.get(this.db);
    if (!inFlight) refreshesInFlight.set(this.db, (inFlight = new Map()));
    const running = inFlight.get(name);
    if (running) return running;
    const started = this.refreshUnderLease(name).finally(() => inFlight.delete(name));
    inFlight.set(name, started);
    return started;
  }

  /**
   * Refreshes an OAuth2 credential holding its lease in the state, so that other processes and threads on the same
   * state (the API, the pass worker, a `run --once`) refresh it once: one that finds the lease taken waits for it to be
   * given back, then uses what was stored. A lease whose holder died lapses after REFRESH_LEASE_MS.
   */
  private async refreshUnderLease(name: string): Promise<Loaded> {
    for (;;) {
      const lease = randomUUID();
      const now = this.now();
      if (await takeRefreshLease(this.db, name, lease, new Date(now.getTime() + REFRESH_LEASE_MS).toISOString(), now.toISOString())) {
        try {
          return await this.refreshHoldingLease(name, lease);
        } finally {
          // Given back already when the refresh stored or failed; this covers a throw in between.
          await releaseRefreshLease(this.db, name, lease);
        }
      }
      while (await refreshLeaseHeld(this.db, name, this.now().toISOString())) await new Promise((done) => setTimeout(done, LEASE_POLL_MS));
      const current = await this.load(name, true);
      if (current.credential.type !== 'oauth2') return current;
      if (current.status === 'reconnect') throw new CredentialReconnectError(name, current.credential.value.grant, current.refusal ?? 'refused earlier');
      if (!needsRefresh(current.credential.value, this.now())) return current;
    }
  }

  private async refreshHoldingLease(name: string, lease: string): Promise<Loaded> {
    // Another process may have refreshed between this one's read and its lease: read again under the lease.
    const current = await this.load(name, true);
    if (current.credential.type !== 'oauth2') return current;
    const value = current.credential.value;
    if (current.status === 'reconnect') throw new CredentialReconnectError(name, value.grant, current.refusal ?? 'refused earlier');
    if (!needsRefresh(value, this.now())) return current;
    if (value.grant === 'authorization_code' && value.refreshToken !== null && !this.persistent) {
      throw new Error(
        `credential "${name}": its access token expired, and a dry run does not refresh it (the server may replace the refresh token, and a dry run stores nothing): run without --dry-run, or let syncline serve refresh it, then try again`,
      );
    }
    let next: OAuth2Stored;
    try {
      const server: OAuthServer = { issuer: value.issuer, authorizationEndpoint: value.authorizationEndpoint, tokenEndpoint: value.tokenEndpoint };
      const client = { clientId: value.clientId, clientSecret: value.clientSecret, clientAuth: value.clientAuth };
      if (value.grant === 'client_credentials') next = { ...value, ...(await clientCredentialsTokens(server, client, value.scopes, this.oauth)) };
      else if (value.refreshToken !== null) next = { ...value, ...(await refreshTokens(server, client, value.refreshToken, this.oauth)) };
      else throw new OAuthRefusedError('no_refresh_token', 'the access token expired and the server gave no refresh token', 400);
    } catch (error) {
      if (error instanceof OAuthRefusedError && (REFUSALS_NEEDING_A_PERSON.has(error.error) || error.error === 'no_refresh_token')) {
        const refusal = error.description ? `${error.error}: ${error.description.slice(0, 200)}` : error.error;
        await releaseRefreshLease(this.db, name, lease, detailsOf(value, 'reconnect', refusal));
        this.cache.set(name, { ...current, status: 'reconnect', refusal });
        throw new CredentialReconnectError(name, value.grant, refusal);
      }
      throw new Error(`credential "${name}": its access token could not be refreshed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const stored = await storeRefreshed(this.db, name, lease, {
      value_encrypted: encryptSecret(this.secretKey(), name, JSON.stringify(next)),
      details: detailsOf(next, 'connected'),
      updated_at: this.now().toISOString(),
    });
    const loaded: Loaded = { credential: { type: 'oauth2', value: next }, status: 'connected', refusal: null };
    // Not stored when the credential was removed or reconnected meanwhile: these tokens still serve this use.
    if (stored) this.cache.set(name, loaded);
    return loaded;
  }

  /** The server's endpoints and the first token of a client-credentials value. */
  private async clientCredentials(value: ReturnType<typeof clientCredentialsValueSchema.parse>): Promise<OAuth2Stored> {
    const server = await resolveServer(value, this.oauth);
    const client = { clientId: value.clientId, clientSecret: value.clientSecret, clientAuth: value.clientAuth ?? 'client_secret_post' };
    const scopes = value.scopes ?? [];
    const tokens = await clientCredentialsTokens(server, client, scopes, this.oauth);
    return { grant: 'client_credentials', ...server, ...client, scopes, ...tokens };
  }
}

/** OAuth2 settings that do not say where the server is; `path` names the setting to add. */
export class OAuthSettingsError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'OAuthSettingsError';
  }
}

/**
 * The endpoints of a server given by its endpoints, its issuer, or both (given endpoints win over published ones).
 * Discovery runs once, when the credential is stored; refreshes use the endpoints found then.
 */
export async function resolveServer(
  value: { issuer?: string | undefined; tokenEndpoint?: string | undefined; authorizationEndpoint?: string | undefined },
  http: OAuthHttp,
  needsAuthorizationEndpoint = false,
): Promise<OAuthServer> {
  const complete = value.tokenEndpoint !== undefined && (!needsAuthorizationEndpoint || value.authorizationEndpoint !== undefined);
  if (complete || value.issuer === undefined) {
    if (value.tokenEndpoint === undefined) throw new OAuthSettingsError('tokenEndpoint', 'needs the token endpoint, or the issuer that publishes it');
    if (needsAuthorizationEndpoint && value.authorizationEndpoint === undefined) {
      throw new OAuthSettingsError('authorizationEndpoint', 'needs the authorization endpoint, or the issuer that publishes it');
    }
    return { issuer: value.issuer ?? null, authorizationEndpoint: value.authorizationEndpoint ?? null, tokenEndpoint: value.tokenEndpoint };
  }
  const published = await discoverServer(value.issuer, http);
  return {
    issuer: published.issuer,
    authorizationEndpoint: value.authorizationEndpoint ?? published.authorizationEndpoint,
    tokenEndpoint: value.tokenEndpoint ?? published.tokenEndpoint,
  };
}
