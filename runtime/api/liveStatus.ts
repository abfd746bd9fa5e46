import type { FlowDocument } from '../../nodes';
import type { Db } from '../db/queries';
import { changeCount, parseSummary } from '../db/runQueries';
import {
  countOpenConflicts,
  countSyncedInSteps,
  failingByNode,
  lastPasses,
  openConflictsBySide,
  openConflictsOfPart,
  recentRuns,
  runWritesInSteps,
  triggerHolds,
  yieldToOthers,
  type BetweenSteps,
  type RecentRun,
  type TriggerHold,
} from '../db/statusQueries';
import { compileFlow } from '../engine/graph';
import { heldMessage, heldUntil } from '../engine/pass/holds';
import { unreachableTriggers } from '../engine/pass/passErrors';
import type { FlowStatus, TriggerStatus } from './schemas';

/**
 * The problem each trigger's system gave the last finished run, by node id: the triggers it could not open or list
 * (one per part of the flow at most), none when that run ran or failed otherwise (the state, a write). A trigger whose
 * system's rate limit holds its part (engine/pass/holds.ts) shows it for as long as the passes leave the part alone,
 * whatever the last run was: in a flow of several parts, that may be a run of another part that synced.
 */
export function triggerProblems(
  run: Pick<RecentRun, 'status' | 'error' | 'startedAt' | 'finishedAt'> | null,
  holds: ReadonlyMap<string, TriggerHold> = new Map(),
  now = new Date(),
): Map<string, NonNullable<TriggerStatus['problem']>> {
  const problems = new Map<string, NonNullable<TriggerStatus['problem']>>();
  if (run && (run.status === 'failed' || run.status === 'stopped') && run.error !== null) {
    for (const [nodeId, message] of unreachableTriggers(run.error)) problems.set(nodeId, { message, at: run.finishedAt ?? run.startedAt, status: run.status });
  }
  // Every trigger of a held part keeps the same reason, which names the trigger whose system refused.
  for (const hold of holds.values()) {
    if (Date.parse(heldUntil(hold)) <= now.getTime()) continue;
    for (const [nodeId, message] of unreachableTriggers(heldMessage(hold))) if (!problems.has(nodeId)) problems.set(nodeId, { message, at: hold.since, status: 'stopped' });
  }
  return problems;
}

/**
 * A recount of a large flow waits at least this many times as long as its last count took: counting the records in
 * sync of a million links (0.4 s, in steps) then takes at most one part in fifty of the server's time however often
 * the canvas polls. A count quicker than CHEAP_COUNT_MS is done again on every poll after a pass.
 */
const RECOUNT_SPACING = 50;
const CHEAP_COUNT_MS = 25;
/** While a pass runs (a long first sync), its links are counted again this often, so the canvas shows it go. */
const RUNNING_RECOUNT_MS = 10_000;
/** Links also change outside passes (a resolved delete conflict): a count is never older than this. */
const COUNT_MAX_AGE_MS = 5 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

interface OpenConflicts {
  /** The number of open conflicts, the flow's passes and its nodes when they were told apart. */
  key: string;
  bySide: Map<string, number>;
  byConflictNode: FlowStatus['conflictNodes'];
}

interface SyncedCount {
  /** The state of the flow's passes when it was counted: another pass since may have moved it. */
  mark: string;
  triggers: string;
  synced: Map<string, number>;
  countedAt: number;
  tookMs: number;
}

/**
 * Live counts for the canvas, per trigger node, computed from the state the passes keep (links, runs and their logs,
 * failing records, conflicts). A poll that finds no pass finished since the last one reads a few index entries; the
 * two costly counts are kept: records in sync until a pass moves them (and no more often than RECOUNT_SPACING allows),
 * each finished run's writes for as long as it is in the last hour.
 */
export class LiveStatus {
  private readonly counts = new Map<string, SyncedCount>();
  private readonly counting = new Map<string, Promise<SyncedCount>>();
  /** Per flow, per run of the last hour that wrote records: the records it wrote, per trigger. */
  private readonly writes = new Map<string, Map<string, Map<string, number>>>();
  private readonly conflicts = new Map<string, OpenConflicts>();

  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
    private readonly between: BetweenSteps = yieldToOthers,
  ) {}

  /**
   * The live counts of a stored flow's triggers and conflict nodes (none for a flow that no longer loads); `webhookOf`
   * tells each trigger's webhook registration, which this process keeps in memory.
   */
  async of(flowId: string, document: FlowDocument | null, webhookOf: (nodeId: string) => TriggerStatus['webhook'] = () => null): Promise<FlowStatus> {
    const triggers = document?.nodes.filter((node) => node.type === 'trigger').map((node) => node.id) ?? [];
    const now = this.now();
    const { recent, newest, lastFinished } = await recentRuns(this.db, flowId, new Date(now.getTime() - HOUR_MS).toISOString());
    const mark = markOf(newest, now);
    const [passes, holds, failing, conflicts, synced, changes] = await Promise.all([
      lastPasses(this.db, flowId),
      triggerHolds(this.db, flowId),
      failingByNode(this.db, flowId),
      this.openConflicts(flowId, document, mark),
      this.synced(flowId, triggers, mark),
      this.changesLastHour(flowId, recent),
    ]);
    const problems = triggerProblems(lastFinished, holds, now);
    const nodes: Record<string, TriggerStatus> = {};
    for (const nodeId of triggers) {
      nodes[nodeId] = {
        lastPassAt: passes.get(nodeId) ?? null,
        synced: synced.synced.get(nodeId) ?? 0,
        changesLastHour: changes.get(nodeId) ?? 0,
        failing: failing.get(nodeId) ?? 0,
        openConflicts: conflicts.bySide.get(nodeId) ?? 0,
        problem: problems.get(nodeId) ?? null,
        webhook: webhookOf(nodeId),
      };
    }
    return { nodes, conflictNodes: conflicts.byConflictNode, countedAt: new Date(synced.countedAt).toISOString() };
  }

  /** Forgets what was kept for a flow (it was removed). */
  forget(flowId: string): void {
    this.counts.delete(flowId);
    this.writes.delete(flowId);
    this.conflicts.delete(flowId);
  }

  /**
   * Open conflicts per trigger and per conflict node. Telling them apart reads every open conflict's sides, so it is
   * kept until their number or the flow's passes move (a conflict is filed by a pass and resolved by a person: either
   * changes one or the other), or the flow's triggers change.
   */
  private async openConflicts(flowId: string, document: FlowDocument | null, mark: string): Promise<OpenConflicts> {
    const total = await countOpenConflicts(this.db, flowId);
    const key = `${total}\u0000${mark}\u0000${document?.nodes.map((node) => node.id).join(',') ?? ''}`;
    const kept = this.conflicts.get(flowId);
    if (kept?.key === key) return kept;
    const bySide = total === 0 ? new Map<string, number>() : await openConflictsBySide(this.db, flowId);
    const byConflictNode: FlowStatus['conflictNodes'] = {};
    let parts: ReturnType<typeof compileFlow>['parts'] = [];
    try {
      if (document) parts = compileFlow(document).parts;
    } catch {
      // A flow that does not compile has no conflict node to count for.
    }
    for (const part of parts) {
      // One part holds every conflict of the flow; only a flow of several parts needs them told apart.
      const triggers = part.triggers.map((trigger) => trigger.nodeId);
      const openConflicts = parts.length === 1 || total === 0 ? total : await openConflictsOfPart(this.db, flowId, triggers);
      byConflictNode[part.conflictNodeId] = { openConflicts };
    }
    const counted = { key, bySide, byConflictNode };
    this.conflicts.set(flowId, counted);
    return counted;
  }

  private async synced(flowId: string, triggers: readonly string[], mark: string): Promise<SyncedCount> {
    const inFlight = this.counting.get(flowId);
    if (inFlight) return inFlight;
    const kept = this.counts.get(flowId);
    const now = this.now().getTime();
    const key = triggers.join('\u0000');
    const fresh =
      kept !== undefined &&
      kept.triggers === key &&
      now - kept.countedAt < COUNT_MAX_AGE_MS &&
      (kept.mark === mark || (kept.tookMs >= CHEAP_COUNT_MS && now - kept.countedAt < kept.tookMs * RECOUNT_SPACING));
    if (fresh) return kept;
    const counting = this.count(flowId, triggers, key, mark).finally(() => this.counting.delete(flowId));
    this.counting.set(flowId, counting);
    return counting;
  }

  private async count(flowId: string, triggers: readonly string[], key: string, mark: string): Promise<SyncedCount> {
    const started = performance.now();
    const synced = new Map<string, number>();
    for (const nodeId of triggers) synced.set(nodeId, await countSyncedInSteps(this.db, flowId, nodeId, this.between));
    const counted: SyncedCount = { mark, triggers: key, synced, countedAt: this.now().getTime(), tookMs: performance.now() - started };
    this.counts.set(flowId, counted);
    return counted;
  }

  private async changesLastHour(flowId: string, recent: readonly RecentRun[]): Promise<Map<string, number>> {
    const kept = this.writes.get(flowId) ?? new Map<string, Map<string, number>>();
    const inWindow = new Set<string>();
    const total = new Map<string, number>();
    for (const run of recent) {
      // A running pass has not written its log yet; a quiet one wrote nothing, which its summary says without the log.
      if (run.status === 'running' || changeCount(parseSummary(run.summary)) === 0) continue;
      inWindow.add(run.id);
      let writes = kept.get(run.id);
      if (!writes) {
        writes = await runWritesInSteps(this.db, run.id, this.between);
        kept.set(run.id, writes);
      }
      for (const [nodeId, count] of writes) total.set(nodeId, (total.get(nodeId) ?? 0) + count);
    }
    for (const runId of kept.keys()) if (!inWindow.has(runId)) kept.delete(runId);
    this.writes.set(flowId, kept);
    return total;
  }
}

/** Where the flow's passes stand: a pass that finished since, or a running pass's next step, may have moved its links. */
function markOf(newest: RecentRun | null, now: Date): string {
  if (!newest) return 'no passes';
  if (newest.status === 'running') return `${newest.id}:running:${Math.floor(now.getTime() / RUNNING_RECOUNT_MS)}`;
  return `${newest.id}:${newest.status}:${newest.finishedAt ?? ''}`;
}
