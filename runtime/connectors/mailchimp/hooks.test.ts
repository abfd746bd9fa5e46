import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import type { MailchimpFake } from '../../../test/fakes/mailchimp/server';
import type { ConnectorContext } from '../types';
import { mailchimpWebhook } from './index';
import { connectionFor, contextFor, startFake } from './test-support';

// Registering the audience webhook a deployed flow needs, by URL, as often as the runtime asks.

let fake: MailchimpFake;
let receiver: Server;
let answerGet: number;
let base: string;
let context: ConnectorContext;

beforeEach(async () => {
  fake = await startFake();
  answerGet = 200;
  receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(request.method === 'GET' ? answerGet : 200).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/leads/mailchimp`;
  context = {
    ...contextFor(fake),
    config: triggerConfigSchema.parse({ connector: 'mailchimp', connection: connectionFor(fake), collection: 'members', key: 'id', detect: { mode: 'webhook', secret: { credential: 'hook' } } }),
  };
});

afterEach(async () => {
  await fake.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

const hooks = () => [...fake.list.webhooks.values()];
const register = mailchimpWebhook.register as NonNullable<typeof mailchimpWebhook.register>;
const unregister = mailchimpWebhook.unregister as NonNullable<typeof mailchimpWebhook.unregister>;

describe('register', () => {
  it('adds one webhook with the secret in its URL, every member event from every source; again changes nothing', async () => {
    await register(context, { url: base, secret: 's1' });
    expect(hooks()).toEqual([
      {
        id: expect.any(String),
        url: `${base}?secret=s1`,
        events: { subscribe: true, unsubscribe: true, profile: true, cleaned: true, upemail: true, campaign: false },
        sources: { user: true, admin: true, api: true },
      },
    ]);
    expect(fake.webhooks.checks).toEqual([{ url: `${base}?secret=s1`, status: 200 }]);
    await register(context, { url: base, secret: 's1' });
    expect(hooks()).toHaveLength(1);
    expect(fake.countRequests('POST /lists/{list_id}/webhooks')).toBe(1);
    expect(fake.countRequests('PATCH /lists/{list_id}/webhooks/{webhook_id}')).toBe(0);
  });

  it('updates the one webhook when the secret changed, and removes copies of it', async () => {
    await register(context, { url: base, secret: 's1' });
    const [original] = hooks();
    // A copy made by hand in Mailchimp's web app, with an old secret.
    await fetch(`${fake.url}/3.0/lists/${fake.list.id}/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${fake.oauthToken}` }, body: JSON.stringify({ url: `${base}?secret=old` }) });
    expect(hooks()).toHaveLength(2);
    await register(context, { url: base, secret: 's2' });
    expect(hooks()).toEqual([expect.objectContaining({ id: original?.id, url: `${base}?secret=s2` })]);
    expect(fake.countRequests('PATCH /lists/{list_id}/webhooks/{webhook_id}')).toBe(1);
  });

  it('says why when Mailchimp cannot check the URL', async () => {
    answerGet = 404;
    await expect(register(context, { url: base, secret: 's1' })).rejects.toThrow(/Mailchimp refused to add a webhook to the audience: POST \/3\.0\/lists\/a1b2c3d4e5\/webhooks: 400 — Invalid Resource .*Mailchimp checks a webhook URL with a GET before it saves it/);
    expect(hooks()).toEqual([]);
  });
});

describe('unregister', () => {
  it('removes the webhook by its URL whatever its secret, leaves others, and is quiet when there is none', async () => {
    await register(context, { url: base, secret: 's1' });
    const other = `${base.replace('/leads/', '/other/')}?secret=x`;
    await fetch(`${fake.url}/3.0/lists/${fake.list.id}/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${fake.oauthToken}` }, body: JSON.stringify({ url: other }) });
    await unregister(context, base);
    expect(hooks().map((hook) => hook.url)).toEqual([other]);
    await unregister(context, base);
    expect(hooks().map((hook) => hook.url)).toEqual([other]);
  });
});
