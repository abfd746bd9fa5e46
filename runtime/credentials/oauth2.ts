/**
 * The OAuth2 exchanges a credential needs, made with oauth4webapi: server discovery, the authorization-code grant with
 * PKCE, the refresh-token grant and the client-credentials grant. Every request goes through the operator's host
 * policy (`guardedFetch`), like a connector's, so a token endpoint on a loopback or private address needs the same
 * `--allow-hosts` entry as any other host there.
 */
import * as oauth from 'oauth4webapi';
import { AccessRefusedError, type HostAccess } from '../connectors/access';
import { accessRefusalOf, guardedFetch } from '../connectors/network';
import { isLoopbackUrl, type ClientAuth, type OAuth2Stored } from './types';

/** Where an authorization server is reached. `issuer` is null for a server configured by its endpoints alone. */
export interface OAuthServer {
  issuer: string | null;
  authorizationEndpoint: string | null;
  tokenEndpoint: string;
}

/** The client as the server knows it. */
export interface OAuthClient {
  clientId: string;
  clientSecret: string | null;
  clientAuth: ClientAuth;
}

/** What a grant gave, in the store's terms. */
export type TokenSet = Pick<OAuth2Stored, 'accessToken' | 'refreshToken' | 'expiresAt' | 'obtainedAt'>;

/** How the exchanges reach the network and tell the time. */
export interface OAuthHttp {
  hosts: HostAccess;
  now(): Date;
}

/** A token endpoint answer of longer than this is given up on, so a pass never hangs on a silent server. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The authorization server answered with an OAuth error (`invalid_grant`, `invalid_client`, …): the request was
 * understood and refused, so repeating it will not help.
 */
export class OAuthRefusedError extends Error {
  constructor(
    readonly error: string,
    readonly description: string | null,
    readonly status: number,
  ) {
    super(`the authorization server refused the request: ${error}${description ? ` (${description.slice(0, 200)})` : ''}`);
    this.name = 'OAuthRefusedError';
  }
}

/** The server could not be asked: unreachable, refused by the host policy, or an answer that is not OAuth. */
export class OAuthUnavailableError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'OAuthUnavailableError';
  }
}

function requestOptions<Method, Body>(url: string, http: OAuthHttp): oauth.HttpRequestOptions<Method, Body> {
  const fetch = guardedFetch(http.hosts);
  return {
    signal: () => AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    [oauth.customFetch]: (target: string, init: oauth.CustomFetchOptions<Method, Body>) => fetch(target, init as unknown as RequestInit),
    // oauth4webapi speaks https only; plain http is accepted for a server on this machine (serverUrlSchema allows no other).
    ...(isLoopbackUrl(new URL(url)) ? { [oauth.allowInsecureRequests]: true } : {}),
  };
}

function asServer(server: OAuthServer): oauth.AuthorizationServer {
  return {
    // A server configured by its endpoints declares no issuer; nothing here compares one (see `withoutIdToken`).
    issuer: server.issuer ?? new URL(server.tokenEndpoint).origin,
    token_endpoint: server.tokenEndpoint,
    ...(server.authorizationEndpoint ? { authorization_endpoint: server.authorizationEndpoint } : {}),
  };
}

function clientAuthentication(client: OAuthClient): oauth.ClientAuth {
  if (client.clientSecret === null || client.clientAuth === 'none') return oauth.None();
  return client.clientAuth === 'client_secret_basic' ? oauth.ClientSecretBasic(client.clientSecret) : oauth.ClientSecretPost(client.clientSecret);
}

/** Turns what oauth4webapi throws into a refusal (the server said no) or an unavailability (it could not be asked). */
function describeFailure(error: unknown, endpoint: string): Error {
  if (error instanceof oauth.ResponseBodyError) return new OAuthRefusedError(error.error, error.error_description ?? null, error.status);
  // A 401 with a WWW-Authenticate challenge: the client's own credentials were refused.
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    const challenge = error.cause[0];
    return new OAuthRefusedError(challenge?.parameters.error ?? 'invalid_client', challenge?.parameters.error_description ?? null, error.status);
  }
  const refusal = accessRefusalOf(error);
  // The refusal names the host and the option to change.
  if (refusal) return new AccessRefusedError(refusal.message, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new OAuthUnavailableError(`${endpoint} could not be used: ${message}`, { cause: error });
}

/**
 * Syncline asks for access, not for identity: an ID token that a server adds unasked (an OpenID provider answering an
 * authorization code) is dropped before the answer is processed. Checking it would need an issuer, which a server
 * configured by its endpoints alone does not declare, and nothing would use what it says.
 */
async function withoutIdToken(response: Response): Promise<Response> {
  if (!response.ok) return response;
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  }
  if (body !== null && typeof body === 'object' && 'id_token' in body) delete (body as Record<string, unknown>).id_token;
  return new Response(JSON.stringify(body), { status: response.status, statusText: response.statusText, headers: response.headers });
}

function tokenSet(result: oauth.TokenEndpointResponse, obtainedAt: Date, previousRefreshToken: string | null): TokenSet {
  return {
    accessToken: result.access_token,
    // A server that keeps the refresh token the same sends none back with a refreshed access token.
    refreshToken: result.refresh_token ?? previousRefreshToken,
    expiresAt: typeof result.expires_in === 'number' ? new Date(obtainedAt.getTime() + result.expires_in * 1000).toISOString() : null,
    obtainedAt: obtainedAt.toISOString(),
  };
}

/** The endpoints an issuer publishes: OpenID Connect discovery first, then RFC 8414's metadata. */
export async function discoverServer(issuer: string, http: OAuthHttp): Promise<OAuthServer> {
  const url = new URL(issuer);
  let lastError: unknown;
  for (const algorithm of ['oidc', 'oauth2'] as const) {
    try {
      const response = await oauth.discoveryRequest(url, { ...requestOptions(issuer, http), algorithm });
      const metadata = await oauth.processDiscoveryResponse(url, response);
      if (!metadata.token_endpoint) throw new OAuthUnavailableError(`${issuer} publishes no token endpoint`);
      return { issuer: metadata.issuer, authorizationEndpoint: metadata.authorization_endpoint ?? null, tokenEndpoint: metadata.token_endpoint };
    } catch (error) {
      if (error instanceof OAuthUnavailableError || accessRefusalOf(error)) throw describeFailure(error, issuer);
      lastError = error;
    }
  }
  throw new OAuthUnavailableError(
    `${issuer} publishes no OAuth2 metadata (neither /.well-known/openid-configuration nor /.well-known/oauth-authorization-server): give the authorization and token endpoints instead`,
    { cause: lastError },
  );
}

/** A fresh PKCE verifier and state for one consent. */
export async function newConsentSecrets(): Promise<{ state: string; codeVerifier: string; codeChallenge: string }> {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  return { state: oauth.generateRandomState(), codeVerifier, codeChallenge: await oauth.calculatePKCECodeChallenge(codeVerifier) };
}

/** The address that asks a person for consent: the code flow with PKCE (S256), bound to `state`. */
export function authorizationUrl(
  server: OAuthServer,
  client: Pick<OAuthClient, 'clientId'>,
  request: { redirectUri: string; scopes: readonly string[]; state: string; codeChallenge: string },
): URL {
  if (!server.authorizationEndpoint) throw new OAuthUnavailableError('the server has no authorization endpoint: give it, or an issuer that publishes it');
  const url = new URL(server.authorizationEndpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', client.clientId);
  url.searchParams.set('redirect_uri', request.redirectUri);
  if (request.scopes.length > 0) url.searchParams.set('scope', request.scopes.join(' '));
  url.searchParams.set('state', request.state);
  url.searchParams.set('code_challenge', request.codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url;
}

/**
 * Checks the parameters the server sent the browser back with (the expected state, no error) and exchanges the code
 * for tokens. Throws OAuthRefusedError when the person declined or the server refused the code.
 */
export async function exchangeAuthorizationCode(
  server: OAuthServer,
  client: OAuthClient,
  callback: URLSearchParams,
  consent: { state: string; codeVerifier: string; redirectUri: string },
  http: OAuthHttp,
): Promise<TokenSet> {
  const as = asServer(server);
  const oauthClient: oauth.Client = { client_id: client.clientId };
  const parameters = new URLSearchParams(callback);
  // RFC 9207's `iss` names the server that answered; one configured without an issuer has nothing to compare it to,
  // and the state already binds this answer to the one server the consent was sent to.
  if (server.issuer === null) parameters.delete('iss');
  let checked: URLSearchParams;
  try {
    checked = oauth.validateAuthResponse(as, oauthClient, parameters, consent.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) throw new OAuthRefusedError(error.error, error.error_description ?? null, 400);
    throw new OAuthUnavailableError(`the answer from the authorization server is not valid: ${(error as Error).message}`, { cause: error });
  }
  try {
    const obtainedAt = http.now();
    const response = await oauth.authorizationCodeGrantRequest(as, oauthClient, clientAuthentication(client), checked, consent.redirectUri, consent.codeVerifier, {
      ...requestOptions(server.tokenEndpoint, http),
    });
    return tokenSet(await oauth.processAuthorizationCodeResponse(as, oauthClient, await withoutIdToken(response)), obtainedAt, null);
  } catch (error) {
    throw describeFailure(error, server.tokenEndpoint);
  }
}

/** New tokens for a refresh token (RFC 6749 §6). A rotated refresh token replaces the old one; otherwise it is kept. */
export async function refreshTokens(server: OAuthServer, client: OAuthClient, refreshToken: string, http: OAuthHttp): Promise<TokenSet> {
  const as = asServer(server);
  const oauthClient: oauth.Client = { client_id: client.clientId };
  try {
    const obtainedAt = http.now();
    const response = await oauth.refreshTokenGrantRequest(as, oauthClient, clientAuthentication(client), refreshToken, requestOptions(server.tokenEndpoint, http));
    return tokenSet(await oauth.processRefreshTokenResponse(as, oauthClient, await withoutIdToken(response)), obtainedAt, refreshToken);
  } catch (error) {
    throw describeFailure(error, server.tokenEndpoint);
  }
}

/** A token for the client itself (RFC 6749 §4.4). */
export async function clientCredentialsTokens(server: OAuthServer, client: OAuthClient, scopes: readonly string[], http: OAuthHttp): Promise<TokenSet> {
  const as = asServer(server);
  const oauthClient: oauth.Client = { client_id: client.clientId };
  const parameters = new URLSearchParams(scopes.length > 0 ? { scope: scopes.join(' ') } : {});
  try {
    const obtainedAt = http.now();
    const response = await oauth.clientCredentialsGrantRequest(as, oauthClient, clientAuthentication(client), parameters, requestOptions(server.tokenEndpoint, http));
    return tokenSet(await oauth.processClientCredentialsResponse(as, oauthClient, response), obtainedAt, null);
  } catch (error) {
    throw describeFailure(error, server.tokenEndpoint);
  }
}
