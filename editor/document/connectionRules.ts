/** The parts of a graph the connection rules look at: node types by id and the edges. */
export interface GraphShape {
  nodes: ReadonlyArray<{ id: string; data: { type: string } }>;
  edges: ReadonlyArray<{ source: string; target: string }>;
}

function neighbours(graph: GraphShape): Map<string, string[]> {
  const adjacent = new Map<string, string[]>();
  const link = (from: string, to: string) => {
    const list = adjacent.get(from);
    if (list) list.push(to);
    else adjacent.set(from, [to]);
  };
  for (const edge of graph.edges) {
    link(edge.source, edge.target);
    link(edge.target, edge.source);
  }
  return adjacent;
}

/** Ids of every node connected to `start`, ignoring edge direction. */
export function connectedPart(graph: GraphShape, start: string, adjacent = neighbours(graph)): Set<string> {
  const part = new Set<string>([start]);
  const queue = [start];
  while (queue.length > 0) {
    const id = queue.pop() as string;
    for (const next of adjacent.get(id) ?? []) {
      if (!part.has(next)) {
        part.add(next);
        queue.push(next);
      }
    }
  }
  return part;
}

/**
 * Why an edge from `source` to `target` may not be drawn (SPEC §4), or null when it may. Checked as the user
 * connects, so the canvas refuses what the validator would reject and says why on the spot.
 */
export function connectionRefusal(graph: GraphShape, source: string, target: string): string | null {
  if (source === target) return 'A node cannot connect to itself.';
  const typeOf = new Map(graph.nodes.map((node) => [node.id, node.data.type]));
  if (!typeOf.has(source) || !typeOf.has(target)) return 'Both ends of a connection must be nodes on the canvas.';
  for (const id of [source, target]) {
    if (typeOf.get(id) === 'trigger' && graph.edges.some((edge) => edge.source === id || edge.target === id)) {
      return `Trigger "${id}" already has its edge: a trigger connects to exactly one node.`;
    }
  }
  const adjacent = neighbours(graph);
  const sourcePart = connectedPart(graph, source, adjacent);
  if (sourcePart.has(target)) {
    return `"${source}" and "${target}" are already connected: this edge would make a cycle, and a change would come back to where it started.`;
  }
  const conflictIn = (part: Set<string>) => [...part].find((id) => typeOf.get(id) === 'conflict');
  const sourceConflict = conflictIn(sourcePart);
  const targetConflict = conflictIn(connectedPart(graph, target, adjacent));
  if (sourceConflict && targetConflict) {
    return `This would put two conflict nodes ("${sourceConflict}" and "${targetConflict}") in one connected part: each part has exactly one.`;
  }
  return null;
}
