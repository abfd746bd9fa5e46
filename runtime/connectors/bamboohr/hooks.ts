/**
 * The webhook a deployed flow needs, through BambooHR's webhooks API ("Webhooks" in the API reference: List Webhooks
 * `GET /api/v1/webhooks`, Get Webhook `GET /api/v1/webhooks/{id}`, Create Webhook `POST /api/v1/webhooks`, Update
 * Webhook `PUT /api/v1/webhooks/{id}`, Delete Webhook `DELETE /api/v1/webhooks/{id}`). BambooHR makes the webhook's
 * private key itself and shows it once, in Create Webhook's answer ("only returned at creation time"). So a webhook
 * found by its URL is kept only while the runtime still holds its key, and brought up to date in place (Update Webhook:
 * "The private key is not regenerated on update"); one whose key is lost (the credential was removed) is deleted and
 * created again, which is the only way to learn a key.
 */
import { ConnectorError } from '../types';
import type { BambooHrClient } from './client';

/**
 * Event-based webhooks for the employee collection ("Event-Based Webhooks"): created, updated and deleted, updates
 * watched on the fields the flow syncs (`monitorFields`, required with an update event).
 */
export const subscribedEvents = ['employee.created', 'employee.updated', 'employee.deleted'] as const;

/** What registering did: the key deliveries are signed with, and the chosen fields no webhook announces. */
export interface BambooHrRegistration {
  secret: string;
  unwatched: string[];
}

/**
 * The chosen fields a webhook may watch, and those it may not. BambooHR refuses a webhook whose `monitorFields` hold a
 * field List Monitor Fields (`GET /api/v1/webhooks/monitor_fields`: "the list of employee fields that can be monitored
 * by a webhook") leaves out — a computed field, one the key's user may not see — with a 403 naming those
 * `monitorFields` (Create Webhook). So only the listed ones are watched. A change to the others sends no webhook; it is
 * read by the next pass that lists BambooHR (a poll, or the pass another webhook starts), since Get Changed Employee IDs
 * notes every change, watched or not.
 */
export async function watchableFields(client: BambooHrClient, fields: readonly string[]): Promise<{ watched: string[]; unwatched: string[] }> {
  const body = (await client.json('GET', client.url('/api/v1/webhooks/monitor_fields'))) as { fields?: unknown } | null;
  if (!body || !Array.isArray(body.fields)) throw new ConnectorError('GET /api/v1/webhooks/monitor_fields: expected {"fields": [...]}, the fields a webhook may monitor');
  // monitorFields takes "the field IDs or aliases from this response", as a flow names its fields.
  const names = new Set<string>();
  for (const field of body.fields as Array<{ id?: unknown; alias?: unknown }>) {
    if (typeof field?.id === 'string' || typeof field?.id === 'number') names.add(String(field.id));
    if (typeof field?.alias === 'string' && field.alias !== '') names.add(field.alias);
  }
  return { watched: fields.filter((name) => names.has(name)), unwatched: fields.filter((name) => !names.has(name)) };
}

/** What a person should know of fields the webhook does not watch: none when it watches them all. */
export function unwatchedNote(unwatched: readonly string[]): string[] {
  if (unwatched.length === 0) return [];
  return [
    `BambooHR lets no webhook watch ${unwatched.join(', ')} (List Monitor Fields): a change to ${unwatched.length === 1 ? 'it' : 'them'} alone reaches the flow with the next pass that lists BambooHR (a poll, or the pass another webhook starts)`,
  ];
}

interface WebhookJson {
  id: string | number;
  url?: string;
}

/** What Create and Update Webhook take (`NewWebHook`). */
interface WebhookInput {
  name: string;
  url: string;
  format: 'json';
  events: string[];
  monitorFields?: string[];
}

async function webhooksAt(client: BambooHrClient, url: string): Promise<WebhookJson[]> {
  const body = (await client.json('GET', client.url('/api/v1/webhooks'))) as { webhooks?: WebhookJson[] };
  return (Array.isArray(body.webhooks) ? body.webhooks : []).filter((webhook) => webhook.url === url);
}

function webhookPath(client: BambooHrClient, id: string | number): URL {
  return client.url(`/api/v1/webhooks/${encodeURIComponent(String(id))}`);
}

async function deleteWebhook(client: BambooHrClient, id: string | number): Promise<void> {
  const deleted = await client.request('DELETE', webhookPath(client, id), undefined, { repeatable: true });
  if (deleted.status >= 300 && deleted.status !== 404) throw client.failure(deleted, 'BambooHR refused to delete the webhook');
}

/**
 * The webhook a trigger needs. With no field to watch, it announces hires and deletions only: an update event needs at
 * least one monitored field.
 */
function wantedWebhook(url: string, watched: readonly string[]): WebhookInput {
  const events = watched.length > 0 ? [...subscribedEvents] : subscribedEvents.filter((event) => event !== 'employee.updated');
  return { name: `Syncline ${new URL(url).pathname}`, url, format: 'json', events, ...(watched.length > 0 ? { monitorFields: [...watched] } : {}) };
}

function sameNames(a: unknown, b: readonly string[]): boolean {
  const listed = Array.isArray(a) ? a.map(String) : [];
  return listed.length === b.length && b.every((name) => listed.includes(name));
}

/**
 * Brings a kept webhook's events and watched fields to what the flow needs now — another field chosen, or one that
 * List Monitor Fields offers since — through Update Webhook, which keeps the private key. List Webhooks shows neither,
 * so Get Webhook is asked. Update replaces the whole webhook ("omitted optional fields revert to defaults"), so it is
 * sent the whole webhook, as Create would be. Get Webhook's example shows the fields as they were sent (aliases); were
 * they shown otherwise (ids), each registration would only update the webhook again to the same settings.
 */
async function updateIfChanged(client: BambooHrClient, id: string | number, wanted: WebhookInput): Promise<void> {
  const current = (await client.json('GET', webhookPath(client, id))) as { events?: unknown; monitorFields?: unknown } | null;
  if (sameNames(current?.events, wanted.events) && sameNames(current?.monitorFields, wanted.monitorFields ?? [])) return;
  const updated = await client.request('PUT', webhookPath(client, id), wanted, { repeatable: true });
  if (updated.status !== 200) throw client.failure(updated, 'BambooHR refused to update the webhook to the fields the flow syncs (managing webhooks needs an admin API key)');
}

/**
 * Makes BambooHR send the employees' events to `url`; returns the private key it signs them with, and the chosen
 * fields it cannot watch ({@link watchableFields}). `stored` is the key the runtime holds from an earlier
 * registration, if any: the webhook it belongs to is kept, its settings brought up to date.
 */
export async function registerBambooHrWebhook(client: BambooHrClient, fields: readonly string[], url: string, stored: string | null): Promise<BambooHrRegistration> {
  const { watched, unwatched } = await watchableFields(client, fields);
  const wanted = wantedWebhook(url, watched);
  const existing = await webhooksAt(client, url);
  if (existing.length === 1 && stored !== null) {
    await updateIfChanged(client, (existing[0] as WebhookJson).id, wanted);
    return { secret: stored, unwatched };
  }
  for (const webhook of existing) await deleteWebhook(client, webhook.id);
  const created = await client.request('POST', client.url('/api/v1/webhooks'), wanted);
  if (created.status !== 201 && created.status !== 200) throw client.failure(created, 'BambooHR refused to create the webhook (managing webhooks needs an admin API key)');
  const privateKey = (client.jsonBody(created) as { privateKey?: unknown }).privateKey;
  if (typeof privateKey !== 'string' || privateKey === '') throw new ConnectorError('POST /api/v1/webhooks: the answer holds no privateKey');
  return { secret: privateKey, unwatched };
}

/** Deletes the webhooks that send to `url`, if any. */
export async function unregisterBambooHrWebhook(client: BambooHrClient, url: string): Promise<void> {
  for (const webhook of await webhooksAt(client, url)) await deleteWebhook(client, webhook.id);
}
