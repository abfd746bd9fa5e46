/**
 * CRM ↔ marketing bench (issue 16): the requests HubSpot and Mailchimp receive when the "CRM ↔ marketing" template
 * (test/fixtures/flows/crm-marketing.flow.json) keeps 5,000 contacts in sync under a real `syncline serve`, against
 * the fakes of both systems (test/fakes/hubspot, test/fakes/mailchimp), which count what they are asked. Four
 * passes, each started with "Run now": the initial sync, a quiet pass right after it and another after that, and a
 * pass after 300 edits (150 in each system). Prints `{"bench":"crm-marketing","measurements":[...]}` for `npm run bench` (bin/bench.mjs).
 *
 *   node --import tsx bench/crm-marketing.ts [--runs 5]
 *
 * Request counts barely vary from run to run: what does is how often Mailchimp's batches are polled before they finish,
 * which follows how long they wait their turn. The dataset is the e2e test's (test/e2e/crmMarketing.ts), seeded the
 * same way every run.
 */
import {
  countsBetween,
  credentials,
  flowFor,
  flowId,
  requestCounts,
  seedContacts,
  startFakes,
  storeCredentials,
  type CrmMarketingFakes,
  type RequestCounts,
  type SeededPerson,
} from '../test/e2e/crmMarketing';
import { startServe, type RunView, type ServeProcess } from '../test/e2e/harness';
import type { Measurement } from './engine';

const COUNTS = { hubspotOnly: 4000, mailchimpOnly: 500, equal: 500 };
const EDITS_PER_SIDE = 150;
/** Longest any one pass or wait may take before the run is reported as failed. */
const WAIT_MS = 900_000;
const GROUP = 'CRM ↔ marketing, 5,000 contacts';

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One pass by "Run now", waited for in the run history (its HTTP answer may come after fetch stops waiting). */
async function runPass(server: ServeProcess, label: string): Promise<RunView> {
  const known = new Set((await server.runs(flowId)).map((run) => run.id));
  void server.api(`/api/flows/${flowId}/run`, { method: 'POST' }).catch(() => null);
  const run = await until(label, async () => (await server.runs(flowId)).find((entry) => !known.has(entry.id) && entry.finishedAt !== null));
  if (run.status !== 'ok' || (run.summary?.failed ?? 0) > 0) throw new Error(`${label}: ${run.status} ${JSON.stringify(run.summary)} ${run.error ?? ''}`);
  return run;
}

type Phase = 'initial' | 'quiet' | 'quietAgain' | 'edits';

interface RunFigures extends Record<Phase, RequestCounts> {
  summaries: Record<Phase, RunView['summary']>;
  /** Requests of the initial sync that wrote to a contact already equal on both sides. */
  writesToEqual: number;
}

/** The people's edits: first names in HubSpot, last names in Mailchimp, each system's clock then past them. */
async function edit(fakes: CrmMarketingFakes, people: SeededPerson[]): Promise<void> {
  const inHubSpot = people.slice(0, EDITS_PER_SIDE);
  const inMailchimp = people.slice(EDITS_PER_SIDE, 2 * EDITS_PER_SIDE);
  for (const person of inHubSpot) fakes.hubspot.personUpdate('contacts', person.hubspotId as string, { firstname: `${person.first} Jr` });
  for (const person of inMailchimp) fakes.mailchimp.person.edit(person.email, { merge_fields: { LNAME: `${person.last}-Smith` } });
  const editedAt = Date.now();
  // A poll sees an edit once HubSpot's search index shows it and Mailchimp's clock has left the second it was made in.
  await until('HubSpot search to show the edits', () =>
    inHubSpot.every((person) => fakes.hubspot.portal.searchView(fakes.hubspot.portal.objects.contacts.get(person.hubspotId as string)!)?.properties.get('firstname') === `${person.first} Jr`) ? true : undefined,
  );
  await until("Mailchimp's clock to pass the edits", () => (fakes.mailchimp.clock.now().getTime() >= Math.floor(editedAt / 1000) * 1000 + 2000 ? true : undefined));
}

/**
 * One run on fresh fakes and a fresh flow, on the `serve` process every run shares (started once: a start compiles the
 * runtime). The flow and its state, and the credentials, are removed afterwards.
 */
async function measureOnce(server: ServeProcess): Promise<RunFigures> {
  const fakes = await startFakes();
  try {
    await storeCredentials(server, fakes);
    const seeded = seedContacts(fakes, COUNTS);
    // Passes run only when asked: what each one costs is counted apart.
    await server.call('/api/flows', { body: flowFor(fakes, { mode: 'manual' }) }, 201);
    await server.call(`/api/flows/${flowId}/deploy`, { method: 'POST' });

    const start = requestCounts(fakes);
    const initial = await runPass(server, 'the initial sync');
    const synced = requestCounts(fakes);
    const quiet = await runPass(server, 'the quiet pass');
    const quieted = requestCounts(fakes);
    const quietAgain = await runPass(server, 'the second quiet pass');
    const quietedAgain = requestCounts(fakes);
    await edit(fakes, seeded.hubspotOnly);
    const beforeEdits = requestCounts(fakes);
    const edits = await runPass(server, 'the pass after 300 edits');
    const edited = requestCounts(fakes);
    if (edits.summary?.updated !== 2 * EDITS_PER_SIDE) throw new Error(`the pass after the edits updated ${edits.summary?.updated} records, not ${2 * EDITS_PER_SIDE}`);

    const equalIds = new Set(seeded.equal.map((person) => person.hubspotId));
    const hubspotWritesToEqual = fakes.hubspot.requests.filter(
      (entry) => entry.route === 'POST /crm/v3/objects/{objectType}/batch/update' && (entry.body as { inputs?: Array<{ id?: unknown }> } | null)?.inputs?.some((input) => equalIds.has(String(input.id))),
    ).length;
    const mailchimpUntouched = seeded.equal.every((person) => Date.parse(String(fakes.mailchimp.member(person.hash as string)?.last_changed)) === person.changedAt);
    return {
      initial: countsBetween(start, synced),
      quiet: countsBetween(synced, quieted),
      quietAgain: countsBetween(quieted, quietedAgain),
      edits: countsBetween(beforeEdits, edited),
      summaries: { initial: initial.summary, quiet: quiet.summary, quietAgain: quietAgain.summary, edits: edits.summary },
      writesToEqual: hubspotWritesToEqual + (mailchimpUntouched ? 0 : seeded.equal.length),
    };
  } finally {
    await server.api(`/api/flows/${flowId}`, { method: 'DELETE' });
    for (const name of Object.values(credentials)) await server.api(`/api/credentials/${name}`, { method: 'DELETE' });
    await fakes.close();
  }
}

function breakdown(counts: RequestCounts, system: 'hubspot' | 'mailchimp'): string {
  if (system === 'hubspot') {
    const h = counts.hubspot;
    return `${h.reads} reads (object lists, properties, batch/read), ${h.searches} searches, ${h.batchWrites} batch writes`;
  }
  const m = counts.mailchimp;
  return `${m.reads} reads (listings, merge fields), ${m.memberWrites} single writes, ${m.batchSubmits} batches submitted, ${m.batchPolls} status polls, ${m.batchResults} results read`;
}

async function main(): Promise<void> {
  const argument = process.argv.indexOf('--runs');
  const runs = Math.max(1, Number(argument > 0 ? process.argv[argument + 1] : process.env.SYNCLINE_BENCH_RUNS ?? 5) || 5);
  const results: RunFigures[] = [];
  const server = await startServe();
  try {
    for (let index = 0; index < runs; index++) {
      const started = Date.now();
      results.push(await measureOnce(server));
      process.stderr.write(`crm-marketing: run ${index + 1} of ${runs} in ${Math.round((Date.now() - started) / 1000)} s\n`);
    }
  } finally {
    await server.stop();
    server.dispose();
  }
  const first = results[0] as RunFigures;
  const perPhase = (phase: Phase, title: string): Measurement[] =>
    (['hubspot', 'mailchimp'] as const).map((system) => ({
      id: `${phase}.${system}`,
      title: `${title}: requests ${system === 'hubspot' ? 'HubSpot' : 'Mailchimp'} received`,
      unit: 'requests',
      runs: results.map((result) => result[phase][system].total),
      better: 'lower',
      group: GROUP,
      notes: `first run: ${breakdown(first[phase], system)}; the pass ${JSON.stringify(first.summaries[phase])}`,
    }));
  const measurements: Measurement[] = [
    ...perPhase('initial', 'Initial sync (4,000 contacts only in HubSpot, 500 only in Mailchimp, 500 on both and equal)'),
    ...perPhase('quiet', 'Quiet pass right after it (nothing changed)'),
    ...perPhase('quietAgain', 'Second quiet pass (nothing changed)'),
    ...perPhase('edits', '300 edits (150 first names in HubSpot, 150 last names in Mailchimp)'),
    {
      id: 'initial.writesToEqual',
      title: 'Writes the initial sync sent to the 500 contacts already equal on both sides',
      unit: 'writes',
      runs: results.map((result) => result.writesToEqual),
      better: 'lower',
      group: GROUP,
      target: { op: '=', value: 0, text: 'zero writes' },
    },
    {
      id: 'limits.refused',
      title: 'Requests either system refused with 429 (HubSpot: 100 per 10 s, 5 searches a second; Mailchimp: 10 connections)',
      unit: 'requests',
      runs: results.map((result) => [result.initial, result.quiet, result.quietAgain, result.edits].reduce((sum, counts) => sum + counts.hubspot.refused429 + counts.mailchimp.refused429, 0)),
      better: 'lower',
      group: GROUP,
      target: { op: '=', value: 0, text: 'none' },
    },
    {
      id: 'limits.hubspotBatch',
      title: 'Most inputs in one HubSpot batch request',
      unit: 'inputs',
      runs: results.map((result) => result.edits.hubspot.largestBatch),
      better: 'lower',
      group: GROUP,
      target: { op: '<=', value: 100, text: 'at most 100 (batch endpoints)' },
    },
    {
      id: 'limits.mailchimpConnections',
      title: 'Most simultaneous requests to Mailchimp',
      unit: 'connections',
      runs: results.map((result) => result.edits.mailchimp.mostConcurrent),
      better: 'lower',
      group: GROUP,
      target: { op: '<=', value: 10, text: 'at most 10 (simultaneous connections)' },
    },
  ];
  process.stdout.write(`${JSON.stringify({ bench: 'crm-marketing', measurements })}\n`);
}

await main();
