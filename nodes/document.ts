import { z } from 'zod';
import { FLOW_FORMAT, FLOW_VERSION, flowDocumentSchema, flowEdgeSchema, flowNodeSchema, nodeRegistry, type FlowDocument } from './index';
import {
  defaultExpressionLimits,
  RecordError,
  type BehaviourContext,
  type ExpressionLimits,
  type FlowRecord,
  type NodeBehaviour,
  type NodeDefinition,
  type RoundTripIssue,
} from './types';

// Shared by the runtime, the command line and the editor: no node: imports here.

/** One problem in a flow document, located by a JSON path such as `nodes[3].config.fields[1].direction`. */
export interface FlowIssue {
  path: string;
  nodeId?: string;
  edgeId?: string;
  /** What is wrong and what to do about it, in plain words. */
  message: string;
  severity: 'error' | 'warning';
}

/** Upgrades a whole document from one flow version to the next; `documentMigrations[i]` takes version i+1 to i+2. */
export type DocumentMigration = (document: Record<string, unknown>) => unknown;

/** Ordered document migrations. Append one whenever FLOW_VERSION goes up; never edit one that has shipped. */
export const documentMigrations: readonly DocumentMigration[] = [];

/** A connector's complaint about a trigger's `connection`, with the path inside `connection`. */
export type ConnectionProblem = { path: (string | number)[]; message: string };

export interface LoadOptions {
  /** The connector registry's check of a trigger's `connection`; null when it knows no such connector. */
  checkConnection?(connector: string, connection: Record<string, unknown>): ConnectionProblem[] | null;
  /** The connector names this Syncline has, for "unknown connector" errors. */
  knownConnectors?: readonly string[];
  /** Node types to load against (default: the registry). Tests inject node types with migrations here. */
  registry?: Readonly<Record<string, NodeDefinition>>;
  /** Document migrations (default: `documentMigrations`). */
  documentMigrations?: readonly DocumentMigration[];
  /** The flow version this code writes (default: FLOW_VERSION); only tests set it, to exercise migrations. */
  flowVersion?: number;
}

export interface LoadResult {
  /** The parsed document with defaults applied, or null when there is any error. */
  document: FlowDocument | null;
  /** The input after migrations, everything kept (unknown keys, unknown node types): what an editor can show. */
  migrated: unknown;
  issues: FlowIssue[];
}

type PathSegment = string | number;
type Owner = { nodeId?: string; edgeId?: string };

/** Values nested deeper than this inside one node or edge are refused: no flow needs them, and they would overflow recursive code. */
const MAX_NESTING = 64;
/** Cycles named node by node; further cycle edges are still reported, without the walk, so huge graphs stay linear. */
const MAX_NAMED_CYCLES = 10;
const MAX_LISTED = 8;

// ---------------------------------------------------------------------------------------------------------------
// Messages

function clip(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A value as it appears inside a message: short, quoted when text, never throwing. */
function quote(value: unknown, max = 60): string {
  if (typeof value === 'string') return JSON.stringify(clip(value, max));
  if (value === undefined) return 'nothing';
  try {
    return clip(JSON.stringify(value) ?? String(value), max);
  } catch {
    return 'a value too deeply nested to show';
  }
}

function listNames(names: readonly string[], max = MAX_LISTED): string {
  const shown = names.slice(0, max).map((name) => quote(name)).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function formatPath(path: readonly PathSegment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) text += text ? `.${segment}` : segment;
    else text += `[${JSON.stringify(clip(segment))}]`;
  }
  return text;
}

function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `text (${quote(value)})`;
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

const expectedNouns: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  record: 'an object',
  null: 'null',
};

function expectedNoun(expected: string): string {
  return expectedNouns[expected] ?? expected;
}

function plainValue(value: unknown): string {
  return typeof value === 'string' ? value : quote(value);
}

/**
 * Plain wording for zod's generic issues. A message written in a schema always wins over this (zod's precedence),
 * so this only fills in where a schema said nothing.
 */
const plainMessages: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `missing: add it (${expectedNoun(issue.expected)})`;
      return `must be ${expectedNoun(issue.expected)}, not ${describeKind(issue.input)}`;
    case 'too_small': {
      const minimum = Number(issue.minimum);
      if (issue.origin === 'string') return minimum === 1 ? 'must not be empty' : `must be at least ${minimum} characters long`;
      if (issue.origin === 'array') return `must have at least ${minimum} ${minimum === 1 ? 'entry' : 'entries'}`;
      return issue.inclusive === false ? `must be more than ${minimum}` : `must be at least ${minimum}`;
    }
    case 'too_big': {
      const maximum = Number(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${maximum} characters long`;
      if (issue.origin === 'array') return `must have at most ${maximum} ${maximum === 1 ? 'entry' : 'entries'}`;
      return issue.inclusive === false ? `must be less than ${maximum}` : `must be at most ${maximum}`;
    }
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${plainValue(issue.values[0])}` : `must be one of ${issue.values.map(plainValue).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return unknownKeyMessage(issue.keys[0] ?? '');
    case 'invalid_union': {
      if (issue.errors.length === 0) {
        const options = Array.isArray(issue.options) ? issue.options.map(plainValue).join(', ') : '';
        return issue.discriminator ? `${issue.discriminator} must be one of ${options}` : undefined;
      }
      // zod already descends into a branch that got further than the type; here every branch failed at the top.
      const wanted: string[] = [];
      for (const branch of issue.errors) {
        for (const inner of branch) {
          if (inner.path.length > 0) continue;
          if (inner.code === 'invalid_value') wanted.push(...inner.values.map(plainValue));
          else if (inner.code === 'invalid_type') wanted.push(expectedNoun(inner.expected));
        }
      }
      if (wanted.length === 0) return undefined;
      const unique = [...new Set(wanted)];
      const last = unique.pop() as string;
      const list = unique.length > 0 ? `${unique.join(', ')} or ${last}` : last;
      return `must be ${list}, not ${describeKind(issue.input)}`;
    }
    default:
      return undefined;
  }
};

function unknownKeyMessage(key: string, knownKeys?: readonly string[]): string {
  const known = knownKeys ? ` (known keys: ${knownKeys.join(', ')})` : '';
  return `unknown key ${quote(key)}: it is kept, but Syncline does not read it; remove it or correct its spelling${known}`;
}

class IssueList {
  readonly items: FlowIssue[] = [];
  errors = 0;

  add(path: readonly PathSegment[], message: string, owner: Owner = {}, severity: FlowIssue['severity'] = 'error'): void {
    const issue: FlowIssue = { path: formatPath(path), message, severity };
    if (owner.nodeId !== undefined) issue.nodeId = owner.nodeId;
    if (owner.edgeId !== undefined) issue.edgeId = owner.edgeId;
    this.items.push(issue);
    if (severity === 'error') this.errors += 1;
  }

  /** Adds zod's issues under `prefix`; unknown keys become one issue each, pointing at the key itself. */
  addZod(issues: readonly z.core.$ZodIssue[], prefix: readonly PathSegment[], owner: Owner, knownKeys?: readonly string[]): void {
    for (const issue of issues) {
      const path = [...prefix, ...issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment))];
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) this.add([...path, key], unknownKeyMessage(key, issue.path.length === 0 ? knownKeys : undefined), owner);
      } else {
        this.add(path, issue.message, owner);
      }
    }
  }

  /** Parses with `schema`, reporting its issues; never throws, whatever the value. */
  parse<T>(schema: z.ZodType<T>, value: unknown, prefix: readonly PathSegment[], owner: Owner, knownKeys?: readonly string[]): { ok: true; data: T } | { ok: false } {
    try {
      const result = schema.safeParse(value, { error: plainMessages });
      if (result.success) return { ok: true, data: result.data };
      this.addZod(result.error.issues, prefix, owner, knownKeys);
    } catch (error) {
      this.add(prefix, `could not be checked (${errorMessage(error)}): simplify it`, owner);
    }
    return { ok: false };
  }
}

/** Formats an issue as one line: `nodes[3].config.fields[1].direction: must be one of both, forward, backward (node "map")`. */
export function formatIssue(issue: FlowIssue): string {
  const owner = issue.nodeId !== undefined ? ` (node ${quote(issue.nodeId)})` : issue.edgeId !== undefined ? ` (edge ${quote(issue.edgeId)})` : '';
  return `${issue.path || '(document)'}: ${issue.message}${owner}`;
}

/** The canonical bytes of a flow document: what export writes and the runtime stores. */
export function serializeFlow(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading JSON text

/** JSON text parsed, or where (1-based) and why it is not JSON. */
export type ParsedText = { ok: true; value: unknown } | { ok: false; line: number; column: number; message: string };

/** Parses JSON text; on a syntax error, says where (1-based line and column) and what, the same on every Node version. */
export function parseFlowText(text: string): ParsedText {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(source) };
  } catch (error) {
    const found = locateJsonError(source);
    if (found) return { ok: false, ...lineAndColumn(source, found.position), message: found.message };
    // JSON.parse refused something the scanner accepts; keep its own words and position, if it gave one.
    const message = errorMessage(error);
    const position = /at position (\d+)/.exec(message);
    return {
      ok: false,
      ...lineAndColumn(source, position ? Number(position[1]) : source.length),
      message: message.replace(/ in JSON at position \d+.*$/, ''),
    };
  }
}

function lineAndColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < position; index = text.indexOf('\n', index + 1)) {
    line += 1;
    lineStart = index + 1;
  }
  return { line, column: position - lineStart + 1 };
}

/**
 * Finds the first syntax error of JSON text with a small iterative scanner: V8's messages change between Node
 * versions and some carry no position at all, and a user needs the line and column.
 */
function locateJsonError(text: string): { position: number; message: string } | null {
  const length = text.length;
  const containers: Array<'object' | 'array'> = [];
  let at = 0;
  const fail = (message: string) => ({ position: at, message });
  const ended = () => ({ position: length, message: 'the text ends too early: a bracket, brace or quote is not closed' });
  const skipSpace = () => {
    for (let code = text.charCodeAt(at); code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09; code = text.charCodeAt(at)) at += 1;
  };
  const shown = () => {
    const char = String.fromCodePoint(text.codePointAt(at) ?? 0);
    if (char === '"') return `'"'`;
    return /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(char) ? `"${char}"` : `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  };
  const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

  const scanString = (): { position: number; message: string } | null => {
    at += 1;
    for (;;) {
      if (at >= length) return ended();
      const code = text.charCodeAt(at);
      if (code === 0x22) {
        at += 1;
        return null;
      }
      if (code < 0x20) return fail('a line break or control character inside text: write it as \\n, \\t or \\u00XX');
      if (code === 0x5c) {
        const next = text[at + 1];
        if (next === undefined) return ended();
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 2, at + 6))) return fail('\\u must be followed by four hexadecimal digits');
          at += 6;
        } else if ('"\\/bfnrt'.includes(next)) {
          at += 2;
        } else {
          return fail(`unknown escape \\${next}: inside text, only \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX are allowed`);
        }
        continue;
      }
      at += 1;
    }
  };

  // Each turn reads one value, then the punctuation after it, keeping open containers on an explicit stack.
  for (;;) {
    skipSpace();
    if (at >= length) return ended();
    const char = text[at] as string;
    if (char === '{' || char === '[') {
      at += 1;
      skipSpace();
      const closing = char === '{' ? '}' : ']';
      if (text[at] === closing) {
        at += 1;
      } else {
        containers.push(char === '{' ? 'object' : 'array');
        if (char === '{') {
          if (at >= length) return ended();
          if (text[at] !== '"') return fail(`expected a property name in double quotes, found ${shown()}`);
          const problem = scanString();
          if (problem) return problem;
          skipSpace();
          if (at >= length) return ended();
          if (text[at] !== ':') return fail(`expected ":" after the property name, found ${shown()}`);
          at += 1;
        }
        continue;
      }
    } else if (char === '"') {
      const problem = scanString();
      if (problem) return problem;
    } else if (char === '-' || (char >= '0' && char <= '9')) {
      numberPattern.lastIndex = at;
      if (!numberPattern.test(text)) return fail(`${shown()} does not start a valid number`);
      at = numberPattern.lastIndex;
    } else if (text.startsWith('true', at) || text.startsWith('null', at)) {
      at += 4;
    } else if (text.startsWith('false', at)) {
      at += 5;
    } else {
      const hint = char === '}' || char === ']' ? ' (a comma before it is not allowed)' : char === "'" ? ' (text must be in double quotes)' : '';
      return fail(`expected a value, found ${shown()}${hint}`);
    }

    // After a value: close containers, or go on to the next entry.
    for (;;) {
      skipSpace();
      const open = containers[containers.length - 1];
      if (open === undefined) return at < length ? fail(`unexpected ${shown()} after the end of the document`) : null;
      if (at >= length) return ended();
      const closing = open === 'object' ? '}' : ']';
      if (text[at] === closing) {
        containers.pop();
        at += 1;
        continue;
      }
      if (text[at] !== ',') {
        const hint = '"{['.includes(text[at] as string) ? ' (is a comma missing before it?)' : '';
        return fail(`expected "," or "${closing}" after the value, found ${shown()}${hint}`);
      }
      at += 1;
      if (open === 'object') {
        skipSpace();
        if (at >= length) return ended();
        if (text[at] !== '"') {
          const hint = text[at] === '}' ? ' (a comma before "}" is not allowed)' : '';
          return fail(`expected a property name in double quotes, found ${shown()}${hint}`);
        }
        const problem = scanString();
        if (problem) return problem;
        skipSpace();
        if (at >= length) return ended();
        if (text[at] !== ':') return fail(`expected ":" after the property name, found ${shown()}`);
        at += 1;
      }
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Loading

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

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

const nodeEnvelope = flowNodeSchema.options[0].shape;
const nodeKeys = Object.keys(nodeEnvelope);
const edgeKeys = Object.keys(flowEdgeSchema.shape);
const documentKeys = Object.keys(flowDocumentSchema.shape);

/** The envelope of a node whose type is unknown (or whose config cannot be read): everything but the config. */
const unknownNodeSchema = z.strictObject({
  id: nodeEnvelope.id,
  type: z.string(),
  typeVersion: nodeEnvelope.typeVersion,
  position: nodeEnvelope.position,
  label: nodeEnvelope.label,
  config: z.unknown().optional(),
});

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

/** A node's schema for one node type; mirrors `nodeSchemaFor` in ./index, so an injected registry validates the same way. */
function nodeSchemaFor(type: string, definition: NodeDefinition): z.ZodType {
  let schema = nodeSchemas.get(definition);
  if (!schema) {
    schema = z.strictObject({
      id: nodeEnvelope.id,
      type: z.literal(type),
      typeVersion: nodeEnvelope.typeVersion,
      position: nodeEnvelope.position,
      label: nodeEnvelope.label,
      config: definition.schema,
    });
    nodeSchemas.set(definition, schema);
  }
  return schema;
}

/** Loads a flow document: migrates it, then checks everything (SPEC §1, §4) and reports every problem at once. */
export function loadFlow(input: unknown, options: LoadOptions = {}): LoadResult {
  const issues = new IssueList();
  const flowVersion = options.flowVersion ?? FLOW_VERSION;
  const refuse = (): LoadResult => ({ document: null, migrated: input, issues: issues.items });

  if (!isPlainObject(input)) {
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
    const owner: Owner = isPlainObject(raw) ? { edgeId: stringOrUndefined(raw.id) } : {};
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

function migrateDocument(
  input: Record<string, unknown>,
  from: number,
  to: number,
  migrations: readonly DocumentMigration[],
  issues: IssueList,
): Record<string, unknown> | null {
  let current: Record<string, unknown>;
  try {
    // Migrations may be written carelessly; the caller's object stays as it was.
    current = structuredClone(input);
  } catch (error) {
    issues.add([], `cannot be migrated from flow version ${from} (${errorMessage(error)}): simplify the document`);
    return null;
  }
  for (let version = from; version < to; version += 1) {
    const migration = migrations[version - 1];
    const step = `from flow version ${version} to ${version + 1}`;
    if (!migration) {
      issues.add(['version'], `this Syncline has no migration ${step}: open the document with the Syncline that made it`);
      return null;
    }
    let next: unknown;
    try {
      next = migration(current);
    } catch (error) {
      issues.add(['version'], `migrating ${step} failed (${errorMessage(error)}): open the document with the Syncline that made it and export it again`);
      return null;
    }
    if (!isPlainObject(next)) {
      issues.add(['version'], `migrating ${step} did not give a document: open it with the Syncline that made it and export it again`);
      return null;
    }
    current = { ...next, version: version + 1 };
  }
  return current;
}

function loadNode(
  raw: unknown,
  index: number,
  registry: Readonly<Record<string, NodeDefinition>>,
  knownTypes: readonly string[],
  options: LoadOptions,
  issues: IssueList,
): { node: unknown; parsed: unknown } {
  const at: PathSegment[] = ['nodes', index];
  if (!isPlainObject(raw)) {
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

  const parsed = issues.parse(nodeSchemaFor(type as string, definition), node, at, owner, nodeKeys);
  if (type === 'trigger') checkConnector(node.config, [...at, 'config'], owner, options, issues);
  if (type === 'mapping' && parsed.ok && (parsed.data as { config: { fields: unknown[] } }).config.fields.length === 0) {
    issues.add([...at, 'config', 'fields'], 'has no field pairs, so no field passes this mapping: add a pair for each field to sync', owner, 'warning');
  }
  return { node, parsed: parsed.ok ? parsed.data : undefined };
}

const failedMigration = Symbol('failed migration');

function migrateConfig(
  config: unknown,
  from: number,
  definition: NodeDefinition,
  at: PathSegment[],
  owner: Owner,
  issues: IssueList,
): unknown {
  let current: unknown;
  try {
    // Migrations may be written carelessly; the caller's config stays as it was.
    current = structuredClone(config);
  } catch (error) {
    issues.add(at, `cannot be migrated (${errorMessage(error)}): simplify it`, owner);
    return failedMigration;
  }
  for (let version = from; version < definition.typeVersion; version += 1) {
    const migration = definition.migrations[version - 1];
    const step = `${definition.type} node from version ${version} to ${version + 1}`;
    if (!migration) {
      issues.add(at, `this Syncline has no migration for a ${step}: open the flow with the Syncline that made it`, owner);
      return failedMigration;
    }
    try {
      current = migration(current);
    } catch (error) {
      issues.add(at, `migrating this ${step} failed (${errorMessage(error)}): fix the config by hand or open the flow with the Syncline that made it`, owner);
      return failedMigration;
    }
  }
  return current;
}

function checkConnector(config: unknown, at: PathSegment[], owner: Owner, options: LoadOptions, issues: IssueList): void {
  if (!isPlainObject(config)) return;
  const connector = config.connector;
  if (typeof connector !== 'string' || connector.length === 0) return;
  const known = options.knownConnectors;
  const unknownConnector = () =>
    issues.add([...at, 'connector'], `unknown connector ${quote(connector)}${known ? `; known: ${known.join(', ')}` : ''}`, owner);
  if (options.checkConnection) {
    if (!isPlainObject(config.connection)) return;
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
}

// ---------------------------------------------------------------------------------------------------------------
// Graph rules (SPEC §4). Iterative throughout: flows with 100k nodes must neither overflow the stack nor go quadratic.

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

function checkGraph(nodes: readonly unknown[], edges: readonly unknown[], knownTypes: ReadonlySet<string>, issues: IssueList): void {
  // Graph members: nodes with a usable id; a repeated id is reported and its later nodes left out.
  const indexById = new Map<string, number>();
  const ids: string[] = [];
  const types: string[] = [];
  const documentIndex: number[] = [];
  nodes.forEach((node, index) => {
    if (!isPlainObject(node)) return;
    const id = stringOrUndefined(node.id);
    if (id === undefined) return;
    const first = indexById.get(id);
    if (first !== undefined) {
      issues.add(['nodes', index, 'id'], `duplicate node id ${quote(id)} (also nodes[${documentIndex[first]}]): give each node its own id`, { nodeId: id });
      return;
    }
    indexById.set(id, ids.length);
    ids.push(id);
    types.push(typeof node.type === 'string' ? node.type : '');
    documentIndex.push(index);
  });

  const count = ids.length;
  const graphEdges: Array<{ source: number; target: number; index: number; id: string }> = [];
  const edgeIds = new Map<string, number>();
  edges.forEach((edge, index) => {
    if (!isPlainObject(edge)) return;
    const id = stringOrUndefined(edge.id);
    const owner: Owner = { edgeId: id };
    if (id !== undefined) {
      const first = edgeIds.get(id);
      if (first !== undefined) issues.add(['edges', index, 'id'], `duplicate edge id ${quote(id)} (also edges[${first}]): give each edge its own id`, owner);
      else edgeIds.set(id, index);
    }
    const ends: number[] = [];
    for (const end of ['source', 'target'] as const) {
      const nodeId = edge[end];
      if (typeof nodeId !== 'string' || nodeId.length === 0) continue;
      const node = indexById.get(nodeId);
      if (node === undefined) issues.add(['edges', index, end], `no node has the id ${quote(nodeId)}: connect the edge to an existing node, or remove it`, owner);
      else ends.push(node);
    }
    const [source, target] = ends;
    if (ends.length !== 2 || source === undefined || target === undefined) return;
    if (source === target) {
      issues.add(['edges', index], `connects node ${quote(ids[source])} to itself: remove it`, owner);
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
    if (type === 'trigger') {
      if (own.length === 0) issues.add(at, 'a trigger must have exactly one edge, this one has none: connect it to the node that handles its records', owner);
      else if (own.length > 1) issues.add(at, `a trigger must have exactly one edge, this one has ${has}: remove the extra edges`, owner);
    } else if (own.length < 2 && knownTypes.has(type)) {
      // Unknown node types are reported as such; what they would need is unknown.
      issues.add(at, `a ${type} node must have at least two edges, one toward each side, this one has ${has}: connect its other side, or remove it`, owner);
    }
  }

  checkCycles(count, graphEdges, ids, issues);
  checkParts(count, graphEdges, { ids, types, documentIndex, indexById }, nodes, issues);
}

function checkCycles(count: number, graphEdges: ReadonlyArray<{ source: number; target: number; index: number; id: string }>, ids: readonly string[], issues: IssueList): void {
  const parents = Int32Array.from({ length: count }, (_, index) => index);
  const treeNeighbours: number[][] = Array.from({ length: count }, () => []);
  const closing: Array<{ source: number; target: number; index: number; id: string }> = [];
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
      issues.add(at, `closes another cycle between ${quote(ids[edge.source])} and ${quote(ids[edge.target])}: remove an edge of the cycle`, owner);
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
    issues.add(
      at,
      `closes a cycle through nodes ${listNames(cycle, 12)}: ignoring direction, a change could come back to where it started; remove an edge of the cycle`,
      owner,
    );
  });
}

interface GraphNodes {
  ids: readonly string[];
  types: readonly string[];
  /** Where each graph node sits in the document's `nodes`. */
  documentIndex: readonly number[];
  indexById: ReadonlyMap<string, number>;
}

function checkParts(count: number, graphEdges: ReadonlyArray<{ source: number; target: number }>, graph: GraphNodes, nodes: readonly unknown[], issues: IssueList): void {
  const { ids, types, documentIndex } = graph;
  const parents = Int32Array.from({ length: count }, (_, index) => index);
  for (const edge of graphEdges) parents[find(parents, edge.source)] = find(parents, edge.target);
  const members = new Map<number, number[]>();
  for (let node = 0; node < count; node += 1) {
    const root = find(parents, node);
    const list = members.get(root);
    if (list) list.push(node);
    else members.set(root, [node]);
  }

  for (const part of members.values()) {
    // A lone node is already reported for its missing edges; its part would only repeat that.
    if (part.length < 2) continue;
    const first = part[0] as number;
    const names = part.map((node) => ids[node] as string);
    const where = `this part of the flow (nodes ${listNames(names)})`;
    const triggers = part.filter((node) => types[node] === 'trigger');
    const conflicts = part.filter((node) => types[node] === 'conflict');
    const at = ['nodes', documentIndex[first] as number];
    if (triggers.length < 2) {
      issues.add(at, `${where} has ${triggers.length === 0 ? 'no trigger' : 'only one trigger'}; a sync needs at least two: add a trigger for each system it keeps in step`, { nodeId: ids[first] });
    }
    const [firstConflict] = conflicts;
    if (firstConflict === undefined) {
      issues.add(at, `${where} has no conflict node: add one where the records of the sides meet`, { nodeId: ids[first] });
    }
    for (const extra of conflicts.slice(1)) {
      issues.add(
        ['nodes', documentIndex[extra] as number],
        `a second conflict node in the part that already has ${quote(ids[firstConflict as number])}: each connected part needs exactly one; remove one of ${quote(ids[firstConflict as number])} and ${quote(ids[extra])}, or split the flow`,
        { nodeId: ids[extra] },
      );
    }

    const triggerIds = new Set(triggers.map((node) => ids[node] as string));
    for (const conflict of conflicts) {
      const config = (nodes[documentIndex[conflict] as number] as Record<string, unknown>).config;
      if (!isPlainObject(config)) continue;
      const at = ['nodes', documentIndex[conflict] as number, 'config'];
      const owner = { nodeId: ids[conflict] };
      checkPrefer(config.policy, [...at, 'policy', 'prefer'], owner, triggerIds, graph, issues);
      if (isPlainObject(config.fields)) {
        for (const [field, policy] of Object.entries(config.fields)) checkPrefer(policy, [...at, 'fields', field, 'prefer'], owner, triggerIds, graph, issues);
      }
    }
  }
}

function checkPrefer(
  policy: unknown,
  at: PathSegment[],
  owner: Owner,
  triggerIds: ReadonlySet<string>,
  graph: GraphNodes,
  issues: IssueList,
): void {
  if (!isPlainObject(policy)) return;
  const prefer = stringOrUndefined(policy.prefer);
  if (prefer === undefined || triggerIds.has(prefer)) return;
  const choose = triggerIds.size > 0 ? `name one of the triggers of this part: ${listNames([...triggerIds])}` : 'this part has no trigger to prefer yet';
  const node = graph.indexById.get(prefer);
  const types = graph.types;
  const what =
    node === undefined
      ? `${quote(prefer)} is not a node of this flow`
      : types[node] === 'trigger'
        ? `${quote(prefer)} is a trigger of another part of the flow`
        : `${quote(prefer)} is a ${types[node] || 'typeless'} node, not a trigger`;
  issues.add(at, `${what}: ${choose}`, owner);
}

// ---------------------------------------------------------------------------------------------------------------
// Round trips

export interface RoundTripOptions {
  /** The trigger whose records the samples are; by default the first trigger whose edge leads away from it. */
  from?: string;
  /** Node types to use (default: the registry); tests inject behaviours here. */
  registry?: Readonly<Record<string, NodeDefinition>>;
}

/**
 * Checks that what flows both ways survives the round trip: the samples, records of one trigger, are carried
 * forward along the edges, and each node they reach from its left side checks them with its behaviour's
 * `roundTrip`. Nodes reached only backward cannot be checked with these samples. A sample a node fails (a
 * RecordError) goes no further; any other error stops the check, naming the node.
 */
export async function checkRoundTrip(
  document: FlowDocument,
  samples: readonly FlowRecord[],
  limits: ExpressionLimits = defaultExpressionLimits,
  options: RoundTripOptions = {},
): Promise<RoundTripIssue[]> {
  const registry = options.registry ?? (nodeRegistry as Readonly<Record<string, NodeDefinition>>);
  const nodesById = new Map(document.nodes.map((node) => [node.id, node]));
  const forwardNeighbours = new Map<string, string[]>();
  for (const edge of document.edges) {
    const list = forwardNeighbours.get(edge.source);
    if (list) list.push(edge.target);
    else forwardNeighbours.set(edge.source, [edge.target]);
  }
  const triggers = document.nodes.filter((node) => node.type === 'trigger');
  const start = options.from ?? (triggers.find((node) => forwardNeighbours.has(node.id)) ?? triggers[0])?.id;
  if (start === undefined) return [];
  if (nodesById.get(start)?.type !== 'trigger') throw new Error(`${quote(start)} is not a trigger of flow ${quote(document.id)}`);

  type Carried = { index: number; record: FlowRecord };
  const found: RoundTripIssue[] = [];
  const visited = new Set([start]);
  const queue: Array<{ nodeId: string; records: Carried[] }> = [];
  const enqueueFrom = (nodeId: string, records: Carried[]) => {
    for (const next of forwardNeighbours.get(nodeId) ?? []) {
      if (visited.has(next)) continue;
      visited.add(next);
      queue.push({ nodeId: next, records });
    }
  };
  enqueueFrom(start, samples.map((record, index) => ({ index, record })));

  for (let head = 0; head < queue.length; head += 1) {
    const { nodeId, records } = queue[head] as { nodeId: string; records: Carried[] };
    const node = nodesById.get(nodeId);
    if (!node || node.type === 'trigger' || records.length === 0) continue;
    const behaviour = (registry[node.type]?.behaviour ?? null) as NodeBehaviour<unknown> | null;
    const ctx: BehaviourContext = { nodeId, limits };
    if (!behaviour) {
      // The conflict node merges rather than transforms: records leave it as they came.
      enqueueFrom(nodeId, records);
      continue;
    }
    try {
      if (behaviour.roundTrip) {
        const issues = await behaviour.roundTrip(records.map((carried) => carried.record), node.config, ctx);
        for (const issue of issues) found.push({ ...issue, sampleIndex: records[issue.sampleIndex]?.index ?? issue.sampleIndex });
      }
      const passed: Carried[] = [];
      for (const carried of records) {
        try {
          const outcome = await behaviour.forward(carried.record, node.config, ctx);
          if (outcome.kind === 'pass') passed.push({ index: carried.index, record: outcome.record });
        } catch (error) {
          if (!(error instanceof RecordError)) throw error;
        }
      }
      enqueueFrom(nodeId, passed);
    } catch (error) {
      throw new Error(`node ${quote(nodeId)}: ${errorMessage(error)}`, { cause: error });
    }
  }
  return found;
}

/** One warning line for a lossy round trip, saying which field would flap between systems. */
export function formatRoundTripIssue(issue: RoundTripIssue): string {
  // Longer than other quotes: behaviours report a sample that fails as `after` holding the error, and its reason comes last.
  const after = issue.after === undefined ? 'comes back missing' : `comes back as ${quote(issue.after, 200)}`;
  const before = issue.before === undefined ? 'where it was missing' : `instead of ${quote(issue.before, 200)}`;
  return `warning: node ${quote(issue.nodeId)} ${issue.part}: sample ${issue.sampleIndex} field ${quote(issue.field)} ${after} ${before} — this field would flap between systems`;
}
