import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MemberRecord } from '../fakes/mailchimp/store';
import { subscriberHash } from '../fakes/mailchimp/store';
import { signV3 } from '../fakes/hubspot/webhooks';
import { eventually } from '../server/support';
import {
  countsBetween,
  flowFor,
  flowId,
  mailchimpHookSecret,
  requestCounts,
  seedContacts,
  startFakes,
  storeCredentials,
  tagOfStage,
  type CrmMarketingFakes,
  type FlowJson,
  type RequestCounts,
  type SeededPerson,
} from './crmMarketing';
import { startServe, type RunView, type ServeProcess } from './harness';

// The "CRM ↔ marketing" template (test/fixtures/flows/crm-marketing.flow.json) as a person runs it: `syncline serve`
// as a real process, credentials stored and the flow imported and deployed over its API, the only change to the
// template being the fakes' addresses (and the fake's audience id). HubSpot and Mailchimp are the stateful fakes in
// test/fakes; people act through their controls ("a sales rep edits", "a subscriber unsubscribes"), and everything else
// goes over HTTP: the runtime calls the fakes' APIs, HubSpot's app sends v3-signed JSON to the hook, Mailchimp sends
// form-encoded deliveries to the URL that carries the secret, after checking it with a GET.
//
// Every wait is for a condition: a record on a system, a run in the runtime's history, a system's clock past a time,
// or "quiet" (below). The time limits only turn a condition that never comes true into a failure.

const evidenceDir = join(import.meta.dirname, '..', 'output');
const WAIT_MS = 240_000;
/** The initial sync of 5,000 contacts on a busy two-core machine: the passes, and Mailchimp's batches in turn. */
const INITIAL_SYNC_MS = 900_000;
const TEST_TIMEOUT_MS = 1_800_000;
/** HubSpot's documented limits (Usage guidelines; batch endpoints take 100 inputs) and Mailchimp's 10 connections. */
const HUBSPOT_BATCH_LIMIT = 100;
const MAILCHIMP_CONNECTIONS = 10;
/** The contact properties the app's webhook subscribes to: those the template syncs out of HubSpot. */
const hubspotSubscriptions = [
  { subscriptionType: 'contact.creation' },
  { subscriptionType: 'contact.deletion' },
  { subscriptionType: 'contact.restore' },
  ...['email', 'firstname', 'lastname', 'lifecyclestage'].map((propertyName) => ({ subscriptionType: 'contact.propertyChange', propertyName })),
];

interface Systems extends CrmMarketingFakes {
  server: ServeProcess;
  /** The address HubSpot's app signs its deliveries for: the trigger's hook as reached over https. */
  hubspotTarget: string;
  keepEvidence(testName: string): Promise<void>;
}

let running: { fakes: CrmMarketingFakes; server: ServeProcess | null; keepEvidence(name: string): Promise<void> } | null = null;
afterEach(async ({ task }) => {
  if (!running) return;
  if (task.result?.state === 'fail') await running.keepEvidence(task.name);
  const exit = await running.server?.stop();
  running.server?.dispose();
  await running.fakes.close();
  running = null;
  if (exit !== undefined) expect(exit, 'serve stops cleanly on SIGTERM').toBe(0);
});

async function startSystems(options: { hubspotWebhooks: boolean }): Promise<Systems> {
  const fakes = await startFakes();
  const state: { fakes: CrmMarketingFakes; server: ServeProcess | null; keepEvidence(name: string): Promise<void> } = {
    fakes,
    server: null,
    keepEvidence: async (name) => {
      const server = state.server;
      if (!server) return;
      // Every run with its per-record log, what each fake was asked, and the runtime's own log.
      const runs = [];
      for (const run of (await server.runs(flowId).catch(() => [])).reverse()) runs.push(await server.call(`/api/runs/${run.id}`).catch((error: unknown) => String(error)));
      const file = join(evidenceDir, `${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 80)}.json`);
      mkdirSync(evidenceDir, { recursive: true });
      const summary = (entry: { method: string; path: string; status: number }) => `${entry.status} ${entry.method} ${entry.path}`;
      writeFileSync(file, JSON.stringify({ runs, hubspot: fakes.hubspot.requests.map(summary), mailchimp: fakes.mailchimp.requests.map(summary), serve: server.output.join('') }, null, 1));
      console.error(`crm-marketing: the runs, the fakes' request logs and the runtime's log are in ${file}`);
    },
  };
  running = state;
  const server = await startServe();
  state.server = server;
  const hubspotTarget = `https://${new URL(server.base).host}/hooks/${flowId}/hubspot`;
  // The HubSpot app's webhook settings, made by hand (docs/connectors/hubspot.md: not registered for you). HubSpot calls
  // the https address; the fake connects to serve's own port with that Host, as a TLS proxy in front of it would.
  if (options.hubspotWebhooks) fakes.hubspot.webhooks.configure({ targetUrl: hubspotTarget, connectTo: server.base, subscriptions: hubspotSubscriptions });
  await storeCredentials(server, fakes);
  return { ...fakes, server, hubspotTarget, keepEvidence: state.keepEvidence };
}

async function importAndDeploy(systems: Systems, flow: FlowJson): Promise<void> {
  expect(await systems.server.call('/api/flows', { body: flow }, 201)).toEqual({ id: flowId });
  await systems.server.call(`/api/flows/${flowId}/deploy`, { method: 'POST' });
}

const liveContacts = (systems: Systems) => [...systems.hubspot.portal.objects.contacts.values()].filter((object) => object.state.archivedAt === null);
const contactOf = (systems: Systems, email: string) => {
  const found = liveContacts(systems).filter((object) => object.state.properties.get('email')?.toLowerCase() === email.toLowerCase());
  expect(found, `one HubSpot contact for ${email}`).toHaveLength(1);
  return Object.fromEntries((found[0] as (typeof found)[number]).state.properties);
};
/** The audience's members, batches that have run by now applied (a read of the fake catches them up). */
const liveMembers = (systems: Systems): MemberRecord[] => {
  systems.mailchimp.member('nobody@example.com');
  return [...systems.mailchimp.list.members.values()].filter((member) => member.status !== 'archived');
};
const memberOf = (systems: Systems, email: string) => {
  const member = systems.mailchimp.member(subscriberHash(email));
  expect(member, `a Mailchimp member for ${email}`).not.toBeNull();
  return member as { email_address: string; status: string; merge_fields: Record<string, unknown>; tags: Array<{ name: string }>; last_changed: string };
};
const pick = (people: SeededPerson[], test: (person: SeededPerson) => boolean): SeededPerson => {
  const found = people.find(test);
  if (!found) throw new Error('the seeded data has no such person');
  return found;
};
const tagsOf = (member: { tags: Array<{ name: string }> }) => member.tags.map((tag) => tag.name).sort();
const expectedTags = (person: Pick<SeededPerson, 'stage' | 'otherTags'>, stage = person.stage) => [...person.otherTags, ...(stage ? [tagOfStage(stage)] : [])].sort();

/** Mailchimp's time in its whole seconds: what an edit made now gets as its version (`last_changed`). */
const mailchimpSecond = (systems: Systems) => Math.floor(systems.mailchimp.clock.now().getTime() / 1000) * 1000;

/** Waits until an edit in Mailchimp would be later than `ms`: its clock is in a later whole second. */
async function mailchimpSecondAfter(systems: Systems, ms: number): Promise<void> {
  await eventually(() => expect(mailchimpSecond(systems)).toBeGreaterThan(ms), WAIT_MS);
}

/**
 * Waits until a listing of Mailchimp's members holds a change made at `ms`: a listing closes its window a second before
 * Mailchimp's time (docs/connectors/mailchimp.md, How changes are found), so a change is listed a second or more later.
 */
async function mailchimpLists(systems: Systems, ms: number): Promise<void> {
  await eventually(() => expect(mailchimpSecond(systems) - 1000).toBeGreaterThan(ms), WAIT_MS);
}

/** How many deliveries the systems have attempted; a change means they reported something new. */
function deliveryAttempts(systems: Systems): number {
  return systems.hubspot.webhooks.deliveries.length + systems.mailchimp.webhooks.deliveries.reduce((sum, delivery) => sum + delivery.attempts.length, 0);
}

/**
 * What the systems do about a delivery that was not answered 2xx in time (a busy machine can be slower than HubSpot's 5
 * seconds or Mailchimp's 10): HubSpot sends the events again with `attemptNumber` one higher, Mailchimp sends the
 * same body again. Both retry for hours; here at most a few times, each time the test looks.
 */
async function retryUnanswered(systems: Systems): Promise<void> {
  await systems.hubspot.webhooks.retryFailed();
  for (const delivery of systems.mailchimp.webhooks.deliveries) {
    const last = delivery.attempts.at(-1);
    if (last && !(last.status !== null && last.status >= 200 && last.status < 300) && delivery.attempts.length < 5) systems.mailchimp.webhooks.redeliver(delivery);
  }
  await systems.mailchimp.webhooks.idle();
}

/**
 * Waits until the sync has nothing left to do: HubSpot has sent what it queued (the fake's app sends on `flush`, as
 * HubSpot sends its batches), Mailchimp's deliveries are answered, what was not answered in time has been sent again,
 * the runtime has run a pass for every event it stored, no pass is running, and neither system reported anything new
 * meanwhile.
 */
async function quiet(systems: Systems): Promise<void> {
  const { server, hubspot, mailchimp } = systems;
  await eventually(async () => {
    await hubspot.webhooks.flush();
    await mailchimp.webhooks.idle();
    await retryUnanswered(systems);
    const attempts = deliveryAttempts(systems);
    expect(server.pendingWebhookEvents()).toBe(0);
    expect((await server.runs(flowId)).filter((run) => run.finishedAt === null)).toEqual([]);
    expect(hubspot.webhooks.queued()).toHaveLength(0);
    await mailchimp.webhooks.idle();
    expect(deliveryAttempts(systems)).toBe(attempts);
    expect(server.pendingWebhookEvents()).toBe(0);
    expectEveryDeliveryTaken(systems);
  }, WAIT_MS);
}

/** Every event HubSpot sent and every Mailchimp delivery was, at some attempt, answered 202 by the hook. */
function expectEveryDeliveryTaken(systems: Systems): void {
  const taken = new Set(systems.hubspot.webhooks.deliveries.filter((delivery) => delivery.status === 202).flatMap((delivery) => delivery.events.map((event) => event.eventId)));
  const sent = systems.hubspot.webhooks.deliveries.flatMap((delivery) => delivery.events.map((event) => event.eventId));
  expect(sent.filter((eventId) => !taken.has(eventId)), 'HubSpot events no delivery of which was answered 202').toEqual([]);
  const refused = systems.mailchimp.webhooks.deliveries.filter((delivery) => !delivery.attempts.some((attempt) => attempt.status === 202));
  expect(refused.map((delivery) => `${delivery.type}: ${JSON.stringify(delivery.attempts)}`), 'Mailchimp deliveries never answered 202').toEqual([]);
}

async function passesFinished(server: ServeProcess): Promise<void> {
  await eventually(async () => expect((await server.runs(flowId)).filter((run) => run.finishedAt === null)).toEqual([]), WAIT_MS);
}

function expectNoFailedRun(runs: RunView[]): void {
  expect(runs.filter((run) => run.status === 'failed' || (run.summary?.failed ?? 0) > 0).map((run) => `${run.reason} ${run.status}: ${run.error}`)).toEqual([]);
}

/** HubSpot's limits as its fake enforces them (100 per 10 s for the private app, 5 searches a second): never met. */
function expectWithinLimits(counts: RequestCounts): void {
  expect(counts.hubspot.refused429, 'HubSpot answered no request with 429').toBe(0);
  expect(counts.hubspot.largestBatch).toBeLessThanOrEqual(HUBSPOT_BATCH_LIMIT);
  expect(counts.mailchimp.refused429, 'Mailchimp answered no request with 429').toBe(0);
  expect(counts.mailchimp.mostConcurrent).toBeLessThanOrEqual(MAILCHIMP_CONNECTIONS);
}

const describeCounts = (counts: RequestCounts) =>
  `HubSpot ${counts.hubspot.total} (${counts.hubspot.reads} reads, ${counts.hubspot.searches} searches, ${counts.hubspot.batchWrites} batch writes), ` +
  `Mailchimp ${counts.mailchimp.total} (${counts.mailchimp.reads} reads, ${counts.mailchimp.memberWrites} single writes, ${counts.mailchimp.batchSubmits} batches submitted, ` +
  `${counts.mailchimp.batchPolls} polled, ${counts.mailchimp.batchResults} results read)`;

describe('the CRM ↔ marketing template under syncline serve', () => {
  it(
    'syncs 5,000 contacts in batches within both systems’ limits, writes nothing to those already equal, then carries webhooks from each side: edits both ways, a lifecycle stage, an unsubscribe, same-field conflicts',
    async () => {
      const started = performance.now();
      const systems = await startSystems({ hubspotWebhooks: true });
      const { hubspot, mailchimp, server } = systems;
      const seeded = seedContacts(systems, { hubspotOnly: 4000, mailchimpOnly: 500, equal: 500 });
      await importAndDeploy(systems, flowFor(systems));

      // Deployed with a public address, the runtime registered Mailchimp's webhook itself; Mailchimp checked the URL,
      // secret and all, with a GET before it saved it. A GET without the secret is refused.
      const mailchimpHook = `${server.base}/hooks/${flowId}/mailchimp?secret=${mailchimpHookSecret}`;
      await eventually(() => expect([...mailchimp.list.webhooks.values()].map((hook) => hook.url)).toEqual([mailchimpHook]), WAIT_MS);
      expect(mailchimp.webhooks.checks).toEqual([{ url: mailchimpHook, status: 200 }]);
      expect((await fetch(`${server.base}/hooks/${flowId}/mailchimp?secret=guessed`)).status).toBe(401);
      const readyAt = performance.now();

      // The initial sync, started by hand ("Run now"). Its answer may come after fetch gives up waiting; the run
      // history says when it is done. Mailchimp's deliveries of the sync's own writes are held meanwhile (and HubSpot's
      // app sends nothing until flushed), so the requests of the initial sync are counted apart from what follows.
      mailchimp.webhooks.hold();
      const before = requestCounts(systems);
      void server.api(`/api/flows/${flowId}/run`, { method: 'POST' }).catch(() => null);
      const initial = await eventually(async () => {
        const run = (await server.runs(flowId)).find((entry) => entry.reason === 'manual');
        expect(run?.finishedAt ?? null).not.toBeNull();
        return run as RunView;
      }, INITIAL_SYNC_MS);
      const initialCounts = countsBetween(before, requestCounts(systems));
      const syncedAt = performance.now();
      expect(initial).toMatchObject({ status: 'ok', summary: { created: 4500, updated: 0, deleted: 0, failed: 0, conflicts: 0 } });
      expect(liveContacts(systems)).toHaveLength(5000);
      expect(liveMembers(systems)).toHaveLength(5000);

      // Batched and within the limits: HubSpot's reads a hundred a page and its creates a hundred a request; Mailchimp's
      // 4,000 new members (and their tags) as batch operations, not one request each.
      expectWithinLimits(initialCounts);
      expect(hubspot.requests.filter((entry) => entry.route === 'POST /crm/v3/objects/{objectType}/batch/create').map((entry) => entry.inputs)).toEqual([100, 100, 100, 100, 100]);
      expect(initialCounts.mailchimp.memberWrites).toBe(0);
      expect(initialCounts.mailchimp.batchSubmits).toBeGreaterThanOrEqual(8);
      // HubSpot: 45 pages of 100 contacts; the last 500 read again through search (a listing longer than a page reads
      // its tail once more, saas/changeFeed.ts): 3 searches and their reads by id; 5 creates of 100 and their 5 reads
      // back; the properties and the archived list, twice.
      expect(hubspot.requests.filter((entry) => entry.route === 'GET /crm/v3/objects/{objectType}' && entry.path.includes('archived=false')).length).toBe(45);
      expect(initialCounts.hubspot.total).toBeLessThanOrEqual(75);
      // Mailchimp: 16 batches (8 of 500 members, then their tags), each submitted, polled and read, and a few listings:
      // far from the 8,000 requests of one each.
      expect(initialCounts.mailchimp.total).toBeLessThan(200);

      // Nothing was written to the 500 that were equal already: neither system moved their last-modified time.
      for (const person of seeded.equal) {
        expect(hubspot.object('contacts', person.hubspotId as string)?.updatedAt).toBe(new Date(person.changedAt).toISOString());
        expect(Date.parse(memberOf(systems, person.email).last_changed)).toBe(person.changedAt);
      }
      // What each side did not have arrived with every field, the lifecycle stage as a tag and back.
      for (const person of [...seeded.hubspotOnly.slice(0, 50), ...seeded.hubspotOnly.slice(-50)]) {
        const member = memberOf(systems, person.email);
        expect(member).toMatchObject({ email_address: person.email, status: 'subscribed', merge_fields: expect.objectContaining({ FNAME: person.first, LNAME: person.last }) });
        expect(tagsOf(member)).toEqual(expectedTags({ ...person, otherTags: [] }));
      }
      for (const person of seeded.mailchimpOnly.slice(0, 100)) {
        expect(contactOf(systems, person.email)).toMatchObject({ firstname: person.first, lastname: person.last, mailchimp_status: person.status, ...(person.stage ? { lifecyclestage: person.stage } : {}) });
      }

      // The systems tell the runtime about the sync's own writes (Mailchimp's webhook takes API changes too; HubSpot's
      // app sends what it queued): each is recognised as the sync's own and writes nothing.
      mailchimp.webhooks.release();
      await quiet(systems);
      const echoes = (await server.runs(flowId)).filter((run) => run.reason === 'webhook');
      expect(echoes.length).toBeGreaterThan(0);
      expect(echoes.reduce((sum, run) => sum + (run.summary?.echoes ?? 0), 0)).toBeGreaterThan(0);
      expect(echoes.reduce((sum, run) => sum + (run.summary?.created ?? 0) + (run.summary?.updated ?? 0) + (run.summary?.deleted ?? 0), 0)).toBe(0);

      // People of the seeded data; the stages they start at are those the steps below move on from.
      const [ada, bob, cy, dee] = seeded.hubspotOnly as [SeededPerson, SeededPerson, SeededPerson, SeededPerson];
      const eve = pick(seeded.mailchimpOnly, (person) => person.status === 'subscribed');
      expect([ada.stage, bob.stage, dee.stage]).toEqual(['lead', 'marketingqualifiedlead', 'opportunity']);

      // A sales rep renames a contact in HubSpot: the app's v3-signed delivery reaches the hook and Mailchimp has it.
      const webhookRunsBefore = (await server.runs(flowId)).length;
      hubspot.personUpdate('contacts', ada.hubspotId as string, { firstname: 'Adaline' });
      await quiet(systems);
      expect(hubspot.webhooks.deliveries.findLast((delivery) => delivery.events.some((event) => event.propertyName === 'firstname' && event.propertyValue === 'Adaline'))).toMatchObject({
        status: 202,
        url: systems.hubspotTarget,
      });
      expect(memberOf(systems, ada.email).merge_fields).toMatchObject({ FNAME: 'Adaline', LNAME: ada.last });

      // A subscriber changes their last name in Mailchimp: its form-encoded delivery reaches HubSpot's contact.
      mailchimp.person.edit(subscriberHash(eve.email), { merge_fields: { LNAME: 'Everhart' } });
      await eventually(() => expect(contactOf(systems, eve.email)).toMatchObject({ firstname: eve.first, lastname: 'Everhart' }), WAIT_MS);
      await quiet(systems);
      const profile = mailchimp.webhooks.deliveries.findLast((delivery) => delivery.type === 'profile');
      expect(profile?.body).toContain(`data%5Bmerges%5D%5BLNAME%5D=Everhart`);
      expect(profile?.attempts.map((attempt) => attempt.status)).toContain(202);
      const runs = await server.runs(flowId);
      expect(runs.length).toBeGreaterThan(webhookRunsBefore);
      expect(runs.filter((run) => run.reason === 'schedule')).toEqual([]);

      // The lifecycle stage moves on in HubSpot: the member's lifecycle tag follows, its other tags stay.
      // A tag put on in Mailchimp meanwhile (no webhook for tags) is listed by the pass HubSpot's delivery starts.
      mailchimp.person.tag(subscriberHash(bob.email), [{ name: 'Webinar', status: 'active' }]);
      await mailchimpLists(systems, Date.parse(memberOf(systems, bob.email).last_changed));
      hubspot.personUpdate('contacts', bob.hubspotId as string, { lifecyclestage: 'customer' });
      await quiet(systems);
      expect(tagsOf(memberOf(systems, bob.email))).toEqual(['Lifecycle: Customer', 'Webinar']);
      expect(contactOf(systems, bob.email)).toMatchObject({ lifecyclestage: 'customer' });

      // Ada unsubscribes from the newsletter: HubSpot's mailchimp_status says so.
      expect(contactOf(systems, ada.email).mailchimp_status).toBeUndefined();
      mailchimp.person.unsubscribe(subscriberHash(ada.email));
      await eventually(() => expect(contactOf(systems, ada.email)).toMatchObject({ mailchimp_status: 'unsubscribed', firstname: 'Adaline' }), WAIT_MS);
      await quiet(systems);
      expect(memberOf(systems, ada.email).status).toBe('unsubscribed');
      expect(mailchimp.webhooks.deliveries.findLast((delivery) => delivery.type === 'unsubscribe')?.attempts.map((attempt) => attempt.status)).toContain(202);

      // Both change Cy's first name between two passes (Mailchimp's delivery held, HubSpot's not sent yet). Mailchimp's
      // edit is the later one, so it wins on both sides (the template's policy for names: last write wins).
      mailchimp.webhooks.hold();
      hubspot.personUpdate('contacts', cy.hubspotId as string, { firstname: 'Cyrus' });
      const hubspotEditAt = Date.parse(hubspot.object('contacts', cy.hubspotId as string)?.updatedAt ?? '');
      await mailchimpSecondAfter(systems, hubspotEditAt);
      mailchimp.person.edit(subscriberHash(cy.email), { merge_fields: { FNAME: 'Cyril' } });
      await mailchimpLists(systems, Date.parse(memberOf(systems, cy.email).last_changed));
      mailchimp.webhooks.release();
      await quiet(systems);
      expect(contactOf(systems, cy.email).firstname).toBe('Cyril');
      expect(memberOf(systems, cy.email).merge_fields).toMatchObject({ FNAME: 'Cyril' });

      // Both change Dee's lifecycle stage, Mailchimp later (a tag put on by hand). HubSpot is preferred for the stage
      // whatever the times, so its stage wins and the member's lifecycle tag follows it.
      hubspot.personUpdate('contacts', dee.hubspotId as string, { lifecyclestage: 'customer' });
      await mailchimpSecondAfter(systems, Date.parse(hubspot.object('contacts', dee.hubspotId as string)?.updatedAt ?? ''));
      mailchimp.person.tag(subscriberHash(dee.email), [
        { name: tagOfStage(dee.stage as string), status: 'inactive' },
        { name: 'Lifecycle: Evangelist', status: 'active' },
      ]);
      // Tags fire no Mailchimp webhook: the pass HubSpot's delivery starts lists Mailchimp's changes since its cursor,
      // which include the tag once a listing's window holds it.
      await mailchimpLists(systems, Date.parse(memberOf(systems, dee.email).last_changed));
      await quiet(systems);
      expect(contactOf(systems, dee.email).lifecyclestage).toBe('customer');
      expect(tagsOf(memberOf(systems, dee.email))).toEqual(expectedTags({ ...dee, otherTags: [] }, 'customer'));

      // A delivery whose body changed on the way is refused: the v3 signature covers method, URL, body and timestamp.
      const timestamp = String(Date.now());
      const body = JSON.stringify([{ eventId: 1, subscriptionId: 1, portalId: 62515, appId: 54321, occurredAt: Date.now(), subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId: Number(dee.hubspotId), changeSource: 'CRM_UI', propertyName: 'firstname', propertyValue: 'x' }]);
      const signature = signV3(hubspot.webhooks.clientSecret, 'POST', systems.hubspotTarget, body, timestamp);
      const forged = await fetch(`${server.base}/hooks/${flowId}/hubspot`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hubspot-request-timestamp': timestamp, 'x-hubspot-signature-v3': signature },
        body: body.replace('"x"', '"y"'),
      });
      expect(forged.status).toBe(401);

      // Where it ended: 5,000 on each side, one per person, none failed.
      await quiet(systems);
      expect(liveContacts(systems)).toHaveLength(5000);
      expect(liveMembers(systems)).toHaveLength(5000);
      const finalRuns = await server.runs(flowId);
      expectNoFailedRun(finalRuns);
      expect(await server.call(`/api/conflicts?flow=${flowId}`)).toEqual([]);
      const total = countsBetween(before, requestCounts(systems));
      expectWithinLimits(total);
      console.info(
        `crm-marketing, webhooks: set up in ${Math.round(readyAt - started)} ms; initial sync of 5,000 in ${Math.round(syncedAt - readyAt)} ms: ${describeCounts(initialCounts)}; ` +
          `then ${finalRuns.length} passes in all, ${describeCounts(total)} in all`,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'converges by polling alone: edits both ways, a lifecycle tag set in Mailchimp, an unsubscribe, nothing written twice',
    async () => {
      const systems = await startSystems({ hubspotWebhooks: false });
      const { hubspot, mailchimp, server } = systems;
      const seeded = seedContacts(systems, { hubspotOnly: 100, mailchimpOnly: 50, equal: 50 });
      await importAndDeploy(systems, flowFor(systems, { mode: 'poll', intervalMs: 3000 }));
      await eventually(() => {
        expect(liveContacts(systems)).toHaveLength(200);
        expect(liveMembers(systems)).toHaveLength(200);
      }, WAIT_MS);
      await passesFinished(server);
      for (const person of seeded.equal) expect(hubspot.object('contacts', person.hubspotId as string)?.updatedAt).toBe(new Date(person.changedAt).toISOString());

      const [ada] = seeded.hubspotOnly as [SeededPerson];
      const eve = pick(seeded.mailchimpOnly, (person) => person.status === 'subscribed');
      // A stage later than HubSpot's, which HubSpot takes in one write (an earlier one needs it cleared first).
      const fay = pick(seeded.mailchimpOnly, (person) => person !== eve && person.status === 'subscribed' && person.stage === 'lead');
      // HubSpot's search shows a change some seconds late (the fake's index lags 10 s); the poll reads from a little
      // before its cursor, so the edit arrives all the same.
      hubspot.personUpdate('contacts', ada.hubspotId as string, { lastname: 'Byron' });
      mailchimp.person.edit(subscriberHash(eve.email), { merge_fields: { FNAME: 'Evelyn' } });
      // A tag put on in Mailchimp, which sends no webhook for tags: the poll finds it.
      mailchimp.person.tag(subscriberHash(fay.email), [
        ...(fay.stage ? [{ name: tagOfStage(fay.stage), status: 'inactive' as const }] : []),
        { name: 'Lifecycle: Customer', status: 'active' },
      ]);
      mailchimp.person.unsubscribe(subscriberHash(fay.email));
      await eventually(() => {
        expect(memberOf(systems, ada.email).merge_fields).toMatchObject({ LNAME: 'Byron' });
        expect(contactOf(systems, eve.email)).toMatchObject({ firstname: 'Evelyn' });
        expect(contactOf(systems, fay.email)).toMatchObject({ lifecyclestage: 'customer', mailchimp_status: 'unsubscribed' });
      }, WAIT_MS);
      await passesFinished(server);
      expect(tagsOf(memberOf(systems, fay.email))).toEqual(expectedTags(fay, 'customer'));
      expect(memberOf(systems, fay.email).status).toBe('unsubscribed');

      // Passes go on on their timer; what they read again is their own writes or nothing, and they write nothing more.
      const settled = requestCounts(systems);
      const runsSoFar = (await server.runs(flowId)).length;
      await eventually(async () => expect((await server.runs(flowId)).filter((run) => run.finishedAt !== null).length).toBeGreaterThanOrEqual(runsSoFar + 3), WAIT_MS);
      const after = countsBetween(settled, requestCounts(systems));
      expect(after.hubspot.batchWrites).toBe(0);
      expect(after.mailchimp.memberWrites + after.mailchimp.batchSubmits).toBe(0);
      const runs = await server.runs(flowId);
      expectNoFailedRun(runs);
      expect(runs.filter((run) => run.reason !== 'schedule')).toEqual([]);
      expectWithinLimits(requestCounts(systems));
    },
    TEST_TIMEOUT_MS,
  );
});
