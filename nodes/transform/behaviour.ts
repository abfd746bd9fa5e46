import { deletePath, formatPath, getPath, leaves, PathError, peekPath, setPath } from '../paths';
import { RecordError, type BehaviourContext, type Direction, type FlowRecord, type NodeBehaviour, type NodeOutcome, type RoundTripIssue } from '../types';
import { evaluateExpression } from './expression';
import { isoInstant, utcMillis } from '../dates';
import type { TransformConfig, TransformOp } from './schema';

type ExpressionOp = Extract<TransformOp, { op: 'expression' }>;
type BuiltInOp = Exclude<TransformOp, { op: 'expression' }>;
type DateFormat = Extract<TransformOp, { op: 'dateFormat' }>['from'];

/** Which op of which node is running, for messages that say where a record failed. */
interface OpSite {
  nodeId: string;
  index: number;
  op: TransformOp;
}

/**
 * The transform node: its ops run in list order going forward and in reverse order going backward.
 * Built-in ops are synchronous; the node only returns a promise once it reaches an expression op.
 * Field names are paths (nodes/paths.ts): `properties.email` is the `email` key inside `properties`.
 */
export const transformBehaviour: NodeBehaviour<TransformConfig> = {
  forward: (record, config, ctx) => runOps(record, config.ops, 'forward', ctx),
  backward: (record, config, ctx) => runOps(record, config.ops, 'backward', ctx),
  roundTrip: checkRoundTrip,
};

function runOps(record: FlowRecord, ops: readonly TransformOp[], direction: Direction, ctx: BehaviourContext): NodeOutcome | Promise<NodeOutcome> {
  // One shallow copy per record: ops replace its fields, and copy a nested object before writing inside it (setPath),
  // so the record passed in is never changed.
  const working: FlowRecord = { ...record };
  for (let step = 0; step < ops.length; step += 1) {
    const index = direction === 'forward' ? step : ops.length - 1 - step;
    const op = ops[index] as TransformOp;
    if (op.op === 'expression') return runOpsAsync(working, ops, step, direction, ctx);
    applyBuiltInOp(working, op, direction, { nodeId: ctx.nodeId, index, op });
  }
  return { kind: 'pass', record: working };
}

async function runOpsAsync(working: FlowRecord, ops: readonly TransformOp[], fromStep: number, direction: Direction, ctx: BehaviourContext): Promise<NodeOutcome> {
  for (let step = fromStep; step < ops.length; step += 1) {
    const index = direction === 'forward' ? step : ops.length - 1 - step;
    await applyOp(working, ops[index] as TransformOp, direction, ctx, index);
  }
  return { kind: 'pass', record: working };
}

function applyOp(working: FlowRecord, op: TransformOp, direction: Direction, ctx: BehaviourContext, index: number): void | Promise<void> {
  const site: OpSite = { nodeId: ctx.nodeId, index, op };
  if (op.op === 'expression') return applyExpressionOp(working, op, direction, ctx, site);
  applyBuiltInOp(working, op, direction, site);
}

// ---------------------------------------------------------------------------------------------------------------
// Built-in ops. Each changes `working` in place (it is the node's private copy) and leaves other fields alone.

/** The value at a field path; a path that goes inside text or a list fails the record, naming op and field. */
function read(working: FlowRecord, field: string, site: OpSite): unknown {
  try {
    return getPath(working, field);
  } catch (error) {
    throw pathFailure(error, field, 'read', site);
  }
}

/** Sets a field path; an undefined value is "no value", so the field is left absent rather than set to undefined or null. */
function write(working: FlowRecord, field: string, value: unknown, site: OpSite): void {
  if (value === undefined) {
    deletePath(working, field);
    return;
  }
  try {
    setPath(working, field, value);
  } catch (error) {
    throw pathFailure(error, field, 'written', site);
  }
}

function pathFailure(error: unknown, field: string, verb: 'read' | 'written', site: OpSite): unknown {
  if (!(error instanceof PathError)) return error;
  return new RecordError(site.nodeId, `${where(site)}: field "${field}" cannot be ${verb}: ${error.reason}`, field);
}

function applyBuiltInOp(working: FlowRecord, op: BuiltInOp, direction: Direction, site: OpSite): void {
  const forward = direction === 'forward';
  switch (op.op) {
    case 'rename':
      if (forward) moveField(working, op.from, op.to, site);
      else moveField(working, op.to, op.from, site);
      return;
    case 'valueMap':
      mapFieldValue(working, op, forward, site);
      return;
    case 'split':
      if (forward) splitField(working, op.field, op.separator, op.into, site);
      else joinFields(working, op.into, op.separator, op.field, site);
      return;
    case 'join':
      if (forward) joinFields(working, op.fields, op.separator, op.target, site);
      else splitField(working, op.target, op.separator, op.fields, site);
      return;
    case 'lowercase':
    case 'uppercase':
      // One-way (SPEC §3): the case of the original is unknown, so the field is not written backward at all.
      if (!forward) deletePath(working, op.field);
      else {
        const text = read(working, op.field, site);
        if (typeof text === 'string') write(working, op.field, op.op === 'lowercase' ? text.toLowerCase() : text.toUpperCase(), site);
      }
      return;
    case 'scale':
      scaleField(working, op, forward, site);
      return;
    case 'dateFormat':
      if (forward) convertDateField(working, op.field, op.from, op.to, site);
      else convertDateField(working, op.field, op.to, op.from, site);
      return;
    case 'default': {
      // Backward is the identity: the round-trip check reports the fields this makes lossy, which is intended.
      if (!forward || op.value === undefined) return;
      const current = read(working, op.field, site);
      if (current === undefined || current === null || current === '') write(working, op.field, copyJson(op.value), site);
      return;
    }
  }
}

function moveField(working: FlowRecord, from: string, to: string, site: OpSite): void {
  if (from === to) return;
  const value = read(working, from, site);
  if (value === undefined) return;
  deletePath(working, from);
  write(working, to, value, site);
}

function mapFieldValue(working: FlowRecord, op: Extract<TransformOp, { op: 'valueMap' }>, forward: boolean, site: OpSite): void {
  const value = read(working, op.field, site);
  if (value === undefined) return;
  const table = forward ? valueLookup(op.values, 'from', 'to') : valueLookup(op.values, 'to', 'from');
  const key = jsonKey(value);
  if (table.has(key)) {
    write(working, op.field, copyJson(table.get(key)), site);
    return;
  }
  // null is "no value", not a value the map forgot; it passes unless the map names it.
  if (value === null || op.otherwise === 'copy') return;
  throw new RecordError(
    site.nodeId,
    `${where(site)}: field "${op.field}" has the value ${preview(value)}, which is not in the value map; add it to values, or set otherwise to "copy"`,
    op.field,
  );
}

function splitField(working: FlowRecord, field: string, separator: string, targets: readonly string[], site: OpSite): void {
  const value = read(working, field, site);
  if (value === undefined) return;
  deletePath(working, field);
  for (const target of targets) deletePath(working, target);
  if (value === null || value === undefined) {
    // Every part of nothing is nothing: join gives null back.
    for (const target of targets) write(working, target, null, site);
    return;
  }
  const parts = asText(value, field, site).split(separator);
  // Extra parts stay in the last target, and missing ones stay absent, so joining gives the text back exactly.
  const last = targets.length - 1;
  targets.forEach((target, position) => {
    const part = position < last ? parts[position] : parts.slice(last).join(separator);
    if (part !== undefined && (position < last || parts.length > last)) write(working, target, part, site);
  });
}

function joinFields(working: FlowRecord, sources: readonly string[], separator: string, target: string, site: OpSite): void {
  const values = sources.map((source) => read(working, source, site));
  for (const source of sources) deletePath(working, source);
  // Trailing absent parts are what a short split left out, so they add no separator.
  let count = values.length;
  while (count > 0 && values[count - 1] === undefined) count -= 1;
  if (count === 0) return;
  const present = values.slice(0, count);
  if (present.every((value) => value === null)) {
    write(working, target, null, site);
    return;
  }
  write(working, target, present.map((value, position) => (value === null || value === undefined ? '' : asText(value, sources[position] as string, site))).join(separator), site);
}

function asText(value: unknown, field: string, site: OpSite): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new RecordError(site.nodeId, `${where(site)}: field "${field}" must be text, got ${preview(value)}`, field);
}

// ---------------------------------------------------------------------------------------------------------------
// Number scale, in decimal: 0.1 × 3 is 0.3, and dividing by the factor gives back the number that was scaled.

function scaleField(working: FlowRecord, op: Extract<TransformOp, { op: 'scale' }>, forward: boolean, site: OpSite): void {
  const value = read(working, op.field, site);
  if (value === null || value === undefined) return;
  const number = asNumber(value);
  if (number === null) {
    throw new RecordError(site.nodeId, `${where(site)}: field "${op.field}" must be a number to scale, got ${preview(value)}`, op.field);
  }
  let result: number;
  if (forward) {
    result = op.precision === undefined ? multiplyDecimal(number, op.factor) : toNumber(roundDecimal(multiply(toDecimal(number), toDecimal(op.factor)), op.precision));
  } else {
    // Precision describes the scaled side; the other side keeps whatever digits the division gives.
    result = divideDecimal(number, op.factor);
  }
  if (!Number.isFinite(result)) {
    throw new RecordError(site.nodeId, `${where(site)}: scaling field "${op.field}" (${preview(value)}) gives a number too large to store`, op.field);
  }
  write(working, op.field, result, site);
}

const NUMERIC_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/** A finite number, or numeric text converted to one; null for anything else. */
function asNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && NUMERIC_TEXT.test(value.trim())) {
    const number = Number(value.trim());
    return Number.isFinite(number) ? number : null;
  }
  return null;
}

/** value = digits × 10^exponent, exactly. */
interface Decimal {
  digits: bigint;
  exponent: number;
}

function toDecimal(value: number): Decimal {
  // String(value) is the shortest text that reads back as the same double: the decimal the user meant.
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(value));
  if (!match) throw new Error(`not a finite number: ${value}`);
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  return { digits: BigInt(`${sign}${whole}${fraction}`), exponent: Number(exponent) - fraction.length };
}

function toNumber(decimal: Decimal): number {
  // Parsing decimal text rounds correctly to the nearest double.
  return Number(`${decimal.digits}e${decimal.exponent}`);
}

function multiply(left: Decimal, right: Decimal): Decimal {
  return { digits: left.digits * right.digits, exponent: left.exponent + right.exponent };
}

function multiplyDecimal(value: number, factor: number): number {
  const product = value * factor;
  if (Number.isSafeInteger(value) && Number.isSafeInteger(factor) && Number.isSafeInteger(product)) return product;
  // Fast path: when the exact product has at most 15 significant digits, the float product is within a fraction
  // of its last decimal place, so printing it with that many decimals gives the exact decimal back.
  const places = decimalPlaces(value) + decimalPlaces(factor);
  if (places <= 15 && Math.abs(product) < 10 ** (15 - places)) return Number(product.toFixed(places));
  return toNumber(multiply(toDecimal(value), toDecimal(factor)));
}

// Forty extra digits put the truncated quotient far below a double's resolution, so the final rounding is exact.
const QUOTIENT_EXTRA_DIGITS = 40;

function divideDecimal(value: number, factor: number): number {
  const quotient = value / factor;
  if (Number.isInteger(value) && Number.isInteger(factor) && Number.isSafeInteger(quotient) && quotient * factor === value) return quotient;
  // Fast path: a candidate of at most 15 significant digits whose product with the factor (kept below 15 digits,
  // so computed exactly as in multiplyDecimal) reads as `value` is the exact quotient, provided `value` itself has
  // at most 15 digits: two such decimals that read as the same double are the same decimal.
  const candidate = Number(quotient.toPrecision(15));
  const places = decimalPlaces(candidate) + decimalPlaces(factor);
  if (places <= 14 && Math.abs(value) < 10 ** (14 - places) && significantDigitsBound(value) <= 15 && Number((candidate * factor).toFixed(places)) === value) {
    return candidate;
  }
  const dividend = toDecimal(value);
  const divisor = toDecimal(factor);
  const digits = (dividend.digits * 10n ** BigInt(QUOTIENT_EXTRA_DIGITS)) / divisor.digits;
  return toNumber({ digits, exponent: dividend.exponent - divisor.exponent - QUOTIENT_EXTRA_DIGITS });
}

/** Digits after the decimal point in the shortest text of `value`; Infinity for exponent notation (use the slow path). */
function decimalPlaces(value: number): number {
  const text = String(value);
  if (text.includes('e')) return Infinity;
  const point = text.indexOf('.');
  return point === -1 ? 0 : text.length - point - 1;
}

/** At least the number of significant digits of `value` (exact for long texts, the length for short ones). */
function significantDigitsBound(value: number): number {
  const text = String(value);
  // The text's length bounds its digits, which settles the common short numbers without counting.
  if (text.length <= 15) return text.length;
  if (text.includes('e')) return Infinity;
  return text.replace(/^-?0*\.?0*/, '').replace('.', '').length;
}

/** Rounds to `places` decimals, half away from zero, on the exact decimal (so 1.005 rounds to 1.01). */
function roundDecimal(decimal: Decimal, places: number): Decimal {
  if (decimal.exponent >= -places) return decimal;
  const scale = 10n ** BigInt(-places - decimal.exponent);
  let digits = decimal.digits / scale;
  const remainder = decimal.digits % scale;
  const magnitude = remainder < 0n ? -remainder : remainder;
  if (magnitude * 2n >= scale) digits += decimal.digits < 0n ? -1n : 1n;
  return { digits, exponent: -places };
}

// ---------------------------------------------------------------------------------------------------------------
// Dates, all in UTC.

function convertDateField(working: FlowRecord, field: string, from: DateFormat, to: DateFormat, site: OpSite): void {
  const value = read(working, field, site);
  if (value === null || value === undefined) return;
  const millis = parseDate(value, from);
  const converted = millis === null ? null : formatDate(millis, to);
  if (converted === null) {
    const reason = millis === null ? `is not a date in the format ${from}` : `cannot be written in the format ${to}`;
    throw new RecordError(site.nodeId, `${where(site)}: field "${field}" ${reason}: ${preview(value)}`, field);
  }
  write(working, field, converted, site);
}

/** Milliseconds since the epoch, or null when `value` is not a date in `format`. */
function parseDate(value: unknown, format: DateFormat): number | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.getTime();
  if (format === 'epoch-ms' || format === 'epoch-s') {
    const number = asNumber(value);
    if (number === null) return null;
    return format === 'epoch-ms' ? number : Math.round(multiplyDecimal(number, 1000));
  }
  if (typeof value !== 'string') return null;
  if (format === 'iso') return isoInstant(value);
  const pattern = datePattern(format);
  const match = pattern.parser.exec(value.trim());
  if (!match) return null;
  const parts: Record<DateToken, number> = { YYYY: 1970, MM: 1, DD: 1, HH: 0, mm: 0, ss: 0 };
  pattern.tokens.forEach((token, position) => {
    parts[token] = Number(match[position + 1]);
  });
  return utcMillis(parts.YYYY, parts.MM, parts.DD, parts.HH, parts.mm, parts.ss, 0);
}

/** `millis` written in `format`, or null when it has no representation there. */
function formatDate(millis: number, format: DateFormat): string | number | null {
  if (!Number.isFinite(millis)) return null;
  if (format === 'epoch-ms') return millis;
  if (format === 'epoch-s') return millis / 1000;
  const date = new Date(millis);
  if (Number.isNaN(date.getTime())) return null;
  if (format === 'iso') return date.toISOString();
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) return null;
  const values: Record<DateToken, number> = {
    YYYY: year,
    MM: date.getUTCMonth() + 1,
    DD: date.getUTCDate(),
    HH: date.getUTCHours(),
    mm: date.getUTCMinutes(),
    ss: date.getUTCSeconds(),
  };
  return datePattern(format)
    .pieces.map((piece) => (isDateToken(piece) ? String(values[piece]).padStart(piece.length, '0') : piece))
    .join('');
}

const DATE_TOKENS = ['YYYY', 'MM', 'DD', 'HH', 'mm', 'ss'] as const;
type DateToken = (typeof DATE_TOKENS)[number];

function isDateToken(piece: string): piece is DateToken {
  return (DATE_TOKENS as readonly string[]).includes(piece);
}

interface DatePattern {
  /** Tokens and literal text, in order. */
  pieces: string[];
  /** The tokens in the order of the parser's capture groups. */
  tokens: DateToken[];
  parser: RegExp;
}

const datePatterns = new Map<string, DatePattern>();

function datePattern(format: string): DatePattern {
  let pattern = datePatterns.get(format);
  if (pattern) return pattern;
  const pieces: string[] = [];
  for (let at = 0; at < format.length; ) {
    const token = DATE_TOKENS.find((candidate) => format.startsWith(candidate, at));
    pieces.push(token ?? (format[at] as string));
    at += token?.length ?? 1;
  }
  const tokens = pieces.filter(isDateToken);
  const parser = new RegExp(`^${pieces.map((piece) => (isDateToken(piece) ? `(\\d{${piece.length}})` : piece.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'))).join('')}$`);
  pattern = { pieces, tokens, parser };
  datePatterns.set(format, pattern);
  return pattern;
}

// ---------------------------------------------------------------------------------------------------------------
// The expression op.

async function applyExpressionOp(working: FlowRecord, op: ExpressionOp, direction: Direction, ctx: BehaviourContext, site: OpSite): Promise<void> {
  if (direction === 'forward') {
    write(working, op.target, await evaluateAt(op.forward, working, ctx, site, 'forward'), site);
    return;
  }
  if (op.backward === undefined) {
    // One-way: the computed field is not written backward.
    deletePath(working, op.target);
    return;
  }
  // Field paths to write: an object the expression returns names top-level keys, so each key is escaped as a path.
  const fields: [string, unknown][] = [];
  if (typeof op.backward === 'string') {
    const result = await evaluateAt(op.backward, working, ctx, site, 'backward');
    if (result !== undefined) {
      if (result === null || typeof result !== 'object' || Array.isArray(result)) {
        throw new RecordError(site.nodeId, `${where(site)} backward: the expression must give an object of fields, got ${preview(result)}`, op.target);
      }
      for (const [key, value] of Object.entries(result)) fields.push([formatPath([key]), value]);
    }
  } else {
    // Every field is computed from the record as it arrived, not from fields set a moment before.
    for (const [field, source] of Object.entries(op.backward)) {
      fields.push([field, await evaluateAt(source, working, ctx, site, 'backward')]);
    }
  }
  // The target goes first, so a backward field of the same name is kept.
  deletePath(working, op.target);
  for (const [field, value] of fields) write(working, field, value, site);
}

async function evaluateAt(source: string, input: FlowRecord, ctx: BehaviourContext, site: OpSite, direction: Direction): Promise<unknown> {
  try {
    return await evaluateExpression(source, input, ctx.limits, ctx.nodeId);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new RecordError(site.nodeId, `${where(site)} ${direction}: ${message}`, (site.op as ExpressionOp).target);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The round-trip check.

async function checkRoundTrip(samples: FlowRecord[], config: TransformConfig, ctx: BehaviourContext): Promise<RoundTripIssue[]> {
  const issues: RoundTripIssue[] = [];
  // Each op is checked on the samples as they reach it: after the ops before it, forward.
  const inputs: (FlowRecord | null)[] = samples.map((sample) => ({ ...sample }));
  for (let index = 0; index < config.ops.length; index += 1) {
    const op = config.ops[index] as TransformOp;
    const part = `ops[${index}] (${describeOp(op)})`;
    for (let sampleIndex = 0; sampleIndex < inputs.length; sampleIndex += 1) {
      const input = inputs[sampleIndex];
      if (!input) continue;
      if (flowsBothWays(op)) {
        try {
          const there = { ...input };
          await applyOp(there, op, 'forward', ctx, index);
          const back = { ...there };
          await applyOp(back, op, 'backward', ctx, index);
          for (const field of differingFields(input, back)) {
            issues.push({ nodeId: ctx.nodeId, part, sampleIndex, field, before: peekPath(input, field), after: peekPath(back, field) });
          }
        } catch (error) {
          const field = error instanceof RecordError && error.field !== undefined ? error.field : primaryField(op);
          // The error itself, which no JSON value can be: reported as a refusal, never quoted as the value that came back.
          const after = error instanceof Error ? error : new Error(String(error));
          issues.push({ nodeId: ctx.nodeId, part, sampleIndex, field, before: peekPath(input, field), after });
        }
      }
      try {
        await applyOp(input, op, 'forward', ctx, index);
      } catch {
        // The sample cannot reach the later ops; a two-way op's failure was reported just above.
        inputs[sampleIndex] = null;
      }
    }
  }
  return issues;
}

function flowsBothWays(op: TransformOp): boolean {
  if (op.op === 'lowercase' || op.op === 'uppercase') return false;
  return op.op !== 'expression' || op.backward !== undefined;
}

/** The paths of the leaves that differ, so a nested field that comes back changed is named, not its whole object. */
function differingFields(before: FlowRecord, after: FlowRecord): string[] {
  const fields = new Set([...leaves(before), ...leaves(after)].map(([keys]) => formatPath(keys)));
  return [...fields].filter((field) => !sameJson(peekPath(before, field), peekPath(after, field)));
}

function primaryField(op: TransformOp): string {
  switch (op.op) {
    case 'rename':
      return op.from;
    case 'join':
      return op.target;
    case 'expression':
      return op.target;
    default:
      return op.field;
  }
}

function describeOp(op: TransformOp): string {
  switch (op.op) {
    case 'rename':
      return `rename ${op.from} -> ${op.to}`;
    case 'split':
      return `split ${op.field} -> ${op.into.join(', ')}`;
    case 'join':
      return `join ${op.fields.join(', ')} -> ${op.target}`;
    case 'dateFormat':
      return `dateFormat ${op.field} ${op.from} -> ${op.to}`;
    case 'expression':
      return `expression ${op.target}`;
    default:
      return `${op.op} ${op.field}`;
  }
}

function where(site: OpSite): string {
  return `transform ${site.nodeId}, ops[${site.index}] (${describeOp(site.op)})`;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON values: shared with the mapping node, which compares and maps values the same way.

/** Deep equality of JSON values; object key order does not matter and an undefined field counts as absent. */
export function sameJson(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (left === null || right === null || typeof left !== 'object' || typeof right !== 'object') return false;
  if (Array.isArray(left) !== Array.isArray(right)) return false;
  if (Array.isArray(left)) {
    const other = right as unknown[];
    return left.length === other.length && left.every((item, index) => sameJson(item, other[index]));
  }
  const leftRecord = left as Record<string, unknown>;
  const rightRecord = right as Record<string, unknown>;
  const fields = new Set([...Object.keys(leftRecord), ...Object.keys(rightRecord)]);
  for (const field of fields) if (!sameJson(leftRecord[field], rightRecord[field])) return false;
  return true;
}

/** A text equal for JSON-equal values (object key order ignored), so values can be looked up in a Map. */
export function jsonKey(value: unknown): string {
  if (value === undefined) return '#absent';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? String(value);
  if (Array.isArray(value)) return `[${value.map(jsonKey).join(',')}]`;
  const record = value as Record<string, unknown>;
  const fields = Object.keys(record)
    .filter((field) => record[field] !== undefined)
    .sort();
  return `{${fields.map((field) => `${JSON.stringify(field)}:${jsonKey(record[field])}`).join(',')}}`;
}

const lookupTables = new WeakMap<readonly object[], Map<string, Map<string, unknown>>>();

/**
 * The value map of `pairs` in one direction: jsonKey(pair[from]) to pair[to]. Built once per config and
 * direction; when a value appears twice on the `from` side, the first pair wins.
 */
export function valueLookup<Side extends string>(pairs: readonly Readonly<Record<Side, unknown>>[], from: Side, to: Side): Map<string, unknown> {
  let tables = lookupTables.get(pairs);
  if (!tables) {
    tables = new Map();
    lookupTables.set(pairs, tables);
  }
  const direction = `${from}>${to}`;
  let table = tables.get(direction);
  if (!table) {
    table = new Map();
    for (const pair of pairs) {
      const key = jsonKey(pair[from]);
      if (!table.has(key)) table.set(key, pair[to]);
    }
    tables.set(direction, table);
  }
  return table;
}

/** A short rendering of a value for an error message. */
export function preview(value: unknown): string {
  const text = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Config values are shared by every record, so a record gets its own copy of an object or list. */
export function copyJson<T>(value: T): T {
  return value !== null && typeof value === 'object' ? structuredClone(value) : value;
}
