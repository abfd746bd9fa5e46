import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { GitHubFake } from '../../../test/fakes/github/server';
import { ConnectorError, RateLimitedError, type Connector, type ListPosition, type SourceRecord } from '../types';
import { openIssues, startFakeRepository } from './test-support';

// GitHub's two kinds of rate limit (docs: Rate limits for the REST API): the hourly primary budget, answered with 403
// or 429 and x-ratelimit-remaining: 0 until x-ratelimit-reset; and secondary limits, 403 or 429 with a message that
// says so and usually retry-after. Neither is a credential problem.

const listRoute = 'GET /repos/{owner}/{repo}/issues';

let fake: GitHubFake | undefined;
let connector: Connector | undefined;
afterEach(async () => {
  await connector?.close();
  await fake?.close();
  fake = undefined;
  connector = undefined;
});

async function open(extra: Record<string, unknown> = {}, token?: string): Promise<{ fake: GitHubFake; connector: Connector }> {
  fake = (await startFakeRepository()).fake;
  for (let i = 0; i < 5; i++) fake.seed.issue({ title: `issue ${i}` });
  connector = await openIssues(fake, extra, token);
  return { fake, connector };
}

async function listAll(target: Connector): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  let position: ListPosition | null = { since: null, afterId: null };
  while (position) {
    const page = await target.listSince(position, 100);
    records.push(...page.records);
    position = page.next;
  }
  return records;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('secondary rate limits', () => {
  it('waits out a 403 with retry-after and completes the listing', async () => {
    const { fake, connector } = await open();
    fake.rateLimit.triggerSecondary(2, { retryAfter: 1 });
    expect(await listAll(connector)).toHaveLength(5);
    const answers = fake.requests.log.filter((entry) => entry.route === listRoute).map((entry) => entry.status);
    expect(answers).toEqual([403, 403, 200]);
  });

  it('takes a 429 without retry-after as a minute\'s wait, and stops the pass when that is more than the connection waits', async () => {
    const { fake, connector } = await open({ maxWaitSeconds: 0 });
    fake.rateLimit.triggerSecondary(1, { retryAfter: null, status: 429 });
    // A wait longer than maxWaitSeconds (0 here) is not made: the pass stops and says when to come back.
    const error = await rejection(listAll(connector));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).resumeAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(error.message).toMatch(/GitHub rate limit reached .*secondary rate limit/);
  });

  it('stops the pass with the time to resume when retry-after is longer than it waits', async () => {
    const { fake, connector } = await open({ maxWaitSeconds: 5 });
    fake.rateLimit.triggerSecondary(1, { retryAfter: 120 });
    const before = Date.now();
    const error = await rejection(listAll(connector));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).not.toBeInstanceOf(ConnectorError);
    const resumeAt = (error as RateLimitedError).resumeAt.getTime();
    expect(resumeAt).toBeGreaterThanOrEqual(before + 120_000);
    expect(resumeAt).toBeLessThanOrEqual(Date.now() + 120_000);
    expect(fake.requests.count(listRoute)).toBe(1);
    expect(await listAll(connector)).toHaveLength(5);
  });
});

describe('the primary (hourly) budget', () => {
  for (const status of [403, 429] as const) {
    it(`spent with its reset far away (${status}): RateLimitedError with the reset time, and the listing resumes once the budget is back`, async () => {
      const { fake, connector } = await open();
      fake.rateLimit.setPrimaryStatus(status);
      const resetAt = Math.floor(fake.clock.now().getTime() / 1000) + 3600;
      fake.rateLimit.set({ remaining: 0, resetAt }, 'octocat');
      const error = await rejection(listAll(connector));
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(error.message).not.toMatch(/token|credential/i);
      expect((error as RateLimitedError).resumeAt.getTime()).toBe((resetAt + 1) * 1000);
      // Refused once, not retried: a 429 is the throttling plugin's to decide, never the retry plugin's.
      expect(fake.requests.log.filter((entry) => entry.route === listRoute).map((entry) => entry.status)).toEqual([status]);

      fake.rateLimit.set({ remaining: 5000 }, 'octocat');
      expect(await listAll(connector)).toHaveLength(5);
    });
  }

  it('spent with its reset a moment away: waited out within the pass', async () => {
    const { fake, connector } = await open();
    fake.rateLimit.set({ remaining: 0, resetAt: Math.floor(fake.clock.now().getTime() / 1000) + 3 }, 'octocat');
    expect(await listAll(connector)).toHaveLength(5);
    expect(fake.requests.log.filter((entry) => entry.route === listRoute).map((entry) => entry.status)).toEqual([403, 200]);
  });

  it('fails writes as retryable with the wait, and asks no more once the first write met the limit', async () => {
    const { fake, connector } = await open();
    fake.rateLimit.set({ remaining: 0, resetAt: Math.floor(fake.clock.now().getTime() / 1000) + 3600 }, 'octocat');
    fake.requests.reset();
    const results = await connector.write([
      { kind: 'update', id: '1', fields: { title: 'limited' }, tag: 'syncline:t:1', expectedVersion: null },
      { kind: 'create', fields: { title: 'limited too' }, tag: 'syncline:t:2', expectedVersion: null } as never,
    ]);
    for (const result of results) {
      expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: true });
      expect((result as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(3_500_000);
      expect((result as { message: string }).message).toMatch(/GitHub rate limit reached/);
    }
    expect(fake.requests.count()).toBe(1);
  });
});

describe('credentials and the repository', () => {
  it('reports a wrong token as GitHub refusing it (401), naming the credential', async () => {
    const { connector } = await open({}, 'ghp_not_a_real_token');
    const error = await rejection(listAll(connector));
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).not.toBeInstanceOf(RateLimitedError);
    expect(error.message).toMatch(/^GitHub refused the token \(401 Bad credentials\).*credential "github-token"/);
    const [written] = await connector.write([{ kind: 'update', id: '1', fields: { title: 'x' }, tag: 'syncline:t:3', expectedVersion: null }]);
    expect(written).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringMatching(/^GitHub refused the token \(401/) });
  });

  it('reports a repository the token cannot see as not found, not as missing issues', async () => {
    const { connector } = await open({ repo: 'octo-org/no-such-repo' });
    const error = await rejection(listAll(connector));
    expect(error.message).toMatch(/GitHub repository "octo-org\/no-such-repo" not found, or the token cannot see it/);
    await expect(connector.getMany(['1'])).rejects.toThrow(/not found, or the token cannot see it/);
    const [written] = await connector.write([{ kind: 'delete', id: '1', expectedVersion: null }]);
    expect(written).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringMatching(/not found, or the token cannot see it/) });
  });

  it('calls no host the operator did not allow', async () => {
    const { fake } = await open();
    const { githubConnector } = await import('./index');
    const { triggerConfigSchema } = await import('../../../nodes/trigger/schema');
    const { testAccess } = await import('../../../test/support/access');
    const refused = await githubConnector.open({
      config: triggerConfigSchema.parse({ connector: 'github', connection: { repo: 'octo-org/hello-world', auth: { credential: 'gh' }, baseUrl: fake.url }, collection: 'issues', key: 'number' }),
      baseDir: '/',
      resolveCredential: async () => 'ghp_syncline_test_token',
      access: testAccess(),
    });
    const error = await rejection(refused.listSince({ since: null, afterId: null }, 10));
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.message).toMatch(/--allow-hosts 127\.0\.0\.1:\d+/);
    expect(fake.requests.count()).toBe(0);
    await refused.close();
  });
});

/**
 * A gateway in front of the fake: it passes every request on, unless `replace(method, path)` gives an answer of its
 * own. That answer comes after GitHub has acted on the request when `reached` (a load balancer whose answer timed out
 * on its way back), and instead of it otherwise (a refusal).
 */
async function gateway(target: GitHubFake, replace: (method: string, path: string) => { status: number; body: string; reached: boolean } | null): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        const headers = Object.fromEntries(Object.entries(request.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host' && entry[0] !== 'content-length'));
        const replaced = replace(request.method ?? 'GET', new URL(request.url ?? '/', 'http://gateway').pathname);
        const pass = () => fetch(`${target.url}${request.url}`, { method: request.method, headers, ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}) });
        if (replaced) {
          if (replaced.reached) await (await pass()).text();
          response.writeHead(replaced.status, { 'content-type': 'application/json' }).end(replaced.body);
          return;
        }
        const answer = await pass();
        response.writeHead(answer.status, Object.fromEntries(answer.headers)).end(await answer.text());
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('a create whose answer is lost', () => {
  const lossyGateway = (target: GitHubFake) => gateway(target, (method, path) => (method === 'POST' && /\/issues$/.test(path) ? { status: 502, body: '{"message":"Server Error"}', reached: true } : null));

  it('is sent once and not tried again, so a record never becomes two issues', async () => {
    fake = (await startFakeRepository()).fake;
    const gateway = await lossyGateway(fake);
    try {
      connector = await openIssues(fake, { baseUrl: gateway.url });
      const [result] = await connector.write([{ kind: 'create', fields: { title: 'Crash on save' }, tag: 'syncline:f:1' }]);
      expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false, mayHaveApplied: true, message: expect.stringMatching(/502 .*may have been made all the same, so it is not created again/) });
      expect(fake.requests.count('POST /repos/{owner}/{repo}/issues')).toBe(1);
      expect(fake.issues.all().map((issue) => issue.title)).toEqual(['Crash on save']);
    } finally {
      await gateway.close();
    }
  });
});

describe('a closed record, created open and then closed', () => {
  it('is reported made but incomplete when the close fails, so the engine links it and closes it next pass', async () => {
    fake = (await startFakeRepository()).fake;
    // A refusal is not retried by the client, so the close fails at once.
    const refusing = await gateway(fake, (method) => (method === 'PATCH' ? { status: 403, body: '{"message":"Resource not accessible by personal access token","status":"403"}', reached: false } : null));
    try {
      connector = await openIssues(fake, { baseUrl: refusing.url });
      const [result] = await connector.write([{ kind: 'create', fields: { title: 'Old crash', state: 'closed', state_reason: 'completed' }, tag: 'syncline:f:1' }]);
      const number = Number((fake.issues.all()[0] as { number: number }).number);
      expect(result).toMatchObject({ ok: true, id: String(number), incomplete: expect.stringMatching(new RegExp(`issue #${number} was created open and closing it failed \\(GitHub refused the write \\(403 Resource not accessible`)) });
      expect(fake.issues.get(number)).toMatchObject({ state: 'open' });
      expect(fake.requests.count('POST /repos/{owner}/{repo}/issues')).toBe(1);
    } finally {
      await refusing.close();
    }
  });
});
