import type { Logger } from 'pino';
import type { InboxDb } from '../db/inbox';
import type { WebhookEventRow } from '../db/schema';
import { flowsWithPendingEvents, markEventsProcessed, pendingEvents, type HandledEvents } from '../db/webhookQueries';
import type { ChangeHint, PassResult } from '../engine/types';
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
  /** Per flow, the triggers whose events wait for their system's rate limit, and until when (epoch ms). */
  private readonly held = new Map<string, Map<string, number>>();
  private readonly holdTimers = new Map<string, NodeJS.Timeout>();
  /** Flows a hold on some of whose events ended: their drain goes back to the oldest pending event. */
  private readonly rewind = new Set<string>();
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
    // Forgotten, not kept: a restart takes every pending event again, and a pass says again what is still held.
    for (const timer of this.holdTimers.values()) clearTimeout(timer);
    this.holdTimers.clear();
    this.held.clear();
    await Promise.all([...this.loops.values()]);
  }

  /** Resolves when no flow has a batch in progress (for tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.loops.size > 0) await Promise.all([...this.loops.values()]);
  }

  private async drain(flowId: string): Promise<void> {
    const { inbox, catalog, runner, logger } = this.deps;
    const batchSize = this.deps.batchSize ?? 2000;
    // The batch whose pass has run but whose events are not marked processed yet. They are marked while the next
    // pass runs: the flow's passes follow each other without waiting for that write in between.
    let unmarked: HandledEvents | null = null;
    const markProcessed = async () => {
      if (unmarked === null) return;
      const handled = unmarked;
      unmarked = null;
      await markEventsProcessed(inbox, flowId, handled, this.now().toISOString());
    };
    let afterId = 0;
    try {
      for (;;) {
        if (this.stopped || !catalog.get(flowId)?.deployed) return;
        this.kickedWhileDraining.delete(flowId);
        // A hold ended: its events, older than the batches taken since, are taken again.
        if (this.rewind.delete(flowId) && afterId > 0) {
          await markProcessed();
          afterId = 0;
        }
        // While another pass of the flow runs (a poll, "run now"), wait for it before taking the batch: events that
        // arrive meanwhile then go into this batch instead of the next pass's.
        if (runner.busy(flowId)) await runner.exclusive(flowId, async () => undefined);
        const skipped = this.heldTriggers(flowId);
        const events = await pendingEvents(inbox, flowId, batchSize, afterId, skipped);
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
        const held = this.keepHeld(flowId, result, events);
        const failed = error !== null ? (error instanceof Error ? error.message : String(error)) : result?.status === 'failed' ? (result.error ?? 'the pass failed') : null;
        if (failed !== null) {
          if (!catalog.get(flowId)) return;
          this.retryLater(flowId, failed, events.length);
          return;
        }
        this.backoff.delete(flowId);
        const lastId = events[events.length - 1]!.id!;
        // The held triggers' events among the batch's ids, left out of it or not read by its pass, stay pending.
        unmarked = { afterId, lastId, exceptNodes: [...new Set([...skipped, ...held])] };
        afterId = lastId;
        logger.debug({ flowId, events: events.length, hints: hints.length, held: held.length }, 'webhook batch processed');
      }
    } finally {
      await markProcessed();
    }
  }

  /** The flow's triggers still held by a rate limit: their pending events are not taken meanwhile. */
  private heldTriggers(flowId: string): string[] {
    const holds = this.held.get(flowId);
    if (!holds) return [];
    const now = this.now().getTime();
    return [...holds].filter(([, until]) => until > now).map(([nodeId]) => nodeId);
  }

  /**
   * A system's rate limit stopped a part before it had read its records: their events stay pending until the system
   * said to come back (a flow whose only trigger is this webhook has no poll that would read them later), while the
   * other parts' events, read by the pass, are done with, and later ones go on. Returns the triggers held.
   */
  private keepHeld(flowId: string, result: PassResult | null, events: readonly WebhookEventRow[]): string[] {
    if (result?.resumeAt === undefined || !result.heldTriggers?.length) return [];
    const nodeIds = result.heldTriggers;
    const now = this.now().getTime();
    // Like the scheduler, a minute at a time: a limit lifted early is noticed within a minute.
    const delayMs = Math.max(MIN_RETRY_MS, Math.min(Date.parse(result.resumeAt) - now, RATE_LIMIT_RECHECK_MS));
    const holds = this.held.get(flowId) ?? new Map<string, number>();
    for (const nodeId of nodeIds) holds.set(nodeId, now + delayMs);
    this.held.set(flowId, holds);
    const pending = events.filter((event) => nodeIds.includes(event.node_id)).length;
    this.deps.logger.warn({ flowId, triggers: nodeIds, pending, retryInMs: delayMs, reason: result.error ?? 'rate limited' }, 'webhook events held by a rate limit; kept until it resets');
    this.wakeForHolds(flowId);
    return nodeIds;
  }

  /**
   * Takes the flow's held events again when the first hold ends. The timer is this process's even in a cluster: were
   * the process to die, the members that notice drain every flow with pending events (resumeAll).
   */
  private wakeForHolds(flowId: string): void {
    clearTimeout(this.holdTimers.get(flowId));
    this.holdTimers.delete(flowId);
    const holds = this.held.get(flowId);
    if (!holds || holds.size === 0 || this.stopped) return;
    const first = Math.min(...holds.values());
    const timer = setTimeout(() => {
      this.holdTimers.delete(flowId);
      for (const [nodeId, until] of holds) if (until <= first) holds.delete(nodeId);
      if (holds.size === 0) this.held.delete(flowId);
      this.rewind.add(flowId);
      this.kick(flowId);
      this.wakeForHolds(flowId);
    }, Math.max(0, first - this.now().getTime()));
    timer.unref();
    this.holdTimers.set(flowId, timer);
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private retryLater(flowId: string, error: string, pending: number): void {
    const delayMs = Math.min(MAX_RETRY_MS, (this.backoff.get(flowId) ?? MIN_RETRY_MS / 2) * 2);
    this.backoff.set(flowId, delayMs);
    this.deps.logger.warn({ flowId, pending, retryInMs: delayMs, error }, 'webhook batch failed; events kept for a retry');
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
