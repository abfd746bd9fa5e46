import { applyEdgeChanges, applyNodeChanges } from '@xyflow/react';
import { documentFromCanvas, newCanvasNode, type CanvasEdge, type CanvasNode, type NodeData } from '../document/canvasDocument';
import { connectionRefusal } from '../document/connectionRules';
import type { FlowSliceActions, FlowSliceState, SliceContext } from './types';

/**
 * Why a stored flow's id cannot be edited: the runtime keeps a flow under its id and has no way to rename one
 * (docs/api.md, `PUT /api/flows/:id`), so a new id would be deployed as a second flow beside the first.
 */
export const STORED_FLOW_ID = 'The runtime stores this flow under this id, which cannot change. To copy the flow under another id, Export it and Import the file as a new flow.';

/** The flow id is fixed: the runtime stores the flow (a draft only is kept under whatever id it has). */
export const flowIdFixed = (state: { savedId: string | null }): boolean => state.savedId !== null;

/** The smallest `${prefix}${n}` not taken, so ids stay short and readable in the exported file. */
function freeId(prefix: string, taken: ReadonlySet<string>): string {
  for (let n = 1; ; n += 1) if (!taken.has(`${prefix}${n}`)) return `${prefix}${n}`;
}

const NODE_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** A prefer policy that names `oldId` names `newId` instead; anything else is returned as it is. */
function renamePolicy(policy: unknown, oldId: string, newId: string): unknown {
  if (typeof policy === 'object' && policy !== null && (policy as { prefer?: unknown }).prefer === oldId) {
    return { ...(policy as object), prefer: newId };
  }
  return policy;
}

/** A conflict config with every reference to trigger `oldId` renamed; the same object when none changed. */
function renameInConflictConfig(config: unknown, oldId: string, newId: string): unknown {
  if (typeof config !== 'object' || config === null) return config;
  const current = config as { policy?: unknown; fields?: unknown };
  let changed = false;
  const next: Record<string, unknown> = { ...(config as Record<string, unknown>) };
  const policy = renamePolicy(current.policy, oldId, newId);
  if (policy !== current.policy) {
    next.policy = policy;
    changed = true;
  }
  if (typeof current.fields === 'object' && current.fields !== null) {
    const fields: Record<string, unknown> = {};
    for (const [field, fieldPolicy] of Object.entries(current.fields)) {
      fields[field] = renamePolicy(fieldPolicy, oldId, newId);
      if (fields[field] !== fieldPolicy) changed = true;
    }
    next.fields = fields;
  }
  return changed ? next : config;
}

/** A node's data once it has an id of its own: given by the person, or made fresh for a pasted copy. */
function withoutDuplicateId(data: NodeData): NodeData {
  if (data.duplicateId === undefined) return data;
  const { duplicateId: _given, ...rest } = data;
  return rest;
}

/** The flow slice: the nodes, edges and document fields, changed only through these actions. */
export function createFlowSlice(initial: FlowSliceState, { set, get, history, deps }: SliceContext): FlowSliceState & FlowSliceActions {
  const refuse = (reason: string) => {
    get().notify('error', reason);
    return reason;
  };

  return {
    ...initial,

    applyNodeChanges: (changes) => set({ nodes: applyNodeChanges(changes, get().nodes) }),
    applyEdgeChanges: (changes) => set({ edges: applyEdgeChanges(changes, get().edges) }),

    connect: ({ source, target }) => {
      const { nodes, edges } = get();
      const reason = connectionRefusal({ nodes, edges }, source, target);
      if (reason) return refuse(reason);
      const id = freeId('e', new Set(edges.map((edge) => edge.id)));
      set({ edges: [...edges, { id, source, target, data: { extra: {} } }] });
      return null;
    },

    addNode: (type, position) => {
      const { nodes } = get();
      const id = freeId(`${type}-`, new Set(nodes.map((node) => node.id)));
      const node = { ...newCanvasNode(type, id, position), selected: true };
      set({ nodes: [...nodes.map((other) => (other.selected ? { ...other, selected: false } : other)), node] });
      return id;
    },

    deleteElements: (nodeIds, edgeIds) => {
      if (nodeIds.length === 0 && edgeIds.length === 0) return;
      const goneNodes = new Set(nodeIds);
      const goneEdges = new Set(edgeIds);
      // One set, so one undo step brings back a node together with its edges.
      set({
        nodes: get().nodes.filter((node) => !goneNodes.has(node.id)),
        edges: get().edges.filter((edge) => !goneEdges.has(edge.id) && !goneNodes.has(edge.source) && !goneNodes.has(edge.target)),
      });
    },

    deleteSelection: () => {
      const { nodes, edges } = get();
      get().deleteElements(
        nodes.filter((node) => node.selected).map((node) => node.id),
        edges.filter((edge) => edge.selected).map((edge) => edge.id),
      );
    },

    updateConfig: (nodeId, config) =>
      history.coalesce(`config:${nodeId}`, () =>
        set({ nodes: get().nodes.map((node) => (node.id === nodeId ? { ...node, data: { ...node.data, config } } : node)) }),
      ),

    setLabel: (nodeId, label) =>
      history.coalesce(`label:${nodeId}`, () =>
        set({
          nodes: get().nodes.map((node) => {
            if (node.id !== nodeId) return node;
            const data = { ...node.data };
            if (label === '') delete data.label;
            else data.label = label;
            return { ...node, data };
          }),
        }),
      ),

    renameNode: (oldId, newId) => {
      if (oldId === newId) return null;
      const { nodes, edges } = get();
      if (!NODE_ID.test(newId)) return 'An id uses letters, digits, "_", "-" and "." only, and is not empty.';
      if (nodes.some((node) => node.id === newId)) return `Another node already has the id "${newId}".`;
      set({
        nodes: nodes.map((node) => {
          if (node.id === oldId) return { ...node, id: newId, data: withoutDuplicateId(node.data) };
          if (node.data.type !== 'conflict') return node;
          const config = renameInConflictConfig(node.data.config, oldId, newId);
          return config === node.data.config ? node : { ...node, data: { ...node.data, config } };
        }),
        edges: edges.map((edge) =>
          edge.source === oldId || edge.target === oldId
            ? { ...edge, source: edge.source === oldId ? newId : edge.source, target: edge.target === oldId ? newId : edge.target }
            : edge,
        ),
      });
      return null;
    },

    setMeta: (input) => {
      const { meta } = get();
      let patch = input;
      if (patch.id !== undefined && patch.id !== meta.id && flowIdFixed(get())) {
        const { id: _fixed, ...rest } = patch;
        refuse(STORED_FLOW_ID);
        patch = rest;
      }
      // An edited id or name replaces whatever unreadable value the imported document had there.
      const extra = { ...meta.extra };
      for (const key of Object.keys(patch)) delete extra[key];
      set({ meta: { ...meta, ...patch, extra } });
    },

    replaceFlow: (flow) => {
      set({
        meta: flow.meta,
        nodes: flow.nodes,
        edges: flow.edges,
        savedId: null,
        savedDocument: null,
        serverIssues: null,
        deployed: false,
        lastRun: null,
        dryRun: null,
        runs: null,
        openRun: null,
        conflicts: null,
        status: {},
        described: {},
        viewRevision: get().viewRevision + 1,
      });
      history.clear();
    },

    exportText: () => deps.serialize(documentFromCanvas(get())),

    setPositions: (positions) =>
      set({
        nodes: get().nodes.map((node) => {
          const position = positions.get(node.id);
          return position ? { ...node, position } : node;
        }),
      }),

    selectOnly: (nodeIds) => {
      const wanted = new Set(nodeIds);
      set({
        nodes: get().nodes.map((node) => (Boolean(node.selected) === wanted.has(node.id) ? node : { ...node, selected: wanted.has(node.id) })),
        edges: get().edges.map((edge) => (edge.selected ? { ...edge, selected: false } : edge)),
      });
    },

    copySelection: () => {
      const { nodes, edges } = get();
      const copied = nodes.filter((node) => node.selected);
      const ids = new Set(copied.map((node) => node.id));
      const inner = edges.filter((edge) => ids.has(edge.source) && ids.has(edge.target));
      if (copied.length > 0) set({ clipboard: { nodes: copied, edges: inner } });
      return copied.length;
    },

    paste: () => {
      const { clipboard, nodes, edges } = get();
      if (!clipboard || clipboard.nodes.length === 0) return 0;
      const takenNodes = new Set(nodes.map((node) => node.id));
      const takenEdges = new Set(edges.map((edge) => edge.id));
      const renamed = new Map<string, string>();
      const pasted: CanvasNode[] = clipboard.nodes.map((node) => {
        const id = freeId(`${node.data.type}-`, takenNodes);
        takenNodes.add(id);
        renamed.set(node.id, id);
        return {
          id,
          type: node.type,
          position: { x: node.position.x + 40, y: node.position.y + 40 },
          data: withoutDuplicateId(structuredClone(node.data)),
          selected: true,
        };
      });
      const pastedEdges: CanvasEdge[] = clipboard.edges.map((edge) => {
        const id = freeId('e', takenEdges);
        takenEdges.add(id);
        return { id, source: renamed.get(edge.source) as string, target: renamed.get(edge.target) as string, data: { extra: {} } };
      });
      set({
        nodes: [...nodes.map((node) => (node.selected ? { ...node, selected: false } : node)), ...pasted],
        edges: [...edges.map((edge) => (edge.selected ? { ...edge, selected: false } : edge)), ...pastedEdges],
        // The next paste lands another step further, so copies never hide each other.
        clipboard: { nodes: pasted.map((node) => ({ ...node, selected: false })), edges: pastedEdges },
      });
      return pasted.length;
    },

    beginDrag: () => {
      history.beginDrag();
      set({ dragging: true });
    },
    endDrag: () => {
      history.endDrag();
      set({ dragging: false });
    },
  };
}
