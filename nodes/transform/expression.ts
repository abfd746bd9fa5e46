import jsonata from 'jsonata';
import { z } from 'zod';
import { RecordError, type ExpressionLimits } from '../types';
import { LinearRegExp, regExpProblem, RegExpTimeExceeded, UnsupportedRegExpError } from './linearRegExp';

/**
 * Why a JSONata expression cannot run: where and why it does not parse, or which of its regular expressions RE2
 * cannot run (a backreference, a lookaround). Null when it can. Flow validation and evaluation both ask here.
 */
export function expressionProblem(source: string): string | null {
  let ast: unknown;
  try {
    ast = jsonata(source).ast();
  } catch (error) {
    const detail = error as { message?: string; position?: number };
    const where = typeof detail.position === 'number' ? ` at character ${detail.position}` : '';
    return `expression does not parse${where}: ${detail.message ?? String(error)}`;
  }
  for (const { pattern, position } of regexLiterals(ast)) {
    const problem = regExpProblem(pattern.source, pattern.flags);
    if (problem) return `expression cannot run${typeof position === 'number' ? ` at character ${position}` : ''}: ${problem}`;
  }
  return null;
}

/** A JSONata expression that must parse and whose regular expressions RE2 can run; its evaluation is sandboxed separately. */
export const jsonataExpression = z
  .string({ error: 'must be a JSONata expression (text)' })
  .min(1, 'must be a JSONata expression, not empty')
  .superRefine((source, ctx) => {
    const problem = expressionProblem(source);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** How many compiled expressions are kept; a flow has a handful, so this only bounds an editor typing new ones. */
export const MAX_CACHED_EXPRESSIONS = 500;
/** The longest list an expression may build. JSONata checks it before allocating a range such as `[1..10000000]`. */
export const MAX_LIST_LENGTH = 100_000;
/** The longest text an expression may produce at any step, so doubling a string in a loop fails early. */
export const MAX_TEXT_LENGTH = 10_000_000;

// The hooks JSONata looks up on every evaluation step (the same ones its own test suite uses to timebox expressions).
const EVALUATE_ENTRY = Symbol.for('jsonata.__evaluate_entry');
const EVALUATE_EXIT = Symbol.for('jsonata.__evaluate_exit');

/** Where one evaluation stands against its limits. */
interface EvaluationBudget {
  /** Time charged to this evaluation so far (see `installLimits`). */
  spentMs: number;
  /** Lambda bodies currently being evaluated: the depth of user-function recursion. */
  callDepth: number;
}

/** A longer gap between two evaluation steps is charged as this much; see `installLimits`. */
const MAX_CHARGED_GAP_MS = 20;
/** When the last evaluation step of any expression ran (`performance.now()`). */
let lastStepAt = 0;

/** Thrown from the hooks; a class of our own so it is recognised even when JSONata wraps it (`$eval` does). */
class ExpressionLimitExceeded extends Error {}

const compiledExpressions = new Map<string, jsonata.Expression>();

/** How many compiled expressions the cache holds (for tests and diagnostics). */
export function compiledExpressionCount(): number {
  return compiledExpressions.size;
}

/**
 * Evaluates a JSONata expression against `input` within `limits`; rejects with a RecordError when it fails,
 * runs too long, recurses too deep or builds something too large. The result is plain JSON data.
 */
export async function evaluateExpression(source: string, input: unknown, limits: ExpressionLimits, nodeId: string): Promise<unknown> {
  const expression = compile(source, limits, nodeId);
  let result: unknown;
  try {
    result = await expression.evaluate(input);
  } catch (error) {
    throw asRecordError(error, nodeId);
  }
  if (isFunctionValue(result)) {
    throw new RecordError(nodeId, 'expression returned a function, not a value');
  }
  return toPlainData(result);
}

function compile(source: string, limits: ExpressionLimits, nodeId: string): jsonata.Expression {
  // The hooks close over the limits, so expressions run under different limits are compiled apart.
  const cacheKey = `${limits.timeoutMs}:${limits.maxDepth}:${source}`;
  const cached = compiledExpressions.get(cacheKey);
  if (cached) {
    // Re-inserting keeps the map in least-recently-used order, so eviction drops what is not in use.
    compiledExpressions.delete(cacheKey);
    compiledExpressions.set(cacheKey, cached);
    return cached;
  }
  const problem = expressionProblem(source);
  if (problem) throw new RecordError(nodeId, problem);
  // `sequence` makes JSONata refuse an oversized range or list before it allocates it. Regular expressions run on
  // RE2, in time linear in the text (see linearRegExp.ts), and each gets the expression's time limit for its searches.
  const expression = jsonata(source, { sequence: MAX_LIST_LENGTH, RegexEngine: linearRegExpEngine(limits.timeoutMs) });
  installLimits(expression, limits);
  replaceUnboundedBuiltins(expression);
  compiledExpressions.set(cacheKey, expression);
  if (compiledExpressions.size > MAX_CACHED_EXPRESSIONS) {
    const oldest = compiledExpressions.keys().next();
    if (!oldest.done) compiledExpressions.delete(oldest.value);
  }
  return expression;
}

/**
 * Timeboxes every evaluation of `expression` through JSONata's entry and exit hooks.
 *
 * A compiled expression is shared by every record, and evaluations may overlap, so the budget is kept per
 * evaluation, keyed by the root frame JSONata creates for each `evaluate` call (`environment.base`).
 *
 * Time: the engine may run many records' expressions at once, and their steps interleave, so wall-clock time
 * since an evaluation began would fail quick expressions that merely shared the thread. Instead the time between
 * one step (of any evaluation) and the next is charged to the evaluation that takes the next step. A single gap
 * counts for at most MAX_CHARGED_GAP_MS, so a garbage-collection pause or a busy machine does not fail a trivial
 * expression; a runaway is made of many short steps and is still stopped on time, and no single built-in step
 * can run long, because lists and texts are bounded and the quadratic built-ins are replaced.
 *
 * Depth counts nested evaluations of lambda bodies, i.e. how deep user functions recurse. Counting every
 * evaluation step instead would measure the size of the expression, and JSONata evaluates the items of an array
 * constructor and the groups of an object constructor concurrently, so a plain `lines{sku: qty}` over a few
 * hundred lines would look hundreds of levels deep. Tail calls are run by JSONata's trampoline and do not nest:
 * an endless tail-recursive function is stopped by the time limit instead.
 */
function installLimits(expression: jsonata.Expression, limits: ExpressionLimits): void {
  const lambdaBodies = collectLambdaBodies(expression.ast());
  const budgets = new WeakMap<object, EvaluationBudget>();

  const chargeStep = (environment: EvaluationFrame): EvaluationBudget => {
    const now = performance.now();
    const root = environment.base ?? environment;
    let budget = budgets.get(root);
    if (budget) {
      budget.spentMs += Math.min(now - lastStepAt, MAX_CHARGED_GAP_MS);
    } else {
      // The gap before an evaluation's first step belongs to whatever ran before it.
      budget = { spentMs: 0, callDepth: 0 };
      budgets.set(root, budget);
    }
    lastStepAt = now;
    if (budget.spentMs > limits.timeoutMs) {
      throw new ExpressionLimitExceeded(`expression ran longer than ${limits.timeoutMs} ms; check it for a loop or recursion that never ends`);
    }
    return budget;
  };

  const onEntry = (node: object, _input: unknown, environment: EvaluationFrame) => {
    const budget = chargeStep(environment);
    if (lambdaBodies.has(node)) {
      budget.callDepth += 1;
      if (budget.callDepth > limits.maxDepth) {
        throw new ExpressionLimitExceeded(`expression recursed deeper than ${limits.maxDepth} levels; check its recursion for a case that ends it`);
      }
    }
  };
  const onExit = (node: object, _input: unknown, environment: EvaluationFrame, result: unknown) => {
    const budget = chargeStep(environment);
    if (lambdaBodies.has(node)) budget.callDepth -= 1;
    if (typeof result === 'string' && result.length > MAX_TEXT_LENGTH) {
      throw new ExpressionLimitExceeded(`expression built a text longer than ${MAX_TEXT_LENGTH} characters`);
    }
    if (Array.isArray(result) && result.length > MAX_LIST_LENGTH) {
      throw new ExpressionLimitExceeded(tooLongListMessage());
    }
  };
  // JSONata's typings only allow string names, but it looks the hooks up by these symbols.
  expression.assign(EVALUATE_ENTRY as unknown as string, onEntry);
  expression.assign(EVALUATE_EXIT as unknown as string, onExit);
}

/**
 * The hooks only run between evaluation steps, so a built-in that does a lot of work in one step cannot be
 * stopped by the time limit. JSONata's `$sort` copies the rest of the list on every comparison (quadratic memory:
 * sorting 300 000 numbers exhausts the heap) and `$distinct` compares every pair (minutes for a million items).
 * Each compiled expression gets linear-memory versions with the same results, shadowing the built-ins.
 */
function replaceUnboundedBuiltins(expression: jsonata.Expression): void {
  expression.registerFunction('sort', sortList, '<af?:a>');
  expression.registerFunction('distinct', distinctItems, '<x:x>');
}

type Comparator = (left: unknown, right: unknown) => unknown;

/** `$sort`: a stable sort in which `comparator(a, b)` returning true puts b before a, as JSONata's merge sort does. */
async function sortList(items: unknown, comparator?: Comparator): Promise<unknown> {
  if (!Array.isArray(items) || items.length <= 1) return items;
  if (comparator === undefined) {
    const numbers = items.every((item) => typeof item === 'number');
    if (!numbers && !items.every((item) => typeof item === 'string')) {
      // JSONata's own error for this case; it fills in the message and position.
      throw { code: 'D3070', stack: new Error().stack, index: 1 };
    }
    return [...(items as (number | string)[])].sort((left, right) => (left < right ? -1 : left > right ? 1 : 0));
  }
  // Bottom-up merge sort: n log n comparisons, two buffers, each comparison awaited (it is a JSONata lambda).
  let source: unknown[] = [...items];
  let target: unknown[] = new Array<unknown>(source.length);
  for (let width = 1; width < source.length; width *= 2) {
    for (let low = 0; low < source.length; low += 2 * width) {
      const middle = Math.min(low + width, source.length);
      const high = Math.min(low + 2 * width, source.length);
      let left = low;
      let right = middle;
      let out = low;
      while (left < middle && right < high) {
        target[out++] = (await comparator(source[left], source[right])) ? source[right++] : source[left++];
      }
      while (left < middle) target[out++] = source[left++];
      while (right < high) target[out++] = source[right++];
    }
    [source, target] = [target, source];
  }
  return source;
}

/** `$distinct`: keeps the first of each group of deeply equal items, in one pass. */
function distinctItems(this: jsonata.Focus, items: unknown): unknown {
  if (!Array.isArray(items) || items.length <= 1) return items;
  const focus = this as jsonata.Focus & { createSequence?: () => unknown[] };
  const isSequence = (items as { sequence?: unknown }).sequence === true;
  const results: unknown[] = isSequence && focus.createSequence ? focus.createSequence() : [];
  // Primitives compare by value in a Set (1 and "1" stay apart); objects and arrays by a canonical text.
  const seenPrimitives = new Set<unknown>();
  const seenStructures = new Set<string>();
  for (const item of items) {
    if (item === null || typeof item !== 'object') {
      if (seenPrimitives.has(item)) continue;
      seenPrimitives.add(item);
    } else if (!isFunctionValue(item)) {
      // A function is never equal to anything, so it is always kept.
      const key = identityKey(item);
      if (seenStructures.has(key)) continue;
      seenStructures.add(key);
    }
    results.push(item);
  }
  return results;
}

/** A text that is equal for deeply equal JSON values (object key order ignored) and different otherwise. */
function identityKey(value: unknown): string {
  if (value === null || typeof value !== 'object') return `${typeof value}:${String(value)}`;
  if (Array.isArray(value)) return `[${value.map(identityKey).join(',')}]`;
  const entries = Object.entries(value)
    .filter(([, field]) => field !== undefined && !isFunctionValue(field))
    .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
  return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${identityKey(field)}`).join(',')}}`;
}

/** JSONata's RegexEngine: LinearRegExp, whose searches for one regex literal stop after `timeoutMs` together. */
function linearRegExpEngine(timeoutMs: number): RegExpConstructor {
  class TimedLinearRegExp extends LinearRegExp {
    constructor(pattern: RegExp | string, flags?: string) {
      super(pattern, flags, { timeoutMs });
    }
  }
  // JSONata only constructs it and calls exec and lastIndex (see LinearRegExp); its typings ask for RegExp's type.
  return TimedLinearRegExp as unknown as RegExpConstructor;
}

/** The regex literals of a parsed expression (JSONata compiles them to RegExp objects as it parses), with where they are. */
function regexLiterals(ast: unknown): Array<{ pattern: RegExp; position: number | undefined }> {
  const found: Array<{ pattern: RegExp; position: number | undefined }> = [];
  const seen = new Set<object>();
  const pending: unknown[] = [ast];
  while (pending.length > 0) {
    const node = pending.pop();
    if (node === null || typeof node !== 'object' || seen.has(node) || node instanceof RegExp) continue;
    seen.add(node);
    const fields = node as Record<string, unknown>;
    if (fields.type === 'regex' && fields.value instanceof RegExp) {
      found.push({ pattern: fields.value, position: typeof fields.position === 'number' ? fields.position : undefined });
    }
    for (const value of Array.isArray(node) ? node : Object.values(fields)) pending.push(value);
  }
  return found.sort((left, right) => (left.position ?? 0) - (right.position ?? 0));
}

/** The part of a JSONata frame the hooks read. */
interface EvaluationFrame {
  base?: object;
}

function collectLambdaBodies(ast: unknown): Set<object> {
  const bodies = new Set<object>();
  const seen = new Set<object>();
  const pending: unknown[] = [ast];
  while (pending.length > 0) {
    const node = pending.pop();
    if (node === null || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    const fields = node as Record<string, unknown>;
    if (fields.type === 'lambda' && typeof fields.body === 'object' && fields.body !== null) bodies.add(fields.body);
    for (const value of Array.isArray(node) ? node : Object.values(fields)) pending.push(value);
  }
  return bodies;
}

function tooLongListMessage(): string {
  return `expression built a list of more than ${MAX_LIST_LENGTH} items`;
}

function asRecordError(error: unknown, nodeId: string): RecordError {
  const cause = innermostCause(error);
  if (cause instanceof ExpressionLimitExceeded || cause instanceof RegExpTimeExceeded) return new RecordError(nodeId, cause.message);
  // A regular expression built while the expression runs (inside `$eval`) is checked only then.
  if (cause instanceof UnsupportedRegExpError) return new RecordError(nodeId, `expression cannot run: ${cause.message}`);
  const detail = error as { code?: unknown; message?: unknown; position?: unknown } | null;
  // D2014 is JSONata's own ceiling on ranges, D2015 the list limit set at compile time.
  if (isListLimitError(error) || isListLimitError(cause)) return new RecordError(nodeId, tooLongListMessage());
  if (error instanceof RangeError) {
    // V8's own ceilings (string length, call stack): report them as the expression's, not as a crash.
    return new RecordError(nodeId, `expression exceeded a limit of the runtime: ${error.message}`);
  }
  const message = typeof detail?.message === 'string' ? detail.message : String(error);
  const where = typeof detail?.position === 'number' ? ` at character ${detail.position}` : '';
  return new RecordError(nodeId, `expression failed${where}: ${message}`);
}

function isListLimitError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'D2014' || code === 'D2015';
}

// `$eval` wraps the error of the expression it ran in `{ code: 'D3121', error }`.
function innermostCause(error: unknown): unknown {
  let cause = error;
  for (let hops = 0; hops < 10; hops += 1) {
    const inner = (cause as { error?: unknown } | null)?.error;
    if (inner === undefined || inner === null || typeof inner !== 'object') break;
    cause = inner;
  }
  return cause;
}

/** A JavaScript function, or a JSONata lambda or built-in (objects that carry their defining environment). */
function isFunctionValue(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (value === null || typeof value !== 'object') return false;
  const marks = value as { _jsonata_lambda?: unknown; _jsonata_function?: unknown };
  return marks._jsonata_lambda === true || marks._jsonata_function === true;
}

/**
 * JSONata returns its own sequences (arrays with marker properties) and may return the input's objects by
 * reference; records get fresh plain data. Functions inside a result become what JSON.stringify makes of them.
 */
function toPlainData(value: unknown): unknown {
  if (isFunctionValue(value)) return undefined;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    return value.map((item) => toPlainData(item) ?? null);
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  // A Date or another class instance from a connector passes untouched; only plain objects are rebuilt.
  if (prototype !== Object.prototype && prototype !== null) return value;
  const plainObject: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const plain = toPlainData(field);
    if (plain !== undefined) plainObject[key] = plain;
  }
  return plainObject;
}
