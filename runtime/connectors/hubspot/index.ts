/**
 * The `hubspot` connector: contacts and companies of one HubSpot account (docs/connectors/hubspot.md). `collection` is
 * `contacts` or `companies`; the record key is HubSpot's object id and the version its last-modified date, so a
 * trigger's `key` and `updatedAt` are not read. The synced properties are `connection.properties`, read from and
 * written to the record's `properties` object (`properties.email` in a flow).
 */
import type { ConnectionOption } from '../../../nodes/trigger/connectionForm';
import { throwIfConnectionProblems } from '../connection';
import { guardedFetch } from '../network';
import { ConnectorError, type CollectionDescription, type ConnectionContext, type ConnectionOptions, type Connector, type ConnectorContext, type ConnectorType } from '../types';
import { HubSpotClient, sleep, type HubSpotClientOptions } from './client';
import { checkHubSpotConnection, defaultProperties, hubspotCollections, parseHubSpotConnection, type HubSpotCollection, type HubSpotConnection } from './config';
import { hubspotConnectionForm } from './form';
import { HubSpotObjects } from './objects';
import { bookkeepingProperties, listProperties, PropertyCatalog } from './properties';
import { hubspotWebhook } from './webhook';

export { checkHubSpotConnection, type HubSpotConnection } from './config';
export { hubspotWebhook, signHubSpotWebhook } from './webhook';

/** What tests may set instead of the defaults: the clock, the waiting and the transport. */
export type HubSpotOptions = Partial<HubSpotClientOptions>;

const defaults = {
  now: () => Date.now(),
  sleep,
  timeoutMs: 30_000,
  // Five searches a second per account, less a little for the account's other integrations.
  searchSpacingMs: 250,
};

/** Opens a `hubspot` trigger's collection; `options` are for tests. */
export async function openHubSpot(context: ConnectorContext, options: HubSpotOptions = {}): Promise<Connector> {
  const { config } = context;
  throwIfConnectionProblems(checkHubSpotConnection(config.connection));
  const connection = parseHubSpotConnection(config.connection);
  const collection = collectionOf(config.collection);
  const closing = new AbortController();
  return new HubSpotObjects(clientFor(connection, context, options, closing.signal), collection, connection, closing);
}

function collectionOf(name: string): HubSpotCollection {
  if ((hubspotCollections as readonly string[]).includes(name)) return name as HubSpotCollection;
  throw new ConnectorError(`collection: a HubSpot connection has the collections ${hubspotCollections.join(' and ')}, not "${name}"`);
}

function clientFor(connection: HubSpotConnection, context: Pick<ConnectionContext, 'resolveCredential' | 'resolveAuth' | 'access'>, options: HubSpotOptions, closed: AbortSignal): HubSpotClient {
  const { credential } = connection;
  // A private-app token and an OAuth2 credential both give a bearer token; a basic credential is no HubSpot credential.
  const token = context.resolveAuth
    ? async () => {
        const auth = await (context.resolveAuth as NonNullable<ConnectionContext['resolveAuth']>)(credential);
        if (auth.kind !== 'bearer') throw new ConnectorError(`credential "${credential}" holds a username and password; HubSpot takes a private-app access token or an OAuth2 app`);
        return auth.token;
      }
    : () => context.resolveCredential(credential);
  const clientOptions: HubSpotClientOptions = { ...defaults, maxWaitMs: connection.maxWaitMs, fetch: guardedFetch(context.access.hosts) };
  for (const [name, value] of Object.entries(options)) if (value !== undefined) Object.assign(clientOptions, { [name]: value });
  return new HubSpotClient(connection.baseUrl, token, credential, clientOptions, closed);
}

/**
 * Both collections and the fields a trigger on each would have: the connection's properties that the object has (or
 * its defaults), read from the properties API, which also checks the credential.
 */
async function describeHubSpotConnection(context: ConnectionContext): Promise<CollectionDescription[]> {
  throwIfConnectionProblems(checkHubSpotConnection(context.connection));
  const connection = parseHubSpotConnection(context.connection);
  const client = clientFor(connection, context, {}, new AbortController().signal);
  const described: CollectionDescription[] = [];
  for (const collection of hubspotCollections) {
    const all = await listProperties(client, collection);
    const names = (connection.properties ?? defaultProperties[collection]).filter((name) => all.has(name) && !bookkeepingProperties[collection].has(name));
    const catalog = PropertyCatalog.of(collection, all, names.length > 0 ? names : defaultProperties[collection]);
    described.push({ name: collection, fields: catalog.describe() });
  }
  return described;
}

/**
 * The choices of the form's `properties` field: every property of contacts and companies, from the properties API.
 * The field holds several names, so the list is offered as suggestions while a person types them (`complete: false`),
 * not as a one-choice dropdown.
 */
async function hubspotConnectionOptions(context: ConnectionContext, field: string): Promise<ConnectionOptions> {
  if (field !== 'properties') throw new ConnectorError(`connection.${field}: the hubspot connector lists no choices for it`);
  const auth = context.connection.auth;
  const credential = typeof auth === 'object' && auth !== null ? (auth as { credential?: unknown }).credential : undefined;
  if (typeof credential !== 'string' || credential === '') throw new ConnectorError('connection.auth.credential: choose the stored credential that holds the HubSpot token first');
  const problems = checkHubSpotConnection({ auth: { credential }, ...(context.connection.baseUrl === undefined ? {} : { baseUrl: context.connection.baseUrl }) });
  throwIfConnectionProblems(problems);
  const connection = parseHubSpotConnection({ auth: { credential }, ...(context.connection.baseUrl === undefined ? {} : { baseUrl: context.connection.baseUrl }) });
  const client = clientFor(connection, context, {}, new AbortController().signal);
  const byName = new Map<string, { label: string; type: string; readOnly: boolean; collections: string[] }>();
  for (const collection of hubspotCollections) {
    for (const info of (await listProperties(client, collection)).values()) {
      if (bookkeepingProperties[collection].has(info.name)) continue;
      const known = byName.get(info.name);
      if (known) known.collections.push(collection);
      else byName.set(info.name, { label: info.label, type: info.type, readOnly: info.readOnly, collections: [collection] });
    }
  }
  const options: ConnectionOption[] = [...byName]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, info]) => ({ value: name, label: info.label, description: `${info.collections.join(', ')} · ${info.type}${info.readOnly ? ' · read-only' : ''}` }));
  return { options, complete: false };
}

/** HubSpot CRM: contacts and companies, the properties a person picks, HubSpot's v3-signed webhooks. */
export const hubspotConnector = {
  type: 'hubspot',
  title: 'HubSpot',
  // Subscriptions belong to the HubSpot app and are set in its settings: no register (webhook.ts).
  webhook: hubspotWebhook,
  checkConnection: checkHubSpotConnection,
  open: (context: ConnectorContext) => openHubSpot(context),
  describeConnection: describeHubSpotConnection,
  connectionForm: hubspotConnectionForm,
  connectionOptions: hubspotConnectionOptions,
} satisfies ConnectorType;
