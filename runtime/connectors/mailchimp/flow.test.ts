import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFlow } from '../../../nodes/flow/load';
import type { FlowDocument } from '../../../nodes/index';
import type { MailchimpFake } from '../../../test/fakes/mailchimp/server';
import { openStateDb, type StateDb } from '../../db/index';
import { SyncEngine } from '../../engine/index';
import { connectorRegistry } from '../index';
import { createMemoryStore, deleteMemoryStore, type MemoryCollection } from '../memory/index';
import { subscriberHash } from './index';
import { access, connectionFor, keyCredential, startFake } from './test-support';

// CRM contacts (a memory collection) <-> the members of a Mailchimp audience (the fake, opened from the registry as a
// flow opens it), through the real engine and a flow document. The fake's clock runs with the wall clock, as the
// engine's waits do (a batch runs in the background for a moment); before each pass it also jumps a few seconds, as a
// poll interval would: a listing reads up to a second before Mailchimp's time. A rate limit is waited out a second at
// most (connection.maxWaitSeconds).

let fake: MailchimpFake;
let db: StateDb;
let engine: SyncEngine;
let contacts: MemoryCollection;
let flow: FlowDocument;
const store = 'mailchimp-flow';

beforeEach(async () => {
  fake = await startFake({ clock: 'real', batchTiming: { startDelaySeconds: 0.2, operationsPerSecond: 2000 } });
  contacts = createMemoryStore(store).createCollection('contacts', { versions: 'iso' });
  const field = (left: string, right: string) => ({ left, right, direction: 'both' });
  const { document, issues } = loadFlow({
    format: 'syncline.flow',
    version: 1,
    id: 'crm-marketing',
    name: 'CRM <-> Mailchimp',
    nodes: [
      { id: 'mailchimp', type: 'trigger', typeVersion: 1, position: { x: 0, y: 0 }, config: { connector: 'mailchimp', connection: connectionFor(fake, { maxWaitSeconds: 1 }), collection: 'members', key: 'id', detect: { mode: 'manual' } } },
      {
        id: 'map',
        type: 'mapping',
        typeVersion: 1,
        position: { x: 200, y: 0 },
        config: { fields: [field('email_address', 'email'), field('merge_fields.FNAME', 'first_name'), field('merge_fields.LNAME', 'last_name'), field('status', 'subscription'), field('tags', 'labels')] },
      },
      { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 400, y: 0 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } },
      { id: 'crm', type: 'trigger', typeVersion: 1, position: { x: 600, y: 0 }, config: { connector: 'memory', connection: { store }, collection: 'contacts', key: 'id', updatedAt: 'updated', detect: { mode: 'manual' } } },
    ],
    edges: [
      { id: 'e1', source: 'mailchimp', target: 'map' },
      { id: 'e2', source: 'map', target: 'hub' },
      { id: 'e3', source: 'hub', target: 'crm' },
    ],
  });
  if (!document) throw new Error(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  flow = document;
  db = await openStateDb(':memory:');
  engine = new SyncEngine({
    db,
    connectors: connectorRegistry,
    access,
    resolveCredential: async (name) => (name === keyCredential ? fake.apiKey : Promise.reject(new Error(`no credential "${name}"`))),
    retry: { attempts: 2, baseMs: 1, maxWaitMs: 10 },
  });
});

afterEach(async () => {
  await db.destroy();
  await fake.close();
  deleteMemoryStore(store);
});

async function pass() {
  fake.clock.advance(5);
  return engine.runPass(flow, { baseDir: '.' });
}

const contactBy = (email: string) => contacts.all().find((record) => !record.deleted && String(record.fields.email).toLowerCase() === email.toLowerCase());
const memberWrites = () => fake.requests.filter((entry) => entry.method !== 'GET').length;

describe('crm contacts <-> mailchimp members through the engine', () => {
  it('the first sync of members already equal to the contacts writes nothing to either side', async () => {
    for (const [first, last] of [
      ['Ada', 'Lovelace'],
      ['Grace', 'Hopper'],
      ['Alan', 'Turing'],
    ]) {
      const email = `${first?.toLowerCase()}@example.com`;
      const member = fake.seedMember({ email_address: email, merge_fields: { FNAME: first, LNAME: last } });
      fake.person.tag(member.id, [{ name: 'lead', status: 'active' }]);
      contacts.insert({ email, first_name: first, last_name: last, subscription: 'subscribed', labels: ['lead'] });
    }
    const first = await pass();
    expect(first.status).toBe('ok');
    expect(first.summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0, conflicts: 0 });
    expect(memberWrites()).toBe(0);
  });

  it('creates both ways, carries partial edits, tags and an unsubscribe, archives on a delete, and settles', async () => {
    fake.seedMember({ email_address: 'Margaret@Example.com', merge_fields: { FNAME: 'Margaret', LNAME: 'Hamilton' } });
    const katherine = contacts.insert({ email: 'katherine@example.com', first_name: 'Katherine', last_name: 'Johnson', subscription: 'subscribed', labels: ['customer'] });
    const first = await pass();
    expect(first.summary).toMatchObject({ created: 2, failed: 0, conflicts: 0 });
    expect(contactBy('margaret@example.com')?.fields).toMatchObject({ email: 'Margaret@Example.com', first_name: 'Margaret', subscription: 'subscribed', labels: [] });
    const katherineHash = subscriberHash('katherine@example.com');
    expect(fake.member(katherineHash)).toMatchObject({ status: 'subscribed', merge_fields: { FNAME: 'Katherine', LNAME: 'Johnson' }, tags: [{ name: 'customer' }] });
    expect(fake.countRequests('PUT /lists/{list_id}/members/{subscriber_hash}')).toBe(1);

    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });

    // The CRM renames Katherine and tags her; Mailchimp gets only what differs.
    const writesBefore = fake.requests.length;
    contacts.update(katherine, { first_name: 'Kathy', labels: ['customer', 'vip'] });
    expect((await pass()).summary).toMatchObject({ updated: 1, failed: 0 });
    const sent = fake.requests.slice(writesBefore).filter((entry) => entry.method !== 'GET').map((entry) => entry.route);
    expect(sent.sort()).toEqual(['PATCH /lists/{list_id}/members/{subscriber_hash}', 'POST /lists/{list_id}/members/{subscriber_hash}/tags']);
    expect(fake.member(katherineHash)).toMatchObject({ merge_fields: { FNAME: 'Kathy', LNAME: 'Johnson' } });

    // Margaret unsubscribes in an email's footer: the CRM hears of it.
    fake.person.unsubscribe('margaret@example.com');
    expect((await pass()).summary).toMatchObject({ updated: 1, failed: 0 });
    expect(contactBy('margaret@example.com')?.fields.subscription).toBe('unsubscribed');

    // The CRM deletes Katherine: Mailchimp archives her. Mailchimp archives Margaret: the CRM deletes her.
    contacts.delete(katherine);
    fake.person.archive('margaret@example.com');
    expect((await pass()).summary).toMatchObject({ deleted: 2, failed: 0 });
    expect(fake.member(katherineHash)).toMatchObject({ status: 'archived' });
    expect(contactBy('margaret@example.com')).toBeUndefined();
    const settled = await pass();
    expect(settled.summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
    expect(fake.countRequests('POST /lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent')).toBe(0);
  });

  it('creates a few hundred members in batch operations, then has nothing left to write', async () => {
    for (let i = 0; i < 300; i++) contacts.insert({ email: `lead${i}@example.com`, first_name: `Lead ${i}`, last_name: 'Imported', subscription: 'subscribed', labels: ['crm'] });
    const first = await pass();
    expect(first.summary).toMatchObject({ created: 300, failed: 0 });
    expect(fake.countRequests('POST /batches')).toBe(2);
    expect(fake.countRequests('PUT /lists/{list_id}/members/{subscriber_hash}')).toBe(0);
    expect(fake.member('lead299@example.com')).toMatchObject({ merge_fields: { FNAME: 'Lead 299' }, tags: [{ name: 'crm' }] });
    const writes = memberWrites();
    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
    expect(memberWrites()).toBe(writes);
  });

  it('stops a pass that meets a long rate limit, and the next pass goes on from where it was', async () => {
    fake.seedMember({ email_address: 'waiting@example.com', merge_fields: { FNAME: 'Wait' } });
    fake.failNextRequests(50);
    const stopped = await pass();
    expect(stopped.status).toBe('stopped');
    expect(stopped.summary).toMatchObject({ created: 0, failed: 0 });
    fake.failNextRequests(0);
    const resumed = await pass();
    expect(resumed.status).toBe('ok');
    expect(contactBy('waiting@example.com')?.fields.first_name).toBe('Wait');
  });
});
