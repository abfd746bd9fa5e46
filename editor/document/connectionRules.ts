import { connectionRefusal as refusalByGraphRules } from '../../nodes/flow/graphRules';

/** The parts of a canvas graph the connection rules look at: node types by id and the edges. */
export interface GraphShape {
  nodes: ReadonlyArray<{ id: string; data: { type: string } }>;
  edges: ReadonlyArray<{ source: string; target: string }>;
}

/**
 * Why an edge from `source` to `target` may not be drawn on the canvas, or null when it may: the flow's graph rules
 * (nodes/flow/graphRules.ts), asked as the user connects, so the canvas refuses what validation would reject.
 */
export function connectionRefusal(graph: GraphShape, source: string, target: string): string | null {
  const nodes = graph.nodes.map((node) => ({ id: node.id, type: node.data.type }));
  return refusalByGraphRules({ nodes, edges: graph.edges }, source, target);
}
