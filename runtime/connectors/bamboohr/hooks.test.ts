import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import type { BambooHrFake } from '../../../test/fakes/bamboohr/server';
import { guardedFetch } from '../network';
import { BambooHrClient } from './client';
import { access, contextFor, startFake } from './fakeCompany';
import { registerBambooHrWebhook } from './hooks';
import { bambooHrConnector } from './index';

// Registration through BambooHR's webhooks API on the fake, instead of an admin's setup in BambooHR's settings.

let fake: BambooHrFake;
let receiver: Server;
let endpoint: string;

const webhook = bambooHrConnector.webhook;

function context(connection: Record<string, unknown> = {}) {
  const base = contextFor(fake, connection);
  return { ...base, config: triggerConfigSchema.parse({ ...base.config, detect: { mode: 'webhook', secret: { credential: 'bamboohr-hook' } } }) };
}

async function listed(): Promise<Array<{ id: string; url: string }>> {
  const response = await fetch(`${fake.url}/api/v1/webhooks`, { headers: { authorization: fake.authorization, accept: 'application/json' } });
  return ((await response.json()) as { webhooks: Array<{ id: string; url: string }> }).webhooks;
}

async function shown(id: string): Promise<{ events: string[]; monitorFields: string[] | null }> {
  const response = await fetch(`${fake.url}/api/v1/webhooks/${id}`, { headers: { authorization: fake.authorization, accept: 'application/json' } });
  return (await response.json()) as { events: string[]; monitorFields: string[] | null };
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

  it("brings a kept webhook's watched fields up to date when the flow's fields change, keeping its key, so the new field's changes are delivered", async () => {
    const first = (await webhook.register!(context({ fields: ['firstName', 'lastName'] }), { url: endpoint, secret: null })) as { secret: string };
    const [original] = await listed();
    expect(await webhook.register!(context({ fields: ['firstName', 'lastName'] }), { url: endpoint, secret: first.secret })).toEqual({ secret: first.secret, notes: [] });
    expect(fake.countRequests('PUT /api/v1/webhooks/{id}')).toBe(0);

    const again = (await webhook.register!(context({ fields: ['firstName', 'lastName', 'department'] }), { url: endpoint, secret: first.secret })) as { secret: string };
    expect(again.secret).toBe(first.secret);
    expect((await listed()).map((entry) => entry.id)).toEqual([original!.id]);
    expect(fake.webhooks.privateKey(original!.id)).toBe(first.secret);
    expect(await shown(original!.id)).toMatchObject({ events: ['employee.created', 'employee.updated', 'employee.deleted'], monitorFields: ['firstName', 'lastName', 'department'] });

    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    await fake.webhooks.idle();
    const before = fake.webhooks.deliveries.length;
    fake.edit(ada.id, { department: 'Research' });
    await fake.webhooks.idle();
    const [delivery, ...more] = fake.webhooks.deliveries.slice(before);
    expect(more).toEqual([]);
    expect(JSON.parse(delivery!.body)).toMatchObject({ type: 'employee.updated', data: { employeeId: String(ada.id), changedFields: ['department'] } });
    const incoming = { method: 'POST', url: '/hooks/hr/bamboohr', body: new TextEncoder().encode(delivery!.body), header: (name: string) => delivery!.headers[Object.keys(delivery!.headers).find((key) => key.toLowerCase() === name.toLowerCase()) ?? ''] };
    expect(webhook.verify(incoming, first.secret, fake.clock.now())).toBeNull();
  });

  it('starts watching a chosen field once List Monitor Fields offers it, and announces updates once a field is watchable', async () => {
    const band = fake.addCustomField({ name: 'Salary band', type: 'list', alias: 'customBand', monitorable: false });
    const first = (await webhook.register!(context({ fields: ['customBand'] }), { url: endpoint, secret: null })) as { secret: string; notes: string[] };
    expect(first.notes).toEqual([expect.stringContaining('BambooHR lets no webhook watch customBand')]);
    const [created] = await listed();
    expect(await shown(created!.id)).toMatchObject({ events: ['employee.created', 'employee.deleted'], monitorFields: null });

    // The key's user was given access to the field: it is on List Monitor Fields now.
    delete band.monitorable;
    expect(await webhook.register!(context({ fields: ['customBand'] }), { url: endpoint, secret: first.secret })).toEqual({ secret: first.secret, notes: [] });
    expect(await shown(created!.id)).toMatchObject({ events: ['employee.created', 'employee.updated', 'employee.deleted'], monitorFields: ['customBand'] });
  });

  it("removes only the webhook that sends to the trigger's URL, and removing twice is fine", async () => {
    await webhook.register!(context(), { url: endpoint, secret: null });
    await webhook.register!(context(), { url: `${endpoint}-other`, secret: null });
    await webhook.unregister!(context(), endpoint);
    await webhook.unregister!(context(), endpoint);
    expect((await listed()).map((entry) => entry.url)).toEqual([`${endpoint}-other`]);
  });

  it('watches only the chosen fields List Monitor Fields offers, names the others, and still hears of a termination', async () => {
    const answer = (await webhook.register!(context(), { url: endpoint, secret: null })) as { secret: string; notes: string[] };
    // terminationDate, a default field, is not monitorable: BambooHR would refuse the whole webhook with a 403.
    expect(answer.notes).toEqual([expect.stringMatching(/^BambooHR lets no webhook watch terminationDate \(List Monitor Fields\): a change to it alone reaches the flow with the next pass/)]);
    const [created] = await listed();
    const config = await shown(created!.id);
    expect(config.events).toEqual(['employee.created', 'employee.updated', 'employee.deleted']);
    expect(config.monitorFields).toEqual(['firstName', 'lastName', 'preferredName', 'workEmail', 'employeeNumber', 'jobTitle', 'department', 'division', 'location', 'status', 'employmentHistoryStatus', 'hireDate']);

    const ada = fake.hire({ firstName: 'Ada', lastName: 'Lovelace' });
    await fake.webhooks.idle();
    const before = fake.webhooks.deliveries.length;
    fake.clock.advance(60);
    fake.terminate(ada.id, '2024-06-03');
    await fake.webhooks.idle();
    const after = fake.webhooks.deliveries.slice(before).map((delivery) => JSON.parse(delivery.body) as { type: string; data: { changedFields?: string[] } });
    expect(after).toEqual([expect.objectContaining({ type: 'employee.updated', data: expect.objectContaining({ changedFields: ['status', 'employmentHistoryStatus'] }) })]);
  });

  it('with no chosen field BambooHR can monitor, announces hires and deletions only, and says which fields go unwatched', async () => {
    const answer = (await webhook.register!(context({ fields: ['terminationDate', 'displayName'] }), { url: endpoint, secret: null })) as { notes: string[] };
    expect(answer.notes).toEqual([expect.stringContaining('BambooHR lets no webhook watch terminationDate, displayName (List Monitor Fields): a change to them alone')]);
    const [created] = await listed();
    expect(await shown(created!.id)).toMatchObject({ events: ['employee.created', 'employee.deleted'], monitorFields: null });
  });

  it("when BambooHR refuses a field its own list offered (the key's access changed in between), the error names the field", async () => {
    // A List Monitor Fields answer from before the change: terminationDate still on it.
    const inner = guardedFetch(access.hosts);
    const staleList: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/api/v1/webhooks/monitor_fields')) return Response.json({ fields: [{ id: '16', name: 'Termination Date', alias: 'terminationDate' }] });
      return inner(input, init);
    };
    const client = new BambooHrClient(fake.url, fake.apiKey, 'bamboohr-key', { fetch: staleList, now: () => Date.now(), sleep: async () => {}, maxWaitMs: 0, timeoutMs: 5000 }, new AbortController().signal);
    await expect(registerBambooHrWebhook(client, ['terminationDate'], endpoint, null)).rejects.toThrow(
      'POST /api/v1/webhooks: 403, BambooHR refused to create the webhook (managing webhooks needs an admin API key) — Permission denied to the following fields: monitorFields Termination Date',
    );
  });
});
