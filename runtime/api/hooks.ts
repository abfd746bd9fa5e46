import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { zValidator } from '@hono/zod-validator';
import { MissingCredentialError } from '../credentials/store';
import { receiveWebhook } from '../webhooks/receive';
import { limitBody } from './bodyLimit';
import type { AppDeps } from './deps';
import { errorBody, validationHook } from './errors';
import { apiApp, documentedJsonBody, errorResponse, jsonResponse, noToken, serveRaw } from './routes';
import { hookParams, okSchema, webhookAcceptedSchema, webhookBodySchema } from './schemas';

export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

const secretMissing = errorResponse('The trigger’s secret is not stored yet');

/** Checked by the secret in its own URL, and answered 404 (not a validation error) wherever no such trigger is. */
const urlCheckRoute = createRoute({
  method: 'get',
  path: '/{flowId}/{nodeId}',
  tags: ['webhooks'],
  security: noToken,
  summary:
    'The URL check some systems make before they save a webhook (Mailchimp): 200 when the trigger’s connector is checked this way and the secret the URL carries (?secret=…) is the trigger’s; 404 for every other trigger.',
  request: { params: hookParams },
  responses: {
    200: jsonResponse('The URL is this trigger’s', okSchema),
    401: errorResponse('The URL carries no secret, or another one'),
    404: errorResponse('No webhook trigger here that is checked by a GET'),
    503: secretMissing,
  },
});

/** The body is read as raw bytes, since the signature is over them, and its events are read by the trigger's scheme. */
const deliveryRoute = createRoute({
  method: 'post',
  path: '/{flowId}/{nodeId}',
  tags: ['webhooks'],
  security: noToken,
  summary:
    'A change event, or an array of them, for a webhook trigger. Signed with X-Syncline-Signature: sha256=<hex HMAC-SHA256 of the raw body>, or as an http trigger’s connection.webhook configures (header, algorithm, encoding, prefix; id and type paths); an X-Syncline-Delivery id seen before is accepted and ignored. 202 once stored durably, before the merge.',
  request: { params: hookParams, body: documentedJsonBody(webhookBodySchema) },
  responses: {
    202: jsonResponse('Stored; the merge follows', webhookAcceptedSchema),
    400: errorResponse('Malformed body'),
    401: errorResponse('Bad signature'),
    404: errorResponse('No such webhook trigger'),
    409: errorResponse('The flow is paused'),
    413: errorResponse('Over 1 MB'),
    503: secretMissing,
  },
});

/**
 * Signed webhooks (SPEC §10): `POST /hooks/:flowId/:nodeId`. Answers 202 once the events are stored durably and
 * before the merge runs; the webhook worker turns them into passes. Mounted at /hooks. The signature and the event
 * shape are the trigger's: an `http` trigger's `connection.webhook`, SPEC §10's scheme for every other.
 */
export function hooksApi(deps: AppDeps): OpenAPIHono {
  const app = apiApp();

  serveRaw(app, deliveryRoute, zValidator('param', hookParams, validationHook), limitBody(WEBHOOK_BODY_LIMIT), async (c) => {
    const { flowId, nodeId } = c.req.param();
    const body = new Uint8Array(await c.req.arrayBuffer());
    const answer = await receiveWebhook(deps, { flowId, nodeId, method: c.req.method, url: requestTarget(c.req.url), body, header: (name) => c.req.header(name) });
    return c.json(answer.body, answer.status);
  });

  // A system that checks a webhook's URL with a GET before it saves the webhook (Mailchimp) is answered 200 at its
  // trigger's URL when the secret the URL carries is right. Any other GET here stays the 404 it always was.
  serveRaw(app, urlCheckRoute, async (c) => {
    const answer = await answerUrlCheck(deps, c.req.param('flowId'), c.req.param('nodeId'), requestTarget(c.req.url), (name) => c.req.header(name));
    return answer ? c.json(answer.body, answer.status) : c.notFound();
  });

  return app;
}

/** The answer to a URL check of a trigger whose system makes one, or null where no such trigger is (a 404). */
async function answerUrlCheck(
  deps: Pick<AppDeps, 'catalog' | 'credentials' | 'connectors' | 'logger'>,
  flowId: string,
  nodeId: string,
  url: string,
  header: (name: string) => string | undefined,
): Promise<{ status: 200 | 401 | 503; body: unknown } | null> {
  const ids = hookParams.safeParse({ flowId, nodeId });
  if (!ids.success) return null;
  const node = deps.catalog.get(flowId)?.document?.nodes.find((candidate) => candidate.id === nodeId);
  if (!node || node.type !== 'trigger' || node.config.detect.mode !== 'webhook') return null;
  const system = Object.hasOwn(deps.connectors, node.config.connector) ? deps.connectors[node.config.connector]?.webhook : undefined;
  if (!system?.urlCheckedByGet) return null;
  let secret: string;
  try {
    secret = await deps.credentials.resolve(node.config.detect.secret.credential);
  } catch (error) {
    if (!(error instanceof MissingCredentialError)) throw error;
    deps.logger.error({ flowId, nodeId, credential: node.config.detect.secret.credential }, 'webhook secret credential missing');
    return { status: 503, body: errorBody('secret_missing', "the trigger's signing secret is not stored on this runtime yet; retry later") };
  }
  const refused = system.verify({ method: 'GET', url, body: new Uint8Array(0), header }, secret, new Date());
  return refused === null ? { status: 200, body: { ok: true } } : { status: 401, body: errorBody('bad_signature', refused) };
}

/** Path and query of a request URL, as the sender addressed it. */
function requestTarget(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}
