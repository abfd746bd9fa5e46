import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HubSpotFake } from '../../../test/fakes/hubspot/server';
import { eventually, testRuntime, type TestRuntime } from '../../../test/server/support';
import { createMemoryStore, deleteMemoryStore, type MemoryCollection } from '../memory/index';
import { signV3 } from '../../../test/fakes/hubspot/webhooks';
import { startFake } from './fakeAccount';

// HubSpot's webhook deliveries through the runtime's own hook route: the fake sends them, signed for the app's public
// https target URL, to a small proxy standing in for the TLS terminator in front of `syncline serve`, which forwards
// them with X-Forwarded-Host and X-Forwarded-Proto as proxies do.

let fake: HubSpotFake;
let t: TestRuntime;
let proxy: Server;
let leads: MemoryCollection;
const store = 'hubspot-hooks';
const publicUrl = 'https://sync.example.com/hooks/crm-leads/crm';
const forwarded: Array<{ status: number; body: unknown }> = [];

beforeEach(async () => {
  // The runtime checks a delivery's timestamp against its own clock: the fake's runs from now.
  fake = await startFake({ realTime: true, clockStart: Date.now() });
  leads = createMemoryStore(store).createCollection('leads', { versions: 'iso' });
  t = await testRuntime({ allowHosts: ['127.0.0.1'] });
  forwarded.length = 0;
  proxy = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string' && name !== 'host') headers[name] = value;
      headers['x-forwarded-host'] = request.headers.host ?? '';
      headers['x-forwarded-proto'] = 'https';
      t.request(request.url ?? '/', { method: request.method ?? 'POST', headers, body: Buffer.concat(chunks) }).then(async (answer) => {
        forwarded.push({ status: answer.status, body: await answer.json() });
        response.writeHead(answer.status).end();
      }, () => response.writeHead(502).end());
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  fake.webhooks.configure({
    targetUrl: publicUrl,
    connectTo: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    subscriptions: [{ subscriptionType: 'contact.creation' }, { subscriptionType: 'contact.propertyChange', propertyName: 'firstname' }, { subscriptionType: 'company.creation' }],
  });
  for (const credential of [
    { name: 'hubspot', type: 'token', value: fake.tokens.privateApp },
    { name: 'hubspot-client-secret', type: 'webhook-secret', value: fake.webhooks.clientSecret },
  ]) {
    const stored = await t.post('/api/credentials', credential);
    if (stored.status !== 201) throw new Error(`credential: ${stored.status} ${await stored.text()}`);
  }
  const flow = {
    format: 'syncline.flow',
    version: 1,
    id: 'crm-leads',
    name: 'CRM -> leads',
    nodes: [
      {
        id: 'crm',
        type: 'trigger',
        typeVersion: 1,
        position: { x: 0, y: 0 },
        config: {
          connector: 'hubspot',
          connection: { baseUrl: fake.url, auth: { credential: 'hubspot' }, properties: ['email', 'firstname'] },
          collection: 'contacts',
          key: 'id',
          detect: { mode: 'webhook', secret: { credential: 'hubspot-client-secret' } },
        },
      },
      { id: 'map', type: 'mapping', typeVersion: 1, position: { x: 200, y: 0 }, config: { fields: [{ left: 'properties.email', right: 'email', direction: 'both' }, { left: 'properties.firstname', right: 'first_name', direction: 'both' }] } },
      { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 400, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } },
      { id: 'table', type: 'trigger', typeVersion: 1, position: { x: 600, y: 0 }, config: { connector: 'memory', connection: { store }, collection: 'leads', key: 'id', updatedAt: 'updated', detect: { mode: 'manual' } } },
    ],
    edges: [
      { id: 'e1', source: 'crm', target: 'map' },
      { id: 'e2', source: 'map', target: 'hub' },
      { id: 'e3', source: 'hub', target: 'table' },
    ],
  };
  const imported = await t.post('/api/flows', flow);
  if (imported.status !== 201) throw new Error(`import: ${imported.status} ${await imported.text()}`);
  const deployed = await t.post('/api/flows/crm-leads/deploy');
  if (deployed.status !== 200) throw new Error(`deploy: ${deployed.status} ${await deployed.text()}`);
});

afterEach(async () => {
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  await t.close();
  await fake.close();
  deleteMemoryStore(store);
});

describe('hubspot webhooks through the runtime', () => {
  it('accepts a signed batch, syncs the contact it names, and takes a retried batch once', async () => {
    fake.personCreate('contacts', { email: 'ada@example.com', firstname: 'Ada' });
    fake.personCreate('companies', { name: 'Not for this trigger' });
    await fake.webhooks.flush();
    expect(forwarded).toEqual([{ status: 202, body: { accepted: 2, duplicate: false } }]);
    await eventually(() => expect(leads.all().map((record) => record.fields)).toEqual([{ email: 'ada@example.com', first_name: 'Ada' }]));

    // HubSpot sends the batch again (the answer was lost): the same events, attemptNumber 1.
    const delivery = fake.webhooks.deliveries[0];
    const again = JSON.stringify(JSON.parse(delivery?.body ?? '[]').map((event: Record<string, unknown>) => ({ ...event, attemptNumber: 1 })));
    expect(again).not.toBe(delivery?.body);
    const timestamp = String(fake.clock.now().getTime());
    const retry = await t.request('/hooks/crm-leads/crm', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-host': 'sync.example.com',
        'x-forwarded-proto': 'https',
        'x-hubspot-request-timestamp': timestamp,
        'x-hubspot-signature-v3': signV3(fake.webhooks.clientSecret, 'POST', publicUrl, again, timestamp),
      },
      body: again,
    });
    expect(retry.status).toBe(202);
    expect(await retry.json()).toEqual({ accepted: 0, duplicate: true });
  });

  it('answers 401 to a delivery whose body changed on the way, naming the URL it checked', async () => {
    fake.personCreate('contacts', { email: 'ada@example.com', firstname: 'Ada' });
    await fake.webhooks.flush();
    const delivery = fake.webhooks.deliveries[0];
    const tampered = (delivery?.body ?? '').replace('"propertyValue":"Ada"', '"propertyValue":"Eve"');
    expect(tampered).not.toBe(delivery?.body);
    const answer = await t.request('/hooks/crm-leads/crm', {
      method: 'POST',
      headers: { ...delivery?.headers, 'x-forwarded-host': 'sync.example.com', 'x-forwarded-proto': 'https' },
      body: tampered,
    });
    expect(answer.status).toBe(401);
    expect(JSON.stringify(await answer.json())).toContain('does not match for https://sync.example.com/hooks/crm-leads/crm');
  });
});
