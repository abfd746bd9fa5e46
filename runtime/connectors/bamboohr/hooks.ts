/**
 * The webhook a deployed flow needs, through BambooHR's webhooks API ("Webhooks" in the API reference: List Webhooks
 * `GET /api/v1/webhooks`, Create Webhook `POST /api/v1/webhooks`, Delete Webhook `DELETE /api/v1/webhooks/{id}`).
 * BambooHR makes the webhook's private key itself and shows it once, in Create Webhook's answer ("only returned at
 * creation time"). So a webhook found by its URL is kept only while the runtime still holds its key; one whose key is
 * lost (the credential was removed) is deleted and created again, which is the only way to learn a key.
 */
import { ConnectorError } from '../types';
import type { BambooHrClient } from './client';

/**
 * Event-based webhooks for the employee collection ("Event-Based Webhooks"): created, updated and deleted, updates
 * watched on the fields the flow syncs (`monitorFields`, required with an update event).
 */
export const subscribedEvents = ['employee.created', 'employee.updated', 'employee.deleted'] as const;

interface WebhookJson {
  id: string | number;
  url?: string;
}

async function webhooksAt(client: BambooHrClient, url: string): Promise<WebhookJson[]> {
  const body = (await client.json('GET', client.url('/api/v1/webhooks'))) as { webhooks?: WebhookJson[] };
  return (Array.isArray(body.webhooks) ? body.webhooks : []).filter((webhook) => webhook.url === url);
}

async function deleteWebhook(client: BambooHrClient, id: string | number): Promise<void> {
  const deleted = await client.request('DELETE', client.url(`/api/v1/webhooks/${encodeURIComponent(String(id))}`), undefined, { repeatable: true });
  if (deleted.status >= 300 && deleted.status !== 404) throw client.failure(deleted, 'BambooHR refused to delete the webhook');
}

/**
 * Makes BambooHR send the employees' events to `url`; returns the private key it signs them with. `stored` is the
 * key the runtime holds from an earlier registration, if any.
 */
export async function registerBambooHrWebhook(client: BambooHrClient, fields: readonly string[], url: string, stored: string | null): Promise<{ secret: string }> {
  const existing = await webhooksAt(client, url);
  if (existing.length === 1 && stored !== null) return { secret: stored };
  for (const webhook of existing) await deleteWebhook(client, webhook.id);
  const input = { name: `Syncline ${new URL(url).pathname}`, url, format: 'json', events: [...subscribedEvents], monitorFields: [...fields] };
  const created = await client.request('POST', client.url('/api/v1/webhooks'), input);
  if (created.status !== 201 && created.status !== 200) throw client.failure(created, 'BambooHR refused to create the webhook (managing webhooks needs an admin API key)');
  const privateKey = (client.jsonBody(created) as { privateKey?: unknown }).privateKey;
  if (typeof privateKey !== 'string' || privateKey === '') throw new ConnectorError('POST /api/v1/webhooks: the answer holds no privateKey');
  return { secret: privateKey };
}

/** Deletes the webhooks that send to `url`, if any. */
export async function unregisterBambooHrWebhook(client: BambooHrClient, url: string): Promise<void> {
  for (const webhook of await webhooksAt(client, url)) await deleteWebhook(client, webhook.id);
}
