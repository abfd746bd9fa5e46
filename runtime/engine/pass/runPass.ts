/** A pass over a flow: open its run, sync each connected part, end the run with what the pass did and learned. */
import { randomUUID } from 'node:crypto';
import type { FlowDocument } from '../../../nodes/index';
import { RateLimitedError } from '../../connectors/types';
import { markConflictsApplied, markResolvedApplied } from '../../db/conflictQueries';
import { deleteKnowledge } from '../../db/knowledgeQueries';
import { appendRunLog, finishRun, startRun } from '../../db/runQueries';
import { holdTriggers, recordTriggerPass, triggerHolds } from '../../db/statusQueries';
import { compileFlow, type CompiledPart } from '../graph';
import { listsWhole } from '../snapshot';
import type { PassOptions, PassResult } from '../types';
import type { ConnectorPool } from './connectorPool';
import type { EngineContext } from './context';
import { saveCursor } from './cursor';
import { forgetKnowledge } from './forget';
import { heldMessage, heldUntil, hintsFor, holdOn, honoursHolds, sameLimit, type Hold } from './holds';
import { partError, passError } from './passErrors';
import { PassState, PassStopped, type RunningPasses } from './passState';
import { flowFingerprint, keepKnowledge, validKnowledge, type FlowKnowledge, type SideKnowledge } from './sideKnowledge';
import { syncPart } from './syncPart';

/** One pass over every trigger of the flow (or over the hinted records only); a dry run writes nothing anywhere. */
export async function runPass(ctx: EngineContext, pool: ConnectorPool, running: RunningPasses, flow: FlowDocument, options: PassOptions): Promise<PassResult> {
  const dryRun = options.dryRun ?? false;
  const runId = dryRun ? null : randomUUID();
  const pass = new PassState(flow.id, runId, dryRun, ctx.now);
  const startedAt = ctx.now().toISOString();
  const fingerprint = flowFingerprint(flow);
  running.begin(pass);
  const known = pass.overlapped ? null : await validKnowledge(ctx.db, flow.id, fingerprint, runId);
  if (runId) await startRun(ctx.db, { id: runId, flowId: flow.id, startedAt, reason: options.reason ?? 'manual', process: options.process ?? null });
  const parts = compileFlow(flow).parts;
  const { ends, leftAlone, learned } = await syncParts(ctx, pool.lease(options.baseDir), pass, parts, options, known);
  const partEnds = [...ends.values()];
  const status: PassResult['status'] = partEnds.some((end) => end.status === 'failed') ? 'failed' : partEnds.length > 0 ? 'stopped' : 'ok';
  const error = passError(partEnds.map((end) => end.error));
  const resumeAt = partEnds.reduce<string | null>((latest, end) => (end.resumeAt !== null && (latest === null || end.resumeAt > latest) ? end.resumeAt : latest), null);
  const idleUntil = firstComeBack(parts.map((part) => ends.get(part)));
  const heldTriggers = parts.filter((part) => ends.get(part)?.limited).flatMap((part) => part.triggers.map((trigger) => trigger.nodeId));
  const repeatedLimit = partEnds.length > 0 && partEnds.every((end) => end.reported);
  // Only parts that finished learned anything, about their own sides (SPEC §4: no part touches another's): what they
  // learned holds whatever became of the others, so a part held for an hour does not cost the rest a scan a poll.
  const learnedNow = runId && learned.size > 0 && !pass.overlapped ? { runId, startedAt, fingerprint, sides: learned } : null;
  if (runId) await endRun(ctx, flow, pass, runId, { status, error }, partsAfter(parts, ends, leftAlone, ctx.now()), learnedNow);
  running.end(pass);
  // A pass that began while this one was finishing may count links differently: nothing learned is kept.
  if (learnedNow && pass.overlapped) await forgetKnowledge(ctx.db, running, flow.id);
  ctx.logger?.info({ flowId: flow.id, runId, status, ...pass.summary }, 'pass finished');
  return {
    runId,
    status,
    summary: pass.summary,
    error,
    ...(resumeAt ? { resumeAt, heldTriggers } : {}),
    ...(idleUntil ? { idleUntil } : {}),
    ...(repeatedLimit ? { repeatedLimit } : {}),
    ...(dryRun ? { planned: [...pass.planned.values()] } : {}),
  };
}

/** Where each part of the pass ended, and what the parts that finished learned about their sides. */
interface PartsOutcome {
  /** Parts that did not finish: they stopped or failed, or were left alone while held (listed when it matters). */
  ends: Map<CompiledPart, PartEnd>;
  /** Parts left alone while a rate limit holds them: none of their systems was called. */
  leftAlone: Set<CompiledPart>;
  learned: Map<string, SideKnowledge>;
}

/**
 * Each part syncs its own systems (SPEC §4): one that stops or fails leaves the others to run, and the pass ends with
 * the worst of their ends. A part that did not finish keeps its cursors where they were.
 */
async function syncParts(
  ctx: EngineContext,
  connectors: ReturnType<ConnectorPool['lease']>,
  pass: PassState,
  parts: readonly CompiledPart[],
  options: PassOptions,
  known: Map<string, SideKnowledge> | null,
): Promise<PartsOutcome> {
  const outcome: PartsOutcome = { ends: new Map(), leftAlone: new Set(), learned: new Map() };
  const holds = honoursHolds(options) ? await triggerHolds(ctx.db, pass.flowId) : new Map<string, Hold>();
  try {
    for (const part of parts) {
      const partName = parts.length > 1 ? part.conflictNodeId : null;
      const hold = holdOn(part, holds, ctx.now());
      if (hold) {
        // Left alone, its systems uncalled. A webhook batch with nothing for it loses nothing, and is not kept for later.
        if (!options.hints || hintsFor(part, options.hints)) outcome.ends.set(part, { status: 'stopped', error: partError(partName, heldMessage(hold)), reason: hold.reason, resumeAt: heldUntil(hold), limited: true, reported: true });
        outcome.leftAlone.add(part);
        continue;
      }
      pass.beginPart();
      try {
        for (const trigger of part.triggers) {
          const connector = await connectors.open(trigger);
          if (listsWhole(connector.capabilities)) pass.listedWhole.add(trigger.nodeId);
        }
        for (const [nodeId, side] of await syncPart(ctx, part, connectors.byNode, pass, options, known)) outcome.learned.set(nodeId, side);
        pass.finishPart();
      } catch (caught) {
        const end = partEnd(caught, partName);
        // Refused again, after its hold, before the time its system gave: the pass that first met the limit said so.
        end.reported = end.limited && sameLimit(part, holds, ctx.now());
        outcome.ends.set(part, end);
        ctx.logger?.[end.status === 'stopped' ? 'warn' : 'error']({ flowId: pass.flowId, runId: pass.runId, part: part.conflictNodeId, err: end.error }, `pass ${end.status}`);
      }
    }
  } finally {
    // A part left alone opened nothing: the connectors are kept when every part that ran finished.
    await connectors.settle([...outcome.ends.keys()].every((part) => outcome.leftAlone.has(part)));
  }
  return outcome;
}

/** When every part waits for a rate limit, the first time one of them comes back; null while any part can sync. */
function firstComeBack(ends: ReadonlyArray<PartEnd | undefined>): string | null {
  let first: string | null = null;
  for (const end of ends) {
    if (!end?.limited || end.resumeAt === null) return null;
    if (first === null || end.resumeAt < first) first = end.resumeAt;
  }
  return first;
}

/** What the run's end records of each part's triggers: which took part in the pass, which are held, which released. */
interface PartsAfter {
  /** Triggers of the parts that ran and did not fail. */
  ran: string[];
  /** Triggers of the parts a rate limit stopped in this pass, with their hold. */
  held: Array<{ nodeIds: string[]; hold: Hold }>;
  /** Triggers of the parts that finished: any hold on them is over. */
  released: string[];
}

function partsAfter(parts: readonly CompiledPart[], ends: ReadonlyMap<CompiledPart, PartEnd>, leftAlone: ReadonlySet<CompiledPart>, now: Date): PartsAfter {
  const after: PartsAfter = { ran: [], held: [], released: [] };
  for (const part of parts) {
    if (leftAlone.has(part)) continue;
    const nodeIds = part.triggers.map((trigger) => trigger.nodeId);
    const end = ends.get(part);
    if (end?.status !== 'failed') after.ran.push(...nodeIds);
    if (!end) after.released.push(...nodeIds);
    else if (end.limited && end.resumeAt !== null) after.held.push({ nodeIds, hold: { since: now.toISOString(), until: end.resumeAt, reason: end.reason } });
  }
  return after;
}

/**
 * Ends the run in one transaction (each commit costs the next pass of the flow, which waits for this one): the
 * cursors, resolutions written out, the triggers' last pass, the log and the outcome, and what the pass learned.
 */
async function endRun(
  ctx: Pick<EngineContext, 'db' | 'now'>,
  flow: FlowDocument,
  pass: PassState,
  runId: string,
  end: { status: PassResult['status']; error: string | null },
  parts: PartsAfter,
  learned: FlowKnowledge | null,
): Promise<void> {
  await ctx.db.transaction().execute(async (tx) => {
    const finishedAt = ctx.now().toISOString();
    for (const [nodeId, cursor] of pass.cursors) await saveCursor(tx, pass.flowId, nodeId, cursor, ctx.now().toISOString());
    // Every resolution this pass found has been written out; a pass that ended early used up at least the mass-delete
    // approvals of its parts that finished, which must not let a later mass delete through unreviewed.
    if (end.status === 'ok') await markResolvedApplied(tx, pass.flowId, ['field', 'mass-delete', 'breaker', 'delete']);
    else await markConflictsApplied(tx, [...pass.approvalsUsed]);
    await recordTriggerPass(tx, flow.id, parts.ran, finishedAt);
    for (const { nodeIds, hold } of parts.held) await holdTriggers(tx, flow.id, nodeIds, hold);
    await holdTriggers(tx, flow.id, parts.released, null);
    await appendRunLog(tx, runId, pass.log);
    await finishRun(tx, runId, { finishedAt, status: end.status, summary: pass.summary, error: end.error });
    // Kept in the state, so the next pass can use it whichever process runs it (every `run --once` is a new one).
    if (learned) await keepKnowledge(tx, flow.id, learned);
    else await deleteKnowledge(tx, flow.id);
  });
}

/** How a part of the pass ended early: stopped (for review, or by its system's rate limit) or failed. */
interface PartEnd {
  status: 'stopped' | 'failed';
  /** As the pass reports it: named when the flow has other parts. */
  error: string;
  /** The part's own error, unnamed: what a hold keeps as its reason. */
  reason: string;
  /** When a rate-limited system asked to be called again. */
  resumeAt: string | null;
  /** Stopped by its system's rate limit, in this pass or (left alone while held) in an earlier one. */
  limited: boolean;
  /** A rate limit an earlier pass already reported: the part was held, or is refused again before its system's time. */
  reported: boolean;
}

/** What an error that ended a part means for the pass; in a flow of several parts its message names the part. */
function partEnd(caught: unknown, partName: string | null): PartEnd {
  // A rate limit is the system asking to come back later, not a failure: the part stops with its cursors unmoved.
  const limited = causeOf(caught, RateLimitedError);
  const message = caught instanceof Error ? caught.message : String(caught);
  return {
    status: caught instanceof PassStopped || limited ? 'stopped' : 'failed',
    error: partError(partName, message),
    reason: message,
    resumeAt: limited?.resumeAt.toISOString() ?? null,
    limited: limited !== null,
    reported: false,
  };
}

/** The first error of this kind in an error's chain of causes. */
function causeOf<T extends Error>(error: unknown, kind: new (...args: never[]) => T): T | null {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    if (current instanceof kind) return current;
    current = (current as Error).cause;
  }
  return null;
}
