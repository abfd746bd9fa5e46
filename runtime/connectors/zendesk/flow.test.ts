import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFlow } from '../../../nodes/flow/load';
import type { FlowDocument } from '../../../nodes/index';
import type { ZendeskFake } from '../../../test/fakes/zendesk/server';
import { openStateDb, type StateDb } from '../../db/index';
import { SyncEngine } from '../../engine/index';
import { connectorRegistry } from '../index';
import { createMemoryStore, deleteMemoryStore, type MemoryCollection } from '../memory/index';
import { access, connectionFor, startFake, tokenCredential } from './fakeAccount';

// Help desk <-> tracker through the real engine: Zendesk tickets (on the fake, opened from the registry as a flow
// opens them) and the issues of a memory collection, polled. The fake's clock stands still unless moved, and its export
// never shows the last minute: before each pass the clock moves on past it, as a poll interval would.

let fake: ZendeskFake;
let db: StateDb;
let engine: SyncEngine;
let issues: MemoryCollection;
let flow: FlowDocument;
let product: number;
const store = 'zendesk-flow';

/** Help desk <-> tracker with these mapped fields; Zendesk's connection names the custom field `product`. */
function helpdeskFlow(fields: Array<Record<string, unknown>>): FlowDocument {
  const { document, issues: problems } = loadFlow({
    format: 'syncline.flow',
    version: 1,
    id: 'helpdesk',
    name: 'Help desk <-> tracker',
    nodes: [
      {
        id: 'zendesk',
        type: 'trigger',
        typeVersion: 1,
        position: { x: 0, y: 0 },
        config: { connector: 'zendesk', connection: connectionFor(fake, { customFields: { product } }), collection: 'tickets', key: 'id', detect: { mode: 'manual' } },
      },
      { id: 'map', type: 'mapping', typeVersion: 1, position: { x: 200, y: 0 }, config: { fields } },
      { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 400, y: 0 }, config: { policy: 'last-write-wins', match: ['title'], deletes: 'propagate' } },
      { id: 'tracker', type: 'trigger', typeVersion: 1, position: { x: 600, y: 0 }, config: { connector: 'memory', connection: { store }, collection: 'issues', key: 'id', updatedAt: 'updated', detect: { mode: 'manual' } } },
    ],
    edges: [
      { id: 'e1', source: 'zendesk', target: 'map' },
      { id: 'e2', source: 'map', target: 'hub' },
      { id: 'e3', source: 'hub', target: 'tracker' },
    ],
  });
  if (!document) throw new Error(problems.map((problem) => `${problem.path}: ${problem.message}`).join('; '));
  return document;
}

const mapping = [
  { left: 'subject', right: 'title', direction: 'both' },
  // A ticket's description is its first comment, which Zendesk never changes: it flows out of Zendesk only.
  { left: 'description', right: 'body', direction: 'forward' },
  { left: 'status', right: 'status', direction: 'both' },
  { left: 'priority', right: 'priority', direction: 'both' },
  { left: 'requester_email', right: 'reporter', direction: 'both' },
  { left: 'product', right: 'product', direction: 'both' },
];

beforeEach(async () => {
  fake = await startFake();
  product = Number(fake.seedTicketField({ type: 'text', title: 'Product' }).id);
  issues = createMemoryStore(store).createCollection('issues', { versions: 'iso' });
  flow = helpdeskFlow(mapping);
  db = await openStateDb(':memory:');
  engine = new SyncEngine({
    db,
    connectors: connectorRegistry,
    access,
    resolveCredential: async (name) => (name === tokenCredential ? 'fake-api-token' : Promise.reject(new Error(`no credential "${name}"`))),
    retry: { attempts: 2, baseMs: 1, maxWaitMs: 10 },
  });
});

afterEach(async () => {
  await db.destroy();
  await fake.close();
  deleteMemoryStore(store);
});

/** One pass, a poll interval after the last one. */
async function pass() {
  fake.clock.advance(61);
  return engine.runPass(flow, { baseDir: '.' });
}

const liveIssues = () => issues.all().filter((record) => !record.deleted);
const issueTitled = (title: string) => liveIssues().find((record) => record.fields.title === title);
const ticketTitled = (subject: string) => [...fake.account.tickets.values()].find((ticket) => ticket.subject === subject);

describe('zendesk tickets <-> tracker issues through the engine', () => {
  it('creates both ways, carries edits from both sides, propagates deletes both ways, and settles after each', async () => {
    const customer = Number(fake.seedUser({ name: 'Ada', email: 'ada@customer.example' }).id);
    const loginTicket = Number(fake.seedTicket({ subject: 'Login fails', description: 'Since Monday', priority: 'high', requester_id: customer, custom_fields: [{ id: product, value: 'App' }] }).id);
    issues.insert({ title: 'Export is slow', body: 'CSV takes minutes', status: 'open', priority: 'normal', reporter: 'bob@customer.example', product: 'Reports' });

    const first = await pass();
    expect(first.status).toBe('ok');
    expect(first.summary).toMatchObject({ created: 2, failed: 0, conflicts: 0 });
    expect(issueTitled('Login fails')?.fields).toEqual({ title: 'Login fails', body: 'Since Monday', status: 'new', priority: 'high', reporter: 'ada@customer.example', product: 'App' });
    const exportTicket = ticketTitled('Export is slow');
    expect(exportTicket).toMatchObject({ status: 'open', priority: 'normal' });
    // The new requester was made from the reporter's email; the product went into the custom field.
    expect(fake.user((exportTicket?.requesterId ?? 0) as number).email).toBe('bob@customer.example');
    expect(exportTicket?.customFields.get(product)).toBe('Reports');

    const settled = await pass();
    expect(settled.status).toBe('ok');
    expect(settled.summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0, conflicts: 0 });

    // An agent raises the login ticket's priority; the tracker moves the export issue to another product.
    fake.agentUpdateTicket(loginTicket, { priority: 'urgent', status: 'pending' });
    issues.update(issueTitled('Export is slow')?.id as string, { product: 'Reports v2', title: 'Export is very slow' });
    const edited = await pass();
    expect(edited.summary).toMatchObject({ updated: 2, created: 0, failed: 0, conflicts: 0 });
    expect(issueTitled('Login fails')?.fields).toMatchObject({ priority: 'urgent', status: 'pending' });
    expect(fake.ticket(exportTicket?.id as number)).toMatchObject({ subject: 'Export is very slow' });
    expect(fake.account.tickets.get(exportTicket?.id as number)?.customFields.get(product)).toBe('Reports v2');
    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });

    // Deleted on each side: the agent deletes the export ticket, the tracker removes the login issue.
    fake.agentDeleteTicket(exportTicket?.id as number);
    issues.delete(issueTitled('Login fails')?.id as string);
    const deleted = await pass();
    expect(deleted.summary).toMatchObject({ deleted: 2, failed: 0 });
    expect(fake.account.tickets.get(loginTicket)?.deleted).not.toBeNull();
    expect(liveIssues()).toEqual([]);
    expect((await pass()).summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
  });

  it("keeps a drop-down the flow does not map when the tracker's labels replace the ticket's tags, and never shows its tag as a label", async () => {
    // Zendesk keeps the drop-down's option as a tag on the ticket: a tags write without it would clear the field.
    const plan = Number(fake.seedTicketField({ type: 'tagger', title: 'Plan', options: [{ name: 'Gold', value: 'plan_gold' }, { name: 'Silver', value: 'plan_silver' }] }).id);
    flow = helpdeskFlow([...mapping, { left: 'tags', right: 'labels', direction: 'both' }]);
    const id = Number(fake.seedTicket({ subject: 'Invoice wrong', description: 'Charged twice', tags: ['billing'], custom_fields: [{ id: plan, value: 'plan_gold' }] }).id);

    expect((await pass()).summary).toMatchObject({ created: 1, failed: 0 });
    expect(issueTitled('Invoice wrong')?.fields.labels).toEqual(['billing']);

    issues.update(issueTitled('Invoice wrong')?.id as string, { labels: ['escalated'] });
    expect((await pass()).summary).toMatchObject({ updated: 1, failed: 0, conflicts: 0 });
    expect(fake.account.tickets.get(id)?.customFields.get(plan)).toBe('plan_gold');
    expect([...(ticketTitled('Invoice wrong')?.tags ?? [])].sort()).toEqual(['escalated', 'plan_gold']);
    expect((await pass()).summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0, conflicts: 0 });
    expect(issueTitled('Invoice wrong')?.fields.labels).toEqual(['escalated']);
  });

  it('stops a pass that meets a long rate limit, and the next pass goes on from where it was', async () => {
    fake.seedTicket({ subject: 'Printer on fire', description: 'Smoke' });
    fake.failNextRequests(1, { retryAfter: 600 });
    const stopped = await pass();
    expect(stopped.status).toBe('stopped');
    expect(stopped.summary).toMatchObject({ created: 0, failed: 0 });
    expect(liveIssues()).toEqual([]);

    const resumed = await pass();
    expect(resumed.status).toBe('ok');
    expect(resumed.summary).toMatchObject({ created: 1, failed: 0 });
    expect(issueTitled('Printer on fire')?.fields).toMatchObject({ body: 'Smoke', status: 'new' });
  });
});
