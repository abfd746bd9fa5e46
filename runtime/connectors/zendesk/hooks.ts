/**
 * The webhook a deployed flow needs, through Zendesk's Webhooks API
 * (https://developer.zendesk.com/api-reference/webhooks/webhooks-api/webhooks/): "Create or Clone Webhook" subscribed
 * to the collection's event types, "Show Webhook Signing Secret" for the secret Zendesk made (a webhook's secret is
 * Zendesk's own: the API offers no way to set it), "List Webhooks" to find one by its endpoint, "Delete Webhook".
 * Registering again finds the webhook by its endpoint, so every start reuses the one webhook rather than adding one.
 */
import { ConnectorError } from '../types';
import type { ZendeskClient } from './client';

/**
 * The event types a collection's records change by ("Ticket events" and "User events" under Webhook event types):
 * those that can change a field the connector syncs, creation and deletion. Comments, attachments, followers and
 * logins change no synced field, so a webhook subscribed to them would only wake passes for nothing.
 */
export const subscriptionsByCollection: Record<string, readonly string[]> = {
  tickets: [
    'created',
    'agent_assignment_changed',
    'custom_field_changed',
    'custom_status_changed',
    'description_changed',
    'external_id_changed',
    'group_assignment_changed',
    'organization_changed',
    'priority_changed',
    'requester_changed',
    'status_changed',
    'subject_changed',
    'tags_changed',
    'task_due_at_changed',
    'type_changed',
    'soft_deleted',
    'permanently_deleted',
    'undeleted',
  ].map((type) => `zen:event-type:ticket.${type}`),
  // Email and phone are identities (a new address is identity_created, a removed one identity_deleted); the
  // organization is a membership; tags and suspension have events of their own; a merge changes the user kept.
  users: [
    'created',
    'name_changed',
    'notes_changed',
    'details_changed',
    'external_id_changed',
    'custom_field_changed',
    'identity_changed',
    'identity_created',
    'identity_deleted',
    'organization_membership_created',
    'organization_membership_deleted',
    'tags_changed',
    'suspended_changed',
    'active_changed',
    'role_changed',
    'merged',
    'deleted',
  ].map((type) => `zen:event-type:user.${type}`),
};

interface WebhookJson {
  id: string;
  endpoint?: string;
  subscriptions?: string[];
}

/** Every webhook of the account ("List Webhooks", cursor paginated: `meta.has_more`, `links.next`). */
async function listWebhooks(client: ZendeskClient): Promise<WebhookJson[]> {
  const found: WebhookJson[] = [];
  let url: URL | null = client.url('/api/v2/webhooks', { 'page[size]': '100' });
  for (let page = 0; url && page < 100; page++) {
    const body = await client.getJson(url);
    const webhooks = Array.isArray(body.webhooks) ? (body.webhooks as WebhookJson[]) : [];
    found.push(...webhooks.filter((webhook) => typeof webhook.id === 'string'));
    const meta = body.meta as { has_more?: boolean } | undefined;
    const next = (body.links as { next?: string | null } | undefined)?.next;
    url = meta?.has_more && typeof next === 'string' ? new URL(next) : null;
  }
  return found;
}

/** Makes Zendesk send the collection's events to `url`; returns the secret Zendesk signs them with. */
export async function registerZendeskWebhook(client: ZendeskClient, collection: string, url: string): Promise<{ secret: string }> {
  const subscriptions = subscriptionsByCollection[collection];
  if (!subscriptions) throw new ConnectorError(`collection: Zendesk sends webhooks for tickets and users, not "${collection}"`);
  const existing = (await listWebhooks(client)).find((webhook) => webhook.endpoint === url);
  let id = existing?.id;
  if (existing && !sameSet(existing.subscriptions ?? [], subscriptions)) {
    // "Update Webhook" replaces the record; a webhook changed by hand (or by an older Syncline) gets the current list.
    const updated = await client.request('PUT', client.url(`/api/v2/webhooks/${encodeURIComponent(existing.id)}`), { webhook: webhookInput(url, subscriptions) });
    if (updated.status !== 204 && updated.status !== 200) throw client.failure(updated, 'Zendesk refused to update the webhook');
  }
  if (id === undefined) {
    const created = await client.request('POST', client.url('/api/v2/webhooks'), { webhook: webhookInput(url, subscriptions) });
    const webhook = (created.body as { webhook?: WebhookJson } | null)?.webhook;
    if (created.status !== 201 || typeof webhook?.id !== 'string') throw client.failure(created, 'Zendesk refused to create the webhook (managing webhooks needs an admin)');
    id = webhook.id;
  }
  const shown = await client.getJson(client.url(`/api/v2/webhooks/${encodeURIComponent(id)}/signing_secret`));
  const secret = (shown.signing_secret as { secret?: unknown } | undefined)?.secret;
  if (typeof secret !== 'string' || secret === '') throw new ConnectorError(`GET /api/v2/webhooks/${id}/signing_secret: the answer holds no signing_secret.secret`);
  return { secret };
}

/** Deletes the webhooks that send to `url`, if any. */
export async function unregisterZendeskWebhook(client: ZendeskClient, url: string): Promise<void> {
  for (const webhook of (await listWebhooks(client)).filter((candidate) => candidate.endpoint === url)) {
    const deleted = await client.request('DELETE', client.url(`/api/v2/webhooks/${encodeURIComponent(webhook.id)}`));
    if (deleted.status !== 204 && deleted.status !== 404) throw client.failure(deleted, 'Zendesk refused to delete the webhook');
  }
}

function webhookInput(url: string, subscriptions: readonly string[]): Record<string, unknown> {
  // Event webhooks are always POST with a JSON payload ("Anatomy of a webhook request").
  return { name: `Syncline ${new URL(url).pathname}`, endpoint: url, http_method: 'POST', request_format: 'json', status: 'active', subscriptions: [...subscriptions] };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}
