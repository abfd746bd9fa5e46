import { z } from 'zod';
import { jsonataExpression } from './expression';

const fieldName = (what: string) => z.string({ error: `must name ${what}` }).min(1, `must name ${what}`);

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
    }),
  ],
  { error: 'op must be one of rename, valueMap, split, join, lowercase, uppercase, scale, dateFormat, default, expression' },
);

export const transformConfigSchema = z.strictObject({
  ops: z.array(transformOpSchema, { error: 'must be a list of ops' }),
});

export type TransformOp = z.infer<typeof transformOpSchema>;
export type TransformConfig = z.infer<typeof transformConfigSchema>;
export const transformTypeVersion = 1;
