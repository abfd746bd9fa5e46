import { z } from 'zod';
import { fieldPathSchema, isInside, parsePath, pathProblem } from '../paths';

export const pairDirectionSchema = z.enum(['both', 'forward', 'backward'], {
  error: 'must be one of both, forward, backward',
});

export const valuePairSchema = z.strictObject({ left: z.unknown(), right: z.unknown() });

export const fieldPairSchema = z
  .strictObject({
    left: fieldPathSchema('must name a field on the left side'),
    right: fieldPathSchema('must name a field on the right side'),
    direction: pairDirectionSchema.default('both'),
    values: z.array(valuePairSchema).optional(),
    /** Without it, a value missing from `values` fails the record rather than being copied unchanged. */
    otherwise: z.enum(['copy', 'error'], { error: 'must be copy or error' }).optional(),
  })
  .superRefine((pair, ctx) => {
    const values = pair.values ?? [];
    for (const side of ['left', 'right'] as const) {
      const seen = new Map<string, number>();
      values.forEach((entry, index) => {
        const key = JSON.stringify(entry[side]);
        const first = seen.get(key);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['values', index, side],
            message: `duplicate ${side} value ${key} (also at values[${first}]): each value must map to exactly one value, or the pair cannot be reversed`,
          });
        } else {
          seen.set(key, index);
        }
      });
    }
  });

export const mappingConfigSchema = z
  .strictObject({
    fields: z.array(fieldPairSchema, { error: 'must be a list of field pairs' }),
  })
  .superRefine((config, ctx) => {
    checkNestedTargets(config.fields, 'right', 'forward', ctx);
    checkNestedTargets(config.fields, 'left', 'backward', ctx);
  });

/**
 * A pair that writes a whole field and another that writes inside it, in the same direction, would each undo the
 * other depending on their order (or go inside text): refuse it here rather than fail every record.
 */
function checkNestedTargets(pairs: readonly FieldPair[], side: 'left' | 'right', direction: 'forward' | 'backward', ctx: z.RefinementCtx): void {
  const targets: Array<{ index: number; path: string; keys: readonly string[] }> = [];
  pairs.forEach((pair, index) => {
    if (pair.direction !== 'both' && pair.direction !== direction) return;
    if (typeof pair[side] !== 'string' || pathProblem(pair[side]) !== null) return;
    targets.push({ index, path: pair[side], keys: parsePath(pair[side]) });
  });
  for (const inner of targets) {
    const outer = targets.find((other) => isInside(inner.keys, other.keys));
    if (!outer) continue;
    ctx.addIssue({
      code: 'custom',
      path: ['fields', inner.index, side],
      message: `"${inner.path}" is inside "${outer.path}", which fields[${outer.index}] writes whole going ${direction}: map the whole object or the fields inside it, not both`,
    });
  }
}

export type FieldPair = z.infer<typeof fieldPairSchema>;
export type MappingConfig = z.infer<typeof mappingConfigSchema>;
export const mappingTypeVersion = 1;
