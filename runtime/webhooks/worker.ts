import type { Logger } from 'pino';
import type { InboxDb } from '../db/inbox';
import type { WebhookEventRow } from '../db/schema';
import { flowsWithPendingEvents, markEventsProcessed, pendingEvents } from '../db/webhookQueries';
import type { ChangeHint } from '../engine/types';
import type { FlowCatalog } from '../flows/flowCatalog';
import { FlowPausedError, type FlowRunner } from '../passes/runner';
import { RATE_LIMIT_RECHECK_MS } from '../engine/pass/holds';
import { sideRecordKey } from '../util/keys';

/**
 * Folds a batch of events into hints: one per record, with the type of its latest event. A webhook is only a hint
 * (the engine reads the record itself, SPEC §5.1), so a burst of events for one record needs one read and one merge.
 */
export function mergeHints(events: readonly Pick<WebhookEventRow, 'node_id' | 'record_id' | 'type'>[]): ChangeHint[] {
  const latest = new Map<string, ChangeHint>();
  for (const event of events) {
    const key = sideRecordKey(event.node_id, event.record_id);
    // Re-inserting moves the record to its latest position, so hints keep the order of the events they stand for.
    latest.delete(key);
    latest.set(key, { nodeId: event.node_id, recordId: event.record_id, type: event.type === 'delete' ? 'delete' : 'upsert' });
  }
  return [...latest.values()];
}

const MIN_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;

/**
 * Turns stored webhook events into passes: per deployed flow, the oldest pending events in batches, one pass with
 * hints per batch, then marks them processed. Events are marked only after their pass ran, so a crash in between
 * replays them on the next start, which the engine's state makes harmless.
 */
export class WebhookWorker {
  private readonly draining = new Set<string>();
  private readonly kickedWhileDraining = new Set<string>();
  private readonly retries = new Map<string, { timer: NodeJS.Timeout; delayMs: number }>();
  private readonly backoff = new Map<string, number>();
  private readonly loops = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly deps: {
      inbox: InboxDb;
      catalog: FlowCatalog;
      runner: FlowRunner;
      logger: Logger;
      batchSize?: number;
      now?: () => Date;
      /**
       * In a cluster (runtime/cluster), where a flow's events are drained: as a pass job that any process may take,
       * after `delayMs`. The job's process calls `drainHere`. Without it, this process drains them itself.
       */
      dispatch?: (flowId: string, delayMs: number) => void;
    },
  ) {}

  /** Processes a flow's pending events, now or right after the batch in progress (in a cluster: wherever). */
  kick(flowId: string): void {
    if (this.stopped) return;
    if (this.deps.dispatch) {
      this.deps.dispatch(flowId, 0);
      return;
    }
    this.kickHere(flowId);
  }

  /** Drains a flow's pending events in this process, resolving once none is left or the drain stops (a cluster's job). */
  async drainHere(flowId: string): Promise<void> {
    this.kickHere(flowId);
    while (this.loops.has(flowId)) await this.loops.get(flowId);
  }

  private kickHere(flowId: string): void {
    if (this.stopped) return;
    if (this.draining.has(flowId)) {
      this.kickedWhileDraining.add(flowId);
      return;
    }
    if (this.retries.has(flowId)) return;
    const entry = this.deps.catalog.get(flowId);
    if (!entry?.deployed) return;
    this.draining.add(flowId);
    const loop = this.drain(flowId).finally(() => {
      this.draining.delete(flowId);
      this.loops.delete(flowId);
    });
    this.loops.set(flowId, loop);
  }

  /** (Re)starts the worker and picks up events left unprocessed by an earlier process. */
  async resumeAll(): Promise<void> {
    this.stopped = false;
    for (const flowId of await flowsWithPendingEvents(this.deps.inbox)) this.kick(flowId);
  }

  /** Stops taking new batches and waits for the ones in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    this.retries.clear();
    await Promise.all([...this.loops.values()]);
  }

  /** Resolves when no flow has a batch in progress (for tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.loops.size > 0) await Promise.all([...this.loops.values()]);
  }

  private async drain(flowId: string): Promise<void> {
    const { inbox, catalog, runner, logger } = this.deps;
    const batchSize = this.deps.batchSize ?? 2000;
    // The last event of the batch whose pass has run but which is not marked processed yet. It is marked while the
    // next pass runs: the flow's passes follow each other without waiting for that write in between.
    let unmarked: number | null = null;
    const markProcessed = async () => {
      if (unmarked === null) return;
      const lastId = unmarked;
      unmarked = null;
      await markEventsProcessed(inbox, flowId, lastId, (this.deps.now?.() ?? new Date()).toISOString());
    };
    let afterId = 0;
    try {
      for (;;) {
        if (this.stopped || !catalog.get(flowId)?.deployed) return;
        this.kickedWhileDraining.delete(flowId);
        // While another pass of the flow runs (a poll, "run now"), wait for it before taking the batch: events that
        // arrive meanwhile then go into this batch instead of the next pass's.
        if (runner.busy(flowId)) await runner.exclusive(flowId, async () => undefined);
        const events = await pendingEvents(inbox, flowId, batchSize, afterId);
        if (events.length === 0) {
          await markProcessed();
          if (this.kickedWhileDraining.has(flowId)) continue;
          return;
        }
        const hints = mergeHints(events);
        const outcome = runner.runPass(flowId, { reason: 'webhook', hints, requireDeployed: true }).then(
          (result) => ({ result, error: null }),
          (error: unknown) => ({ result: null, error }),
        );
        await markProcessed();
        const { result, error } = await outcome;
        // Paused while the batch waited: its events stay pending until the flow is deployed again.
        if (error instanceof FlowPausedError) return;
        // A system's rate limit stopped the pass before it had read these records: they stay pending until it said
        // to come back (a flow whose only trigger is this webhook has no poll that would read them later).
        if (result?.resumeAt !== undefined) {
          this.retryAt(flowId, Date.parse(result.resumeAt), result.error ?? 'rate limited', events.length);
          return;
        }
        const failed = error !== null ? (error instanceof Error ? error.message : String(error)) : result?.status === 'failed' ? (result.error ?? 'the pass failed') : null;
        if (failed !== null) {
          if (!catalog.get(flowId)) return;
          this.retryLater(flowId, failed, events.length);
          return;
        }
        this.backoff.delete(flowId);
        afterId = unmarked = events[events.length - 1]!.id!;
        logger.debug({ flowId, events: events.length, hints: hints.length }, 'webhook batch processed');
      }
    } finally {
      await markProcessed();
    }
  }

  private retryLater(flowId: string, error: string, pending: number): void {
    const delayMs = Math.min(MAX_RETRY_MS, (this.backoff.get(flowId) ?? MIN_RETRY_MS / 2) * 2);
    this.backoff.set(flowId, delayMs);
    this.deps.logger.warn({ flowId, pending, retryInMs: delayMs, error }, 'webhook batch failed; events kept for a retry');
    this.retryIn(flowId, delayMs);
  }

  private retryAt(flowId: string, at: number, reason: string, pending: number): void {
    // Like the scheduler, a minute at a time: a limit lifted early is noticed within a minute.
    const delayMs = Math.max(MIN_RETRY_MS, Math.min(at - (this.deps.now?.() ?? new Date()).getTime(), RATE_LIMIT_RECHECK_MS));
    this.deps.logger.warn({ flowId, pending, retryInMs: delayMs, reason }, 'webhook batch stopped by a rate limit; events kept until it resets');
    this.retryIn(flowId, delayMs);
  }

  private retryIn(flowId: string, delayMs: number): void {
    if (this.deps.dispatch) {
      // The job waits in the queue, not in this process: were it to die, another process retries the events.
      this.deps.dispatch(flowId, delayMs);
      return;
    }
    const timer = setTimeout(() => {
      this.retries.delete(flowId);
      this.kick(flowId);
    }, delayMs);
    timer.unref();
    this.retries.set(flowId, { timer, delayMs });
  }
}
