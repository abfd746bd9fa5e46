import { afterEach, describe, expect, it } from 'vitest';
import type { MailchimpFake } from '../../../test/fakes/mailchimp/server';
import { eventually, jsonHeaders, testRuntime, type TestRuntime } from '../../../test/server/support';
import { listen, type ListeningServer } from '../../server';
import { createMemoryStore, deleteMemoryStore, type MemoryCollection } from '../memory/index';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { mailchimpWebhook, subscriberHash } from './index';
import { startFake } from './test-support';

// Mailchimp's webhooks through the real `serve` HTTP path: the GET check before the webhook is saved, form-encoded
// deliveries authenticated by the secret in the URL, and the pass they start.

const secret = 'mailchimp-hook-secret';
const store = 'mailchimp-serve';
let fake: MailchimpFake;
let t: TestRuntime;
let server: ListeningServer;
let contacts: MemoryCollection;

afterEach(async () => {
  await server?.close();
  await t?.close();
  await fake?.close();
  deleteMemoryStore(store);
});

function flow() {
  const trigger = {
    connector: 'mailchimp',
    connection: { baseUrl: fake.url, list: fake.list.id, auth: { credential: 'mailchimp-key' } },
    collection: 'members',
    key: 'id',
    detect: { mode: 'webhook', secret: { credential: 'mailchimp-hook' } },
  };
  return {
    format: 'syncline.flow',
    version: 1,
    id: 'newsletter',
    name: 'Newsletter <-> contacts',
    nodes: [
      { id: 'mailchimp', type: 'trigger', typeVersion: 1, position: { x: 0, y: 0 }, config: trigger },
      {
        id: 'map',
        type: 'mapping',
        typeVersion: 1,
        position: { x: 200, y: 0 },
        config: {
          fields: [
            { left: 'email_address', right: 'email', direction: 'both' },
            { left: 'merge_fields.FNAME', right: 'first_name', direction: 'both' },
            { left: 'status', right: 'status', direction: 'forward' },
          ],
        },
      },
      { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 400, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'ignore' } },
      { id: 'contacts', type: 'trigger', typeVersion: 1, position: { x: 600, y: 0 }, config: { connector: 'memory', connection: { store }, collection: 'contacts', key: 'id', updatedAt: 'updated', detect: { mode: 'manual' } } },
    ],
    edges: [
      { id: 'e1', source: 'mailchimp', target: 'map' },
      { id: 'e2', source: 'map', target: 'hub' },
      { id: 'e3', source: 'hub', target: 'contacts' },
    ],
    trigger,
  };
}

async function start(): Promise<{ base: string; hookUrl: string }> {
  fake = await startFake();
  contacts = createMemoryStore(store).createCollection('contacts', { versions: 'iso' });
  t = await testRuntime({ allowHosts: ['127.0.0.1'] });
  for (const [name, value] of [
    ['mailchimp-key', fake.apiKey],
    ['mailchimp-hook', secret],
  ]) {
    expect((await t.post('/api/credentials', { name, type: 'token', value })).status).toBe(201);
  }
  const { trigger, ...document } = flow();
  expect((await t.post('/api/flows', document)).status).toBe(201);
  expect((await t.post('/api/flows/newsletter/deploy')).status).toBe(200);
  server = await listen(t.runtime.app, { host: '127.0.0.1', port: 0, webhooks: t.runtime.deps });
  const base = `http://127.0.0.1:${server.port}`;
  const hookUrl = `${base}/hooks/newsletter/mailchimp`;
  // What the runtime does when it deploys with a public URL (scheduler/webhookRegistrations.ts).
  await mailchimpWebhook.register?.(
    { config: triggerConfigSchema.parse(trigger), baseDir: '/', resolveCredential: async () => fake.apiKey, access: t.runtime.deps.access },
    { url: hookUrl, secret },
  );
  return { base, hookUrl };
}

describe('mailchimp webhooks under serve', () => {
  it("answers Mailchimp's GET check, takes its form-encoded deliveries, and syncs what they name", async () => {
    const { hookUrl } = await start();
    // Mailchimp checked the URL, secret included, before it saved the webhook.
    expect(fake.webhooks.checks).toEqual([{ url: `${hookUrl}?secret=${secret}`, status: 200 }]);
    expect(await (await fetch(`${hookUrl}?secret=${secret}`)).json()).toEqual({ ok: true });
    const wrong = await fetch(`${hookUrl}?secret=guess`);
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('bad_signature');
    expect((await fetch(hookUrl)).status).toBe(401);

    fake.person.subscribe({ email_address: 'Joan@Example.com', merge_fields: { FNAME: 'Joan' } });
    await fake.webhooks.idle();
    expect(fake.webhooks.deliveries.map((delivery) => delivery.attempts.map((attempt) => attempt.status))).toEqual([[202]]);
    await eventually(() => expect(contacts.all().map((record) => record.fields)).toEqual([expect.objectContaining({ email: 'Joan@Example.com', first_name: 'Joan', status: 'subscribed' })]));

    // Mailchimp's retry of the same delivery is the same body: accepted, not stored twice.
    const [first] = fake.webhooks.deliveries;
    const repeated = await fetch(`${hookUrl}?secret=${secret}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: first?.body });
    expect(await repeated.json()).toEqual({ accepted: 0, duplicate: true });

    fake.clock.advance(5);
    fake.person.unsubscribe(subscriberHash('joan@example.com'));
    await eventually(() => expect(contacts.all()[0]?.fields).toMatchObject({ status: 'unsubscribed' }));

    // Without the secret, or with another, a delivery is refused.
    const forged = await fetch(`${hookUrl}?secret=nope`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: first?.body });
    expect(forged.status).toBe(401);
  });

  it('keeps answering other triggers’ GETs with the 404 it always gave', async () => {
    await start();
    const memory = await t.request('/hooks/newsletter/contacts?secret=x');
    expect(memory.status).toBe(404);
    expect(await memory.json()).toEqual({ error: { code: 'not_found', message: 'no route GET /hooks/newsletter/contacts', path: '' } });
    expect((await t.request('/hooks/nope/mailchimp')).status).toBe(404);
    expect((await t.request('/hooks/bad%ZZid/mailchimp')).status).toBe(404);
    // The API is untouched: a token is still needed there.
    expect((await t.request('/api/flows', { headers: jsonHeaders })).status).toBe(200);
    expect((await t.request('/api/flows')).status).toBe(401);
  });
});
