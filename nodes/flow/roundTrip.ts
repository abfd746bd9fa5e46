import { nodeRegistry, type FlowDocument } from '../index';
import { defaultExpressionLimits, RecordError, type BehaviourContext, type ExpressionLimits, type FlowRecord, type NodeBehaviour, type NodeDefinition, type RoundTripIssue } from '../types';
import { TRIGGER } from './graphRules';
import { errorMessage, quote } from './messages';

// Whether what flows both ways survives the trip: a field that comes back changed would flap between systems.

/** Which trigger's records the samples are, and (for tests) other node types. */
export interface RoundTripOptions {
  /** The trigger whose records the samples are; by default the first trigger whose edge leads away from it. */
  from?: string;
  /** Node types to use (default: the registry); tests inject behaviours here. */
  registry?: Readonly<Record<string, NodeDefinition>>;
}

/**
 * Checks that what flows both ways survives the round trip: the samples, records of one trigger, are carried
 * forward along the edges, and each node they reach from its left side checks them with its behaviour's
 * `roundTrip`. Nodes reached only backward cannot be checked with these samples. A sample a node fails (a
 * RecordError) goes no further; any other error stops the check, naming the node.
 */
export async function checkRoundTrip(
  document: FlowDocument,
  samples: readonly FlowRecord[],
  limits: ExpressionLimits = defaultExpressionLimits,
  options: RoundTripOptions = {},
): Promise<RoundTripIssue[]> {
  const registry = options.registry ?? (nodeRegistry as Readonly<Record<string, NodeDefinition>>);
  const nodesById = new Map(document.nodes.map((node) => [node.id, node]));
  const forwardNeighbours = new Map<string, string[]>();
  for (const edge of document.edges) {
    const list = forwardNeighbours.get(edge.source);
    if (list) list.push(edge.target);
    else forwardNeighbours.set(edge.source, [edge.target]);
  }
  const triggers = document.nodes.filter((node) => node.type === TRIGGER);
  const start = options.from ?? (triggers.find((node) => forwardNeighbours.has(node.id)) ?? triggers[0])?.id;
  if (start === undefined) return [];
  if (nodesById.get(start)?.type !== TRIGGER) throw new Error(`${quote(start)} is not a trigger of flow ${quote(document.id)}`);

  type Carried = { index: number; record: FlowRecord };
  const found: RoundTripIssue[] = [];
  const visited = new Set([start]);
  const queue: Array<{ nodeId: string; records: Carried[] }> = [];
  const enqueueFrom = (nodeId: string, records: Carried[]) => {
    for (const next of forwardNeighbours.get(nodeId) ?? []) {
      if (visited.has(next)) continue;
      visited.add(next);
      queue.push({ nodeId: next, records });
    }
  };
  enqueueFrom(start, samples.map((record, index) => ({ index, record })));

  for (let head = 0; head < queue.length; head += 1) {
    const { nodeId, records } = queue[head] as { nodeId: string; records: Carried[] };
    const node = nodesById.get(nodeId);
    if (!node || node.type === TRIGGER || records.length === 0) continue;
    const behaviour = (registry[node.type]?.behaviour ?? null) as NodeBehaviour<unknown> | null;
    const ctx: BehaviourContext = { nodeId, limits };
    if (!behaviour) {
      // The conflict node merges rather than transforms: records leave it as they came.
      enqueueFrom(nodeId, records);
      continue;
    }
    try {
      if (behaviour.roundTrip) {
        const issues = await behaviour.roundTrip(records.map((carried) => carried.record), node.config, ctx);
        for (const issue of issues) found.push({ ...issue, sampleIndex: records[issue.sampleIndex]?.index ?? issue.sampleIndex });
      }
      const passed: Carried[] = [];
      for (const carried of records) {
        try {
          const outcome = await behaviour.forward(carried.record, node.config, ctx);
          if (outcome.kind === 'pass') passed.push({ index: carried.index, record: outcome.record });
        } catch (error) {
          if (!(error instanceof RecordError)) throw error;
        }
      }
      enqueueFrom(nodeId, passed);
    } catch (error) {
      throw new Error(`node ${quote(nodeId)}: ${errorMessage(error)}`, { cause: error });
    }
  }
  return found;
}

/**
 * One warning line for a lossy round trip, saying which field would flap between systems, or for a sample that fails
 * on its way (a behaviour reports it with the error as `after`: no sample's value is an Error). Samples are numbered
 * from 1, as a person counts the records of the samples file.
 */
export function formatRoundTripIssue(issue: RoundTripIssue): string {
  const where = `warning: node ${quote(issue.nodeId)} ${issue.part}: sample ${issue.sampleIndex + 1}`;
  if (issue.after instanceof Error) return `${where} fails: ${issue.after.message}`;
  const after = issue.after === undefined ? 'comes back missing' : `comes back as ${quote(issue.after, 200)}`;
  const before = issue.before === undefined ? 'where it was missing' : `instead of ${quote(issue.before, 200)}`;
  return `${where} field ${quote(issue.field)} ${after} ${before} — this field would flap between systems`;
}
