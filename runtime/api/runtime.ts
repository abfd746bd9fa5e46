import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { requireToken } from './auth';
import type { AppDeps } from './deps';
import { bearer, errorResponse, jsonResponse, noToken, serveRaw, apiApp } from './routes';
import { okSchema } from './schemas';

const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  tags: ['runtime'],
  security: noToken,
  summary: 'Liveness',
  responses: { 200: jsonResponse('Alive', okSchema) },
});

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['runtime'],
  security: bearer,
  summary: 'Prometheus metrics: records synced, echoes dropped, conflicts, failures, pass duration (public with --metrics-public)',
  responses: { 200: { description: 'Prometheus text format', content: { 'text/plain; version=0.0.4': {} } }, 401: errorResponse('Missing or wrong token') },
});

/** Liveness and Prometheus metrics. Mounted at /. */
export function runtimeApi(deps: AppDeps): OpenAPIHono {
  const app = apiApp();
  app.openapi(healthRoute, (c) => c.json({ ok: true as const }, 200));
  // Metrics name flows and count records, so they sit behind the token unless the operator opts out.
  const metricsAuth: MiddlewareHandler = deps.metricsPublic ? (_c, next) => next() : requireToken(deps.token);
  serveRaw(app, metricsRoute, metricsAuth, (c) => c.body(deps.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }));
  return app;
}
