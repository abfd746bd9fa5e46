/**
 * The connection forms as the API serves them (`GET /api/connectors`), and the choices of a lookup field read from the
 * system (`POST /api/connectors/options`): GitHub's repositories, from the GitHub fake (test/fakes/github).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectorListSchema } from '../../runtime/api/schemas';
import { startGitHubFake, type GitHubFake } from '../fakes/github/server';
import { auth, testRuntime, type TestRuntime } from './support';
import { errorOf } from '../support/httpErrors';

let t: TestRuntime | undefined;
let fake: GitHubFake | undefined;
afterEach(async () => {
  await t?.close();
  await fake?.close();
  t = undefined;
  fake = undefined;
});

describe('GET /api/connectors', () => {
  it('lists each connector with its connection form, and whether it reads its system’s own webhooks', async () => {
    t = await testRuntime();
    const response = await t.request('/api/connectors', { headers: auth });
    expect(response.status).toBe(200);
    const list = connectorListSchema.parse(await response.json());
    const byType = new Map(list.map((entry) => [entry.type, entry]));

    expect(byType.get('github')).toMatchObject({ ownWebhooks: true, connectionForm: { fields: expect.arrayContaining([expect.objectContaining({ key: 'repo', kind: 'lookup' }), expect.objectContaining({ key: 'auth.credential', kind: 'credential' })]) } });
    expect(byType.get('zendesk')?.ownWebhooks).toBe(true);
    const http = byType.get('http');
    expect(http?.ownWebhooks).toBe(false);
    expect(http?.connectionForm?.fields.map((field) => field.key)).toEqual(expect.arrayContaining(['baseUrl', 'list.path', 'item.path', 'list.pagination.style', 'auth.type']));
    expect(http?.connectionForm?.fields.map((field) => field.key)).not.toContain('url');
    expect(byType.get('sqlite')?.connectionForm?.fields.map((field) => field.key)).toEqual(['file', 'journalMode', 'busyTimeoutMs']);
    expect(byType.get('postgres')?.connectionForm).toBeDefined();
    // A connector without a form is listed all the same: the editor offers its connection as JSON.
    expect(byType.get('memory')).toEqual({ type: 'memory', title: expect.any(String), ownWebhooks: false });
  });
});

describe('POST /api/connectors/options', () => {
  const githubToken = 'ghp_connection_forms_token';

  async function githubRuntime(allowHosts = ['127.0.0.1']): Promise<{ t: TestRuntime; fake: GitHubFake }> {
    fake = await startGitHubFake({ tokens: { [githubToken]: 'octocat', ghp_reader: { login: 'reader', permission: 'read' } } });
    t = await testRuntime({ allowHosts });
    for (const [name, value] of [
      ['github-token', githubToken],
      ['reader-token', 'ghp_reader'],
      ['revoked-token', 'ghp_revoked'],
    ]) {
      const stored = await t.post('/api/credentials', { name, type: 'token', value });
      expect(stored.status).toBe(201);
    }
    return { t, fake };
  }

  const repoChoices = (runtime: TestRuntime, github: GitHubFake, credential: string) =>
    runtime.post('/api/connectors/options', { connector: 'github', connection: { auth: { credential }, baseUrl: github.url }, field: 'repo' });

  it('lists the repositories the token can see, from GitHub’s list for the authenticated user', async () => {
    const { t, fake } = await githubRuntime();
    const response = await repoChoices(t, fake, 'github-token');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ options: [{ value: 'octo-org/hello-world', label: 'octo-org/hello-world', description: 'private' }], complete: true });
    expect(fake.requests.log.filter((entry) => entry.route === 'GET /user/repos')).toEqual([
      expect.objectContaining({ status: 200, login: 'octocat', path: '/user/repos?per_page=100&sort=full_name&direction=asc' }),
    ]);

    const reader = (await (await repoChoices(t, fake, 'reader-token')).json()) as { options: Array<{ description: string }> };
    expect(reader.options).toEqual([expect.objectContaining({ value: 'octo-org/hello-world', description: 'private, read-only for this token' })]);
  });

  it('says what is wrong: a refused token, a credential not stored or not chosen, a rate limit', async () => {
    const { t, fake } = await githubRuntime();
    expect(await errorOf(await repoChoices(t, fake, 'revoked-token'))).toMatchObject({ status: 422, code: 'connection_failed', message: expect.stringMatching(/401 Bad credentials.*revoked-token/) });
    expect(await errorOf(await repoChoices(t, fake, 'not-stored'))).toMatchObject({ status: 422, code: 'missing_credential', message: expect.stringContaining('not-stored') });
    const unchosen = await t.post('/api/connectors/options', { connector: 'github', connection: { auth: { credential: '' }, repo: '' }, field: 'repo' });
    expect(await errorOf(unchosen)).toMatchObject({ status: 422, code: 'connection_failed', message: expect.stringContaining('connection.auth.credential') });

    fake.rateLimit.set({ remaining: 0, resetAt: new Date(Date.now() + 600_000) }, 'octocat');
    const limited = await repoChoices(t, fake, 'github-token');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await errorOf(limited)).code).toBe('rate_limited');
  });

  it('reaches only hosts the operator allows', async () => {
    const { t, fake } = await githubRuntime([]);
    expect(await errorOf(await repoChoices(t, fake, 'github-token'))).toMatchObject({ status: 422, code: 'access_refused' });
    expect(fake.requests.count('GET /user/repos')).toBe(0);
  });

  it('refuses connectors and fields without runtime choices, malformed bodies, and callers without the token', async () => {
    t = await testRuntime();
    const before = await t.snapshot();
    const options = (body: unknown) => t!.post('/api/connectors/options', body);
    expect(await errorOf(await options({ connector: 'oracle', connection: {}, field: 'repo' }))).toMatchObject({ status: 422, code: 'unknown_connector', path: 'connector' });
    expect(await errorOf(await options({ connector: 'github', connection: {}, field: 'baseUrl' }))).toMatchObject({ status: 422, code: 'unknown_field', path: 'field', message: expect.stringContaining('repo') });
    expect(await errorOf(await options({ connector: 'sqlite', connection: {}, field: 'file' }))).toMatchObject({ status: 422, code: 'unknown_field' });
    expect(await errorOf(await options({ connector: 'github', connection: {} }))).toMatchObject({ status: 400, code: 'invalid_body' });
    expect(await errorOf(await options({ connector: 'github', connection: 'x', field: 'repo' }))).toMatchObject({ status: 400, code: 'invalid_body' });
    expect((await t.request('/api/connectors/options', { method: 'POST', headers: auth, body: '{}' })).status).toBe(415);
    const anonymous = await t.request('/api/connectors/options', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ connector: 'github', connection: {}, field: 'repo' }) });
    expect((await errorOf(anonymous)).code).toBe('unauthorized');
    expect(await t.snapshot()).toBe(before);
  });
});
