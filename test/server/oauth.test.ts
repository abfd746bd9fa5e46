import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OAuthConsents } from '../../runtime/credentials/consents';
import { CredentialStore } from '../../runtime/credentials/store';
import { openStateDb, type StateDb } from '../../runtime/db/index';
import { startAuthorizationServer, type TestAuthorizationServer, type TokenRequest } from '../support/oauthServer';
import { testStateForThisTest } from '../support/serverState';
import { auth, testRuntime, type TestRuntime } from './support';

// OAuth2 credentials against oauth2-mock-server: a real authorization server (authorization code with PKCE, refresh
// token and client-credentials grants) on 127.0.0.1, which the runtime may reach only because the test allows it, as
// an operator would with --allow-hosts.

let authServer: TestAuthorizationServer;
let issuer: string;
let requests: TokenRequest[];
let issued: TestAuthorizationServer['issued'];

beforeAll(async () => {
  authServer = await startAuthorizationServer();
  ({ issuer, requests, issued } = authServer);
});
afterAll(async () => {
  await authServer?.stop();
});

const refuseNextToken = (error: string, description: string, status?: number) => authServer.refuseNextToken(error, description, status);

/** A clock the test moves, shared by the runtime and its credential store. */
function testClock() {
  let offsetMs = 0;
  return { now: () => new Date(Date.now() + offsetMs), advance: (ms: number) => void (offsetMs += ms) };
}

/** What a browser does with the authorization URL: the mock server "logs the person in" and redirects back. */
async function followConsent(authorizationUrl: string): Promise<URL> {
  const response = await fetch(authorizationUrl, { redirect: 'manual' });
  expect(response.status).toBe(302);
  return new URL(response.headers.get('location') as string);
}

async function startConsent(t: TestRuntime, name: string, body: Record<string, unknown>): Promise<{ authorizationUrl: string; redirectUri: string; expiresAt: string }> {
  const response = await t.post(`/api/credentials/${name}/oauth/start`, body);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as { authorizationUrl: string; redirectUri: string; expiresAt: string };
}

/** The callback as the browser opens it: no API token, only what the server put in the address. */
const openCallback = (t: TestRuntime, redirect: URL) => t.request(`${redirect.pathname}${redirect.search}`);

async function listed(t: TestRuntime): Promise<Array<Record<string, unknown>>> {
  return (await (await t.request('/api/credentials', { headers: auth })).json()) as Array<Record<string, unknown>>;
}

describe('OAuth2 authorization code, connected from the editor', () => {
  let t: TestRuntime;
  afterEach(async () => t?.close());

  it('connects by consent, stores the tokens encrypted, refreshes near expiry, and asks to reconnect when refused', async () => {
    const clock = testClock();
    const key = randomBytes(32);
    t = await testRuntime({ allowHosts: ['127.0.0.1'], now: clock.now, credentialKey: key });
    const store = t.runtime.deps.credentials;

    const started = await startConsent(t, 'helpdesk', { issuer, clientId: 'syncline-test', clientSecret: 'client-secret-value', scopes: ['tickets:read', 'tickets:write'] });
    const authorizationUrl = new URL(started.authorizationUrl);
    expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${issuer}/authorize`);
    expect(Object.fromEntries(authorizationUrl.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'syncline-test',
      redirect_uri: 'http://localhost/api/oauth/callback',
      scope: 'tickets:read tickets:write',
      code_challenge_method: 'S256',
      code_challenge: expect.stringMatching(/^[\w-]{43}$/),
      state: expect.stringMatching(/^[\w-]{20,}$/),
    });
    expect(started.redirectUri).toBe('http://localhost/api/oauth/callback');

    // Until the callback, nothing is stored.
    expect(await listed(t)).toEqual([]);
    const redirect = await followConsent(started.authorizationUrl);
    expect(redirect.href.startsWith(started.redirectUri)).toBe(true);
    const page = await openCallback(t, redirect);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'nonce-/);
    const html = await page.text();
    expect(html).toContain('The credential &#34;helpdesk&#34; is connected');
    expect(html).toContain("new BroadcastChannel('syncline.oauth')");

    // The code was exchanged with the PKCE verifier, and the tokens are stored encrypted.
    const first = issued.at(-1)!;
    expect(requests.at(-1)).toMatchObject({ grantType: 'authorization_code', clientId: 'syncline-test' });
    expect(await listed(t)).toEqual([
      { name: 'helpdesk', type: 'oauth2', createdAt: expect.any(String), grant: 'authorization_code', status: 'connected', expiresAt: expect.any(String), refusal: null },
    ]);
    const row = await t.db.selectFrom('credentials').selectAll().where('name', '=', 'helpdesk').executeTakeFirstOrThrow();
    const plain = Buffer.from(row.value_encrypted, 'base64').toString('latin1');
    for (const secret of [first.accessToken, first.refreshToken!, 'client-secret-value']) {
      expect(row.value_encrypted).not.toContain(secret);
      expect(plain).not.toContain(secret);
    }
    expect(await store.resolve('helpdesk')).toBe(first.accessToken);
    expect(await store.resolveAuth('helpdesk')).toEqual({ kind: 'bearer', token: first.accessToken });

    // The state is good once: the same address again is refused, and changes nothing.
    const replay = await openCallback(t, redirect);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toMatch(/unknown, expired or already finished/);

    // An hour and more later the access token is about to expire: resolving refreshes it through the server.
    clock.advance(3600_000);
    const before = requests.length;
    const refreshed = await store.resolve('helpdesk');
    expect(requests.slice(before)).toEqual([{ grantType: 'refresh_token', refreshToken: first.refreshToken, clientId: 'syncline-test' }]);
    const second = issued.at(-1)!;
    expect(refreshed).toBe(second.accessToken);
    expect(refreshed).not.toBe(first.accessToken);
    // Stored back: a store that reads the state afresh gets the new token without asking the server again.
    const fresh = new CredentialStore(t.db, key, { now: clock.now, hosts: { allowed: ['127.0.0.1'] } });
    expect(await fresh.resolve('helpdesk')).toBe(second.accessToken);
    expect(requests.length).toBe(before + 1);

    // The server revokes the grant: the next refresh is refused, with words that say what to do.
    clock.advance(3600_000);
    refuseNextToken('invalid_grant', 'refresh token revoked');
    await expect(store.resolve('helpdesk')).rejects.toThrow(
      'credential "helpdesk": the authorization server refused its refresh token (invalid_grant: refresh token revoked); reconnect the credential in the editor (Credentials, then Reconnect on "helpdesk")',
    );
    // It offered the refresh token the last refresh handed out (the server rotates them), not the first one.
    expect(requests.at(-1)).toMatchObject({ grantType: 'refresh_token', refreshToken: second.refreshToken });
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect((await listed(t))[0]).toMatchObject({ status: 'reconnect', refusal: 'invalid_grant: refresh token revoked' });
    // Not asked again until someone reconnects.
    const afterRefusal = requests.length;
    await expect(fresh.resolve('helpdesk')).rejects.toThrow(/reconnect the credential in the editor/);
    expect(requests.length).toBe(afterRefusal);

    // Reconnecting keeps the server and client settings: the start needs no body but {}.
    const again = await startConsent(t, 'helpdesk', {});
    expect(new URL(again.authorizationUrl).searchParams.get('scope')).toBe('tickets:read tickets:write');
    expect((await openCallback(t, await followConsent(again.authorizationUrl))).status).toBe(200);
    expect((await listed(t))[0]).toMatchObject({ status: 'connected', refusal: null });
    expect(await store.resolve('helpdesk')).toBe(issued.at(-1)!.accessToken);
  });

  it('refreshes once for concurrent resolutions, across stores on separate connections to one state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-oauth-'));
    const dbs: StateDb[] = [];
    try {
      const clock = testClock();
      const key = randomBytes(32);
      const state = await testStateForThisTest();
      const open = async () => {
        const db = await openStateDb(state ?? join(dir, 'state.db'));
        dbs.push(db);
        return new CredentialStore(db, key, { now: clock.now, hosts: { allowed: ['127.0.0.1'] } });
      };
      // The API and the pass worker each hold a connection and a store of their own.
      const [api, worker] = [await open(), await open()];
      const consents = new OAuthConsents(api);
      const started = await consents.start('tracker', { authorizationEndpoint: `${issuer}/authorize`, tokenEndpoint: `${issuer}/token`, clientId: 'tracker-app' }, 'http://127.0.0.1:4777/api/oauth/callback');
      await consents.finish((await followConsent(started.authorizationUrl)).searchParams);

      clock.advance(3600_000);
      const before = requests.length;
      const tokens = await Promise.all([api.resolve('tracker'), worker.resolve('tracker'), api.resolve('tracker'), worker.resolve('tracker'), worker.resolveAuth('tracker')]);
      expect(requests.slice(before).map((request) => request.grantType)).toEqual(['refresh_token']);
      const refreshed = issued.at(-1)!.accessToken;
      expect(tokens).toEqual([refreshed, refreshed, refreshed, refreshed, { kind: 'bearer', token: refreshed }]);
    } finally {
      for (const db of dbs) await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a start without a client id, a consent that was declined, and a name holding another kind', async () => {
    t = await testRuntime({ allowHosts: ['127.0.0.1'] });
    const missing = await t.post('/api/credentials/new-one/oauth/start', { issuer });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: { code: 'invalid_body', path: 'clientId' } });

    const insecure = await t.post('/api/credentials/new-one/oauth/start', { issuer: 'http://auth.example.com', clientId: 'x' });
    expect(insecure.status).toBe(400);
    expect(await insecure.json()).toMatchObject({ error: { path: 'issuer', message: expect.stringMatching(/must use https/) } });

    await t.post('/api/credentials', { name: 'plain', type: 'token', value: 'abc' });
    const taken = await t.post('/api/credentials/plain/oauth/start', { issuer, clientId: 'x' });
    expect(taken.status).toBe(409);

    const started = await startConsent(t, 'declined', { issuer, clientId: 'x' });
    const redirect = new URL(started.redirectUri);
    redirect.searchParams.set('error', 'access_denied');
    redirect.searchParams.set('state', new URL(started.authorizationUrl).searchParams.get('state')!);
    const page = await openCallback(t, redirect);
    expect(page.status).toBe(422);
    expect(await page.text()).toMatch(/access to &#34;declined&#34; was declined at the authorization server/);
    expect((await listed(t)).map((entry) => entry.name)).toEqual(['plain']);
  });

  it('reaches a loopback authorization server only when the operator allows it', async () => {
    t = await testRuntime();
    const refused = await t.post('/api/credentials/helpdesk/oauth/start', { issuer, clientId: 'x' });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({ error: { code: 'access_refused', message: expect.stringMatching(/loopback or private address.*--allow-hosts (localhost|127\.0\.0\.1):\d+/) } });
  });
});

describe('OAuth2 client credentials', () => {
  let t: TestRuntime;
  afterEach(async () => t?.close());

  it('fetches a token when stored, to prove the client works, and a new one when it expires', async () => {
    const clock = testClock();
    t = await testRuntime({ allowHosts: ['127.0.0.1'], now: clock.now });
    const before = requests.length;
    const created = await t.post('/api/credentials', {
      name: 'reports',
      type: 'oauth2',
      value: { grant: 'client_credentials', tokenEndpoint: `${issuer}/token`, clientId: 'reports-client', clientSecret: 'reports-secret', scopes: ['reports'] },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    expect(await created.json()).toEqual({ name: 'reports', type: 'oauth2' });
    expect(requests.slice(before)).toEqual([{ grantType: 'client_credentials', refreshToken: null, clientId: 'reports-client' }]);
    expect(await listed(t)).toEqual([
      { name: 'reports', type: 'oauth2', createdAt: expect.any(String), grant: 'client_credentials', status: 'connected', expiresAt: expect.any(String), refusal: null },
    ]);
    const store = t.runtime.deps.credentials;
    expect(await store.resolve('reports')).toBe(issued.at(-1)!.accessToken);

    clock.advance(3600_000);
    expect(await store.resolve('reports')).toBe(issued.at(-1)!.accessToken);
    expect(requests.slice(before).map((request) => request.grantType)).toEqual(['client_credentials', 'client_credentials']);

    // By its issuer, the server's metadata gives the token endpoint.
    expect((await t.post('/api/credentials', { name: 'by-issuer', type: 'oauth2', value: { grant: 'client_credentials', issuer, clientId: 'c', clientSecret: 's' } })).status).toBe(201);
  });

  it('stores nothing when the server refuses the client, or when the value is incomplete', async () => {
    t = await testRuntime({ allowHosts: ['127.0.0.1'] });
    refuseNextToken('invalid_client', 'unknown client', 401);
    const refused = await t.post('/api/credentials', { name: 'bad', type: 'oauth2', value: { grant: 'client_credentials', tokenEndpoint: `${issuer}/token`, clientId: 'c', clientSecret: 'wrong' } });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({ error: { code: 'oauth_refused', message: expect.stringContaining('invalid_client (unknown client)'), path: 'value' } });

    const incomplete = await t.post('/api/credentials', { name: 'bad', type: 'oauth2', value: { grant: 'client_credentials', clientId: 'c', clientSecret: 's' } });
    expect(incomplete.status).toBe(400);
    expect(await incomplete.json()).toMatchObject({ error: { code: 'invalid_body', path: 'value.tokenEndpoint' } });

    const byConsent = await t.post('/api/credentials', { name: 'bad', type: 'oauth2', value: { grant: 'authorization_code', clientId: 'c' } });
    expect(byConsent.status).toBe(400);
    expect(await byConsent.json()).toMatchObject({ error: { path: 'value.grant', message: expect.stringMatching(/oauth\/start/) } });
    expect(await listed(t)).toEqual([]);
  });
});
