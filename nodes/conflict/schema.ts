import { z } from 'zod';

export const policySchema = z.union(
  [
    z.literal('last-write-wins'),
    z.literal('manual'),
    z.strictObject({ prefer: z.string().min(1, 'must name a trigger node id') }),
  ],
  { error: 'must be last-write-wins, manual, or { "prefer": "<trigger id>" }' },
);

export const conflictConfigSchema = z.strictObject({
  policy: policySchema.default('last-write-wins'),
  /** Per-field overrides of the policy, keyed by field name in this node's vocabulary. */
  fields: z.record(z.string(), policySchema).default({}),
  match: z.array(z.string().min(1, 'must name a field'), { error: 'must be a list of field names' }).default([]),
  deletes: z.enum(['propagate', 'ignore', 'review'], { error: 'must be one of propagate, ignore, review' }).default('review'),
  /** The mass-delete guard: a pass that would delete more than `maxShare` of a side's links, and at least `minCount`, stops for review. */
  massDelete: z
    .strictObject({
      maxShare: z.number().min(0).max(1).default(0.2),
      minCount: z.number().int().min(1).default(10),
    })
    .default({ maxShare: 0.2, minCount: 10 }),
  /** The breaker: a linked record written more than `maxWrites` times within `windowMs` is quarantined. */
  breaker: z
    .strictObject({
      maxWrites: z.number().int().min(1).default(10),
      windowMs: z.number().int().min(1000).default(60_000),
    })
    .default({ maxWrites: 10, windowMs: 60_000 }),
});

export type ConflictPolicy = z.infer<typeof policySchema>;
export type ConflictConfig = z.infer<typeof conflictConfigSchema>;
export const conflictTypeVersion = 1;
