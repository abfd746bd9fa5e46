/**
 * Repository webhooks: the hooks a client registers and the deliveries GitHub POSTs to them.
 * Headers follow docs "Webhook events and payloads › Delivery headers" and the `webhooks` section of the
 * OpenAPI description (User-Agent GitHub-Hookshot/…, X-GitHub-Hook-ID, X-GitHub-Event, X-GitHub-Delivery,
 * X-GitHub-Hook-Installation-Target-Type/-ID, X-Hub-Signature-256); signatures use @octokit/webhooks-methods
 * `sign`, i.e. "the HMAC hex digest of the request body ... using the SHA-256 hash function and the secret".
 */
import { createHmac } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';
import { ApiError, docs, validationFailed } from './api-error';
import { isoSeconds, type Urls } from './representation';
import { randomGuid, shuffled, type Random } from './seeded-random';
import type { Clock, RepoStore } from './store';

export interface HookRecord {
  id: number;
  active: boolean;
  events: string[];
  config: { url: string; content_type: 'json' | 'form'; secret: string | null; insecure_ssl: string };
  createdAt: number;
  updatedAt: number;
  lastResponse: { code: number | null; status: string; message: string | null };
}

/** One attempt to deliver one event to one hook. A redelivery is a new attempt with the same GUID. */
export interface DeliveryRecord {
  /** The numeric id the REST deliveries endpoints use. */
  id: number;
  /** X-GitHub-Delivery. */
  guid: string;
  hookId: number;
  event: string;
  action: string | null;
  /** The raw body exactly as sent (JSON, or `payload=…` for form hooks); signatures cover these bytes. */
  body: string;
  headers: Record<string, string>;
  state: 'held' | 'queued' | 'delivered' | 'failed' | 'discarded';
  redelivery: boolean;
  statusCode: number | null;
  deliveredAt: number | null;
  durationSeconds: number;
}

/** In which order held deliveries go out: as they happened, backwards, seeded shuffle, or an explicit GUID list. */
export type ReleaseOrder = 'in-order' | 'reverse' | 'shuffled' | string[];

// "Your server should respond with a 2XX response within 10 seconds ... If your server takes longer than that
// to respond, then GitHub terminates the connection and considers the delivery a failure." (Best practices)
const deliveryTimeoutMs = 10_000;

export class WebhookDispatcher {
  readonly hooks: HookRecord[] = [];
  readonly deliveries: DeliveryRecord[] = [];
  private held = false;
  private nextDeliveryId = 1;
  private sending: Promise<void> = Promise.resolve();
  private readonly hookshotVersion: string;

  constructor(
    private readonly repo: RepoStore,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {
    this.hookshotVersion = randomGuid(random).replace(/-/g, '').slice(0, 7);
  }

  /** Create a repository webhook (docs: REST API endpoints for repository webhooks). */
  createHook(body: Record<string, unknown>): HookRecord {
    if (body.name !== undefined && body.name !== 'web') {
      // "Use `web` to create a webhook ... This parameter only accepts the value `web`."
      throw validationFailed(docs.createHook, [{ resource: 'Hook', code: 'invalid', field: 'name', value: body.name }]);
    }
    const config = parseConfig(body.config, docs.createHook);
    const events = parseEvents(body.events, docs.createHook) ?? ['push'];
    // "Multiple webhooks can share the same config as long as those webhooks do not have any events that overlap."
    const clash = this.hooks.find((hook) => hook.config.url === config.url && hook.events.some((event) => events.includes(event) || event === '*' || events.includes('*')));
    if (clash) throw validationFailed(docs.createHook, [{ resource: 'Hook', code: 'custom', message: 'Hook already exists on this repository' }]);
    const now = this.clock.nowSeconds();
    const hook: HookRecord = {
      id: this.repo.allocateId(),
      active: body.active === undefined ? true : body.active === true,
      events,
      config,
      createdAt: now,
      updatedAt: now,
      lastResponse: { code: null, status: 'unused', message: null },
    };
    this.hooks.push(hook);
    return hook;
  }

  hook(id: number): HookRecord {
    const hook = this.hooks.find((candidate) => candidate.id === id);
    if (!hook) throw new ApiError(404, 'Not Found', docs.getHook);
    return hook;
  }

  /** Update a repository webhook: `config` is replaced whole, so leaving out `secret` removes it (as documented). */
  updateHook(id: number, body: Record<string, unknown>): HookRecord {
    const hook = this.hook(id);
    const config = body.config === undefined ? undefined : parseConfig(body.config, docs.updateHook);
    const events = parseEvents(body.events, docs.updateHook);
    const add = parseEvents(body.add_events, docs.updateHook) ?? [];
    const remove = parseEvents(body.remove_events, docs.updateHook) ?? [];
    if (config) hook.config = config;
    if (events) hook.events = events;
    hook.events = [...new Set([...hook.events, ...add])].filter((event) => !remove.includes(event));
    if (body.active !== undefined) hook.active = body.active === true;
    hook.updatedAt = this.clock.nowSeconds();
    return hook;
  }

  deleteHook(id: number): void {
    const hook = this.hook(id);
    this.hooks.splice(this.hooks.indexOf(hook), 1);
  }

  /** Queues `payload` for every active hook subscribed to `event` (`*` subscribes to all); ping goes to one hook. */
  emit(event: string, payload: Record<string, unknown>, onlyHook?: HookRecord): DeliveryRecord[] {
    const targets = onlyHook ? [onlyHook] : this.hooks.filter((hook) => hook.active && (hook.events.includes(event) || hook.events.includes('*')));
    const guid = randomGuid(this.random);
    return targets.map((hook) => this.schedule(this.prepare(hook, guid, event, payload, false)));
  }

  /** Sends a delivery again with the same X-GitHub-Delivery ("the header will be the same as in the original"). */
  redeliver(guidOrId: string | number): DeliveryRecord {
    const original = [...this.deliveries].reverse().find((delivery) => delivery.guid === guidOrId || delivery.id === guidOrId);
    if (!original) throw new Error(`no delivery ${guidOrId}`);
    const hook = this.hook(original.hookId);
    const attempt: DeliveryRecord = {
      ...original,
      id: this.nextDeliveryId++,
      headers: { ...original.headers, 'x-github-hook-id': String(hook.id) },
      state: 'queued',
      redelivery: true,
      statusCode: null,
      deliveredAt: null,
      durationSeconds: 0,
    };
    this.deliveries.push(attempt);
    this.enqueue(attempt);
    return attempt;
  }

  /** From now on deliveries wait until `release` (or are lost with `discardHeld`). */
  hold(): void {
    this.held = true;
  }

  /** Sends what was held, in the chosen order, and stops holding; resolves when they have all been attempted. */
  release(order: ReleaseOrder = 'in-order'): Promise<void> {
    this.held = false;
    const waiting = this.deliveries.filter((delivery) => delivery.state === 'held');
    let ordered: DeliveryRecord[];
    if (Array.isArray(order)) {
      ordered = order.flatMap((guid) => waiting.filter((delivery) => delivery.guid === guid));
      ordered.push(...waiting.filter((delivery) => !ordered.includes(delivery)));
    } else if (order === 'reverse') ordered = [...waiting].reverse();
    else if (order === 'shuffled') ordered = shuffled(waiting, this.random);
    else ordered = waiting;
    for (const delivery of ordered) {
      delivery.state = 'queued';
      this.enqueue(delivery);
    }
    return this.settled();
  }

  /** Drops what was held, as if GitHub had failed to deliver it; it can still be redelivered. */
  discardHeld(): DeliveryRecord[] {
    this.held = false;
    const dropped = this.deliveries.filter((delivery) => delivery.state === 'held');
    for (const delivery of dropped) delivery.state = 'discarded';
    return dropped;
  }

  /** Resolves once every queued delivery has been attempted. */
  async settled(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.sending;
      await seen;
    } while (seen !== this.sending);
  }

  private prepare(hook: HookRecord, guid: string, event: string, payload: Record<string, unknown>, redelivery: boolean): DeliveryRecord {
    const json = JSON.stringify(payload);
    // content_type: "Supported values include `json` and `form`. The default is `form`." A form delivery carries
    // the JSON in a `payload` field (schema webhook-ping-form-encoded); the signature covers the bytes sent.
    const form = hook.config.content_type === 'form';
    const body = form ? new URLSearchParams({ payload: json }).toString() : json;
    const headers: Record<string, string> = {
      'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
      'user-agent': `GitHub-Hookshot/${this.hookshotVersion}`,
      'x-github-event': event,
      'x-github-delivery': guid,
      'x-github-hook-id': String(hook.id),
      'x-github-hook-installation-target-type': 'repository',
      'x-github-hook-installation-target-id': String(this.repo.repositoryId),
    };
    const action = typeof payload.action === 'string' ? payload.action : null;
    const delivery: DeliveryRecord = {
      id: this.nextDeliveryId++,
      guid,
      hookId: hook.id,
      event,
      action,
      body,
      headers,
      state: 'queued',
      redelivery,
      statusCode: null,
      deliveredAt: null,
      durationSeconds: 0,
    };
    this.deliveries.push(delivery);
    return delivery;
  }

  private schedule(delivery: DeliveryRecord): DeliveryRecord {
    if (this.held) delivery.state = 'held';
    else this.enqueue(delivery);
    return delivery;
  }

  private enqueue(delivery: DeliveryRecord): void {
    this.sending = this.sending.then(() => this.send(delivery));
  }

  private async send(delivery: DeliveryRecord): Promise<void> {
    const hook = this.hooks.find((candidate) => candidate.id === delivery.hookId);
    if (!hook) {
      delivery.state = 'failed';
      return;
    }
    const headers = { ...delivery.headers };
    // Sent "if the webhook is configured with a secret" — and computed with the secret the hook has now.
    if (hook.config.secret) {
      headers['x-hub-signature'] = `sha1=${createHmac('sha1', hook.config.secret).update(delivery.body).digest('hex')}`;
      headers['x-hub-signature-256'] = await sign(hook.config.secret, delivery.body);
    }
    delivery.headers = headers;
    const started = Date.now();
    try {
      const response = await fetch(hook.config.url, {
        method: 'POST',
        headers,
        body: delivery.body,
        signal: AbortSignal.timeout(deliveryTimeoutMs),
      });
      await response.arrayBuffer();
      delivery.statusCode = response.status;
      delivery.state = response.ok ? 'delivered' : 'failed';
      hook.lastResponse = { code: response.status, status: response.ok ? 'active' : 'failed', message: response.ok ? 'OK' : `Invalid HTTP Response: ${response.status}` };
    } catch (error) {
      delivery.state = 'failed';
      hook.lastResponse = { code: null, status: 'failed', message: error instanceof Error ? error.message : String(error) };
    }
    delivery.durationSeconds = (Date.now() - started) / 1000;
    delivery.deliveredAt = this.clock.nowSeconds();
  }
}

/** Schema `hook`; the secret is never echoed back, only masked. */
export function hookJson(urls: Urls, repo: RepoStore, hook: HookRecord): Record<string, unknown> {
  const api = `${urls.api}/repos/${repo.fullName}/hooks/${hook.id}`;
  return {
    type: 'Repository',
    id: hook.id,
    name: 'web',
    active: hook.active,
    events: hook.events,
    config: {
      content_type: hook.config.content_type,
      insecure_ssl: hook.config.insecure_ssl,
      ...(hook.config.secret ? { secret: '********' } : {}),
      url: hook.config.url,
    },
    updated_at: isoSeconds(hook.updatedAt),
    created_at: isoSeconds(hook.createdAt),
    url: api,
    test_url: `${api}/test`,
    ping_url: `${api}/pings`,
    deliveries_url: `${api}/deliveries`,
    last_response: hook.lastResponse,
  };
}

/** Schema `hook-delivery-item` (docs: List deliveries for a repository webhook). */
export function deliveryJson(repo: RepoStore, delivery: DeliveryRecord): Record<string, unknown> {
  return {
    id: delivery.id,
    guid: delivery.guid,
    delivered_at: delivery.deliveredAt === null ? null : isoSeconds(delivery.deliveredAt),
    redelivery: delivery.redelivery,
    duration: delivery.durationSeconds,
    status: delivery.state === 'delivered' ? 'OK' : delivery.statusCode === null ? 'failed to connect' : `Invalid HTTP Response: ${delivery.statusCode}`,
    status_code: delivery.statusCode ?? 0,
    event: delivery.event,
    action: delivery.action,
    installation_id: null,
    repository_id: repo.repositoryId,
    throttled_at: null,
  };
}

function parseConfig(value: unknown, documentationUrl: string): HookRecord['config'] {
  const config = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof config.url !== 'string' || config.url === '') {
    throw validationFailed(documentationUrl, [{ resource: 'Hook', code: 'custom', message: 'Config must contain URL for webhooks' }]);
  }
  const contentType = config.content_type ?? 'form';
  if (contentType !== 'json' && contentType !== 'form') {
    throw validationFailed(documentationUrl, [{ resource: 'Hook', code: 'invalid', field: 'content_type', value: contentType }]);
  }
  return {
    url: config.url,
    content_type: contentType,
    secret: typeof config.secret === 'string' && config.secret !== '' ? config.secret : null,
    insecure_ssl: String(config.insecure_ssl ?? '0'),
  };
}

function parseEvents(value: unknown, documentationUrl: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((event) => typeof event !== 'string')) {
    throw validationFailed(documentationUrl, [{ resource: 'Hook', code: 'invalid', field: 'events', value }]);
  }
  return [...new Set(value as string[])];
}
