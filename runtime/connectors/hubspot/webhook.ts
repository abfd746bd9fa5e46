/**
 * HubSpot's webhooks as HubSpot sends them (Validating requests,
 * https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests ; Webhooks API,
 * https://developers.hubspot.com/docs/api-reference/legacy/webhooks/guide):
 *
 * - `X-HubSpot-Signature-v3` is the base64 HMAC-SHA256, keyed with the app's client secret, of method + request URI +
 *   raw body + `X-HubSpot-Request-Timestamp`, where the URI is the full URL HubSpot called with %3A %2F %3F %40 %21 %24
 *   %27 %28 %29 %2A %2C %3B decoded. "Reject the request if the timestamp is older than 5 minutes." The older v1/v2
 *   signatures carry no timestamp and are not accepted: a captured delivery could be replayed forever.
 * - HubSpot signs the https URL it was configured with; Syncline sees the path and query as received, behind whatever
 *   terminates TLS. The URL is rebuilt as `https://` + `Host` + path: `X-Forwarded-Proto` and `X-Forwarded-Host`, when
 *   a proxy sets them, name what HubSpot called instead. A forged header gains nothing: the path is the route's own, and
 *   without the secret no signature matches the URL it names.
 * - The body is "an array of objects… under 100 notifications": `{objectId, subscriptionType (or eventType),
 *   eventId, subscriptionId, occurredAt, attemptNumber, …}`. Creations, property changes, restores and merges are
 *   upserts; deletions and privacy deletions are deletes; a merge deletes the merged-away records (the primary too
 *   when the merge made a new object, `newObjectId`). Events about other
 *   object types (a contact trigger receives the app's company events too) and association changes are left out.
 * - Delivery id: HubSpot sends none, and "eventId … is not guaranteed to be unique". A retried batch carries the same
 *   notifications with `attemptNumber` one higher, so the id is a hash of the batch's events without their attempt
 *   numbers: a retry is recognised, and two different batches never share one.
 * - Subscriptions belong to the HubSpot app (its settings, or its project's webhooks config), not to a URL an API
 *   registers per account: there is no `register` here; docs/connectors/hubspot.md says how to point an app at the
 *   trigger's URL.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { TriggerConfig } from '../../../nodes/trigger/schema';
import type { ConnectorWebhook, WebhookDelivery, WebhookReading } from '../types';

export const signatureHeader = 'X-HubSpot-Signature-v3';
export const timestampHeader = 'X-HubSpot-Request-Timestamp';
/** "Reject the request if the timestamp is older than 5 minutes." */
export const timestampToleranceMs = 5 * 60_000;

const decodedEscapes: Record<string, string> = { '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$', '%27': "'", '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';' };

/** The v3 subscription prefix of each collection's events, and the generic webhooks' object type ids. */
const eventPrefix: Record<string, string> = { contacts: 'contact.', companies: 'company.' };
const objectTypeIds: Record<string, string> = { contacts: '0-1', companies: '0-2' };
const upserts = new Set(['creation', 'propertyChange', 'restore', 'merge']);
const deletes = new Set(['deletion', 'privacyDeletion']);

/** The URI as HubSpot's v3 signature covers it: HubSpot's listed escapes decoded, everything else as sent. */
export function signedUri(url: string): string {
  return url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (escape) => decodedEscapes[escape.toUpperCase()] as string);
}

/** The signature header of a delivery of `body` to `url` at `timestamp` (milliseconds, as text). */
export function signHubSpotWebhook(clientSecret: string, method: string, url: string, body: Uint8Array | string, timestamp: string): string {
  return createHmac('sha256', clientSecret).update(`${method}${signedUri(url)}`, 'utf8').update(body).update(timestamp, 'utf8').digest('base64');
}

/** The URL HubSpot called, rebuilt from what arrived (see the module comment). */
export function calledUrl(delivery: WebhookDelivery): string | null {
  const first = (value: string | undefined) => value?.split(',')[0]?.trim() || undefined;
  const host = first(delivery.header('x-forwarded-host')) ?? delivery.header('host')?.trim();
  if (!host) return null;
  const proto = first(delivery.header('x-forwarded-proto'))?.toLowerCase() ?? 'https';
  return `${proto}://${host}${delivery.url.startsWith('/') ? delivery.url : `/${delivery.url}`}`;
}

export const hubspotWebhook: ConnectorWebhook = {
  verify(delivery: WebhookDelivery, secret: string, now: Date): string | null {
    const signature = delivery.header(signatureHeader)?.trim();
    const timestamp = delivery.header(timestampHeader)?.trim();
    const expected = `it must be the base64 HMAC-SHA256, keyed with the HubSpot app's client secret, of the method, the URL HubSpot called, the raw body and ${timestampHeader}`;
    if (!signature) {
      const older = delivery.header('X-HubSpot-Signature') ? ' (this delivery has only the older X-HubSpot-Signature, which carries no timestamp and is not accepted)' : '';
      return `${signatureHeader} is missing${older}: ${expected}`;
    }
    if (!timestamp) return `${timestampHeader} is missing: HubSpot signs the time of the delivery with it`;
    if (!/^\d{10,16}$/.test(timestamp)) return `${timestampHeader} "${timestamp.slice(0, 40)}" is not a time in milliseconds`;
    const skew = now.getTime() - Number(timestamp);
    if (Math.abs(skew) > timestampToleranceMs) {
      const minutes = Math.round(Math.abs(skew) / 60_000);
      return `${timestampHeader} is ${minutes} minutes ${skew > 0 ? 'old' : 'in the future'}; HubSpot's deliveries are accepted within 5 minutes of their timestamp (a replayed delivery, or a clock that is off)`;
    }
    const url = calledUrl(delivery);
    if (url === null) return 'the request has no Host header, so the URL HubSpot signed cannot be rebuilt';
    const given = /^[A-Za-z0-9+/]+={0,2}$/.test(signature) ? Buffer.from(signature, 'base64') : Buffer.alloc(0);
    const wanted = Buffer.from(signHubSpotWebhook(secret, delivery.method.toUpperCase(), url, delivery.body, timestamp), 'base64');
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      return `${signatureHeader} does not match for ${url}: ${expected} (the app's Auth tab › Client secret). The trigger's secret is another, the body was changed on the way, or HubSpot called another URL than this one (a proxy that changes the host or scheme should set X-Forwarded-Host and X-Forwarded-Proto)`;
    }
    return null;
  },

  deliveryId(delivery: WebhookDelivery): string | null {
    const events = parse(delivery.body);
    if (!Array.isArray(events)) return null;
    const canonical = events.map((event) => canonicalJson(typeof event === 'object' && event !== null ? withoutAttempt(event as Record<string, unknown>) : event)).sort();
    return `hubspot-${createHash('sha256').update(canonical.join('\n')).digest('hex')}`;
  },

  read(delivery: WebhookDelivery, config: TriggerConfig): WebhookReading {
    const events = parse(delivery.body);
    if (events === undefined) return { kind: 'invalid', message: 'the body is not JSON', path: '' };
    if (!Array.isArray(events)) return { kind: 'invalid', message: 'must be a JSON array of HubSpot webhook events', path: '' };
    const prefix = eventPrefix[config.collection];
    const typeId = objectTypeIds[config.collection];
    const read: Array<{ recordId: string; type: 'upsert' | 'delete' }> = [];
    const others = new Set<string>();
    for (const [index, event] of events.entries()) {
      if (typeof event !== 'object' || event === null || Array.isArray(event)) return { kind: 'invalid', message: 'must be a HubSpot event object', path: `[${index}]` };
      const fields = event as Record<string, unknown>;
      const type = typeof fields.subscriptionType === 'string' ? fields.subscriptionType : fields.eventType;
      if (typeof type !== 'string') return { kind: 'invalid', message: 'must be the event type, e.g. contact.propertyChange', path: `[${index}].subscriptionType` };
      // Legacy subscriptions name the object ("contact.creation"); generic ones say "object.creation" with its type id.
      const action = prefix && type.startsWith(prefix) ? type.slice(prefix.length) : type.startsWith('object.') && fields.objectTypeId === typeId ? type.slice('object.'.length) : null;
      if (action === null || (!upserts.has(action) && !deletes.has(action))) {
        others.add(type);
        continue;
      }
      if (action === 'merge') {
        const winner = idOf(fields.newObjectId) ?? idOf(fields.primaryObjectId) ?? idOf(fields.objectId);
        if (winner === null) return { kind: 'invalid', message: 'must be the id of the record the merge kept', path: `[${index}].primaryObjectId` };
        read.push({ recordId: winner, type: 'upsert' });
        // "newObjectId … is separate from primaryObjectId because in some cases a new object is created" (changelog,
        // "New subscription types for Webhooks"): then the primary is merged away too, and read again with the rest.
        const losers = new Set([fields.primaryObjectId, ...(Array.isArray(fields.mergedObjectIds) ? fields.mergedObjectIds : [])].map(idOf));
        for (const id of losers) if (id !== null && id !== winner) read.push({ recordId: id, type: 'delete' });
        continue;
      }
      const recordId = idOf(fields.objectId);
      if (recordId === null) return { kind: 'invalid', message: 'must be the id of the record the event is about', path: `[${index}].objectId` };
      read.push({ recordId, type: deletes.has(action) ? 'delete' : 'upsert' });
    }
    if (read.length === 0) return { kind: 'ignored', reason: events.length === 0 ? 'no events' : `${[...others].join(', ')} events are not about ${config.collection}` };
    return { kind: 'events', events: read };
  },
};

function parse(body: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
}

function idOf(value: unknown): string | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value === 'string' && /^[1-9]\d{0,19}$/.test(value)) return value;
  return null;
}

function withoutAttempt(event: Record<string, unknown>): Record<string, unknown> {
  const { attemptNumber: _attempt, ...rest } = event;
  return rest;
}

/** JSON with object keys sorted, so equal events hash alike whatever order HubSpot wrote their keys in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
