/** A pass over a flow: open its run, sync each connected part, end the run with what the pass did and learned. */
import { randomUUID } from 'node:crypto';
import type { FlowDocument } from '../../../nodes/index';
import { RateLimitedError } from '../../connectors/types';
import { markResolvedApplied } from '../../db/conflictQueries';
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
  let status: PassResult['status'] = 'ok';
  let error: string | null = null;
  let resumeAt: string | null = null;
  const learned = new Map<string, SideKnowledge>();
  try {
    for (const part of compileFlow(flow).parts) {
      for (const trigger of part.triggers) {
        const connector = await connectors.open(trigger);
        if (listsWhole(connector.capabilities)) pass.listedWhole.add(trigger.nodeId);
      }
      for (const [nodeId, side] of await syncPart(ctx, part, connectors.byNode, pass, options, known)) learned.set(nodeId, side);
    }
  } catch (caught) {
    // A rate limit is the system asking to come back later, not a failure: the pass stops with its cursors unmoved.
    const limited = causeOf(caught, RateLimitedError);
    status = caught instanceof PassStopped || limited ? 'stopped' : 'failed';
    error = caught instanceof Error ? caught.message : String(caught);
    resumeAt = limited?.resumeAt.toISOString() ?? null;
    ctx.logger?.[status === 'stopped' ? 'warn' : 'error']({ flowId: flow.id, runId, err: error }, `pass ${status}`);
  } finally {
    await connectors.settle(status === 'ok');
  }
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
    // Every resolution this pass found has been written out.
    if (end.status === 'ok') await markResolvedApplied(tx, pass.flowId, ['field', 'mass-delete', 'breaker', 'delete']);
    if (end.status !== 'failed') await recordTriggerPass(tx, flow.id, flow.nodes.filter((node) => node.type === 'trigger').map((node) => node.id), finishedAt);
    await appendRunLog(tx, runId, pass.log);
    await finishRun(tx, runId, { finishedAt, status: end.status, summary: pass.summary, error: end.error });
    // Kept in the state, so the next pass can use it whichever process runs it (every `run --once` is a new one).
    if (learned) await keepKnowledge(tx, flow.id, learned);
    else await deleteKnowledge(tx, flow.id);
  });
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
