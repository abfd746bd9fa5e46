/**
 * BambooHR's webhooks as BambooHR sends them:
 *
 * - "Webhooks", Security (https://documentation.bamboohr.com/docs/webhooks): each request carries
 *   `X-BambooHR-Timestamp` ("the timestamp when the request was sent") and `X-BambooHR-Signature`, "the SHA-256 HMAC
 *   signature calculated using the payload, the timestamp, and your private key"; the receiver recalculates it "using
 *   the raw request body, the timestamp from the X-BambooHR-Timestamp header, and your stored private key". What is
 *   signed is the raw body followed by the timestamp, and the signature is lower-case hex: Nango's BambooHR page ("The
 *   signature covers the request body followed by X-BambooHR-Timestamp") and every public verifier read agree
 *   (Botpress's and Fusebit's BambooHR integrations). The private key is used as BambooHR shows it.
 * - Replays: a delivery whose timestamp is more than five minutes from now is refused (Nango refuses the same). The
 *   timestamp's format is not documented; public verifiers read Unix seconds, and ISO 8601 text is read as well.
 * - Payloads: event-based webhooks send one event, `{"type": "employee.created" | "employee.updated" |
 *   "employee.deleted", "timestamp", "data": {"companyId", "employeeId", "changedFields"}}` ("Event-Based Webhooks");
 *   field-based ones send `{"employees": [{"id", "action": "Created" | "Updated" | "Deleted", "changedFields",
 *   "fields"}]}` ("Field-Based Webhooks", JSON Format). Either may come form-encoded: an event as `data[employeeId]=…`
 *   (Event-Based, Form Post Format), field-based entries keyed by the employee's id, `employees[12345][changedFields][0]=
 *   First+name&employees[12345][First+name]=John` (Field-Based, Form Post Format; "Global Webhooks":
 *   `employees[<employeeId>][changedFields][0]=Employee #`), with no `id` or `action` in the example. Every id is a
 *   hint: the record is read again before any merge (SPEC §5.1), so an entry without an action is read as a change,
 *   and the values a field-based payload carries are not used. `company.*` events are about something else and are
 *   ignored.
 * - BambooHR sends no delivery id: a retried delivery is a new one, and reading again makes repeats harmless.
 *
 * Registration (hooks.ts): Create Webhook takes a URL but no secret — BambooHR generates the private key and returns
 * it once, in the answer — so the connector's webhook `generatesSecret` and the runtime stores the key it returns.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TriggerConfig } from '../../../nodes/trigger/schema';
import type { ConnectorWebhook, WebhookDelivery, WebhookReading } from '../types';
import { employeesCollection } from './employees';

export const signatureHeader = 'X-BambooHR-Signature';
export const timestampHeader = 'X-BambooHR-Timestamp';
/** How far a delivery's timestamp may be from now, either way. */
export const timestampToleranceMs = 5 * 60_000;

/** The X-BambooHR-Signature of `body` sent at `timestamp`. */
export function signBambooHrWebhook(privateKey: string, timestamp: string, body: Uint8Array | string): string {
  return createHmac('sha256', privateKey).update(body).update(timestamp).digest('hex');
}

/** The time a timestamp header stands for: Unix seconds (or milliseconds), or ISO 8601 text; null when neither. */
export function timestampTime(text: string): number | null {
  if (/^\d{9,11}$/.test(text)) return Number(text) * 1000;
  if (/^\d{12,14}$/.test(text)) return Number(text);
  const time = Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(time) ? null : time;
}

export const bambooHrWebhook: ConnectorWebhook = {
  verify(delivery: WebhookDelivery, secret: string, now: Date): string | null {
    const signature = delivery.header(signatureHeader)?.trim();
    const timestamp = delivery.header(timestampHeader)?.trim();
    const expected = `it must be the hex HMAC-SHA256 of the raw body followed by ${timestampHeader}, keyed with the webhook's private key`;
    if (!signature) return `${signatureHeader} is missing: ${expected}`;
    if (!timestamp) return `${timestampHeader} is missing: BambooHR signs the timestamp with the body`;
    const time = timestampTime(timestamp);
    if (time === null) return `${timestampHeader} "${timestamp.slice(0, 40)}" is not a time`;
    const skew = now.getTime() - time;
    if (Math.abs(skew) > timestampToleranceMs) {
      const minutes = Math.round(Math.abs(skew) / 60_000);
      return `${timestampHeader} ${timestamp} is ${minutes} minutes ${skew > 0 ? 'old' : 'in the future'}; deliveries are accepted within 5 minutes of their timestamp (a replayed delivery, or a clock that is off)`;
    }
    const given = /^[0-9a-f]{64}$/i.test(signature) ? Buffer.from(signature, 'hex') : Buffer.alloc(0);
    const wanted = createHmac('sha256', secret).update(delivery.body).update(timestamp).digest();
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      return `${signatureHeader} does not match: ${expected} (shown once when the webhook was created, in Account Settings › Webhooks or in Create Webhook's answer): the trigger's secret is another, or the body was changed on the way`;
    }
    return null;
  },

  deliveryId(): string | null {
    return null;
  },

  read(delivery: WebhookDelivery, config: TriggerConfig): WebhookReading {
    const text = Buffer.from(delivery.body.buffer, delivery.body.byteOffset, delivery.body.byteLength).toString('utf8');
    const payload = /x-www-form-urlencoded/i.test(delivery.header('content-type') ?? '') ? formPayload(text) : jsonPayload(text);
    if (payload === null) return { kind: 'invalid', message: 'the body is not JSON (nor form-encoded, as a webhook set to Form Post sends it)', path: '' };
    if (typeof payload !== 'object' || Array.isArray(payload)) return { kind: 'invalid', message: 'must be an object: one BambooHR webhook payload', path: '' };
    if (config.collection !== employeesCollection) return { kind: 'ignored', reason: `BambooHR webhooks are about employees, not ${config.collection}` };
    const { type, data, employees } = payload as { type?: unknown; data?: unknown; employees?: unknown };

    if (employees !== undefined) {
      // Field-based: one entry per employee, with the action that happened to them.
      if (!Array.isArray(employees)) return { kind: 'invalid', message: 'must be a list of {id, action} (or, form-encoded, entries keyed by the employee id)', path: 'employees' };
      const events: Array<{ recordId: string; type: 'upsert' | 'delete' }> = [];
      for (const [index, entry] of employees.entries()) {
        const { id, action } = (entry ?? {}) as { id?: unknown; action?: unknown };
        const recordId = typeof id === 'number' ? String(id) : id;
        if (typeof recordId !== 'string' || !/^\d+$/.test(recordId)) return { kind: 'invalid', message: "must be the employee's id", path: `employees[${index}].id` };
        if (action !== undefined && action !== 'Created' && action !== 'Updated' && action !== 'Deleted') return { kind: 'invalid', message: 'must be Created, Updated or Deleted', path: `employees[${index}].action` };
        events.push({ recordId, type: action === 'Deleted' ? 'delete' : 'upsert' });
      }
      return events.length > 0 ? { kind: 'events', events } : { kind: 'ignored', reason: 'the delivery names no employee' };
    }

    if (typeof type !== 'string') return { kind: 'invalid', message: 'must be the event type, e.g. employee.updated (or the delivery must carry an employees list)', path: 'type' };
    if (!type.startsWith('employee.')) return { kind: 'ignored', reason: `a ${type} event is not about an employee` };
    const employee = typeof data === 'object' && data !== null ? (data as { employeeId?: unknown }).employeeId : undefined;
    const recordId = typeof employee === 'number' ? String(employee) : employee;
    if (typeof recordId !== 'string' || !/^\d+$/.test(recordId)) return { kind: 'invalid', message: "must be the employee's id", path: 'data.employeeId' };
    return { kind: 'events', events: [{ recordId, type: type === 'employee.deleted' ? 'delete' : 'upsert' }] };
  },
};

function jsonPayload(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** `type=…&data[employeeId]=…&data[changedFields][0]=…` (Form Post Format) as the object the JSON format would be. */
function formPayload(text: string): unknown {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const parts = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    if (!parts) return null;
    const path = [parts[1] as string, ...[...(parts[2] as string).matchAll(/\[([^[\]]*)\]/g)].map((match) => match[1] as string)];
    let node: Record<string, unknown> = root;
    path.forEach((part, index) => {
      if (index === path.length - 1) node[part] = value;
      else {
        const next = node[part];
        node[part] = typeof next === 'object' && next !== null ? next : {};
        node = node[part] as Record<string, unknown>;
      }
    });
  }
  // `employees[12345][…]` makes an object keyed by employee id: the list the JSON format sends, each entry with its id.
  const { employees } = root;
  if (typeof employees === 'object' && employees !== null && !Array.isArray(employees)) {
    root.employees = Object.entries(employees).map(([key, entry]) => (typeof entry === 'object' && entry !== null ? { id: key, ...entry } : entry));
  }
  return root;
}
