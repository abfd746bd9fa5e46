import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { isoSeconds, type TicketChange, type TicketRecord, type UserRecord, type ZendeskAccount } from './records';
import { ZendeskError } from './responses';

/**
 * Webhooks: the records of the Webhooks API and the signed requests Zendesk sends.
 *
 * Sources:
 * - Webhooks API, https://developer.zendesk.com/api-reference/webhooks/webhooks-api/webhooks/ (Create or Clone
 *   Webhook, Show Webhook, Delete Webhook, Show Webhook Signing Secret); record keys checked against the
 *   go-zendesk fixture fixture/GET/webhook.json and its WebhookSigningSecret {algorithm, secret}.
 * - "Anatomy of a webhook request", https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/
 *   (Request headers: x-zendesk-account-id, x-zendesk-webhook-id, x-zendesk-webhook-invocation-id,
 *   x-zendesk-webhook-signature, x-zendesk-webhook-signature-timestamp "2021-03-25T05:09:27Z"; requests for
 *   Zendesk events are always POST with a JSON payload).
 * - "Verifying webhook authenticity", https://developer.zendesk.com/documentation/webhooks/verifying/ :
 *   signature = base64(HMAC-SHA256(signing secret, timestamp + raw body)), the secret used as given (not decoded).
 * - "Webhook event types", https://developer.zendesk.com/api-reference/webhooks/event-types/webhook-event-types/
 *   (Event schema) and "Ticket events", …/event-types/ticket-events/ (Detail object properties; event.meta.sequence).
 * - Retries: "Monitoring webhooks" — 409 retried up to 3 times, 429/503 retried when retry-after is under 60 s,
 *   12 s timeout (as summarised by webhook-handling guides quoting that page; not read first-hand).
 */

export interface WebhookRecord {
  id: string;
  name: string;
  description: string | null;
  endpoint: string;
  httpMethod: string;
  requestFormat: string;
  status: 'active' | 'inactive';
  subscriptions: string[];
  authentication: Record<string, unknown> | null;
  secret: string;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
}

/** One attempt at delivering an invocation. */
export interface DeliveryAttempt {
  at: number;
  status: number | null;
  error: string | null;
}

/** One webhook invocation: an event (or a trigger body) sent to one webhook, with every attempt made. */
export interface Invocation {
  invocationId: string;
  webhookId: string;
  eventType: string;
  body: string;
  attempts: DeliveryAttempt[];
}

// Webhook ids are ULIDs in the docs and the recorded fixture ("01EJFTSCC78X5V07NPY2MHR00M").
const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function ulid(nowMs: number): string {
  let time = '';
  let value = nowMs;
  for (let index = 0; index < 10; index++) {
    time = crockford[value % 32]! + time;
    value = Math.floor(value / 32);
  }
  const random = [...randomBytes(16)].map((byte) => crockford[byte % 32]).join('');
  return time + random;
}

/** The x-zendesk-webhook-signature value for a body, computed as "Verifying webhook authenticity" describes. */
export function signWebhookBody(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(timestamp + body).digest('base64');
}

/** Webhook records, the event stream they subscribe to, and delivery with hold/release/redeliver controls. */
export class WebhookHub {
  readonly webhooks = new Map<string, WebhookRecord>();
  readonly invocations: Invocation[] = [];
  private held = false;
  private readonly queue: Invocation[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private nextInvocation = 8350205582;

  constructor(
    private readonly account: ZendeskAccount,
    private readonly accountId: number,
    private readonly nowMs: () => number,
  ) {}

  /** Create or Clone Webhook. */
  create(input: Record<string, unknown>, createdBy: number): WebhookRecord {
    const endpoint = typeof input.endpoint === 'string' ? input.endpoint : '';
    const name = typeof input.name === 'string' ? input.name : '';
    if (endpoint === '' || name === '') {
      // UNCONFIRMED body: the Webhooks API answers validation errors with an `errors` array; wording unknown.
      throw new ZendeskError(400, { errors: [{ code: 'InvalidInput', title: 'Invalid input', detail: 'name and endpoint are required' }] });
    }
    const now = Math.floor(this.nowMs() / 1000);
    const webhook: WebhookRecord = {
      id: ulid(this.nowMs()),
      name,
      description: typeof input.description === 'string' ? input.description : null,
      endpoint,
      httpMethod: typeof input.http_method === 'string' ? input.http_method : 'POST',
      requestFormat: typeof input.request_format === 'string' ? input.request_format : 'json',
      status: input.status === 'inactive' ? 'inactive' : 'active',
      subscriptions: Array.isArray(input.subscriptions) ? input.subscriptions.map(String) : [],
      authentication: typeof input.authentication === 'object' && input.authentication !== null ? (input.authentication as Record<string, unknown>) : null,
      secret: randomBytes(32).toString('base64'),
      createdAt: now,
      updatedAt: now,
      createdBy: String(createdBy),
    };
    this.webhooks.set(webhook.id, webhook);
    return webhook;
  }

  /** Update Webhook (PUT): the record's settings replaced; its id and signing secret stay. */
  update(id: string, input: Record<string, unknown>): WebhookRecord {
    const current = this.get(id);
    const replaced = this.create(input, Number(current.createdBy));
    this.webhooks.delete(replaced.id);
    const webhook: WebhookRecord = { ...replaced, id: current.id, secret: current.secret, createdAt: current.createdAt, updatedAt: Math.floor(this.nowMs() / 1000) };
    this.webhooks.set(id, webhook);
    return webhook;
  }

  get(id: string): WebhookRecord {
    const webhook = this.webhooks.get(id);
    // UNCONFIRMED body for an unknown webhook id.
    if (!webhook) throw new ZendeskError(404, { errors: [{ code: 'WebhookNotFound', title: 'Webhook not found', detail: `Webhook ${id} not found` }] });
    return webhook;
  }

  delete(id: string): void {
    this.get(id);
    this.webhooks.delete(id);
  }

  /** Wire shape of a webhook (Show Webhook; keys of go-zendesk fixture/GET/webhook.json). */
  json(webhook: WebhookRecord): Record<string, unknown> {
    return {
      id: webhook.id,
      name: webhook.name,
      status: webhook.status,
      subscriptions: [...webhook.subscriptions],
      created_at: isoSeconds(webhook.createdAt),
      created_by: webhook.createdBy,
      updated_at: isoSeconds(webhook.updatedAt),
      updated_by: webhook.createdBy,
      endpoint: webhook.endpoint,
      http_method: webhook.httpMethod,
      request_format: webhook.requestFormat,
      ...(webhook.description === null ? {} : { description: webhook.description }),
      ...(webhook.authentication === null ? {} : { authentication: { type: webhook.authentication.type, add_position: webhook.authentication.add_position } }),
    };
  }

  /** Turns one ticket write into Zendesk ticket events and sends each to every webhook subscribed to its type. */
  publishTicketChange(change: TicketChange): void {
    const sequenceId = randomBytes(13).toString('hex').toUpperCase();
    const events = ticketEvents(change, (userId) => this.account.users.get(userId));
    events.forEach((event, index) => {
      const payload = {
        account_id: this.accountId,
        detail: ticketDetail(change.after, change.actorId),
        event: { ...event.event, meta: { sequence: { id: sequenceId, position: index + 1 } } },
        id: randomUUID(),
        subject: `zen:ticket:${change.after.id}`,
        time: eventTime(this.nowMs()),
        type: event.type,
        zendesk_event_version: '2022-11-06',
      };
      this.publish(event.type, JSON.stringify(payload));
    });
  }

  /** Sends a custom body to one webhook, as a trigger or automation connected to it would. */
  fireTrigger(webhookId: string, body: unknown): Invocation {
    const webhook = this.get(webhookId);
    const invocation = this.newInvocation(webhook, 'trigger', typeof body === 'string' ? body : JSON.stringify(body));
    this.dispatch(invocation);
    return invocation;
  }

  /** Queues deliveries instead of sending them, until release(). */
  hold(): void {
    this.held = true;
  }

  /** Sends everything held, in order, and delivers normally from then on. */
  release(): void {
    this.held = false;
    for (const invocation of this.queue.splice(0)) this.send(invocation);
  }

  /** Sends an invocation again: same invocation id and body, a fresh timestamp and signature (a retry). */
  redeliver(invocationId: string): void {
    const invocation = this.invocations.find((candidate) => candidate.invocationId === invocationId);
    if (!invocation) throw new Error(`no invocation ${invocationId}`);
    this.send(invocation);
  }

  /** Resolves when nothing is being sent (held invocations don't count). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  get heldCount(): number {
    return this.queue.length;
  }

  private publish(eventType: string, body: string): void {
    for (const webhook of this.webhooks.values()) {
      if (webhook.status !== 'active' || !webhook.subscriptions.includes(eventType)) continue;
      this.dispatch(this.newInvocation(webhook, eventType, body));
    }
  }

  private newInvocation(webhook: WebhookRecord, eventType: string, body: string): Invocation {
    const invocation: Invocation = { invocationId: String(this.nextInvocation++), webhookId: webhook.id, eventType, body, attempts: [] };
    this.invocations.push(invocation);
    return invocation;
  }

  private dispatch(invocation: Invocation): void {
    if (this.held) this.queue.push(invocation);
    else this.send(invocation);
  }

  private send(invocation: Invocation): void {
    const task = this.attempt(invocation, 0).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  private async attempt(invocation: Invocation, retry: number): Promise<void> {
    const webhook = this.webhooks.get(invocation.webhookId);
    if (!webhook) return;
    const timestamp = isoSeconds(Math.floor(this.nowMs() / 1000));
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-zendesk-account-id': String(this.accountId),
      'x-zendesk-webhook-id': webhook.id,
      'x-zendesk-webhook-invocation-id': invocation.invocationId,
      'x-zendesk-webhook-signature': signWebhookBody(webhook.secret, timestamp, invocation.body),
      'x-zendesk-webhook-signature-timestamp': timestamp,
    };
    const attempt: DeliveryAttempt = { at: this.nowMs(), status: null, error: null };
    invocation.attempts.push(attempt);
    let retryable: boolean;
    try {
      const method = invocation.eventType === 'trigger' ? webhook.httpMethod : 'POST';
      const response = await fetch(webhook.endpoint, { method, headers, body: method === 'GET' || method === 'DELETE' ? undefined : invocation.body, signal: AbortSignal.timeout(12_000) });
      attempt.status = response.status;
      await response.arrayBuffer();
      const retryAfter = Number(response.headers.get('retry-after'));
      retryable = (response.status === 409 && retry < 3) || ((response.status === 429 || response.status === 503) && retryAfter < 60 && retry < 3);
    } catch (error) {
      attempt.error = (error as Error).message;
      retryable = retry < 5;
    }
    if (retryable) await this.attempt(invocation, retry + 1);
  }
}

interface TicketEvent {
  type: string;
  event: Record<string, unknown>;
}

const upper = (value: string | null): string | null => (value === null ? null : value.toUpperCase());
const idString = (value: number | null): string | null => (value === null ? null : String(value));

/**
 * The `detail` object of ticket events: "actor_id, assignee_id, brand_id, created_at, custom_status, description,
 * external_id (returned as a string), form_id, group_id, id, is_public, organization_id, priority, requester_id,
 * status, subject, submitter_id, tags, type, updated_at, via.channel" (Ticket events, Detail object properties).
 * Ids as strings and upper-case enums as in payloads recorded by public webhook handlers
 * ("status": "OPEN", "priority": "LOW", "type": "TASK", "via": {"channel": "web_service"}).
 */
function ticketDetail(ticket: TicketRecord, actorId: number): Record<string, unknown> {
  return {
    actor_id: String(actorId),
    assignee_id: idString(ticket.assigneeId),
    brand_id: null,
    created_at: isoSeconds(ticket.createdAt),
    custom_status: null,
    description: ticket.description,
    external_id: ticket.externalId,
    form_id: null,
    group_id: idString(ticket.groupId),
    id: String(ticket.id),
    is_public: ticket.comments.some((comment) => comment.public),
    organization_id: idString(ticket.organizationId),
    priority: upper(ticket.priority),
    requester_id: String(ticket.requesterId),
    status: ticket.deleted ? 'DELETED' : upper(ticket.status),
    subject: ticket.subject,
    submitter_id: String(ticket.submitterId),
    tags: [...ticket.tags],
    type: upper(ticket.type),
    updated_at: isoSeconds(ticket.updatedAt),
    via: { channel: ticket.viaChannel === 'api' ? 'web_service' : ticket.viaChannel },
  };
}

/**
 * The event types one write produces. ticket.created ("event": {}), ticket.status_changed ({current, previous},
 * upper case) and ticket.comment_added ({comment: {author, body, html_body, id, is_public}}) follow recorded
 * payloads; the other `event` bodies are UNCONFIRMED guesses in the same {current, previous} style.
 */
function ticketEvents(change: TicketChange, userOf: (id: number) => UserRecord | undefined): TicketEvent[] {
  const { before, after } = change;
  const events: TicketEvent[] = [];
  if (change.kind === 'created' || !before) return [{ type: 'zen:event-type:ticket.created', event: {} }];
  if (change.kind === 'soft_deleted') return [{ type: 'zen:event-type:ticket.soft_deleted', event: {} }];
  if (change.kind === 'undeleted') return [{ type: 'zen:event-type:ticket.undeleted', event: {} }];
  if (before.status !== after.status) events.push({ type: 'zen:event-type:ticket.status_changed', event: { current: upper(after.status), previous: upper(before.status) } });
  if (before.priority !== after.priority) events.push({ type: 'zen:event-type:ticket.priority_changed', event: { current: upper(after.priority), previous: upper(before.priority) } });
  if (before.subject !== after.subject) events.push({ type: 'zen:event-type:ticket.subject_changed', event: { current: after.subject, previous: before.subject } });
  if (before.assigneeId !== after.assigneeId) {
    events.push({ type: 'zen:event-type:ticket.agent_assignment_changed', event: { current: after.assigneeId === null ? null : { id: String(after.assigneeId) }, previous: before.assigneeId === null ? null : { id: String(before.assigneeId) } } });
  }
  const added = after.tags.filter((tag) => !before.tags.includes(tag));
  const removed = before.tags.filter((tag) => !after.tags.includes(tag));
  if (added.length > 0 || removed.length > 0) events.push({ type: 'zen:event-type:ticket.tags_changed', event: { tags_added: added, tags_removed: removed } });
  for (const [fieldId, value] of after.customFields) {
    const previous = before.customFields.get(fieldId) ?? null;
    if (JSON.stringify(previous) !== JSON.stringify(value)) {
      events.push({ type: 'zen:event-type:ticket.custom_field_changed', event: { current: value, previous, custom_field: { id: String(fieldId) } } });
    }
  }
  if (change.comment) {
    const comment = change.comment;
    const author = userOf(comment.authorId);
    events.push({
      type: 'zen:event-type:ticket.comment_added',
      event: { comment: { author: { id: String(comment.authorId), is_staff: author !== undefined && author.role !== 'end-user', name: author?.name ?? '' }, body: comment.body, html_body: `<div class="zd-comment" dir="auto"><p dir="auto">${comment.body}</p></div>`, id: String(comment.id), is_public: comment.public } },
    });
  }
  return events;
}

/** Event `time`: RFC 3339 with nanoseconds, as in recorded payloads ("2025-01-08T10:12:07.672717030Z"). */
function eventTime(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}
