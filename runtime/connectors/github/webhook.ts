/**
 * GitHub repository webhooks for a `github` trigger (docs: Webhook events and payloads; Validating webhook
 * deliveries). A delivery is genuine when `X-Hub-Signature-256` is `sha256=` and the hex HMAC-SHA256 of the raw body
 * with the hook's secret, compared in constant time; `X-GitHub-Delivery` identifies it (a redelivery keeps it);
 * `X-GitHub-Event` says what it is about. Only `issues` events of the trigger's repository are changes; `ping` is
 * GitHub checking the URL; everything else is answered and dropped, so GitHub does not count it as failing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TriggerConfig } from '../../../nodes/trigger/schema';
import type { ConnectorWebhook, WebhookDelivery, WebhookReading } from '../types';

export const signatureHeader = 'X-Hub-Signature-256';

/**
 * The check `@octokit/webhooks-methods` `verify` makes (its Node build: `sha256=` + hex HMAC of the payload, compared
 * with `timingSafeEqual`), made here synchronously over the raw bytes, as {@link ConnectorWebhook.verify} must answer.
 * Both content types GitHub sends are signed over the body as sent: JSON, or `payload=<url-encoded JSON>`.
 */
export function verifyGitHubSignature(secret: string, body: Uint8Array, signature: string | undefined): boolean {
  if (!signature || secret === '') return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(signature.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The event's JSON: the body itself, or the `payload` field of a form-encoded delivery (content type `form`). */
function readPayload(delivery: WebhookDelivery): { payload: Record<string, unknown> } | { problem: string } {
  const text = Buffer.from(delivery.body.buffer, delivery.body.byteOffset, delivery.body.byteLength).toString('utf8');
  const contentType = (delivery.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  let json = text;
  if (contentType === 'application/x-www-form-urlencoded') {
    const field = new URLSearchParams(text).get('payload');
    if (field === null) return { problem: 'a form-encoded GitHub delivery carries its event in a "payload" field, and this one has none' };
    json = field;
  }
  try {
    const payload: unknown = JSON.parse(json);
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return { problem: 'the event must be a JSON object' };
    return { payload: payload as Record<string, unknown> };
  } catch {
    return { problem: `the body is not JSON${contentType === 'application/x-www-form-urlencoded' ? '' : ' (content type application/json, or form with a payload field)'}` };
  }
}

function objectAt(value: unknown, key: string): Record<string, unknown> | undefined {
  const inner = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return inner && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : undefined;
}

/** The repository a trigger syncs, as its connection names it, or null when the connection has none. */
function triggerRepo(config: TriggerConfig): string | null {
  return typeof config.connection.repo === 'string' ? config.connection.repo : null;
}

export const githubWebhook: ConnectorWebhook = {
  verify(delivery, secret) {
    const signature = delivery.header(signatureHeader);
    if (!signature) {
      return `${signatureHeader} is missing: give the GitHub webhook a secret, the value stored in the trigger's secret credential`;
    }
    if (!verifyGitHubSignature(secret, delivery.body, signature)) {
      return `${signatureHeader} does not match the body: it must be sha256=<hex HMAC-SHA256 of the raw body with the trigger's secret>; check that the webhook's secret in GitHub is the value stored in the trigger's secret credential`;
    }
    return null;
  },

  deliveryId(delivery) {
    return delivery.header('X-GitHub-Delivery')?.trim() || null;
  },

  read(delivery, config): WebhookReading {
    const event = delivery.header('X-GitHub-Event')?.trim();
    if (!event) return { kind: 'invalid', message: 'X-GitHub-Event is missing: this is not a GitHub webhook delivery', path: '' };
    // "When you create a new webhook, we'll send you a simple ping event to let you know you've set up the webhook
    // correctly."
    if (event === 'ping') return { kind: 'ping' };
    if (event !== 'issues') {
      const why = event === 'issue_comment' ? ': comments do not sync, and a comment deleted is not an issue deleted' : ': only issues events change records of a github trigger';
      return { kind: 'ignored', reason: `a GitHub ${event} event${why}` };
    }
    const read = readPayload(delivery);
    if ('problem' in read) return { kind: 'invalid', message: read.problem, path: '' };
    const { payload } = read;
    const fullName = objectAt(payload, 'repository')?.full_name;
    if (typeof fullName !== 'string') return { kind: 'invalid', message: 'an issues event names its repository', path: 'repository.full_name' };
    const wanted = triggerRepo(config);
    if (wanted === null || fullName.toLowerCase() !== wanted.toLowerCase()) {
      return { kind: 'ignored', reason: `an issues event of ${fullName}, while this trigger syncs ${wanted ?? 'no repository'}` };
    }
    const issue = objectAt(payload, 'issue');
    const number = issue?.number;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < 1) {
      return { kind: 'invalid', message: 'an issues event carries the issue number', path: 'issue.number' };
    }
    // "GitHub's REST API considers every pull request an issue": its events are not about this collection.
    if (issue?.pull_request !== undefined && issue.pull_request !== null) {
      return { kind: 'ignored', reason: `#${number} is a pull request, not an issue` };
    }
    const action = payload.action;
    // Deleted, or moved to another repository: gone from this one either way (a transfer is a delete here).
    const type = action === 'deleted' || action === 'transferred' ? 'delete' : 'upsert';
    return { kind: 'events', events: [{ recordId: String(number), type }] };
  },
};
