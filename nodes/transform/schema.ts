import { z } from 'zod';
import { fieldPathSchema, isInside, parsePath, pathProblem } from '../paths';
import { jsonataExpression } from './expression';

/** A field name, or a dotted path into nested objects (nodes/paths.ts). */
const fieldName = (what: string) => fieldPathSchema(`must name ${what}`);

/** Date formats: ISO-8601 text, epoch numbers, or a pattern of the tokens YYYY MM DD HH mm ss. */
export const dateFormatSchema = z.union([
  z.enum(['iso', 'epoch-ms', 'epoch-s']),
  z.string().regex(/^(?=.*(YYYY|MM|DD))[YMDHms\-/:. T]+$/, 'must be iso, epoch-ms, epoch-s or a pattern such as YYYY-MM-DD'),
]);

export const transformOpSchema = z.discriminatedUnion(
  'op',
  [
    z.strictObject({ op: z.literal('rename'), from: fieldName('the field to rename'), to: fieldName('the new field name') }),
    z.strictObject({
      op: z.literal('valueMap'),
      field: fieldName('the field whose values are mapped'),
      values: z.array(z.strictObject({ from: z.unknown(), to: z.unknown() })),
      otherwise: z.enum(['copy', 'error']).default('error'),
    }),
    z.strictObject({
      op: z.literal('split'),
      field: fieldName('the field to split'),
      separator: z.string().min(1, 'must be at least one character'),
      into: z.array(fieldName('a target field')).min(2, 'must list at least two target fields'),
    }),
    z.strictObject({
      op: z.literal('join'),
      fields: z.array(fieldName('a source field')).min(2, 'must list at least two fields to join'),
      separator: z.string().min(1, 'must be at least one character'),
      target: fieldName('the joined field'),
    }),
    z.strictObject({ op: z.literal('lowercase'), field: fieldName('the field to lower-case') }),
    z.strictObject({ op: z.literal('uppercase'), field: fieldName('the field to upper-case') }),
    z.strictObject({
      op: z.literal('scale'),
      field: fieldName('the numeric field'),
      factor: z.number().refine((factor) => factor !== 0 && Number.isFinite(factor), 'must be a finite number other than 0'),
      /** Decimal places kept after scaling; none rounds nothing. */
      precision: z.number().int().min(0).max(15).optional(),
    }),
    z.strictObject({ op: z.literal('dateFormat'), field: fieldName('the date field'), from: dateFormatSchema, to: dateFormatSchema }),
    z.strictObject({ op: z.literal('default'), field: fieldName('the field to fill'), value: z.unknown() }),
    z.strictObject({
      op: z.literal('expression'),
      target: fieldName('the computed field'),
      forward: jsonataExpression,
      /** One expression per field to recompute backward, or one expression returning an object of fields; absent: one-way. */
      backward: z.union([jsonataExpression, z.record(z.string(), jsonataExpression)]).optional(),
    }).superRefine((op, ctx) => {
      if (op.backward === undefined || typeof op.backward === 'string') return;
      for (const field of Object.keys(op.backward)) {
        const problem = pathProblem(field);
        if (problem) ctx.addIssue({ code: 'custom', path: ['backward', field], message: `"${field}" ${problem}` });
      }
    }),
  ],
  { error: 'op must be one of rename, valueMap, split, join, lowercase, uppercase, scale, dateFormat, default, expression' },
);

export const transformConfigSchema = z
  .strictObject({
    ops: z.array(transformOpSchema, { error: 'must be a list of ops' }),
  })
  .superRefine((config, ctx) => {
    checkPathsInsideValues(config.ops, 'forward', ctx);
    checkPathsInsideValues(config.ops, 'backward', ctx);
  });

export type TransformOp = z.infer<typeof transformOpSchema>;
export type TransformConfig = z.infer<typeof transformConfigSchema>;
export const transformTypeVersion = 1;

// ---------------------------------------------------------------------------------------------------------------
// Paths that go inside a value an earlier op made text or a number: such a path fails every record, so it is an
// error in the flow. Only what an op is sure to leave behind counts; anything that may be an object is not checked.

type ConfigPath = (string | number)[];

interface PathUse {
  path: string;
  at: ConfigPath;
}

type Holds = { kind: 'scalar'; what: string } | { kind: 'unknown' } | { kind: 'moved'; from: string };

const scalar = (what: string): Holds => ({ kind: 'scalar', what });
const unknownValue: Holds = { kind: 'unknown' };

/** What an op does to the fields going one way, in order: it reads, then empties, then writes. */
interface OpEffect {
  reads: PathUse[];
  removes: string[];
  /** Each written path and what it holds after: text or a number (`scalar`), anything, or what `from` held (a rename). */
  writes: Array<PathUse & { holds: Holds }>;
  /** The op may write any field (an expression returning an object of fields). */
  writesAnything?: boolean;
}

/** What one op does to the fields going one way, as far as it can be told without a record. */
function effectOf(op: TransformOp, direction: 'forward' | 'backward'): OpEffect {
  const forward = direction === 'forward';
  const use = (path: string, ...at: ConfigPath): PathUse => ({ path, at });
  const effect: OpEffect = { reads: [], removes: [], writes: [] };
  switch (op.op) {
    case 'rename': {
      const [from, to] = forward ? [use(op.from, 'from'), use(op.to, 'to')] : [use(op.to, 'to'), use(op.from, 'from')];
      effect.reads.push(from);
      effect.removes.push(from.path);
      effect.writes.push({ ...to, holds: { kind: 'moved', from: from.path } });
      break;
    }
    case 'split':
    case 'join': {
      const whole = op.op === 'split' ? use(op.field, 'field') : use(op.target, 'target');
      const parts = op.op === 'split' ? op.into.map((path, index) => use(path, 'into', index)) : op.fields.map((path, index) => use(path, 'fields', index));
      const [sources, targets] = (op.op === 'split') === forward ? [[whole], parts] : [parts, [whole]];
      effect.reads.push(...sources);
      effect.removes.push(...sources.map((source) => source.path), ...targets.map((target) => target.path));
      effect.writes.push(...targets.map((target) => ({ ...target, holds: scalar('text') })));
      break;
    }
    case 'valueMap':
      effect.reads.push(use(op.field, 'field'));
      effect.writes.push({ ...use(op.field, 'field'), holds: unknownValue });
      break;
    case 'lowercase':
    case 'uppercase':
      // Backward the field is only removed; forward text stays text and anything else is left as it is.
      if (forward) effect.reads.push(use(op.field, 'field'));
      else effect.removes.push(op.field);
      break;
    case 'scale':
      effect.reads.push(use(op.field, 'field'));
      effect.writes.push({ ...use(op.field, 'field'), holds: scalar('a number') });
      break;
    case 'dateFormat':
      effect.reads.push(use(op.field, 'field'));
      effect.writes.push({ ...use(op.field, 'field'), holds: scalar('a date as text or a number') });
      break;
    case 'default':
      // Backward is the identity. Forward it may fill the field with the value, which may be an object.
      if (forward) {
        effect.reads.push(use(op.field, 'field'));
        if (op.value !== null && typeof op.value === 'object') effect.writes.push({ ...use(op.field, 'field'), holds: unknownValue });
      }
      break;
    case 'expression':
      if (forward) effect.writes.push({ ...use(op.target, 'target'), holds: unknownValue });
      else {
        effect.removes.push(op.target);
        if (typeof op.backward === 'string') effect.writesAnything = true;
        else for (const field of Object.keys(op.backward ?? {})) effect.writes.push({ ...use(field, 'backward', field), holds: unknownValue });
      }
      break;
  }
  return effect;
}

interface Known {
  keys: readonly string[];
  holds: string;
  /** The op that made the path hold it. */
  index: number;
}

function checkPathsInsideValues(ops: readonly TransformOp[], direction: 'forward' | 'backward', ctx: z.RefinementCtx): void {
  // Paths known to hold text or a number at this point of the run.
  const known = new Map<string, Known>();
  const keysOf = (path: string): readonly string[] | null => (typeof path === 'string' && pathProblem(path) === null ? parsePath(path) : null);
  const forget = (path: string) => {
    const keys = keysOf(path);
    if (!keys) return;
    for (const [other, entry] of known) if (other === path || isInside(entry.keys, keys)) known.delete(other);
  };
  // An op that reads and writes one path is reported once.
  const reported = new Set<string>();
  const check = (use: PathUse, index: number) => {
    const keys = keysOf(use.path);
    if (!keys || reported.has(`${index}\u0000${use.path}`)) return;
    for (const [outer, entry] of known) {
      if (!isInside(keys, entry.keys)) continue;
      const who = entry.index === index ? 'this op' : `ops[${entry.index}] (${(ops[entry.index] as TransformOp).op})`;
      reported.add(`${index}\u0000${use.path}`);
      ctx.addIssue({
        code: 'custom',
        path: ['ops', index, ...use.at],
        message: `"${use.path}" goes inside "${outer}", which ${who} leaves holding ${entry.holds} going ${direction}: a path can only go inside an object`,
      });
      return;
    }
  };
  for (let step = 0; step < ops.length; step += 1) {
    const index = direction === 'forward' ? step : ops.length - 1 - step;
    const effect = effectOf(ops[index] as TransformOp, direction);
    for (const read of effect.reads) check(read, index);
    const moved = new Map<string, Known | undefined>();
    for (const write of effect.writes) if (write.holds.kind === 'moved') moved.set(write.holds.from, known.get(write.holds.from));
    for (const path of effect.removes) forget(path);
    if (effect.writesAnything) known.clear();
    for (const write of effect.writes) {
      // Each write is checked against what the writes before it left, the op's own included.
      check(write, index);
      forget(write.path);
      const keys = keysOf(write.path);
      if (!keys) continue;
      if (write.holds.kind === 'scalar') known.set(write.path, { keys, holds: write.holds.what, index });
      const from = write.holds.kind === 'moved' ? moved.get(write.holds.from) : undefined;
      if (from) known.set(write.path, { ...from, keys });
    }
  }
}
