import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { Octokit } from '@octokit/rest';
import { sign, verify } from '@octokit/webhooks-methods';
import { afterEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema, type TriggerConfig } from '../../../nodes/trigger/schema';
import type { WebhookDelivery } from '../types';
import { githubWebhook } from './webhook';
import { startFakeRepository, testToken, type FakeRepository } from './test-support';

// GitHub's webhook deliveries: the recorded payloads of @octokit/webhooks-examples, signed as GitHub signs them (with
// @octokit/webhooks-methods), and deliveries the GitHub fake sends to a hook registered through the REST API.

const require = createRequire(import.meta.url);
const definitions = require('@octokit/webhooks-examples') as Array<{ name: string; examples: Array<Record<string, unknown>> }>;
const secret = 'It’s a Secret to Everybody';

function example(event: string, action?: string, predicate: (payload: Record<string, unknown>) => boolean = () => true): Record<string, unknown> {
  const found = definitions.find((definition) => definition.name === event)?.examples.find((payload) => (action === undefined || payload.action === action) && predicate(payload));
  if (!found) throw new Error(`no ${event}.${action ?? '*'} example`);
  return found;
}

function trigger(repo: string): TriggerConfig {
  return triggerConfigSchema.parse({ connector: 'github', connection: { repo, auth: { credential: 'gh' } }, collection: 'issues', key: 'number', detect: { mode: 'webhook', secret: { credential: 'hook-secret' } } });
}

function delivery(body: string, headers: Record<string, string>): WebhookDelivery {
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return { method: 'POST', url: '/hooks/flow/node', body: new TextEncoder().encode(body), header: (name) => lower[name.toLowerCase()] };
}

/** A delivery as GitHub makes it: the JSON body (or its form encoding), signed, with the event and a delivery id. */
async function signed(event: string, payload: unknown, options: { form?: boolean; guid?: string } = {}): Promise<WebhookDelivery> {
  const json = JSON.stringify(payload);
  const body = options.form ? new URLSearchParams({ payload: json }).toString() : json;
  return delivery(body, {
    'Content-Type': options.form ? 'application/x-www-form-urlencoded' : 'application/json',
    'X-GitHub-Event': event,
    'X-GitHub-Delivery': options.guid ?? '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    'X-Hub-Signature-256': await sign(secret, body),
  });
}

const now = new Date();

describe('signatures', () => {
  it('accepts what GitHub signs, over JSON and over form-encoded bodies, as @octokit/webhooks-methods does', async () => {
    const payload = example('issues', 'opened');
    for (const form of [false, true]) {
      const received = await signed('issues', payload, { form });
      expect(githubWebhook.verify(received, secret, now)).toBeNull();
      const body = new TextDecoder().decode(received.body);
      expect(await verify(secret, body, received.header('X-Hub-Signature-256') as string)).toBe(true);
    }
  });

  it('refuses a wrong secret, an edited body and a missing signature, saying what to fix', async () => {
    const received = await signed('issues', example('issues', 'opened'));
    expect(githubWebhook.verify(received, 'another secret', now)).toMatch(/^X-Hub-Signature-256 does not match the body: it must be sha256=<hex HMAC-SHA256 of the raw body/);
    const body = new TextDecoder().decode(received.body);
    const edited = delivery(body.replace('"opened"', '"closed"'), { 'X-Hub-Signature-256': received.header('X-Hub-Signature-256') as string, 'X-GitHub-Event': 'issues' });
    expect(githubWebhook.verify(edited, secret, now)).toMatch(/does not match/);
    expect(await verify(secret, body.replace('"opened"', '"closed"'), received.header('X-Hub-Signature-256') as string)).toBe(false);
    expect(githubWebhook.verify(delivery(body, { 'X-GitHub-Event': 'issues' }), secret, now)).toMatch(/^X-Hub-Signature-256 is missing: give the GitHub webhook a secret/);
    // The SHA-1 signature GitHub also sends is not enough.
    const sha1Only = delivery(body, { 'X-Hub-Signature': 'sha1=0000', 'X-GitHub-Event': 'issues' });
    expect(githubWebhook.verify(sha1Only, secret, now)).toMatch(/is missing/);
  });

  it('takes the delivery id from X-GitHub-Delivery, for a redelivery to be recognised', async () => {
    const received = await signed('issues', example('issues', 'opened'), { guid: 'd1f0a2b0-0000-11ee-8000-000000000001' });
    expect(githubWebhook.deliveryId(received)).toBe('d1f0a2b0-0000-11ee-8000-000000000001');
    expect(githubWebhook.deliveryId(delivery('{}', {}))).toBeNull();
  });
});

describe('reading recorded payloads', () => {
  const hello = trigger('Codertocat/Hello-World');

  it('answers ping', async () => {
    for (const payload of definitions.find((definition) => definition.name === 'ping')?.examples ?? []) {
      expect(githubWebhook.read(await signed('ping', payload), hello)).toEqual({ kind: 'ping' });
    }
  });

  it('reads opened and edited issues as upserts of the issue number', async () => {
    for (const action of ['opened', 'edited', 'labeled', 'closed', 'reopened'] as const) {
      const payload = definitions.find((definition) => definition.name === 'issues')?.examples.find((candidate) => candidate.action === action);
      if (!payload) continue;
      expect(githubWebhook.read(await signed('issues', payload), hello)).toEqual({ kind: 'events', events: [{ recordId: '1', type: 'upsert' }] });
    }
  });

  it('reads deleted and transferred issues as deletes', async () => {
    expect(githubWebhook.read(await signed('issues', example('issues', 'deleted')), hello)).toEqual({ kind: 'events', events: [{ recordId: '1', type: 'delete' }] });
    // The transferred example is of octo-org/octo-repo, the repository the issue left.
    expect(githubWebhook.read(await signed('issues', example('issues', 'transferred')), trigger('octo-org/octo-repo'))).toEqual({ kind: 'events', events: [{ recordId: '1', type: 'delete' }] });
  });

  it('ignores comments, a deleted comment included: it is not a deleted issue', async () => {
    const reading = githubWebhook.read(await signed('issue_comment', example('issue_comment', 'deleted')), hello);
    expect(reading).toEqual({ kind: 'ignored', reason: 'a GitHub issue_comment event: comments do not sync, and a comment deleted is not an issue deleted' });
  });

  it('ignores pull requests, other events and other repositories', async () => {
    const onPull = example('issues', 'milestoned', (payload) => Boolean((payload.issue as Record<string, unknown>).pull_request));
    expect(githubWebhook.read(await signed('issues', onPull), hello)).toEqual({ kind: 'ignored', reason: '#2 is a pull request, not an issue' });
    expect(githubWebhook.read(await signed('pull_request', example('pull_request', 'opened')), hello)).toMatchObject({ kind: 'ignored', reason: expect.stringContaining('pull_request') });
    expect(githubWebhook.read(await signed('issues', example('issues', 'opened')), trigger('octo-org/octo-repo'))).toEqual({
      kind: 'ignored',
      reason: 'an issues event of Codertocat/Hello-World, while this trigger syncs octo-org/octo-repo',
    });
    // Owner and repository names are not case-sensitive on GitHub.
    expect(githubWebhook.read(await signed('issues', example('issues', 'opened')), trigger('codertocat/hello-world'))).toMatchObject({ kind: 'events' });
  });

  it('reads form-encoded deliveries like JSON ones', async () => {
    expect(githubWebhook.read(await signed('issues', example('issues', 'deleted'), { form: true }), hello)).toEqual({ kind: 'events', events: [{ recordId: '1', type: 'delete' }] });
  });

  it('says what is wrong with a delivery it cannot read', async () => {
    expect(githubWebhook.read(delivery('{}', {}), hello)).toEqual({ kind: 'invalid', message: 'X-GitHub-Event is missing: this is not a GitHub webhook delivery', path: '' });
    expect(githubWebhook.read(delivery('not json', { 'X-GitHub-Event': 'issues', 'Content-Type': 'application/json' }), hello)).toMatchObject({ kind: 'invalid', message: expect.stringMatching(/^the body is not JSON/) });
    expect(githubWebhook.read(delivery('nothing=here', { 'X-GitHub-Event': 'issues', 'Content-Type': 'application/x-www-form-urlencoded' }), hello)).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('"payload" field'),
    });
    const withoutNumber = { ...example('issues', 'opened'), issue: { title: 'no number' } };
    expect(githubWebhook.read(await signed('issues', withoutNumber), hello)).toEqual({ kind: 'invalid', message: 'an issues event carries the issue number', path: 'issue.number' });
  });
});

describe('deliveries from the GitHub fake', () => {
  let repository: FakeRepository | undefined;
  let closeReceiver: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await repository?.fake.close();
    await closeReceiver?.();
    repository = undefined;
    closeReceiver = undefined;
  });

  it('verifies and reads what GitHub sends to a hook, in both content types', async () => {
    repository = await startFakeRepository();
    const { fake } = repository;
    const received: Array<{ headers: IncomingHttpHeaders; body: Buffer }> = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    closeReceiver = () => new Promise<void>((resolve) => receiver.close(() => resolve()));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/flow/issues`;
    const octokit = new Octokit({ auth: testToken, baseUrl: fake.url, log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} } });
    for (const contentType of ['json', 'form'] as const) {
      await octokit.rest.repos.createWebhook({ owner: fake.owner, repo: fake.repo, events: ['issues', 'issue_comment'], config: { url: `${url}?${contentType}`, content_type: contentType, secret } });
    }
    const number = fake.human.createIssue({ title: 'From the browser' });
    fake.human.editIssue(number, { state: 'closed' });
    fake.human.deleteIssue(number);
    await fake.webhooks.settled();

    const config = trigger(`${fake.owner}/${fake.repo}`);
    const readings = received.map(({ headers, body }) => {
      const incoming: WebhookDelivery = { method: 'POST', url: '/hooks/flow/node', body, header: (name) => [headers[name.toLowerCase()]].flat()[0] };
      expect(githubWebhook.verify(incoming, secret, now)).toBeNull();
      expect(githubWebhook.verify(incoming, 'not the secret', now)).not.toBeNull();
      return [headers['content-type'], githubWebhook.deliveryId(incoming), githubWebhook.read(incoming, config)] as const;
    });
    // Two hooks, each pinged on creation, then opened, closed and deleted; each delivery once per hook, same GUID.
    expect(readings).toHaveLength(8);
    for (const contentType of ['application/json', 'application/x-www-form-urlencoded']) {
      expect(readings.filter(([type]) => type === contentType).map(([, , reading]) => reading)).toEqual([
        { kind: 'ping' },
        { kind: 'events', events: [{ recordId: String(number), type: 'upsert' }] },
        { kind: 'events', events: [{ recordId: String(number), type: 'upsert' }] },
        { kind: 'events', events: [{ recordId: String(number), type: 'delete' }] },
      ]);
    }
    const ids = readings.filter(([, , reading]) => reading.kind === 'events').map(([, id]) => id);
    expect(new Set(ids).size).toBe(3);
  });
});
