import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import type { ZendeskFake } from '../../../test/fakes/zendesk/server';
import { contextFor, startFake } from './fakeAccount';
import { subscriptionsByCollection } from './hooks';
import { zendeskConnector } from './index';

// Registration through Zendesk's Webhooks API on the fake: what an admin would otherwise set up in Admin Center.

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let fake: ZendeskFake;
let receiver: Server;
let received: Received[];
let endpoint: string;

const webhook = zendeskConnector.webhook;

function context(collection = 'tickets') {
  const base = contextFor(fake, collection);
  const config = triggerConfigSchema.parse({ ...base.config, detect: { mode: 'webhook', secret: { credential: 'zendesk-signing' } } });
  return { ...base, config };
}

/** The account's webhooks, as "List Webhooks" shows them to an admin. */
async function listed(): Promise<Array<{ id: string; endpoint: string; subscriptions: string[] }>> {
  const response = await fetch(`${fake.url}/api/v2/webhooks`, { headers: { authorization: fake.auth.apiToken } });
  return ((await response.json()) as { webhooks: Array<{ id: string; endpoint: string; subscriptions: string[] }> }).webhooks;
}

beforeEach(async () => {
  fake = await startFake();
  received = [];
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/helpdesk/zendesk`;
});

afterEach(async () => {
  await fake.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe('registering the webhook of a zendesk trigger', () => {
  it("creates one webhook for the collection's events and returns the secret Zendesk signs with", async () => {
    expect(webhook.generatesSecret).toBe(true);
    const answer = await webhook.register!(context(), { url: endpoint, secret: null });
    const [created, ...others] = await listed();
    expect(others).toEqual([]);
    expect(created).toMatchObject({ endpoint, subscriptions: [...subscriptionsByCollection.tickets!] });
    expect(answer).toEqual({ secret: fake.webhooks.signingSecret(created!.id) });

    // Zendesk's own deliveries verify with the returned secret.
    const id = Number(fake.seedTicket({ subject: 'S', description: 'x' }).id);
    fake.clock.advance(1);
    fake.agentUpdateTicket(id, { status: 'pending' });
    await fake.webhooks.idle();
    const [entry] = received;
    expect(entry).toBeDefined();
    const delivery = { method: 'POST', url: '/hooks/helpdesk/zendesk', body: new Uint8Array(entry!.body), header: (name: string) => [entry!.headers[name.toLowerCase()]].flat()[0] };
    expect(webhook.verify(delivery, (answer as { secret: string }).secret, fake.clock.now())).toBeNull();
  });

  it('registers again without a second webhook, mending subscriptions changed by hand', async () => {
    const first = await webhook.register!(context(), { url: endpoint, secret: null });
    const [original] = await listed();
    await fetch(`${fake.url}/api/v2/webhooks/${original!.id}`, {
      method: 'PUT',
      headers: { authorization: fake.auth.apiToken, 'content-type': 'application/json' },
      body: JSON.stringify({ webhook: { name: 'edited', endpoint, subscriptions: ['zen:event-type:ticket.comment_added'] } }),
    });
    const again = await webhook.register!(context(), { url: endpoint, secret: (first as { secret: string }).secret });
    const after = await listed();
    expect(after.map((entry) => entry.id)).toEqual([original!.id]);
    expect(after[0]!.subscriptions).toEqual([...subscriptionsByCollection.tickets!]);
    expect(again).toEqual(first);
  });

  it('subscribes a users trigger to user events, one for each synced field', async () => {
    await webhook.register!(context('users'), { url: endpoint, secret: null });
    const subscribed = (await listed())[0]!.subscriptions;
    expect(subscribed).toEqual([...subscriptionsByCollection.users!]);
    // email and phone are identities, organization_id a membership, tags and suspended events of their own: a
    // webhook trigger is not polled, so a change no event names would wait for another change of the user.
    for (const type of ['name_changed', 'identity_created', 'identity_changed', 'identity_deleted', 'organization_membership_created', 'organization_membership_deleted', 'tags_changed', 'suspended_changed', 'role_changed', 'external_id_changed', 'notes_changed', 'details_changed']) {
      expect(subscribed).toContain(`zen:event-type:user.${type}`);
    }
  });

  it("removes only the webhook that sends to the trigger's URL, and removing twice is fine", async () => {
    await webhook.register!(context(), { url: endpoint, secret: null });
    await webhook.register!(context(), { url: `${endpoint}-other`, secret: null });
    await webhook.unregister!(context(), endpoint);
    await webhook.unregister!(context(), endpoint);
    expect((await listed()).map((entry) => entry.endpoint)).toEqual([`${endpoint}-other`]);
  });
});
