/**
 * Zendesk's webhooks as Zendesk sends them:
 *
 * - "Verifying webhook authenticity" (https://developer.zendesk.com/documentation/webhooks/verifying/): the
 *   `X-Zendesk-Webhook-Signature` header is base64(HMAC-SHA256(signing secret, timestamp + raw body)), the timestamp
 *   being the `X-Zendesk-Webhook-Signature-Timestamp` header as sent; the secret is used as shown in Admin Center,
 *   not decoded. A timestamp more than five minutes away from now is refused, so a captured delivery cannot be
 *   replayed later.
 * - "Anatomy of a webhook request": `X-Zendesk-Webhook-Invocation-Id` is the same on every retry of one invocation,
 *   the delivery id for de-duplication.
 * - "Webhook event types" (Event schema): `{type: "zen:event-type:ticket.status_changed", detail: {id: "35436", …},
 *   subject: "zen:ticket:35436", …}`. Ticket events are upserts; `ticket.soft_deleted` and
 *   `ticket.permanently_deleted` are deletes. Events about anything else are accepted and ignored.
 * - A webhook connected to a trigger or automation sends the body its author wrote; one written in Syncline's own
 *   shape, `{"type": "upsert", "id": "{{ticket.id}}"}`, is read as that.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TriggerConfig } from '../../../nodes/trigger/schema';
import type { ConnectorWebhook, WebhookDelivery, WebhookReading } from '../types';

export const signatureHeader = 'X-Zendesk-Webhook-Signature';
export const timestampHeader = 'X-Zendesk-Webhook-Signature-Timestamp';
export const invocationHeader = 'X-Zendesk-Webhook-Invocation-Id';
/** How far a delivery's timestamp may be from now, either way. */
export const timestampToleranceMs = 5 * 60_000;

const deleteEvents: Record<string, ReadonlySet<string>> = {
  tickets: new Set(['ticket.soft_deleted', 'ticket.permanently_deleted']),
  users: new Set(['user.deleted']),
};
const eventPrefixes: Record<string, string> = { tickets: 'zen:event-type:ticket.', users: 'zen:event-type:user.' };

/** The signature header a delivery of `body` at `timestamp` carries. */
export function signZendeskWebhook(secret: string, timestamp: string, body: Uint8Array | string): string {
  return createHmac('sha256', secret).update(timestamp).update(body).digest('base64');
}

export const zendeskWebhook: ConnectorWebhook = {
  verify(delivery: WebhookDelivery, secret: string, now: Date): string | null {
    const signature = delivery.header(signatureHeader)?.trim();
    const timestamp = delivery.header(timestampHeader)?.trim();
    const expected = `it must be the base64 HMAC-SHA256 of ${timestampHeader} followed by the raw body, keyed with the webhook's signing secret`;
    if (!signature) return `${signatureHeader} is missing: ${expected}`;
    if (!timestamp) return `${timestampHeader} is missing: Zendesk signs the timestamp with the body`;
    const time = Date.parse(timestamp);
    if (Number.isNaN(time)) return `${timestampHeader} "${timestamp.slice(0, 40)}" is not a time`;
    const skew = now.getTime() - time;
    if (Math.abs(skew) > timestampToleranceMs) {
      const minutes = Math.round(Math.abs(skew) / 60_000);
      return `${timestampHeader} ${timestamp} is ${minutes} minutes ${skew > 0 ? 'old' : 'in the future'}; deliveries are accepted within 5 minutes of their timestamp (a replayed delivery, or a clock that is off)`;
    }
    const given = /^[A-Za-z0-9+/]+={0,2}$/.test(signature) ? Buffer.from(signature, 'base64') : Buffer.alloc(0);
    const wanted = createHmac('sha256', secret).update(timestamp).update(delivery.body).digest();
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      return `${signatureHeader} does not match: ${expected} (Admin Center > Apps and integrations > Webhooks > the webhook > Signing secret): the trigger's secret is another, or the body was changed on the way`;
    }
    return null;
  },

  deliveryId(delivery: WebhookDelivery): string | null {
    return delivery.header(invocationHeader)?.trim() || null;
  },

  read(delivery: WebhookDelivery, config: TriggerConfig): WebhookReading {
    let event: unknown;
    try {
      event = JSON.parse(Buffer.from(delivery.body.buffer, delivery.body.byteOffset, delivery.body.byteLength).toString('utf8'));
    } catch {
      return { kind: 'invalid', message: 'the body is not JSON', path: '' };
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) return { kind: 'invalid', message: 'must be a JSON object: one Zendesk event', path: '' };
    const { type, detail, id, subject } = event as { type?: unknown; detail?: unknown; id?: unknown; subject?: unknown };
    if (typeof type !== 'string') return { kind: 'invalid', message: 'must be text: the event type, e.g. zen:event-type:ticket.status_changed', path: 'type' };

    // A trigger's or automation's own body, written in Syncline's shape.
    if (type === 'upsert' || type === 'delete') {
      const recordId = typeof id === 'number' ? String(id) : id;
      if (typeof recordId !== 'string' || !/^\d+$/.test(recordId.trim())) return { kind: 'invalid', message: 'must be the record id, e.g. "{{ticket.id}}" in the trigger\'s body', path: 'id' };
      return { kind: 'events', events: [{ recordId: recordId.trim(), type }] };
    }

    const prefix = eventPrefixes[config.collection];
    if (prefix === undefined || !type.startsWith(prefix)) return { kind: 'ignored', reason: `a ${type} event is not about ${config.collection}` };
    const detailId = typeof detail === 'object' && detail !== null ? (detail as { id?: unknown }).id : undefined;
    // `subject` names the record too ("zen:ticket:35436"), for an event whose detail lacks the id.
    const fromSubject = typeof subject === 'string' ? /:(\d+)$/.exec(subject)?.[1] : undefined;
    const recordId = typeof detailId === 'number' ? String(detailId) : typeof detailId === 'string' && detailId !== '' ? detailId : fromSubject;
    if (recordId === undefined || !/^\d+$/.test(recordId)) return { kind: 'invalid', message: 'must be the id of the record the event is about', path: 'detail.id' };
    const name = type.slice('zen:event-type:'.length);
    return { kind: 'events', events: [{ recordId, type: deleteEvents[config.collection]?.has(name) ? 'delete' : 'upsert' }] };
  },
};
