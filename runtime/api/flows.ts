import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { zValidator } from '@hono/zod-validator';
import type { Context } from 'hono';
import { findConnectorType } from '../connectors/index';
import { credentialReferences, sharedSystemSecret, systemSecretHolders } from '../credentials/references';
import type { TriggerConfig } from '../../nodes/trigger/schema';
import type { FlowDocument } from '../../nodes';
import { deleteDraft } from '../db/flowQueries';
import type { CatalogEntry } from '../flows/flowCatalog';
import { describeIssue, type FlowIssue } from '../flows/flowLoader';
import { alertUrlRefusal } from '../observability/alerts';
import type { AppDeps } from './deps';
import { LiveStatus } from './liveStatus';
import { errorBody, fail, parseJsonText, requireJson, validationHook, type ErrorResponse } from './errors';
import { apiApp, bearer, documentedJsonBody, errorResponse, jsonBody, jsonResponse, serveRaw } from './routes';
import {
  alertBodySchema,
  alertSchema,
  createdFlowSchema,
  flowDocumentBodySchema,
  flowIdParams,
  flowListEntrySchema,
  flowStateSchema,
  flowStatusSchema,
  invalidFlowSchema,
  refusedFlowSchema,
} from './schemas';
import { z } from 'zod';

/** The stored flow, or a 404 response. */
export function findFlow(c: Context, deps: AppDeps, id: string): CatalogEntry | ErrorResponse<404> {
  return deps.catalog.get(id) ?? fail(c, 404, 'not_found', `no flow "${id}": list the flows with GET /api/flows`, 'id');
}

function invalidFlow(c: Context, issues: FlowIssue[]) {
  const errors = issues.filter((issue) => issue.severity === 'error');
  const first = errors[0] ?? issues[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length === 2 ? '' : 's'}, listed in "issues")` : '';
  const message = first ? `the flow is not valid: ${describeIssue(first)}${more}` : 'the flow is not valid';
  return c.json({ ...errorBody('invalid_flow', message, first?.path ?? ''), issues }, 422);
}

/** Reads and validates a flow document body; a Response when it is not JSON or not a valid flow. */
export async function readFlow(
  c: Context,
  deps: AppDeps,
): Promise<{ document: NonNullable<CatalogEntry['document']>; bytes: string } | ErrorResponse<400> | ReturnType<typeof invalidFlow>> {
  const parsed = parseJsonText(c, await c.req.text());
  if (!parsed.ok) return parsed.response;
  const loaded = deps.loadFlow(parsed.value);
  if (!loaded.ok) return invalidFlow(c, loaded.issues);
  return { document: loaded.document, bytes: loaded.bytes };
}

const tag = { tags: ['flows'], security: bearer };
const notFound = errorResponse('No flow with this id');
const notJson = errorResponse('The body is not JSON');

const listRoute = createRoute({
  ...tag,
  method: 'get',
  path: '/',
  summary: 'List the stored flows',
  responses: { 200: jsonResponse('Flows', z.array(flowListEntrySchema)) },
});

const importRoute = createRoute({
  ...tag,
  method: 'post',
  path: '/',
  summary: 'Import a flow document (validated, migrated)',
  request: { body: documentedJsonBody(flowDocumentBodySchema) },
  responses: {
    201: jsonResponse('Imported', createdFlowSchema),
    400: notJson,
    409: errorResponse('A flow with this id exists'),
    422: jsonResponse('The flow is not valid: every problem, with its path', invalidFlowSchema),
  },
});

/** Answered with the stored bytes exactly, not a re-serialisation: export must give back what was imported. */
const exportRoute = createRoute({
  ...tag,
  method: 'get',
  path: '/{id}',
  summary: 'The flow document exactly as exported',
  request: { params: flowIdParams },
  responses: { 200: jsonResponse('The document', flowDocumentBodySchema), 404: notFound },
});

const replaceRoute = createRoute({
  ...tag,
  method: 'put',
  path: '/{id}',
  summary: 'Replace a flow (validated; the id must not change)',
  request: { params: flowIdParams, body: documentedJsonBody(flowDocumentBodySchema) },
  responses: {
    200: jsonResponse('Replaced', flowStateSchema),
    400: notJson,
    404: notFound,
    422: jsonResponse('The flow is not valid, or its id differs', refusedFlowSchema),
  },
});

const removeRoute = createRoute({
  ...tag,
  method: 'delete',
  path: '/{id}',
  summary: 'Remove a flow and its sync state',
  request: { params: flowIdParams },
  responses: { 204: { description: 'Removed' }, 404: notFound },
});

const deployRoute = createRoute({
  ...tag,
  method: 'post',
  path: '/{id}/deploy',
  summary: 'Start the flow: poll on schedule and accept its webhooks. Records its document as the next version, and discards a draft equal to it',
  request: { params: flowIdParams },
  responses: {
    200: jsonResponse('Deployed', flowStateSchema),
    404: notFound,
    409: errorResponse('A credential it names is missing, or the stored flow no longer loads'),
  },
});

const pauseRoute = createRoute({
  ...tag,
  method: 'post',
  path: '/{id}/pause',
  summary: 'Stop the flow’s triggers',
  request: { params: flowIdParams },
  responses: { 200: jsonResponse('Paused', flowStateSchema), 404: notFound },
});

const getAlertRoute = createRoute({
  ...tag,
  method: 'get',
  path: '/{id}/alert',
  summary: 'The alert webhook URL of a flow',
  request: { params: flowIdParams },
  responses: { 200: jsonResponse('The URL, or null, and why its last delivery failed', alertSchema), 404: notFound },
});

const setAlertRoute = createRoute({
  ...tag,
  method: 'put',
  path: '/{id}/alert',
  middleware: requireJson,
  summary: 'Set (or clear with null) the URL that receives a JSON notice when a pass fails, stops, or files conflicts',
  request: { params: flowIdParams, body: jsonBody(alertBodySchema) },
  responses: {
    200: jsonResponse('Set', alertSchema),
    400: errorResponse('Not an http(s) URL or null'),
    404: notFound,
    422: errorResponse('A host the operator does not let alerts reach (access_refused): every alert to it would be refused'),
  },
});

const statusRoute = createRoute({
  ...tag,
  method: 'get',
  path: '/{id}/status',
  summary:
    'What the canvas shows while the flow runs. Per trigger: last pass, records in sync, records written in the last hour, failing records, open conflicts, and the problem when the last pass could not reach its system; per conflict node: open conflicts',
  request: { params: flowIdParams },
  responses: { 200: jsonResponse('Status', flowStatusSchema), 404: notFound },
});

/**
 * Why the flow cannot be deployed beside the deployed ones because a webhook trigger of it would keep its system's
 * signing secret in a credential another such trigger keeps its own in (references.ts sharedSystemSecret); null if none.
 */
function sharedSecretProblem(catalog: AppDeps['catalog'], id: string, document: FlowDocument, secretMadeBySystem: (config: TriggerConfig) => boolean): { message: string; path: string } | null {
  const others = catalog
    .list()
    .filter((flow) => flow.id !== id && flow.deployed)
    .flatMap((flow) => {
      const stored = catalog.get(flow.id)?.document;
      return stored ? systemSecretHolders(flow.id, stored, secretMadeBySystem) : [];
    });
  const shared = sharedSystemSecret(systemSecretHolders(id, document, secretMadeBySystem), others);
  if (!shared) return null;
  const { holder, other } = shared;
  const where = other.flowId === id ? `trigger "${other.nodeId}" of this flow` : `trigger "${other.nodeId}" of deployed flow "${other.flowId}"`;
  return {
    message: `trigger "${holder.nodeId}" keeps the signing secret its system makes for its webhook in credential "${holder.credential}", as ${where} does for its own: each would overwrite the other's and one webhook's deliveries would all be refused. Name a credential of its own in detect.secret, then deploy`,
    path: holder.path,
  };
}

/** Flows: import, list, export, replace, remove, deploy, pause, alert webhook, per-trigger status. */
export function flowsApi(deps: AppDeps): OpenAPIHono {
  const { catalog, scheduler, worker, runner, engine, logger } = deps;
  const live = new LiveStatus(deps.db);
  const app = apiApp();

  app.openapi(listRoute, (c) => c.json(catalog.list().map((entry) => ({ id: entry.id, name: entry.name, deployed: entry.deployed })), 200));

  app.openapi(importRoute, async (c) => {
    const flow = await readFlow(c, deps);
    if (flow instanceof Response) return flow;
    const { document, bytes } = flow;
    if (!(await catalog.create(document, bytes))) {
      return fail(c, 409, 'flow_exists', `a flow with the id "${document.id}" already exists: replace it with PUT /api/flows/${encodeURIComponent(document.id)}, or change the id`, 'id');
    }
    logger.info({ flowId: document.id }, 'flow imported');
    return c.json({ id: document.id }, 201);
  });

  serveRaw(app, exportRoute, zValidator('param', flowIdParams, validationHook), (c) => {
    const entry = findFlow(c, deps, c.req.param('id') as string);
    if (entry instanceof Response) return entry;
    // The stored bytes exactly, not a re-serialisation: export must give back what was imported.
    return c.body(entry.bytes, 200, { 'content-type': 'application/json; charset=utf-8' });
  });

  app.openapi(replaceRoute, async (c) => {
    const { id } = c.req.valid('param');
    const entry = findFlow(c, deps, id);
    if (entry instanceof Response) return entry;
    const flow = await readFlow(c, deps);
    if (flow instanceof Response) return flow;
    if (flow.document.id !== id) {
      return fail(c, 422, 'id_mismatch', `the document's id "${flow.document.id}" is not "${id}": a flow keeps its id; import a new flow with POST /api/flows instead`, 'id');
    }
    await catalog.replace(flow.document, flow.bytes);
    scheduler.sync(id);
    logger.info({ flowId: id }, 'flow replaced');
    return c.json({ id, deployed: entry.deployed }, 200);
  });

  app.openapi(removeRoute, async (c) => {
    const { id } = c.req.valid('param');
    const entry = findFlow(c, deps, id);
    if (entry instanceof Response) return entry;
    scheduler.stop(id);
    // Behind any pass in progress, so its commit cannot land after the state is forgotten.
    await runner.exclusive(id, async () => {
      await engine.forgetFlow(id);
      await catalog.remove(id);
    });
    live.forget(id);
    deps.alerts.forget(id);
    logger.info({ flowId: id }, 'flow removed');
    return c.body(null, 204);
  });

  app.openapi(deployRoute, async (c) => {
    const { id } = c.req.valid('param');
    const entry = findFlow(c, deps, id);
    if (entry instanceof Response) return entry;
    if (!entry.document) return fail(c, 409, 'flow_invalid', `the stored flow no longer loads (${entry.loadError}): replace it with PUT before deploying`);
    const stored = new Set((await deps.credentials.list()).map((credential) => credential.name));
    // A system that makes its webhook's signing secret (Zendesk, BambooHR) has it stored when the runtime registers.
    const secretMadeBySystem = (config: TriggerConfig) => Boolean(scheduler.registrations?.registering && findConnectorType(config.connector, deps.connectors)?.webhook?.generatesSecret);
    const missing = credentialReferences(entry.document, { secretMadeBySystem }).find((reference) => !stored.has(reference.name));
    if (missing) {
      return fail(c, 409, 'missing_credential', `the flow needs the credential "${missing.name}", which is not stored: add it with POST /api/credentials, then deploy`, missing.path);
    }
    const shared = sharedSecretProblem(catalog, id, entry.document, secretMadeBySystem);
    if (shared) return fail(c, 409, 'shared_webhook_secret', shared.message, shared.path);
    await scheduler.deploying(id);
    await catalog.setDeployed(id, true);
    // A draft that is what now runs has nothing left to say.
    await deleteDraft(deps.db, id, entry.bytes);
    scheduler.sync(id);
    worker.kick(id);
    logger.info({ flowId: id }, 'flow deployed');
    return c.json({ id, deployed: true }, 200);
  });

  app.openapi(pauseRoute, async (c) => {
    const { id } = c.req.valid('param');
    const entry = findFlow(c, deps, id);
    if (entry instanceof Response) return entry;
    await catalog.setDeployed(id, false);
    scheduler.sync(id);
    logger.info({ flowId: id }, 'flow paused');
    return c.json({ id, deployed: false }, 200);
  });

  const alertOf = (id: string, url: string | null) => ({ url, lastError: deps.alerts.lastError(id, url) });

  app.openapi(getAlertRoute, (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    return c.json(alertOf(entry.id, entry.alertUrl), 200);
  });

  app.openapi(setAlertRoute, async (c) => {
    const { id } = c.req.valid('param');
    const entry = findFlow(c, deps, id);
    if (entry instanceof Response) return entry;
    const { url } = c.req.valid('json');
    const refusal = url === null ? null : await alertUrlRefusal(deps.access.hosts, url);
    if (refusal) return fail(c, 422, 'access_refused', `alerts could not be delivered to this URL: ${refusal.message}`, 'url');
    await catalog.setAlertUrl(id, url);
    logger.info({ flowId: id, alerts: url !== null }, 'alert webhook set');
    return c.json(alertOf(id, url), 200);
  });

  app.openapi(statusRoute, async (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    const registrations = deps.scheduler.registrations;
    return c.json(await live.of(entry.id, entry.document, (nodeId) => registrations?.status(entry.id, nodeId) ?? null), 200);
  });

  return app;
}
