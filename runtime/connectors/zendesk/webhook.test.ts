import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema, type TriggerConfig } from '../../../nodes/trigger/schema';
import type { ZendeskFake } from '../../../test/fakes/zendesk/server';
import type { WebhookDelivery } from '../types';
import { startFake } from './fakeAccount';
import { signZendeskWebhook, zendeskWebhook } from './webhook';

// Deliveries as the Zendesk fake sends them (test/fakes/zendesk/webhooks.ts): signed, retried with the same
// invocation id, one event a request.

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let fake: ZendeskFake;
let receiver: Server;
let received: Received[];
let webhookId: string;
let secret: string;

const ticketsTrigger = config('tickets');

function config(collection: string): TriggerConfig {
  return triggerConfigSchema.parse({
    connector: 'zendesk',
    connection: {},
    collection,
    key: 'id',
    detect: { mode: 'webhook', secret: { credential: 'zendesk-signing-secret' } },
  });
}

function delivery(entry: Received, body: Buffer = entry.body): WebhookDelivery {
  return { method: 'POST', url: '/hooks/flow/node', body: new Uint8Array(body), header: (name) => [entry.headers[name.toLowerCase()]].flat()[0] };
}

/** The deliveries after everything the fake was sending has arrived. */
async function delivered(): Promise<Received[]> {
  await fake.webhooks.idle();
  return received;
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
  // Create Webhook, subscribed to ticket events, as an admin would in Admin Center.
  const response = await fetch(`${fake.url}/api/v2/webhooks.json`, {
    method: 'POST',
    headers: { authorization: fake.auth.apiToken, 'content-type': 'application/json' },
    body: JSON.stringify({
      webhook: {
        name: 'Syncline',
        endpoint: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/flow/zendesk`,
        http_method: 'POST',
        request_format: 'json',
        status: 'active',
        subscriptions: ['zen:event-type:ticket.created', 'zen:event-type:ticket.status_changed', 'zen:event-type:ticket.soft_deleted', 'zen:event-type:ticket.comment_added'],
      },
    }),
  });
  webhookId = String(((await response.json()) as { webhook: { id: string } }).webhook.id);
  secret = fake.webhooks.signingSecret(webhookId);
});

afterEach(async () => {
  await fake.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe('verify', () => {
  it("accepts Zendesk's own signed deliveries and reads a ticket event as an upsert of that ticket", async () => {
    const id = Number(fake.seedTicket({ subject: 'S', description: 'x' }).id);
    fake.clock.advance(1);
    fake.agentUpdateTicket(id, { status: 'pending' });
    const [entry] = await delivered();
    expect(entry).toBeDefined();
    const event = delivery(entry as Received);
    expect(zendeskWebhook.verify(event, secret, fake.clock.now())).toBeNull();
    expect(zendeskWebhook.deliveryId(event)).toBe(fake.webhooks.invocations[0]?.invocationId);
    expect(zendeskWebhook.read(event, ticketsTrigger)).toEqual({ kind: 'events', events: [{ recordId: String(id), type: 'upsert' }] });
  });

  it('refuses a changed body, a wrong secret, an old or missing timestamp, each saying what was wrong', async () => {
    const id = Number(fake.seedTicket({ subject: 'S', description: 'x' }).id);
    fake.agentUpdateTicket(id, { status: 'open' });
    const [entry] = (await delivered()) as [Received];
    const now = fake.clock.now();

    const tampered = Buffer.from(entry.body.toString('utf8').replace(`"id":"${id}"`, `"id":"${id + 1}"`));
    expect(tampered.equals(entry.body)).toBe(false);
    expect(zendeskWebhook.verify(delivery(entry, tampered), secret, now)).toMatch(/^X-Zendesk-Webhook-Signature does not match: it must be the base64 HMAC-SHA256 of X-Zendesk-Webhook-Signature-Timestamp followed by the raw body/);
    expect(zendeskWebhook.verify(delivery(entry), 'someone-elses-secret', now)).toContain('X-Zendesk-Webhook-Signature does not match');

    const sixMinutesLater = new Date(now.getTime() + 6 * 60_000);
    expect(zendeskWebhook.verify(delivery(entry), secret, sixMinutesLater)).toMatch(/X-Zendesk-Webhook-Signature-Timestamp \S+ is 6 minutes old; deliveries are accepted within 5 minutes of their timestamp/);
    expect(zendeskWebhook.verify(delivery(entry), secret, new Date(now.getTime() - 6 * 60_000))).toContain('6 minutes in the future');
    // Within the five minutes it is still the genuine delivery.
    expect(zendeskWebhook.verify(delivery(entry), secret, new Date(now.getTime() + 4 * 60_000))).toBeNull();

    const unsigned: Received = { headers: { ...entry.headers, 'x-zendesk-webhook-signature': undefined }, body: entry.body };
    expect(zendeskWebhook.verify(delivery(unsigned), secret, now)).toContain('X-Zendesk-Webhook-Signature is missing');
    const undated: Received = { headers: { ...entry.headers, 'x-zendesk-webhook-signature-timestamp': undefined }, body: entry.body };
    expect(zendeskWebhook.verify(delivery(undated), secret, now)).toContain('X-Zendesk-Webhook-Signature-Timestamp is missing');
  });

  it('a signature made the documented way verifies; the same with a re-signed timestamp does not pass as the old one', async () => {
    const body = JSON.stringify({ type: 'zen:event-type:ticket.created', detail: { id: '7' } });
    const timestamp = '2024-06-03T12:00:00Z';
    const headers: IncomingHttpHeaders = { 'x-zendesk-webhook-signature': signZendeskWebhook(secret, timestamp, body), 'x-zendesk-webhook-signature-timestamp': timestamp };
    expect(zendeskWebhook.verify(delivery({ headers, body: Buffer.from(body) }), secret, new Date(timestamp))).toBeNull();
    const moved = { ...headers, 'x-zendesk-webhook-signature-timestamp': '2024-06-03T12:00:01Z' };
    expect(zendeskWebhook.verify(delivery({ headers: moved, body: Buffer.from(body) }), secret, new Date(timestamp))).toContain('does not match');
  });
});

describe('delivery ids', () => {
  it('a redelivery carries the same invocation id, with a fresh timestamp and signature that verify', async () => {
    const id = Number(fake.seedTicket({ subject: 'S', description: 'x' }).id);
    fake.agentUpdateTicket(id, { status: 'hold' });
    const [first] = (await delivered()) as [Received];
    fake.clock.advance(30);
    fake.webhooks.redeliver(String(first.headers['x-zendesk-webhook-invocation-id']));
    const [, again] = (await delivered()) as [Received, Received];
    expect(zendeskWebhook.deliveryId(delivery(again))).toBe(zendeskWebhook.deliveryId(delivery(first)));
    expect(again.headers['x-zendesk-webhook-signature-timestamp']).not.toBe(first.headers['x-zendesk-webhook-signature-timestamp']);
    expect(zendeskWebhook.verify(delivery(again), secret, fake.clock.now())).toBeNull();
  });
});

describe('read', () => {
  it('reads a soft delete as a delete, other ticket events as upserts, and ignores events about anything else', async () => {
    const id = Number(fake.seedTicket({ subject: 'S', description: 'x' }).id);
    fake.clock.advance(1);
    fake.agentDeleteTicket(id);
    const [deleted] = (await delivered()) as [Received];
    expect(JSON.parse(deleted.body.toString('utf8'))).toMatchObject({ type: 'zen:event-type:ticket.soft_deleted' });
    expect(zendeskWebhook.read(delivery(deleted), ticketsTrigger)).toEqual({ kind: 'events', events: [{ recordId: String(id), type: 'delete' }] });
    // The same event for a users trigger is about another collection.
    expect(zendeskWebhook.read(delivery(deleted), config('users'))).toMatchObject({ kind: 'ignored' });

    // Bodies of a webhook connected to a trigger: an organization event is ignored; Syncline's own shape is read.
    fake.webhooks.fireTrigger(webhookId, { type: 'zen:event-type:organization.created', detail: { id: '42' } });
    fake.webhooks.fireTrigger(webhookId, { type: 'upsert', id: String(id) });
    fake.webhooks.fireTrigger(webhookId, { type: 'zen:event-type:ticket.status_changed', detail: {} });
    fake.webhooks.fireTrigger(webhookId, 'not json');
    const [, organization, own, noId, notJson] = (await delivered()) as Received[];
    for (const entry of [organization, own, noId, notJson]) expect(zendeskWebhook.verify(delivery(entry as Received), secret, fake.clock.now())).toBeNull();
    expect(zendeskWebhook.read(delivery(organization as Received), ticketsTrigger)).toEqual({ kind: 'ignored', reason: 'a zen:event-type:organization.created event is not about tickets' });
    expect(zendeskWebhook.read(delivery(own as Received), ticketsTrigger)).toEqual({ kind: 'events', events: [{ recordId: String(id), type: 'upsert' }] });
    expect(zendeskWebhook.read(delivery(noId as Received), ticketsTrigger)).toMatchObject({ kind: 'invalid', path: 'detail.id' });
    expect(zendeskWebhook.read(delivery(notJson as Received), ticketsTrigger)).toMatchObject({ kind: 'invalid', message: 'the body is not JSON' });
  });
});
