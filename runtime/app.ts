import { serveStatic } from '@hono/node-server/serve-static';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Hono } from 'hono';
import type { BlankEnv } from 'hono/types';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { requireToken } from './api/auth';
import { limitBody } from './api/bodyLimit';
import { conflictsApi } from './api/conflicts';
import { connectorsApi } from './api/connectors';
import { credentialsApi } from './api/credentials';
import { draftsApi } from './api/drafts';
import { entitiesApi } from './api/entities';
import type { AppDeps } from './api/deps';
import { fail, internalErrorBody } from './api/errors';
import { failingApi } from './api/failing';
import { flowsApi } from './api/flows';
import { WEBHOOK_BODY_LIMIT, hooksApi } from './api/hooks';
import { oauthApis } from './api/oauth';
import { openApiApi } from './api/openapi';
import { runsApi } from './api/runs';
import { runtimeApi } from './api/runtime';
import { folderAccess, runtimeFilesIn, type ConnectorAccess } from './connectors/access';
import type { ConnectorType } from './connectors/types';
import { CredentialStore } from './credentials/store';
import type { StateDb } from './db';
import type { InboxDb } from './db/inbox';
import { failInterruptedRuns } from './db/statusQueries';
import { flowsWithPendingEvents, pruneWebhookHistory } from './db/webhookQueries';
import type { Cluster } from './cluster/cluster';
import { startClusterWork } from './cluster/clusterRuntime';
import { SyncEngine } from './engine';
import { FlowCatalog } from './flows/flowCatalog';
import { createFlowLoader } from './flows/flowLoader';
import { AlertNotifier, alertSenderFor, type AlertSender } from './observability/alerts';
import { silentLogger } from './observability/logger';
import { RuntimeMetrics } from './observability/metrics';
import { FlowRunner, type FlowEngine } from './passes/runner';
import { ChangeListeners } from './scheduler/changeListeners';
import { Scheduler } from './scheduler/scheduler';
import { WebhookRegistrations } from './scheduler/webhookRegistrations';
import { WebhookIntake } from './webhooks/intake';
import { WebhookWorker } from './webhooks/worker';

export type { AppDeps } from './api/deps';

/** Flow documents may be large (generated flows); every other body is small. */
const FLOW_BODY_LIMIT = 16 * 1024 * 1024;
const API_BODY_LIMIT = 1024 * 1024;

/** Builds the Hono app: one sub-app per resource, mounted under the auth, CORS and size limits that apply to it. */
export function createApp(deps: AppDeps): Hono {
  // An OpenAPIHono, so that mounting a sub-app gathers its route definitions for /api/openapi.json.
  const app = new OpenAPIHono<BlankEnv>();

  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      const status = error.status as ContentfulStatusCode;
      const code = status === 413 ? 'payload_too_large' : status === 400 ? 'bad_request' : `http_${status}`;
      return fail(c, status, code, error.message || 'bad request');
    }
    deps.logger.error({ err: error, method: c.req.method, path: c.req.path }, 'request failed');
    return c.json(internalErrorBody, 500);
  });
  app.notFound((c) => fail(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`));

  app.use('*', async (c, next) => {
    if (!deps.logger.isLevelEnabled('debug')) return next();
    const started = performance.now();
    await next();
    // The path only: a query string may carry the editor's token.
    deps.logger.debug({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) }, 'request');
  });
  // Webhook answers go to machines, never to a browser that would render them; setting a dozen headers on each cost a
  // tenth of the intake's time under load.
  const browserHeaders = secureHeaders({ crossOriginResourcePolicy: 'same-origin', referrerPolicy: 'no-referrer' });
  app.use('*', (c, next) => (c.req.path.startsWith('/hooks/') ? next() : browserHeaders(c, next)));

  // The editor is served from this origin, so it needs no CORS; other origins get none unless configured.
  app.use(
    '/api/*',
    cors({
      origin: (origin, c) => (origin === new URL(c.req.url).origin || deps.corsOrigins.includes(origin) ? origin : null),
      allowHeaders: ['authorization', 'content-type'],
      allowMethods: ['GET', 'POST', 'PUT', 'DELETE'],
      maxAge: 600,
    }),
  );
  // The consent callback is opened by the authorization server's redirect, which cannot carry the API token: it is
  // mounted before the token check and authenticated by its one-time state instead.
  const oauth = oauthApis(deps);
  app.route('/api/oauth', oauth.callback);
  app.use('/api/*', requireToken(deps.token));
  const flowLimit = limitBody(FLOW_BODY_LIMIT);
  const apiLimit = limitBody(API_BODY_LIMIT);
  // A flow document may also come as a draft, or as the draft a dry run plans.
  app.use('/api/*', (c, next) => (/^\/api\/flows(\/[^/]+(\/draft|\/dry-run)?)?\/?$/.test(c.req.path) ? flowLimit(c, next) : apiLimit(c, next)));
  // Routes without a body of their own (the editor's files, /health) still refuse one larger than a webhook's.
  const otherLimit = limitBody(WEBHOOK_BODY_LIMIT);
  app.use('*', (c, next) => (c.req.path.startsWith('/api/') || c.req.path.startsWith('/hooks/') ? next() : otherLimit(c, next)));

  app.route('/', runtimeApi(deps));
  app.route('/api', openApiApi(app));
  app.route('/api/flows', flowsApi(deps));
  app.route('/api/flows', failingApi(deps));
  app.route('/api/flows', entitiesApi(deps));
  app.route('/api', runsApi(deps));
  app.route('/api', draftsApi(deps));
  app.route('/api/conflicts', conflictsApi(deps));
  app.route('/api/credentials', credentialsApi(deps));
  app.route('/api/credentials', oauth.consent);
  app.route('/api/connectors', connectorsApi(deps));
  app.route('/hooks', hooksApi(deps));

  const editorDir = deps.editorDir;
  if (editorDir && existsSync(join(editorDir, 'index.html'))) {
    app.use('/*', serveStatic({ root: editorDir }));
    // Client-side routes of the editor get its page; the API and webhooks keep their JSON 404s.
    app.get('*', (c, next) => {
      if (c.req.path.startsWith('/api/') || c.req.path.startsWith('/hooks/')) return next();
      return c.html(readFileSync(join(editorDir, 'index.html'), 'utf8'));
    });
  } else {
    app.get('/', (c) =>
      c.text('The Syncline editor is not built: run `npm run build` (or `npm start`, which builds it), then reload.\nThe API is at /api.\n', 200),
    );
  }
  return app;
}

export interface RuntimeOptions {
  db: StateDb;
  /** Where webhook events wait for their pass; its opener closes it, after `stop()`. */
  inbox: InboxDb;
  /** The data folder: relative connection paths of stored flows resolve against it. */
  dataDir: string;
  token: string;
  /** The 32-byte AES-256-GCM key for credentials. */
  credentialKey: Buffer;
  connectors: Readonly<Record<string, ConnectorType>>;
  /**
   * What connectors and alerts may reach. Default: files in the data folder except the runtime's own, no loopback or
   * private host. An `engine` given here was built with its own.
   */
  access?: ConnectorAccess;
  /** Default: a SyncEngine on `db` and `connectors`. */
  engine?: FlowEngine;
  logger?: Logger;
  editorDir?: string | null;
  metricsPublic?: boolean;
  corsOrigins?: readonly string[];
  /** Where the systems reach this runtime: their webhooks are registered for deployed flows. Default: none. */
  publicUrl?: string | null;
  alertSender?: AlertSender;
  /** Largest webhook batch merged in one pass. */
  webhookBatchSize?: number;
  now?: () => Date;
  /**
   * This process's membership of a cluster (state on PostgreSQL, runtime/cluster): passes become jobs any member may
   * take, each flow's passes are held by a lock across members, and flows changed elsewhere are picked up. The
   * runtime starts and stops working for it; leaving it is its opener's.
   */
  cluster?: Cluster;
}

export interface Runtime {
  deps: AppDeps;
  app: Hono;
  alerts: AlertNotifier;
  /** Resumes deployed flows, their change subscriptions and pending webhook events (after a start or restart). */
  start(): Promise<void>;
  /**
   * Stops the timers and subscriptions, lets passes in progress finish, commits acknowledged webhook events and closes
   * the engine (its pass worker).
   */
  stop(): Promise<void>;
}

const WEBHOOK_HISTORY_MS = 24 * 60 * 60 * 1000;

/** Wires the runtime's parts together on the state and the webhook inbox, and builds the app over them. */
export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const logger = options.logger ?? silentLogger();
  const now = options.now ?? (() => new Date());
  const { db, inbox, connectors } = options;
  const access = options.access ?? folderAccess(options.dataDir, runtimeFilesIn(options.dataDir));
  // Token endpoints are reached under the same host policy as connectors.
  const credentials = new CredentialStore(db, options.credentialKey, { now, hosts: access.hosts });
  const engine: FlowEngine =
    options.engine ??
    new SyncEngine({ db, connectors: { ...connectors }, resolveCredential: (name) => credentials.resolve(name), resolveAuth: (name) => credentials.resolveAuth(name), access, logger: logger.child({ component: 'engine' }), now });
  const loadFlow = createFlowLoader(connectors);
  const catalog = new FlowCatalog(db, inbox, loadFlow, now);
  await catalog.load();
  const metrics = new RuntimeMetrics();
  const alerts = new AlertNotifier(logger, options.alertSender ?? alertSenderFor(access.hosts));
  const { cluster } = options;
  const runner = new FlowRunner({ db, engine, catalog, baseDir: options.dataDir, logger, metrics, alerts, now, ...(cluster ? { lockFlow: (flowId: string) => cluster.lockFlow(flowId), processName: cluster.name } : {}) });
  const dispatch = cluster
    ? (flowId: string, delayMs: number) =>
        void cluster.requestPass({ flowId, kind: 'webhook' }, delayMs).catch((error: unknown) => logger.error({ flowId, err: String(error) }, 'webhook pass job could not be queued'))
    : undefined;
  const worker = new WebhookWorker({ inbox, catalog, runner, logger, now, ...(options.webhookBatchSize ? { batchSize: options.webhookBatchSize } : {}), ...(dispatch ? { dispatch } : {}) });
  const intake = new WebhookIntake(inbox, (flowIds) => flowIds.forEach((flowId) => worker.kick(flowId)), now);
  // Changes a system reports as they happen (postgres `notify`) enter as webhook events do, through the intake.
  const listeners = new ChangeListeners({
    catalog,
    runner,
    sink: intake,
    connectors,
    baseDir: options.dataDir,
    resolveCredential: (name) => credentials.resolve(name),
    access,
    logger: logger.child({ component: 'listeners' }),
    ...(cluster ? { claimListening: (flowId: string, nodeId: string) => cluster.claimListening(flowId, nodeId) } : {}),
  });
  const registrations = new WebhookRegistrations({
    db,
    catalog,
    connectors,
    publicUrl: options.publicUrl ?? null,
    baseDir: options.dataDir,
    resolveCredential: (name) => credentials.resolve(name),
    storeSecret: (name, secret) => credentials.replace(name, 'webhook-secret', secret),
    access,
    logger: logger.child({ component: 'webhook-registrations' }),
    ...(cluster ? { lockTrigger: (flowId: string, nodeId: string) => cluster.lockTrigger(flowId, nodeId) } : {}),
  });
  const scheduler = new Scheduler(catalog, runner, logger, listeners, registrations, cluster ?? null);
  const deps: AppDeps = {
    db,
    engine,
    catalog,
    loadFlow,
    runner,
    scheduler,
    intake,
    worker,
    credentials,
    connectors,
    metrics,
    alerts,
    logger,
    token: options.token,
    dataDir: options.dataDir,
    access,
    editorDir: options.editorDir ?? null,
    metricsPublic: options.metricsPublic ?? false,
    corsOrigins: options.corsOrigins ?? [],
    ...(cluster ? { cluster } : {}),
  };
  let pruneTimer: NodeJS.Timeout | null = null;
  // Pruning goes a chunk at a time beside the intake; one prune at a time, and stop() waits for the one in progress.
  let pruning: Promise<void> = Promise.resolve();
  const prune = () => {
    pruning = pruning
      .then(() => pruneWebhookHistory(inbox, new Date(now().getTime() - WEBHOOK_HISTORY_MS).toISOString()))
      .then(
        () => undefined,
        (error: unknown) => logger.warn({ err: String(error) }, 'webhook history could not be pruned'),
      );
  };
  return {
    deps,
    app: createApp(deps),
    alerts,
    async start() {
      // In a cluster a run marked running may be another member's, live: each pass marks its own flow's interrupted
      // runs once it holds the flow (runner.ts).
      if (!cluster) {
        const interrupted = await failInterruptedRuns(db, now().toISOString());
        if (interrupted > 0) logger.warn({ runs: interrupted }, 'passes interrupted by the last stop are marked failed and redone');
      }
      scheduler.syncAll();
      await registrations.start();
      await worker.resumeAll();
      if (cluster) await startClusterWork(cluster, { catalog, runner, worker, scheduler, logger });
      prune();
      pruneTimer = setInterval(prune, 60 * 60 * 1000);
      pruneTimer.unref();
    },
    async stop() {
      if (pruneTimer) clearInterval(pruneTimer);
      await scheduler.stopAll();
      await intake.drain();
      await worker.stop();
      await runner.idle();
      if (cluster) {
        await cluster.stopWorking();
        // What this process acknowledged but did not pass on is queued for the members that stay.
        for (const flowId of await flowsWithPendingEvents(inbox)) await cluster.requestPass({ flowId, kind: 'webhook' });
      }
      await pruning;
      await engine.close?.();
      await alerts.settle();
    },
  };
}
