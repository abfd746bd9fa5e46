/**
 * The `mailchimp` connector: the members of one Mailchimp audience (docs/connectors/mailchimp.md). `collection` is
 * `members`; the record key is the subscriber hash (the MD5 of the lower-cased address) and the version `last_changed`,
 * so a trigger's `key` and `updatedAt` are not read.
 */
import { throwIfConnectionProblems } from '../connection';
import { guardedFetch } from '../network';
import { ConnectorError, type CollectionDescription, type ConnectionContext, type Connector, type ConnectorContext, type ConnectorType } from '../types';
import { MailchimpMembers, membersCollection, type AudienceSettings } from './audience';
import { batchTimingDefaults, type BatchTiming } from './batches';
import { clientDefaults, mailchimpClient, type MailchimpClientOptions } from './client';
import { checkMailchimpConnection, parseMailchimpConnection } from './config';
import { mailchimpConnectionForm } from './form';
import { maxPageSize } from './listing';
import { mailchimpConnectionOptions } from './lists';
import { MergeFieldCatalog } from './mergeFields';
import { memberFieldDescriptions } from './members';
import { mailchimpWebhook } from './webhook';

export { checkMailchimpConnection, type MailchimpConnection } from './config';
export { mailchimpWebhook, webhookUrl } from './webhook';
export { subscriberHash } from './members';

/**
 * A write of this many requests or more goes as batch operations. A batch costs three requests at least (submit, a
 * status poll, the results archive) and waits its turn behind the account's other batches ("only one batch request is
 * run at a time"), often for seconds; a hundred single requests, four at a time, take about as long and spend no turn.
 * Past a hundred the batch wins on both counts: an initial sync of 5,000 members with a tag each, written 500 at a time
 * as the engine hands them over, takes 81 requests instead of 10,000 (batches.test.ts).
 */
export const defaultBatchThreshold = 100;

/** What tests may set instead of the defaults: the clock and the waiting, the transport, page size and batching. */
export interface MailchimpOptions extends Partial<MailchimpClientOptions> {
  /** `count` of a listing page; Mailchimp's maximum, 1000, unless set. */
  pageSize?: number;
  batchThreshold?: number;
  batchTiming?: Partial<BatchTiming>;
}

/** Opens a `mailchimp` trigger's members; `options` are for tests. */
export async function openMailchimp(context: ConnectorContext, options: MailchimpOptions = {}): Promise<Connector> {
  const { config } = context;
  throwIfConnectionProblems(checkMailchimpConnection(config.connection));
  const connection = parseMailchimpConnection(config.connection);
  if (config.collection !== membersCollection) {
    throw new ConnectorError(`collection "${config.collection}": a mailchimp connection has one collection, ${membersCollection} (the members of connection.list)`);
  }
  const closing = new AbortController();
  const { pageSize, batchThreshold, batchTiming, ...overrides } = options;
  const clientOptions: MailchimpClientOptions = { ...clientDefaults, maxWaitMs: connection.maxWaitSeconds * 1000, fetch: guardedFetch(context.access.hosts) };
  for (const [name, value] of Object.entries(overrides)) if (value !== undefined) Object.assign(clientOptions, { [name]: value });
  const client = await mailchimpClient(connection, context, clientOptions, closing.signal);
  const settings: AudienceSettings = {
    pageSize: Math.min(maxPageSize, Math.max(1, pageSize ?? maxPageSize)),
    batchThreshold: batchThreshold ?? defaultBatchThreshold,
    batchTiming: { ...batchTimingDefaults, ...batchTiming },
    parallel: clientOptions.maxConnections,
  };
  return new MailchimpMembers(client, connection, settings, () => closing.abort(new ConnectorError('the mailchimp connector was closed', { retryable: true })));
}

/** The members collection and its fields, the audience's merge fields included, before a collection is chosen. */
async function describeMailchimpConnection(context: ConnectionContext): Promise<CollectionDescription[]> {
  throwIfConnectionProblems(checkMailchimpConnection(context.connection));
  const connection = parseMailchimpConnection(context.connection);
  const client = await mailchimpClient(connection, context, { ...clientDefaults, maxWaitMs: connection.maxWaitSeconds * 1000, fetch: guardedFetch(context.access.hosts) }, new AbortController().signal);
  const catalog = await MergeFieldCatalog.load(client, connection.list);
  return [{ name: membersCollection, fields: [...memberFieldDescriptions, ...catalog.describe()] }];
}

/** Mailchimp Marketing: the members of an audience — merge fields, tags, status, archive — with its URL-secret webhooks. */
export const mailchimpConnector = {
  type: 'mailchimp',
  title: 'Mailchimp',
  webhook: mailchimpWebhook,
  checkConnection: checkMailchimpConnection,
  open: (context: ConnectorContext) => openMailchimp(context),
  describeConnection: describeMailchimpConnection,
  connectionForm: mailchimpConnectionForm,
  connectionOptions: mailchimpConnectionOptions,
} satisfies ConnectorType;
