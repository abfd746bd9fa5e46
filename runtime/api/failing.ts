import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { AppDeps } from './deps';
import { findFlow } from './flows';
import { apiApp, bearer, errorResponse, jsonResponse } from './routes';
import { failingRecordSchema, flowIdParams, okSchema } from './schemas';
import { listFailing } from '../db/failingQueries';

const listRoute = createRoute({
  method: 'get',
  path: '/{id}/failing',
  tags: ['runs'],
  security: bearer,
  summary: 'Records that could not be synced, with their last error',
  request: { params: flowIdParams },
  responses: { 200: jsonResponse('Failing records', z.array(failingRecordSchema)), 404: errorResponse('No such flow') },
});

const retryRoute = createRoute({
  method: 'post',
  path: '/{id}/failing/retry',
  tags: ['runs'],
  security: bearer,
  summary: 'Clear the failing records’ backoff; a deployed flow runs a pass at once',
  request: { params: flowIdParams },
  responses: { 200: jsonResponse('Retrying', okSchema), 404: errorResponse('No such flow') },
});

/** Records that keep failing: list them, and retry them now. Mounted at /api/flows. */
export function failingApi(deps: AppDeps): OpenAPIHono {
  const { engine, runner, logger } = deps;
  const app = apiApp();

  app.openapi(listRoute, async (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    return c.json(await listFailing(deps.db, entry.id), 200);
  });

  app.openapi(retryRoute, async (c) => {
    const entry = findFlow(c, deps, c.req.valid('param').id);
    if (entry instanceof Response) return entry;
    await runner.exclusive(entry.id, () => engine.retryFailing(entry.id));
    if (entry.deployed && entry.document) {
      // Failing records are retried on every pass; a deployed flow gets one now rather than at its next tick.
      runner.runPass(entry.id, { reason: 'manual' }).catch((error: unknown) => logger.error({ flowId: entry.id, err: error }, 'retry pass failed'));
    }
    return c.json({ ok: true as const }, 200);
  });

  return app;
}
