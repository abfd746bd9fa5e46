import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema, type TriggerConfig } from '../../../nodes/trigger/schema';
import type { MailchimpFake } from '../../../test/fakes/mailchimp/server';
import type { Delivery } from '../../../test/fakes/mailchimp/webhooks';
import type { WebhookDelivery } from '../types';
import { mailchimpWebhook, subscriberHash } from './index';
import { startFake } from './test-support';

// Deliveries as the Mailchimp fake sends them (test/fakes/mailchimp/webhooks.ts): form-encoded, unsigned, to a URL
// that carries the trigger's secret.

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const secret = 'hook-secret-123';
let fake: MailchimpFake;
let receiver: Server;
let received: Received[];
let trigger: TriggerConfig;

function delivery(entry: Received, override: Partial<Pick<WebhookDelivery, 'url' | 'method'>> & { body?: Buffer } = {}): WebhookDelivery {
  return { method: override.method ?? entry.method, url: override.url ?? entry.url, body: new Uint8Array(override.body ?? entry.body), header: (name) => [entry.headers[name.toLowerCase()]].flat()[0] };
}

async function posts(): Promise<Received[]> {
  await fake.webhooks.idle();
  return received.filter((entry) => entry.method === 'POST');
}

beforeEach(async () => {
  fake = await startFake();
  received = [];
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/flow/mailchimp?secret=${secret}`;
  const created = await fetch(`${fake.url}/3.0/lists/${fake.list.id}/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${fake.oauthToken}` }, body: JSON.stringify({ url }) });
  expect(created.status).toBe(200);
  trigger = triggerConfigSchema.parse({
    connector: 'mailchimp',
    connection: { baseUrl: fake.url, list: fake.list.id, auth: { credential: 'mailchimp-key' } },
    collection: 'members',
    key: 'id',
    detect: { mode: 'webhook', secret: { credential: 'mailchimp-hook-secret' } },
  });
});

afterEach(async () => {
  await fake.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe('verify: the secret in the URL', () => {
  it("accepts Mailchimp's GET check and its deliveries to the URL with the secret; refuses another secret or none", async () => {
    const [check] = received;
    expect(check).toMatchObject({ method: 'GET', url: `/hooks/flow/mailchimp?secret=${secret}` });
    expect(mailchimpWebhook.verify(delivery(check as Received), secret, new Date())).toBeNull();
    expect(mailchimpWebhook.read(delivery(check as Received), trigger)).toEqual({ kind: 'ping' });

    fake.person.subscribe({ email_address: 'new@example.com' });
    const [sent] = await posts();
    expect(mailchimpWebhook.verify(delivery(sent as Received), secret, new Date())).toBeNull();
    expect(mailchimpWebhook.verify(delivery(sent as Received), 'another-secret', new Date())).toMatch(/^the secret parameter of the URL is not the trigger's secret/);
    expect(mailchimpWebhook.verify(delivery(sent as Received, { url: '/hooks/flow/mailchimp' }), secret, new Date())).toMatch(/^the URL has no secret parameter: Mailchimp signs nothing/);
    expect(mailchimpWebhook.verify(delivery(sent as Received, { url: `/hooks/flow/mailchimp?secret=${secret}x` }), secret, new Date())).not.toBeNull();
  });
});

describe('read: form-encoded events', () => {
  it('reads subscribe, profile, unsubscribe, cleaned as upserts of the member the address names, and an archive as a delete', async () => {
    const member = fake.seedMember({ email_address: 'Ann@Example.com', merge_fields: { FNAME: 'Ann' } });
    fake.person.subscribe({ email_address: 'bo@example.com', merge_fields: { FNAME: 'Bo' } });
    fake.person.edit(member.id, { merge_fields: { FNAME: 'Annie' } });
    fake.person.unsubscribe(member.id);
    fake.person.clean(subscriberHash('bo@example.com'));
    fake.person.archive(member.id);
    const events = (await posts()).map((entry) => {
      expect(entry.headers['content-type']).toBe('application/x-www-form-urlencoded');
      return [new URLSearchParams(entry.body.toString('utf8')).get('type'), mailchimpWebhook.read(delivery(entry), trigger)];
    });
    expect(events).toEqual([
      ['subscribe', { kind: 'events', events: [{ recordId: subscriberHash('bo@example.com'), type: 'upsert' }] }],
      ['profile', { kind: 'events', events: [{ recordId: member.id, type: 'upsert' }] }],
      ['unsubscribe', { kind: 'events', events: [{ recordId: member.id, type: 'upsert' }] }],
      ['cleaned', { kind: 'events', events: [{ recordId: subscriberHash('bo@example.com'), type: 'upsert' }] }],
      ['unsubscribe', { kind: 'events', events: [{ recordId: member.id, type: 'delete' }] }],
    ]);
  });

  it('reads an address change as the old member gone and a new one', async () => {
    const member = fake.seedMember({ email_address: 'old.address@example.com' });
    fake.person.changeEmail(member.id, 'New.Address@example.com');
    const [changed] = await posts();
    expect(mailchimpWebhook.read(delivery(changed as Received), trigger)).toEqual({
      kind: 'events',
      events: [
        { recordId: subscriberHash('old.address@example.com'), type: 'delete' },
        { recordId: subscriberHash('new.address@example.com'), type: 'upsert' },
      ],
    });
  });

  it('ignores campaign events and other audiences, and says what is wrong with a body it cannot read', async () => {
    fake.person.subscribe({ email_address: 'x@example.com' });
    const [entry] = (await posts()) as [Received];
    // The legacy "Sample data" of a campaign event.
    const campaign = Buffer.from('type=campaign&fired_at=2009-03-26+21%3A31%3A21&data%5Bid%5D=5aa2102003&data%5Bsubject%5D=Test+Campaign+Subject&data%5Bstatus%5D=sent&data%5Breason%5D=&data%5Blist_id%5D=a1b2c3d4e5');
    expect(mailchimpWebhook.read(delivery(entry, { body: campaign }), trigger)).toEqual({ kind: 'ignored', reason: 'a campaign event is about a campaign, not a member' });
    const elsewhere = Buffer.from(entry.body.toString('utf8').replace(`data%5Blist_id%5D=${fake.list.id}`, 'data%5Blist_id%5D=ffffffffff'));
    expect(mailchimpWebhook.read(delivery(entry, { body: elsewhere }), trigger)).toEqual({ kind: 'ignored', reason: `a subscribe event of audience ffffffffff, not ${fake.list.id}` });
    expect(mailchimpWebhook.read(delivery(entry, { body: Buffer.from('type=subscribe&data%5Blist_id%5D=a1b2c3d4e5') }), trigger)).toEqual({ kind: 'invalid', message: "a subscribe event must name the member's address", path: 'data[email]' });
    expect(mailchimpWebhook.read(delivery(entry, { body: Buffer.from('fired_at=now') }), trigger)).toMatchObject({ kind: 'invalid', path: 'type' });
    const json = { ...delivery(entry), header: (name: string) => (name === 'content-type' ? 'application/json' : undefined) };
    expect(mailchimpWebhook.read(json, trigger)).toMatchObject({ kind: 'invalid', message: 'Mailchimp sends webhooks as application/x-www-form-urlencoded, not application/json' });
  });
});

describe('delivery ids', () => {
  it("are the body's digest: a redelivery, the same body, is the same delivery; another event is another", async () => {
    fake.person.subscribe({ email_address: 'y@example.com' });
    fake.person.unsubscribe('y@example.com');
    const [first] = fake.webhooks.deliveries;
    fake.webhooks.redeliver(first as Delivery);
    const [subscribe, unsubscribe, again] = (await posts()) as [Received, Received, Received];
    expect(mailchimpWebhook.deliveryId(delivery(again))).toBe(mailchimpWebhook.deliveryId(delivery(subscribe)));
    expect(mailchimpWebhook.deliveryId(delivery(subscribe))).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(mailchimpWebhook.deliveryId(delivery(unsubscribe))).not.toBe(mailchimpWebhook.deliveryId(delivery(subscribe)));
  });
});
