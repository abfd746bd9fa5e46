import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { requireToken } from './auth';
import { renderClusterMetrics } from '../cluster/clusterMetrics';
import { errorBody } from '../http/errorBody';
import type { AppDeps } from './deps';
import { bearer, errorResponse, jsonResponse, noToken, serveRaw, apiApp } from './routes';
import { clusterStatusSchema, healthSchema } from './schemas';

const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  tags: ['runtime'],
  security: noToken,
  summary: 'Liveness; in a cluster, this process and the cluster (members, pass jobs waiting and running)',
  responses: { 200: jsonResponse('Alive', healthSchema), 503: errorResponse('In a cluster: the state database does not answer') },
});

const clusterRoute = createRoute({
  method: 'get',
  path: '/api/cluster',
  tags: ['runtime'],
  security: bearer,
  summary: 'The processes of this runtime (state on PostgreSQL), what each is running, and the pass job queue',
  responses: {
    200: jsonResponse('The cluster', clusterStatusSchema),
    401: errorResponse('Missing or wrong token'),
    404: errorResponse('The state is a SQLite file: this runtime is one process'),
    503: errorResponse('The state database does not answer'),
  },
});

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['runtime'],
  security: bearer,
  summary: 'Prometheus metrics: records synced, echoes dropped, conflicts, failures, pass duration (public with --metrics-public)',
  responses: { 200: { description: 'Prometheus text format', content: { 'text/plain; version=0.0.4': {} } }, 401: errorResponse('Missing or wrong token') },
});

function stateDown(error: unknown) {
  return errorBody('state_unavailable', `the state database does not answer: ${error instanceof Error ? error.message : String(error)}`);
}

/** Liveness, the cluster and Prometheus metrics. Mounted at /. */
export function runtimeApi(deps: AppDeps): OpenAPIHono {
  const app = apiApp();
  const { cluster } = deps;
  app.openapi(healthRoute, async (c) => {
    if (!cluster) return c.json({ ok: true as const }, 200);
    try {
      const status = await cluster.status();
      return c.json({ ok: true as const, process: cluster.name, cluster: { processes: status.members.length, queue: status.queue } }, 200);
    } catch (error) {
      return c.json(stateDown(error), 503);
    }
  });
  app.openapi(clusterRoute, async (c) => {
    if (!cluster) return c.json(errorBody('not_a_cluster', 'the state is a SQLite file: this runtime is one process (docs/scale-out.md)'), 404);
    try {
      const status = await cluster.status();
      const listeners = deps.scheduler.listeners;
      return c.json({ ...status, self: { ...status.self, listening: listeners?.listening() ?? [], standingBy: listeners?.standingBy() ?? [] } }, 200);
    } catch (error) {
      return c.json(stateDown(error), 503);
    }
  });
  // Metrics name flows and count records, so they sit behind the token unless the operator opts out.
  const metricsAuth: MiddlewareHandler = deps.metricsPublic ? (_c, next) => next() : requireToken(deps.token);
  serveRaw(app, metricsRoute, metricsAuth, async (c) => {
    let text = deps.metrics.render();
    if (cluster) text += renderClusterMetrics(await cluster.status().catch(() => null));
    return c.body(text, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });
  return app;
}
