import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { MissingCredentialError } from '../credentials/store';
import { parseEvents } from '../webhooks/events';
import { webhookScheme } from '../webhooks/scheme';
import { limitBody } from './bodyLimit';
import type { AppDeps } from './deps';
import { fail, validationHook } from './errors';
import type { RouteDoc } from './routeDoc';
import { errorSchema, hookParams, webhookAcceptedSchema, webhookBodySchema } from './schemas';

export const WEBHOOK_BODY_LIMIT = 1024 * 1024;
const MAX_DELIVERY_ID = 200;

/**
 * Signed webhooks (SPEC §10): `POST /hooks/:flowId/:nodeId`. Answers 202 once the events are stored durably and
 * before the merge runs; the webhook worker turns them into passes. Mounted at /hooks. The signature and the event
 * shape are the trigger's: an `http` trigger's `connection.webhook`, SPEC §10's scheme for every other.
 */
export function hooksApi(deps: AppDeps): Hono {
  const { catalog, credentials, intake, metrics, logger } = deps;
  const app = new Hono();

  app.post(
    '/:flowId/:nodeId',
    zValidator('param', hookParams, validationHook),
    limitBody(WEBHOOK_BODY_LIMIT),
    async (c) => {
      const { flowId, nodeId } = c.req.valid('param');
      const entry = catalog.get(flowId);
      const node = entry?.document?.nodes.find((candidate) => candidate.id === nodeId);
      if (!entry || !node || node.type !== 'trigger' || node.config.detect.mode !== 'webhook') {
        return fail(c, 404, 'not_found', `no webhook trigger "${nodeId}" in a flow "${flowId}"`);
      }
      const detect = node.config.detect;
      const scheme = webhookScheme(node.config, detect);
      const raw = new Uint8Array(await c.req.arrayBuffer());
      let secret: string;
      try {
        secret = await credentials.resolve(detect.secret.credential);
      } catch (error) {
        if (!(error instanceof MissingCredentialError)) throw error;
        // The sender cannot fix this and should retry later; the credential's name is not told to an unsigned caller.
        logger.error({ flowId, nodeId, credential: detect.secret.credential }, 'webhook secret credential missing');
        return fail(c, 503, 'secret_missing', "the trigger's signing secret is not stored on this runtime yet; retry later");
      }
      if (!scheme.verify(secret, raw, c.req.header(scheme.signatureHeader))) {
        return fail(c, 401, 'bad_signature', scheme.expected);
      }
      if (!entry.deployed) {
        return fail(c, 409, 'flow_paused', `the flow "${flowId}" is paused: deploy it to accept webhooks`);
      }
      const deliveryId = c.req.header('x-syncline-delivery')?.trim() || null;
      if (deliveryId !== null && deliveryId.length > MAX_DELIVERY_ID) {
        return fail(c, 400, 'invalid_delivery_id', `X-Syncline-Delivery must be at most ${MAX_DELIVERY_ID} characters`);
      }
      const parsed = parseEvents(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'), scheme.shape);
      if (!parsed.ok) return fail(c, 400, 'invalid_event', parsed.path ? `${parsed.path}: ${parsed.message}` : parsed.message, parsed.path);
      const fresh = await intake.submit({ flowId, nodeId, deliveryId, events: parsed.events });
      if (fresh) metrics.webhookEvents.inc({ flow: flowId, result: 'stored' }, parsed.events.length);
      else metrics.webhookEvents.inc({ flow: flowId, result: 'repeated_delivery' });
      return c.json({ accepted: fresh ? parsed.events.length : 0, duplicate: !fresh }, 202);
    },
  );

  return app;
}

export const hookRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/hooks/:flowId/:nodeId',
    tag: 'webhooks',
    auth: 'signature',
    summary:
      'A change event, or an array of them, for a webhook trigger. Signed with X-Syncline-Signature: sha256=<hex HMAC-SHA256 of the raw body>, or as an http trigger’s connection.webhook configures (header, algorithm, encoding, prefix; id and type paths); an X-Syncline-Delivery id seen before is accepted and ignored. 202 once stored durably, before the merge.',
    params: hookParams,
    body: webhookBodySchema,
    responses: {
      202: { description: 'Stored; the merge follows', schema: webhookAcceptedSchema },
      400: { description: 'Malformed body', schema: errorSchema },
      401: { description: 'Bad signature', schema: errorSchema },
      404: { description: 'No such webhook trigger', schema: errorSchema },
      409: { description: 'The flow is paused', schema: errorSchema },
      413: { description: 'Over 1 MB', schema: errorSchema },
      503: { description: 'The trigger’s secret is not stored yet', schema: errorSchema },
    },
  },
];
