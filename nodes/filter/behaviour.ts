import { evaluateExpression } from '../transform/expression';
import { RecordError, type BehaviourContext, type Direction, type FlowRecord, type NodeBehaviour, type NodeOutcome } from '../types';
import type { FilterConfig } from './schema';

/** The filter node: in the directions it applies to, only records for which the condition is exactly true pass. */
export const filterBehaviour: NodeBehaviour<FilterConfig> = {
  forward: (record, config, ctx) => applyFilter(record, config, 'forward', ctx),
  backward: (record, config, ctx) => applyFilter(record, config, 'backward', ctx),
};

function applyFilter(record: FlowRecord, config: FilterConfig, direction: Direction, ctx: BehaviourContext): NodeOutcome | Promise<NodeOutcome> {
  // The record is passed on as it is, not copied: the filter never changes it.
  if (config.directions !== 'both' && config.directions !== direction) return { kind: 'pass', record };
  return testCondition(record, config.condition, ctx);
}

async function testCondition(record: FlowRecord, condition: string, ctx: BehaviourContext): Promise<NodeOutcome> {
  let result: unknown;
  try {
    result = await evaluateExpression(condition, record, ctx.limits, ctx.nodeId);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new RecordError(ctx.nodeId, `filter ${ctx.nodeId}: condition: ${message}`);
  }
  // Only true passes: a truthy string or number is more likely a mistake in the condition than a yes.
  return result === true ? { kind: 'pass', record } : { kind: 'drop', reason: `filter ${ctx.nodeId}: condition is not true` };
}
