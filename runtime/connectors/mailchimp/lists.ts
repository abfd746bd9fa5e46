/**
 * The choices of the connection form's `list` field (form.ts): the audiences of the account, from "Get lists info"
 * (`GET /lists`, paged by count and offset), through the operator's host policy like every other call of this connector.
 */
import type { ConnectionOption } from '../../../nodes/trigger/connectionForm';
import { guardedFetch } from '../network';
import { ConnectorError, type ConnectionContext, type ConnectionOptions } from '../types';
import { clientDefaults, mailchimpClient } from './client';
import { mailchimpConnectionSchema } from './config';

/** A person picks from a dropdown: past this many, the form lets them type the id instead. */
const maxListed = 1000;

/** The options of one lookup field of a mailchimp connection; only `list` has any. */
export async function mailchimpConnectionOptions(context: ConnectionContext, field: string): Promise<ConnectionOptions> {
  if (field !== 'list') throw new ConnectorError(`connection.${field}: the mailchimp connector lists no choices for it`);
  const { connection } = context;
  const auth = mailchimpConnectionSchema.shape.auth.safeParse(connection.auth);
  if (!auth.success) throw new ConnectorError('connection.auth.credential: choose the stored credential that holds the Mailchimp API key or OAuth token first');
  const server = mailchimpConnectionSchema.shape.server.safeParse(connection.server === '' ? undefined : connection.server);
  if (!server.success) throw new ConnectorError(`connection.server: ${server.error.issues[0]?.message ?? 'must be a data center such as us19'}`);
  const baseUrl = mailchimpConnectionSchema.shape.baseUrl.safeParse(connection.baseUrl === '' ? undefined : connection.baseUrl);
  if (!baseUrl.success) throw new ConnectorError(`connection.baseUrl: ${baseUrl.error.issues[0]?.message ?? 'must be an http(s) URL'}`);
  const closing = new AbortController();
  const client = await mailchimpClient(
    { auth: auth.data, server: server.data, baseUrl: baseUrl.data, maxWaitSeconds: 10 },
    context,
    { ...clientDefaults, maxWaitMs: 10_000, fetch: guardedFetch(context.access.hosts) },
    closing.signal,
  );
  const options: ConnectionOption[] = [];
  let total = 0;
  for (let offset = 0; offset < maxListed; offset += 1000) {
    const body = await client.json('GET', '/lists', { query: { count: 1000, offset } });
    const lists = Array.isArray(body.lists) ? (body.lists as Array<Record<string, unknown>>) : [];
    total = typeof body.total_items === 'number' ? body.total_items : lists.length;
    for (const list of lists) {
      if (typeof list.id !== 'string') continue;
      const members = (list.stats as { member_count?: unknown } | undefined)?.member_count;
      options.push({ value: list.id, label: typeof list.name === 'string' ? list.name : list.id, ...(typeof members === 'number' ? { description: `${members} subscribed` } : {}) });
    }
    if (lists.length === 0 || options.length >= total) break;
  }
  return { options: options.slice(0, maxListed), complete: options.length >= total && options.length <= maxListed };
}
