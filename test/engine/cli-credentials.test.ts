import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCredentialsArgs } from '../../runtime/commands/credentials';
import { startJsonServer, type JsonServer } from '../connectors/support/jsonServer';
import { marketingTrigger } from '../connectors/support/leads';
import { startAuthorizationServer, type TestAuthorizationServer } from '../support/oauthServer';
import { leadsWorkspace, tick } from './sqlite-fixtures';

const repoRoot = join(import.meta.dirname, '../..');

/** The command line as a person runs it, with `stdin` piped in (as `echo … | syncline credentials add …`). */
function cli(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['bin/syncline.mjs', ...args], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/**
 * The marketing API behind a bearer check: json-server takes any request, so this stands in front of it and lets
 * through only requests carrying the token the authorization server issued, as the SaaS API would.
 */
async function bearerGate(upstream: string, acceptedToken: () => string | undefined): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createServer(async (request, response) => {
    const authorization = request.headers.authorization ?? '';
    seen.push(authorization);
    if (authorization !== `Bearer ${acceptedToken()}`) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_token"}');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const forwarded = await fetch(`${upstream}${request.url}`, {
      method: request.method ?? 'GET',
      headers: Object.fromEntries(['content-type', 'if-match'].flatMap((name) => (request.headers[name] ? [[name, String(request.headers[name])]] : []))),
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    });
    const headers = Object.fromEntries(['content-type', 'x-total-count', 'etag', 'link'].flatMap((name) => (forwarded.headers.get(name) ? [[name, forwarded.headers.get(name) as string]] : [])));
    response.writeHead(forwarded.status, headers).end(Buffer.from(await forwarded.arrayBuffer()));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describe('syncline credentials', () => {
  let authServer: TestAuthorizationServer;
  let jsonServer: JsonServer;

  beforeAll(async () => {
    [authServer, jsonServer] = await Promise.all([startAuthorizationServer(), startJsonServer({ contacts: [] })]);
  });
  afterAll(async () => {
    await Promise.all([authServer?.stop(), jsonServer?.stop()]);
  });

  it('stores secrets from standard input in the state that run --once resolves them from', async () => {
    const workspace = leadsWorkspace();
    const gate = await bearerGate(jsonServer.url, () => authServer.issued.at(-1)?.accessToken);
    try {
      const state = join(workspace.dir, 'state', 'state.db');
      const add = await cli(
        ['credentials', 'add', 'mkt-api', '--type', 'oauth2', '--token-url', `${authServer.issuer}/token`, '--client-id', 'cli-app', '--scope', 'contacts', '--state', state, '--allow-hosts', '127.0.0.1'],
        'cli-client-secret\n',
      );
      expect(add, add.stderr).toMatchObject({ code: 0, stdout: `stored "mkt-api" (oauth2), encrypted in ${state}\n` });
      // Its first token was fetched at once: the client works.
      expect(authServer.requests.at(-1)).toEqual({ grantType: 'client_credentials', refreshToken: null, clientId: 'cli-app' });
      expect(await cli(['credentials', 'add', 'crm-token', '--type', 'token', '--state', state], 'plain-token-value\n')).toMatchObject({ code: 0 });
      expect(await cli(['credentials', 'add', 'zd', '--type', 'basic', '--username', 'agent@example.com/token', '--state', state], 'zendesk-token')).toMatchObject({ code: 0 });

      // The key sits beside the state, the owner's only; no secret is readable in the state file.
      expect(statSync(join(workspace.dir, 'state', 'credentials.key')).mode & 0o777).toBe(0o600);
      const stateBytes = readFileSync(state).toString('latin1');
      for (const secret of ['cli-client-secret', 'plain-token-value', 'zendesk-token', authServer.issued.at(-1)!.accessToken]) expect(stateBytes).not.toContain(secret);

      const listed = await cli(['credentials', 'list', '--state', state]);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/^crm-token\ttoken\nmkt-api\toauth2\tclient credentials, connected, token expires \S+\nzd\tbasic\n$/);
      expect(listed.stdout).not.toMatch(/secret|plain-token|zendesk-token/);

      // The marketing side is an http API that takes the OAuth2 token of the stored credential.
      const document = JSON.parse(readFileSync(workspace.flowPath, 'utf8')) as { nodes: Array<{ id: string; config: unknown }> };
      const mkt = document.nodes.find((node) => node.id === 'mkt')!;
      mkt.config = marketingTrigger(gate.url, 'contacts', { auth: { type: 'bearer', token: { credential: 'mkt-api' } } });
      writeFileSync(workspace.flowPath, JSON.stringify(document));
      workspace.crm.prepare('insert into leads (first_name, last_name, email, status, amount, updated_at) values (?, ?, ?, ?, ?, ?)').run('Ada', 'Lovelace', 'ada@example.com', 'open', 5, tick());

      const run = await cli(['run', workspace.flowPath, '--once', '--state', state, '--allow-hosts', '127.0.0.1']);
      expect(run, run.stderr).toMatchObject({ code: 0 });
      expect(JSON.parse(run.stdout)).toMatchObject({ created: 1, failed: 0 });
      expect(await jsonServer.all('contacts')).toEqual([expect.objectContaining({ email: 'ada@example.com', name: 'Ada Lovelace' })]);
      expect(new Set(gate.seen)).toEqual(new Set([`Bearer ${authServer.issued.at(-1)!.accessToken}`]));

      expect(await cli(['credentials', 'remove', 'mkt-api', '--state', state])).toMatchObject({ code: 0, stdout: 'removed "mkt-api"\n' });
      const missing = await cli(['run', workspace.flowPath, '--once', '--state', state, '--allow-hosts', '127.0.0.1']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/credential "mkt-api" is not stored: .*syncline credentials add mkt-api --type TYPE/);
    } finally {
      await gate.close();
      workspace.crm.close();
      workspace.mkt.close();
      rmSync(workspace.dir, { recursive: true, force: true });
    }
  });

  it('refuses a taken name, an empty secret and a client the server refuses, storing nothing', async () => {
    const workspace = leadsWorkspace();
    try {
      const state = join(workspace.dir, 'state.db');
      expect(await cli(['credentials', 'add', 'api', '--type', 'token', '--state', state], 'first')).toMatchObject({ code: 0 });
      const taken = await cli(['credentials', 'add', 'api', '--type', 'token', '--state', state], 'second');
      expect(taken).toMatchObject({ code: 1, stderr: expect.stringMatching(/"api" exists: remove it first/) });
      expect(await cli(['credentials', 'add', 'empty', '--type', 'token', '--state', state], '\n')).toMatchObject({ code: 1, stderr: expect.stringMatching(/must not be empty/) });

      authServer.refuseNextToken('invalid_client', 'unknown client', 401);
      const refused = await cli(
        ['credentials', 'add', 'svc', '--type', 'oauth2', '--token-url', `${authServer.issuer}/token`, '--client-id', 'nobody', '--state', state, '--allow-hosts', '127.0.0.1'],
        'wrong-secret',
      );
      expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/"svc" not stored: the authorization server refused the request: invalid_client \(unknown client\)/) });
      const notAllowed = await cli(['credentials', 'add', 'svc', '--type', 'oauth2', '--token-url', `${authServer.issuer}/token`, '--client-id', 'c', '--state', state], 's');
      expect(notAllowed).toMatchObject({ code: 1, stderr: expect.stringMatching(/loopback or private address.*--allow-hosts/) });
      expect((await cli(['credentials', 'list', '--state', state])).stdout).toBe('api\ttoken\n');
    } finally {
      workspace.crm.close();
      workspace.mkt.close();
      rmSync(workspace.dir, { recursive: true, force: true });
    }
  });

  it('lists and removes only in a state that exists, making no state or folder for a mistyped --state', async () => {
    const workspace = leadsWorkspace();
    try {
      const state = join(workspace.dir, 'nothere', 'x.db');
      const noState = `syncline credentials: no state at ${state}: --state names the state file the credentials were added to (a data folder's state.db), or a postgres:// URL\n`;
      expect(await cli(['credentials', 'list', '--state', state])).toEqual({ code: 2, stdout: '', stderr: noState });
      expect(await cli(['credentials', 'remove', 'api', '--state', state])).toEqual({ code: 2, stdout: '', stderr: noState });
      expect(existsSync(join(workspace.dir, 'nothere'))).toBe(false);
    } finally {
      workspace.crm.close();
      workspace.mkt.close();
      rmSync(workspace.dir, { recursive: true, force: true });
    }
  });

  it('reads its arguments, and never a secret from them', () => {
    expect(parseCredentialsArgs(['add', 'zd', '--type', 'basic', '--state', 'x.db'])).toBe('--type basic needs --username U');
    expect(parseCredentialsArgs(['add', 'gh', '--type', 'token', '--value', 'ghp_x'])).toBe('unknown option --value for credentials add');
    expect(parseCredentialsArgs(['add', 'svc', '--type', 'oauth2', '--client-id', 'c'])).toBe('--type oauth2 needs --token-url URL or --issuer URL');
    expect(parseCredentialsArgs(['add', 'has space', '--type', 'token'])).toMatch(/^NAME must be 1-100 letters/);
    expect(parseCredentialsArgs(['list', 'extra'])).toBe('unexpected argument extra');
    expect(parseCredentialsArgs(['rotate'])).toBe('unknown action "rotate": use add, list or remove');
    expect(parseCredentialsArgs(['remove', 'gh', '--state', 'st/state.db'])).toMatchObject({ action: 'remove', name: 'gh', statePath: expect.stringMatching(/st\/state\.db$/) });
  });
});
