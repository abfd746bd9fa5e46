import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ConnectorType, ConnectorWebhook } from '../connectors/types';
import { receiveWebhook, type WebhookReceiverDeps } from './receive';

// A system with a webhook scheme of its own, as SaaS connectors declare one: signature over timestamp + body,
// a delivery id header, a handshake and events about other things.
const toyWebhook: ConnectorWebhook = {
  verify: (delivery, secret) => {
    const stamp = delivery.header('x-toy-timestamp') ?? '';
    const expected = createHmac('sha256', secret).update(stamp).update(delivery.body).digest('base64');
    return delivery.header('x-toy-signature') === expected ? null : 'X-Toy-Signature must be the base64 HMAC-SHA256 of timestamp + body';
  },
  deliveryId: (delivery) => delivery.header('x-toy-delivery') ?? null,
  read: (delivery) => {
    const event = JSON.parse(Buffer.from(delivery.body).toString('utf8')) as { kind: string; id?: string };
    if (event.kind === 'hello') return { kind: 'ping' };
    if (event.kind === 'comment') return { kind: 'ignored', reason: 'comments are not records of this collection' };
    return { kind: 'events', events: [{ recordId: String(event.id), type: event.kind === 'gone' ? 'delete' : 'upsert' }] };
  },
};

function harness() {
  const submitted: unknown[] = [];
  const seen = new Set<string>();
  const trigger = { id: 'toy', type: 'trigger', config: { connector: 'toy', detect: { mode: 'webhook', secret: { credential: 'toy-secret' } } } };
  const deps = {
    catalog: { get: (id: string) => (id === 'f' ? { deployed: true, document: { nodes: [trigger] } } : undefined) },
    credentials: { resolve: async () => 'shh' },
    intake: {
      submit: async (delivery: { deliveryId: string | null }) => {
        if (delivery.deliveryId && seen.has(delivery.deliveryId)) return false;
        if (delivery.deliveryId) seen.add(delivery.deliveryId);
        submitted.push(delivery);
        return true;
      },
    },
    metrics: { webhookEvents: { inc: () => undefined } },
    logger: { error: () => undefined },
    connectors: { toy: { type: 'toy', title: 'Toy', webhook: toyWebhook } as unknown as ConnectorType },
  } as unknown as WebhookReceiverDeps;
  const send = (event: object, headers: Record<string, string> = {}, secret = 'shh') => {
    const body = Buffer.from(JSON.stringify(event));
    const all: Record<string, string> = { 'x-toy-timestamp': '1700000000', ...headers };
    all['x-toy-signature'] ??= createHmac('sha256', secret).update(all['x-toy-timestamp'] as string).update(body).digest('base64');
    return receiveWebhook(deps, { flowId: 'f', nodeId: 'toy', method: 'POST', url: '/hooks/f/toy', body, header: (name) => all[name.toLowerCase()] });
  };
  return { send, submitted };
}

describe('receiveWebhook with a connector’s own scheme', () => {
  it('checks the system’s signature and says what a genuine delivery carries', async () => {
    const { send, submitted } = harness();
    expect(await send({ kind: 'changed', id: '1' }, {}, 'wrong')).toMatchObject({ status: 401, body: { error: { message: expect.stringContaining('X-Toy-Signature') } } });
    expect(submitted).toEqual([]);
  });

  it('stores events with the system’s delivery id, once per delivery', async () => {
    const { send, submitted } = harness();
    expect(await send({ kind: 'changed', id: '7' }, { 'x-toy-delivery': 'd-1' })).toEqual({ status: 202, body: { accepted: 1, duplicate: false } });
    expect(await send({ kind: 'changed', id: '7' }, { 'x-toy-delivery': 'd-1' })).toEqual({ status: 202, body: { accepted: 0, duplicate: true } });
    expect(await send({ kind: 'gone', id: '8' }, { 'x-toy-delivery': 'd-2' })).toMatchObject({ status: 202 });
    expect(submitted).toEqual([
      { flowId: 'f', nodeId: 'toy', deliveryId: 'd-1', events: [{ recordId: '7', type: 'upsert' }] },
      { flowId: 'f', nodeId: 'toy', deliveryId: 'd-2', events: [{ recordId: '8', type: 'delete' }] },
    ]);
  });

  it('answers a handshake with 200 and accepts events about other things without storing them', async () => {
    const { send, submitted } = harness();
    expect(await send({ kind: 'hello' })).toEqual({ status: 200, body: { pong: true } });
    expect(await send({ kind: 'comment' })).toMatchObject({ status: 202, body: { accepted: 0, ignored: expect.stringContaining('comments') } });
    expect(submitted).toEqual([]);
  });
});
