/**
 * Audience webhooks: the records of `/lists/{list_id}/webhooks` and the requests Mailchimp sends to them.
 *
 * Sources:
 * - API reference, "Webhooks" (List Webhooks): `url`, `events` {subscribe, unsubscribe, profile, cleaned, upemail,
 *   campaign}, `sources` {user, admin, api}; add, list, get, update (PATCH), delete.
 * - Guide, "Synchronize Audience Data with Webhooks" (https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/):
 *   deliveries are HTTP POSTs whose body is `application/x-www-form-urlencoded` with bracketed keys
 *   (`data[merges][FNAME]`); Mailchimp checks a new webhook's URL with a GET first; a delivery that is not answered within
 *   10 seconds is cancelled and retried later, at increasing intervals over 75 minutes. Nothing is signed: the guide
 *   suggests a secret in the URL.
 * - The legacy "Webhooks › Sample data" page (apidocs.mailchimp.com/webhooks) for the keys of each event:
 *   subscribe/profile (`data[id]`, `data[list_id]`, `data[email]`, `data[email_type]`, `data[merges][…]`,
 *   `data[ip_opt]`, `data[ip_signup]`), unsubscribe (adds `data[action]` unsub|delete, `data[reason]`,
 *   `data[campaign_id]`), upemail (`data[list_id]`, `data[new_id]`, `data[new_email]`, `data[old_email]`), cleaned
 *   (`data[list_id]`, `data[campaign_id]`, `data[reason]` hard|abuse, `data[email]`); `fired_at` as "2009-03-26 21:35:57".
 * - Recorded with RequestBin (gist strangeways/96b26ee7e61b9800e264b16688cce038): the check is a GET with
 *   `User-Agent: MailChimp.com WebHook Validator`; deliveries carry `User-Agent: MailChimp.com`.
 */
import { randomBytes } from 'node:crypto';
import { invalidResource, resourceNotFound } from './problems';
import type { ListRecord, MemberEvent, WebhookRecord } from './store';

export const validatorUserAgent = 'MailChimp.com WebHook Validator';
export const deliveryUserAgent = 'MailChimp.com';
/** "If the URL is unavailable or takes more than 10 seconds to respond, the request is canceled". */
const deliveryTimeoutMs = 10_000;

const eventNames = ['subscribe', 'unsubscribe', 'profile', 'cleaned', 'upemail', 'campaign'] as const;
const sourceNames = ['user', 'admin', 'api'] as const;

/** One POST Mailchimp made (or tried to make) to a webhook. */
export interface Delivery {
  webhookId: string;
  url: string;
  type: string;
  /** The form-encoded body, exactly as sent. */
  body: string;
  attempts: Array<{ status: number | null; error: string | null }>;
}

/** Webhook records per audience, the URL check, and deliveries with hold/redeliver controls for tests. */
export class WebhookHub {
  readonly deliveries: Delivery[] = [];
  /** Every GET the fake made to check a URL, with the answer it got. */
  readonly checks: Array<{ url: string; status: number | null }> = [];
  private readonly inFlight = new Set<Promise<void>>();
  private held = false;
  private readonly heldQueue: Delivery[] = [];

  constructor(private readonly firedAt: () => number) {}

  /** "Add webhook": the URL must answer Mailchimp's GET before the webhook is saved. */
  async create(list: ListRecord, input: Record<string, unknown>): Promise<WebhookRecord> {
    const url = checkedUrl(input.url);
    // UNCONFIRMED wording: Mailchimp refuses a second webhook with the same URL on one audience.
    for (const existing of list.webhooks.values()) if (existing.url === url) throw invalidResource([{ field: 'url', message: 'A webhook with this URL already exists for this list.' }]);
    await this.checkUrl(url);
    const webhook: WebhookRecord = { id: randomBytes(5).toString('hex'), url, events: flags(eventNames, input.events), sources: flags(sourceNames, input.sources) };
    list.webhooks.set(webhook.id, webhook);
    return webhook;
  }

  /** "Update webhook" (PATCH): given settings change; a new URL is checked as a new webhook's is. */
  async update(list: ListRecord, id: string, input: Record<string, unknown>): Promise<WebhookRecord> {
    const webhook = list.webhooks.get(id);
    if (!webhook) throw resourceNotFound();
    let url = webhook.url;
    if (input.url !== undefined) {
      url = checkedUrl(input.url);
      if (url !== webhook.url) await this.checkUrl(url);
    }
    webhook.url = url;
    if (input.events !== undefined) webhook.events = { ...webhook.events, ...flags(eventNames, input.events, webhook.events) };
    if (input.sources !== undefined) webhook.sources = { ...webhook.sources, ...flags(sourceNames, input.sources, webhook.sources) };
    return webhook;
  }

  remove(list: ListRecord, id: string): void {
    if (!list.webhooks.delete(id)) throw resourceNotFound();
  }

  private async checkUrl(url: string): Promise<void> {
    let status: number | null;
    try {
      const response = await fetch(url, { method: 'GET', headers: { 'user-agent': validatorUserAgent }, redirect: 'manual', signal: AbortSignal.timeout(deliveryTimeoutMs) });
      status = response.status;
      await response.arrayBuffer();
    } catch {
      status = null;
    }
    this.checks.push({ url, status });
    // UNCONFIRMED wording of the refusal; the guide says only that the URL must answer.
    if (status !== 200) throw invalidResource([{ field: 'url', message: `The URL ${url} did not answer our GET request with 200 (got ${status ?? 'no answer'}): webhooks need a URL that responds to GET.` }]);
  }

  /** Sends a member event to every webhook of its audience that takes that event from that source. */
  publish(event: MemberEvent): void {
    for (const webhook of event.list.webhooks.values()) {
      if (!webhook.events[event.type] || !webhook.sources[event.source]) continue;
      const delivery: Delivery = { webhookId: webhook.id, url: webhook.url, type: event.type, body: formBody(event, this.firedAt()), attempts: [] };
      this.deliveries.push(delivery);
      if (this.held) this.heldQueue.push(delivery);
      else this.send(delivery);
    }
  }

  /** Deliveries wait until {@link release} (a receiver that is down). */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    for (const delivery of this.heldQueue.splice(0)) this.send(delivery);
  }

  /** Sends a delivery again with the same body, as Mailchimp's retry of an unanswered delivery does. */
  redeliver(delivery: Delivery): void {
    this.send(delivery);
  }

  /** Resolves when no delivery is in flight. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private send(delivery: Delivery): void {
    const attempt = (async () => {
      try {
        const response = await fetch(delivery.url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': deliveryUserAgent },
          body: delivery.body,
          redirect: 'manual',
          signal: AbortSignal.timeout(deliveryTimeoutMs),
        });
        await response.arrayBuffer();
        delivery.attempts.push({ status: response.status, error: null });
      } catch (error) {
        delivery.attempts.push({ status: null, error: error instanceof Error ? error.message : String(error) });
      }
    })();
    this.inFlight.add(attempt);
    void attempt.finally(() => this.inFlight.delete(attempt));
  }
}

function checkedUrl(value: unknown): string {
  if (typeof value !== 'string' || !URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw invalidResource([{ field: 'url', message: 'This value should be a valid URL.' }]);
  }
  return value;
}

function flags<K extends string>(names: readonly K[], given: unknown, current?: Record<K, boolean>): Record<K, boolean> {
  const result = {} as Record<K, boolean>;
  const object = typeof given === 'object' && given !== null ? (given as Record<string, unknown>) : {};
  // UNCONFIRMED: events and sources left out of "Add webhook" are on.
  for (const name of names) result[name] = typeof object[name] === 'boolean' ? (object[name] as boolean) : (current?.[name] ?? true);
  return result;
}

/** "2009-03-26 21:35:57" (legacy sample data; `fired_at` is not ISO 8601). */
function firedAtText(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('T', ' ').replace(/\.000Z$/, '');
}

/** The form body of one event, keys bracketed as the samples show them, encoded as a browser form would be. */
export function formBody(event: MemberEvent, firedAt: number): string {
  const form = new URLSearchParams();
  form.append('type', event.type);
  form.append('fired_at', firedAtText(firedAt));
  const { list, member } = event;
  if (event.type === 'upemail') {
    form.append('data[list_id]', list.id);
    form.append('data[new_id]', member.uniqueEmailId);
    form.append('data[new_email]', member.emailAddress);
    form.append('data[old_email]', event.oldEmail);
    return form.toString();
  }
  if (event.type === 'cleaned') {
    form.append('data[list_id]', list.id);
    form.append('data[campaign_id]', '4fjk2ma9xd');
    form.append('data[reason]', event.reason ?? 'hard');
    form.append('data[email]', member.emailAddress);
    return form.toString();
  }
  if (event.type === 'unsubscribe') {
    form.append('data[action]', event.action ?? 'unsub');
    form.append('data[reason]', event.reason ?? 'manual');
  }
  form.append('data[id]', member.uniqueEmailId);
  form.append('data[list_id]', list.id);
  form.append('data[email]', member.emailAddress);
  form.append('data[email_type]', member.emailType);
  form.append('data[merges][EMAIL]', member.emailAddress);
  for (const [tag, value] of Object.entries(member.mergeFields)) {
    if (typeof value === 'object' && value !== null) {
      for (const [key, part] of Object.entries(value as Record<string, unknown>)) form.append(`data[merges][${tag}][${key}]`, String(part ?? ''));
    } else {
      form.append(`data[merges][${tag}]`, String(value ?? ''));
    }
  }
  form.append('data[ip_opt]', member.ipOpt);
  if (event.type !== 'unsubscribe') form.append('data[ip_signup]', member.ipSignup);
  else form.append('data[campaign_id]', '');
  return form.toString();
}
