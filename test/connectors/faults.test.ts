import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateDb } from '../../runtime/db/index';
import type { SyncEngine } from '../../runtime/engine/index';
import { startFaultProxy, type FaultProxy } from './support/faultProxy';
import { jsonRequest, laterStamp, startJsonServer, type JsonServer } from './support/jsonServer';
import { expectConverged, leadsEngine, leadsFlow, marketingTrigger, runUntilQuiet, sqliteCrm, type CrmSide, type Lead } from './support/leads';

// The marketing API behind a loopback proxy that fails 30% of requests (500, or 429 with Retry-After) and lets a few
// hang past the connector's timeout, some after json-server has done the work. Faults come from a fixed seed in the
// order requests arrive, and the connector sends one request at a time, so every run meets the same faults.
describe('leads flow through an unreliable network', () => {
  let server: JsonServer;
  let proxy: FaultProxy;
  let crm: CrmSide;
  let engine: SyncEngine;
  let db: StateDb;

  beforeEach(async () => {
    server = await startJsonServer({ contacts: [] });
    proxy = await startFaultProxy(server.url, { kind: 'faults', seed: 20241126, failureRate: 0.3, maxHangs: 6, hangMs: 1200, retryAfterSeconds: [0, 0, 0, 1] });
    crm = sqliteCrm();
    ({ engine, db } = await leadsEngine({ attempts: 3, baseMs: 10, maxWaitMs: 2000 }));
  });

  afterEach(async () => {
    await proxy?.stop();
    await server?.stop();
    await crm?.close();
    await db?.destroy();
  });

  it('converges, loses no edit and creates nothing twice', async () => {
    const flow = leadsFlow(
      crm.trigger,
      marketingTrigger(proxy.url, 'contacts', {
        list: { ...(marketingTrigger(proxy.url, 'contacts').connection as { list: object }).list, pageSize: 5 },
        timeoutMs: 300,
        retries: { attempts: 4, baseMs: 20, maxWaitMs: 3000 },
        maxConcurrent: 1,
        rateLimit: { requestsPerSecond: 500 },
      }),
    );
    const pass = () => engine.runPass(flow, { baseDir: crm.baseDir });
    const api = `${server.url}/contacts`;
    const person = (index: number): Lead => ({ first_name: `First${index}`, last_name: `Last${index}`, email: `p${index}@example.com`, status: index % 3 === 0 ? 'closed-lost' : 'open', amount: index * 10 });

    for (let index = 0; index < 14; index++) await crm.insert(person(index));
    // Two people the API already has, and four only it has.
    for (const index of [2, 5, 20, 21, 22, 23]) {
      const lead = person(index);
      await jsonRequest('POST', api, { name: `${lead.first_name} ${lead.last_name}`, email: lead.email, stage: 'Open', deal_value: null, updatedAt: await laterStamp(server, 'contacts') });
    }
    const everyone = [...Array.from({ length: 14 }, (_, index) => index), 20, 21, 22, 23].map((index) => `p${index}@example.com`);

    const first = await runUntilQuiet(pass, 12);
    expectConverged(await crm.all(), await server.all('contacts'), everyone);

    // Edits on both sides while the network stays bad.
    await crm.update('p1@example.com', { last_name: 'Renamed' });
    await crm.update('p7@example.com', { status: 'closed-lost' });
    await crm.insert(person(30));
    const contacts = await server.all('contacts');
    const idOf = (email: string) => String(contacts.find((contact) => contact['email'] === email)?.['id']);
    await jsonRequest('PATCH', `${api}/${idOf('p21@example.com')}`, { name: 'First21 Edited', updatedAt: await laterStamp(server, 'contacts') });
    await jsonRequest('PATCH', `${api}/${idOf('p4@example.com')}`, { stage: 'Closed Lost', updatedAt: await laterStamp(server, 'contacts') });
    await jsonRequest('POST', api, { name: 'First31 Last31', email: 'p31@example.com', stage: 'Open', deal_value: 1, updatedAt: await laterStamp(server, 'contacts') });

    const second = await runUntilQuiet(pass, 12);
    const leads = await crm.all();
    const finalContacts = await server.all('contacts');
    expectConverged(leads, finalContacts, [...everyone, 'p30@example.com', 'p31@example.com']);
    expect(finalContacts.find((contact) => contact['email'] === 'p1@example.com')?.['name']).toBe('First1 Renamed');
    expect(finalContacts.find((contact) => contact['email'] === 'p7@example.com')?.['stage']).toBe('Closed Lost');
    expect(leads.find((lead) => lead.email === 'p21@example.com')).toMatchObject({ first_name: 'First21', last_name: 'Edited' });
    expect(leads.find((lead) => lead.email === 'p4@example.com')?.status).toBe('closed-lost');
    expect(leads.find((lead) => lead.email === 'p31@example.com')).toMatchObject({ first_name: 'First31', last_name: 'Last31' });

    // Every kind of fault happened, and the last pass of each round wrote nothing.
    expect(proxy.stats.status500).toBeGreaterThan(0);
    expect(proxy.stats.status429).toBeGreaterThan(0);
    expect(proxy.stats.hungAfter).toBeGreaterThan(0);
    expect(proxy.stats.hungBefore).toBeGreaterThan(0);
    for (const passes of [first, second]) expect(passes.at(-1)?.summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
    console.info(`passes: ${first.length} + ${second.length}; ${proxy.stats.requests} requests; faults:\n${proxy.stats.log.join('\n')}`);
  });
});
