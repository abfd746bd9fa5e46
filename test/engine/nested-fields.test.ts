import { afterEach, describe, expect, it } from 'vitest';
import { loadFlow } from '../../nodes/flow/load';
import type { FlowDocument } from '../../nodes/index';
import { connectorRegistry } from '../../runtime/connectors/index';
import { createMemoryStore, deleteMemoryStore, type MemoryCollection, type MemoryStore } from '../../runtime/connectors/memory/index';
import type { WriteOp } from '../../runtime/connectors/types';
import { openStateDb, type StateDb } from '../../runtime/db/index';
import { SyncEngine } from '../../runtime/engine/index';

// A HubSpot-like side keeps a contact's fields in a nested `properties` object, with keys the flow does not map; a flat
// CRM side has plain columns. The mapping names the nested fields by dotted path (SPEC §3), and a write to the nested
// side sends only the leaves that differ (SPEC §5.5).

const flowJson = (store: string) => ({
  format: 'syncline.flow',
  version: 1,
  id: `nested-${store}`,
  name: 'HubSpot contacts <-> CRM people',
  nodes: [
    trigger('hubspot', store, 'contacts', 0),
    {
      id: 'map',
      type: 'mapping',
      typeVersion: 1,
      position: { x: 200, y: 0 },
      config: {
        fields: [
          { left: 'properties.email', right: 'email' },
          { left: 'properties.firstname', right: 'first_name' },
        ],
      },
    },
    { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 400, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } },
    trigger('crm', store, 'people', 600),
  ],
  edges: [
    { id: 'e1', source: 'hubspot', target: 'map' },
    { id: 'e2', source: 'map', target: 'hub' },
    { id: 'e3', source: 'hub', target: 'crm' },
  ],
});

function trigger(id: string, store: string, collection: string, x: number) {
  return {
    id,
    type: 'trigger',
    typeVersion: 1,
    position: { x, y: 0 },
    config: { connector: 'memory', connection: { store }, collection, key: 'id', updatedAt: 'updated', detect: { mode: 'manual' } },
  };
}

interface Harness {
  store: MemoryStore;
  contacts: MemoryCollection;
  people: MemoryCollection;
  engine: SyncEngine;
  pass: () => ReturnType<SyncEngine['runPass']>;
  /** Every op the HubSpot side was sent, as the store received it. */
  contactOps: WriteOp[];
}

let count = 0;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function harness(): Promise<Harness> {
  const name = `nested-fields-${++count}`;
  const store = createMemoryStore(name);
  const contacts = store.createCollection('contacts');
  const people = store.createCollection('people');
  const contactOps: WriteOp[] = [];
  // A fault predicate sees every op; this one only watches and never fails one.
  store.failWhen((call) => {
    if (call.method === 'writeOp' && call.collection === 'contacts') contactOps.push(structuredClone(call.op));
    return false;
  });
  const { document, issues } = loadFlow(flowJson(name));
  if (!document) throw new Error(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  const db: StateDb = await openStateDb(':memory:');
  const engine = new SyncEngine({ db, connectors: connectorRegistry, retry: { attempts: 2, baseMs: 1, maxWaitMs: 5 } });
  cleanups.push(async () => {
    await db.destroy();
    deleteMemoryStore(name);
  });
  const flow: FlowDocument = document;
  return { store, contacts, people, engine, contactOps, pass: () => engine.runPass(flow, { baseDir: '.' }) };
}

function contact(email: string, firstname: string, extra: Record<string, unknown> = {}) {
  return { properties: { email, firstname, lastmodifieddate: '2024-05-01T10:00:00.000Z', hs_extra: `kept for ${firstname}`, ...extra }, archived: false };
}

const quiet = { created: 0, updated: 0, deleted: 0, conflicts: 0, failed: 0 };

describe('nested fields', () => {
  it('syncs a nested side with a flat one both ways, writing only the leaves that differ', async () => {
    const h = await harness();
    const ada = h.contacts.insert(contact('ada@example.org', 'Ada'));
    h.contacts.insert(contact('grace@example.org', 'Grace'));
    h.people.insert({ email: 'alan@example.org', first_name: 'Alan' });

    // First sync: each side's records are created on the other, and no HubSpot contact is written back whole.
    const first = await h.pass();
    expect(first.summary).toMatchObject({ created: 3, updated: 0, failed: 0 });
    expect(h.people.all().map((record) => record.fields).sort((a, b) => String(a.email).localeCompare(String(b.email)))).toEqual([
      { email: 'ada@example.org', first_name: 'Ada' },
      { email: 'alan@example.org', first_name: 'Alan' },
      { email: 'grace@example.org', first_name: 'Grace' },
    ]);
    expect(h.contactOps).toEqual([{ kind: 'create', fields: { properties: { email: 'alan@example.org', firstname: 'Alan' } }, tag: expect.any(String) }]);

    // Second pass: quiet, though every contact holds nested keys the flow does not map.
    const writesBefore = h.store.calls.writeOp;
    expect((await h.pass()).summary).toMatchObject(quiet);
    expect(h.store.calls.writeOp).toBe(writesBefore);

    // An edit of one field on the flat side writes that one nested leaf, and HubSpot keeps everything else.
    const person = h.people.all().find((record) => record.fields.email === 'ada@example.org');
    h.people.update(person?.id as string, { first_name: 'Augusta' });
    h.contactOps.length = 0;
    const edit = await h.pass();
    expect(edit.summary).toMatchObject({ created: 0, updated: 1, failed: 0 });
    expect(h.contactOps).toEqual([{ kind: 'update', id: ada, fields: { properties: { firstname: 'Augusta' } }, tag: expect.any(String), expectedVersion: expect.anything() }]);
    expect(h.contacts.get(ada)?.fields).toEqual(contact('ada@example.org', 'Augusta', { hs_extra: 'kept for Ada' }));
    const log = (await h.engine.getRun(edit.runId as string))?.log ?? [];
    expect(log.filter((entry) => entry.outcome === 'updated')).toEqual([
      expect.objectContaining({ nodeId: 'hubspot', recordId: ada, fields: [{ field: 'properties.firstname', before: 'Ada', after: 'Augusta' }] }),
    ]);
    expect((await h.pass()).summary).toMatchObject(quiet);

    // An edit of one nested leaf on the HubSpot side reaches the flat side; HubSpot changing keys the flow does not
    // map (its own timestamps, new properties) writes nothing anywhere.
    h.contacts.update(ada, contact('augusta@example.org', 'Augusta', { hs_extra: 'kept for Ada' }));
    expect((await h.pass()).summary).toMatchObject({ created: 0, updated: 1, failed: 0 });
    expect(h.people.get(person?.id as string)?.fields).toEqual({ email: 'augusta@example.org', first_name: 'Augusta' });
    h.contacts.update(ada, contact('augusta@example.org', 'Augusta', { lastmodifieddate: '2024-06-01T00:00:00.000Z', hs_new: 1 }));
    h.contactOps.length = 0;
    expect((await h.pass()).summary).toMatchObject(quiet);
    expect((await h.pass()).summary).toMatchObject(quiet);
    expect(h.contactOps).toEqual([]);
  });

  it('links records that agree on their mapped leaves without writing, extra nested keys and all', async () => {
    const h = await harness();
    h.contacts.insert(contact('ada@example.org', 'Ada', { hs_score: 12 }));
    h.people.insert({ email: 'ada@example.org', first_name: 'Ada' });
    expect((await h.pass()).summary).toMatchObject(quiet);
    expect((await h.pass()).summary).toMatchObject(quiet);
    expect(h.store.calls.writeOp).toBe(0);
  });

  it('fails a record whose nested path goes inside text, naming node, field and record', async () => {
    const h = await harness();
    const broken = h.contacts.insert({ properties: 'not an object' });
    h.contacts.insert(contact('ada@example.org', 'Ada'));
    const result = await h.pass();
    expect(result.summary).toMatchObject({ created: 1, failed: 1 });
    const log = (await h.engine.getRun(result.runId as string))?.log ?? [];
    expect(log.filter((entry) => entry.outcome === 'failed')).toEqual([
      expect.objectContaining({
        nodeId: 'hubspot',
        recordId: broken,
        message: 'node "map": mapping map, fields[0] (properties.email <-> email): field "properties.email" cannot be read: "properties" holds text ("not an object"), not an object',
      }),
    ]);
  });
});
