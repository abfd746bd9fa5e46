import type { Logger } from 'pino';
import type { FlowDocument } from '../../nodes';
import type { FlowCatalog } from '../flows/flowCatalog';
import { FlowPausedError, type FlowRunner } from '../passes/runner';
import type { PassJob } from '../cluster/cluster';
import type { ChangeListeners } from './changeListeners';
import type { WebhookRegistrations } from './webhookRegistrations';
import { nextPollIn } from '../engine/pass/holds';

/**
 * The poll interval of a flow: the shortest `intervalMs` of its poll triggers, or null when it has none. A pass
 * reads every trigger, so one timer per flow at the shortest interval keeps each trigger at least as fresh as asked.
 */
export function pollInterval(document: FlowDocument): number | null {
  let shortest: number | null = null;
  for (const node of document.nodes) {
    if (node.type === 'trigger' && node.config.detect.mode === 'poll') {
      shortest = Math.min(shortest ?? Infinity, node.config.detect.intervalMs);
    }
  }
  return shortest;
}

/** setTimeout's longest delay (about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * What the scheduler needs of a cluster (runtime/cluster): a tick runs only where it claims the flow's due time, and
 * then as a pass job any process may take, so a poll fires once per interval however many processes keep timers.
 */
export interface ClusterTicks {
  claimTick(flowId: string, intervalMs: number): Promise<boolean>;
  /** Makes the flow's poll due now, for whichever process ticks first. */
  clearTick(flowId: string): Promise<void>;
  requestPass(job: PassJob): Promise<void>;
}

interface Schedule {
  timer: NodeJS.Timeout | null;
  intervalMs: number;
  stopped: boolean;
}

/**
 * Runs a pass of every deployed flow with poll triggers at its interval. Ticks go through the runner, so a pass
 * never overlaps another of the same flow; the next tick is timed from the start of the last pass, or follows at
 * once when a pass took longer than the interval. Triggers that report changes as they happen (`notify`) are
 * subscribed to alongside, by `listeners`, which deploy, pause, removal and shutdown start and stop with the timers.
 */
export class Scheduler {
  private readonly schedules = new Map<string, Schedule>();
  /** The flows this process last saw deployed: a flow leaving this set was paused. */
  private readonly deployed = new Set<string>();

  constructor(
    private readonly catalog: FlowCatalog,
    private readonly runner: FlowRunner,
    private readonly logger: Logger,
    readonly listeners: ChangeListeners | null = null,
    readonly registrations: WebhookRegistrations | null = null,
    private readonly cluster: ClusterTicks | null = null,
  ) {}

  /**
   * Starts, restarts or stops a flow's timer and subscriptions to match its stored state (deployed, triggers,
   * interval). A flow that was deployed and is not any more (it was just paused) has its pass in progress stopped as
   * well. A flow never deployed keeps its pass: a person ran it by hand, and a sync of it (its import heard back from
   * a PostgreSQL state, an edit) says nothing about that run.
   */
  sync(flowId: string): void {
    const deployed = this.catalog.get(flowId)?.deployed === true;
    const paused = !deployed && this.deployed.has(flowId);
    if (deployed) this.deployed.add(flowId);
    else this.deployed.delete(flowId);
    if (paused && this.runner.busy(flowId)) this.stopPass(flowId, 'the flow was paused');
    this.syncTimer(flowId);
    this.listeners?.sync(flowId);
    this.registrations?.sync(flowId);
  }

  private syncTimer(flowId: string): void {
    const entry = this.catalog.get(flowId);
    const intervalMs = entry?.deployed && entry.document ? pollInterval(entry.document) : null;
    const current = this.schedules.get(flowId);
    if (current && current.intervalMs === intervalMs) return;
    this.stopTimer(flowId);
    if (intervalMs === null) return;
    const schedule: Schedule = { timer: null, intervalMs, stopped: false };
    this.schedules.set(flowId, schedule);
    this.logger.info({ flowId, intervalMs }, 'flow scheduled');
    // The first pass runs at once: a flow just deployed, or resumed after a restart, catches up straight away.
    this.arm(flowId, schedule, 0);
  }

  /**
   * A flow is being deployed: its first poll runs at once, as `syncTimer` starts it, also in a cluster, where the due
   * time an earlier deployment claimed would otherwise hold the poll back until its interval ran out. Cleared before
   * the flow is marked deployed, so the first process to tick claims it and the others do not.
   */
  async deploying(flowId: string): Promise<void> {
    await this.cluster?.clearTick(flowId);
  }

  /** Starts the timers of every deployed flow (after a start or restart). */
  syncAll(): void {
    for (const entry of this.catalog.list()) this.sync(entry.id);
  }

  /**
   * Stops a flow's timer, subscriptions and pass in progress (it is being removed); the subscriptions close, and the
   * pass stops, in the background: the runner's queue for the flow frees up once it has.
   */
  stop(flowId: string): void {
    this.deployed.delete(flowId);
    if (this.runner.busy(flowId)) this.stopPass(flowId, 'the flow was removed');
    this.stopTimer(flowId);
    void this.listeners?.stop(flowId);
    this.registrations?.stop(flowId);
  }

  /** Stops every timer and subscription; resolves once nothing listens and the changes heard are stored. */
  async stopAll(): Promise<void> {
    for (const flowId of [...this.schedules.keys()]) this.stopTimer(flowId);
    this.registrations?.stopAll();
    await this.listeners?.stopAll();
  }

  private stopPass(flowId: string, reason: string): void {
    this.runner.stop(flowId, reason).catch((error: unknown) => this.logger.error({ flowId, err: error }, 'the pass in progress could not be stopped'));
  }

  private stopTimer(flowId: string): void {
    const schedule = this.schedules.get(flowId);
    if (!schedule) return;
    schedule.stopped = true;
    if (schedule.timer) clearTimeout(schedule.timer);
    this.schedules.delete(flowId);
  }

  private arm(flowId: string, schedule: Schedule, delayMs: number): void {
    schedule.timer = setTimeout(() => void this.tick(flowId, schedule), delayMs);
  }

  private async tick(flowId: string, schedule: Schedule): Promise<void> {
    schedule.timer = null;
    if (this.cluster) return this.clusterTick(flowId, schedule);
    const started = Date.now();
    let idleUntil: string | undefined;
    try {
      idleUntil = (await this.runner.runPass(flowId, { reason: 'schedule', requireDeployed: true })).idleUntil;
    } catch (error) {
      if (error instanceof FlowPausedError) return;
      this.logger.error({ flowId, err: error }, 'scheduled pass could not start');
    }
    if (schedule.stopped) return;
    // While some part can sync, the flow polls at its interval and the engine leaves parts held by a rate limit alone;
    // when every part waits for its system, a poll before then would sync nothing (engine/pass/holds.ts).
    const next = nextPollIn(schedule.intervalMs, Date.now() - started, idleUntil, Date.now());
    if (next.waitsForLimit) this.logger.info({ flowId, resumeAt: idleUntil, nextPollInMs: next.delayMs }, 'rate limited: the next poll waits for the system');
    this.arm(flowId, schedule, Math.min(next.delayMs, MAX_TIMER_MS));
  }

  /**
   * A tick in a cluster: claim the flow's due time and, when this process got it, queue the poll as a pass job. The
   * job's process runs the pass and moves the due time on when a rate limit says so (app.ts).
   */
  private async clusterTick(flowId: string, schedule: Schedule): Promise<void> {
    try {
      if (await this.cluster!.claimTick(flowId, schedule.intervalMs)) await this.cluster!.requestPass({ flowId, kind: 'schedule' });
    } catch (error) {
      this.logger.error({ flowId, err: error instanceof Error ? error.message : String(error) }, 'scheduled poll could not be queued');
    }
    if (!schedule.stopped) this.arm(flowId, schedule, schedule.intervalMs);
  }
}
