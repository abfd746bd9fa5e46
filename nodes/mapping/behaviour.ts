import { copyJson, jsonKey, preview, sameJson, valueLookup } from '../transform/behaviour';
import { RecordError, type BehaviourContext, type Direction, type FlowRecord, type NodeBehaviour, type RoundTripIssue } from '../types';
import type { FieldPair, MappingConfig } from './schema';

/**
 * The mapping node: forward, the record becomes the right-hand fields of the pairs that flow forward; backward,
 * the left-hand fields of the pairs that flow backward. Fields not listed do not pass (SPEC §3).
 */
export const mappingBehaviour: NodeBehaviour<MappingConfig> = {
  forward: (record, config, ctx) => ({ kind: 'pass', record: project(record, config.fields, 'forward', ctx.nodeId) }),
  backward: (record, config, ctx) => ({ kind: 'pass', record: project(record, config.fields, 'backward', ctx.nodeId) }),
  roundTrip: checkRoundTrip,
};

function project(record: FlowRecord, pairs: readonly FieldPair[], direction: Direction, nodeId: string): FlowRecord {
  const projected: FlowRecord = {};
  pairs.forEach((pair, index) => {
    if (pair.direction !== 'both' && pair.direction !== direction) return;
    const [from, to] = direction === 'forward' ? [pair.left, pair.right] : [pair.right, pair.left];
    // An absent field stays absent on the other side: writing null would erase a value there.
    if (!Object.hasOwn(record, from) || record[from] === undefined) return;
    const value = mapValue(record[from], pair, index, direction, nodeId);
    if (value !== undefined) projected[to] = value;
  });
  return projected;
}

function mapValue(value: unknown, pair: FieldPair, index: number, direction: Direction, nodeId: string): unknown {
  // An empty list is a map still being written in the editor, not one that refuses every value.
  if (!pair.values || pair.values.length === 0) return value;
  const table = direction === 'forward' ? valueLookup(pair.values, 'left', 'right') : valueLookup(pair.values, 'right', 'left');
  const key = jsonKey(value);
  if (table.has(key)) return copyJson(table.get(key));
  // null is "no value", not a value the map forgot (a map may still name it, handled just above).
  if (value === null || pair.otherwise === 'copy') return value;
  const from = direction === 'forward' ? pair.left : pair.right;
  throw new RecordError(
    nodeId,
    `mapping ${nodeId}, ${describePair(pair, index)}: field "${from}" has the value ${preview(value)}, which is not in values; add it to values, or set otherwise to "copy"`,
    from,
  );
}

/** For each pair that flows both ways, where mapping a sample's field right and back again changes it. */
async function checkRoundTrip(samples: FlowRecord[], config: MappingConfig, ctx: BehaviourContext): Promise<RoundTripIssue[]> {
  const issues: RoundTripIssue[] = [];
  config.fields.forEach((pair, index) => {
    if (pair.direction !== 'both') return;
    const part = describePair(pair, index);
    samples.forEach((sample, sampleIndex) => {
      const before = sample[pair.left];
      let after: unknown;
      try {
        const right = project(sample, [pair], 'forward', ctx.nodeId);
        after = project(right, [pair], 'backward', ctx.nodeId)[pair.left];
      } catch (error) {
        issues.push({ nodeId: ctx.nodeId, part, sampleIndex, field: pair.left, before, after: error instanceof Error ? error.message : String(error) });
        return;
      }
      if (!sameJson(before, after)) issues.push({ nodeId: ctx.nodeId, part, sampleIndex, field: pair.left, before, after });
    });
  });
  return issues;
}

function describePair(pair: FieldPair, index: number): string {
  const arrow = pair.direction === 'both' ? '<->' : pair.direction === 'forward' ? '->' : '<-';
  return `fields[${index}] (${pair.left} ${arrow} ${pair.right})`;
}
