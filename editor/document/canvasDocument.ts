import type { Edge, Node } from '@xyflow/react';
import { FLOW_FORMAT, FLOW_VERSION, isNodeType, nodeRegistry } from '../../nodes';
import type { FlowIssue } from '../../nodes/flow/issues';
import { quote } from '../../nodes/flow/messages';
import { isRecord } from '../../nodes/flow/values';

/** What the canvas keeps of one document node; `extra` holds keys the format does not know, so they survive a round trip. */
export interface NodeData extends Record<string, unknown> {
  type: string;
  typeVersion: unknown;
  label?: string;
  config: unknown;
  /**
   * Keys the canvas cannot represent, written back as they were: unknown keys, and a label, type or position
   * of the wrong kind (so the validator keeps reporting it, and export never silently repairs it).
   */
  extra: Record<string, unknown>;
  /** Where the canvas shows a node whose position could not be read; while it stays there, export writes the original. */
  fallbackPosition?: { x: number; y: number };
  /**
   * The id the file gave this node when an earlier node already had it: the canvas needs one id per node, so it shows
   * this one under another, and reports it (`canvasIssues`) until the node is given an id of its own.
   */
  duplicateId?: string;
}

export interface EdgeData extends Record<string, unknown> {
  extra: Record<string, unknown>;
}

export type CanvasNode = Node<NodeData>;
export type CanvasEdge = Edge<EdgeData>;

/** The document's own fields apart from its graph; `extra` keeps unknown top-level keys (SPEC §1). */
export interface FlowMeta {
  format: unknown;
  version: unknown;
  id: string;
  name: string;
  /** Unknown keys, and an id or name that is missing or not text (written back as it was until edited). */
  extra: Record<string, unknown>;
}

export interface CanvasFlow {
  meta: FlowMeta;
  nodes: CanvasNode[];
  edges: CanvasEdge[];
}

/** Canvas node type for a document node type: one React Flow type per registered node type, and one for the rest. */
export const canvasTypeOf = (type: string): string => (isNodeType(type) ? type : 'unknown');

const NODE_KEYS = new Set(['id', 'type', 'typeVersion', 'position', 'label', 'config']);
const EDGE_KEYS = new Set(['id', 'source', 'target']);
const DOCUMENT_KEYS = new Set(['format', 'version', 'id', 'name', 'nodes', 'edges']);

function extraKeys(input: Record<string, unknown>, known: Set<string>): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) if (!known.has(key)) extra[key] = value;
  return extra;
}

function readPosition(input: unknown): { x: number; y: number } | null {
  return isRecord(input) && typeof input.x === 'number' && typeof input.y === 'number' && Object.keys(input).length === 2
    ? { x: input.x, y: input.y }
    : null;
}

/** A node without a usable position still has to appear somewhere: on a grid below the origin. */
function gridPosition(index: number): { x: number; y: number } {
  return { x: (index % 6) * 240, y: 400 + Math.floor(index / 6) * 160 };
}

/** An empty flow with the given id and name. */
export function emptyFlow(id = 'untitled', name = 'Untitled flow'): CanvasFlow {
  return { meta: { format: FLOW_FORMAT, version: FLOW_VERSION, id, name, extra: {} }, nodes: [], edges: [] };
}

/** A canvas node of a registered type, with the type's default config. */
export function newCanvasNode(type: keyof typeof nodeRegistry, id: string, position: { x: number; y: number }): CanvasNode {
  const definition = nodeRegistry[type];
  return {
    id,
    type: canvasTypeOf(type),
    position,
    data: { type, typeVersion: definition.typeVersion, config: definition.defaults(), extra: {} },
  };
}

/**
 * Reads any JSON value as a canvas flow, keeping everything it can: unknown keys and node types stay, and nodes
 * without a usable id get one so they can still be shown (the validator reports what is wrong with them).
 */
export function canvasFromDocument(input: unknown): CanvasFlow {
  const doc = isRecord(input) ? input : {};
  const metaExtra = extraKeys(doc, DOCUMENT_KEYS);
  if (typeof doc.id !== 'string') metaExtra.id = doc.id;
  if (typeof doc.name !== 'string') metaExtra.name = doc.name;
  const meta: FlowMeta = {
    format: doc.format,
    version: doc.version,
    id: typeof doc.id === 'string' ? doc.id : 'untitled',
    name: typeof doc.name === 'string' ? doc.name : '',
    extra: metaExtra,
  };
  const rawNodes = Array.isArray(doc.nodes) ? doc.nodes : [];
  const seen = new Set<string>();
  // An id the canvas makes up is one the file does not use, so that only a real duplicate is reported as one.
  const fileIds = new Set(rawNodes.map((raw) => (isRecord(raw) ? raw.id : undefined)));
  const nodes: CanvasNode[] = rawNodes.map((raw, index) => {
    const node = isRecord(raw) ? raw : {};
    const given = typeof node.id === 'string' && node.id !== '' ? node.id : undefined;
    let id = given ?? `node-${index + 1}`;
    while (seen.has(id) || (id !== given && fileIds.has(id))) id = `${id}-copy`;
    seen.add(id);
    const extra = extraKeys(node, NODE_KEYS);
    const type = typeof node.type === 'string' ? node.type : 'unknown';
    if (typeof node.type !== 'string') extra.type = node.type;
    const data: NodeData = { type, typeVersion: node.typeVersion, config: node.config, extra };
    if (given !== undefined && id !== given) data.duplicateId = given;
    if (typeof node.label === 'string') data.label = node.label;
    else if ('label' in node) extra.label = node.label;
    let position = readPosition(node.position);
    if (!position) {
      position = gridPosition(index);
      data.fallbackPosition = position;
      extra.position = node.position;
    }
    return { id, type: canvasTypeOf(type), position, data };
  });
  const rawEdges = Array.isArray(doc.edges) ? doc.edges : [];
  const edges: CanvasEdge[] = rawEdges.filter(isRecord).map((edge, index) => {
    const extra = extraKeys(edge, EDGE_KEYS);
    // Ends that are not text cannot be drawn; they are written back as they were.
    for (const key of ['id', 'source', 'target'] as const) if (typeof edge[key] !== 'string') extra[key] = edge[key];
    return {
      id: typeof edge.id === 'string' && edge.id !== '' ? edge.id : `edge-${index + 1}`,
      source: typeof edge.source === 'string' ? edge.source : '',
      target: typeof edge.target === 'string' ? edge.target : '',
      data: { extra },
    };
  });
  return { meta, nodes, edges };
}

/** What the canvas changed in reading a file, which the document it writes no longer shows the validator. */
export const canvasMessages = {
  duplicateId: (fileId: string, shownAs: string) => `duplicate node id ${quote(fileId)} in the file; shown as ${quote(shownAs)} until you give it an id of its own`,
};

/** Issues of the canvas beside the validator's: a node shown under another id than the file's duplicate one. */
export function canvasIssues(nodes: readonly CanvasNode[]): FlowIssue[] {
  return nodes.flatMap((node, index) =>
    node.data.duplicateId === undefined
      ? []
      : [{ path: `nodes[${index}].id`, nodeId: node.id, message: canvasMessages.duplicateId(node.data.duplicateId, node.id), severity: 'error' as const }],
  );
}

/** Node shape of SPEC §1 for one canvas node; positions are rounded because sub-pixel drags are noise in a diff. */
export function documentNode(node: CanvasNode): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: node.id,
    type: node.data.type,
    typeVersion: node.data.typeVersion,
    position: { x: Math.round(node.position.x), y: Math.round(node.position.y) },
  };
  if (node.data.typeVersion === undefined) delete out.typeVersion;
  if (node.data.label !== undefined && node.data.label !== '') out.label = node.data.label;
  out.config = node.data.config;
  const { fallbackPosition } = node.data;
  const moved = fallbackPosition !== undefined && (fallbackPosition.x !== node.position.x || fallbackPosition.y !== node.position.y);
  if (!moved) return { ...out, ...node.data.extra };
  // Once moved, the node has a real position, which replaces the unreadable one.
  const { position: _unreadable, ...extra } = node.data.extra;
  return { ...out, ...extra };
}

/** The flow document (SPEC §1) the canvas shows, keys in the order of the SPEC, unknown keys after. */
export function documentFromCanvas(flow: CanvasFlow): Record<string, unknown> {
  return {
    format: flow.meta.format,
    version: flow.meta.version,
    id: flow.meta.id,
    name: flow.meta.name,
    nodes: flow.nodes.map(documentNode),
    edges: flow.edges.map((edge) => ({ id: edge.id, source: edge.source, target: edge.target, ...edge.data?.extra })),
    ...flow.meta.extra,
  };
}
