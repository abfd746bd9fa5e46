import { zValidator } from '@hono/zod-validator';
import { Hono, type Context } from 'hono';
import { findConnectorType } from '../connectors/index';
import { credentialReferences } from '../credentials/references';
import type { TriggerConfig } from '../../nodes/trigger/schema';
import { deleteDraft } from '../db/flowQueries';
import type { CatalogEntry } from '../scheduler/flowCatalog';
import { describeIssue, type FlowIssue } from '../scheduler/flowLoader';
import type { AppDeps } from './deps';
import { LiveStatus } from './liveStatus';
import { errorBody, fail, parseJsonText, requireJson, validationHook } from './errors';
import type { RouteDoc } from './routeDoc';
import {
  alertBodySchema,
  createdFlowSchema,
  errorSchema,
  flowDocumentBodySchema,
  flowIdParams,
  flowListEntrySchema,
  flowStateSchema,
  flowStatusSchema,
  invalidFlowSchema,
} from './schemas';
import { z } from 'zod';

/** The stored flow, or a 404 response. */
export function findFlow(c: Context, deps: AppDeps, id: string): CatalogEntry | Response {
  return deps.catalog.get(id) ?? fail(c, 404, 'not_found', `no flow "${id}": list the flows with GET /api/flows`, 'id');
}

function invalidFlow(c: Context, issues: FlowIssue[]): Response {
  const errors = issues.filter((issue) => issue.severity === 'error');
  const first = errors[0] ?? issues[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length === 2 ? '' : 's'}, listed in "issues")` : '';
  const message = first ? `the flow is not valid: ${describeIssue(first)}${more}` : 'the flow is not valid';
  return c.json({ ...errorBody('invalid_flow', message, first?.path ?? ''), issues }, 422);
}

/** Reads and validates a flow document body; a Response when it is not JSON or not a valid flow. */
export async function readFlow(c: Context, deps: AppDeps): Promise<{ document: NonNullable<CatalogEntry['document']>; bytes: string } | Response> {
  const parsed = parseJsonText(c, await c.req.text());
  if (!parsed.ok) return parsed.response;
  const loaded = deps.loadFlow(parsed.value);
  if (!loaded.ok) return invalidFlow(c, loaded.issues);
  return { document: loaded.document, bytes: loaded.bytes };
}

const flowParam = zValidator('param', flowIdParams, validationHook);

/** Flows: import, list, export, replace, remove, deploy, pause, alert webhook, per-trigger status. */
export function flowsApi(deps: AppDeps): Hono {
  const { catalog, scheduler, worker, runner, engine, logger } = deps;
  const live = new LiveStatus(deps.db);
  const app = new Hono();

  app.get('/', (c) => c.json(catalog.list().map((entry) => ({ id: entry.id, name: entry.name, deployed: entry.deployed }))));

  app.post('/', async (c) => {
    const flow = await readFlow(c, deps);
    if (flow instanceof Response) return flow;
    const { document, bytes } = flow;
    if (!(await catalog.create(document, bytes))) {
      return fail(c, 409, 'flow_exists', `a flow with the id "${document.id}" already exists: replace it with PUT /api/flows/${encodeURIComponent(document.id)}, or change the id`, 'id');
    }
    logger.info({ flowId: document.id }, 'flow imported');
    return c.json({ id: document.id }, 201);
  });

  app.get('/:id', flowParam, (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    // The stored bytes exactly, not a re-serialisation: export must give back what was imported.
    return c.body(entry.bytes, 200, { 'content-type': 'application/json; charset=utf-8' });
  });

  app.put('/:id', flowParam, async (c) => {
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
    return c.json({ id, deployed: entry.deployed });
  });

  app.delete('/:id', flowParam, async (c) => {
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
    logger.info({ flowId: id }, 'flow removed');
    return c.body(null, 204);
  });

  app.post('/:id/deploy', flowParam, async (c) => {
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
    await catalog.setDeployed(id, true);
    // A draft that is what now runs has nothing left to say.
    await deleteDraft(deps.db, id, entry.bytes);
    scheduler.sync(id);
    worker.kick(id);
    logger.info({ flowId: id }, 'flow deployed');
    return c.json({ id, deployed: true });
  });

  app.post('/:id/pause', flowParam, async (c) => {
    const { id } = c.req.valid('param');
    const entry = findFlow(c, deps, id);
    if (entry instanceof Response) return entry;
    await catalog.setDeployed(id, false);
    scheduler.sync(id);
    logger.info({ flowId: id }, 'flow paused');
    return c.json({ id, deployed: false });
  });

  app.get('/:id/alert', flowParam, (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    return c.json({ url: entry.alertUrl });
  });

  app.put('/:id/alert', flowParam, requireJson, zValidator('json', alertBodySchema, validationHook), async (c) => {
    const { id } = c.req.valid('param');
    const entry = findFlow(c, deps, id);
    if (entry instanceof Response) return entry;
    const { url } = c.req.valid('json');
    await catalog.setAlertUrl(id, url);
    logger.info({ flowId: id, alerts: url !== null }, 'alert webhook set');
    return c.json({ url });
  });

  app.get('/:id/status', flowParam, async (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    return c.json(await live.of(entry.id, entry.document));
  });

  return app;
}

const notFound = { description: 'No flow with this id', schema: errorSchema };
const alertSchema = z.strictObject({ url: z.string().nullable() });

export const flowRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/api/flows', tag: 'flows', auth: 'bearer', summary: 'List the stored flows', responses: { 200: { description: 'Flows', schema: z.array(flowListEntrySchema) } } },
  {
    method: 'post',
    path: '/api/flows',
    tag: 'flows',
    auth: 'bearer',
    summary: 'Import a flow document (validated, migrated)',
    body: flowDocumentBodySchema,
    responses: {
      201: { description: 'Imported', schema: createdFlowSchema },
      400: { description: 'The body is not JSON', schema: errorSchema },
      409: { description: 'A flow with this id exists', schema: errorSchema },
      422: { description: 'The flow is not valid: every problem, with its path', schema: invalidFlowSchema },
    },
  },
  {
    method: 'get',
    path: '/api/flows/:id',
    tag: 'flows',
    auth: 'bearer',
    summary: 'The flow document exactly as exported',
    params: flowIdParams,
    responses: { 200: { description: 'The document', schema: flowDocumentBodySchema }, 404: notFound },
  },
  {
    method: 'put',
    path: '/api/flows/:id',
    tag: 'flows',
    auth: 'bearer',
    summary: 'Replace a flow (validated; the id must not change)',
    params: flowIdParams,
    body: flowDocumentBodySchema,
    responses: {
      200: { description: 'Replaced', schema: flowStateSchema },
      400: { description: 'The body is not JSON', schema: errorSchema },
      404: notFound,
      422: { description: 'The flow is not valid, or its id differs', schema: invalidFlowSchema },
    },
  },
  {
    method: 'delete',
    path: '/api/flows/:id',
    tag: 'flows',
    auth: 'bearer',
    summary: 'Remove a flow and its sync state',
    params: flowIdParams,
    responses: { 204: { description: 'Removed' }, 404: notFound },
  },
  {
    method: 'post',
    path: '/api/flows/:id/deploy',
    tag: 'flows',
    auth: 'bearer',
    summary: 'Start the flow: poll on schedule and accept its webhooks. Records its document as the next version, and discards a draft equal to it',
    params: flowIdParams,
    responses: {
      200: { description: 'Deployed', schema: flowStateSchema },
      404: notFound,
      409: { description: 'A credential it names is missing, or the stored flow no longer loads', schema: errorSchema },
    },
  },
  {
    method: 'post',
    path: '/api/flows/:id/pause',
    tag: 'flows',
    auth: 'bearer',
    summary: 'Stop the flow’s triggers',
    params: flowIdParams,
    responses: { 200: { description: 'Paused', schema: flowStateSchema }, 404: notFound },
  },
  {
    method: 'get',
    path: '/api/flows/:id/alert',
    tag: 'flows',
    auth: 'bearer',
    summary: 'The alert webhook URL of a flow',
    params: flowIdParams,
    responses: { 200: { description: 'The URL, or null', schema: alertSchema }, 404: notFound },
  },
  {
    method: 'put',
    path: '/api/flows/:id/alert',
    tag: 'flows',
    auth: 'bearer',
    summary: 'Set (or clear with null) the URL that receives a JSON notice when a pass fails, stops, or files conflicts',
    params: flowIdParams,
    body: alertBodySchema,
    responses: { 200: { description: 'Set', schema: alertSchema }, 400: { description: 'Not an http(s) URL or null', schema: errorSchema }, 404: notFound },
  },
  {
    method: 'get',
    path: '/api/flows/:id/status',
    tag: 'flows',
    auth: 'bearer',
    summary:
      'What the canvas shows while the flow runs. Per trigger: last pass, records in sync, records written in the last hour, failing records, open conflicts, and the problem when the last pass could not reach its system; per conflict node: open conflicts',
    params: flowIdParams,
    responses: { 200: { description: 'Status', schema: flowStatusSchema }, 404: notFound },
  },
];
