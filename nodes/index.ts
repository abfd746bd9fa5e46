import { z } from 'zod';
import { conflict } from './conflict';
import { filter } from './filter';
import { mapping } from './mapping';
import { transform } from './transform';
import { trigger } from './trigger';
import type { NodeDefinition } from './types';

/**
 * Every node type Syncline knows, one line per node folder; the flow document schema below derives from it. The
 * editor's forms and glyphs are in ./ui.ts, which the runtime never loads; its `satisfies` keeps the same types.
 */
export const nodeRegistry = { trigger, transform, mapping, conflict, filter } satisfies Record<string, NodeDefinition>;

export type NodeType = keyof typeof nodeRegistry;
export const nodeTypes = Object.keys(nodeRegistry) as NodeType[];

export function isNodeType(type: unknown): type is NodeType {
  return typeof type === 'string' && Object.hasOwn(nodeRegistry, type);
}

export const positionSchema = z.strictObject({ x: z.number(), y: z.number() });

/**
 * A flow id names the flow in URLs (`/api/flows/:id`, `/hooks/:flowId/:nodeId`), in write tags
 * (`syncline:<flow>:<write>`, so never a `:`), in log lines and in the export's file name (`<id>.flow.json`).
 */
export const FLOW_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** A node id names the node in webhook URLs (`/hooks/:flowId/:nodeId`), conflict policies and the run log. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export const flowIdSchema = z.string().regex(FLOW_ID_PATTERN, {
  error: `must match ${FLOW_ID_PATTERN.source} (1 to 64 letters, digits, "-" and "_", starting with a letter or digit), as it goes into URLs and write tags: rename the flow`,
});
export const nodeIdSchema = z.string().regex(NODE_ID_PATTERN, {
  error: `must match ${NODE_ID_PATTERN.source} (1 to 64 letters, digits, "-", "_" and ".", starting with a letter, digit or "_"), as it goes into webhook URLs: rename the node`,
});

/** A node's keys in document order, with the schemas of its `type` and `config`. */
type NodeShape<Type extends z.ZodType, Config extends z.ZodType> = {
  id: typeof nodeIdSchema;
  type: Type;
  typeVersion: z.ZodNumber;
  position: typeof positionSchema;
  label: z.ZodOptional<z.ZodString>;
  config: Config;
};

function nodeShape<Type extends z.ZodType, Config extends z.ZodType>(type: Type, config: Config): NodeShape<Type, Config> {
  return { id: nodeIdSchema, type, typeVersion: z.number().int().min(1), position: positionSchema, label: z.string().optional(), config };
}

/** The schema of a node of type `type` whose config `config` checks; the loader builds one per injected node type too. */
export function nodeSchemaFor<Type extends string, Config extends z.ZodType>(type: Type, config: Config) {
  return z.strictObject(nodeShape(z.literal(type), config));
}

/** A node whose type is unknown (or whose config cannot be read yet): everything but its config is checked. */
export const unknownNodeSchema = z.strictObject(nodeShape(z.string(), z.unknown().optional()));

type AnyNodeSchema = {
  [T in NodeType]: (typeof nodeRegistry)[T]['schema'] extends infer Config extends z.ZodType ? z.ZodObject<NodeShape<z.ZodLiteral<T>, Config>, z.core.$strict> : never;
}[NodeType];

/** A node of the flow document, one member per registered node type (discriminated by `type`). */
export const flowNodeSchema = z.discriminatedUnion(
  'type',
  nodeTypes.map((type) => nodeSchemaFor(type, nodeRegistry[type].schema)) as [AnyNodeSchema, ...AnyNodeSchema[]],
);

export const flowEdgeSchema = z.strictObject({
  id: z.string().min(1),
  source: z.string().min(1),
  target: z.string().min(1),
});

export const FLOW_FORMAT = 'syncline.flow';
export const FLOW_VERSION = 1;

/** The flow document of SPEC §1, derived from the registry. Graph rules are checked by `loadFlow` (flow/graphRules.ts). */
export const flowDocumentSchema = z.strictObject({
  format: z.literal(FLOW_FORMAT),
  version: z.literal(FLOW_VERSION),
  id: flowIdSchema,
  name: z.string(),
  nodes: z.array(flowNodeSchema),
  edges: z.array(flowEdgeSchema),
});

export type FlowNode = z.infer<typeof flowNodeSchema>;
export type FlowEdge = z.infer<typeof flowEdgeSchema>;
export type FlowDocument = z.infer<typeof flowDocumentSchema>;
export type NodeOfType<T extends NodeType> = Extract<FlowNode, { type: T }>;
export type ConfigOf<T extends NodeType> = z.infer<(typeof nodeRegistry)[T]['schema']>;
