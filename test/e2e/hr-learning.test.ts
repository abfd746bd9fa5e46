import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MoodleUser } from '../fakes/moodle/site';
import { eventually } from '../server/support';
import { startServe, type RunView, type ServeProcess } from './harness';
import { credentials, flowFor, flowId, startFakes, type HrLearningFakes } from './hrLearning';

// The "HR ↔ learning" template (test/fixtures/flows/bamboohr-moodle.flow.json) as a person runs it: `syncline serve`
// as a real process, credentials stored and the flow imported and deployed over its API, the only changes to the
// template being the fakes' addresses and course ids, and a Moodle poll of seconds instead of minutes. BambooHR and
// Moodle are the stateful fakes in test/fakes; people act through their controls ("HR hires", "an administrator edits
// in Moodle"), and everything else goes over HTTP: the runtime calls both APIs, registers its webhook with BambooHR
// (serve --public-url), and BambooHR sends it signed deliveries. Moodle has no webhooks and no change feed: the
// runtime lists it whole on every poll and compares.
//
// Here BambooHR's changed-employees feed shows a change only after an hour (the fake's `changedLagSeconds`), so every
// BambooHR change the test makes can reach Moodle through a webhook only; the runs' logs then show it did.
//
// Every wait is for a condition: a record on a system, a run in the runtime's history, or "quiet" (below). The time
// limits only turn a condition that never comes true into a failure; they are generous for a busy machine.

const evidenceDir = join(import.meta.dirname, '..', 'output');
const WAIT_MS = 180_000;
const TEST_TIMEOUT_MS = 900_000;
const MOODLE_POLL_MS = 2_000;
const FEED_LAG_SECONDS = 3_600;
const placeholderKey = 'replaced-by-the-key-bamboohr-makes';

interface Systems extends HrLearningFakes {
  server: ServeProcess;
  /** The trigger's hook, which the runtime registers with BambooHR. */
  hookUrl: string;
}

let running: { fakes: HrLearningFakes; server: ServeProcess | null } | null = null;
afterEach(async ({ task }) => {
  if (!running) return;
  const { fakes, server } = running;
  running = null;
  if (task.result?.state === 'fail' && server) await keepEvidence(task.name, fakes, server);
  const exit = await server?.stop();
  server?.dispose();
  await fakes.close();
  if (exit !== undefined) expect(exit, 'serve stops cleanly on SIGTERM').toBe(0);
});

/** Every run with its per-record log, what each fake was asked, and the runtime's own log, for a failed test. */
async function keepEvidence(name: string, fakes: HrLearningFakes, server: ServeProcess): Promise<void> {
  const runs = [];
  for (const run of (await server.runs(flowId).catch(() => [])).reverse()) runs.push(await server.call(`/api/runs/${run.id}`).catch((error: unknown) => String(error)));
  const file = join(evidenceDir, `${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 80)}.json`);
  mkdirSync(evidenceDir, { recursive: true });
  const bamboohr = { requests: fakes.bamboohr.requests.map((entry) => `${entry.status} ${entry.method} ${entry.path}`), deliveries: fakes.bamboohr.webhooks.deliveries };
  writeFileSync(file, JSON.stringify({ runs, bamboohr, moodle: fakes.moodle.requests, serve: server.output.join('') }, null, 1));
  console.error(`hr-learning: the runs, the fakes' request logs and the runtime's log are in ${file}`);
}

async function startSystems(): Promise<Systems> {
  const fakes = await startFakes({ bamboohrChangedLagSeconds: FEED_LAG_SECONDS });
  running = { fakes, server: null };
  const server = await startServe();
  running.server = server;
  // What a person stores before importing the template. BambooHR makes the webhook's private key itself, and the
  // runtime stores it when it registers the webhook; but deploying refuses a flow whose `detect.secret` is not stored
  // yet (runtime/api/flows.ts checks every credential the flow names), so a placeholder stands in until then.
  await server.call('/api/credentials', { body: { name: credentials.bamboohrKey, type: 'token', value: fakes.bamboohr.apiKey } }, 201);
  await server.call('/api/credentials', { body: { name: credentials.moodleToken, type: 'token', value: fakes.moodle.token } }, 201);
  await server.call('/api/credentials', { body: { name: credentials.bamboohrWebhookKey, type: 'webhook-secret', value: placeholderKey } }, 201);
  return { ...fakes, server, hookUrl: `${server.base}/hooks/${flowId}/bamboohr` };
}

/** Imports and deploys the flow, and waits until BambooHR has the webhook and the runtime holds its private key. */
async function setUp(systems: Systems): Promise<void> {
  const { server, bamboohr } = systems;
  expect(await server.call('/api/flows', { body: flowFor(systems, { moodlePollMs: MOODLE_POLL_MS }) }, 201)).toEqual({ id: flowId });
  await server.call(`/api/flows/${flowId}/deploy`, { method: 'POST' });
  await eventually(async () => {
    // As a person would check it: BambooHR's List Webhooks, with the API key.
    const listed = await fetch(`${bamboohr.url}/api/v1/webhooks`, { headers: { authorization: bamboohr.authorization, accept: 'application/json' } });
    expect(((await listed.json()) as { webhooks: Array<{ url: string }> }).webhooks.map((webhook) => webhook.url)).toEqual([systems.hookUrl]);
    // The runtime says so once it has stored the key BambooHR made, over the placeholder: deliveries are checked
    // against it from then on.
    expect(server.output.join('')).toContain('webhook registered with the system');
  }, WAIT_MS);
}

const liveMoodleUsers = (systems: Systems) => [...systems.moodle.site.users.values()].filter((user) => !user.deleted && user.username !== 'guest' && user.username !== 'admin');
const moodleUserByEmail = (systems: Systems, email: string): MoodleUser | undefined => {
  const found = liveMoodleUsers(systems).filter((user) => user.email.toLowerCase() === email.toLowerCase());
  expect(found.length, `at most one Moodle account for ${email}`).toBeLessThanOrEqual(1);
  return found[0];
};
/** The departments whose course the user is enrolled in, by any method. */
const coursesOf = (systems: Systems, user: MoodleUser): string[] =>
  [...systems.courses].filter(([, course]) => systems.moodle.site.enrolmentsOf(course.id, user.id).length > 0).map(([department]) => department);

/**
 * Waits until the sync has nothing left to do: BambooHR has delivered what it had to, the runtime has run a pass for
 * every event it stored, no pass is running, and BambooHR delivered nothing new meanwhile.
 */
async function quiet(systems: Systems): Promise<void> {
  const { server, bamboohr } = systems;
  await eventually(async () => {
    await bamboohr.webhooks.idle();
    const deliveries = bamboohr.webhooks.deliveries.length;
    expect(server.pendingWebhookEvents()).toBe(0);
    expect((await server.runs(flowId)).filter((run) => run.finishedAt === null)).toEqual([]);
    await bamboohr.webhooks.idle();
    expect(bamboohr.webhooks.deliveries.length).toBe(deliveries);
    expect(server.pendingWebhookEvents()).toBe(0);
  }, WAIT_MS);
}

function expectNoFailedRun(runs: RunView[]): void {
  expect(runs.filter((run) => run.status === 'failed' || (run.summary?.failed ?? 0) > 0).map((run) => `${run.reason} ${run.status}: ${run.error}`)).toEqual([]);
}

/** Every write the runs made, with the reason of the run that made it. */
async function writes(server: ServeProcess): Promise<Array<{ reason: string; nodeId: string; outcome: string; fields: string[] }>> {
  const found = [];
  for (const run of await server.runs(flowId)) {
    if (!run.summary || run.summary.created + run.summary.updated + run.summary.deleted === 0) continue;
    const { log } = await server.call<{ log: Array<{ nodeId: string; outcome: string; fields: Array<{ field: string }> }> }>(`/api/runs/${run.id}`);
    for (const entry of log) {
      if (['created', 'updated', 'deleted'].includes(entry.outcome)) found.push({ reason: run.reason, nodeId: entry.nodeId, outcome: entry.outcome, fields: entry.fields.map((change) => change.field).sort() });
    }
  }
  return found;
}

describe('the HR ↔ learning template under syncline serve', () => {
  it(
    'keeps BambooHR employees and Moodle learners equal: a hire, a rename on each side, a department move, a termination and a rehire',
    async () => {
      const started = performance.now();
      const systems = await startSystems();
      const { bamboohr, bamboohrClock, moodle, courses, server } = systems;
      const course = (department: string) => courses.get(department)!;

      // Before the flow: Grace works in Engineering and already has a Moodle account (matched by email); Tom trains
      // people, is in Moodle only, and teaches the Engineering course.
      const grace = bamboohr.hire({ firstName: 'Grace', lastName: 'Hopper', workEmail: 'grace@acme.example', department: 'Engineering' });
      const graceAccount = moodle.seedUser({ username: 'ghopper', firstname: 'Grace', lastname: 'Hopper', email: 'grace@acme.example' });
      const tom = moodle.seedUser({ username: 'tom', firstname: 'Tom', lastname: 'Trainer', email: 'tom@training.example', department: 'Learning team' });
      moodle.seedEnrolment(course('Engineering').id, tom.id, { roleid: 3 });
      await setUp(systems);

      // The first pass links Grace's account and enrols her in her department's course; her username stays hers.
      await eventually(() => {
        expect(moodle.site.users.get(graceAccount.id)).toMatchObject({ username: 'ghopper', department: 'Engineering', suspended: false });
        expect(coursesOf(systems, graceAccount)).toEqual(['Engineering']);
      }, WAIT_MS);
      await quiet(systems);
      const readyAt = performance.now();

      // A hire: a Moodle account (username from the work email), enrolled as a student in the Sales course.
      const ada = await bamboohrClock.personEdits(() => bamboohr.hire({ firstName: 'Ada', lastName: 'Lovelace', workEmail: 'ada@acme.example', department: 'Sales' }));
      const account = await eventually(() => {
        const user = moodleUserByEmail(systems, 'ada@acme.example');
        expect(user).toMatchObject({ username: 'ada@acme.example', firstname: 'Ada', lastname: 'Lovelace', department: 'Sales', auth: 'manual', suspended: false });
        expect(coursesOf(systems, user!)).toEqual(['Sales']);
        return user!;
      }, WAIT_MS);
      expect(moodle.site.courseRoles(course('Sales').id, account.id).map((role) => role.shortname)).toEqual(['student']);
      await quiet(systems);

      // A rename in BambooHR, and Grace's new work email: both reach Moodle; Grace keeps her username.
      await bamboohrClock.personEdits(() => bamboohr.edit(ada.id, { lastName: 'King' }));
      await bamboohrClock.personEdits(() => bamboohr.edit(grace.id, { workEmail: 'grace.hopper@acme.example' }));
      await eventually(() => {
        expect(moodle.site.users.get(account.id)).toMatchObject({ firstname: 'Ada', lastname: 'King' });
        expect(moodle.site.users.get(graceAccount.id)).toMatchObject({ email: 'grace.hopper@acme.example', username: 'ghopper' });
      }, WAIT_MS);
      await quiet(systems);

      // A rename in Moodle: an administrator corrects Ada's first name. No one tells the runtime; the next poll lists
      // the site, finds her record differs from what was synced, and BambooHR takes the name.
      moodle.editUser(account.id, { firstname: 'Augusta Ada' });
      await eventually(() => expect(bamboohr.employee(ada.id)).toMatchObject({ firstName: 'Augusta Ada', lastName: 'King', workEmail: 'ada@acme.example' }), WAIT_MS);
      await quiet(systems);

      // A department change moves the enrolment: into the Operations course, out of the Sales course.
      await bamboohrClock.personEdits(() => bamboohr.edit(ada.id, { department: 'Operations' }));
      await eventually(() => {
        expect(coursesOf(systems, account)).toEqual(['Operations']);
        expect(moodle.site.users.get(account.id)).toMatchObject({ department: 'Operations' });
      }, WAIT_MS);
      expect(moodle.site.courseRoles(course('Operations').id, account.id).map((role) => role.shortname)).toEqual(['student']);
      expect(moodle.site.courseRoles(course('Sales').id, account.id)).toEqual([]);
      await quiet(systems);

      // A termination: BambooHR keeps Ada, Inactive; Moodle suspends her account, which keeps its enrolment.
      const today = bamboohrClock.now().toISOString().slice(0, 10);
      await bamboohrClock.personEdits(() => bamboohr.terminate(ada.id, today));
      await eventually(() => expect(moodle.site.users.get(account.id)).toMatchObject({ suspended: true }), WAIT_MS);
      await quiet(systems);
      expect(coursesOf(systems, account)).toEqual(['Operations']);

      // Rehired, she signs in again.
      await bamboohrClock.personEdits(() => bamboohr.rehire(ada.id, today));
      await eventually(() => expect(moodle.site.users.get(account.id)).toMatchObject({ suspended: false }), WAIT_MS);
      await quiet(systems);

      // Grace moves to a department that has no course: her account's department follows, and she keeps the course she
      // had (the flow enrols only in mapped departments' courses, and never unenrols for want of one).
      await bamboohrClock.personEdits(() => bamboohr.edit(grace.id, { department: 'Research' }));
      await eventually(() => expect(moodle.site.users.get(graceAccount.id)).toMatchObject({ department: 'Research' }), WAIT_MS);
      await quiet(systems);

      // Where it ended: one account each, the people as HR and the administrator left them; Tom untouched; nothing
      // created in BambooHR from Moodle.
      expect(liveMoodleUsers(systems).map((user) => user.email).sort()).toEqual(['ada@acme.example', 'grace.hopper@acme.example', 'tom@training.example']);
      expect(moodle.site.users.get(account.id)).toMatchObject({ firstname: 'Augusta Ada', lastname: 'King', department: 'Operations', suspended: false });
      expect(coursesOf(systems, account)).toEqual(['Operations']);
      expect(moodle.site.users.get(graceAccount.id)).toMatchObject({ firstname: 'Grace', lastname: 'Hopper', department: 'Research', suspended: false });
      expect(coursesOf(systems, graceAccount)).toEqual(['Engineering']);
      expect(moodle.site.users.get(tom.id)).toMatchObject({ firstname: 'Tom', lastname: 'Trainer', department: 'Learning team', suspended: false });
      expect(coursesOf(systems, tom)).toEqual(['Engineering']);
      expect(moodle.site.courseRoles(course('Engineering').id, tom.id).map((role) => role.shortname)).toEqual(['editingteacher']);
      expect([...bamboohr.company.employees.values()].map((employee) => employee.id).sort()).toEqual([grace.id, ada.id].sort());
      expect(bamboohr.employee(ada.id)).toMatchObject({ status: 'Active', terminationDate: null });
      expect(await server.call(`/api/conflicts?flow=${flowId}`)).toEqual([]);

      const runs = await server.runs(flowId);
      expectNoFailedRun(runs);
      // BambooHR signed every delivery and the runtime accepted each one.
      expect(bamboohr.webhooks.deliveries.length).toBeGreaterThan(0);
      expect(bamboohr.webhooks.deliveries.filter((delivery) => delivery.status !== 202 || !delivery.headers['X-BambooHR-Signature'])).toEqual([]);
      // Each BambooHR change came by its webhook; the Moodle rename by a poll.
      const made = await writes(server);
      expect(made).toEqual(
        expect.arrayContaining([
          { reason: 'webhook', nodeId: 'moodle-users', outcome: 'created', fields: ['department', 'email', 'firstname', 'lastname', 'suspended'] },
          { reason: 'webhook', nodeId: 'moodle-enrolments', outcome: 'created', fields: ['courseid', 'email'] },
          { reason: 'webhook', nodeId: 'moodle-users', outcome: 'updated', fields: ['lastname'] },
          { reason: 'webhook', nodeId: 'moodle-users', outcome: 'updated', fields: ['email'] },
          { reason: 'schedule', nodeId: 'bamboohr', outcome: 'updated', fields: ['firstName'] },
          { reason: 'webhook', nodeId: 'moodle-enrolments', outcome: 'updated', fields: ['courseid'] },
          { reason: 'webhook', nodeId: 'moodle-users', outcome: 'updated', fields: ['suspended'] },
        ]),
      );
      console.info(
        `hr-learning: set up in ${Math.round(readyAt - started)} ms, synced in ${Math.round(performance.now() - readyAt)} ms; ${runs.length} passes ` +
          `(${runs.filter((run) => run.reason === 'webhook').length} for BambooHR's webhook, ${runs.filter((run) => run.reason === 'schedule').length} Moodle polls), ` +
          `${bamboohr.requests.length} BambooHR requests, ${moodle.requests.length} Moodle requests, ${bamboohr.webhooks.deliveries.length} webhook deliveries`,
      );
    },
    TEST_TIMEOUT_MS,
  );
});
