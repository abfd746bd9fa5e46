/**
 * Mailchimp's audience webhooks ("Synchronize Audience Data with Webhooks", API reference "Webhooks"):
 *
 * - Mailchimp signs nothing. The trigger's secret therefore travels in the webhook's URL, `?secret=<secret>`, set when
 *   the flow registers the webhook, and a delivery is genuine when that query parameter equals the trigger's secret
 *   (compared in constant time). Use an https public URL, or the secret travels in the clear.
 * - Before it saves a webhook, Mailchimp checks its URL with a GET; `urlCheckedByGet` makes the runtime answer
 *   `GET /hooks/:flowId/:nodeId` with 200 when the secret in the URL is right (runtime/api/hooks.ts).
 * - Deliveries are `application/x-www-form-urlencoded` POSTs with bracketed keys: `type=subscribe&fired_at=…&
 *   data[email]=…&data[merges][FNAME]=…`. subscribe, unsubscribe, profile and cleaned name the member by
 *   `data[email]`; upemail by `data[old_email]` and `data[new_email]`. campaign is about no member and is ignored.
 *   Each names the member by its subscriber hash, the MD5 of the lower-cased address.
 * - There is no delivery id. A delivery that Mailchimp repeats (it retries for 75 minutes when the answer is late)
 *   carries the very same body, `fired_at` included, so the body's SHA-256 is the delivery id: a repeat is accepted
 *   and dropped. Two distinct events with one body would say the same thing anyway — "read this member again".
 *
 * `register` keeps one webhook per trigger URL on the audience (found by its URL without the query), with every member
 * event from every source (subscriber, admin, API: other integrations' API writes count; the sync's own are known by
 * the write journal).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TriggerConfig } from '../../../nodes/trigger/schema';
import { throwIfConnectionProblems } from '../connection';
import { guardedFetch } from '../network';
import { ConnectorError, type ConnectorContext, type ConnectorWebhook, type WebhookDelivery, type WebhookReading } from '../types';
import { clientDefaults, mailchimpClient, problemText, type MailchimpClient } from './client';
import { checkMailchimpConnection, parseMailchimpConnection } from './config';
import { subscriberHash } from './members';

/** The query parameter of the webhook URL that carries the trigger's secret. */
export const secretParameter = 'secret';

/** What the registered webhook is told to send: every member event, from every source. */
const wantedEvents = { subscribe: true, unsubscribe: true, profile: true, cleaned: true, upemail: true, campaign: false };
const wantedSources = { user: true, admin: true, api: true };

/** The URL Mailchimp is given for a trigger: its hook address with the secret as a query parameter. */
export function webhookUrl(url: string, secret: string): string {
  const address = new URL(url);
  address.searchParams.set(secretParameter, secret);
  return address.toString();
}

function digest(text: string | Uint8Array): Buffer {
  return createHash('sha256').update(text).digest();
}

export const mailchimpWebhook: ConnectorWebhook = {
  urlCheckedByGet: true,

  verify(delivery: WebhookDelivery, secret: string): string | null {
    const given = new URL(delivery.url, 'http://runtime.invalid').searchParams.get(secretParameter);
    if (given === null || given === '') {
      return `the URL has no ${secretParameter} parameter: Mailchimp signs nothing, so the trigger's secret goes in the webhook URL as ?${secretParameter}=<secret> (the runtime registers it so when the flow is deployed)`;
    }
    // Digests are compared, so neither the length nor the content of the secret shows in the time taken.
    if (!timingSafeEqual(digest(given), digest(secret))) return `the ${secretParameter} parameter of the URL is not the trigger's secret: the webhook was registered with another secret, or the request is not Mailchimp's`;
    return null;
  },

  deliveryId(delivery: WebhookDelivery): string | null {
    if (delivery.method !== 'POST' || delivery.body.byteLength === 0) return null;
    return `sha256:${digest(delivery.body).toString('hex')}`;
  },

  read(delivery: WebhookDelivery, config: TriggerConfig): WebhookReading {
    if (delivery.method === 'GET') return { kind: 'ping' };
    const text = Buffer.from(delivery.body.buffer, delivery.body.byteOffset, delivery.body.byteLength).toString('utf8');
    const contentType = delivery.header('content-type') ?? '';
    if (contentType !== '' && !/application\/x-www-form-urlencoded/i.test(contentType)) {
      return { kind: 'invalid', message: `Mailchimp sends webhooks as application/x-www-form-urlencoded, not ${contentType.split(';')[0]}`, path: '' };
    }
    const form = new URLSearchParams(text);
    const type = form.get('type');
    if (!type) return { kind: 'invalid', message: 'must name the event: type=subscribe, unsubscribe, profile, upemail, cleaned or campaign', path: 'type' };
    const listId = form.get('data[list_id]');
    const audience = typeof config.connection.list === 'string' ? config.connection.list : null;
    if (listId !== null && audience !== null && listId !== audience) return { kind: 'ignored', reason: `a ${type} event of audience ${listId}, not ${audience}` };
    const member = (key: string): string | null => {
      const email = form.get(key)?.trim();
      return email && email.includes('@') ? subscriberHash(email) : null;
    };
    switch (type) {
      case 'subscribe':
      case 'profile':
      case 'cleaned':
      case 'unsubscribe': {
        const recordId = member('data[email]');
        if (recordId === null) return { kind: 'invalid', message: `a ${type} event must name the member's address`, path: 'data[email]' };
        // "action: unsub or delete": a delete archived the member.
        const deleted = type === 'unsubscribe' && form.get('data[action]') === 'delete';
        return { kind: 'events', events: [{ recordId, type: deleted ? 'delete' : 'upsert' }] };
      }
      case 'upemail': {
        const before = member('data[old_email]');
        const after = member('data[new_email]');
        if (before === null) return { kind: 'invalid', message: 'an upemail event must name the old address', path: 'data[old_email]' };
        if (after === null) return { kind: 'invalid', message: 'an upemail event must name the new address', path: 'data[new_email]' };
        // A member is keyed by its address: under the old one it is gone, under the new one it is new.
        return { kind: 'events', events: [{ recordId: before, type: 'delete' }, { recordId: after, type: 'upsert' }] };
      }
      case 'campaign':
        return { kind: 'ignored', reason: 'a campaign event is about a campaign, not a member' };
      default:
        return { kind: 'ignored', reason: `a ${type} event is not one the mailchimp connector reads` };
    }
  },

  async register(context: ConnectorContext, target: { url: string; secret: string }): Promise<void> {
    const { client, path } = await audienceHooks(context);
    const registered = webhookUrl(target.url, target.secret);
    const hooks = await listHooks(client, path, target.url);
    const wanted = { url: registered, events: wantedEvents, sources: wantedSources };
    const [first, ...extra] = hooks;
    if (!first) {
      const response = await client.request('POST', path, { body: wanted });
      if (response.status !== 200) throw hookFailure(response, 'add a webhook to', target.url);
    } else if (first.url !== registered || !same(first.events, wantedEvents) || !same(first.sources, wantedSources)) {
      const response = await client.request('PATCH', `${path}/${encodeURIComponent(first.id)}`, { body: wanted });
      if (response.status !== 200) throw hookFailure(response, 'update the webhook of', target.url);
    }
    for (const hook of extra) await removeHook(client, path, hook.id, target.url);
  },

  async unregister(context: ConnectorContext, url: string): Promise<void> {
    const { client, path } = await audienceHooks(context);
    for (const hook of await listHooks(client, path, url)) await removeHook(client, path, hook.id, url);
  },
};

interface HookJson {
  id: string;
  url: string;
  events: Record<string, unknown>;
  sources: Record<string, unknown>;
}

async function audienceHooks(context: ConnectorContext): Promise<{ client: MailchimpClient; path: string }> {
  throwIfConnectionProblems(checkMailchimpConnection(context.config.connection));
  const connection = parseMailchimpConnection(context.config.connection);
  const client = await mailchimpClient(connection, context, { ...clientDefaults, maxWaitMs: connection.maxWaitSeconds * 1000, fetch: guardedFetch(context.access.hosts) }, new AbortController().signal);
  return { client, path: `/lists/${encodeURIComponent(connection.list)}/webhooks` };
}

/** The audience's webhooks that send to `url`, whatever secret their query carries. */
async function listHooks(client: MailchimpClient, path: string, url: string): Promise<HookJson[]> {
  const response = await client.request('GET', path);
  if (response.status !== 200) throw hookFailure(response, 'list the webhooks of', url);
  const hooks = (response.body as { webhooks?: unknown } | null)?.webhooks;
  const base = withoutQuery(url);
  return (Array.isArray(hooks) ? (hooks as HookJson[]) : []).filter((hook) => typeof hook?.id === 'string' && typeof hook.url === 'string' && withoutQuery(hook.url) === base);
}

async function removeHook(client: MailchimpClient, path: string, id: string, url: string): Promise<void> {
  const response = await client.request('DELETE', `${path}/${encodeURIComponent(id)}`);
  if (response.status !== 204 && response.status !== 200 && response.status !== 404) throw hookFailure(response, 'remove the webhook of', url);
}

function withoutQuery(url: string): string {
  const address = new URL(url);
  address.search = '';
  address.hash = '';
  return address.toString();
}

function same(held: Record<string, unknown> | undefined, wanted: Record<string, boolean>): boolean {
  return Object.entries(wanted).every(([name, on]) => held?.[name] === on);
}

function hookFailure(response: { status: number; body: unknown; text: string; shown: string }, doing: string, url: string): ConnectorError {
  const check = response.status === 400 ? ` (Mailchimp checks a webhook URL with a GET before it saves it: ${url} must be reachable from the internet — serve --public-url — and answer it)` : '';
  return new ConnectorError(`Mailchimp refused to ${doing} the audience: ${response.shown}: ${response.status} — ${problemText(response)}${check}`, { retryable: response.status >= 500 || response.status === 429 });
}
