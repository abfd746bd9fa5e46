/**
 * Webhook deliveries as HubSpot sends them to an app's target URL
 * (Webhooks API, https://developers.hubspot.com/docs/api-reference/legacy/webhooks/guide ; Validating requests,
 * https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests):
 *
 * - Subscriptions belong to the app, not to a URL registered per account: one target URL per app, subscriptions such
 *   as `contact.creation`, `contact.deletion`, `contact.restore` and `contact.propertyChange` (one per property, with
 *   its `propertyName`).
 * - A POST whose body is "an array of objects… The batch size can vary, but will be under 100 notifications", each
 *   `{eventId, subscriptionId, portalId, appId, occurredAt, subscriptionType, attemptNumber, objectId, changeSource,
 *   changeFlag?, propertyName?, propertyValue?}` (payload example in the guide; the SDK's signature test body).
 *   "eventId … is not guaranteed to be unique"; order and single delivery are not guaranteed either.
 * - Signed three ways at once: `X-HubSpot-Signature` (v1: hex SHA-256 of client secret + body) with
 *   `X-HubSpot-Signature-Version: v1`, and `X-HubSpot-Signature-v3`: base64 HMAC-SHA256, keyed with the client
 *   secret, of method + URI + body + `X-HubSpot-Request-Timestamp` (milliseconds), the URI being the full URL HubSpot
 *   called with these escapes decoded: %3A : %2F / %3F ? %40 @ %21 ! %24 $ %27 ' %28 ( %29 ) %2A * %2C , %3B ;
 * - A delivery answered with anything but 2xx (or not within 5 seconds) is retried "up to 10 times… spread out over
 *   the next 24 hours", `attemptNumber` counting from 0 (Error handling, Retries › Webhooks).
 */
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { ObjectChange, ObjectType } from './portal';

export interface Subscription {
  id: number;
  subscriptionType: string;
  propertyName?: string;
}

export interface WebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber: number;
  objectId: number;
  changeSource: string;
  changeFlag?: string;
  propertyName?: string;
  propertyValue?: string;
}

export interface Delivery {
  /** The URL HubSpot called, as signed. */
  url: string;
  headers: Record<string, string>;
  body: string;
  status: number | null;
  events: WebhookEvent[];
}

const eventSingular: Record<ObjectType, string> = { contacts: 'contact', companies: 'company' };
const decodedEscapes: Record<string, string> = { '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$', '%27': "'", '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';' };
const maxBatch = 100;
const maxAttempts = 10;

/** The request URI as the v3 signature covers it: the full URL with HubSpot's listed escapes decoded. */
export function v3SignedUri(url: string): string {
  return url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (escape) => decodedEscapes[escape.toUpperCase()] as string);
}

export function signV3(clientSecret: string, method: string, url: string, body: string, timestamp: string): string {
  return createHmac('sha256', clientSecret).update(`${method}${v3SignedUri(url)}${body}${timestamp}`, 'utf8').digest('base64');
}

export function signV1(clientSecret: string, body: string): string {
  return createHash('sha256').update(clientSecret + body, 'utf8').digest('hex');
}

export class WebhookSender {
  private target: { url: string; connectTo: string | null } | null = null;
  private subscriptions: Subscription[] = [];
  private pending: WebhookEvent[] = [];
  private failed: WebhookEvent[] = [];
  private nextEventId = 1000;
  readonly deliveries: Delivery[] = [];

  constructor(
    private readonly portalId: number,
    readonly appId: number,
    readonly clientSecret: string,
    private readonly now: () => number,
  ) {}

  /**
   * The app's webhook settings: its target URL and subscriptions (set in the app's settings, not per account). Tests
   * may connect elsewhere than the target (`connectTo`), standing in for the TLS proxy in front of a runtime: the
   * request still carries the target's Host and is signed for the target URL.
   */
  configure(settings: { targetUrl: string; connectTo?: string; subscriptions: Array<Omit<Subscription, 'id'>> }): void {
    this.target = { url: settings.targetUrl, connectTo: settings.connectTo ?? null };
    this.subscriptions = settings.subscriptions.map((subscription, index) => ({ ...subscription, id: index + 1 }));
    this.pending = [];
    this.failed = [];
  }

  /** Queues the events a change causes for the app's subscriptions. */
  record(change: ObjectChange): void {
    const subscriptionType = `${eventSingular[change.type]}.${change.kind}`;
    for (const subscription of this.subscriptions) {
      if (subscription.subscriptionType !== subscriptionType) continue;
      if (change.kind === 'propertyChange' && subscription.propertyName !== change.name) continue;
      this.pending.push({
        eventId: this.nextEventId++,
        subscriptionId: subscription.id,
        portalId: this.portalId,
        appId: this.appId,
        occurredAt: change.at,
        subscriptionType,
        attemptNumber: 0,
        objectId: Number(change.id),
        changeSource: change.source,
        ...(change.kind === 'creation' ? { changeFlag: 'CREATED' } : change.kind === 'deletion' ? { changeFlag: 'DELETED' } : {}),
        ...(change.kind === 'propertyChange' ? { propertyName: change.name, propertyValue: change.value } : {}),
      });
    }
  }

  /** Events waiting to be sent. */
  get queued(): readonly WebhookEvent[] {
    return this.pending;
  }

  /** Sends what is queued, in batches under 100; what fails waits for {@link retryFailed}. */
  async flush(): Promise<Delivery[]> {
    const events = this.pending;
    this.pending = [];
    return this.send(events);
  }

  /** The next attempt of every failed event (attemptNumber + 1), up to the tenth. */
  async retryFailed(): Promise<Delivery[]> {
    const events = this.failed.filter((event) => event.attemptNumber + 1 < maxAttempts).map((event) => ({ ...event, attemptNumber: event.attemptNumber + 1 }));
    this.failed = [];
    return this.send(events);
  }

  private async send(events: WebhookEvent[]): Promise<Delivery[]> {
    const target = this.target;
    if (!target || events.length === 0) return [];
    const sent: Delivery[] = [];
    for (let start = 0; start < events.length; start += maxBatch) {
      const batch = events.slice(start, start + maxBatch);
      const body = JSON.stringify(batch);
      const timestamp = String(this.now());
      const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        'X-HubSpot-Signature': signV1(this.clientSecret, body),
        'X-HubSpot-Signature-Version': 'v1',
        'X-HubSpot-Signature-v3': signV3(this.clientSecret, 'POST', target.url, body, timestamp),
        'X-HubSpot-Request-Timestamp': timestamp,
      };
      const delivery: Delivery = { url: target.url, headers, body, status: null, events: batch };
      this.deliveries.push(delivery);
      sent.push(delivery);
      delivery.status = await post(target.connectTo ?? target.url, new URL(target.url), headers, body).catch(() => null);
      if (delivery.status === null || delivery.status < 200 || delivery.status >= 300) this.failed.push(...batch);
    }
    return sent;
  }
}

/** POSTs to `address` with the Host of the signed URL, path and query as signed; the status, or null on no answer. */
function post(address: string, signed: URL, headers: Record<string, string>, body: string): Promise<number | null> {
  const to = new URL(address);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: to.hostname, port: to.port, method: 'POST', path: signed.pathname + signed.search, headers: { ...headers, Host: signed.host, 'Content-Length': String(Buffer.byteLength(body)) }, timeout: 5000 },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? null));
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
    request.end(body);
  });
}
