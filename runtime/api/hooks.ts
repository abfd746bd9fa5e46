import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { receiveWebhook } from '../webhooks/receive';
import { limitBody } from './bodyLimit';
import type { AppDeps } from './deps';
import { validationHook } from './errors';
import type { RouteDoc } from './routeDoc';
import { errorSchema, hookParams, webhookAcceptedSchema, webhookBodySchema } from './schemas';

export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

/**
 * Signed webhooks (SPEC §10): `POST /hooks/:flowId/:nodeId`. Answers 202 once the events are stored durably and
 * before the merge runs; the webhook worker turns them into passes. Mounted at /hooks. The signature and the event
 * shape are the trigger's: an `http` trigger's `connection.webhook`, SPEC §10's scheme for every other.
 */
export function hooksApi(deps: AppDeps): Hono {
  const app = new Hono();

  app.post('/:flowId/:nodeId', zValidator('param', hookParams, validationHook), limitBody(WEBHOOK_BODY_LIMIT), async (c) => {
    const { flowId, nodeId } = c.req.valid('param');
    const body = new Uint8Array(await c.req.arrayBuffer());
    const answer = await receiveWebhook(deps, { flowId, nodeId, method: c.req.method, url: requestTarget(c.req.url), body, header: (name) => c.req.header(name) });
    return c.json(answer.body, answer.status);
  });

  return app;
}

/** Path and query of a request URL, as the sender addressed it. */
function requestTarget(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
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
