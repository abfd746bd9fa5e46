import type { Logger } from 'pino';
import type { ConnectorType, WebhookDelivery } from '../connectors/types';
import { MissingCredentialError, type CredentialStore } from '../credentials/store';
import type { FlowCatalog } from '../flows/flowCatalog';
import { errorBody } from '../http/errorBody';
import type { RuntimeMetrics } from '../observability/metrics';
import type { WebhookIntake } from './intake';
import { parseEvents } from './events';
import { webhookScheme, type WebhookScheme } from './scheme';

const MAX_DELIVERY_ID = 200;

/** A webhook delivery as the HTTP layer received it: the route's ids, method, target, raw body and a header lookup. */
export interface IncomingWebhook extends WebhookDelivery {
  flowId: string;
  nodeId: string;
}

/** What receiving a webhook needs of the runtime: the API's dependencies have it all. */
export interface WebhookReceiverDeps {
  catalog: Pick<FlowCatalog, 'get'>;
  credentials: Pick<CredentialStore, 'resolve'>;
  intake: Pick<WebhookIntake, 'submit'>;
  metrics: Pick<RuntimeMetrics, 'webhookEvents'>;
  logger: Logger;
  connectors: Readonly<Record<string, ConnectorType>>;
}

export interface WebhookAnswer {
  status: 200 | 202 | 400 | 401 | 404 | 409 | 503;
  body: unknown;
}

/**
 * What `POST /hooks/:flowId/:nodeId` does once its ids are valid and its body is read (SPEC §10): check the trigger,
 * the signature and the events, store them durably, and say so. Shared by the Hono route and the server's direct path
 * for webhooks (runtime/server.ts), so both answer alike.
 */
export async function receiveWebhook(deps: WebhookReceiverDeps, incoming: IncomingWebhook): Promise<WebhookAnswer> {
  const { catalog, credentials, intake, metrics, logger } = deps;
  const { flowId, nodeId } = incoming;
  const fail = (status: WebhookAnswer['status'], code: string, message: string, path = ''): WebhookAnswer => ({ status, body: errorBody(code, message, path) });
  const entry = catalog.get(flowId);
  const node = entry?.document?.nodes.find((candidate) => candidate.id === nodeId);
  if (!entry || !node || node.type !== 'trigger' || node.config.detect.mode !== 'webhook') {
    return fail(404, 'not_found', `no webhook trigger "${nodeId}" in a flow "${flowId}"`);
  }
  const detect = node.config.detect;
  const system = Object.hasOwn(deps.connectors, node.config.connector) ? deps.connectors[node.config.connector]?.webhook : undefined;
  const scheme = system ? null : webhookScheme(node.config, detect);
  let secret: string;
  try {
    secret = await credentials.resolve(detect.secret.credential);
  } catch (error) {
    if (!(error instanceof MissingCredentialError)) throw error;
    // The sender cannot fix this and should retry later; the credential's name is not told to an unsigned caller.
    logger.error({ flowId, nodeId, credential: detect.secret.credential }, 'webhook secret credential missing');
    return fail(503, 'secret_missing', "the trigger's signing secret is not stored on this runtime yet; retry later");
  }
  if (system) {
    const refused = system.verify(incoming, secret, new Date());
    if (refused !== null) return fail(401, 'bad_signature', refused);
  } else if (scheme && !scheme.verify(secret, incoming.body, incoming.header(scheme.signatureHeader))) {
    return fail(401, 'bad_signature', scheme.expected);
  }
  if (!entry.deployed) {
    return fail(409, 'flow_paused', `the flow "${flowId}" is paused: deploy it to accept webhooks`);
  }
  const deliveryId = (system ? system.deliveryId(incoming) : incoming.header('x-syncline-delivery'))?.trim() || null;
  if (deliveryId !== null && deliveryId.length > MAX_DELIVERY_ID) {
    return fail(400, 'invalid_delivery_id', `X-Syncline-Delivery must be at most ${MAX_DELIVERY_ID} characters`);
  }
  const body = incoming.body;
  let parsed: ReturnType<typeof parseEvents>;
  if (system) {
    // The system's own event format: its handshake and events about other things are answered, not stored.
    const reading = system.read(incoming, node.config);
    if (reading.kind === 'ping') return { status: 200, body: { pong: true } };
    if (reading.kind === 'ignored') return { status: 202, body: { accepted: 0, duplicate: false, ignored: reading.reason } };
    parsed = reading.kind === 'events' ? { ok: true, events: reading.events } : { ok: false, message: reading.message, path: reading.path };
  } else {
    parsed = parseEvents(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'), (scheme as WebhookScheme).shape);
  }
  if (!parsed.ok) return fail(400, 'invalid_event', parsed.path ? `${parsed.path}: ${parsed.message}` : parsed.message, parsed.path);
  const fresh = await intake.submit({ flowId, nodeId, deliveryId, events: parsed.events });
  if (fresh) metrics.webhookEvents.inc({ flow: flowId, result: 'stored' }, parsed.events.length);
  else metrics.webhookEvents.inc({ flow: flowId, result: 'repeated_delivery' });
  return { status: 202, body: { accepted: fresh ? parsed.events.length : 0, duplicate: !fresh } };
}
