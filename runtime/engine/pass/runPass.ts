/** A pass over a flow: open its run, sync each connected part, end the run with what the pass did and learned. */
import { randomUUID } from 'node:crypto';
import type { FlowDocument } from '../../../nodes/index';
import { RateLimitedError } from '../../connectors/types';
import { markConflictsApplied, markResolvedApplied } from '../../db/conflictQueries';
import { deleteKnowledge } from '../../db/knowledgeQueries';
import { appendRunLog, finishRun, startRun } from '../../db/runQueries';
import { recordTriggerPass } from '../../db/statusQueries';
import { compileFlow } from '../graph';
import { listsWhole } from '../snapshot';
import type { PassOptions, PassResult } from '../types';
import type { ConnectorPool } from './connectorPool';
import type { EngineContext } from './context';
import { saveCursor } from './cursor';
import { forgetKnowledge } from './forget';
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
  const connectors = pool.lease(options.baseDir);
  const learned = new Map<string, SideKnowledge>();
  const parts = compileFlow(flow).parts;
  const ends: PartEnd[] = [];
  try {
    // Each part syncs its own systems (SPEC §4): one that stops or fails leaves the others to run, and the pass ends
    // with the worst of their ends. A part that did not finish keeps its cursors where they were.
    for (const part of parts) {
      pass.beginPart();
      try {
        for (const trigger of part.triggers) {
          const connector = await connectors.open(trigger);
          if (listsWhole(connector.capabilities)) pass.listedWhole.add(trigger.nodeId);
        }
        for (const [nodeId, side] of await syncPart(ctx, part, connectors.byNode, pass, options, known)) learned.set(nodeId, side);
        pass.finishPart();
      } catch (caught) {
        const end = partEnd(caught, parts.length > 1 ? part.conflictNodeId : null);
        ends.push(end);
        ctx.logger?.[end.status === 'stopped' ? 'warn' : 'error']({ flowId: flow.id, runId, part: part.conflictNodeId, err: end.error }, `pass ${end.status}`);
      }
    }
  } finally {
    await connectors.settle(ends.length === 0);
  }
  const status: PassResult['status'] = ends.some((end) => end.status === 'failed') ? 'failed' : ends.length > 0 ? 'stopped' : 'ok';
  const error = passError(ends.map((end) => end.error));
  const resumeAt = ends.reduce<string | null>((latest, end) => (end.resumeAt !== null && (latest === null || end.resumeAt > latest) ? end.resumeAt : latest), null);
  const learnedNow = runId && status === 'ok' && !pass.overlapped ? { runId, startedAt, fingerprint, sides: learned } : null;
  if (runId) await endRun(ctx, flow, pass, runId, { status, error }, learnedNow);
  running.end(pass);
  // A pass that began while this one was finishing may count links differently: nothing learned is kept.
  if (learnedNow && pass.overlapped) await forgetKnowledge(ctx.db, running, flow.id);
  ctx.logger?.info({ flowId: flow.id, runId, status, ...pass.summary }, 'pass finished');
  return { runId, status, summary: pass.summary, error, ...(resumeAt ? { resumeAt } : {}), ...(dryRun ? { planned: [...pass.planned.values()] } : {}) };
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
  learned: FlowKnowledge | null,
): Promise<void> {
  await ctx.db.transaction().execute(async (tx) => {
    const finishedAt = ctx.now().toISOString();
    for (const [nodeId, cursor] of pass.cursors) await saveCursor(tx, pass.flowId, nodeId, cursor, ctx.now().toISOString());
    // Every resolution this pass found has been written out; a pass that ended early used up at least the mass-delete
    // approvals of its parts that finished, which must not let a later mass delete through unreviewed.
    if (end.status === 'ok') await markResolvedApplied(tx, pass.flowId, ['field', 'mass-delete', 'breaker', 'delete']);
    else await markConflictsApplied(tx, [...pass.approvalsUsed]);
    if (end.status !== 'failed') await recordTriggerPass(tx, flow.id, flow.nodes.filter((node) => node.type === 'trigger').map((node) => node.id), finishedAt);
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
  error: string;
  /** When a rate-limited system asked to be called again. */
  resumeAt: string | null;
}

/** What an error that ended a part means for the pass; in a flow of several parts its message names the part. */
function partEnd(caught: unknown, partName: string | null): PartEnd {
  // A rate limit is the system asking to come back later, not a failure: the part stops with its cursors unmoved.
  const limited = causeOf(caught, RateLimitedError);
  const message = caught instanceof Error ? caught.message : String(caught);
  return {
    status: caught instanceof PassStopped || limited ? 'stopped' : 'failed',
    error: partError(partName, message),
    resumeAt: limited?.resumeAt.toISOString() ?? null,
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
