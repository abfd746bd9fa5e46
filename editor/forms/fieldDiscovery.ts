import type { CanvasEdge, CanvasNode } from '../document/canvasDocument';
import type { DescribeResult } from '../store/types';
import { asRecord, isRecord } from '../../nodes/forms/configIssues';
import type { SideFields } from '../../nodes/forms/types';

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);

/** Data fields of a trigger's collection as its connector described them; identity and bookkeeping never travel (SPEC §3). */
export function describedTriggerFields(config: unknown, described: DescribeResult | undefined): string[] | null {
  const trigger = asRecord(config);
  const collection = described?.collections?.find((candidate) => candidate.name === trigger.collection);
  if (!collection) return null;
  const bookkeeping = new Set([trigger.key, trigger.updatedAt, trigger.tagColumn, trigger.deletedFlag].filter((name) => typeof name === 'string'));
  return collection.fields.map((field) => field.name).filter((name) => !bookkeeping.has(name));
}

/** Every field name a transform's ops mention (sources and targets). */
function transformFields(config: unknown): string[] {
  const names: string[] = [];
  const ops = asRecord(config).ops;
  for (const op of Array.isArray(ops) ? ops : []) {
    const o = asRecord(op);
    for (const key of ['from', 'to', 'field', 'target']) if (typeof o[key] === 'string') names.push(o[key] as string);
    names.push(...strings(o.into), ...strings(o.fields));
    if (isRecord(o.backward)) names.push(...Object.keys(o.backward));
  }
  return names;
}

/**
 * The fields on one side of a node (left: toward its incoming edges; right: toward its outgoing ones). Walks the
 * graph away from the node and collects what triggers describe and what transforms, filters and conflict nodes
 * name, stopping at a mapping node, past which the vocabulary is different.
 */
export function fieldsOnSide(
  nodes: CanvasNode[],
  edges: CanvasEdge[],
  described: Record<string, DescribeResult>,
  nodeId: string,
  side: 'left' | 'right',
): SideFields {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const names = new Set<string>();
  let isDescribed = false;
  const visited = new Set([nodeId]);
  // viaOutgoing: the node was reached through one of its own outgoing edges, so its right side faces the start.
  const queue: { id: string; viaOutgoing: boolean }[] = edges
    .filter((edge) => (side === 'left' ? edge.target === nodeId : edge.source === nodeId))
    .map((edge) => (side === 'left' ? { id: edge.source, viaOutgoing: true } : { id: edge.target, viaOutgoing: false }));
  while (queue.length > 0) {
    const { id, viaOutgoing } = queue.shift() as { id: string; viaOutgoing: boolean };
    if (visited.has(id)) continue;
    visited.add(id);
    const node = byId.get(id);
    if (!node) continue;
    const config = asRecord(node.data.config);
    switch (node.data.type) {
      case 'trigger': {
        const fields = describedTriggerFields(config, described[id]);
        if (fields) {
          isDescribed = true;
          fields.forEach((name) => names.add(name));
        }
        break;
      }
      case 'mapping': {
        const facing = viaOutgoing ? 'right' : 'left';
        const pairs = Array.isArray(config.fields) ? config.fields : [];
        for (const pair of pairs) {
          const name = asRecord(pair)[facing];
          if (typeof name === 'string' && name !== '') names.add(name);
        }
        continue;
      }
      case 'transform':
        transformFields(config).forEach((name) => names.add(name));
        break;
      case 'conflict':
        strings(config.match).forEach((name) => names.add(name));
        Object.keys(asRecord(config.fields)).forEach((name) => names.add(name));
        break;
      default:
        break;
    }
    for (const edge of edges) {
      if (edge.source === id && !visited.has(edge.target)) queue.push({ id: edge.target, viaOutgoing: false });
      if (edge.target === id && !visited.has(edge.source)) queue.push({ id: edge.source, viaOutgoing: true });
    }
  }
  return { names: [...names].sort((a, b) => a.localeCompare(b)), described: isDescribed };
}
