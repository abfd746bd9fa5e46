/**
 * The `zendesk` connector: tickets and users of one Zendesk Support account (docs/connectors/zendesk.md).
 * `collection` is `tickets` or `users`; the record key is Zendesk's id and the version its `updated_at`, so a
 * trigger's `key` and `updatedAt` are not read.
 */
import { throwIfConnectionProblems } from '../connection';
import { guardedFetch } from '../network';
import { ConnectorError, type CollectionDescription, type ConnectionContext, type Connector, type ConnectorContext, type ConnectorType } from '../types';
import { sleep, ZendeskClient, type ZendeskClientOptions } from './client';
import { checkZendeskConnection, parseZendeskConnection, type ZendeskConnection } from './config';
import { TicketFieldCatalog } from './ticketFields';
import { describeZendesk } from './shape';
import { ZendeskTickets } from './tickets';
import { ZendeskUsers } from './users';
import { zendeskWebhook } from './webhook';
import { registerZendeskWebhook, unregisterZendeskWebhook } from './hooks';
import { zendeskConnectionForm } from './form';

export { checkZendeskConnection, type ZendeskConnection } from './config';
export { signZendeskWebhook, zendeskWebhook } from './webhook';

export const zendeskCollections = ['tickets', 'users'] as const;

/** What tests may set instead of the defaults: the clock, the waiting, the transport and the export's page size. */
export interface ZendeskOptions extends Partial<ZendeskClientOptions> {
  /** `per_page` of the incremental exports; Zendesk's default and maximum, 1000, unless set. */
  exportPageSize?: number;
}

const defaults = {
  now: () => Date.now(),
  sleep,
  // "Shorter Retry-After waits you wait out": up to a minute, the whole of Zendesk's per-minute windows.
  maxWaitMs: 60_000,
  timeoutMs: 30_000,
};

/** Opens a `zendesk` trigger's collection; `options` are for tests. */
export async function openZendesk(context: ConnectorContext, options: ZendeskOptions = {}): Promise<Connector> {
  const { config } = context;
  throwIfConnectionProblems(checkZendeskConnection(config.connection));
  const connection = parseZendeskConnection(config.connection);
  if (!(zendeskCollections as readonly string[]).includes(config.collection)) {
    throw new ConnectorError(`collection: a Zendesk connection has the collections ${zendeskCollections.join(' and ')}, not "${config.collection}"`);
  }
  const closing = new AbortController();
  const client = await openClient(connection, context, options, closing.signal);
  const perPage = Math.min(1000, Math.max(1, options.exportPageSize ?? 1000));
  const onClose = () => closing.abort(new ConnectorError('the zendesk connector was closed', { retryable: true }));
  return config.collection === 'tickets' ? new ZendeskTickets(client, connection, perPage, onClose) : new ZendeskUsers(client, connection, perPage, onClose);
}

/** Both collections and their fields, the account's custom ticket fields included, before a collection is chosen. */
async function describeZendeskConnection(context: ConnectionContext): Promise<CollectionDescription[]> {
  throwIfConnectionProblems(checkZendeskConnection(context.connection));
  const connection = parseZendeskConnection(context.connection);
  const client = await openClient(connection, context, {}, new AbortController().signal);
  return describeZendesk(await TicketFieldCatalog.load(client, connection));
}

async function openClient(
  connection: ZendeskConnection,
  context: Pick<ConnectorContext, 'resolveCredential' | 'access'>,
  options: ZendeskOptions,
  closed: AbortSignal,
): Promise<ZendeskClient> {
  const { credential, type } = connection.auth;
  let secret: string;
  try {
    secret = (await context.resolveCredential(credential)).trim();
  } catch (error) {
    throw new ConnectorError(`connection.auth.credential: cannot read credential "${credential}": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  // Security and authentication: Basic "{email_address}/token:{api_token}", or "Bearer {oauth_access_token}".
  const authorization = type === 'bearer' ? `Bearer ${secret}` : `Basic ${Buffer.from(`${connection.email}/token:${secret}`).toString('base64')}`;
  const described = type === 'bearer' ? `OAuth token from credential "${credential}"` : `API token of ${connection.email} from credential "${credential}"`;
  const { exportPageSize: _pageSize, ...overrides } = options;
  const clientOptions: ZendeskClientOptions = { ...defaults, fetch: guardedFetch(context.access.hosts) };
  for (const [name, value] of Object.entries(overrides)) if (value !== undefined) Object.assign(clientOptions, { [name]: value });
  return new ZendeskClient(connection.baseUrl, authorization, described, clientOptions, closed);
}

/** A client for one webhook registration: opened, used and dropped. */
async function hookClient(context: ConnectorContext): Promise<ZendeskClient> {
  throwIfConnectionProblems(checkZendeskConnection(context.config.connection));
  return openClient(parseZendeskConnection(context.config.connection), context, {}, new AbortController().signal);
}

/** Zendesk Support: tickets (custom fields, requesters, soft deletes) and users, with Zendesk's signed webhooks. */
export const zendeskConnector = {
  type: 'zendesk',
  title: 'Zendesk',
  webhook: {
    ...zendeskWebhook,
    generatesSecret: true,
    register: async (context, target) => registerZendeskWebhook(await hookClient(context), context.config.collection, target.url),
    unregister: async (context, url) => unregisterZendeskWebhook(await hookClient(context), url),
  },
  checkConnection: checkZendeskConnection,
  open: (context: ConnectorContext) => openZendesk(context),
  describeConnection: describeZendeskConnection,
  connectionForm: zendeskConnectionForm,
} satisfies ConnectorType;
