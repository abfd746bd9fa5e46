/**
 * The GitHub fake, driven by the real SDK (@octokit/rest with the throttling and retry plugins) and checked
 * against what GitHub publishes: the OpenAPI schemas (fixtures/openapi-schemas.json), the recorded real answers
 * in @octokit/fixtures and the recorded webhook payloads in @octokit/webhooks-examples.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { Webhooks } from '@octokit/webhooks';
import { sign } from '@octokit/webhooks-methods';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver, type ReceivedRequest } from '../../support/http';
import { schemaErrors } from './schema-check';
import { startGitHubFake, type GitHubFake } from './server';

const require = createRequire(import.meta.url);
const ThrottledOctokit = Octokit.plugin(throttling, retry);

interface RecordedExchange {
  method: string;
  path: string;
  status: number;
  body?: unknown;
  response: unknown;
  headers: Record<string, unknown>;
}

function recorded(scenario: string): RecordedExchange[] {
  const path = require.resolve(`@octokit/fixtures/scenarios/api.github.com/${scenario}/normalized-fixture.json`);
  return JSON.parse(readFileSync(path, 'utf8')) as RecordedExchange[];
}

interface WebhookExample {
  name: string;
  examples: Array<Record<string, unknown>>;
}
const webhookExamples = require('@octokit/webhooks-examples') as WebhookExample[];

const ADMIN = 'ghp_admin_token';
const READER = 'ghp_reader_token';
const T0 = '2024-03-01T12:00:00Z';

let fake: GitHubFake;

beforeEach(async () => {
  fake = await startGitHubFake({
    owner: 'octo-org',
    repo: 'hello-world',
    seed: 7,
    tokens: { [ADMIN]: 'octocat', [READER]: { login: 'reader', permission: 'read' } },
  });
  fake.clock.set(T0);
});

afterEach(async () => {
  await fake.webhooks.settled();
  await fake.close();
});

/** The plain SDK, as a connector would build it before adding plugins. */
function sdk(token: string = ADMIN): Octokit {
  return new Octokit({ auth: token, baseUrl: fake.url, log: quiet });
}

/**
 * The SDK with the throttling and retry plugins. Note that the throttling plugin spaces writes by a second
 * (three for notifying ones), so tests use it only where the plugins are the point.
 */
function throttledSdk(throttle: Record<string, unknown>): InstanceType<typeof ThrottledOctokit> {
  return new ThrottledOctokit({
    auth: ADMIN,
    baseUrl: fake.url,
    throttle: { onRateLimit: () => false, onSecondaryRateLimit: () => false, ...throttle },
    retry: { enabled: false },
    log: quiet,
  });
}

/** Octokit logs every failed request; these tests fail requests on purpose. */
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

const repo = () => ({ owner: fake.owner, repo: fake.repo });

/** The error an Octokit call rejects with (RequestError carries status, response and headers). */
async function failure(call: Promise<unknown>): Promise<{ status: number; response: { data: Record<string, unknown>; headers: Record<string, string> } }> {
  try {
    await call;
  } catch (error) {
    return error as never;
  }
  throw new Error('expected the call to fail');
}

describe('listing issues', () => {
  it('pages with Link headers exactly as GitHub formats them, and the SDK paginates through them', async () => {
    for (let i = 1; i <= 7; i++) fake.seed.issue({ title: `Issue ${i}`, createdAt: `2024-01-0${i}T00:00:00Z` });
    fake.seed.pullRequest({ title: 'A pull request', createdAt: '2024-01-08T00:00:00Z' });
    const octokit = sdk();

    const first = await octokit.rest.issues.listForRepo({ ...repo(), per_page: 3 });
    const base = `${fake.url}/repositories/${fake.repositoryId}/issues`;
    expect(first.headers.link).toBe(`<${base}?per_page=3&page=2>; rel="next", <${base}?per_page=3&page=3>; rel="last"`);
    const middle = await octokit.request(`GET ${base}?per_page=3&page=2`);
    expect(middle.headers.link).toBe(
      `<${base}?per_page=3&page=1>; rel="prev", <${base}?per_page=3&page=3>; rel="next", <${base}?per_page=3&page=3>; rel="last", <${base}?per_page=3&page=1>; rel="first"`,
    );
    const last = await octokit.request(`GET ${base}?per_page=3&page=3`);
    expect(last.headers.link).toBe(`<${base}?per_page=3&page=2>; rel="prev", <${base}?per_page=3&page=1>; rel="first"`);

    fake.requests.reset();
    const all = await octokit.paginate(octokit.rest.issues.listForRepo, { ...repo(), per_page: 3 });
    expect(all.map((issue) => issue.number)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(fake.requests.count('GET /repos/{owner}/{repo}/issues')).toBe(1);
    expect(fake.requests.count('GET /repositories/{repository_id}/issues')).toBe(2);
    // Pull requests come back from the issues endpoint; only the `pull_request` key tells them apart.
    expect(all.filter((issue) => issue.pull_request).map((issue) => issue.number)).toEqual([8]);
  });

  it('omits the Link header when one page holds everything, defaults to 30 a page and caps per_page at 100', async () => {
    for (let i = 0; i < 120; i++) fake.seed.issue({ title: `Issue ${i}` });
    const octokit = sdk();
    expect((await octokit.rest.issues.listForRepo({ ...repo() })).data).toHaveLength(30);
    const capped = await octokit.rest.issues.listForRepo({ ...repo(), per_page: 500 });
    expect(capped.data).toHaveLength(100);
    fake.seed.issue({ title: 'closed', state: 'closed' });
    const closed = await octokit.rest.issues.listForRepo({ ...repo(), state: 'closed' });
    expect(closed.data).toHaveLength(1);
    expect(closed.headers.link).toBeUndefined();
  });

  it('filters by state (default open), since (inclusive, whole seconds), labels, assignee and milestone', async () => {
    fake.seed.collaborator('alice');
    const v1 = fake.seed.milestone({ title: 'v1' });
    fake.seed.issue({ title: 'old', updatedAt: '2024-02-01T10:00:00Z' });
    fake.seed.issue({ title: 'exactly at since', updatedAt: '2024-02-01T10:00:05Z', labels: ['bug'], assignees: ['alice'] });
    fake.seed.issue({ title: 'after', updatedAt: '2024-02-01T10:00:06Z', milestone: v1 });
    fake.seed.issue({ title: 'closed after', state: 'closed', updatedAt: '2024-02-01T10:00:07Z' });
    const octokit = sdk();
    const titles = async (params: Record<string, unknown>) =>
      (await octokit.rest.issues.listForRepo({ ...repo(), sort: 'updated', direction: 'asc', ...params })).data.map((issue) => issue.title);

    expect(await titles({ since: '2024-02-01T10:00:05Z' })).toEqual(['exactly at since', 'after']);
    expect(await titles({ since: '2024-02-01T10:00:05.500Z' })).toEqual(['after']);
    expect(await titles({ since: '2024-02-01T10:00:05Z', state: 'all' })).toEqual(['exactly at since', 'after', 'closed after']);
    expect(await titles({ labels: 'BUG' })).toEqual(['exactly at since']);
    expect(await titles({ assignee: 'none' })).toEqual(['old', 'after']);
    expect(await titles({ milestone: String(v1) })).toEqual(['after']);
    fake.quirks.set({ sinceInclusive: false });
    expect(await titles({ since: '2024-02-01T10:00:05Z' })).toEqual(['after']);
  });

  it('orders ties on updated_at differently from request to request, reproducibly per seed', async () => {
    for (let i = 1; i <= 12; i++) fake.seed.issue({ title: `tied ${i}`, updatedAt: '2024-02-01T10:00:00Z' });
    fake.seed.issue({ title: 'newest', updatedAt: '2024-02-01T10:00:01Z' });
    const octokit = sdk();
    const order = async () => (await octokit.rest.issues.listForRepo({ ...repo(), sort: 'updated', per_page: 100 })).data.map((issue) => issue.number);

    const orders = [await order(), await order(), await order()];
    for (const numbers of orders) {
      expect(numbers[0]).toBe(13);
      expect([...numbers].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    }
    expect(new Set(orders.map((numbers) => numbers.join(','))).size).toBeGreaterThan(1);

    fake.quirks.set({ tieOrder: 'stable' });
    expect(await order()).toEqual([13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('pages a large repository by the after cursor of its Link header, and refuses a page number from the 10,000th position', async () => {
    fake.quirks.set({ pagination: 'cursor' });
    for (let i = 1; i <= 7; i++) fake.seed.issue({ title: `tied ${i}`, updatedAt: '2024-02-01T10:00:00Z' });
    const octokit = sdk();
    const query = { ...repo(), sort: 'updated', direction: 'asc', per_page: 3 } as const;

    const first = await octokit.rest.issues.listForRepo(query);
    expect(first.data.map((issue) => issue.number)).toEqual([1, 2, 3]);
    const next = new URL(/^<([^>]+)>; rel="next"$/.exec(first.headers.link ?? '')?.[1] ?? 'http://missing');
    expect(`${next.origin}${next.pathname}`).toBe(`${fake.url}/repositories/${fake.repositoryId}/issues`);
    expect([...next.searchParams.keys()]).toEqual(['sort', 'direction', 'per_page', 'after', 'page']);
    expect(next.searchParams.get('page')).toBe('2');
    // A cursor goes on from the issue it names, whatever page number comes with it.
    const after = next.searchParams.get('after') ?? '';
    expect((await octokit.rest.issues.listForRepo({ ...query, after, page: 500 } as never)).data.map((issue) => issue.number)).toEqual([4, 5, 6]);
    expect((await octokit.paginate(octokit.rest.issues.listForRepo, query)).map((issue) => issue.number)).toEqual([1, 2, 3, 4, 5, 6, 7]);

    expect((await octokit.rest.issues.listForRepo({ ...repo(), per_page: 100, page: 99 })).data).toEqual([]);
    const deep = await failure(octokit.rest.issues.listForRepo({ ...repo(), per_page: 100, page: 100 }));
    expect(deep.status).toBe(422);
    expect(deep.response.data).toEqual({
      message: 'Pagination with the page parameter is not supported for large datasets, please use cursor based pagination (after/before)',
      documentation_url: 'https://docs.github.com/rest/issues/issues#list-repository-issues',
      status: '422',
    });
    const forged = await failure(octokit.rest.issues.listForRepo({ ...query, after: 'not-a-cursor' } as never));
    expect(forged.status).toBe(422);
  });

  it('counts a new comment as an update: updated_at moves and a since query picks the issue up', async () => {
    const number = fake.seed.issue({ title: 'quiet', updatedAt: '2024-02-01T00:00:00Z', comments: 1 });
    fake.human.comment(number);
    const found = await sdk().rest.issues.listForRepo({ ...repo(), since: T0 });
    expect(found.data.map((issue) => [issue.number, issue.comments, issue.updated_at])).toEqual([[number, 2, T0]]);
  });

  it('starts with the labels GitHub gives a new repository', async () => {
    const labels = await sdk().rest.issues.listLabelsForRepo({ ...repo() });
    const recordedLabels = recorded('labels')[0]?.response as Array<Record<string, unknown>>;
    expect(labels.data.map(({ name, color, description, default: isDefault }) => ({ name, color, description, default: isDefault }))).toEqual(
      recordedLabels.map(({ name, color, description, default: isDefault }) => ({ name, color, description, default: isDefault })),
    );
  });

  it('refuses a malformed since with 422', async () => {
    const error = await failure(sdk().rest.issues.listForRepo({ ...repo(), since: 'yesterday' }));
    expect(error.status).toBe(422);
    expect(error.response.data.message).toBe('Validation Failed');
  });
});

describe('single issues', () => {
  it('creates with 201 and a Location header, creating unknown labels as GitHub does', async () => {
    fake.seed.collaborator('alice');
    fake.seed.label({ name: 'bug', color: 'd73a4a', description: "Something isn't working" });
    const created = await sdk().rest.issues.create({ ...repo(), title: 'Broken', body: 'Steps', labels: ['Bug', 'needs-triage'], assignees: ['alice'] });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`${fake.url}/repos/octo-org/hello-world/issues/1`);
    expect(created.data.labels).toEqual([
      expect.objectContaining({ name: 'bug', color: 'd73a4a' }),
      expect.objectContaining({ name: 'needs-triage', color: 'ededed', default: false, description: null }),
    ]);
    expect(created.data.assignees?.map((user) => user.login)).toEqual(['alice']);
    expect(created.data.user?.login).toBe('octocat');
    expect(created.data.created_at).toBe(T0);
  });

  it('answers a missing title and an unassignable login with 422 and an errors array', async () => {
    const octokit = sdk();
    const missing = await failure(octokit.request('POST /repos/{owner}/{repo}/issues', { ...repo(), body: 'no title' } as never));
    expect(missing.status).toBe(422);
    expect(missing.response.data).toEqual({
      message: 'Validation Failed',
      errors: [{ resource: 'Issue', code: 'missing_field', field: 'title' }],
      documentation_url: 'https://docs.github.com/rest/issues/issues#create-an-issue',
      status: '422',
    });
    const stranger = await failure(octokit.rest.issues.create({ ...repo(), title: 'x', assignees: ['nobody'] }));
    expect(stranger.status).toBe(422);
    expect(stranger.response.data.errors).toEqual([{ resource: 'Issue', code: 'invalid', field: 'assignees', value: 'nobody' }]);
    expect(fake.issues.all()).toHaveLength(0);
  });

  it('keeps the first 10 of more than 10 assignees, creating or updating, without an error', async () => {
    const people = Array.from({ length: 12 }, (_, i) => `member-${i + 1}`);
    for (const login of people) fake.seed.collaborator(login);
    const octokit = sdk();
    const created = await octokit.rest.issues.create({ ...repo(), title: 'Whole team', assignees: people.slice(0, 11) });
    expect(created.status).toBe(201);
    expect(created.data.assignees?.map((user) => user.login)).toEqual(people.slice(0, 10));
    const updated = await octokit.rest.issues.update({ ...repo(), issue_number: created.data.number, assignees: [...people].reverse() });
    expect(updated.status).toBe(200);
    expect(updated.data.assignees?.map((user) => user.login)).toEqual([...people].reverse().slice(0, 10));
  });

  it('silently drops labels, assignees and milestone from callers without push access', async () => {
    const milestone = fake.seed.milestone({ title: 'v1' });
    const created = await sdk(READER).rest.issues.create({ ...repo(), title: 'From a reader', labels: ['bug'], assignees: ['reader'], milestone });
    expect(created.status).toBe(201);
    expect(created.data.labels).toEqual([]);
    expect(created.data.assignees).toEqual([]);
    expect(created.data.milestone).toBeNull();
  });

  it('updates title, body, state with state_reason, labels, assignees and milestone; a no-op leaves updated_at alone', async () => {
    const number = fake.seed.issue({ title: 'Old', labels: ['a'], createdAt: '2024-01-01T00:00:00Z' });
    const v2 = fake.seed.milestone({ title: 'v2' });
    fake.seed.collaborator('alice');
    const octokit = sdk();
    fake.clock.advance(5_000);
    const closed = await octokit.rest.issues.update({ ...repo(), issue_number: number, title: 'New', state: 'closed', state_reason: 'not_planned', labels: ['b'], assignees: ['alice'], milestone: v2 });
    expect(closed.data).toMatchObject({ title: 'New', state: 'closed', state_reason: 'not_planned', closed_at: '2024-03-01T12:00:05Z', updated_at: '2024-03-01T12:00:05Z' });
    expect(closed.data.closed_by?.login).toBe('octocat');
    expect(closed.data.labels.map((label) => (typeof label === 'string' ? label : label.name))).toEqual(['b']);
    expect(closed.data.milestone?.number).toBe(v2);

    fake.clock.advance(5_000);
    const same = await octokit.rest.issues.update({ ...repo(), issue_number: number, title: 'New' });
    expect(same.data.updated_at).toBe('2024-03-01T12:00:05Z');

    const reopened = await octokit.rest.issues.update({ ...repo(), issue_number: number, state: 'open', milestone: null });
    expect(reopened.data).toMatchObject({ state: 'open', state_reason: 'reopened', closed_at: null, milestone: null, updated_at: '2024-03-01T12:00:10Z' });
  });

  it('answers unknown issues with 404, deleted ones with 410, transferred ones with 301 (or 404 without access)', async () => {
    const octokit = sdk();
    const missing = await failure(octokit.rest.issues.get({ ...repo(), issue_number: 99 }));
    expect(missing.status).toBe(404);
    expect(missing.response.data).toEqual({ message: 'Not Found', documentation_url: 'https://docs.github.com/rest/issues/issues#get-an-issue', status: '404' });

    const deleted = fake.seed.issue({ title: 'to delete' });
    fake.human.deleteIssue(deleted);
    expect((await failure(octokit.rest.issues.get({ ...repo(), issue_number: deleted }))).status).toBe(410);
    expect((await failure(octokit.rest.issues.update({ ...repo(), issue_number: deleted, title: 'x' }))).status).toBe(410);

    const moved = fake.seed.issue({ title: 'to move' });
    const target = fake.human.transferIssue(moved, { repository: 'octo-org/elsewhere' });
    const followed = await octokit.rest.issues.get({ ...repo(), issue_number: moved });
    expect(followed.url).toBe(`${fake.url}/repositories/${target.repositoryId}/issues/${target.number}`);
    expect(followed.data.repository_url).toBe(`${fake.url}/repos/octo-org/elsewhere`);
    const raw = await fetch(`${fake.url}/repos/octo-org/hello-world/issues/${moved}`, { headers: { authorization: `token ${ADMIN}`, 'user-agent': 'test' }, redirect: 'manual' });
    expect(raw.status).toBe(301);
    expect(raw.headers.get('location')).toBe(`${fake.url}/repositories/${target.repositoryId}/issues/${target.number}`);

    const hidden = fake.seed.issue({ title: 'to a private place' });
    fake.human.transferIssue(hidden, { repository: 'octo-org/secret', readable: false });
    expect((await failure(octokit.rest.issues.get({ ...repo(), issue_number: hidden }))).status).toBe(404);
  });

  it('answers 410 "Issues are disabled" to every issue call while Issues are off, and lists none', async () => {
    const octokit = sdk();
    const number = fake.seed.issue({ title: 'kept' });
    fake.human.setIssuesEnabled(false);
    for (const call of [octokit.rest.issues.get({ ...repo(), issue_number: number }), octokit.rest.issues.update({ ...repo(), issue_number: number, title: 'x' }), octokit.rest.issues.create({ ...repo(), title: 'new' })]) {
      const error = await failure(call);
      expect(error.status).toBe(410);
      expect((error.response.data as { message: string }).message).toBe('Issues are disabled for this repo');
    }
    expect((await octokit.rest.issues.listForRepo({ ...repo(), state: 'all' })).data).toEqual([]);
    fake.human.setIssuesEnabled(true);
    expect((await octokit.rest.issues.get({ ...repo(), issue_number: number })).data.title).toBe('kept');
  });

  it('has no DELETE for issues: GitHub answers it like any unknown route', async () => {
    const number = fake.seed.issue({ title: 'stays' });
    const error = await failure(sdk().request('DELETE /repos/{owner}/{repo}/issues/{issue_number}', { ...repo(), issue_number: number }));
    expect(error.status).toBe(404);
    expect(error.response.data).toEqual({ message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
    expect(fake.issues.get(number)).toBeDefined();
  });
});

describe('conditional requests', () => {
  it('answers a matching If-None-Match with 304, which costs no rate limit', async () => {
    const number = fake.seed.issue({ title: 'cached' });
    const octokit = sdk();
    const first = await octokit.rest.issues.get({ ...repo(), issue_number: number });
    const etag = first.headers.etag ?? '';
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    const remaining = Number(first.headers['x-ratelimit-remaining']);

    const notModified = await failure(octokit.rest.issues.get({ ...repo(), issue_number: number, headers: { 'if-none-match': etag } }));
    expect(notModified.status).toBe(304);
    expect(Number(notModified.response.headers['x-ratelimit-remaining'])).toBe(remaining);

    const list = await octokit.rest.issues.listForRepo({ ...repo() });
    const listNotModified = await failure(octokit.rest.issues.listForRepo({ ...repo(), headers: { 'if-none-match': `W/${list.headers.etag}` } }));
    expect(listNotModified.status).toBe(304);

    fake.human.editIssue(number, { title: 'changed' });
    const changed = await octokit.rest.issues.get({ ...repo(), issue_number: number, headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(Number(changed.headers['x-ratelimit-remaining'])).toBe(remaining - 2);
  });
});

describe('rate limits', () => {
  it('reports the primary budget in x-ratelimit-* headers on every answer', async () => {
    const octokit = sdk();
    const first = await octokit.rest.issues.listForRepo({ ...repo() });
    expect(first.headers['x-ratelimit-limit']).toBe('5000');
    expect(first.headers['x-ratelimit-remaining']).toBe('4999');
    expect(first.headers['x-ratelimit-used']).toBe('1');
    expect(first.headers['x-ratelimit-resource']).toBe('core');
    expect(Number(first.headers['x-ratelimit-reset'])).toBe(Date.parse(T0) / 1000 + 3600);
    const error = await failure(octokit.rest.issues.get({ ...repo(), issue_number: 1 }));
    expect(error.response.headers['x-ratelimit-remaining']).toBe('4998');
  });

  it('refuses a spent budget with 403 and remaining 0 until the reset, and the throttling plugin sees a rate limit', async () => {
    fake.rateLimit.set({ remaining: 0 }, 'octocat');
    const seen: number[] = [];
    const octokit = throttledSdk({ onRateLimit: (after: number) => void seen.push(after) });
    const error = await failure(octokit.rest.issues.listForRepo({ ...repo() }));
    expect(error.status).toBe(403);
    expect(error.response.headers['x-ratelimit-remaining']).toBe('0');
    expect(Number(error.response.headers['x-ratelimit-reset'])).toBe(Date.parse(T0) / 1000 + 3600);
    expect(String(error.response.data.message)).toMatch(/^API rate limit exceeded for user ID \d+\.$/);
    // The plugin measures the wait against the real clock, not the fake's frozen one, so only the call counts.
    expect(seen).toHaveLength(1);

    fake.rateLimit.setPrimaryStatus(429);
    expect((await failure(octokit.rest.issues.listForRepo({ ...repo() }))).status).toBe(429);
    fake.clock.advance(3600_000);
    expect((await octokit.rest.issues.listForRepo({ ...repo() })).headers['x-ratelimit-remaining']).toBe('4999');
  });

  it('meets secondary limits with 403, retry-after and the documented message; the SDK can wait and retry', async () => {
    const number = fake.seed.issue({ title: 'x' });
    fake.rateLimit.triggerSecondary(1);
    const error = await failure(sdk().rest.issues.get({ ...repo(), issue_number: number }));
    expect(error.status).toBe(403);
    expect(error.response.headers['retry-after']).toBe('60');
    expect(String(error.response.data.message)).toMatch(/^You have exceeded a secondary rate limit\./);

    fake.rateLimit.triggerSecondary(2, { retryAfter: 3, status: 429 });
    const waits: number[] = [];
    const patient = throttledSdk({ retryAfterBaseValue: 1, onSecondaryRateLimit: (after: number) => (waits.push(after), true) });
    const answer = await patient.rest.issues.get({ ...repo(), issue_number: number });
    expect(answer.status).toBe(200);
    expect(waits).toEqual([3, 3]);
  });
});

describe('authentication, versions and standard headers', () => {
  it('accepts Bearer and token schemes, answers bad credentials with 401 and hides the private repository from anonymous callers', async () => {
    const bearer = await fetch(`${fake.url}/repos/octo-org/hello-world/issues`, { headers: { authorization: `Bearer ${ADMIN}`, 'user-agent': 'test' } });
    expect(bearer.status).toBe(200);
    const bad = await failure(sdk('ghp_wrong').rest.issues.listForRepo({ ...repo() }));
    expect(bad.status).toBe(401);
    expect(bad.response.data).toEqual({ message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
    const anonymous = await failure(new Octokit({ baseUrl: fake.url, log: quiet }).rest.issues.listForRepo({ ...repo() }));
    expect(anonymous.status).toBe(404);
    expect(anonymous.response.headers['x-ratelimit-limit']).toBe('60');
  });

  it('selects the requested API version, refuses unknown ones with 400, and drops `assignee` in 2026-03-10', async () => {
    const number = fake.seed.issue({ title: 'versions' });
    const octokit = sdk();
    const plain = await octokit.rest.issues.get({ ...repo(), issue_number: number });
    expect(plain.headers['x-github-api-version-selected']).toBe('2022-11-28');
    expect(plain.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(plain.headers['x-github-request-id']).toBeTruthy();
    expect(plain.data).toHaveProperty('assignee', null);

    const next = await octokit.rest.issues.get({ ...repo(), issue_number: number, headers: { 'x-github-api-version': '2026-03-10' } });
    expect(next.headers['x-github-api-version-selected']).toBe('2026-03-10');
    expect(next.data).not.toHaveProperty('assignee');
    expect(schemaErrors(next.data, 'issue', '2026-03-10')).toEqual([]);

    const unknown = await failure(octokit.rest.issues.get({ ...repo(), issue_number: number, headers: { 'x-github-api-version': 'v3' } }));
    expect(unknown.status).toBe(400);
    expect(String(unknown.response.data.message)).toContain('"v3", is not a supported version');
  });

  it('answers malformed JSON bodies with 400', async () => {
    const response = await fetch(`${fake.url}/repos/octo-org/hello-world/issues`, {
      method: 'POST',
      headers: { authorization: `token ${ADMIN}`, 'user-agent': 'test', 'content-type': 'application/json' },
      body: '{"title":',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ message: 'Problems parsing JSON' });
  });
});

describe('shapes against the OpenAPI description and recorded GitHub answers', () => {
  it('conforms to the OpenAPI schemas issue, label, validation-error, basic-error and hook', async () => {
    fake.seed.collaborator('alice');
    const milestone = fake.seed.milestone({ title: 'v1', dueOn: '2024-06-01T00:00:00Z' });
    fake.seed.issue({ title: 'open', labels: ['bug'], assignees: ['alice'], milestone, body: 'text' });
    fake.seed.issue({ title: 'closed', state: 'closed', stateReason: 'not_planned' });
    fake.seed.pullRequest({ title: 'pr', mergedAt: '2024-02-02T00:00:00Z' });
    const octokit = sdk();

    const list = await octokit.rest.issues.listForRepo({ ...repo(), state: 'all' });
    for (const item of list.data) expect(schemaErrors(item, 'issue')).toEqual([]);
    const created = await octokit.rest.issues.create({ ...repo(), title: 'new', labels: ['fresh'] });
    expect(schemaErrors(created.data, 'issue')).toEqual([]);
    for (const label of created.data.labels) expect(schemaErrors(label, 'label')).toEqual([]);
    expect(schemaErrors((await octokit.rest.issues.get({ ...repo(), issue_number: 1 })).data, 'issue')).toEqual([]);

    const invalid = await failure(octokit.rest.issues.create({ ...repo(), title: 'x', milestone: 42 }));
    expect(schemaErrors(invalid.response.data, 'validation-error')).toEqual([]);
    const notFound = await failure(octokit.rest.issues.get({ ...repo(), issue_number: 404 }));
    expect(schemaErrors(notFound.response.data, 'basic-error')).toEqual([]);

    const hook = await octokit.rest.repos.createWebhook({ ...repo(), config: { url: 'http://127.0.0.1:9/none', content_type: 'json', secret: 's' }, events: ['issues'] });
    expect(schemaErrors(hook.data, 'hook')).toEqual([]);
    expect(hook.data.config.secret).toBe('********');
  });

  it('sends the same keys as recorded real answers (paginate-issues, add-labels-to-issue, labels, errors)', async () => {
    const listItem = (recorded('paginate-issues')[0]?.response as Array<Record<string, unknown>>)[0] ?? {};
    const createdRecording = recorded('add-labels-to-issue')[0]?.response as Record<string, unknown>;
    const labelRecording = (recorded('labels')[0]?.response as Array<Record<string, unknown>>)[0] ?? {};
    const errorRecording = recorded('errors')[0]?.response as Record<string, unknown>;

    fake.seed.issue({ title: 'one' });
    const octokit = sdk();
    const listed = (await octokit.rest.issues.listForRepo({ ...repo() })).data[0] as unknown as Record<string, unknown>;
    expect(Object.keys(listed)).toEqual(Object.keys(listItem));
    expect(Object.keys(listed.user as object)).toEqual(Object.keys(listItem.user as object));
    expect(Object.keys(listed.reactions as object)).toEqual(Object.keys(listItem.reactions as object));

    const created = (await octokit.rest.issues.create({ ...repo(), title: 'two', labels: ['Foo'] })).data as unknown as Record<string, unknown>;
    expect(Object.keys(created)).toEqual(Object.keys(createdRecording));
    const label = (created.labels as Array<Record<string, unknown>>)[0] ?? {};
    expect(Object.keys(label).sort()).toEqual(Object.keys(labelRecording).sort());

    const failed = await failure(octokit.rest.issues.create({ ...repo(), title: 'x', assignees: ['ghost'] }));
    // The recorded error predates the `status` field GitHub now adds to error bodies.
    expect(Object.keys(failed.response.data).filter((key) => key !== 'status').sort()).toEqual(Object.keys(errorRecording).sort());
    expect(Object.keys((failed.response.data.errors as object[])[0] ?? {}).filter((key) => key !== 'value').sort()).toEqual(
      Object.keys(((errorRecording.errors as object[])[0] ?? {}) as object).sort(),
    );

    // The recorded headers GitHub sends with every JSON answer.
    const recordedHeaders = recorded('paginate-issues')[0]?.headers ?? {};
    const answer = await octokit.rest.issues.listForRepo({ ...repo() });
    for (const name of ['content-type', 'etag', 'x-github-media-type', 'x-github-request-id', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-resource', 'x-ratelimit-used', 'cache-control']) {
      expect(recordedHeaders).toHaveProperty(name);
      expect(answer.headers).toHaveProperty(name);
    }
    expect(answer.headers['content-type']).toBe(recordedHeaders['content-type']);
    expect(answer.headers['cache-control']).toBe(recordedHeaders['cache-control']);
  });
});

describe('webhooks', () => {
  let receiver: Receiver;
  let received: ReceivedRequest[];
  let receiverUrl: string;
  let answerWith = 200;

  beforeEach(async () => {
    received = [];
    answerWith = 200;
    receiver = await startReceiver((request) => {
      received.push(request);
      return answerWith;
    });
    receiverUrl = `${receiver.origin}/hook`;
  });

  afterEach(async () => {
    await fake.webhooks.settled();
    await receiver.close();
  });

  const events = () => received.map((delivery) => `${String(delivery.headers['x-github-event'])}.${String((JSON.parse(delivery.body) as { action?: string }).action ?? '')}`);

  async function createHook(config: Record<string, unknown> = {}, hookEvents = ['issues']) {
    const hook = await sdk().rest.repos.createWebhook({ ...repo(), config: { url: receiverUrl, content_type: 'json', secret: 'It\'s a Secret to Everybody', ...config }, events: hookEvents });
    await fake.webhooks.settled();
    return hook.data;
  }

  it('pings a new hook, then sends signed issues events that @octokit/webhooks verifies and dispatches', async () => {
    fake.seed.collaborator('alice');
    const hook = await createHook();
    expect(events()).toEqual(['ping.']);
    const ping = JSON.parse(received[0]?.body ?? '{}') as Record<string, unknown>;
    expect(ping).toMatchObject({ hook_id: hook.id, hook: { id: hook.id, events: ['issues'] } });
    expect(Object.keys(ping)).toEqual(Object.keys(webhookExamples.find((example) => example.name === 'ping')?.examples[0] ?? {}));

    const created = await sdk().rest.issues.create({ ...repo(), title: 'Hooked', labels: ['bug'], assignees: ['alice'] });
    await fake.webhooks.settled();
    expect(events().slice(1)).toEqual(['issues.opened', 'issues.labeled', 'issues.assigned']);

    const webhooks = new Webhooks({ secret: 'It\'s a Secret to Everybody' });
    const opened: Array<{ id: string; number: number; sender: string }> = [];
    webhooks.on('issues.opened', ({ id, payload }) => void opened.push({ id, number: payload.issue.number, sender: payload.sender?.login ?? '' }));
    const delivery = received[1] as ReceivedRequest;
    const signature = String(delivery.headers['x-hub-signature-256']);
    expect(await webhooks.verify(delivery.body, signature)).toBe(true);
    expect(signature).toBe(await sign('It\'s a Secret to Everybody', delivery.body));
    await webhooks.verifyAndReceive({ id: String(delivery.headers['x-github-delivery']), name: 'issues', payload: delivery.body, signature });
    expect(opened).toEqual([{ id: String(delivery.headers['x-github-delivery']), number: created.data.number, sender: 'octocat' }]);

    expect(delivery.headers).toMatchObject({
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-hook-id': String(hook.id),
      'x-github-hook-installation-target-type': 'repository',
      'x-github-hook-installation-target-id': String(fake.repositoryId),
    });
    expect(delivery.headers['user-agent']).toMatch(/^GitHub-Hookshot\//);
    expect(delivery.headers['x-github-delivery']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(delivery.headers['x-hub-signature']).toMatch(/^sha1=[0-9a-f]{40}$/);
  });

  it('shapes issues payloads like the recorded examples in @octokit/webhooks-examples', async () => {
    await createHook();
    fake.seed.collaborator('alice');
    const number = fake.human.createIssue({ title: 'From the web', labels: ['bug'] }, { actor: 'alice' });
    fake.human.editIssue(number, { title: 'Renamed', body: 'new body', state: 'closed' }, { actor: 'alice' });
    await fake.webhooks.settled();
    expect(events().slice(1)).toEqual(['issues.opened', 'issues.labeled', 'issues.edited', 'issues.closed']);

    const payloads = received.slice(1).map((delivery) => JSON.parse(delivery.body) as Record<string, unknown>);
    const issuesExamples = webhookExamples.find((example) => example.name === 'issues')?.examples ?? [];
    const keysOf = (value: unknown) => Object.keys(value as object);
    const recordedRepositoryKeys = new Set(issuesExamples.flatMap((example) => keysOf(example.repository)));
    for (const payload of payloads) {
      const recordedPayloads = issuesExamples.filter((example) => example.action === (payload.action === 'closed' ? 'reopened' : payload.action));
      expect(recordedPayloads.length).toBeGreaterThan(0);
      for (const recordedPayload of recordedPayloads) {
        const context = ['installation', 'organization'];
        expect(keysOf(payload).filter((key) => key !== 'changes')).toEqual(keysOf(recordedPayload).filter((key) => key !== 'changes' && !context.includes(key)));
        expect(keysOf(payload.sender)).toEqual(keysOf(recordedPayload.sender));
        // Newer recordings carry more repository keys; every recorded key is sent, and nothing unrecorded.
        for (const key of keysOf(recordedPayload.repository)) expect(keysOf(payload.repository)).toContain(key);
        // Webhook issues omit `draft` unless they are pull requests, like the REST answers.
        for (const key of keysOf(recordedPayload.issue)) if (key !== 'draft') expect(keysOf(payload.issue)).toContain(key);
      }
      for (const key of keysOf(payload.repository)) expect(recordedRepositoryKeys).toContain(key);
      expect(schemaErrors(payload.issue, 'issue')).toEqual([]);
    }
    expect(payloads[2]).toMatchObject({ action: 'edited', changes: { title: { from: 'From the web' }, body: { from: null } }, sender: { login: 'alice' } });
    expect(payloads[3]).toMatchObject({ action: 'closed', issue: { state: 'closed', state_reason: 'completed', title: 'Renamed' } });
  });

  it('announces deletions and transfers, with the moved issue and its new repository in `changes`', async () => {
    await createHook();
    const doomed = fake.seed.issue({ title: 'doomed' });
    const mover = fake.seed.issue({ title: 'mover' });
    fake.human.deleteIssue(doomed);
    const target = fake.human.transferIssue(mover, { repository: 'octo-org/elsewhere' });
    await fake.webhooks.settled();
    expect(events().slice(1)).toEqual(['issues.deleted', 'issues.transferred']);
    const transferred = JSON.parse(received[2]?.body ?? '{}') as { changes: { new_issue: Record<string, unknown>; new_repository: Record<string, unknown> } };
    expect(transferred.changes.new_issue).toMatchObject({ number: target.number, title: 'mover' });
    expect(transferred.changes.new_repository).toMatchObject({ id: target.repositoryId, full_name: 'octo-org/elsewhere' });
    expect(schemaErrors(transferred.changes.new_issue, 'issue')).toEqual([]);
  });

  it('holds deliveries, releases them out of order, and redelivers with the same X-GitHub-Delivery', async () => {
    await createHook();
    const number = fake.seed.issue({ title: 'ordering' });
    fake.webhooks.hold();
    fake.human.editIssue(number, { title: 'first' });
    fake.human.editIssue(number, { title: 'second' });
    fake.human.editIssue(number, { state: 'closed' });
    await fake.webhooks.settled();
    expect(received).toHaveLength(1);
    await fake.webhooks.release('reverse');
    expect(events().slice(1)).toEqual(['issues.closed', 'issues.edited', 'issues.edited']);
    const titles = received.slice(2).map((delivery) => (JSON.parse(delivery.body) as { changes: { title: { from: string } } }).changes.title.from);
    expect(titles).toEqual(['first', 'ordering']);

    const original = received[1] as ReceivedRequest;
    const again = await fake.webhooks.redeliver(String(original.headers['x-github-delivery']));
    expect(again.redelivery).toBe(true);
    const replay = received[received.length - 1] as ReceivedRequest;
    expect(replay.headers['x-github-delivery']).toBe(original.headers['x-github-delivery']);
    expect(replay.body).toBe(original.body);

    fake.webhooks.hold();
    fake.human.editIssue(number, { state: 'open' });
    expect(fake.webhooks.discardHeld().map((delivery) => delivery.action)).toEqual(['reopened']);
    await fake.webhooks.settled();
    expect(events().at(-1)).toBe('issues.closed');
  });

  it('form hooks get payload=<json> signed over the raw body; PATCH without a secret removes it, as documented', async () => {
    const hook = await createHook({ content_type: 'form' });
    const ping = received[0] as ReceivedRequest;
    expect(ping.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(JSON.parse(new URLSearchParams(ping.body).get('payload') ?? '{}')).toMatchObject({ hook_id: hook.id });
    expect(await new Webhooks({ secret: 'It\'s a Secret to Everybody' }).verify(ping.body, String(ping.headers['x-hub-signature-256']))).toBe(true);

    await sdk().rest.repos.updateWebhook({ ...repo(), hook_id: hook.id, config: { url: receiverUrl, content_type: 'json' } });
    fake.human.createIssue({ title: 'unsigned' });
    await fake.webhooks.settled();
    const unsigned = received[received.length - 1] as ReceivedRequest;
    expect(unsigned.headers['x-hub-signature-256']).toBeUndefined();
  });

  it('lists attempted deliveries and redelivers through the REST endpoints; failed answers are recorded', async () => {
    const hook = await createHook();
    answerWith = 500;
    fake.human.createIssue({ title: 'lost' });
    await fake.webhooks.settled();
    const octokit = sdk();
    const list = await octokit.rest.repos.listWebhookDeliveries({ ...repo(), hook_id: hook.id });
    const failed = list.data.find((delivery) => delivery.action === 'opened');
    expect(failed).toMatchObject({ status_code: 500, redelivery: false, event: 'issues' });
    answerWith = 200;
    const attempt = await octokit.rest.repos.redeliverWebhookDelivery({ ...repo(), hook_id: hook.id, delivery_id: failed?.id ?? 0 });
    expect(attempt.status).toBe(202);
    await fake.webhooks.settled();
    const after = await octokit.rest.repos.listWebhookDeliveries({ ...repo(), hook_id: hook.id });
    expect(after.data[0]).toMatchObject({ guid: failed?.guid, redelivery: true, status_code: 200 });
  });

  it('keeps hooks from callers without admin rights (404), and refuses overlapping duplicates (422)', async () => {
    await createHook();
    expect((await failure(sdk(READER).rest.repos.listWebhooks({ ...repo() }))).status).toBe(404);
    const duplicate = await failure(sdk().rest.repos.createWebhook({ ...repo(), config: { url: receiverUrl }, events: ['issues', 'push'] }));
    expect(duplicate.status).toBe(422);
  });
});
