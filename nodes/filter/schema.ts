import { z } from 'zod';
import { jsonataExpression } from '../transform/expression';

export const filterConfigSchema = z.strictObject({
  /** JSONata over the record; records for which it is not true do not pass. */
  condition: jsonataExpression,
  directions: z.enum(['both', 'forward', 'backward'], { error: 'must be one of both, forward, backward' }).default('both'),
});

export type FilterConfig = z.infer<typeof filterConfigSchema>;
export const filterTypeVersion = 1;
