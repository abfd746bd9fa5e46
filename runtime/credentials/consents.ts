import { authorizationUrl, exchangeAuthorizationCode, newConsentSecrets, OAuthRefusedError, type OAuthClient, type OAuthHttp, type OAuthServer } from './oauth2';
import { OAuthSettingsError, resolveServer, type CredentialStore } from './store';
import type { AuthorizationCodeSettings } from './types';

/** How long a person has to finish a consent once the editor opened it. */
const CONSENT_TTL_MS = 10 * 60_000;
/** Consents waiting at once; the oldest give way. A person starts one at a time; this bounds a script that loops. */
const MAX_PENDING = 100;

/** A consent that cannot start or finish, with what a person should do; `status` is the HTTP status to answer. */
export class ConsentError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 422,
    readonly code: string,
    message: string,
    readonly path = '',
  ) {
    super(message);
    this.name = 'ConsentError';
  }
}

interface PendingConsent {
  name: string;
  server: OAuthServer;
  client: OAuthClient;
  scopes: string[];
  redirectUri: string;
  codeVerifier: string;
  expiresAt: number;
}

/**
 * OAuth2 authorization-code consents in progress: the editor starts one for a credential and opens the server's
 * consent page; the server sends the browser back to the callback with a code and the state. That request carries no
 * API token (a browser redirect cannot), so the state is what authenticates it: random, bound to the one credential
 * and PKCE verifier it was made for, kept here only (never sent to the browser but inside the authorization URL),
 * used once, and void after CONSENT_TTL_MS.
 */
export class OAuthConsents {
  private readonly pending = new Map<string, PendingConsent>();

  private readonly http: OAuthHttp;

  /** Consents reach servers and tell the time as `store` does, so tokens they obtain expire by the store's clock. */
  constructor(private readonly store: CredentialStore) {
    this.http = store.oauth;
  }

  /**
   * The authorization URL for connecting credential `name`. Settings left out are taken from the credential stored
   * under that name (reconnecting it); the credential itself is only replaced when the consent finishes.
   */
  async start(name: string, settings: AuthorizationCodeSettings, defaultRedirectUri: string): Promise<{ authorizationUrl: string; redirectUri: string; expiresAt: string }> {
    const existing = await this.store.stored(name);
    if (existing && !(existing.type === 'oauth2' && existing.value.grant === 'authorization_code')) {
      const kind = existing.type === 'oauth2' ? 'an OAuth2 client-credentials' : `a ${existing.type}`;
      throw new ConsentError(409, 'credential_exists', `"${name}" is ${kind} credential: delete it first, or connect under another name`, 'name');
    }
    const kept = existing?.type === 'oauth2' ? existing.value : null;
    const clientId = settings.clientId ?? kept?.clientId;
    if (clientId === undefined) throw new ConsentError(400, 'invalid_body', 'clientId: is required (the client id of the app registered with the server)', 'clientId');
    let server: OAuthServer;
    try {
      server = await resolveServer(
        {
          issuer: settings.issuer ?? kept?.issuer ?? undefined,
          authorizationEndpoint: settings.authorizationEndpoint ?? kept?.authorizationEndpoint ?? undefined,
          tokenEndpoint: settings.tokenEndpoint ?? kept?.tokenEndpoint,
        },
        this.http,
        true,
      );
    } catch (error) {
      if (error instanceof OAuthSettingsError) throw new ConsentError(400, 'invalid_body', error.message, error.path);
      throw error;
    }
    const clientSecret = settings.clientSecret ?? kept?.clientSecret ?? null;
    const client: OAuthClient = { clientId, clientSecret, clientAuth: clientSecret === null ? 'none' : (settings.clientAuth ?? (kept?.clientAuth === 'none' ? undefined : kept?.clientAuth) ?? 'client_secret_post') };
    const scopes = settings.scopes ?? kept?.scopes ?? [];
    const redirectUri = settings.redirectUri ?? defaultRedirectUri;
    const { state, codeVerifier, codeChallenge } = await newConsentSecrets();
    const url = authorizationUrl(server, client, { redirectUri, scopes, state, codeChallenge });
    const expiresAt = this.http.now().getTime() + CONSENT_TTL_MS;
    this.prune();
    this.pending.set(state, { name, server, client, scopes, redirectUri, codeVerifier, expiresAt });
    return { authorizationUrl: url.href, redirectUri, expiresAt: new Date(expiresAt).toISOString() };
  }

  /**
   * Finishes the consent the callback's `state` names: exchanges the code, stores the credential (encrypted,
   * replacing one by that name) and returns its name. The state is used up whatever the outcome.
   */
  async finish(callback: URLSearchParams): Promise<{ name: string }> {
    const state = callback.get('state');
    const consent = state === null ? undefined : this.pending.get(state);
    if (state !== null) this.pending.delete(state);
    if (!state || !consent || consent.expiresAt < this.http.now().getTime()) {
      throw new ConsentError(400, 'unknown_state', 'this sign-in is unknown, expired or already finished: start it again from the editor (Credentials, then Connect)');
    }
    let tokens;
    try {
      tokens = await exchangeAuthorizationCode(consent.server, consent.client, callback, { state, codeVerifier: consent.codeVerifier, redirectUri: consent.redirectUri }, this.http);
    } catch (error) {
      if (error instanceof OAuthRefusedError) {
        const declined = error.error === 'access_denied';
        throw new ConsentError(
          422,
          'oauth_refused',
          declined
            ? `access to "${consent.name}" was declined at the authorization server: connect again and allow it`
            : `the authorization server refused to connect "${consent.name}": ${error.message.replace(/^the authorization server refused the request: /, '')}`,
        );
      }
      throw error;
    }
    await this.store.saveConnected(consent.name, {
      grant: 'authorization_code',
      ...consent.server,
      ...consent.client,
      scopes: consent.scopes,
      ...tokens,
    });
    return { name: consent.name };
  }

  private prune(): void {
    const now = this.http.now().getTime();
    for (const [state, consent] of this.pending) if (consent.expiresAt < now) this.pending.delete(state);
    // Map order is insertion order: the first are the oldest.
    for (const state of this.pending.keys()) {
      if (this.pending.size < MAX_PENDING) break;
      this.pending.delete(state);
    }
  }
}
