import type { ConflictConfig } from '../../nodes/conflict/schema';
import { CONFLICT, flowParts, TRIGGER } from '../../nodes/flow/graphRules';
import { nodeRegistry, type FlowDocument, type FlowNode } from '../../nodes/index';
import type { TriggerConfig } from '../../nodes/trigger/schema';
import type { Direction, NodeBehaviour, NodeDefinition } from '../../nodes/types';

/** One node a record passes between a trigger and its conflict node, applied in `direction` on the way in. */
export interface PathStep {
  nodeId: string;
  /** What a person calls the node (its label, else its id): the run log names it so. */
  name: string;
  behaviour: NodeBehaviour<unknown>;
  config: unknown;
  /** The direction of travel toward the conflict node; the way out applies the opposite. */
  inward: Direction;
}

export interface CompiledTrigger {
  nodeId: string;
  /** What a person calls the trigger (its label, else its id): the run log names it so. */
  name: string;
  config: TriggerConfig;
  /** Steps from the trigger (exclusive) to the conflict node (exclusive), in the order a record meets them. */
  path: PathStep[];
}

/** One connected part of a flow: its conflict node and the triggers that meet there, in document order. */
export interface CompiledPart {
  conflictNodeId: string;
  conflict: ConflictConfig;
  triggers: CompiledTrigger[];
}

export interface CompiledFlow {
  id: string;
  parts: CompiledPart[];
}

/**
 * Works out, for every trigger, the path to its conflict node and the direction of travel at each node
 * (SPEC §2). Expects a document that passed `loadFlow`, so each part of the graph (nodes/flow/graphRules.ts) is a
 * tree with one conflict node and triggers at its leaves. Node behaviours come from `registry` (default: the registry).
 */
export function compileFlow(document: FlowDocument, registry: Readonly<Record<string, NodeDefinition>> = nodeRegistry): CompiledFlow {
  const nodesById = new Map(document.nodes.map((node) => [node.id, node]));
  const neighbours = new Map<string, Array<{ other: string; direction: Direction }>>();
  for (const node of document.nodes) neighbours.set(node.id, []);
  for (const edge of document.edges) {
    neighbours.get(edge.source)?.push({ other: edge.target, direction: 'forward' });
    neighbours.get(edge.target)?.push({ other: edge.source, direction: 'backward' });
  }
  const partOf = new Map<string, { triggers: string[] }>();
  for (const part of flowParts(document.nodes, document.edges)) for (const conflictId of part.conflicts) partOf.set(conflictId, part);

  const parts: CompiledPart[] = [];
  for (const conflictNode of document.nodes) {
    if (conflictNode.type !== CONFLICT) continue;
    // Walk outward from the conflict node; each node remembers how it was reached, which is the reverse of the way in.
    const reachedFrom = new Map<string, { previous: string; outward: Direction }>();
    const queue = [conflictNode.id];
    const visited = new Set(queue);
    while (queue.length > 0) {
      const current = queue.shift() as string;
      for (const { other, direction } of neighbours.get(current) ?? []) {
        if (visited.has(other)) continue;
        visited.add(other);
        reachedFrom.set(other, { previous: current, outward: direction });
        if (nodesById.get(other)?.type !== TRIGGER) queue.push(other);
      }
    }
    const triggers: CompiledTrigger[] = [];
    for (const triggerId of partOf.get(conflictNode.id)?.triggers ?? []) {
      const node = nodesById.get(triggerId);
      if (node?.type !== TRIGGER) continue;
      triggers.push({ nodeId: node.id, name: node.label ?? node.id, config: node.config, path: pathInward(node.id, conflictNode.id, reachedFrom, nodesById, registry) });
    }
    parts.push({ conflictNodeId: conflictNode.id, conflict: conflictNode.config, triggers });
  }
  return { id: document.id, parts };
}

function pathInward(
  triggerId: string,
  conflictId: string,
  reachedFrom: Map<string, { previous: string; outward: Direction }>,
  nodesById: Map<string, FlowNode>,
  registry: Readonly<Record<string, NodeDefinition>>,
): PathStep[] {
  const steps: PathStep[] = [];
  let current = triggerId;
  // The edge from `previous` to `current` was walked outward in `outward`; a record walks it inward in the opposite
  // direction and enters `previous` that way.
  for (;;) {
    const link = reachedFrom.get(current);
    if (!link) throw new Error(`no path from trigger "${triggerId}" to conflict node "${conflictId}"`);
    if (link.previous === conflictId) break;
    const node = nodesById.get(link.previous);
    if (!node) throw new Error(`node "${link.previous}" is missing`);
    const behaviour = (registry[node.type]?.behaviour ?? null) as NodeBehaviour<unknown> | null;
    if (behaviour) {
      steps.push({ nodeId: node.id, name: node.label ?? node.id, behaviour, config: node.config, inward: link.outward === 'forward' ? 'backward' : 'forward' });
    }
    current = link.previous;
  }
  return steps;
}

export function opposite(direction: Direction): Direction {
  return direction === 'forward' ? 'backward' : 'forward';
}
