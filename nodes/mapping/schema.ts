import { z } from 'zod';

export const pairDirectionSchema = z.enum(['both', 'forward', 'backward'], {
  error: 'must be one of both, forward, backward',
});

export const valuePairSchema = z.strictObject({ left: z.unknown(), right: z.unknown() });

export const fieldPairSchema = z
  .strictObject({
    left: z.string({ error: 'must name a field on the left side' }).min(1, 'must name a field on the left side'),
    right: z.string({ error: 'must name a field on the right side' }).min(1, 'must name a field on the right side'),
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

export const mappingConfigSchema = z.strictObject({
  fields: z.array(fieldPairSchema, { error: 'must be a list of field pairs' }),
});

export type FieldPair = z.infer<typeof fieldPairSchema>;
export type MappingConfig = z.infer<typeof mappingConfigSchema>;
export const mappingTypeVersion = 1;
