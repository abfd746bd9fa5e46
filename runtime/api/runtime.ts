import { Hono, type MiddlewareHandler } from 'hono';
import type { AppDeps } from './deps';
import { requireToken } from './auth';

/** Liveness and Prometheus metrics. Mounted at /. */
export function runtimeApi(deps: AppDeps): Hono {
  const app = new Hono();
  app.get('/health', (c) => c.json({ ok: true as const }));
  // Metrics name flows and count records, so they sit behind the token unless the operator opts out.
  const metricsAuth: MiddlewareHandler = deps.metricsPublic ? (_c, next) => next() : requireToken(deps.token);
  app.get('/metrics', metricsAuth, (c) => c.body(deps.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }));
  return app;
}
