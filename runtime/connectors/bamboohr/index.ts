/**
 * The `bamboohr` connector: the employees of one BambooHR company (docs/connectors/bamboohr.md). `collection` is
 * `employees`; the record key is the employee id and the version its `lastChanged`, so a trigger's `key` and
 * `updatedAt` are not read. The fields synced are the connection's `fields`, chosen from the company's field list.
 */
import { throwIfConnectionProblems } from '../connection';
import { sleep } from '../http/rateLimit';
import { guardedFetch } from '../network';
import { ConnectorError, type CollectionDescription, type ConnectionContext, type ConnectionOptions, type Connector, type ConnectorContext, type ConnectorType } from '../types';
import { BambooHrClient, type BambooHrClientOptions } from './client';
import { checkBambooHrConnection, parseBambooHrConnection, type BambooHrConnection } from './config';
import { BambooHrEmployees, describeEmployees, employeesCollection } from './employees';
import { FieldCatalog } from './fields';
import { bambooHrConnectionForm } from './form';
import { bambooHrWebhook } from './webhook';
import { registerBambooHrWebhook, unregisterBambooHrWebhook, unwatchedNote } from './hooks';

export { checkBambooHrConnection, type BambooHrConnection } from './config';
export { bambooHrWebhook, signBambooHrWebhook } from './webhook';

/** What tests may set instead of the defaults: the clock, the waiting and the transport. */
export type BambooHrOptions = Partial<BambooHrClientOptions>;

const defaults = { now: () => Date.now(), sleep: (ms: number, signal: AbortSignal) => sleep(ms, signal), timeoutMs: 30_000 };

/** Opens a `bamboohr` trigger's collection; `options` are for tests. */
export async function openBambooHr(context: ConnectorContext, options: BambooHrOptions = {}): Promise<Connector> {
  const { config } = context;
  throwIfConnectionProblems(checkBambooHrConnection(config.connection));
  const connection = parseBambooHrConnection(config.connection);
  if (config.collection !== employeesCollection) throw new ConnectorError(`collection: a BambooHR connection has one collection, ${employeesCollection}, not "${config.collection}"`);
  const closing = new AbortController();
  const client = await openClient(connection, context, options, closing.signal);
  return new BambooHrEmployees(client, connection, () => closing.abort(new ConnectorError('the bamboohr connector was closed', { retryable: true })));
}

/** The collection and its chosen fields, before a trigger is set up: checks the key and the fields with one request. */
async function describeBambooHrConnection(context: ConnectionContext): Promise<CollectionDescription[]> {
  throwIfConnectionProblems(checkBambooHrConnection(context.connection));
  const connection = parseBambooHrConnection(context.connection);
  return describeEmployees(await openClient(connection, context, {}, new AbortController().signal), connection);
}

/** The choices of the form's `fields`: every employee field of the company, from List Fields. */
async function bambooHrConnectionOptions(context: ConnectionContext, field: string): Promise<ConnectionOptions> {
  if (field !== 'fields') throw new ConnectorError(`connection.${field}: the bamboohr connector lists no choices for it`);
  // Only what reaching the company needs is checked: the fields are what is being chosen.
  const { fields: _chosen, ...reach } = context.connection;
  const problems = checkBambooHrConnection(reach);
  throwIfConnectionProblems(problems);
  const connection = parseBambooHrConnection(reach);
  const catalog = await FieldCatalog.load(await openClient(connection, context, {}, new AbortController().signal));
  // Several fields are chosen, so the form offers these as suggestions for a typed list rather than one dropdown pick.
  return { options: catalog.options(), complete: false };
}

async function openClient(
  connection: BambooHrConnection,
  context: Pick<ConnectorContext, 'resolveCredential' | 'resolveAuth' | 'access'>,
  options: BambooHrOptions,
  closed: AbortSignal,
): Promise<BambooHrClient> {
  const apiKey = await apiKeyOf(connection.credential, context);
  const clientOptions: BambooHrClientOptions = { ...defaults, maxWaitMs: connection.maxWaitMs, fetch: guardedFetch(context.access.hosts) };
  for (const [name, value] of Object.entries(options)) if (value !== undefined) Object.assign(clientOptions, { [name]: value });
  return new BambooHrClient(connection.baseUrl, apiKey, connection.credential, clientOptions, closed);
}

/**
 * The API key: a token credential's value, or a basic credential's username (how BambooHR itself takes the key, with
 * any password).
 */
async function apiKeyOf(credential: string, context: Pick<ConnectorContext, 'resolveCredential' | 'resolveAuth'>): Promise<string> {
  let key: string;
  try {
    if (context.resolveAuth) {
      const auth = await context.resolveAuth(credential);
      key = auth.kind === 'basic' ? auth.username : auth.token;
    } else {
      key = await context.resolveCredential(credential);
    }
  } catch (error) {
    throw new ConnectorError(`connection.auth.credential: cannot read credential "${credential}": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  key = key.trim();
  if (key === '') throw new ConnectorError(`connection.auth.credential: credential "${credential}" is empty: store the BambooHR API key in it`);
  return key;
}

/** A client for one webhook registration: opened, used and dropped. */
async function hookClient(context: ConnectorContext): Promise<{ client: BambooHrClient; connection: BambooHrConnection }> {
  throwIfConnectionProblems(checkBambooHrConnection(context.config.connection));
  const connection = parseBambooHrConnection(context.config.connection);
  return { client: await openClient(connection, context, {}, new AbortController().signal), connection };
}

/** BambooHR: employees (chosen fields, terminations as a status), with BambooHR's signed webhooks. */
export const bambooHrConnector = {
  type: 'bamboohr',
  title: 'BambooHR',
  webhook: {
    ...bambooHrWebhook,
    generatesSecret: true,
    register: async (context, target) => {
      const { client, connection } = await hookClient(context);
      const { secret, unwatched } = await registerBambooHrWebhook(client, connection.fields, target.url, target.secret);
      return { secret, notes: unwatchedNote(unwatched) };
    },
    unregister: async (context, url) => unregisterBambooHrWebhook((await hookClient(context)).client, url),
  },
  checkConnection: checkBambooHrConnection,
  open: (context: ConnectorContext) => openBambooHr(context),
  describeConnection: describeBambooHrConnection,
  connectionForm: bambooHrConnectionForm,
  connectionOptions: bambooHrConnectionOptions,
} satisfies ConnectorType;

