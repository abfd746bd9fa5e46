import { afterEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import type { GitHubFake } from '../../../test/fakes/github/server';
import { loopbackAccess } from '../../../test/support/access';
import { ConnectorError, type Connector, type ListPosition, type SourceRecord } from '../types';
import { GitHubClient } from './client';
import { githubConnector } from './index';
import { credentialName, fakeConnection, openIssues, startFakeRepository, testToken, type FakeRepository } from './test-support';

const patchRoute = 'PATCH /repos/{owner}/{repo}/issues/{issue_number}';

let repository: FakeRepository | undefined;
let connector: Connector | undefined;
afterEach(async () => {
  await connector?.close();
  await repository?.fake.close();
  repository = undefined;
  connector = undefined;
});

async function open(extra: Record<string, unknown> = {}): Promise<{ fake: GitHubFake; connector: Connector; outOfBand: FakeRepository['outOfBand'] }> {
  repository = await startFakeRepository();
  connector = await openIssues(repository.fake, extra);
  return { fake: repository.fake, connector, outOfBand: repository.outOfBand };
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

describe('what is an issue', () => {
  it('leaves pull requests out of listings and reads', async () => {
    const { fake, connector } = await open();
    const issue = fake.seed.issue({ title: 'An issue' });
    const pull = fake.seed.pullRequest({ title: 'A pull request' });
    const merged = fake.seed.pullRequest({ title: 'A merged pull request', mergedAt: '2024-01-01T00:00:00Z' });
    expect((await listAll(connector)).map((record) => record.id)).toEqual([String(issue)]);
    const read = await connector.getMany([String(issue), String(pull), String(merged)]);
    expect([...read.keys()]).toEqual([String(issue)]);
  });

  it('reads the fields that sync, labels and assignees sorted, and nothing of the bookkeeping', async () => {
    const { fake, connector } = await open();
    fake.seed.collaborator('hubot');
    fake.seed.collaborator('adalovelace');
    const milestone = fake.seed.milestone({ title: 'v1' });
    const number = fake.seed.issue({ title: 'Crash on start', body: 'Steps…', labels: ['ui', 'bug'], assignees: ['hubot', 'adalovelace'], milestone, state: 'closed', stateReason: 'duplicate' });
    const record = (await connector.getMany([String(number)])).get(String(number));
    expect(record).toEqual({
      id: String(number),
      version: fake.issues.get(number)?.updated_at,
      tag: null,
      deleted: false,
      fields: { title: 'Crash on start', body: 'Steps…', state: 'closed', state_reason: 'duplicate', labels: ['bug', 'ui'], assignees: ['adalovelace', 'hubot'], milestone },
    });
  });
});

describe('scanIds (not asked for by the engine: fullScan is false)', () => {
  it('pages through every issue number once, pull requests left out', async () => {
    const { fake, connector } = await open();
    const numbers: string[] = [];
    for (let i = 0; i < 7; i++) numbers.push(String(fake.seed.issue({ title: `issue ${i}`, updatedAt: '2024-01-01T00:00:00Z' })));
    fake.seed.pullRequest({ title: 'pull', updatedAt: '2024-01-01T00:00:00Z' });
    const pages: string[][] = [];
    for await (const page of connector.scanIds(3)) pages.push(page);
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(pages.flat().sort()).toEqual([...numbers].sort());
  });
});

describe('issues that are gone', () => {
  it('reads an issue deleted in the web interface (410) as absent, and writes to it as missing', async () => {
    const { fake, connector } = await open();
    const kept = fake.seed.issue({ title: 'kept' });
    const deleted = fake.seed.issue({ title: 'deleted' });
    fake.human.deleteIssue(deleted);
    expect([...(await connector.getMany([String(kept), String(deleted)])).keys()]).toEqual([String(kept)]);
    expect(await connector.write([{ kind: 'update', id: String(deleted), fields: { title: 'x' }, tag: 'syncline:t:1', expectedVersion: null }])).toEqual([{ ok: false, reason: 'missing' }]);
    expect(await connector.write([{ kind: 'delete', id: String(deleted), expectedVersion: null }])).toEqual([{ ok: false, reason: 'missing' }]);
    // The update's PATCH met the 410; the delete read the issue first, and sent nothing.
    expect(fake.requests.log.filter((entry) => entry.route === patchRoute).map((entry) => entry.status)).toEqual([410]);
  });

  it('reads an issue transferred to another repository as absent, and never writes to where it went', async () => {
    const { fake, connector } = await open();
    const number = fake.seed.issue({ title: 'moving away' });
    const moved = fake.human.transferIssue(number, { repository: 'octo-org/elsewhere' });
    expect((await connector.getMany([String(number)])).size).toBe(0);
    const [result] = await connector.write([{ kind: 'update', id: String(number), fields: { title: 'written to the old number' }, tag: 'syncline:t:2', expectedVersion: null }]);
    expect(result).toEqual({ ok: false, reason: 'missing' });
    // The 301 was not followed to the issue the transfer made.
    expect(fake.requests.log.filter((entry) => entry.method === 'PATCH').map((entry) => [entry.path, entry.status])).toEqual([[`/repos/${fake.owner}/${fake.repo}/issues/${number}`, 301]]);
    expect(fake.requests.log.some((entry) => entry.path.includes(`/repositories/${moved.repositoryId}/`))).toBe(false);
  });

  it('reads numbers that never existed, and ids that are no issue number, as absent', async () => {
    const { fake, connector } = await open();
    fake.seed.issue({ title: 'one' });
    expect((await connector.getMany(['404', 'abc', '0', '-1', '1.5'])).size).toBe(0);
  });
});

describe('a repository that moved', () => {
  it('stops with a message to update connection.repo, rather than read its issues as gone', async () => {
    // The fake cannot rename a repository; GitHub answers every request for the old name with a 301 to the repository's
    // id (docs: Best practices › Follow redirects), which is all this one request needs.
    const moved: typeof fetch = async () =>
      new Response(JSON.stringify({ message: 'Moved Permanently', url: 'https://api.github.com/repositories/42/issues', documentation_url: 'https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects' }), {
        status: 301,
        headers: { location: 'https://api.github.com/repositories/42/issues?state=all', 'content-type': 'application/json; charset=utf-8' },
      });
    const client = new GitHubClient({ baseUrl: 'https://api.github.com', token: testToken, repo: 'octo-org/old-name', credential: credentialName, fetch: moved, maxWaitSeconds: 60, signal: new AbortController().signal });
    await expect(client.listIssues(null, { page: 1 })).rejects.toThrow(
      'GitHub answers that repository "octo-org/old-name" moved (301 to https://api.github.com/repositories/42/issues?state=all): it was renamed or transferred; set connection.repo to its new owner/name',
    );
  });
});

describe('what a delete does', () => {
  it('closes the issue as not planned by default, and closing a closed one succeeds', async () => {
    const { fake, connector } = await open();
    expect(connector.capabilities.deletes).toBe('close');
    const number = fake.seed.issue({ title: 'to be deleted elsewhere' });
    const [result] = await connector.write([{ kind: 'delete', id: String(number), expectedVersion: null }]);
    expect(result).toMatchObject({ ok: true, id: String(number) });
    expect(fake.issues.get(number)).toMatchObject({ state: 'closed', state_reason: 'not_planned' });
    expect((await connector.getMany([String(number)])).get(String(number))).toMatchObject({ deleted: false, fields: { state: 'closed', state_reason: 'not_planned' } });
    expect((await connector.write([{ kind: 'delete', id: String(number), expectedVersion: null }]))[0]).toMatchObject({ ok: true });
  });

  it('leaves an issue closed already as it is: no re-close as not planned, no new updated_at', async () => {
    const { fake, connector } = await open();
    const number = fake.seed.issue({ title: 'done', updatedAt: '2024-01-01T00:00:00Z' });
    fake.human.editIssue(number, { state: 'closed', state_reason: 'completed' });
    const before = fake.issues.get(number);
    fake.requests.reset();
    const [result] = await connector.write([{ kind: 'delete', id: String(number), expectedVersion: null }]);
    expect(result).toEqual({ ok: true, id: String(number), version: before?.updated_at });
    expect(fake.issues.get(number)).toMatchObject({ state: 'closed', state_reason: 'completed', updated_at: before?.updated_at });
    expect(fake.requests.count('PATCH /repos/{owner}/{repo}/issues/{issue_number}')).toBe(0);
  });

  it('with deletes "refuse": says it cannot delete, and a delete asked for anyway fails for good without a request', async () => {
    const { fake, connector } = await open({ deletes: 'refuse' });
    expect(connector.capabilities.deletes).toBe('cannot');
    const number = fake.seed.issue({ title: 'stays open' });
    fake.requests.reset();
    const [result] = await connector.write([{ kind: 'delete', id: String(number), expectedVersion: null }]);
    expect(result).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining('refuses deletes') });
    expect(fake.issues.get(number)?.state).toBe('open');
    expect(fake.requests.count()).toBe(0);
  });
});

describe('writes', () => {
  it('refuses a state_reason without a state, which GitHub would answer 200 and not keep, and sends them together', async () => {
    const { fake, connector } = await open();
    const number = fake.seed.issue({ title: 'Closed once' });
    await connector.write([{ kind: 'update', id: String(number), fields: { state: 'closed', state_reason: 'completed' }, tag: 'syncline:t:1', expectedVersion: null }]);
    fake.requests.reset();
    const [alone] = await connector.write([{ kind: 'update', id: String(number), fields: { state_reason: 'not_planned', title: 'Closed, not planned' }, tag: 'syncline:t:2', expectedVersion: null }]);
    expect(alone).toMatchObject({ ok: false, reason: 'failed', retryable: false, message: expect.stringContaining('only together with its state') });
    expect(fake.requests.count()).toBe(0);
    expect(fake.issues.get(number)).toMatchObject({ title: 'Closed once', state_reason: 'completed' });
    const [together] = await connector.write([{ kind: 'update', id: String(number), fields: { state: 'open', state_reason: 'reopened' }, tag: 'syncline:t:3', expectedVersion: null }]);
    expect(together).toMatchObject({ ok: true });
    expect(fake.issues.get(number)).toMatchObject({ state: 'open', state_reason: 'reopened' });
  });

  it('sends only the given fields, labels and assignees replacing the sets', async () => {
    const { fake, connector, outOfBand } = await open();
    fake.seed.collaborator('hubot');
    const number = outOfBand(() => fake.seed.issue({ title: 'Title', body: 'Body', labels: ['bug', 'ui'], assignees: ['octocat'] }));
    const [result] = await connector.write([{ kind: 'update', id: String(number), fields: { labels: ['triage', 'bug'], assignees: ['hubot'] }, tag: 'syncline:t:3', expectedVersion: null }]);
    expect(result).toMatchObject({ ok: true, id: String(number), version: fake.issues.get(number)?.updated_at });
    const record = (await connector.getMany([String(number)])).get(String(number));
    expect(record?.fields).toMatchObject({ title: 'Title', body: 'Body', labels: ['bug', 'triage'], assignees: ['hubot'] });
  });

  it('creates a closed record as an issue, then closes it', async () => {
    const { fake, connector } = await open();
    const [result] = await connector.write([
      { kind: 'create', fields: { title: 'Already done', body: null, state: 'closed', state_reason: 'completed', labels: ['bug'] }, tag: 'syncline:t:4' },
    ]);
    if (!result?.ok) throw new Error(JSON.stringify(result));
    expect(fake.issues.get(Number(result.id))).toMatchObject({ title: 'Already done', state: 'closed', state_reason: 'completed', body: null });
    expect(result.version).toBe(fake.issues.get(Number(result.id))?.updated_at);
  });

  it('fails a write GitHub refuses (422) for good, with GitHub\'s message, and goes on with the next', async () => {
    const { fake, connector } = await open();
    const number = fake.seed.issue({ title: 'assign me' });
    const results = await connector.write([
      { kind: 'update', id: String(number), fields: { assignees: ['nobody-here'] }, tag: 'syncline:t:5', expectedVersion: null },
      { kind: 'update', id: String(number), fields: { title: 'renamed' }, tag: 'syncline:t:6', expectedVersion: null },
    ]);
    expect(results[0]).toMatchObject({ ok: false, reason: 'failed', retryable: false });
    expect((results[0] as { message: string }).message).toMatch(/^GitHub refused the issue \(422 Validation Failed: assignees invalid \("nobody-here"\)\)/);
    expect(results[1]).toMatchObject({ ok: true });
    expect(fake.issues.get(number)?.title).toBe('renamed');
  });

  it('refuses a record with more than 10 assignees, which GitHub would cut to 10 without an error, and writes the others', async () => {
    const { fake, connector } = await open();
    const people = Array.from({ length: 11 }, (_, i) => `member-${i + 1}`);
    for (const login of people) fake.seed.collaborator(login);
    const number = fake.seed.issue({ title: 'Team task', assignees: ['member-1'] });
    fake.requests.reset();
    const results = await connector.write([
      { kind: 'create', fields: { title: 'Whole team', assignees: people }, tag: 'syncline:t:12' },
      { kind: 'update', id: String(number), fields: { assignees: people }, tag: 'syncline:t:13', expectedVersion: null },
      { kind: 'update', id: String(number), fields: { assignees: people.slice(0, 10) }, tag: 'syncline:t:14', expectedVersion: null },
    ]);
    for (const refused of results.slice(0, 2)) {
      expect(refused).toMatchObject({ ok: false, reason: 'failed', retryable: false });
      expect((refused as { message: string }).message).toMatch(/^field "assignees": GitHub keeps at most 10 assignees on an issue and would silently keep only 10 of these 11 \(member-1, .*member-11\); this record is not written: assign at most 10 people/);
    }
    expect(results[2]).toMatchObject({ ok: true, id: String(number) });
    expect(fake.requests.count('POST /repos/{owner}/{repo}/issues')).toBe(0);
    expect(fake.requests.log.filter((entry) => entry.method === 'PATCH')).toHaveLength(1);
    expect(fake.issues.all()).toHaveLength(1);
    expect((fake.issues.get(number)?.assignees as Array<{ login: string }>).map((user) => user.login)).toEqual(people.slice(0, 10));
  });

  it('refuses fields it does not have, values of the wrong kind and a create without a title, naming the field, without a request', async () => {
    const { fake, connector } = await open();
    const number = fake.seed.issue({ title: 'x' });
    fake.requests.reset();
    const results = await connector.write([
      { kind: 'update', id: String(number), fields: { priority: 'high' }, tag: 'syncline:t:7', expectedVersion: null },
      { kind: 'update', id: String(number), fields: { updated_at: '2030-01-01T00:00:00Z' }, tag: 'syncline:t:8', expectedVersion: null },
      { kind: 'update', id: String(number), fields: { state: 'done' }, tag: 'syncline:t:9', expectedVersion: null },
      { kind: 'update', id: String(number), fields: { labels: 'bug' }, tag: 'syncline:t:10', expectedVersion: null },
      { kind: 'create', fields: { body: 'no title' }, tag: 'syncline:t:11' },
    ]);
    const messages = results.map((result) => (result.ok ? 'ok' : result.reason === 'failed' ? result.message : result.reason));
    expect(messages[0]).toMatch(/field "priority" is not a field of a GitHub issue; the fields that sync are title, body, state, state_reason, labels, assignees, milestone/);
    expect(messages[1]).toMatch(/field "updated_at" is the change timestamp GitHub sets: bookkeeping/);
    expect(messages[2]).toMatch(/field "state": must be "open" or "closed", not "done"/);
    expect(messages[3]).toMatch(/field "labels": must be a list of label names/);
    expect(messages[4]).toMatch(/field "title" is required to create a GitHub issue/);
    expect(fake.requests.count()).toBe(0);
  });
});

describe('connection and description', () => {
  it('checks the connection, naming each problem\'s path and why', () => {
    const problems = (connection: Record<string, unknown>) => githubConnector.checkConnection(connection).map((problem) => `${problem.path.join('.')}: ${problem.message}`);
    expect(problems({ repo: 'octo-org/hello-world', auth: { credential: 'gh' } })).toEqual([]);
    expect(problems({ auth: { credential: 'gh' } })).toEqual(['repo: is required: the repository whose issues sync, as "owner/name", e.g. "octo-org/hello-world"']);
    expect(problems({ repo: 'https://github.com/octo-org/hello-world', auth: { credential: 'gh' } })[0]).toMatch(/^repo: must name the repository as "owner\/name"/);
    expect(problems({ repo: 'octo-org/hello-world' })[0]).toMatch(/^auth: is required: \{"credential": "<name>"\} naming the stored GitHub token/);
    expect(problems({ repo: 'octo-org/hello-world', auth: 'ghp_secret' })[0]).toMatch(/^auth: must name the stored credential .*a flow never holds a secret/);
    expect(problems({ repo: 'a/b', auth: { credential: 'gh' }, baseUrl: 'ftp://example.com' })[0]).toMatch(/^baseUrl: must be an http\(s\) URL/);
    expect(problems({ repo: 'a/b', auth: { credential: 'gh' }, deletes: 'remove' })[0]).toMatch(/^deletes: must be "close" .* or "refuse"/);
    expect(problems({ repo: 'a/b', auth: { credential: 'gh' }, token: 'x' })[0]).toMatch(/token.*the github options are repo, auth, baseUrl, deletes, maxWaitSeconds/);
  });

  it('has one collection, issues, and describes its fields with their types', async () => {
    const { fake, connector } = await open();
    expect(await connector.describe()).toEqual([
      {
        name: 'issues',
        fields: [
          { name: 'title', type: 'string', nullable: false },
          { name: 'body', type: 'string', nullable: true },
          { name: 'state', type: 'string', nullable: false },
          { name: 'state_reason', type: 'string', nullable: true },
          { name: 'labels', type: 'array', nullable: false },
          { name: 'assignees', type: 'array', nullable: false },
          { name: 'milestone', type: 'number', nullable: true },
        ],
      },
    ]);
    expect(connector.capabilities).toEqual({ conditionalWrites: false, tags: false, incremental: true, fullScan: false, deletes: 'close', lookbackMs: 5000 });
    const config = triggerConfigSchema.parse({ connector: 'github', connection: fakeConnection(fake), collection: 'pulls', key: 'number' });
    await expect(githubConnector.open({ config, baseDir: '/', resolveCredential: async () => testToken, access: loopbackAccess })).rejects.toThrow('collection "pulls": a github connection has one collection, issues');
  });

  it('describes a connection for the editor after checking the token and the repository', async () => {
    const { fake } = await open();
    const context = (token: string, repo = `${fake.owner}/${fake.repo}`) => ({
      connection: { ...fakeConnection(fake), repo },
      baseDir: '/',
      resolveCredential: async (name: string) => (name === credentialName ? token : Promise.reject(new Error('none'))),
      access: loopbackAccess,
    });
    expect((await githubConnector.describeConnection(context(testToken))).map((collection) => collection.name)).toEqual(['issues']);
    await expect(githubConnector.describeConnection(context('ghp_wrong'))).rejects.toThrow(/GitHub refused the token \(401 Bad credentials\)/);
    await expect(githubConnector.describeConnection(context(testToken, 'octo-org/other'))).rejects.toThrow(/"octo-org\/other" not found, or the token cannot see it/);
    const missing = { ...context(testToken), resolveCredential: async () => Promise.reject(new Error('no such credential')) };
    await expect(githubConnector.describeConnection(missing)).rejects.toThrow(ConnectorError);
    await expect(githubConnector.describeConnection(missing)).rejects.toThrow('connection.auth: cannot read credential "github-token": no such credential');
  });
});
