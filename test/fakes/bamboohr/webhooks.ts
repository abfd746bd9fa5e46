import { createHmac, randomBytes } from 'node:crypto';
import type { BambooHrCompany, EmployeeChange, FieldDefinition } from './company';
import { fieldKey } from './company';
import { webhookBadRequest, webhookFieldsDenied, webhookNotFound } from './responses';

/**
 * Webhooks: the records of the Webhooks API (`/api/v1/webhooks`) and the signed requests BambooHR sends.
 *
 * Sources:
 * - OpenAPI description (BambooHR/bhr-api-php specs/public.yaml): Create Webhook (`NewWebHook`: name, url, format
 *   required; url "must begin with https://"; `events` default `['employee_with_fields.updated',
 *   'employee_with_fields.deleted', 'employee_with_fields.created']`, "Cannot mix employee_with_fields events with
 *   employee events"; `monitorFields` required with an update event; 201 with `privateKey`, "only returned at
 *   creation time and cannot be retrieved again"; 403 listing `unknownFields` and the `monitorFields` List Monitor
 *   Fields leaves out), List Webhooks, Get Webhook (no private key), Update Webhook (a full replacement; "The private
 *   key is not regenerated on update"), Delete Webhook (200 text/plain "Web hook has been deleted."),
 *   `WebhookEventType`.
 * - "Event-Based Webhooks", https://documentation.bamboohr.com/docs/event-based-webhooks : `{"type":
 *   "employee.updated", "timestamp": "2026-01-31T18:42:00+0000", "data": {"companyId", "employeeId",
 *   "changedFields"}}`, and the form-post encoding `type=…&data[companyId]=…`.
 * - "Employee Updated" event reference, https://documentation.bamboohr.com/reference/employee-updated-webhook :
 *   "When an employee is created, both employee.created and employee.updated events fire sequentially"; fires only
 *   when a monitored field changed; `changedFields` holds API aliases.
 * - "Field-Based Webhooks", https://documentation.bamboohr.com/docs/field-based-webhooks , with the payload shape as
 *   the api-evangelist/bamboohr AsyncAPI file transcribes it: `{"employees": [{"id", "action": "Created" | "Updated" |
 *   "Deleted", "timestamp", "changedFields": ["First Name"], "fields": {"<post name>": value}}]}`.
 * - "Webhooks", Security, https://documentation.bamboohr.com/docs/webhooks : `X-BambooHR-Timestamp` ("the timestamp
 *   when the request was sent") and `X-BambooHR-Signature` ("calculated using the payload, the timestamp, and your
 *   private key"; recalculate it "using the raw request body, the timestamp from the X-BambooHR-Timestamp header, and
 *   your stored private key"). The order (body, then timestamp) and hex encoding: Nango's BambooHR page ("The
 *   signature covers the request body followed by X-BambooHR-Timestamp") and every public verifier read (Botpress's
 *   BambooHR integration, Fusebit's connector): hex(HMAC-SHA256(private key, raw body + timestamp)). The timestamp's
 *   format is UNCONFIRMED: public verifiers and their tests use Unix seconds ("1700000000"); the fake sends those.
 * - User-Agent "BambooHR-WebHooks/1.0 (+https://www.bamboohr.com)": checked by Fusebit's BambooHR connector.
 */

export interface WebhookRecord {
  id: string;
  name: string;
  url: string;
  format: 'json' | 'form-encoded';
  monitorFields: string[] | null;
  postFields: Record<string, string>;
  events: string[];
  includeCompanyDomain: boolean;
  privateKey: string;
  created: number;
  lastSent: number | null;
}

/** One request BambooHR sent (or tried to send) to a webhook's URL. */
export interface Delivery {
  webhookId: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The receiver's status, or null while not sent (held) or when the request failed. */
  status: number | null;
  error: string | null;
}

const eventTypes = ['employee_with_fields.updated', 'employee_with_fields.created', 'employee_with_fields.deleted', 'company-integrations.updated', 'employee.created', 'employee.updated', 'employee.deleted', 'company.updated', 'company.deleted'];
const defaultEvents = ['employee_with_fields.updated', 'employee_with_fields.deleted', 'employee_with_fields.created'];
export const userAgent = 'BambooHR-WebHooks/1.0 (+https://www.bamboohr.com)';

/** The X-BambooHR-Signature of a body sent at `timestamp`: hex HMAC-SHA256 of the raw body followed by the timestamp. */
export function signBambooHrDelivery(privateKey: string, body: string, timestamp: string): string {
  return createHmac('sha256', privateKey).update(body + timestamp).digest('hex');
}

/** "YYYY-MM-DD HH:MM:SS" in UTC: how webhook records show `created` and `lastSent`. */
function recordTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** "2026-01-31T18:42:00+0000": the payload's own timestamp, as the event-based example writes it. */
function payloadTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

export class WebhookHub {
  readonly webhooks = new Map<string, WebhookRecord>();
  readonly deliveries: Delivery[] = [];
  private nextId = 1;
  private held = false;
  private readonly queue: Delivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private previous: Promise<void> = Promise.resolve();

  constructor(
    private readonly company: BambooHrCompany,
    private readonly companyId: string,
    private readonly nowMs: () => number,
    private readonly allowHttpTargets: boolean,
  ) {
    company.onChange((change) => this.publish(change));
  }

  /** Create Webhook: validated as the 400 and 403 answers describe; the private key is made here, and only here. */
  create(input: Record<string, unknown>): WebhookRecord {
    const webhook: WebhookRecord = {
      id: String(this.nextId++),
      ...this.settings(input),
      // UNCONFIRMED: the key's length and alphabet; the API only calls it a private key.
      privateKey: randomBytes(32).toString('hex'),
      created: this.nowMs(),
      lastSent: null,
    };
    this.webhooks.set(webhook.id, webhook);
    return webhook;
  }

  /**
   * Update Webhook (`PUT /api/v1/webhooks/{id}`, OpenAPI `update-webhook`): "Performs a full replacement update of a
   * webhook — all request body fields overwrite existing values, so omitted optional fields revert to defaults", with
   * the body and the 400/403 checks of Create Webhook (`NewWebHook`), 404 for no such webhook, and "The private key is
   * not regenerated on update." Its 200 is `WebHookResponse`, which holds no private key.
   */
  update(id: string, input: Record<string, unknown>): WebhookRecord {
    const webhook = this.get(id);
    Object.assign(webhook, this.settings(input));
    return webhook;
  }

  /** What a create or an update sets, checked as their 400 and 403 answers describe. */
  private settings(input: Record<string, unknown>): Pick<WebhookRecord, 'name' | 'url' | 'format' | 'monitorFields' | 'postFields' | 'events' | 'includeCompanyDomain'> {
    const issues: string[] = [];
    const name = typeof input.name === 'string' && input.name !== '' ? input.name : null;
    const url = typeof input.url === 'string' ? input.url : null;
    if (!name) issues.push('name is required');
    if (!url) issues.push('url is required');
    else if (!url.startsWith('https://') && !(this.allowHttpTargets && url.startsWith('http://'))) issues.push('url must begin with https://');
    if (input.format === undefined) issues.push('format is required');
    else if (input.format !== 'json' && input.format !== 'form-encoded') issues.push('format must be json or form-encoded');
    const events = Array.isArray(input.events) && input.events.length > 0 ? input.events.map(String) : defaultEvents;
    const unknownEvents = events.filter((event) => !eventTypes.includes(event));
    if (unknownEvents.length > 0) issues.push(`unknown events: ${unknownEvents.join(', ')}`);
    if (events.some((event) => event.startsWith('employee_with_fields.')) && events.some((event) => event.startsWith('employee.'))) issues.push('cannot mix employee_with_fields events with employee events');
    const monitorFields = Array.isArray(input.monitorFields) ? input.monitorFields.map(String) : [];
    if (monitorFields.length === 0 && events.some((event) => event.endsWith('.updated') && event.startsWith('employee'))) issues.push('monitorFields is required for update events');
    if (issues.length > 0) throw webhookBadRequest(issues);

    const postFields = typeof input.postFields === 'object' && input.postFields !== null && !Array.isArray(input.postFields) ? Object.fromEntries(Object.entries(input.postFields).map(([key, value]) => [key, String(value)])) : {};
    this.checkFields(monitorFields, Object.keys(postFields));
    return {
      name: name as string,
      url: url as string,
      format: input.format as 'json' | 'form-encoded',
      monitorFields: monitorFields.length > 0 ? monitorFields : null,
      postFields,
      events,
      includeCompanyDomain: input.includeCompanyDomain === true,
    };
  }

  /** Names matching no field, and monitored fields List Monitor Fields leaves out, refuse the webhook (403). */
  private checkFields(monitorFields: string[], postFields: string[]): void {
    const unknownFields = [...monitorFields, ...postFields].filter((name) => !this.company.resolveField(name));
    const monitorable = new Set(this.company.monitorFields());
    const denied = monitorFields
      .map((name) => this.company.resolveField(name))
      .filter((field): field is FieldDefinition => field !== undefined && !monitorable.has(field))
      .map((field) => ({ id: field.id, name: field.name }));
    if (unknownFields.length > 0 || denied.length > 0) throw webhookFieldsDenied({ unknownFields, monitorFields: denied });
  }

  get(id: string): WebhookRecord {
    const webhook = this.webhooks.get(id);
    if (!webhook) throw webhookNotFound(id);
    return webhook;
  }

  delete(id: string): void {
    this.get(id);
    this.webhooks.delete(id);
  }

  /** Get Webhook / Update Webhook answer (`WebHookResponse`): everything but the private key. */
  json(webhook: WebhookRecord, withKey = false): Record<string, unknown> {
    return {
      id: webhook.id,
      name: webhook.name,
      created: recordTime(webhook.created),
      lastSent: webhook.lastSent === null ? null : recordTime(webhook.lastSent),
      monitorFields: webhook.monitorFields,
      postFields: webhook.postFields,
      url: webhook.url,
      format: webhook.format,
      ...(withKey ? { privateKey: webhook.privateKey } : {}),
      includeCompanyDomain: webhook.includeCompanyDomain,
      events: webhook.events,
    };
  }

  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    for (const delivery of this.queue.splice(0)) this.send(delivery);
  }

  /** Sends a recorded delivery again, headers and body unchanged: a retry or a replay arriving later. */
  redeliver(delivery: Delivery): void {
    const again: Delivery = { ...delivery, status: null, error: null };
    this.deliveries.push(again);
    this.send(again);
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private publish(change: EmployeeChange): void {
    for (const webhook of this.webhooks.values()) {
      for (const body of this.bodies(webhook, change)) this.enqueue(webhook, body);
    }
  }

  /** The bodies one change sends to one webhook, per its events and monitored fields. */
  private bodies(webhook: WebhookRecord, change: EmployeeChange): string[] {
    const monitored = (webhook.monitorFields ?? []).map((name) => this.company.resolveField(name)).filter((field): field is FieldDefinition => field !== undefined);
    const changedMonitored = monitored.filter((field) => change.changedFields.includes(fieldKey(field)));
    const employeeId = String(change.employee.id);
    const at = payloadTime(this.nowMs());
    const bodies: string[] = [];
    const eventBased = (type: string, changedFields?: string[]): void => {
      const event = { type, timestamp: at, data: { companyId: this.companyId, employeeId, ...(changedFields ? { changedFields } : {}) } };
      bodies.push(webhook.format === 'json' ? JSON.stringify(event) : formEncoded(event));
    };
    const has = (event: string): boolean => webhook.events.includes(event);
    if (change.action === 'Inserted' && has('employee.created')) eventBased('employee.created');
    if (change.action !== 'Deleted' && has('employee.updated') && changedMonitored.length > 0) eventBased('employee.updated', changedMonitored.map(fieldKey));
    if (change.action === 'Deleted' && has('employee.deleted')) eventBased('employee.deleted');

    const fieldBasedAction = change.action === 'Inserted' ? 'Created' : change.action;
    const fieldBasedEvent = `employee_with_fields.${fieldBasedAction === 'Created' ? 'created' : fieldBasedAction === 'Updated' ? 'updated' : 'deleted'}`;
    if (has(fieldBasedEvent) && (fieldBasedAction !== 'Updated' || changedMonitored.length > 0)) {
      const fields = fieldBasedAction === 'Updated' ? Object.fromEntries(Object.entries(webhook.postFields).map(([name, postedAs]) => [postedAs, this.company.valueOf(change.employee, fieldKey(this.company.resolveField(name) as FieldDefinition))])) : {};
      const changedFields = fieldBasedAction === 'Updated' ? changedMonitored.map((field) => field.name) : [];
      if (webhook.format === 'json') bodies.push(JSON.stringify({ employees: [{ id: employeeId, action: fieldBasedAction, timestamp: at, changedFields, fields }] }));
      // Form Post Format ("Field-Based Webhooks"): entries keyed by the employee's id, the posted values beside
      // changedFields (`employees[12345][changedFields][0]=First+name&employees[12345][First+name]=John`). The
      // example shows no action or timestamp; they are sent beside them as the JSON format has them, so a form
      // delivery can still say Deleted (the connector does not count on them).
      else bodies.push(formEncoded({ employees: { [employeeId]: { action: fieldBasedAction, timestamp: at, changedFields, ...fields } } }));
    }
    return bodies;
  }

  private enqueue(webhook: WebhookRecord, body: string): void {
    const timestamp = String(Math.floor(this.nowMs() / 1000));
    const delivery: Delivery = {
      webhookId: webhook.id,
      url: webhook.url,
      headers: {
        'Content-Type': webhook.format === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
        'User-Agent': userAgent,
        'X-BambooHR-Timestamp': timestamp,
        'X-BambooHR-Signature': signBambooHrDelivery(webhook.privateKey, body, timestamp),
      },
      body,
      status: null,
      error: null,
    };
    webhook.lastSent = this.nowMs();
    this.deliveries.push(delivery);
    if (this.held) this.queue.push(delivery);
    else this.send(delivery);
  }

  /** Sends one delivery after those before it: in the order the changes happened, so tests read them in that order. */
  private send(delivery: Delivery): void {
    const attempt = this.previous.then(async () => {
      try {
        const response = await fetch(delivery.url, { method: 'POST', headers: delivery.headers, body: delivery.body, signal: AbortSignal.timeout(10_000) });
        await response.arrayBuffer();
        delivery.status = response.status;
      } catch (error) {
        delivery.error = error instanceof Error ? error.message : String(error);
      }
    });
    this.previous = attempt;
    this.inFlight.add(attempt);
    void attempt.finally(() => this.inFlight.delete(attempt));
  }
}

/** The form-post encoding of a payload: `data[companyId]=…`, `data[changedFields][0]=…` ("Form Post Format"). */
function formEncoded(value: unknown): string {
  const pairs: string[] = [];
  const walk = (prefix: string, item: unknown): void => {
    if (Array.isArray(item)) item.forEach((entry, index) => walk(`${prefix}[${index}]`, entry));
    else if (typeof item === 'object' && item !== null) for (const [key, entry] of Object.entries(item)) walk(prefix === '' ? key : `${prefix}[${key}]`, entry);
    else pairs.push(`${encodeURIComponent(prefix)}=${encodeURIComponent(item === null ? '' : String(item))}`);
  };
  walk('', value);
  return pairs.join('&');
}
