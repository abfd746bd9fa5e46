import { RecordError, type BehaviourContext, type ExpressionLimits, type FlowRecord, type NodeOutcome } from '../../nodes/types';
import { opposite, type CompiledTrigger, type PathStep } from './graph';

/** `drop`: a node on the path let the record go no further; `by` is that node, as a person calls it. */
export type Projection = { kind: 'pass'; record: FlowRecord } | { kind: 'drop'; reason: string; by: string } | { kind: 'error'; error: RecordError };

/** Projects a side's record into the conflict node's vocabulary, node by node along the trigger's path. */
export function projectIn(trigger: CompiledTrigger, record: FlowRecord, limits: ExpressionLimits): Projection | Promise<Projection> {
  return walk(trigger.path, 0, 1, record, limits, (step) => step.inward);
}

/** Projects a golden record out to a side: the path walked backwards, each node in the opposite direction. */
export function projectOut(trigger: CompiledTrigger, golden: FlowRecord, limits: ExpressionLimits): Projection | Promise<Projection> {
  return walk(trigger.path, trigger.path.length - 1, -1, golden, limits, (step) => opposite(step.inward));
}

// Stays synchronous while every step is, so paths of built-in ops cost no promise per record.
function walk(
  path: PathStep[],
  index: number,
  stride: 1 | -1,
  record: FlowRecord,
  limits: ExpressionLimits,
  directionOf: (step: PathStep) => 'forward' | 'backward',
): Projection | Promise<Projection> {
  let current = record;
  for (let i = index; i >= 0 && i < path.length; i += stride) {
    const step = path[i] as PathStep;
    const ctx: BehaviourContext = { nodeId: step.nodeId, limits };
    let outcome: NodeOutcome | Promise<NodeOutcome>;
    try {
      outcome = step.behaviour[directionOf(step)](current, step.config, ctx);
    } catch (error) {
      return { kind: 'error', error: asRecordError(error, step.nodeId) };
    }
    if (outcome instanceof Promise) {
      return outcome.then(
        (resolved) => (resolved.kind === 'drop' ? { ...resolved, by: step.name } : walk(path, i + stride, stride, resolved.record, limits, directionOf)),
        (error: unknown) => ({ kind: 'error', error: asRecordError(error, step.nodeId) }) as Projection,
      );
    }
    if (outcome.kind === 'drop') return { ...outcome, by: step.name };
    current = outcome.record;
  }
  return { kind: 'pass', record: current };
}

function asRecordError(error: unknown, nodeId: string): RecordError {
  if (error instanceof RecordError) return error;
  return new RecordError(nodeId, error instanceof Error ? error.message : String(error));
}
