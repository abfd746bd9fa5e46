import type { z } from 'zod';

/** A record as it travels through a flow: field name to JSON value. Identity fields (key, updatedAt, tag) never travel. */
export type FlowRecord = Record<string, unknown>;

/** Forward runs along an edge from source to target; backward from target to source (SPEC §2). */
export type Direction = 'forward' | 'backward';

/** Limits every expression runs under, so a runaway expression fails one record instead of the process. */
export interface ExpressionLimits {
  timeoutMs: number;
  maxDepth: number;
}

export const defaultExpressionLimits: ExpressionLimits = { timeoutMs: 100, maxDepth: 200 };

/** What a node may know while it transforms one record. */
export interface BehaviourContext {
  nodeId: string;
  limits: ExpressionLimits;
}

/** A record passed on, or dropped (a filter) with the reason. */
export type NodeOutcome = { kind: 'pass'; record: FlowRecord } | { kind: 'drop'; reason: string };

/**
 * A node could not transform one record (an unmapped value, an expression that failed or ran too long).
 * The engine fails that record and goes on with the others.
 */
export class RecordError extends Error {
  readonly nodeId: string;
  readonly field: string | undefined;
  constructor(nodeId: string, message: string, field?: string) {
    super(message);
    this.name = 'RecordError';
    this.nodeId = nodeId;
    this.field = field;
  }
}

/** One place where backward(forward(x)) differs from x for a sample record: the field would flap between systems. */
export interface RoundTripIssue {
  nodeId: string;
  /** What flows both ways and is lossy, e.g. `ops[2] (scale amount)` or `fields[1] (full_name <-> name)`. */
  part: string;
  sampleIndex: number;
  field: string;
  before: unknown;
  after: unknown;
}

/** Pure forward and backward behaviour of a node over records (SPEC §2–§3). */
export interface NodeBehaviour<Config> {
  forward(record: FlowRecord, config: Config, ctx: BehaviourContext): NodeOutcome | Promise<NodeOutcome>;
  backward(record: FlowRecord, config: Config, ctx: BehaviourContext): NodeOutcome | Promise<NodeOutcome>;
  /** For each part that flows both ways, where backward(forward(sample)) differs from the sample. */
  roundTrip?(samples: FlowRecord[], config: Config, ctx: BehaviourContext): Promise<RoundTripIssue[]>;
}

/** Upgrades a node's config from one typeVersion to the next; `migrations[i]` takes version i+1 to i+2. */
export type ConfigMigration = (config: unknown) => unknown;

/** A warning about a valid config, at `path` inside it. */
export interface ConfigAdvice {
  path: (string | number)[];
  message: string;
}

/**
 * Everything the runtime and validation know of a node type, exported by its folder's index.ts. Adding a node type is
 * one folder, one line in the registry (nodes/index.ts) and, for its editor form and glyph (its ui.ts), one line in
 * nodes/ui.ts, which the type checker holds to the same types.
 */
export interface NodeDefinition<Schema extends z.ZodType = z.ZodType> {
  type: string;
  /** The current version; documents at older versions are migrated on load. */
  typeVersion: number;
  migrations: ConfigMigration[];
  /** Palette name ("Trigger", "Transform", ...). */
  title: string;
  description: string;
  schema: Schema;
  /** A config a freshly dropped node starts with (it may not validate until the user fills it in). */
  defaults(): unknown;
  /** One line for the canvas, e.g. `sqlite · leads`. */
  summarize(config: z.infer<Schema>): string;
  /**
   * Warnings about a config that is valid but likely not what its author meant (a mapping that passes no field), with
   * paths inside the config. The loader reports them beside the node.
   */
  advise?(config: z.infer<Schema>): ConfigAdvice[];
  /** Triggers have no behaviour: they are where records enter and leave the flow. */
  behaviour: NodeBehaviour<z.infer<Schema>> | null;
}
