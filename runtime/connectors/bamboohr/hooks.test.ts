import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import type { BambooHrFake } from '../../../test/fakes/bamboohr/server';
import { contextFor, startFake } from './fakeCompany';
import { bambooHrConnector } from './index';

// Registration through BambooHR's webhooks API on the fake, instead of an admin's setup in BambooHR's settings.

let fake: BambooHrFake;
let receiver: Server;
let endpoint: string;

const webhook = bambooHrConnector.webhook;

function context() {
  const base = contextFor(fake);
  return { ...base, config: triggerConfigSchema.parse({ ...base.config, detect: { mode: 'webhook', secret: { credential: 'bamboohr-hook' } } }) };
}

async function listed(): Promise<Array<{ id: string; url: string }>> {
  const response = await fetch(`${fake.url}/api/v1/webhooks`, { headers: { authorization: fake.authorization, accept: 'application/json' } });
  return ((await response.json()) as { webhooks: Array<{ id: string; url: string }> }).webhooks;
}

beforeEach(async () => {
  fake = await startFake({ allowHttpWebhookTargets: true });
  receiver = createServer((_request, response) => response.writeHead(200).end());
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/hr/bamboohr`;
});

afterEach(async () => {
  await fake.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe('registering the webhook of a bamboohr trigger', () => {
  it('creates one webhook and returns the private key BambooHR made, which its deliveries are signed with', async () => {
    expect(webhook.generatesSecret).toBe(true);
    const answer = (await webhook.register!(context(), { url: endpoint, secret: null })) as { secret: string };
    const [created, ...others] = await listed();
    expect(others).toEqual([]);
    expect(created?.url).toBe(endpoint);
    expect(answer.secret).toBe(fake.webhooks.privateKey(String(created!.id)));

    fake.hire({ firstName: 'Ada', lastName: 'Lovelace', department: 'Engineering' });
    await fake.webhooks.idle();
    const delivery = fake.webhooks.deliveries[0];
    expect(delivery).toBeDefined();
    const incoming = { method: 'POST', url: '/hooks/hr/bamboohr', body: new TextEncoder().encode(delivery!.body), header: (name: string) => delivery!.headers[Object.keys(delivery!.headers).find((key) => key.toLowerCase() === name.toLowerCase()) ?? ''] };
    expect(webhook.verify(incoming, answer.secret, fake.clock.now())).toBeNull();
  });

  it('keeps the webhook while the runtime holds its key, and makes a new one when the key was lost', async () => {
    const first = (await webhook.register!(context(), { url: endpoint, secret: null })) as { secret: string };
    const [original] = await listed();
    expect(await webhook.register!(context(), { url: endpoint, secret: first.secret })).toEqual(first);
    expect((await listed()).map((entry) => entry.id)).toEqual([original!.id]);

    // BambooHR shows a key only when it creates the webhook: without it, the only way to a key is a new webhook.
    const again = (await webhook.register!(context(), { url: endpoint, secret: null })) as { secret: string };
    const now = await listed();
    expect(now).toHaveLength(1);
    expect(now[0]!.id).not.toBe(original!.id);
    expect(again.secret).toBe(fake.webhooks.privateKey(String(now[0]!.id)));
  });

  it("removes only the webhook that sends to the trigger's URL, and removing twice is fine", async () => {
    await webhook.register!(context(), { url: endpoint, secret: null });
    await webhook.register!(context(), { url: `${endpoint}-other`, secret: null });
    await webhook.unregister!(context(), endpoint);
    await webhook.unregister!(context(), endpoint);
    expect((await listed()).map((entry) => entry.url)).toEqual([`${endpoint}-other`]);
  });
});
