import type { NodeDefinition } from '../types';
import { transformBehaviour } from './behaviour';
import { transformConfigSchema, transformTypeVersion } from './schema';

export const transform = {
  type: 'transform',
  typeVersion: transformTypeVersion,
  migrations: [],
  title: 'Transform',
  description: 'Computes fields: rename, map values, split and join, change case, scale numbers, format dates, fill defaults, or a JSONata expression each way.',
  schema: transformConfigSchema,
  defaults: () => ({ ops: [] }),
  summarize: (config) => (config.ops.length === 0 ? 'no ops' : config.ops.map((op) => op.op).join(', ')),
  behaviour: transformBehaviour,
} satisfies NodeDefinition<typeof transformConfigSchema>;
