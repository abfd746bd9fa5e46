import type { IssueList, Owner } from './issues';
import { listNames, quote, type PathSegment } from './messages';
import { isRecord, stringOrUndefined } from './values';

// The graph rules of SPEC §4, stated once. The loader checks a whole document against them (`checkGraph`), the
// editor refuses an edge that would break one as it is drawn (`connectionRefusal`), and the engine takes a flow's
// parts as they define them (`flowParts`). Iterative throughout: flows with 100k nodes must neither overflow the
// stack nor go quadratic.

/** Where the records of one system enter and leave the flow. */
export const TRIGGER = 'trigger';
/** Where the records of every side meet and merge. */
export const CONFLICT = 'conflict';

/** How many edges a node may have: a trigger exactly one; any other node at least two, one toward each side. */
function edgeLimits(type: string, known: boolean): { min: number; max: number } {
  if (type === TRIGGER) return { min: 1, max: 1 };
  // Unknown node types are reported as such; what they would need is unknown.
  return { min: known ? 2 : 0, max: Number.POSITIVE_INFINITY };
}

/** Cycles named node by node; further cycle edges are still reported, without the walk, so huge graphs stay linear. */
const MAX_NAMED_CYCLES = 10;

/**
 * The words of each graph rule: what validation says of a document that breaks it, and, where an edge being drawn
 * could break it, why the editor refuses that edge (`refused`).
 */
export const graphMessages = {
  duplicateNode: (id: string, firstIndex: number) => `duplicate node id ${quote(id)} (also nodes[${firstIndex}]): give each node its own id`,
  duplicateEdge: (id: string, firstIndex: number) => `duplicate edge id ${quote(id)} (also edges[${firstIndex}]): give each edge its own id`,
  missingEnd: {
    found: (nodeId: string) => `no node has the id ${quote(nodeId)}: connect the edge to an existing node, or remove it`,
    refused: 'Both ends of a connection must be nodes on the canvas.',
  },
  selfLoop: {
    found: (nodeId: string | undefined) => `connects node ${quote(nodeId)} to itself: remove it`,
    refused: 'A node cannot connect to itself.',
  },
  triggerEdges: {
    none: 'a trigger must have exactly one edge, this one has none: connect it to the node that handles its records',
    tooMany: (has: string) => `a trigger must have exactly one edge, this one has ${has}: remove the extra edges`,
    refused: (nodeId: string) => `Trigger "${nodeId}" already has its edge: a trigger connects to exactly one node.`,
  },
  tooFewEdges: (type: string, has: string) => `a ${type} node must have at least two edges, one toward each side, this one has ${has}: connect its other side, or remove it`,
  cycle: {
    found: (nodeIds: readonly string[]) =>
      `closes a cycle through nodes ${listNames(nodeIds, 12)}: ignoring direction, a change could come back to where it started; remove an edge of the cycle`,
    foundAgain: (source: string | undefined, target: string | undefined) => `closes another cycle between ${quote(source)} and ${quote(target)}: remove an edge of the cycle`,
    refused: (source: string, target: string) =>
      `"${source}" and "${target}" are already connected: this edge would make a cycle, and a change would come back to where it started.`,
  },
  triggersInPart: (where: string, count: number) =>
    `${where} has ${count === 0 ? 'no trigger' : 'only one trigger'}; a sync needs at least two: add a trigger for each system it keeps in step`,
  noConflict: (where: string) => `${where} has no conflict node: add one where the records of the sides meet`,
  secondConflict: {
    found: (first: string | undefined, extra: string | undefined) =>
      `a second conflict node in the part that already has ${quote(first)}: each connected part needs exactly one; remove one of ${quote(first)} and ${quote(extra)}, or split the flow`,
    refused: (sourceConflict: string, targetConflict: string) =>
      `This would put two conflict nodes ("${sourceConflict}" and "${targetConflict}") in one connected part: each part has exactly one.`,
  },
  preferNotTrigger: (prefer: string, type: string | undefined, triggerIds: readonly string[]) => {
    const choose = triggerIds.length > 0 ? `name one of the triggers of this part: ${listNames(triggerIds)}` : 'this part has no trigger to prefer yet';
    const what =
      type === undefined
        ? `${quote(prefer)} is not a node of this flow`
        : type === TRIGGER
          ? `${quote(prefer)} is a trigger of another part of the flow`
          : `${quote(prefer)} is a ${type || 'typeless'} node, not a trigger`;
    return `${what}: ${choose}`;
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Connected parts

/** The root of `node`'s set, shortening the path to it on the way (union–find). */
function find(parents: Int32Array, node: number): number {
  let root = node;
  while (parents[root] !== root) root = parents[root] as number;
  for (let current = node; current !== root; ) {
    const next = parents[current] as number;
    parents[current] = root;
    current = next;
  }
  return root;
}

/** Union–find sets over nodes `0..count-1`, one per connected part once every edge is joined (direction ignored). */
function joinedSets(count: number, edges: Iterable<{ source: number; target: number }>): Int32Array {
  const parents = Int32Array.from({ length: count }, (_, index) => index);
  for (const edge of edges) parents[find(parents, edge.source)] = find(parents, edge.target);
  return parents;
}

/** Nodes `0..count-1` grouped into connected parts, ignoring direction: members ascending, parts in order of their first member. */
function connectedParts(count: number, edges: Iterable<{ source: number; target: number }>): number[][] {
  const parents = joinedSets(count, edges);
  const members = new Map<number, number[]>();
  for (let node = 0; node < count; node += 1) {
    const root = find(parents, node);
    const list = members.get(root);
    if (list) list.push(node);
    else members.set(root, [node]);
  }
  return [...members.values()];
}

/** One connected part of a flow: its nodes, triggers and conflict nodes by id, each in document order. */
export interface FlowPart {
  nodeIds: string[];
  triggers: string[];
  conflicts: string[];
}

/** The connected parts of a loaded flow (edges joined whatever their direction), in document order of their first node. */
export function flowParts(nodes: ReadonlyArray<{ id: string; type: string }>, edges: ReadonlyArray<{ source: string; target: string }>): FlowPart[] {
  const indexById = new Map(nodes.map((node, index) => [node.id, index]));
  const joined: Array<{ source: number; target: number }> = [];
  for (const edge of edges) {
    const source = indexById.get(edge.source);
    const target = indexById.get(edge.target);
    if (source !== undefined && target !== undefined) joined.push({ source, target });
  }
  return connectedParts(nodes.length, joined).map((members) => {
    const of = (type: string) => members.filter((index) => nodes[index]?.type === type).map((index) => (nodes[index] as { id: string }).id);
    return { nodeIds: members.map((index) => (nodes[index] as { id: string }).id), triggers: of(TRIGGER), conflicts: of(CONFLICT) };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Refusing an edge as it is drawn

/** The parts of a graph the connection rules look at: node types by id, and the edges. */
export interface GraphShape {
  nodes: ReadonlyArray<{ id: string; type: string }>;
  edges: ReadonlyArray<{ source: string; target: string }>;
}

/**
 * Why an edge from `source` to `target` may not be added to `graph`, or null when it may: the rules an added edge can
 * break (an edge limit, a cycle, a second conflict node in a part), so the editor refuses what validation would
 * reject, and says why on the spot. Rules an edge can only help with (too few edges or triggers) are left to validation.
 */
export function connectionRefusal(graph: GraphShape, source: string, target: string): string | null {
  if (source === target) return graphMessages.selfLoop.refused;
  const typeOf = new Map(graph.nodes.map((node) => [node.id, node.type]));
  const sourceType = typeOf.get(source);
  const targetType = typeOf.get(target);
  if (sourceType === undefined || targetType === undefined) return graphMessages.missingEnd.refused;

  // Indexes for every id an edge names, even one no node has: an edge through it still joins its ends.
  const indexById = new Map<string, number>();
  const indexOf = (id: string) => {
    let index = indexById.get(id);
    if (index === undefined) {
      index = indexById.size;
      indexById.set(id, index);
    }
    return index;
  };
  for (const node of graph.nodes) indexOf(node.id);
  const degree = new Map<string, number>();
  const joined = graph.edges.map((edge) => {
    degree.set(edge.source, (degree.get(edge.source) ?? 0) + 1);
    if (edge.target !== edge.source) degree.set(edge.target, (degree.get(edge.target) ?? 0) + 1);
    return { source: indexOf(edge.source), target: indexOf(edge.target) };
  });

  for (const [id, type] of [
    [source, sourceType],
    [target, targetType],
  ] as const) {
    if ((degree.get(id) ?? 0) + 1 > edgeLimits(type, true).max) return graphMessages.triggerEdges.refused(id);
  }

  const parents = joinedSets(indexById.size, joined);
  const sourcePart = find(parents, indexOf(source));
  const targetPart = find(parents, indexOf(target));
  if (sourcePart === targetPart) return graphMessages.cycle.refused(source, target);
  const conflictIn = (part: number) => graph.nodes.find((node) => node.type === CONFLICT && find(parents, indexOf(node.id)) === part)?.id;
  const sourceConflict = conflictIn(sourcePart);
  const targetConflict = conflictIn(targetPart);
  if (sourceConflict !== undefined && targetConflict !== undefined) return graphMessages.secondConflict.refused(sourceConflict, targetConflict);
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Checking a whole document

type GraphEdge = { source: number; target: number; index: number; id: string };

interface GraphNodes {
  ids: readonly string[];
  types: readonly string[];
  /** Where each graph node sits in the document's `nodes`. */
  documentIndex: readonly number[];
  indexById: ReadonlyMap<string, number>;
}

/**
 * Checks the graph of a document that may be anything at all: duplicate ids, edges to nowhere, edge counts, cycles,
 * and what each connected part needs. Nodes and edges too broken to place in the graph are left to the shape checks.
 */
export function checkGraph(nodes: readonly unknown[], edges: readonly unknown[], knownTypes: ReadonlySet<string>, issues: IssueList): void {
  // Graph members: nodes with a usable id; a repeated id is reported and its later nodes left out.
  const indexById = new Map<string, number>();
  const ids: string[] = [];
  const types: string[] = [];
  const documentIndex: number[] = [];
  nodes.forEach((node, index) => {
    if (!isRecord(node)) return;
    const id = stringOrUndefined(node.id);
    if (id === undefined) return;
    const first = indexById.get(id);
    if (first !== undefined) {
      issues.add(['nodes', index, 'id'], graphMessages.duplicateNode(id, documentIndex[first] as number), { nodeId: id });
      return;
    }
    indexById.set(id, ids.length);
    ids.push(id);
    types.push(typeof node.type === 'string' ? node.type : '');
    documentIndex.push(index);
  });

  const count = ids.length;
  const graphEdges: GraphEdge[] = [];
  const edgeIds = new Map<string, number>();
  edges.forEach((edge, index) => {
    if (!isRecord(edge)) return;
    const id = stringOrUndefined(edge.id);
    const owner: Owner = { edgeId: id };
    if (id !== undefined) {
      const first = edgeIds.get(id);
      if (first !== undefined) issues.add(['edges', index, 'id'], graphMessages.duplicateEdge(id, first), owner);
      else edgeIds.set(id, index);
    }
    const ends: number[] = [];
    for (const end of ['source', 'target'] as const) {
      const nodeId = edge[end];
      if (typeof nodeId !== 'string' || nodeId.length === 0) continue;
      const node = indexById.get(nodeId);
      if (node === undefined) issues.add(['edges', index, end], graphMessages.missingEnd.found(nodeId), owner);
      else ends.push(node);
    }
    const [source, target] = ends;
    if (ends.length !== 2 || source === undefined || target === undefined) return;
    if (source === target) {
      issues.add(['edges', index], graphMessages.selfLoop.found(ids[source]), owner);
      return;
    }
    graphEdges.push({ source, target, index, id: id ?? `edges[${index}]` });
  });

  const edgesOf: string[][] = Array.from({ length: count }, () => []);
  for (const edge of graphEdges) {
    edgesOf[edge.source]?.push(edge.id);
    edgesOf[edge.target]?.push(edge.id);
  }
  for (let node = 0; node < count; node += 1) {
    const type = types[node] as string;
    const own = edgesOf[node] as string[];
    const at = ['nodes', documentIndex[node] as number];
    const owner = { nodeId: ids[node] };
    const has = own.length === 0 ? 'none' : `${own.length} (${listNames(own, 5)})`;
    const limits = edgeLimits(type, knownTypes.has(type));
    if (own.length < limits.min) issues.add(at, type === TRIGGER ? graphMessages.triggerEdges.none : graphMessages.tooFewEdges(type, has), owner);
    // Only a trigger has an upper limit.
    else if (own.length > limits.max) issues.add(at, graphMessages.triggerEdges.tooMany(has), owner);
  }

  checkCycles(count, graphEdges, ids, issues);
  checkParts(count, graphEdges, { ids, types, documentIndex, indexById }, nodes, issues);
}

function checkCycles(count: number, graphEdges: readonly GraphEdge[], ids: readonly string[], issues: IssueList): void {
  const parents = Int32Array.from({ length: count }, (_, index) => index);
  const treeNeighbours: number[][] = Array.from({ length: count }, () => []);
  const closing: GraphEdge[] = [];
  for (const edge of graphEdges) {
    const a = find(parents, edge.source);
    const b = find(parents, edge.target);
    if (a === b) {
      closing.push(edge);
      continue;
    }
    parents[a] = b;
    treeNeighbours[edge.source]?.push(edge.target);
    treeNeighbours[edge.target]?.push(edge.source);
  }
  if (closing.length === 0) return;

  // Root the spanning forest so each closing edge's cycle is the edge plus the tree path between its ends.
  const treeParent = new Int32Array(count).fill(-1);
  const depth = new Int32Array(count).fill(-1);
  for (let root = 0; root < count; root += 1) {
    if (depth[root] !== -1) continue;
    depth[root] = 0;
    const queue = [root];
    for (let head = 0; head < queue.length; head += 1) {
      const current = queue[head] as number;
      for (const next of treeNeighbours[current] as number[]) {
        if (depth[next] !== -1) continue;
        depth[next] = (depth[current] as number) + 1;
        treeParent[next] = current;
        queue.push(next);
      }
    }
  }

  closing.forEach((edge, order) => {
    const owner = { edgeId: edge.id };
    const at = ['edges', edge.index];
    if (order >= MAX_NAMED_CYCLES) {
      issues.add(at, graphMessages.cycle.foundAgain(ids[edge.source], ids[edge.target]), owner);
      return;
    }
    const fromSource = [edge.source];
    const fromTarget = [edge.target];
    let a = edge.source;
    let b = edge.target;
    while (a !== b) {
      if ((depth[a] as number) >= (depth[b] as number)) {
        a = treeParent[a] as number;
        fromSource.push(a);
      } else {
        b = treeParent[b] as number;
        fromTarget.push(b);
      }
    }
    fromTarget.pop();
    const cycle = [...fromSource, ...fromTarget.reverse()].map((node) => ids[node] as string);
    issues.add(at, graphMessages.cycle.found(cycle), owner);
  });
}

function checkParts(count: number, graphEdges: readonly GraphEdge[], graph: GraphNodes, nodes: readonly unknown[], issues: IssueList): void {
  const { ids, types, documentIndex } = graph;
  for (const part of connectedParts(count, graphEdges)) {
    // A lone node is already reported for its missing edges; its part would only repeat that.
    if (part.length < 2) continue;
    const first = part[0] as number;
    const names = part.map((node) => ids[node] as string);
    const where = `this part of the flow (nodes ${listNames(names)})`;
    const triggers = part.filter((node) => types[node] === TRIGGER);
    const conflicts = part.filter((node) => types[node] === CONFLICT);
    const at = ['nodes', documentIndex[first] as number];
    if (triggers.length < 2) issues.add(at, graphMessages.triggersInPart(where, triggers.length), { nodeId: ids[first] });
    const [firstConflict] = conflicts;
    if (firstConflict === undefined) issues.add(at, graphMessages.noConflict(where), { nodeId: ids[first] });
    for (const extra of conflicts.slice(1)) {
      issues.add(['nodes', documentIndex[extra] as number], graphMessages.secondConflict.found(ids[firstConflict as number], ids[extra]), { nodeId: ids[extra] });
    }

    const triggerIds = new Set(triggers.map((node) => ids[node] as string));
    for (const conflict of conflicts) {
      const config = (nodes[documentIndex[conflict] as number] as Record<string, unknown>).config;
      if (!isRecord(config)) continue;
      const at = ['nodes', documentIndex[conflict] as number, 'config'];
      const owner = { nodeId: ids[conflict] };
      checkPrefer(config.policy, [...at, 'policy', 'prefer'], owner, triggerIds, graph, issues);
      if (isRecord(config.fields)) {
        for (const [field, policy] of Object.entries(config.fields)) checkPrefer(policy, [...at, 'fields', field, 'prefer'], owner, triggerIds, graph, issues);
      }
    }
  }
}

/** A `prefer` policy must name a trigger of the conflict node's own part. */
function checkPrefer(policy: unknown, at: PathSegment[], owner: Owner, triggerIds: ReadonlySet<string>, graph: GraphNodes, issues: IssueList): void {
  if (!isRecord(policy)) return;
  const prefer = stringOrUndefined(policy.prefer);
  if (prefer === undefined || triggerIds.has(prefer)) return;
  const node = graph.indexById.get(prefer);
  issues.add(at, graphMessages.preferNotTrigger(prefer, node === undefined ? undefined : graph.types[node], [...triggerIds]), owner);
}
