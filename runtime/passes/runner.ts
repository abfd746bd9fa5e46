import type { Logger } from 'pino';
import type { FlowDocument } from '../../nodes';
import type { StateDb } from '../db';
import type {
  ChangeHint,
  ConflictResolution,
  ConflictStatus,
  ConflictView,
  FailingRecordView,
  PassOptions,
  PassResult,
  PassSummary,
  RunLogEntry,
  RunReason,
  RunView,
} from '../engine/types';
import type { AlertNotifier } from '../observability/alerts';
import type { RuntimeMetrics } from '../observability/metrics';
import type { FlowCatalog } from '../flows/flowCatalog';
import { pruneRunHistory } from '../db/runQueries';
import { failInterruptedRuns } from '../db/statusQueries';

/** What the server needs of the sync engine (runtime/engine's SyncEngine satisfies it). */
export interface FlowEngine {
  runPass(flow: FlowDocument, options: PassOptions): Promise<PassResult>;
  /** @deprecated the API moves to runtime/db/runQueries.ts `listRuns` */
  listRuns(flowId: string, limit?: number): Promise<RunView[]>;
  /** @deprecated the API moves to runtime/db/runQueries.ts `getRun` */
  getRun(runId: string): Promise<{ run: RunView; log: RunLogEntry[] } | null>;
  /** @deprecated the API moves to runtime/db/conflictQueries.ts `listConflicts` */
  listConflicts(filter: { flowId?: string; status?: ConflictStatus }): Promise<ConflictView[]>;
  resolveConflict(conflictId: string, resolution: ConflictResolution): Promise<ConflictView>;
  /** @deprecated the API moves to runtime/db/failingQueries.ts `listFailing` */
  listFailing(flowId: string): Promise<FailingRecordView[]>;
  retryFailing(flowId: string): Promise<void>;
  forgetFlow(flowId: string): Promise<void>;
  /**
   * Stops a flow's passes in flight within a bounded time (see ThreadedEngine.stopFlow), resolving once they have
   * settled. An engine without it lets them finish.
   */
  stopFlow?(flowId: string, reason: string): Promise<void>;
  /** Releases what the engine holds beyond the state connection (a worker thread); called once no pass runs. */
  close?(): Promise<void>;
}

export interface PassRequest {
  reason: RunReason;
  dryRun?: boolean;
  hints?: ChangeHint[];
  /** Skip (throwing FlowPausedError) when the flow was paused while this pass waited for the lock. */
  requireDeployed?: boolean;
  /**
   * A dry run only: plan this document (a draft of the flow, with its id) instead of the stored one, against the
   * flow's sync state. Writes nothing, so what runs stays the deployed flow.
   */
  document?: FlowDocument;
}

/** Why a run left `running` by a process that died or stopped mid-pass is marked failed (cluster mode). */
export const INTERRUPTED_ELSEWHERE = 'interrupted: the process running this pass stopped or died; its work is recovered by the next pass';

/** How often a flow's run history is cut back to its newest runs (it may hold a few seconds' passes more in between). */
const PRUNE_INTERVAL_MS = 5000;

const emptySummary = (): PassSummary => ({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });

/** Thrown by `runPass` with `requireDeployed` for a flow paused while the pass was queued. */
export class FlowPausedError extends Error {
  constructor(flowId: string) {
    super(`flow "${flowId}" is paused`);
    this.name = 'FlowPausedError';
  }
}

/** Thrown by `runPass` for a flow that is not stored (deleted while a pass was queued). */
export class UnknownFlowError extends Error {
  constructor(flowId: string) {
    super(`no flow "${flowId}"`);
    this.name = 'UnknownFlowError';
  }
}

/** A failed pass that did not run (the runtime is stopping, or its flow was stopped while the pass waited). */
function notRun(error: string): PassResult {
  return { runId: null, status: 'failed', summary: emptySummary(), error };
}

/**
 * Runs passes, one per flow at a time. The scheduler, the webhook worker and the API all go through here, so a
 * timer tick, a webhook batch and a "run now" for the same flow queue behind each other instead of merging the
 * same records concurrently. After each pass it feeds metrics, the per-trigger status and the alert webhook.
 *
 * A flow's passes can be stopped (`stop`: it was paused or removed) and all of them (`shutdown`): the pass running is
 * stopped by the engine within a bounded time, and the passes queued behind it at that moment do not run.
 */
export class FlowRunner {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly prunedAt = new Map<string, number>();
  private readonly pruning = new Map<string, Promise<void>>();
  /** Per flow, how many stops were asked for and why the last was: a pass queued before a stop does not run. */
  private readonly stops = new Map<string, { count: number; reason: string }>();
  /** Why the runtime is stopping, once it is: no pass starts any more. */
  private shuttingDown: string | null = null;

  constructor(
    private readonly deps: {
      db: StateDb;
      engine: FlowEngine;
      catalog: FlowCatalog;
      /** Relative connection paths in stored flows resolve against this folder (the data folder). */
      baseDir: string;
      logger: Logger;
      metrics: RuntimeMetrics;
      alerts: AlertNotifier;
      now?: () => Date;
      /**
       * Holds a flow for the length of a pass across every process of a cluster (runtime/cluster), resolving with
       * its release once no other process runs that flow. Without it the runner's own queue is the only lock.
       */
      lockFlow?: (flowId: string) => Promise<() => Promise<void>>;
      /** This process's name in a cluster, recorded on the runs of the passes it runs. */
      processName?: string;
    },
  ) {}

  /** Runs `task` once every earlier task for the same flow has settled. */
  exclusive<T>(flowId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(flowId) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(flowId, tail);
    void tail.then(() => {
      if (this.tails.get(flowId) === tail) this.tails.delete(flowId);
    });
    return result;
  }

  /** True while a pass (or another exclusive task) for this flow is running or queued. */
  busy(flowId: string): boolean {
    return this.tails.has(flowId);
  }

  /** Waits until no task is running or queued for any flow, and no run history is being pruned. */
  async idle(): Promise<void> {
    while (this.tails.size > 0 || this.pruning.size > 0) await Promise.all([...this.tails.values(), ...this.pruning.values()]);
  }

  /** One pass of a stored flow, queued behind any other pass of that flow. */
  runPass(flowId: string, request: PassRequest): Promise<PassResult> {
    if (this.shuttingDown !== null) return Promise.resolve(notRun(`not run: ${this.shuttingDown}`));
    const stopsBefore = this.stops.get(flowId)?.count ?? 0;
    return this.exclusive(flowId, () => this.runNow(flowId, request, stopsBefore));
  }

  /**
   * Stops the flow's pass in progress (and the passes queued behind it): the engine asks it to stop and ends it if
   * it does not within its grace period. Resolves once the pass has settled.
   */
  stop(flowId: string, reason: string): Promise<void> {
    const stops = this.stops.get(flowId)?.count ?? 0;
    this.stops.set(flowId, { count: stops + 1, reason });
    if (!this.busy(flowId)) return Promise.resolve();
    this.deps.logger.info({ flowId, reason }, 'stopping the flow\'s pass');
    return this.deps.engine.stopFlow?.(flowId, reason) ?? Promise.resolve();
  }

  /** Runs no more passes and stops every pass in progress; resolves once they have settled. */
  async shutdown(reason: string): Promise<void> {
    this.shuttingDown = reason;
    await Promise.all([...this.tails.keys()].map((flowId) => this.stop(flowId, reason)));
  }

  private stoppedSince(flowId: string, stopsBefore: number): boolean {
    return (this.stops.get(flowId)?.count ?? 0) !== stopsBefore;
  }

  private async runNow(flowId: string, request: PassRequest, stopsBefore: number): Promise<PassResult> {
    const { engine, catalog, logger } = this.deps;
    const entry = catalog.get(flowId);
    if (!entry) throw new UnknownFlowError(flowId);
    if (request.requireDeployed && !entry.deployed) throw new FlowPausedError(flowId);
    if (this.shuttingDown !== null) return notRun(`not run: ${this.shuttingDown}`);
    if (this.stoppedSince(flowId, stopsBefore)) return notRun(`not run: ${this.stops.get(flowId)?.reason ?? 'stopped'} before it began`);
    const log = logger.child({ flowId });
    const document = request.dryRun && request.document ? request.document : entry.document;
    if (!document) {
      const error = `the stored flow no longer loads: ${entry.loadError ?? 'unknown problem'}`;
      log.error({ reason: request.reason }, error);
      return { runId: null, status: 'failed', summary: emptySummary(), error };
    }
    const started = performance.now();
    let result: PassResult;
    let release: (() => Promise<void>) | null = null;
    try {
      if (this.deps.lockFlow) {
        release = await this.deps.lockFlow(flowId);
        // Holding the flow, no pass of it runs anywhere: a run still marked running was cut off with its process.
        await failInterruptedRuns(this.deps.db, (this.deps.now?.() ?? new Date()).toISOString(), { flowIds: [flowId], error: INTERRUPTED_ELSEWHERE });
      }
      result = await engine.runPass(document, {
        baseDir: this.deps.baseDir,
        reason: request.reason,
        dryRun: request.dryRun ?? false,
        ...(request.hints ? { hints: request.hints } : {}),
        ...(this.deps.processName ? { process: this.deps.processName } : {}),
      });
    } catch (error) {
      // The engine reports a pass that could not run as status 'failed'; a throw is a bug, contained to this pass.
      // (A pass whose worker was ended because it did not stop when asked throws too, and is no bug.)
      if (!this.stoppedSince(flowId, stopsBefore)) log.error({ err: error, reason: request.reason }, 'pass threw');
      result = { runId: null, status: 'failed', summary: emptySummary(), error: error instanceof Error ? error.message : String(error) };
    } finally {
      await release?.().catch((error: unknown) => log.warn({ err: error instanceof Error ? error.message : String(error) }, 'the flow lock could not be released: its connection is closed, which releases it'));
    }
    // A pass stopped on request failed because it was asked to: that is no news for the alert webhook.
    const stoppedOnRequest = this.stoppedSince(flowId, stopsBefore) && result.status === 'failed';
    const seconds = (performance.now() - started) / 1000;
    if (request.dryRun) {
      log.info({ runId: result.runId, status: result.status, summary: result.summary }, 'dry run finished');
      return result;
    }
    this.account(flowId, request, result, seconds);
    const fields = { runId: result.runId, reason: request.reason, status: result.status, summary: result.summary, hints: request.hints?.length, durationMs: Math.round(seconds * 1000) };
    // The engine logs each pass it ran at info or error; this line adds the reason and the hint count.
    log.debug({ ...fields, error: result.error }, result.status === 'failed' ? 'pass failed' : 'pass finished');
    // A flow polled every few seconds would otherwise grow its history without end. Under a webhook burst a flow runs
    // hundreds of passes a second: pruning once per interval, beside the passes rather than before the next one,
    // keeps that bookkeeping off their path.
    const at = performance.now();
    if (at - (this.prunedAt.get(flowId) ?? Number.NEGATIVE_INFINITY) >= PRUNE_INTERVAL_MS && !this.pruning.has(flowId)) {
      this.prunedAt.set(flowId, at);
      const pruning = pruneRunHistory(this.deps.db, flowId).then(
        () => undefined,
        (error: unknown) => log.warn({ err: error instanceof Error ? error.message : String(error) }, 'run history could not be pruned'),
      );
      this.pruning.set(flowId, pruning);
      void pruning.finally(() => this.pruning.delete(flowId));
    }
    if (!stoppedOnRequest) this.alert(flowId, entry.alertUrl, result);
    return result;
  }

  private account(flowId: string, request: PassRequest, result: PassResult, seconds: number): void {
    const { metrics } = this.deps;
    const flow = { flow: flowId };
    metrics.passes.inc({ ...flow, reason: request.reason, status: result.status });
    metrics.passDuration.observe({ ...flow, reason: request.reason }, seconds);
    metrics.recordsSynced.inc({ ...flow, op: 'created' }, result.summary.created);
    metrics.recordsSynced.inc({ ...flow, op: 'updated' }, result.summary.updated);
    metrics.recordsSynced.inc({ ...flow, op: 'deleted' }, result.summary.deleted);
    metrics.echoesDropped.inc(flow, result.summary.echoes);
    metrics.conflicts.inc(flow, result.summary.conflicts);
    metrics.failures.inc(flow, result.summary.failed);
  }

  private alert(flowId: string, url: string | null, result: PassResult): void {
    if (!url) return;
    const at = (this.deps.now?.() ?? new Date()).toISOString();
    const base = { flowId, runId: result.runId, summary: result.summary, at };
    if (result.status === 'failed') {
      this.deps.alerts.notify(url, { ...base, kind: 'pass_failed', message: `a pass of "${flowId}" failed: ${result.error ?? 'unknown error'}` });
    } else if (result.status === 'stopped' && !result.repeatedLimit) {
      // Held for review, or a system's rate limit met; while that limit lasts, the polls it stops alert no more.
      this.deps.alerts.notify(url, { ...base, kind: 'pass_stopped', message: `a pass of "${flowId}" stopped: ${result.error ?? 'held for review'}` });
    }
    if (result.summary.conflicts > 0) {
      this.deps.alerts.notify(url, {
        ...base,
        kind: 'conflicts_filed',
        message: `${result.summary.conflicts} conflict(s) filed in "${flowId}": resolve them in the conflict inbox`,
      });
    }
  }
}
