import { z } from 'zod';
import { FLOW_FORMAT, FLOW_VERSION, flowDocumentSchema, flowEdgeSchema, nodeRegistry, nodeSchemaFor, unknownNodeSchema, type FlowDocument } from '../index';
import type { NodeDefinition } from '../types';
import { checkGraph, TRIGGER } from './graphRules';
import { IssueList, type FlowIssue, type Owner } from './issues';
import { describeKind, errorMessage, quote, type PathSegment } from './messages';
import { documentMigrations, failedMigration, migrateConfig, migrateDocument, type DocumentMigration } from './migrate';
import { isRecord, stringOrUndefined } from './values';

// Shared by the runtime, the command line and the editor: no node: imports here.

/** A connector's complaint about a trigger's `connection`, with the path inside `connection`. */
export type ConnectionProblem = { path: (string | number)[]; message: string };

/** What the loader may know beyond the document: the runtime's connectors, and for tests other node types and versions. */
export interface LoadOptions {
  /** The connector registry's check of a trigger's `connection`; null when it knows no such connector. */
  checkConnection?(connector: string, connection: Record<string, unknown>): ConnectionProblem[] | null;
  /** The registry's check of a trigger's options that depend on its connector (`keys`); paths inside `config`. */
  checkTriggerOptions?(config: Record<string, unknown>): ConnectionProblem[];
  /** The connector names this Syncline has, for "unknown connector" errors. */
  knownConnectors?: readonly string[];
  /** Node types to load against (default: the registry). Tests inject node types with migrations here. */
  registry?: Readonly<Record<string, NodeDefinition>>;
  /** Document migrations (default: `documentMigrations`). */
  documentMigrations?: readonly DocumentMigration[];
  /** The flow version this code writes (default: FLOW_VERSION); only tests set it, to exercise migrations. */
  flowVersion?: number;
}

/** A loaded document, what an editor can show of it, and every problem found. */
export interface LoadResult {
  /** The parsed document with defaults applied, or null when there is any error. */
  document: FlowDocument | null;
  /** The input after migrations, everything kept (unknown keys, unknown node types): what an editor can show. */
  migrated: unknown;
  issues: FlowIssue[];
}

/** Values nested deeper than this inside one node or edge are refused: no flow needs them, and they would overflow recursive code. */
const MAX_NESTING = 64;

/** The path of the first place nested deeper than `limit` inside `root`, or null. Iterative, so depth cannot overflow the stack. */
function tooDeepPath(root: unknown, limit: number): PathSegment[] | null {
  type Frame = { container: object; keys: PathSegment[]; next: number; key: PathSegment };
  const frameFor = (container: object, key: PathSegment): Frame => ({
    container,
    keys: Array.isArray(container) ? [] : Object.keys(container),
    next: 0,
    key,
  });
  if (typeof root !== 'object' || root === null) return null;
  const stack: Frame[] = [frameFor(root, '')];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const isArray = Array.isArray(frame.container);
    const size = isArray ? (frame.container as unknown[]).length : frame.keys.length;
    if (frame.next >= size) {
      stack.pop();
      continue;
    }
    const key = isArray ? frame.next : (frame.keys[frame.next] as string);
    frame.next += 1;
    const child = (frame.container as Record<PathSegment, unknown>)[key];
    if (typeof child !== 'object' || child === null) continue;
    if (stack.length >= limit) return [...stack.slice(1).map((entry) => entry.key), key];
    stack.push(frameFor(child, key));
  }
  return null;
}

const nodeKeys = Object.keys(unknownNodeSchema.shape);
const edgeKeys = Object.keys(flowEdgeSchema.shape);
const documentKeys = Object.keys(flowDocumentSchema.shape);

const topLevelSchema = z.strictObject({
  // Checked before migrating; listed so they are not reported as unknown keys.
  format: z.unknown().optional(),
  version: z.unknown().optional(),
  id: flowDocumentSchema.shape.id,
  name: flowDocumentSchema.shape.name,
  nodes: z.array(z.unknown()),
  edges: z.array(z.unknown()),
});

// Keyed by definition: a definition is registered under its own type name.
const nodeSchemas = new WeakMap<NodeDefinition, z.ZodType>();

/** A node's schema for one node type, built once per definition: a document of 100k nodes asks for it 100k times. */
function cachedNodeSchema(type: string, definition: NodeDefinition): z.ZodType {
  let schema = nodeSchemas.get(definition);
  if (!schema) {
    schema = nodeSchemaFor(type, definition.schema);
    nodeSchemas.set(definition, schema);
  }
  return schema;
}

/** Loads a flow document: migrates it, then checks everything (SPEC §1, §4) and reports every problem at once. */
export function loadFlow(input: unknown, options: LoadOptions = {}): LoadResult {
  const issues = new IssueList();
  const flowVersion = options.flowVersion ?? FLOW_VERSION;
  const refuse = (): LoadResult => ({ document: null, migrated: input, issues: issues.items });

  if (!isRecord(input)) {
    issues.add([], `a flow document must be a JSON object such as {"format": "${FLOW_FORMAT}", "version": ${flowVersion}, ...}, not ${describeKind(input)}: export the flow from Syncline again`);
    return refuse();
  }

  if (input.format === undefined) {
    issues.add(['format'], `missing: add "format": "${FLOW_FORMAT}"`);
  } else if (input.format !== FLOW_FORMAT) {
    issues.add(['format'], `${quote(input.format)} is not a Syncline flow (expected "${FLOW_FORMAT}"): check that this is a flow exported from Syncline`);
    return refuse();
  }

  let document: Record<string, unknown> = input;
  const version = input.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    const problem = version === undefined ? 'missing: add' : `must be a whole number of at least 1, not ${describeKind(version)}: write`;
    issues.add(['version'], `${problem} "version": ${flowVersion} (the flow version this Syncline writes)`);
  } else if (version > flowVersion) {
    issues.add(['version'], `this document was made by a newer Syncline (flow version ${version}; this one reads up to version ${flowVersion}): open it with that Syncline or a newer one`);
    return refuse();
  } else if (version < flowVersion) {
    const migrated = migrateDocument(input, version, flowVersion, options.documentMigrations ?? documentMigrations, issues);
    if (!migrated) return refuse();
    document = migrated;
  }

  const top = issues.parse(topLevelSchema, document, [], {}, documentKeys);
  const rawNodes = Array.isArray(document.nodes) ? (document.nodes as unknown[]) : [];
  const rawEdges = Array.isArray(document.edges) ? (document.edges as unknown[]) : [];

  const registry = options.registry ?? (nodeRegistry as Readonly<Record<string, NodeDefinition>>);
  const knownTypes = Object.keys(registry);
  const nodes: unknown[] = [];
  const parsedNodes: unknown[] = [];
  let nodesChanged = false;
  rawNodes.forEach((raw, index) => {
    const loaded = loadNode(raw, index, registry, knownTypes, options, issues);
    nodes.push(loaded.node);
    parsedNodes.push(loaded.parsed);
    if (loaded.node !== raw) nodesChanged = true;
  });
  if (nodesChanged) document = { ...document, nodes };

  const parsedEdges: unknown[] = [];
  rawEdges.forEach((raw, index) => {
    const owner: Owner = isRecord(raw) ? { edgeId: stringOrUndefined(raw.id) } : {};
    const deep = tooDeepPath(raw, MAX_NESTING);
    if (deep) {
      issues.add(['edges', index, ...deep], `nested more than ${MAX_NESTING} levels deep: an edge is only { "id", "source", "target" }`, owner);
      return;
    }
    const parsed = issues.parse(flowEdgeSchema, raw, ['edges', index], owner, edgeKeys);
    if (parsed.ok) parsedEdges.push(parsed.data);
  });

  checkGraph(nodes, rawEdges, new Set(knownTypes), issues);
  if (rawNodes.length === 0 && Array.isArray(document.nodes)) {
    issues.add(['nodes'], 'the flow has no nodes yet, so it syncs nothing: add a trigger for each system and a conflict node between them', {}, 'warning');
  }

  if (issues.errors > 0 || !top.ok) return { document: null, migrated: document, issues: issues.items };
  // Assembled from the parts parsed above (defaults applied), in flowDocumentSchema's key order.
  const parsedDocument = {
    format: FLOW_FORMAT,
    version: flowVersion,
    id: top.data.id,
    name: top.data.name,
    nodes: parsedNodes,
    edges: parsedEdges,
  } as unknown as FlowDocument;
  return { document: parsedDocument, migrated: document, issues: issues.items };
}

/** Migrates and checks one node; an unknown type or a newer version keeps the node as it is, checked as far as can be. */
function loadNode(
  raw: unknown,
  index: number,
  registry: Readonly<Record<string, NodeDefinition>>,
  knownTypes: readonly string[],
  options: LoadOptions,
  issues: IssueList,
): { node: unknown; parsed: unknown } {
  const at: PathSegment[] = ['nodes', index];
  if (!isRecord(raw)) {
    issues.add(at, `must be a node object ({ "id", "type", "typeVersion", "position", "config" }), not ${describeKind(raw)}`);
    return { node: raw, parsed: undefined };
  }
  const owner: Owner = { nodeId: stringOrUndefined(raw.id) };
  const deep = tooDeepPath(raw, MAX_NESTING);
  if (deep) {
    issues.add([...at, ...deep], `nested more than ${MAX_NESTING} levels deep: no node config needs that; flatten or remove it`, owner);
    return { node: raw, parsed: undefined };
  }

  const type = raw.type;
  const definition = typeof type === 'string' && Object.hasOwn(registry, type) ? registry[type] : undefined;
  if (!definition) {
    if (typeof type === 'string') {
      issues.add([...at, 'type'], `unknown node type ${quote(type)}: the node is kept but cannot run; use one of ${knownTypes.join(', ')}`, owner);
    } else {
      issues.add([...at, 'type'], `${type === undefined ? 'missing' : `must be text, not ${describeKind(type)}`}: name the node type, one of ${knownTypes.join(', ')}`, owner);
    }
    issues.parse(unknownNodeSchema, { ...raw, type: '' }, at, owner, nodeKeys);
    return { node: raw, parsed: undefined };
  }

  let node: Record<string, unknown> = raw;
  const typeVersion = raw.typeVersion;
  if (typeof typeVersion === 'number' && Number.isInteger(typeVersion) && typeVersion >= 1) {
    if (typeVersion > definition.typeVersion) {
      issues.add(
        [...at, 'typeVersion'],
        `this ${type} node was made by a newer Syncline (version ${typeVersion}; this one knows up to ${definition.typeVersion}): open the flow with that Syncline or a newer one`,
        owner,
      );
      issues.parse(unknownNodeSchema, raw, at, owner, nodeKeys);
      return { node: raw, parsed: undefined };
    }
    if (typeVersion < definition.typeVersion) {
      const config = migrateConfig(raw.config, typeVersion, definition, [...at, 'config'], owner, issues);
      if (config === failedMigration) return { node: raw, parsed: undefined };
      node = { ...raw, typeVersion: definition.typeVersion, config };
    }
  }

  const parsed = issues.parse(cachedNodeSchema(type as string, definition), node, at, owner, nodeKeys);
  if (type === TRIGGER) checkConnector(node.config, [...at, 'config'], owner, options, issues);
  if (parsed.ok && definition.advise) {
    for (const advice of definition.advise((parsed.data as { config: unknown }).config)) issues.add([...at, 'config', ...advice.path], advice.message, owner, 'warning');
  }
  return { node, parsed: parsed.ok ? parsed.data : undefined };
}

/** A trigger's connector must be one this Syncline has, its connection what that connector reads, and its options ones it can serve (`keys`). */
function checkConnector(config: unknown, at: PathSegment[], owner: Owner, options: LoadOptions, issues: IssueList): void {
  if (!isRecord(config)) return;
  const connector = config.connector;
  if (typeof connector !== 'string' || connector.length === 0) return;
  const known = options.knownConnectors;
  const unknownConnector = () =>
    issues.add([...at, 'connector'], `unknown connector ${quote(connector)}${known ? `; known: ${known.join(', ')}` : ''}`, owner);
  if (options.checkConnection) {
    if (!isRecord(config.connection)) return;
    let problems: ConnectionProblem[] | null;
    try {
      problems = options.checkConnection(connector, config.connection);
    } catch (error) {
      issues.add([...at, 'connection'], `could not be checked (${errorMessage(error)})`, owner);
      return;
    }
    if (problems === null) unknownConnector();
    else for (const problem of problems) issues.add([...at, 'connection', ...problem.path], problem.message, owner);
  } else if (known && !known.includes(connector)) {
    unknownConnector();
  }
  for (const problem of options.checkTriggerOptions?.(config) ?? []) issues.add([...at, ...problem.path], problem.message, owner);
}
