import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { AppDeps } from './deps';
import { fail } from './errors';
import { findFlow, readFlow } from './flows';
import { RecordNamer } from './recordNames';
import { linkedEntities } from '../db/overviewQueries';
import { getRun, listRunPage } from '../db/runQueries';
import type { FlowDocument } from '../../nodes';
import { sideRecordKey } from '../util/keys';
import { apiApp, bearer, errorResponse, jsonResponse } from './routes';
import { dryRunResultSchema, flowIdParams, refusedFlowSchema, runDetailSchema, runIdParams, runResultSchema, runsQuerySchema, runViewSchema } from './schemas';

const tag = { tags: ['runs'], security: bearer };
const notFound = errorResponse('No such flow');
const flowInvalid = errorResponse('The stored flow no longer loads');

const runRoute = createRoute({
  ...tag,
  method: 'post',
  path: '/flows/{id}/run',
  summary: 'One pass now (after any pass in progress); the summary of SPEC §8',
  request: { params: flowIdParams },
  responses: { 200: jsonResponse('The pass ran (status tells whether it succeeded)', runResultSchema), 404: notFound, 409: flowInvalid },
});

/** The draft in the body is read and checked by the flow loader, as an import is; no body plans the stored flow. */
const dryRunRoute = createRoute({
  ...tag,
  method: 'post',
  path: '/flows/{id}/dry-run',
  summary: 'The writes a pass would make, per side, field by field; writes nothing. With a flow document as the body (a draft of this flow), plans that instead of the stored flow',
  request: { params: flowIdParams },
  responses: {
    200: jsonResponse('The plan', dryRunResultSchema),
    400: errorResponse('The body is not JSON'),
    404: notFound,
    409: flowInvalid,
    422: jsonResponse('The draft in the body is not a valid flow, or is another flow', refusedFlowSchema),
  },
});

const runsRoute = createRoute({
  ...tag,
  method: 'get',
  path: '/flows/{id}/runs',
  summary: 'Run history, newest first: a page of `limit` runs (50) matching `filter`, older than the run `before`',
  request: { params: flowIdParams, query: runsQuerySchema },
  responses: {
    200: jsonResponse('Runs', z.array(runViewSchema)),
    400: errorResponse('Bad limit or filter, or `before` is not a run of this flow'),
    404: notFound,
  },
});

const runDetailRoute = createRoute({
  ...tag,
  method: 'get',
  path: '/runs/{id}',
  summary: 'One run and its per-record log with field-level changes',
  request: { params: runIdParams },
  responses: { 200: jsonResponse('The run', runDetailSchema), 404: errorResponse('No such run') },
});

/** Passes on demand and run history: run now, dry run, list runs, one run's per-record log. Mounted at /api. */
export function runsApi(deps: AppDeps): OpenAPIHono {
  const { runner } = deps;
  const app = apiApp();

  app.openapi(runRoute, async (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    if (!entry.document) return fail(c, 409, 'flow_invalid', `the stored flow no longer loads (${entry.loadError}): replace it with PUT`);
    const result = await runner.runPass(entry.id, { reason: 'manual' });
    return c.json({ runId: result.runId, status: result.status, summary: result.summary, error: result.error }, 200);
  });

  app.openapi(dryRunRoute, async (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    // With a body, the draft in it is planned instead of the stored flow: what an edit would do, before it runs.
    let draft: FlowDocument | undefined;
    if ((await c.req.text()).trim() !== '') {
      const flow = await readFlow(c, deps);
      if (flow instanceof Response) return flow;
      if (flow.document.id !== entry.id) {
        return fail(c, 422, 'id_mismatch', `the document's id "${flow.document.id}" is not "${entry.id}": a draft is planned against its own flow's state`, 'id');
      }
      draft = flow.document;
    } else if (!entry.document) {
      return fail(c, 409, 'flow_invalid', `the stored flow no longer loads (${entry.loadError}): replace it with PUT`);
    }
    const result = await runner.runPass(entry.id, { reason: 'manual', dryRun: true, ...(draft ? { document: draft } : {}) });
    const sides = result.planned ?? [];
    const namer = new RecordNamer(deps.db, draft ?? entry.document);
    // The records named: those updated, deleted, or whose change a side would not take.
    const named = (side: (typeof sides)[number]) => [...side.updates, ...side.deletes, ...side.skipped].flatMap((write) => (write.id === null ? [] : [write.id]));
    const linked = await linkedEntities(
      deps.db,
      entry.id,
      sides.flatMap((side) => named(side).map((recordId) => ({ nodeId: side.nodeId, recordId }))),
    );
    const entityOf = (nodeId: string, recordId: string) => linked.get(sideRecordKey(nodeId, recordId));
    const names = await namer.names(
      sides.flatMap((side) =>
        named(side).flatMap((recordId) => {
          const entityId = entityOf(side.nodeId, recordId);
          return entityId ? [{ entityId, sides: [side.nodeId] }] : [];
        }),
      ),
    );
    const nameOf = (nodeId: string, recordId: string | null) => (recordId === null ? null : (names.get(entityOf(nodeId, recordId) ?? '') ?? null));
    return c.json({
      summary: result.summary,
      sides: sides.map((side) => ({
        ...side,
        updates: side.updates.map((update) => ({ id: update.id, recordName: nameOf(side.nodeId, update.id), fields: update.fields })),
        deletes: side.deletes.map((removal) => ({ id: removal.id, recordName: nameOf(side.nodeId, removal.id) })),
        skipped: side.skipped.map((skip) => ({ id: skip.id, recordName: nameOf(side.nodeId, skip.id), reason: skip.reason })),
      })),
      status: result.status,
      error: result.error,
    }, 200);
  });

  app.openapi(runsRoute, async (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    const query = c.req.valid('query');
    const page = await listRunPage(deps.db, entry.id, { filter: query.filter ?? 'all', before: query.before ?? null, limit: query.limit ?? 50 });
    if (page === null) return fail(c, 400, 'invalid_query', `before: no run "${query.before}" of flow "${entry.id}"`, 'before');
    return c.json(page, 200);
  });

  app.openapi(runDetailRoute, async (c) => {
    const { id } = c.req.valid('param');
    const run = await getRun(deps.db, id);
    if (!run) return fail(c, 404, 'not_found', `no run "${id}": list a flow's runs with GET /api/flows/:id/runs`, 'id');
    const namer = new RecordNamer(deps.db, deps.catalog.get(run.run.flowId)?.document ?? null);
    const names = await namer.names(run.log.flatMap((entry) => (entry.entityId ? [{ entityId: entry.entityId, sides: [entry.nodeId] }] : [])));
    return c.json({ run: run.run, log: run.log.map((entry) => ({ ...entry, recordName: entry.entityId ? (names.get(entry.entityId) ?? null) : null })) }, 200);
  });

  return app;
}
