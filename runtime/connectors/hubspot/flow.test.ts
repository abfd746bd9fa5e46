import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFlow } from '../../../nodes/flow/load';
import type { FlowDocument } from '../../../nodes/index';
import type { HubSpotFake } from '../../../test/fakes/hubspot/server';
import { failingOfFlow } from '../../db/failingQueries';
import { openStateDb, type StateDb } from '../../db/index';
import { SyncEngine } from '../../engine/index';
import { connectorRegistry } from '../index';
import { createMemoryStore, deleteMemoryStore, type MemoryCollection } from '../memory/index';
import { access, connectionFor, searchLagMs, startFake, tokenCredential } from './fakeAccount';

// CRM <-> a leads table through the real engine: HubSpot contacts (on the fake, opened from the registry as a flow
// opens them) mapped by `properties.<name>` paths, and the leads of a memory collection, polled. Before each pass the
// fake's clock moves on past its search index's lag, as a poll interval would. The engine opens the connector with real
// time, so the fake's clock runs with real time too (its search limit counts requests per second of its clock).

let fake: HubSpotFake;
let db: StateDb;
let engine: SyncEngine;
let leads: MemoryCollection;
let flow: FlowDocument;
const store = 'hubspot-flow';
const writeRoutes = ['create', 'update', 'archive'].map((name) => `POST /crm/v3/objects/{objectType}/batch/${name}`);
const writeRequests = () => fake.requests.filter((entry) => entry.route !== null && writeRoutes.includes(entry.route));

beforeEach(async () => {
  fake = await startFake({ realTime: true });
  leads = createMemoryStore(store).createCollection('leads', { versions: 'iso' });
  flow = leadsFlow([]);
  db = await openStateDb(':memory:');
  engine = new SyncEngine({
    db,
    connectors: connectorRegistry,
    access,
    resolveCredential: async (name) => (name === tokenCredential ? fake.tokens.privateApp : Promise.reject(new Error(`no credential "${name}"`))),
    retry: { attempts: 2, baseMs: 1, maxWaitMs: 10 },
  });
});

afterEach(async () => {
  await db.destroy();
  await fake.close();
  deleteMemoryStore(store);
});

/**
 * Contacts' email, names and lifecycle stage, and `more` properties of the same name in the leads table, both ways.
 * `isoBesideHubSpot`: properties a transform next to HubSpot writes as ISO 8601 in UTC (`dateFormat` iso → iso).
 */
function leadsFlow(more: readonly string[], isoBesideHubSpot: readonly string[] = []): FlowDocument {
  const canon = isoBesideHubSpot.map((name) => ({ op: 'dateFormat', field: `properties.${name}`, from: 'iso', to: 'iso' }));
  const { document, issues } = loadFlow({
    format: 'syncline.flow',
    version: 1,
    id: 'leads',
    name: 'CRM <-> leads',
    nodes: [
      {
        id: 'crm',
        type: 'trigger',
        typeVersion: 1,
        position: { x: 0, y: 0 },
        config: { connector: 'hubspot', connection: connectionFor(fake, { properties: ['email', 'firstname', 'lastname', 'lifecyclestage', ...more] }), collection: 'contacts', key: 'id', detect: { mode: 'manual' } },
      },
      ...(canon.length === 0 ? [] : [{ id: 'canon', type: 'transform', typeVersion: 1, position: { x: 100, y: 0 }, config: { ops: canon } }]),
      {
        id: 'map',
        type: 'mapping',
        typeVersion: 1,
        position: { x: 200, y: 0 },
        config: {
          fields: [
            { left: 'properties.email', right: 'email', direction: 'both' },
            { left: 'properties.firstname', right: 'first_name', direction: 'both' },
            { left: 'properties.lastname', right: 'last_name', direction: 'both' },
            { left: 'properties.lifecyclestage', right: 'stage', direction: 'both' },
            ...more.map((name) => ({ left: `properties.${name}`, right: name, direction: 'both' })),
          ],
        },
      },
      { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 400, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } },
      { id: 'table', type: 'trigger', typeVersion: 1, position: { x: 600, y: 0 }, config: { connector: 'memory', connection: { store }, collection: 'leads', key: 'id', updatedAt: 'updated', detect: { mode: 'manual' } } },
    ],
    edges: [
      ...(canon.length === 0 ? [{ id: 'e1', source: 'crm', target: 'map' }] : [{ id: 'e0', source: 'crm', target: 'canon' }, { id: 'e1', source: 'canon', target: 'map' }]),
      { id: 'e2', source: 'map', target: 'hub' },
      { id: 'e3', source: 'hub', target: 'table' },
    ],
  });
  if (!document) throw new Error(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  return document;
}

/** One pass, a poll interval after the last one. */
async function pass() {
  fake.clock.advance(searchLagMs + 1000);
  return engine.runPass(flow, { baseDir: '.' });
}

const liveLeads = () => leads.all().filter((record) => !record.deleted);
const leadWith = (email: string) => liveLeads().find((record) => record.fields.email === email);
const contactWith = (email: string) => [...fake.portal.objects.contacts.values()].find((object) => object.state.archivedAt === null && object.state.properties.get('email') === email);

describe('hubspot contacts <-> leads through the engine', () => {
  it('writes nothing on the first sync of records already equal on both sides', async () => {
    for (let i = 0; i < 150; i++) {
      const person = { email: `person${i}@example.com`, first: `First${i}`, last: `Last${i}`, stage: i % 2 === 0 ? 'lead' : 'customer' };
      fake.seed('contacts', { email: person.email, firstname: person.first, lastname: person.last, lifecyclestage: person.stage });
      leads.insert({ email: person.email, first_name: person.first, last_name: person.last, stage: person.stage });
    }
    const first = await pass();
    expect(first.status).toBe('ok');
    expect(first.summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
    expect(writeRequests()).toEqual([]);
    const second = await pass();
    expect(second.summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
    expect(writeRequests()).toEqual([]);
  });

  it('creates both ways, sends only the changed property, carries deletes both ways, and settles after each', async () => {
    const ada = fake.seed('contacts', { email: 'ada@example.com', firstname: 'Ada', lastname: 'Lovelace', lifecyclestage: 'lead' });
    leads.insert({ email: 'grace@example.com', first_name: 'Grace', last_name: 'Hopper', stage: 'customer' });

    const first = await pass();
    expect(first.status).toBe('ok');
    expect(first.summary).toMatchObject({ created: 2, failed: 0, conflicts: 0 });
    expect(leadWith('ada@example.com')?.fields).toMatchObject({ first_name: 'Ada', last_name: 'Lovelace', stage: 'lead' });
    const grace = contactWith('grace@example.com');
    expect(grace && Object.fromEntries(grace.state.properties)).toMatchObject({ firstname: 'Grace', lastname: 'Hopper', lifecyclestage: 'customer' });
    expect(writeRequests().map((entry) => [entry.route, entry.inputs])).toEqual([[writeRoutes[0], 1]]);
    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });

    // A person moves Ada on in HubSpot; the leads table renames Grace.
    fake.personUpdate('contacts', ada, { lifecyclestage: 'customer' });
    leads.update(leadWith('grace@example.com')?.id as string, { last_name: 'Hopper-Murray' });
    const before = writeRequests().length;
    const edited = await pass();
    expect(edited.summary).toMatchObject({ updated: 2, created: 0, failed: 0, conflicts: 0 });
    expect(leadWith('ada@example.com')?.fields.stage).toBe('customer');
    const update = writeRequests().slice(before);
    expect(update.map((entry) => entry.body)).toEqual([{ inputs: [{ id: grace?.id, properties: { lastname: 'Hopper-Murray' }, objectWriteTraceId: expect.any(String) }] }]);
    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });

    // Deleted on each side: Ada archived in HubSpot, Grace's lead removed.
    fake.personArchive('contacts', ada);
    leads.delete(leadWith('grace@example.com')?.id as string);
    const deleted = await pass();
    expect(deleted.summary).toMatchObject({ deleted: 2, failed: 0 });
    expect(liveLeads()).toEqual([]);
    expect(fake.object('contacts', grace?.id as string)?.archived).toBe(true);
    expect((await pass()).summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
  });

  it('stops a pass that meets the daily limit, and the next pass goes on', async () => {
    fake.seed('contacts', { email: 'late@example.com', firstname: 'Late' });
    fake.limits.exhaustDaily();
    const stopped = await pass();
    expect(stopped.status).toBe('stopped');
    expect(stopped.summary).toMatchObject({ created: 0, failed: 0 });
    expect(liveLeads()).toEqual([]);

    fake.clock.set(Date.parse('2024-06-04T00:00:05.000Z'));
    const resumed = await pass();
    expect(resumed.status).toBe('ok');
    expect(resumed.summary).toMatchObject({ created: 1, failed: 0 });
    expect(leadWith('late@example.com')?.fields).toMatchObject({ first_name: 'Late' });
  });
});

describe('hubspot dates and datetimes through the engine', () => {
  beforeEach(() => {
    fake.defineProperty('contacts', { name: 'next_call', label: 'Next call', type: 'datetime', fieldType: 'date' });
    fake.defineProperty('contacts', { name: 'renewal', label: 'Renewal date', type: 'date', fieldType: 'date' });
    flow = leadsFlow(['next_call', 'renewal']);
  });

  const sentProperties = () => writeRequests().map((entry) => (entry.body as { inputs: Array<{ properties: Record<string, string> }> }).inputs.map((input) => input.properties));
  const quiet = { created: 0, updated: 0, deleted: 0, failed: 0 };

  it('creates with a datetime given with an offset written as HubSpot keeps it, and the next pass writes nothing', async () => {
    leads.insert({ email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', stage: 'lead', next_call: '2024-06-03T12:00:00+02:00', renewal: '2024-07-01' });
    expect((await pass()).summary).toMatchObject({ created: 1, failed: 0 });
    expect(sentProperties()).toEqual([[expect.objectContaining({ next_call: '2024-06-03T10:00:00.000Z', renewal: '2024-07-01' })]]);
    expect(contactWith('ada@example.com')?.state.properties.get('next_call')).toBe('2024-06-03T10:00:00.000Z');
    // The create, read back, is the runtime's own write: an echo, nothing to write either way.
    expect((await pass()).summary).toEqual({ ...quiet, echoes: 1, conflicts: 0 });
    expect(writeRequests()).toHaveLength(1);
    expect(leadWith('ada@example.com')?.fields.next_call).toBe('2024-06-03T12:00:00+02:00');
  });

  /**
   * Ada, linked and in sync, gets a next call in another zone from the leads table; HubSpot is updated once, with the
   * datetime in its own form.
   */
  async function updateNextCallWithOffset(): Promise<void> {
    const ada = fake.seed('contacts', { email: 'ada@example.com', firstname: 'Ada', lastname: 'Lovelace', lifecyclestage: 'lead', next_call: '2024-06-03T10:00:00.000Z' });
    leads.insert({ email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', stage: 'lead', next_call: '2024-06-03T10:00:00.000Z' });
    expect((await pass()).summary).toMatchObject(quiet);
    leads.update(leadWith('ada@example.com')?.id as string, { next_call: '2024-06-04T09:30:00-04:00' });
    expect((await pass()).summary).toMatchObject({ ...quiet, updated: 1 });
    expect(writeRequests().map((entry) => entry.body)).toEqual([{ inputs: [{ id: ada, properties: { next_call: '2024-06-04T13:30:00.000Z' }, objectWriteTraceId: expect.any(String) }] }]);
  }

  it("updates HubSpot once in its own form, and then writes nothing either way: HubSpot's text is not an edit", async () => {
    flow = leadsFlow(['next_call']);
    await updateNextCallWithOffset();
    // The shadow kept for HubSpot is the form it holds (Connector.storedForm), so its answer is the sync's own write.
    expect((await pass()).summary).toMatchObject(quiet);
    expect((await pass()).summary).toMatchObject(quiet);
    expect(writeRequests()).toHaveLength(1);
    expect(leadWith('ada@example.com')?.fields.next_call).toBe('2024-06-04T09:30:00-04:00');
  });

  it('writes nothing to HubSpot for a datetime it already holds in its own form', async () => {
    flow = leadsFlow(['next_call']);
    fake.seed('contacts', { email: 'ada@example.com', firstname: 'Ada', lastname: 'Lovelace', lifecyclestage: 'lead', next_call: '2024-06-03T10:00:00.000Z' });
    leads.insert({ email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', stage: 'lead', next_call: '2024-06-03T10:00:00.000Z' });
    expect((await pass()).summary).toMatchObject(quiet);
    // The same instant in another zone, and an edit beside it: only the edit goes to HubSpot.
    leads.update(leadWith('ada@example.com')?.id as string, { next_call: '2024-06-03T12:00:00+02:00', last_name: 'Byron' });
    expect((await pass()).summary).toMatchObject({ ...quiet, updated: 1 });
    expect(sentProperties()).toEqual([[{ lastname: 'Byron' }]]);
    expect((await pass()).summary).toMatchObject(quiet);
    expect(writeRequests()).toHaveLength(1);
  });

  it('updates HubSpot once and then writes nothing when a transform beside HubSpot writes the datetime as ISO in UTC', async () => {
    flow = leadsFlow(['next_call'], ['next_call']);
    await updateNextCallWithOffset();
    expect((await pass()).summary).toMatchObject(quiet);
    expect((await pass()).summary).toMatchObject(quiet);
    expect(writeRequests()).toHaveLength(1);
    expect(leadWith('ada@example.com')?.fields.next_call).toBe('2024-06-04T09:30:00-04:00');
  });

  it('fails only the record whose date carries a time of day, naming the property and the value', async () => {
    leads.insert({ email: 'ada@example.com', first_name: 'Ada', stage: 'lead', renewal: '2024-07-01T15:00:00Z' });
    leads.insert({ email: 'grace@example.com', first_name: 'Grace', stage: 'lead', renewal: '2024-07-01' });
    expect((await pass()).summary).toMatchObject({ created: 1, failed: 1 });
    expect(contactWith('grace@example.com')?.state.properties.get('renewal')).toBe('2024-07-01');
    expect(contactWith('ada@example.com')).toBeUndefined();
    // Refused before sending: the batch HubSpot got held Grace alone, and was not refused.
    expect(writeRequests().map((entry) => [entry.status, entry.inputs])).toEqual([[201, 1]]);
    const failing = await failingOfFlow(db, flow.id);
    expect(failing.map((row) => [row.node_id, row.error])).toEqual([
      ['crm', expect.stringContaining('properties.renewal (Renewal date, a date in HubSpot): "2024-07-01T15:00:00Z" is 15:00:00.000 UTC on 2024-07-01, not midnight UTC')],
    ]);
  });
});
