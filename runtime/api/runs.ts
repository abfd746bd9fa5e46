import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppDeps } from './deps';
import { fail, validationHook } from './errors';
import { findFlow, readFlow } from './flows';
import { RecordNamer } from './recordNames';
import { linkedEntities } from '../db/overviewQueries';
import { listRunPage } from '../db/runQueries';
import type { FlowDocument } from '../../nodes';
import type { RouteDoc } from './routeDoc';
import { dryRunSchema, errorSchema, invalidFlowSchema, flowIdParams, runDetailSchema, runIdParams, runResultSchema, runsQuerySchema, runViewSchema } from './schemas';

/** Passes on demand and run history: run now, dry run, list runs, one run's per-record log. Mounted at /api. */
export function runsApi(deps: AppDeps): Hono {
  const { runner, engine } = deps;
  const app = new Hono();
  const flowParam = zValidator('param', flowIdParams, validationHook);

  app.post('/flows/:id/run', flowParam, async (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    if (!entry.document) return fail(c, 409, 'flow_invalid', `the stored flow no longer loads (${entry.loadError}): replace it with PUT`);
    const result = await runner.runPass(entry.id, { reason: 'manual' });
    return c.json({ runId: result.runId, status: result.status, summary: result.summary, error: result.error });
  });

  app.post('/flows/:id/dry-run', flowParam, async (c) => {
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
    const linked = await linkedEntities(
      deps.db,
      entry.id,
      sides.flatMap((side) => [...side.updates, ...side.deletes].map((write) => ({ nodeId: side.nodeId, recordId: write.id }))),
    );
    const entityOf = (nodeId: string, recordId: string) => linked.get(`${nodeId}\u0000${recordId}`);
    const names = await namer.names(
      sides.flatMap((side) =>
        [...side.updates, ...side.deletes].flatMap((write) => {
          const entityId = entityOf(side.nodeId, write.id);
          return entityId ? [{ entityId, sides: [side.nodeId] }] : [];
        }),
      ),
    );
    const nameOf = (nodeId: string, recordId: string) => names.get(entityOf(nodeId, recordId) ?? '') ?? null;
    return c.json({
      summary: result.summary,
      sides: sides.map((side) => ({
        ...side,
        updates: side.updates.map((update) => ({ id: update.id, recordName: nameOf(side.nodeId, update.id), fields: update.fields })),
        deletes: side.deletes.map((removal) => ({ id: removal.id, recordName: nameOf(side.nodeId, removal.id) })),
      })),
      status: result.status,
      error: result.error,
    });
  });

  app.get('/flows/:id/runs', flowParam, zValidator('query', runsQuerySchema, validationHook), async (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    const query = c.req.valid('query');
    const page = await listRunPage(deps.db, entry.id, { filter: query.filter ?? 'all', before: query.before ?? null, limit: query.limit ?? 50 });
    if (page === null) return fail(c, 400, 'invalid_query', `before: no run "${query.before}" of flow "${entry.id}"`, 'before');
    return c.json(page);
  });

  app.get('/runs/:id', zValidator('param', runIdParams, validationHook), async (c) => {
    const { id } = c.req.valid('param');
    const run = await engine.getRun(id);
    if (!run) return fail(c, 404, 'not_found', `no run "${id}": list a flow's runs with GET /api/flows/:id/runs`, 'id');
    const namer = new RecordNamer(deps.db, deps.catalog.get(run.run.flowId)?.document ?? null);
    const names = await namer.names(run.log.flatMap((entry) => (entry.entityId ? [{ entityId: entry.entityId, sides: [entry.nodeId] }] : [])));
    return c.json({ run: run.run, log: run.log.map((entry) => ({ ...entry, recordName: entry.entityId ? (names.get(entry.entityId) ?? null) : null })) });
  });

  return app;
}

const notFound = { description: 'No such flow', schema: errorSchema };

export const runRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/flows/:id/run',
    tag: 'runs',
    auth: 'bearer',
    summary: 'One pass now (after any pass in progress); the summary of SPEC §8',
    params: flowIdParams,
    responses: { 200: { description: 'The pass ran (status tells whether it succeeded)', schema: runResultSchema }, 404: notFound, 409: { description: 'The stored flow no longer loads', schema: errorSchema } },
  },
  {
    method: 'post',
    path: '/api/flows/:id/dry-run',
    tag: 'runs',
    auth: 'bearer',
    summary: 'The writes a pass would make, per side, field by field; writes nothing. With a flow document as the body (a draft of this flow), plans that instead of the stored flow',
    params: flowIdParams,
    responses: {
      200: { description: 'The plan', schema: dryRunSchema.extend({ status: runResultSchema.shape.status, error: z.string().nullable() }) },
      400: { description: 'The body is not JSON', schema: errorSchema },
      404: notFound,
      409: { description: 'The stored flow no longer loads', schema: errorSchema },
      422: { description: 'The draft in the body is not a valid flow, or is another flow', schema: invalidFlowSchema },
    },
  },
  {
    method: 'get',
    path: '/api/flows/:id/runs',
    tag: 'runs',
    auth: 'bearer',
    summary: 'Run history, newest first: a page of `limit` runs (50) matching `filter`, older than the run `before`',
    params: flowIdParams,
    query: runsQuerySchema,
    responses: { 200: { description: 'Runs', schema: z.array(runViewSchema) }, 400: { description: 'Bad limit or filter, or `before` is not a run of this flow', schema: errorSchema }, 404: notFound },
  },
  {
    method: 'get',
    path: '/api/runs/:id',
    tag: 'runs',
    auth: 'bearer',
    summary: "One run and its per-record log with field-level changes",
    params: runIdParams,
    responses: { 200: { description: 'The run', schema: runDetailSchema }, 404: { description: 'No such run', schema: errorSchema } },
  },
];
