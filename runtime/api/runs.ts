import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppDeps } from './deps';
import { fail, validationHook } from './errors';
import { findFlow } from './flows';
import type { RouteDoc } from './routeDoc';
import { dryRunSchema, errorSchema, flowIdParams, runDetailSchema, runIdParams, runResultSchema, runsQuerySchema, runViewSchema } from './schemas';

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
    if (!entry.document) return fail(c, 409, 'flow_invalid', `the stored flow no longer loads (${entry.loadError}): replace it with PUT`);
    const result = await runner.runPass(entry.id, { reason: 'manual', dryRun: true });
    return c.json({ summary: result.summary, sides: result.planned ?? [], status: result.status, error: result.error });
  });

  app.get('/flows/:id/runs', flowParam, zValidator('query', runsQuerySchema, validationHook), async (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    return c.json(await engine.listRuns(entry.id, c.req.valid('query').limit ?? 50));
  });

  app.get('/runs/:id', zValidator('param', runIdParams, validationHook), async (c) => {
    const { id } = c.req.valid('param');
    const run = await engine.getRun(id);
    if (!run) return fail(c, 404, 'not_found', `no run "${id}": list a flow's runs with GET /api/flows/:id/runs`, 'id');
    return c.json(run);
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
    summary: 'The writes a pass would make, per side, field by field; writes nothing',
    params: flowIdParams,
    responses: {
      200: { description: 'The plan', schema: dryRunSchema.extend({ status: runResultSchema.shape.status, error: z.string().nullable() }) },
      404: notFound,
      409: { description: 'The stored flow no longer loads', schema: errorSchema },
    },
  },
  {
    method: 'get',
    path: '/api/flows/:id/runs',
    tag: 'runs',
    auth: 'bearer',
    summary: 'Run history, newest first',
    params: flowIdParams,
    query: runsQuerySchema,
    responses: { 200: { description: 'Runs', schema: z.array(runViewSchema) }, 400: { description: 'Bad limit', schema: errorSchema }, 404: notFound },
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
