import { isNodeType, nodeRegistry } from '../../nodes';
import { defaultExpressionLimits, type Direction, type FlowRecord, type NodeBehaviour } from '../../nodes/types';
import type { CanvasEdge, CanvasNode } from '../document/canvasDocument';

/** One node a record crosses on its way to the node being tried, in the direction it crosses it (SPEC §2). */
export interface SampleStep {
  nodeId: string;
  direction: Direction;
}

/** Where a node's sample comes from: a trigger, and the nodes between it and the node's left side. */
export interface SampleRoute {
  triggerId: string;
  steps: SampleStep[];
}

/**
 * The trigger whose records can be tried on a node, and the way they travel to it. A node's sample is a record in its
 * left side's vocabulary (what its forward behaviour reads). The nearest trigger on its left side is taken first: its
 * records arrive there forward through the nodes between. A node between the conflict node and a trigger (on the way
 * out) has that trigger on its right: its records travel backward to it, and through it, to arrive in its left
 * vocabulary. A conflict node is never crossed: past it, records are in another trigger's vocabulary.
 */
export function sampleRoute(nodes: readonly CanvasNode[], edges: readonly CanvasEdge[], nodeId: string): SampleRoute | null {
  const types = new Map(nodes.map((node) => [node.id, node.data.type]));
  for (const side of ['left', 'right'] as const) {
    // previous: the node next to it that is closer to `nodeId`; the record travels from the trigger toward it.
    const previous = new Map<string, string>();
    const start = edges.filter((edge) => (side === 'left' ? edge.target === nodeId : edge.source === nodeId)).map((edge) => (side === 'left' ? edge.source : edge.target));
    const queue: string[] = [];
    for (const id of start) {
      if (previous.has(id) || id === nodeId) continue;
      previous.set(id, nodeId);
      queue.push(id);
    }
    while (queue.length > 0) {
      const id = queue.shift() as string;
      const type = types.get(id);
      if (type === 'trigger') return { triggerId: id, steps: stepsFrom(id, nodeId, previous, edges) };
      if (type !== 'transform' && type !== 'mapping' && type !== 'filter') continue;
      for (const edge of edges) {
        const next = edge.source === id ? edge.target : edge.target === id ? edge.source : null;
        if (next === null || next === nodeId || previous.has(next)) continue;
        previous.set(next, id);
        queue.push(next);
      }
    }
  }
  return null;
}

/** The nodes from `triggerId` to `nodeId`, each with the direction the record crosses it; `nodeId` last when it is crossed. */
function stepsFrom(triggerId: string, nodeId: string, previous: ReadonlyMap<string, string>, edges: readonly CanvasEdge[]): SampleStep[] {
  const steps: SampleStep[] = [];
  let from = triggerId;
  let at = previous.get(triggerId);
  while (at !== undefined) {
    // Along an edge from its source to its target a record moves forward, entering the target's left side.
    const forward = edges.some((edge) => edge.source === from && edge.target === at);
    if (at === nodeId) {
      // Arriving at its left side, the record is in the vocabulary the node's forward behaviour reads already.
      if (!forward) steps.push({ nodeId, direction: 'backward' });
      return steps;
    }
    steps.push({ nodeId: at, direction: forward ? 'forward' : 'backward' });
    from = at;
    at = previous.get(at);
  }
  return steps;
}

export type SampleProjection =
  | { kind: 'pass'; record: FlowRecord }
  | { kind: 'drop'; nodeId: string; reason: string }
  | { kind: 'error'; nodeId: string; message: string };

/** Carries a trigger's record along the route, each node applying its behaviour as a pass would. */
export async function projectSample(nodes: readonly CanvasNode[], route: SampleRoute, record: FlowRecord): Promise<SampleProjection> {
  let current = record;
  for (const step of route.steps) {
    const node = nodes.find((candidate) => candidate.id === step.nodeId);
    const type = node?.data.type;
    if (!node || !isNodeType(type)) return { kind: 'error', nodeId: step.nodeId, message: `node "${step.nodeId}" is not a node the editor knows` };
    const definition = nodeRegistry[type];
    const config = definition.schema.safeParse(node.data.config);
    const behaviour = definition.behaviour as NodeBehaviour<unknown> | null;
    if (!config.success || !behaviour) {
      return { kind: 'error', nodeId: step.nodeId, message: `node "${step.nodeId}" is not fully set up yet: the record cannot pass it` };
    }
    try {
      const outcome = await behaviour[step.direction](current, config.data, { nodeId: step.nodeId, limits: defaultExpressionLimits });
      if (outcome.kind === 'drop') return { kind: 'drop', nodeId: step.nodeId, reason: outcome.reason };
      current = outcome.record;
    } catch (error) {
      return { kind: 'error', nodeId: step.nodeId, message: error instanceof Error ? error.message : String(error) };
    }
  }
  return { kind: 'pass', record: current };
}
