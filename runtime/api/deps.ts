import type { Logger } from 'pino';
import type { Cluster } from '../cluster/cluster';
import type { ConnectorAccess } from '../connectors/access';
import type { ConnectorType } from '../connectors/types';
import type { CredentialStore } from '../credentials/store';
import type { StateDb } from '../db';
import type { FlowCatalog } from '../flows/flowCatalog';
import type { FlowLoader } from '../flows/flowLoader';
import type { AlertNotifier } from '../observability/alerts';
import type { RuntimeMetrics } from '../observability/metrics';
import type { FlowEngine, FlowRunner } from '../passes/runner';
import type { Scheduler } from '../scheduler/scheduler';
import type { WebhookIntake } from '../webhooks/intake';
import type { WebhookWorker } from '../webhooks/worker';

/** Everything the HTTP layer talks to; `createApp(deps)` builds the Hono app from it. */
export interface AppDeps {
  db: StateDb;
  engine: FlowEngine;
  catalog: FlowCatalog;
  loadFlow: FlowLoader;
  runner: FlowRunner;
  scheduler: Scheduler;
  intake: WebhookIntake;
  worker: WebhookWorker;
  credentials: CredentialStore;
  connectors: Readonly<Record<string, ConnectorType>>;
  metrics: RuntimeMetrics;
  /** Sends the flows' alerts; the API shows each flow's last failed delivery. */
  alerts: AlertNotifier;
  logger: Logger;
  /** The bearer token every /api route requires. */
  token: string;
  /** The data folder: relative connection paths of stored flows resolve against it. */
  dataDir: string;
  /** What connectors may reach: the files and hosts the operator allowed (serve's --allow-files, --allow-hosts). */
  access: ConnectorAccess;
  /** The built editor (dist/editor), or null to serve none. */
  editorDir: string | null;
  /** Serve /metrics without the token (for a scraper that cannot send one). */
  metricsPublic: boolean;
  /** Origins besides the server's own that may call the API from a browser (a vite dev server). */
  corsOrigins: readonly string[];
  /** This process's membership of a cluster (state on PostgreSQL); absent for a SQLite state, one process. */
  cluster?: Cluster;
}
