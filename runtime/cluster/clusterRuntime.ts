import type { Logger } from 'pino';
import type { FlowCatalog } from '../flows/flowCatalog';
import { FlowPausedError, UnknownFlowError, type FlowRunner } from '../passes/runner';
import type { Scheduler } from '../scheduler/scheduler';
import type { WebhookWorker } from '../webhooks/worker';
import type { Cluster, PassJob } from './cluster';

/** The runtime's parts a cluster member drives (app.ts builds them). */
export interface ClusterParts {
  catalog: FlowCatalog;
  runner: FlowRunner;
  worker: WebhookWorker;
  scheduler: Scheduler;
  logger: Logger;
}

/**
 * Makes this process a working member: it takes pass jobs, keeps its flows in step with what other members changed,
 * and re-queues the webhook events of members that died. Called once the runtime has started.
 */
export async function startClusterWork(cluster: Cluster, parts: ClusterParts): Promise<void> {
  const { catalog, scheduler, worker, logger } = parts;
  const syncChanged = async () => {
    for (const flowId of await catalog.refresh()) scheduler.sync(flowId);
  };
  await cluster.work(async (job) => {
    // The job may be for a flow deployed, changed or paused on another member a moment ago: that one flow is read
    // again (the beat catches up with the rest).
    if (await catalog.refreshOne(job.flowId)) scheduler.sync(job.flowId);
    await runJob(cluster, parts, job);
  });
  cluster.everyBeat(syncChanged);
  // A member that died may have stored events it never queued a job for: every flow with pending events gets one.
  cluster.whenMembersLost(() => worker.resumeAll());
  logger.debug({ process: cluster.name }, 'taking pass jobs');
}

async function runJob(cluster: Cluster, { catalog, runner, worker }: ClusterParts, job: PassJob): Promise<void> {
  if (!catalog.get(job.flowId)?.deployed) return;
  if (job.kind === 'webhook') return worker.drainHere(job.flowId);
  try {
    const result = await runner.runPass(job.flowId, { reason: 'schedule', requireDeployed: true });
    // Every part waits for a system's rate limit: the flow's next poll waits for it, whichever member claims it.
    if (result.idleUntil !== undefined) await cluster.deferTick(job.flowId, new Date(result.idleUntil));
  } catch (error) {
    if (error instanceof FlowPausedError || error instanceof UnknownFlowError) return;
    throw error;
  }
}
