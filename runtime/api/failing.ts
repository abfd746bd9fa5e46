import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppDeps } from './deps';
import { validationHook } from './errors';
import { findFlow } from './flows';
import type { RouteDoc } from './routeDoc';
import { errorSchema, failingRecordSchema, flowIdParams, okSchema } from './schemas';

/** Records that keep failing: list them, and retry them now. Mounted at /api/flows. */
export function failingApi(deps: AppDeps): Hono {
  const { engine, runner, logger } = deps;
  const app = new Hono();
  const flowParam = zValidator('param', flowIdParams, validationHook);

  app.get('/:id/failing', flowParam, async (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    return c.json(await engine.listFailing(entry.id));
  });

  app.post('/:id/failing/retry', flowParam, async (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    await runner.exclusive(entry.id, () => engine.retryFailing(entry.id));
    if (entry.deployed && entry.document) {
      // Failing records are retried on every pass; a deployed flow gets one now rather than at its next tick.
      runner.runPass(entry.id, { reason: 'manual' }).catch((error: unknown) => logger.error({ flowId: entry.id, err: error }, 'retry pass failed'));
    }
    return c.json({ ok: true as const });
  });

  return app;
}

export const failingRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/flows/:id/failing',
    tag: 'runs',
    auth: 'bearer',
    summary: 'Records that could not be synced, with their last error',
    params: flowIdParams,
    responses: { 200: { description: 'Failing records', schema: z.array(failingRecordSchema) }, 404: { description: 'No such flow', schema: errorSchema } },
  },
  {
    method: 'post',
    path: '/api/flows/:id/failing/retry',
    tag: 'runs',
    auth: 'bearer',
    summary: 'Clear the failing records’ backoff; a deployed flow runs a pass at once',
    params: flowIdParams,
    responses: { 200: { description: 'Retrying', schema: okSchema }, 404: { description: 'No such flow', schema: errorSchema } },
  },
];
