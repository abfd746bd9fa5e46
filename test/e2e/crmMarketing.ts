/**
 * What the "CRM ↔ marketing" end-to-end test and its bench (bench/crm-marketing.ts) share: the template
 * (test/fixtures/flows/crm-marketing.flow.json) pointed at the fakes, HubSpot's and Mailchimp's fakes started as a
 * `syncline serve` process needs them, the HubSpot account as the template expects it (its custom property
 * `mailchimp_status`), the credentials a person stores, contacts seeded on both sides, and what each fake was asked.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHubSpotFake, type HubSpotFake } from '../fakes/hubspot/server';
import type { PropertyInput } from '../fakes/hubspot/portal';
import { startMailchimpFake, type MailchimpFake, type MailchimpFakeOptions } from '../fakes/mailchimp/server';
import { subscriberHash } from '../fakes/mailchimp/store';
import type { ServeProcess } from './harness';

export const flowId = 'crm-marketing';

export interface FlowJson {
  id: string;
  nodes: Array<{ id: string; type: string; config: Record<string, unknown> & { connection?: Record<string, unknown> } }>;
}

export const template = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'flows', `${flowId}.flow.json`), 'utf8')) as FlowJson;

/** The Mailchimp statuses a member can hold while in the audience (archived members read as deleted). */
export const memberStatuses = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional'] as const;

/**
 * The custom contact property the template writes Mailchimp's status to, as docs/templates/crm-marketing.md has a person
 * create it (Settings › Properties › Create property): a dropdown of Mailchimp's statuses.
 */
export const mailchimpStatusProperty: PropertyInput = {
  name: 'mailchimp_status',
  label: 'Mailchimp status',
  type: 'enumeration',
  fieldType: 'select',
  groupName: 'contactinformation',
  options: memberStatuses.map((status, index) => ({ label: status, value: status, displayOrder: index, hidden: false })),
};

/** The template's lifecycle stages and the Mailchimp tag each one is (the `member-shape` transform's value map). */
export const stageTags: ReadonlyArray<readonly [string, string]> = (() => {
  const shape = template.nodes.find((node) => node.id === 'member-shape')?.config as { ops: Array<{ op: string; values?: Array<{ from: string; to: string }> }> } | undefined;
  const values = shape?.ops.find((op) => op.op === 'valueMap')?.values;
  if (!values) throw new Error('the crm-marketing template has no lifecycle value map in member-shape');
  return values.map((pair) => [pair.from, pair.to] as const);
})();

export const tagOfStage = (stage: string): string => {
  const pair = stageTags.find(([from]) => from === stage);
  if (!pair) throw new Error(`no tag for lifecycle stage ${stage}`);
  return pair[1];
};

export interface CrmMarketingFakes {
  hubspot: HubSpotFake;
  mailchimp: MailchimpFake;
  close(): Promise<void>;
}

/**
 * Both fakes with clocks that run with real time, as `serve` keeps real time itself: HubSpot's from now (the runtime
 * checks a webhook's timestamp against its own clock), Mailchimp's following the wall clock.
 */
export async function startFakes(options: { mailchimp?: Pick<MailchimpFakeOptions, 'batchTiming'> } = {}): Promise<CrmMarketingFakes> {
  const hubspot = await startHubSpotFake({ realTime: true, clockStart: Date.now() });
  hubspot.defineProperty('contacts', mailchimpStatusProperty);
  const mailchimp = await startMailchimpFake({ clock: 'real', ...options.mailchimp });
  return { hubspot, mailchimp, close: async () => void (await Promise.all([hubspot.close(), mailchimp.close()])) };
}

/** The credentials a person stores before importing the template, with the fakes' secrets. */
export const credentials = {
  hubspotToken: 'hubspot-token',
  hubspotClientSecret: 'hubspot-client-secret',
  mailchimpKey: 'mailchimp-key',
  mailchimpWebhookSecret: 'mailchimp-webhook-secret',
} as const;

/** A random secret for Mailchimp's webhook URL, as `openssl rand -hex 24` makes one (docs/connectors/mailchimp.md). */
export const mailchimpHookSecret = 'c2e9f0a41b7d6e3358a0f1c2d4b6e8f0a2c4e6f8b0d2e4f6';

export async function storeCredentials(server: ServeProcess, fakes: CrmMarketingFakes): Promise<void> {
  const stored: Array<[string, string, string]> = [
    [credentials.hubspotToken, 'token', fakes.hubspot.tokens.privateApp],
    [credentials.hubspotClientSecret, 'webhook-secret', fakes.hubspot.webhooks.clientSecret],
    [credentials.mailchimpKey, 'token', fakes.mailchimp.apiKey],
    [credentials.mailchimpWebhookSecret, 'token', mailchimpHookSecret],
  ];
  for (const [name, type, value] of stored) await server.call('/api/credentials', { body: { name, type, value } }, 201);
}

/**
 * The template with the fakes' addresses in place of api.hubapi.com and <dc>.api.mailchimp.com and the fake's
 * audience id, the only changes; `detect` replaces both triggers' when given (a flow polled, or run by hand).
 */
export function flowFor(fakes: CrmMarketingFakes, detect?: { mode: 'poll'; intervalMs: number } | { mode: 'manual' }): FlowJson {
  const flow = structuredClone(template);
  for (const node of flow.nodes) {
    if (node.id === 'hubspot') node.config.connection = { ...node.config.connection, baseUrl: fakes.hubspot.url };
    if (node.id === 'mailchimp') node.config.connection = { ...node.config.connection, baseUrl: fakes.mailchimp.url, list: fakes.mailchimp.list.id };
    if (detect && node.type === 'trigger') node.config.detect = detect;
  }
  return flow;
}

const FIRST_NAMES = ['Ada', 'Alan', 'Grace', 'Katherine', 'Linus', 'Margaret', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Radia'];
const LAST_NAMES = ['Lovelace', 'Turing', 'Hopper', 'Johnson', 'Torvalds', 'Hamilton', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Backus', 'Perlman'];

/** One person of the seeded data, as each side that holds them has them. */
export interface SeededPerson {
  email: string;
  first: string;
  last: string;
  /** HubSpot's internal value, or null for none. */
  stage: string | null;
  status: (typeof memberStatuses)[number];
  /** Tags in Mailchimp besides the lifecycle tag. */
  otherTags: string[];
  /** The contact id, when HubSpot holds them. */
  hubspotId: string | null;
  /** The subscriber hash, when Mailchimp holds them. */
  hash: string | null;
  /** When their records last changed, on both sides (ms; whole seconds, as Mailchimp keeps it). */
  changedAt: number;
}

export interface Seeded {
  hubspotOnly: SeededPerson[];
  mailchimpOnly: SeededPerson[];
  /** On both sides with every synced field equal already: the first sync writes nothing to them. */
  equal: SeededPerson[];
}

/**
 * Contacts that have been in both systems for a while: some in HubSpot only, some in Mailchimp only, and some on both
 * with every synced field equal. Their last changes lie a minute apart over the days before the test, the latest a
 * day back, as an account's do: no poll's look-back reaches them. Among the equal ones every fifth has its address in
 * Mailchimp with capitals HubSpot does not have, which the template compares in lower case.
 */
export function seedContacts(fakes: CrmMarketingFakes, counts: { hubspotOnly: number; mailchimpOnly: number; equal: number }): Seeded {
  const total = counts.hubspotOnly + counts.mailchimpOnly + counts.equal;
  const latest = Math.floor((Date.now() - 24 * 3600_000) / 1000) * 1000;
  const stages = stageTags.map(([stage]) => stage);
  let n = 0;
  const person = (kind: string): Omit<SeededPerson, 'hubspotId' | 'hash'> => {
    n += 1;
    const first = FIRST_NAMES[n % FIRST_NAMES.length] as string;
    const last = LAST_NAMES[Math.floor(n / FIRST_NAMES.length) % LAST_NAMES.length] as string;
    return {
      email: `${first}.${last}.${kind}${n}@example.com`.toLowerCase(),
      first,
      last,
      stage: n % 9 === 0 ? null : (stages[n % stages.length] as string),
      status: n % 23 === 0 ? 'unsubscribed' : 'subscribed',
      otherTags: n % 4 === 0 ? ['Newsletter'] : [],
      changedAt: latest - (total - n) * 60_000,
    };
  };
  const inHubSpot = (who: Omit<SeededPerson, 'hubspotId' | 'hash'>, mailchimpStatus: string | null) =>
    fakes.hubspot.seed(
      'contacts',
      { email: who.email, firstname: who.first, lastname: who.last, ...(who.stage ? { lifecyclestage: who.stage } : {}), ...(mailchimpStatus ? { mailchimp_status: mailchimpStatus } : {}) },
      { createdAt: who.changedAt, updatedAt: who.changedAt },
    );
  const inMailchimp = (who: Omit<SeededPerson, 'hubspotId' | 'hash'>, address: string) => {
    fakes.mailchimp.seedMember({
      email_address: address,
      status: who.status,
      merge_fields: { FNAME: who.first, LNAME: who.last },
      tags: [...who.otherTags, ...(who.stage ? [tagOfStage(who.stage)] : [])],
      lastChanged: who.changedAt,
    });
    return subscriberHash(address);
  };
  const hubspotOnly = Array.from({ length: counts.hubspotOnly }, () => {
    const who = person('h');
    return { ...who, hubspotId: inHubSpot(who, null), hash: null };
  });
  const mailchimpOnly = Array.from({ length: counts.mailchimpOnly }, () => {
    const who = person('m');
    return { ...who, hubspotId: null, hash: inMailchimp(who, who.email) };
  });
  const equal = Array.from({ length: counts.equal }, (_, index) => {
    const who = person('e');
    const address = index % 5 === 0 ? who.email.replace(/^./, (c) => c.toUpperCase()).replace('@example.com', '@Example.com') : who.email;
    return { ...who, hubspotId: inHubSpot(who, who.status), hash: inMailchimp(who, address) };
  });
  return { hubspotOnly, mailchimpOnly, equal };
}

/** Requests each fake answered, by what they were for: the figures BENCHMARKS.md reports and the limits checked. */
export interface RequestCounts {
  hubspot: {
    total: number;
    /** Object lists, reads by id, batch reads and the properties API. */
    reads: number;
    searches: number;
    /** batch/create, batch/update, batch/archive. */
    batchWrites: number;
    refused429: number;
    /** The most inputs one batch request carried. */
    largestBatch: number;
  };
  mailchimp: {
    total: number;
    /** Member listings and reads, merge fields, audiences, webhooks listed. */
    reads: number;
    /** PUT, PATCH, DELETE of one member and its tags, each a request of its own. */
    memberWrites: number;
    batchSubmits: number;
    batchPolls: number;
    /** Batch results read from the archive address (S3 in Mailchimp's case). */
    batchResults: number;
    refused429: number;
    /** The most requests one credential had open at once. */
    mostConcurrent: number;
  };
}

const hubspotWriteRoutes = new Set(['create', 'update', 'archive'].map((name) => `POST /crm/v3/objects/{objectType}/batch/${name}`));
const mailchimpBatchRoutes = new Set(['POST /batches', 'GET /batches/{batch_id}', 'GET /batch-results/{batch_id}']);

/** What each fake has been asked so far; {@link countsBetween} gives what happened between two of these. */
export function requestCounts(fakes: CrmMarketingFakes): RequestCounts {
  const hubspotLog = fakes.hubspot.requests;
  const mailchimpLog = fakes.mailchimp.requests;
  const hubspotRoute = (route: string) => hubspotLog.filter((entry) => entry.route === route).length;
  return {
    hubspot: {
      total: hubspotLog.length,
      reads: hubspotLog.filter((entry) => entry.method === 'GET').length + hubspotRoute('POST /crm/v3/objects/{objectType}/batch/read'),
      searches: hubspotRoute('POST /crm/v3/objects/{objectType}/search'),
      batchWrites: hubspotLog.filter((entry) => entry.route !== null && hubspotWriteRoutes.has(entry.route)).length,
      refused429: hubspotLog.filter((entry) => entry.status === 429).length,
      largestBatch: Math.max(0, ...hubspotLog.map((entry) => entry.inputs ?? 0)),
    },
    mailchimp: {
      total: mailchimpLog.length,
      reads: mailchimpLog.filter((entry) => entry.method === 'GET' && !mailchimpBatchRoutes.has(entry.route ?? '')).length,
      memberWrites: mailchimpLog.filter((entry) => entry.method !== 'GET' && (entry.route ?? '').includes('/members/')).length,
      batchSubmits: fakes.mailchimp.countRequests('POST /batches'),
      batchPolls: fakes.mailchimp.countRequests('GET /batches/{batch_id}'),
      batchResults: fakes.mailchimp.countRequests('GET /batch-results/{batch_id}'),
      refused429: mailchimpLog.filter((entry) => entry.status === 429).length,
      mostConcurrent: fakes.mailchimp.maxConcurrent(),
    },
  };
}

/** The requests made between two counts (`largestBatch` and `mostConcurrent` are the highest so far, not differences). */
export function countsBetween(before: RequestCounts, after: RequestCounts): RequestCounts {
  const minus = <T extends Record<string, number>>(a: T, b: T, kept: ReadonlyArray<keyof T>): T =>
    Object.fromEntries(Object.entries(a).map(([key, value]) => [key, kept.includes(key as keyof T) ? value : value - (b[key] as number)])) as T;
  return { hubspot: minus(after.hubspot, before.hubspot, ['largestBatch']), mailchimp: minus(after.mailchimp, before.mailchimp, ['mostConcurrent']) };
}
