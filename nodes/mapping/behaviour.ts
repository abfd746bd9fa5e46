import { getPath, parsePath, PathError, setPath, type OwnedObjects } from '../paths';
import { copyJson, jsonKey, preview, sameJson, valueLookup } from '../transform/behaviour';
import { RecordError, type BehaviourContext, type Direction, type FlowRecord, type NodeBehaviour, type RoundTripIssue } from '../types';
import type { FieldPair, MappingConfig } from './schema';

/**
 * The mapping node: forward, the record becomes the right-hand fields of the pairs that flow forward; backward,
 * the left-hand fields of the pairs that flow backward. Fields not listed do not pass (SPEC §3). Field names are
 * paths (nodes/paths.ts): `properties.email` reads and writes the `email` key inside `properties`.
 */
export const mappingBehaviour: NodeBehaviour<MappingConfig> = {
  forward: (record, config, ctx) => ({ kind: 'pass', record: project(record, config.fields, 'forward', ctx.nodeId) }),
  backward: (record, config, ctx) => ({ kind: 'pass', record: project(record, config.fields, 'backward', ctx.nodeId) }),
  roundTrip: checkRoundTrip,
};

type PairPaths = { left: readonly string[]; right: readonly string[] };

/** Each pair's two paths, parsed once per config rather than per record. */
const parsedPairs = new WeakMap<readonly FieldPair[], PairPaths[]>();

function pathsOf(pairs: readonly FieldPair[]): PairPaths[] {
  let paths = parsedPairs.get(pairs);
  if (!paths) {
    paths = pairs.map((pair) => ({ left: parsePath(pair.left), right: parsePath(pair.right) }));
    parsedPairs.set(pairs, paths);
  }
  return paths;
}

/** The record through the pairs that flow in `direction`; through the pair at index `only` alone when given. */
function project(record: FlowRecord, pairs: readonly FieldPair[], direction: Direction, nodeId: string, only?: number): FlowRecord {
  const projected: FlowRecord = {};
  // Objects this projection made, which later pairs may fill in place; values taken from `record` are never changed.
  let owned: OwnedObjects | undefined;
  const parsed = pathsOf(pairs);
  pairs.forEach((pair, index) => {
    if (only !== undefined && index !== only) return;
    if (pair.direction !== 'both' && pair.direction !== direction) return;
    const forward = direction === 'forward';
    const paths = parsed[index] as PairPaths;
    const from = forward ? paths.left : paths.right;
    // An absent field stays absent on the other side: writing null would erase a value there.
    let value: unknown;
    try {
      value = getPath(record, from);
    } catch (error) {
      throw pathFailure(error, pair, index, forward ? pair.left : pair.right, 'read', nodeId);
    }
    if (value === undefined) return;
    const mapped = mapValue(value, pair, index, direction, nodeId);
    if (mapped === undefined) return;
    const to = forward ? paths.right : paths.left;
    if (to.length > 1) owned ??= new WeakSet();
    try {
      setPath(projected, to, mapped, owned);
    } catch (error) {
      throw pathFailure(error, pair, index, forward ? pair.right : pair.left, 'written', nodeId);
    }
  });
  return projected;
}

/** A path that goes inside a non-object, as an error on this record naming node, pair and field. */
function pathFailure(error: unknown, pair: FieldPair, index: number, field: string, verb: 'read' | 'written', nodeId: string): unknown {
  if (!(error instanceof PathError)) return error;
  return new RecordError(nodeId, `mapping ${nodeId}, ${describePair(pair, index)}: field "${field}" cannot be ${verb}: ${error.reason}`, field);
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

/**
 * For each pair that flows both ways, where mapping a sample's field right and back again changes it. A sample the
 * pair fails (a value not in its values, a path it cannot read) is reported with the error itself as `after`, which no
 * JSON value can be, so it is told apart from a value that comes back (nodes/flow/roundTrip.ts).
 */
async function checkRoundTrip(samples: FlowRecord[], config: MappingConfig, ctx: BehaviourContext): Promise<RoundTripIssue[]> {
  const issues: RoundTripIssue[] = [];
  config.fields.forEach((pair, index) => {
    if (pair.direction !== 'both') return;
    const part = describePair(pair, index);
    samples.forEach((sample, sampleIndex) => {
      let before: unknown;
      let after: unknown;
      try {
        try {
          before = getPath(sample, pair.left);
        } catch (error) {
          throw pathFailure(error, pair, index, pair.left, 'read', ctx.nodeId);
        }
        // Through this pair alone, picked by its index in the node, so an error names it as forward and backward do.
        const right = project(sample, config.fields, 'forward', ctx.nodeId, index);
        after = getPath(project(right, config.fields, 'backward', ctx.nodeId, index), pair.left);
      } catch (error) {
        issues.push({ nodeId: ctx.nodeId, part, sampleIndex, field: pair.left, before, after: error instanceof Error ? error : new Error(String(error)) });
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
