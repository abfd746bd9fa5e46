import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGitHubFake, type GitHubFake } from '../fakes/github/server';
import { startZendeskFake, type ZendeskFake } from '../fakes/zendesk/server';
import { eventually } from '../server/support';
import { startServe, SystemClock, type RunView, type ServeProcess } from './harness';

// The "Help desk ↔ engineering" template (test/fixtures/flows/helpdesk-engineering.flow.json) as a person runs it:
// `syncline serve` as a real process, credentials stored and the flow imported and deployed over its API, the only
// change to the template being the fakes' addresses in place of zendesk.com and api.github.com. Zendesk and GitHub
// are the stateful fakes in test/fakes; people act through their controls ("an agent edits", "an engineer closes"),
// and everything else goes over HTTP: the runtime calls the fakes' APIs, the fakes deliver signed webhooks to it.
//
// Every wait is for a condition: a record on a system, a run in the runtime's history, or "quiet" (below). The time
// limits only turn a condition that never comes true into a failure; they are generous for a busy machine.

const flowId = 'helpdesk-engineering';
const template = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'flows', `${flowId}.flow.json`), 'utf8')) as FlowJson;
/** The Zendesk user and GitHub repository the template names, so its connections stay as they are. */
const zendeskEmail = 'syncline@acme.example';
const zendeskToken = 'zendesk-api-token-for-the-e2e';
const githubToken = 'ghp_helpdesk_engineering_e2e';
const githubHookSecret = 'a-secret-typed-into-github-and-syncline';
const evidenceDir = join(import.meta.dirname, '..', 'output');
const WAIT_MS = 180_000;
const TEST_TIMEOUT_MS = 900_000;
/** The ticket events the Zendesk webhook subscribes to (docs/connectors/zendesk.md, Webhooks). */
const ticketEvents = ['created', 'status_changed', 'priority_changed', 'subject_changed', 'soft_deleted', 'permanently_deleted', 'undeleted'].map(
  (event) => `zen:event-type:ticket.${event}`,
);

interface FlowJson {
  id: string;
  nodes: Array<{ id: string; type: string; config: Record<string, unknown> & { connection?: Record<string, unknown> } }>;
}

interface Systems {
  zendesk: ZendeskFake;
  /** Zendesk's clock; the fake's stands still unless set, so this one drives it. */
  zendeskClock: SystemClock;
  github: GitHubFake;
  githubClock: SystemClock;
  server: ServeProcess;
  /** Writes what the runtime and the fakes did to test/output, for a failed test. */
  keepEvidence(testName: string): Promise<void>;
  close(): Promise<void>;
}

let running: Systems | null = null;
afterEach(async ({ task }) => {
  if (task.result?.state === 'fail') await running?.keepEvidence(task.name);
  await running?.close();
  running = null;
});

async function startSystems(): Promise<Systems> {
  const zendeskClock = new SystemClock();
  const zendesk = await startZendeskFake({ email: zendeskEmail, apiToken: zendeskToken });
  const stopDriving = zendeskClock.drive((now) => zendesk.clock.set(now));
  const githubClock = new SystemClock();
  const github = await startGitHubFake({ owner: 'acme', repo: 'product', tokens: { [githubToken]: 'octocat' }, now: githubClock.now });
  let server: ServeProcess | null = null;
  const systems: Systems = {
    zendesk,
    zendeskClock,
    github,
    githubClock,
    get server() {
      if (!server) throw new Error('the server is not running');
      return server;
    },
    keepEvidence: async (name) => {
      if (!server) return;
      // Every run with its per-record log, what each fake was asked, and the runtime's own log.
      const runs = [];
      for (const run of (await server.runs(flowId).catch(() => [])).reverse()) runs.push(await server.call(`/api/runs/${run.id}`).catch((error: unknown) => String(error)));
      const file = join(evidenceDir, `${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 80)}.json`);
      mkdirSync(evidenceDir, { recursive: true });
      writeFileSync(file, JSON.stringify({ runs, github: github.requests.log, zendesk: zendesk.requests, serve: server.output.join('') }, null, 1));
      console.error(`helpdesk-engineering: the runs, the fakes' request logs and the runtime's log are in ${file}`);
    },
    close: async () => {
      const exit = await server?.stop();
      server?.dispose();
      stopDriving();
      // Deliveries held to the end are never sent: closing waits only for those in flight.
      await Promise.all([zendesk.close(), github.close()]);
      if (exit !== undefined) expect(exit, 'serve stops cleanly on SIGTERM').toBe(0);
    },
  };
  running = systems;
  server = await startServe();
  return systems;
}

/** The template with the fakes' addresses: Zendesk's `baseUrl` instead of its subdomain, GitHub's REST address. */
function flowFor(systems: Systems, detect?: { mode: 'poll'; intervalMs: number }): FlowJson {
  const flow = structuredClone(template);
  for (const node of flow.nodes) {
    if (node.id === 'zendesk') {
      const { subdomain: _publicAddress, ...connection } = node.config.connection ?? {};
      node.config.connection = { ...connection, baseUrl: systems.zendesk.url };
    }
    if (node.id === 'github') node.config.connection = { ...node.config.connection, baseUrl: systems.github.url };
    if (detect && node.type === 'trigger') node.config.detect = detect;
  }
  return flow;
}

async function githubApi<T>(systems: Systems, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${systems.github.url}${path}`, {
    method,
    headers: { 'user-agent': 'e2e-test', accept: 'application/vnd.github+json', authorization: `Bearer ${githubToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`GitHub ${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function zendeskApi<T>(systems: Systems, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${systems.zendesk.url}${path}`, {
    method,
    headers: { authorization: systems.zendesk.auth.apiToken, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`Zendesk ${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * The setup a person does, the webhooks in each system's admin pages included: neither connector registers webhooks
 * itself (ConnectorWebhook.register). Zendesk makes a webhook's signing secret, which is read back and stored in
 * Syncline before the flow can be deployed; GitHub takes a secret chosen here, and pings the hook once it exists.
 */
async function setUp(systems: Systems, flow: FlowJson): Promise<void> {
  const { server, github } = systems;
  await server.call('/api/credentials', { body: { name: 'zendesk-token', type: 'token', value: zendeskToken } }, 201);
  await server.call('/api/credentials', { body: { name: 'github-token', type: 'token', value: githubToken } }, 201);
  await server.call('/api/credentials', { body: { name: 'github-webhook-secret', type: 'webhook-secret', value: githubHookSecret } }, 201);
  const { webhook } = await zendeskApi<{ webhook: { id: string } }>(systems, 'POST', '/api/v2/webhooks', {
    webhook: { name: 'Syncline: help desk ↔ engineering', endpoint: `${server.base}/hooks/${flowId}/zendesk`, http_method: 'POST', request_format: 'json', status: 'active', subscriptions: ticketEvents },
  });
  const { signing_secret: signing } = await zendeskApi<{ signing_secret: { secret: string } }>(systems, 'GET', `/api/v2/webhooks/${webhook.id}/signing_secret`);
  await server.call('/api/credentials', { body: { name: 'zendesk-webhook-secret', type: 'webhook-secret', value: signing.secret } }, 201);

  expect(await server.call('/api/flows', { body: flow }, 201)).toEqual({ id: flowId });
  await server.call(`/api/flows/${flowId}/deploy`, { method: 'POST' });

  const githubHook = `${server.base}/hooks/${flowId}/github`;
  const hooks = await githubApi<Array<{ config: { url: string } }>>(systems, 'GET', '/repos/acme/product/hooks');
  // Were the runtime to register the hook itself one day (`--public-url` is given), it would be there already.
  if (!hooks.some((hook) => hook.config.url === githubHook)) {
    await githubApi(systems, 'POST', '/repos/acme/product/hooks', {
      name: 'web',
      active: true,
      events: ['issues'],
      config: { url: githubHook, content_type: 'json', secret: githubHookSecret },
    });
  }
  await github.webhooks.settled();
}

/** A ticket created through Zendesk's API, as a contact form or another integration makes one. */
async function createTicket(systems: Systems, ticket: { subject: string; description: string; priority: string; requester: string }): Promise<number> {
  const { zendesk, zendeskClock } = systems;
  const created = await zendeskClock.personEdits(() =>
    zendeskApi<{ ticket: { id: number } }>(systems, 'POST', '/api/v2/tickets.json', {
      ticket: { subject: ticket.subject, comment: { body: ticket.description }, priority: ticket.priority, requester: { email: ticket.requester, name: ticket.requester.split('@')[0] } },
    }),
  );
  expect(zendesk.ticket(created.ticket.id)).toMatchObject({ status: 'new' });
  return created.ticket.id;
}

const liveTickets = (zendesk: ZendeskFake) => [...zendesk.account.tickets.values()].filter((ticket) => ticket.deleted === null);
const ticketsNamed = (zendesk: ZendeskFake, subject: string) => liveTickets(zendesk).filter((ticket) => ticket.subject === subject);
const issuesNamed = (github: GitHubFake, title: string) => github.issues.all().filter((issue) => issue.title === title);
const labelsOf = (issue: Record<string, unknown> | undefined) => ((issue?.labels ?? []) as Array<{ name: string }>).map((label) => label.name).sort();

/** The one record of that name on each side (a second one would be a duplicate the sync made). */
async function linkedPair(systems: Systems, name: string): Promise<{ ticket: number; issue: number }> {
  return eventually(() => {
    const tickets = ticketsNamed(systems.zendesk, name);
    const issues = issuesNamed(systems.github, name);
    expect(tickets).toHaveLength(1);
    expect(issues).toHaveLength(1);
    return { ticket: tickets[0]!.id, issue: Number(issues[0]!.number) };
  }, WAIT_MS);
}

/**
 * Waits until no pass of the flow is running, so the pass that made what the test just saw has finished. Today a
 * person's edit to a record made between its creation by a pass and the end of that pass is lost: the pass reads the
 * records it created back once it has written to every side (SyncEngine.readBackCreated) and takes what it reads, the
 * edit included, for what it wrote; the next pass then writes the edited field back. People here edit afterwards.
 */
async function passesFinished(server: ServeProcess): Promise<void> {
  await eventually(async () => expect((await server.runs(flowId)).filter((run) => run.finishedAt === null)).toEqual([]), WAIT_MS);
}

/** How many deliveries the fakes have attempted; a change means the systems reported something new. */
function deliveryAttempts(systems: Systems): number {
  return systems.github.webhooks.deliveries().filter((delivery) => delivery.state !== 'held').length + systems.zendesk.webhooks.invocations.reduce((sum, invocation) => sum + invocation.attempts.length, 0);
}

/**
 * Waits until the sync has nothing left to do: both fakes have delivered what they had to, the runtime has run a pass
 * for every event it stored, no pass is running, and the fakes have delivered nothing new meanwhile.
 */
async function quiet(systems: Systems): Promise<void> {
  const { server, github, zendesk } = systems;
  await eventually(async () => {
    await github.webhooks.settled();
    await zendesk.webhooks.idle();
    const attempts = deliveryAttempts(systems);
    expect(server.pendingWebhookEvents()).toBe(0);
    expect((await server.runs(flowId)).filter((run) => run.finishedAt === null)).toEqual([]);
    await github.webhooks.settled();
    await zendesk.webhooks.idle();
    expect(deliveryAttempts(systems)).toBe(attempts);
    expect(server.pendingWebhookEvents()).toBe(0);
  }, WAIT_MS);
}

/** `syncline_webhook_events_total` for this flow and a result (`stored`, `repeated_delivery`) from GET /metrics. */
async function webhookMetric(server: ServeProcess, result: string): Promise<number> {
  const text = await (await server.api('/metrics')).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`syncline_webhook_events_total{flow="${flowId}",result="${result}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

function expectNoFailedRun(runs: RunView[]): void {
  expect(runs.filter((run) => run.status === 'failed' || (run.summary?.failed ?? 0) > 0).map((run) => `${run.reason} ${run.status}: ${run.error}`)).toEqual([]);
}

describe('the help desk ↔ engineering template under syncline serve', () => {
  it(
    'syncs Zendesk tickets and GitHub issues through both systems\' webhooks: creates, edits on both sides, a close, a reopen, a title conflict and repeated deliveries',
    async () => {
      const started = performance.now();
      const systems = await startSystems();
      const { zendesk, zendeskClock, github, githubClock, server } = systems;
      await setUp(systems, flowFor(systems));
      // GitHub pings a new hook; the trigger answers the ping, so GitHub shows the hook as working.
      expect(github.webhooks.hooks().map((hook) => hook.lastResponse)).toEqual([expect.objectContaining({ code: 200 })]);
      const readyAt = performance.now();

      // A customer's ticket in Zendesk becomes an issue: the subject its title, the description its body, the priority
      // a label. The requester's email stays in Zendesk: GitHub has no field for it, and issues may be public.
      const login = 'Login button does nothing on Safari';
      const loginDescription = 'Since Monday the login button does nothing in Safari 17.';
      await createTicket(systems, { subject: login, description: loginDescription, priority: 'high', requester: 'ada@customer.example' });
      const loginPair = await linkedPair(systems, login);
      expect(github.issues.get(loginPair.issue)).toMatchObject({ body: loginDescription, state: 'open' });
      expect(labelsOf(github.issues.get(loginPair.issue))).toEqual(['priority: high']);
      expect(JSON.stringify(github.issues.get(loginPair.issue))).not.toContain('ada@customer.example');

      // An engineer's issue becomes a ticket; its priority label becomes the ticket's priority, its other labels stay.
      const exportTitle = 'CSV export times out';
      const exportBody = 'Exporting 10k rows times out after 30 s.';
      await githubClock.personEdits(() => github.human.createIssue({ title: exportTitle, body: exportBody, labels: ['bug', 'priority: urgent'] }));
      const exportPair = await linkedPair(systems, exportTitle);
      await eventually(() => expect(zendesk.ticket(exportPair.ticket)).toMatchObject({ subject: exportTitle, status: 'open', priority: 'urgent' }), WAIT_MS);
      await quiet(systems);
      expect(github.issues.get(exportPair.issue)).toMatchObject({ title: exportTitle, body: exportBody, state: 'open' });
      expect(labelsOf(github.issues.get(exportPair.issue))).toEqual(['bug', 'priority: urgent']);

      // Between two passes, the agent raises the priority and puts the ticket on pending; the engineer adds a label and
      // writes repro steps into the body. Both survive: the issue has the engineer's label and body beside the new
      // priority's label, and the ticket stays pending (the conflict node keeps Zendesk's own status, so the issue's
      // "open" is not written back over it).
      github.webhooks.hold();
      zendesk.webhooks.hold();
      await zendeskClock.personEdits(() => zendesk.agentUpdateTicket(loginPair.ticket, { priority: 'urgent', status: 'pending' }));
      const reproBody = `${loginDescription}\n\nRepro: a private window, any account.`;
      await githubClock.personEdits(() => github.human.editIssue(loginPair.issue, { labels: [...labelsOf(github.issues.get(loginPair.issue)), 'needs-repro'], body: reproBody }));
      zendesk.webhooks.release();
      await github.webhooks.release();
      await eventually(() => expect(labelsOf(github.issues.get(loginPair.issue))).toEqual(['needs-repro', 'priority: urgent']), WAIT_MS);
      await quiet(systems);
      expect(github.issues.get(loginPair.issue)).toMatchObject({ title: login, body: reproBody, state: 'open' });
      expect(zendesk.ticket(loginPair.ticket)).toMatchObject({ subject: login, status: 'pending', priority: 'urgent' });

      // The engineer closes the issue: the ticket is solved. Reopened, the ticket is open again.
      await githubClock.personEdits(() => github.human.editIssue(loginPair.issue, { state: 'closed', state_reason: 'completed' }));
      await eventually(() => expect(zendesk.ticket(loginPair.ticket)).toMatchObject({ status: 'solved' }), WAIT_MS);
      await githubClock.personEdits(() => github.human.editIssue(loginPair.issue, { state: 'open' }));
      await eventually(() => expect(zendesk.ticket(loginPair.ticket)).toMatchObject({ status: 'open' }), WAIT_MS);

      // Zendesk cannot take a priority away from a ticket, so the priority label follows the ticket: removed from the
      // issue, it comes back, and the ticket keeps its priority.
      await githubClock.personEdits(() => github.human.editIssue(loginPair.issue, { labels: ['needs-repro'] }));
      await eventually(() => expect(labelsOf(github.issues.get(loginPair.issue))).toEqual(['needs-repro', 'priority: urgent']), WAIT_MS);
      await quiet(systems);
      expect(zendesk.ticket(loginPair.ticket)).toMatchObject({ priority: 'urgent', status: 'open' });

      // Both rename the export record between two passes. The template asks a person about titles (`manual`): the
      // conflict is in the inbox with the base and both values, and each side keeps its own title meanwhile.
      github.webhooks.hold();
      zendesk.webhooks.hold();
      const agentTitle = 'Export times out for large accounts';
      const engineerTitle = 'CSV export times out after 30 s';
      await zendeskClock.personEdits(() => zendesk.agentUpdateTicket(exportPair.ticket, { subject: agentTitle }));
      await githubClock.personEdits(() => github.human.editIssue(exportPair.issue, { title: engineerTitle }));
      zendesk.webhooks.release();
      await github.webhooks.release();
      const conflict = await eventually(async () => {
        const open = await server.call<Array<{ id: string; kind: string; field: string; base: unknown; sides: Record<string, unknown> }>>(`/api/conflicts?flow=${flowId}`);
        expect(open).toEqual([expect.objectContaining({ kind: 'field', field: 'title', base: exportTitle, sides: { zendesk: agentTitle, github: engineerTitle } })]);
        return open[0]!;
      }, WAIT_MS);
      await quiet(systems);
      expect(zendesk.ticket(exportPair.ticket)).toMatchObject({ subject: agentTitle });
      expect(github.issues.get(exportPair.issue)).toMatchObject({ title: engineerTitle });
      expect(await server.call(`/api/conflicts?flow=${flowId}`)).toHaveLength(1);

      // Resolved for GitHub's title: the ticket takes it.
      await server.call(`/api/conflicts/${conflict.id}/resolve`, { body: { side: 'github' } });
      await eventually(() => expect(zendesk.ticket(exportPair.ticket)).toMatchObject({ subject: engineerTitle }), WAIT_MS);
      await eventually(async () => {
        const all = await server.call<Array<{ id: string; status: string }>>(`/api/conflicts?flow=${flowId}&status=all`);
        expect(all.find((entry) => entry.id === conflict.id)?.status).toBe('applied');
      }, WAIT_MS);
      await quiet(systems);

      // Each system sends a delivery again (GitHub's "Redeliver", Zendesk's retry of an invocation): the same delivery
      // id, accepted and not stored a second time.
      const repeatedBefore = await webhookMetric(server, 'repeated_delivery');
      const githubDelivery = github.webhooks.deliveries().findLast((delivery) => delivery.event === 'issues' && delivery.statusCode === 202);
      expect(githubDelivery).toBeDefined();
      expect(server.deliveryRows(githubDelivery!.guid)).toEqual({ events: 1, deliveries: 1 });
      expect((await github.webhooks.redeliver(githubDelivery!.guid)).statusCode).toBe(202);
      expect(server.deliveryRows(githubDelivery!.guid)).toEqual({ events: 1, deliveries: 1 });
      const invocation = zendesk.webhooks.invocations.findLast((entry) => entry.eventType === 'zen:event-type:ticket.subject_changed' && entry.attempts.at(-1)?.status === 202);
      expect(invocation).toBeDefined();
      expect(server.deliveryRows(invocation!.invocationId)).toEqual({ events: 1, deliveries: 1 });
      const attempts = invocation!.attempts.length;
      zendesk.webhooks.redeliver(invocation!.invocationId);
      await zendesk.webhooks.idle();
      expect(invocation!.attempts).toHaveLength(attempts + 1);
      expect(invocation!.attempts.at(-1)?.status).toBe(202);
      expect(server.deliveryRows(invocation!.invocationId)).toEqual({ events: 1, deliveries: 1 });
      expect(await webhookMetric(server, 'repeated_delivery')).toBe(repeatedBefore + 2);
      await quiet(systems);

      // Where it ended: one record a side for each, every field as the people left it.
      expect(liveTickets(zendesk).map((ticket) => ticket.subject).sort()).toEqual([engineerTitle, login]);
      expect(github.issues.all().map((issue) => issue.title).sort()).toEqual([engineerTitle, login]);
      expect(zendesk.ticket(loginPair.ticket)).toMatchObject({ subject: login, status: 'open', priority: 'urgent', description: loginDescription });
      expect(zendesk.user(Number(zendesk.ticket(loginPair.ticket).requester_id)).email).toBe('ada@customer.example');
      expect(github.issues.get(loginPair.issue)).toMatchObject({ title: login, body: reproBody, state: 'open' });
      expect(labelsOf(github.issues.get(loginPair.issue))).toEqual(['needs-repro', 'priority: urgent']);
      expect(zendesk.ticket(exportPair.ticket)).toMatchObject({ subject: engineerTitle, status: 'open', priority: 'urgent' });
      expect(github.issues.get(exportPair.issue)).toMatchObject({ title: engineerTitle, body: exportBody, state: 'open' });
      expect(labelsOf(github.issues.get(exportPair.issue))).toEqual(['bug', 'priority: urgent']);

      const runs = await server.runs(flowId);
      expectNoFailedRun(runs);
      expect(runs.filter((run) => run.reason === 'schedule')).toEqual([]);
      // The sync's own writes come back as webhooks too; they are recognised as its own and change nothing.
      expect(runs.reduce((sum, run) => sum + (run.summary?.echoes ?? 0), 0)).toBeGreaterThan(0);
      console.info(
        `helpdesk-engineering, webhooks: set up in ${Math.round(readyAt - started)} ms, synced in ${Math.round(performance.now() - readyAt)} ms; ${runs.length} passes, ` +
          `${zendesk.countRequests('GET /api/v2/incremental/tickets/cursor')} Zendesk export requests (${zendesk.requests.filter((request) => request.status === 429).length} answered 429), ` +
          `${github.requests.count()} GitHub requests`,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'converges by polling alone while both systems hold their webhook deliveries, and sits out a GitHub rate limit',
    async () => {
      const started = performance.now();
      const systems = await startSystems();
      const { zendesk, zendeskClock, github, githubClock, server } = systems;
      // The webhooks are set up in both systems, but nothing they send arrives: the flow's triggers poll instead.
      github.webhooks.hold();
      zendesk.webhooks.hold();
      await setUp(systems, flowFor(systems, { mode: 'poll', intervalMs: 7000 }));
      const readyAt = performance.now();
      /** Zendesk's export never shows the last minute: a change of Zendesk's is polled once a minute has gone by. */
      const aMinuteLater = () => zendeskClock.advance(61_000);

      // A ticket and an issue, created at the same time.
      const printer = 'Printer driver crashes the app';
      await createTicket(systems, { subject: printer, description: 'Printing any invoice closes the app.', priority: 'normal', requester: 'bob@customer.example' });
      aMinuteLater();
      const darkMode = 'Dark mode hides the save button';
      await githubClock.personEdits(() => github.human.createIssue({ title: darkMode, body: 'White on white.', labels: ['ui'] }));
      const printerPair = await linkedPair(systems, printer);
      const darkPair = await linkedPair(systems, darkMode);
      await eventually(() => {
        expect(github.issues.get(printerPair.issue)).toMatchObject({ body: 'Printing any invoice closes the app.', state: 'open' });
        expect(labelsOf(github.issues.get(printerPair.issue))).toEqual(['priority: normal']);
        expect(zendesk.ticket(darkPair.ticket)).toMatchObject({ status: 'open', priority: null });
      }, WAIT_MS);
      await passesFinished(server);

      // Edits on both sides, to different fields, and a close. The passes run on their timer meanwhile, so the edits
      // are to fields the sync is not writing at that moment: GitHub takes no conditional update, and a label set
      // written by a pass that read the issue before a person's label edit would replace that edit.
      const printing = 'Printer driver crashes the app when printing invoices';
      await zendeskClock.personEdits(() => zendesk.agentUpdateTicket(printerPair.ticket, { priority: 'high' }));
      aMinuteLater();
      await githubClock.personEdits(() => github.human.editIssue(printerPair.issue, { title: printing }));
      await githubClock.personEdits(() => github.human.editIssue(darkPair.issue, { labels: [...labelsOf(github.issues.get(darkPair.issue)), 'priority: low'] }));
      await eventually(() => {
        expect(github.issues.get(printerPair.issue)).toMatchObject({ title: printing });
        expect(labelsOf(github.issues.get(printerPair.issue))).toEqual(['priority: high']);
        expect(zendesk.ticket(printerPair.ticket)).toMatchObject({ subject: printing, priority: 'high' });
        expect(zendesk.ticket(darkPair.ticket)).toMatchObject({ priority: 'low' });
      }, WAIT_MS);
      await githubClock.personEdits(() => github.human.editIssue(darkPair.issue, { state: 'closed', state_reason: 'completed' }));
      await eventually(() => expect(zendesk.ticket(darkPair.ticket)).toMatchObject({ status: 'solved' }), WAIT_MS);

      // GitHub's hourly budget runs out, to be reset in ten minutes: passes stop (not fail) and write nothing. An engineer
      // renames an issue and an agent raises a priority meanwhile.
      github.rateLimit.set({ remaining: 0, resetAt: new Date(githubClock.now().getTime() + 10 * 60_000) }, 'octocat');
      const limitedAt = new Date().toISOString();
      const renamed = 'Printer driver crashes the app on Windows';
      await githubClock.personEdits(() => github.human.editIssue(printerPair.issue, { title: renamed }));
      await zendeskClock.personEdits(() => zendesk.agentUpdateTicket(darkPair.ticket, { priority: 'urgent' }));
      aMinuteLater();
      const stopped = await eventually(async () => {
        const run = (await server.runs(flowId)).find((entry) => entry.startedAt > limitedAt && entry.finishedAt !== null);
        expect(run).toMatchObject({ status: 'stopped', summary: { created: 0, updated: 0, deleted: 0, failed: 0 } });
        return run!;
      }, WAIT_MS);
      expect(stopped.error).toMatch(/GitHub rate limit reached \(.*\); the next pass resumes at \d{4}-/);
      expect(stopped.error).not.toMatch(/credential|token/i);

      // The budget is back: the next scheduled pass goes on from where the stopped ones were and catches up.
      github.rateLimit.set({ remaining: 5000 }, 'octocat');
      const restoredAt = new Date().toISOString();
      await eventually(() => {
        expect(zendesk.ticket(printerPair.ticket)).toMatchObject({ subject: renamed });
        expect(labelsOf(github.issues.get(darkPair.issue))).toEqual(['priority: urgent', 'ui']);
      }, WAIT_MS);
      await passesFinished(server);
      const runs = await server.runs(flowId);
      expect(runs.some((run) => run.startedAt > restoredAt && run.status === 'ok')).toBe(true);
      expectNoFailedRun(runs);
      // Polling alone: no pass ran for a webhook, and the runtime received none.
      expect(runs.filter((run) => run.reason !== 'schedule')).toEqual([]);
      expect(await webhookMetric(server, 'stored')).toBe(0);
      expect(liveTickets(zendesk)).toHaveLength(2);
      expect(github.issues.all()).toHaveLength(2);
      console.info(
        `helpdesk-engineering, polling: set up in ${Math.round(readyAt - started)} ms, synced in ${Math.round(performance.now() - readyAt)} ms; ${runs.length} passes ` +
          `(${runs.filter((run) => run.status === 'stopped').length} stopped by the rate limit)`,
      );
    },
    TEST_TIMEOUT_MS,
  );
});
