import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema, type TriggerConfig } from '../../../nodes/trigger/schema';
import type { HubSpotFake } from '../../../test/fakes/hubspot/server';
import type { WebhookDelivery } from '../types';
import { startFake } from './fakeAccount';
import { calledUrl, hubspotWebhook, signHubSpotWebhook } from './webhook';

// Deliveries as the HubSpot fake sends them (test/fakes/hubspot/webhooks.ts): signed v3 for the app's target URL,
// batches of events for every subscription of the app, retried with attemptNumber + 1.

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let fake: HubSpotFake;
let receiver: Server;
let received: Received[];
let status: number;
/** Where the HubSpot app sends its webhooks: the runtime's public https address, in front of the receiver. */
const targetUrl = 'https://sync.example.com/hooks/leads/crm';

const trigger = (collection: string): TriggerConfig =>
  triggerConfigSchema.parse({ connector: 'hubspot', connection: {}, collection, key: 'id', detect: { mode: 'webhook', secret: { credential: 'hubspot-client-secret' } } });

function delivery(entry: Received, change: { body?: Buffer; headers?: Record<string, string | undefined>; method?: string; url?: string } = {}): WebhookDelivery {
  const headers = { ...entry.headers, ...change.headers };
  return {
    method: change.method ?? entry.method,
    url: change.url ?? entry.url,
    body: new Uint8Array(change.body ?? entry.body),
    header: (name) => [headers[name.toLowerCase()]].flat()[0] ?? undefined,
  };
}

beforeEach(async () => {
  fake = await startFake();
  received = [];
  status = 200;
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  fake.webhooks.configure({
    targetUrl,
    connectTo: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    subscriptions: [
      { subscriptionType: 'contact.creation' },
      { subscriptionType: 'contact.propertyChange', propertyName: 'email' },
      { subscriptionType: 'contact.deletion' },
      { subscriptionType: 'company.creation' },
    ],
  });
});
afterEach(async () => {
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await fake.close();
});

const now = () => fake.clock.now();
const secret = () => fake.webhooks.clientSecret;

describe('the v3 signature', () => {
  it('accepts a delivery as HubSpot signed it, for the URL rebuilt from Host', async () => {
    fake.personCreate('contacts', { email: 'a@example.com' });
    await fake.webhooks.flush();
    const [entry] = received;
    expect(calledUrl(delivery(entry!))).toBe(targetUrl);
    expect(hubspotWebhook.verify(delivery(entry!), secret(), now())).toBeNull();
  });

  it('refuses another secret, a changed body, a missing signature, and a v1 signature alone', async () => {
    fake.personCreate('contacts', { email: 'a@example.com' });
    await fake.webhooks.flush();
    const entry = received[0] as Received;
    expect(hubspotWebhook.verify(delivery(entry), 'another-secret', now())).toMatch(/X-HubSpot-Signature-v3 does not match for https:\/\/sync\.example\.com\/hooks\/leads\/crm/);
    expect(hubspotWebhook.verify(delivery(entry, { body: Buffer.from(entry.body.toString().replace('a@example.com', 'b@example.com')) }), secret(), now())).toMatch(/does not match/);
    expect(hubspotWebhook.verify(delivery(entry, { headers: { 'x-hubspot-signature-v3': undefined } }), secret(), now())).toMatch(/missing \(this delivery has only the older X-HubSpot-Signature/);
  });

  it('refuses a timestamp more than five minutes old', async () => {
    fake.personCreate('contacts', { email: 'a@example.com' });
    await fake.webhooks.flush();
    const entry = received[0] as Received;
    const later = new Date(now().getTime() + 5 * 60_000 + 1);
    expect(hubspotWebhook.verify(delivery(entry), secret(), later)).toMatch(/X-HubSpot-Request-Timestamp is 5 minutes old/);
    expect(hubspotWebhook.verify(delivery(entry), secret(), new Date(now().getTime() + 4 * 60_000))).toBeNull();
  });

  it('refuses a delivery for another URL: another path, host or scheme', async () => {
    fake.personCreate('contacts', { email: 'a@example.com' });
    await fake.webhooks.flush();
    const entry = received[0] as Received;
    expect(hubspotWebhook.verify(delivery(entry, { url: '/hooks/leads/other' }), secret(), now())).toMatch(/does not match for https:\/\/sync\.example\.com\/hooks\/leads\/other/);
    expect(hubspotWebhook.verify(delivery(entry, { headers: { host: 'evil.example.com' } }), secret(), now())).toMatch(/does not match/);
    expect(hubspotWebhook.verify(delivery(entry, { headers: { 'x-forwarded-proto': 'http' } }), secret(), now())).toMatch(/does not match for http:/);
  });

  it('takes the host and scheme a proxy forwards, and decodes the escapes HubSpot lists in the URL', async () => {
    const body = '[{"objectId":1,"subscriptionType":"contact.creation"}]';
    const timestamp = String(now().getTime());
    // HubSpot called https://public.example.com/hooks/a%2Cb?x=%3A%20 — signed with %2C and %3A decoded, %20 kept.
    const signature = signHubSpotWebhook(secret(), 'POST', 'https://public.example.com/hooks/a,b?x=:%20', body, timestamp);
    const proxied: WebhookDelivery = {
      method: 'POST',
      url: '/hooks/a%2Cb?x=%3A%20',
      body: new TextEncoder().encode(body),
      header: (name) =>
        ({ host: '10.0.0.5:4777', 'x-forwarded-host': 'public.example.com', 'x-forwarded-proto': 'https', 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': timestamp })[name.toLowerCase()],
    };
    expect(hubspotWebhook.verify(proxied, secret(), now())).toBeNull();
  });
});

describe('reading the events', () => {
  it("takes the collection's events and leaves the others' out", async () => {
    const contact = fake.personCreate('contacts', { email: 'a@example.com' });
    fake.personUpdate('contacts', contact, { email: 'b@example.com' });
    fake.personCreate('companies', { name: 'Acme' });
    const gone = fake.personCreate('contacts', { email: 'gone@example.com' });
    fake.personArchive('contacts', gone);
    await fake.webhooks.flush();
    const entry = delivery(received[0] as Received);
    expect(hubspotWebhook.read(entry, trigger('contacts'))).toEqual({
      kind: 'events',
      events: [
        { recordId: contact, type: 'upsert' },
        { recordId: contact, type: 'upsert' },
        { recordId: contact, type: 'upsert' },
        { recordId: gone, type: 'upsert' },
        { recordId: gone, type: 'upsert' },
        { recordId: gone, type: 'delete' },
      ],
    });
    const companies = hubspotWebhook.read(entry, trigger('companies'));
    expect(companies).toMatchObject({ kind: 'events', events: [{ type: 'upsert' }] });
  });

  it('ignores a batch with nothing about the collection, and refuses what is not a HubSpot batch', () => {
    const of = (body: string): WebhookDelivery => ({ method: 'POST', url: '/hooks/f/n', body: new TextEncoder().encode(body), header: () => undefined });
    expect(hubspotWebhook.read(of('[{"objectId":5,"subscriptionType":"deal.creation"}]'), trigger('contacts'))).toEqual({ kind: 'ignored', reason: 'deal.creation events are not about contacts' });
    expect(hubspotWebhook.read(of('{"objectId":5}'), trigger('contacts'))).toMatchObject({ kind: 'invalid', message: expect.stringContaining('JSON array') });
    expect(hubspotWebhook.read(of('[{"subscriptionType":"contact.creation"}]'), trigger('contacts'))).toMatchObject({ kind: 'invalid', path: '[0].objectId' });
    expect(hubspotWebhook.read(of('not json'), trigger('contacts'))).toMatchObject({ kind: 'invalid' });
  });

  it('reads merges, restores, privacy deletions and the generic object events', () => {
    const of = (events: unknown[]): WebhookDelivery => ({ method: 'POST', url: '/hooks/f/n', body: new TextEncoder().encode(JSON.stringify(events)), header: () => undefined });
    const reading = hubspotWebhook.read(
      of([
        { subscriptionType: 'contact.merge', objectId: 10, primaryObjectId: 10, mergedObjectIds: [11, 12], newObjectId: 10 },
        { subscriptionType: 'contact.restore', objectId: 13 },
        { subscriptionType: 'contact.privacyDeletion', objectId: 14 },
        { subscriptionType: 'object.propertyChange', objectTypeId: '0-1', objectId: 15 },
        { subscriptionType: 'object.creation', objectTypeId: '0-2', objectId: 16 },
        { eventType: 'contact.deletion', objectId: 17 },
        // A merge that made a new object: both the primary and the merged one are gone.
        { subscriptionType: 'contact.merge', objectId: 18, primaryObjectId: 18, mergedObjectIds: [19], newObjectId: 20 },
      ]),
      trigger('contacts'),
    );
    expect(reading).toEqual({
      kind: 'events',
      events: [
        { recordId: '10', type: 'upsert' },
        { recordId: '11', type: 'delete' },
        { recordId: '12', type: 'delete' },
        { recordId: '13', type: 'upsert' },
        { recordId: '14', type: 'delete' },
        { recordId: '15', type: 'upsert' },
        { recordId: '17', type: 'delete' },
        { recordId: '20', type: 'upsert' },
        { recordId: '18', type: 'delete' },
        { recordId: '19', type: 'delete' },
      ],
    });
  });
});

describe('the delivery id', () => {
  it('is the same on a retry of the batch (attemptNumber aside) and differs between batches', async () => {
    fake.personCreate('contacts', { email: 'a@example.com' });
    status = 503;
    await fake.webhooks.flush();
    status = 200;
    await fake.webhooks.retryFailed();
    fake.personCreate('contacts', { email: 'b@example.com' });
    await fake.webhooks.flush();
    const [first, retry, other] = received.map((entry) => hubspotWebhook.deliveryId(delivery(entry)));
    expect(JSON.parse((received[1] as Received).body.toString())[0].attemptNumber).toBe(1);
    expect(first).toMatch(/^hubspot-[0-9a-f]{64}$/);
    expect(retry).toBe(first);
    expect(other).not.toBe(first);
    // Each a genuine delivery, signed afresh.
    for (const entry of received) expect(hubspotWebhook.verify(delivery(entry), secret(), now())).toBeNull();
  });
});
