import type { NodeDefinition } from '../types';
import { triggerConfigSchema, triggerTypeVersion } from './schema';

export const trigger = {
  type: 'trigger',
  typeVersion: triggerTypeVersion,
  migrations: [],
  title: 'Trigger',
  description: 'One collection of one connected system: where changes come from and where writes go.',
  schema: triggerConfigSchema,
  defaults: () => ({ connector: 'sqlite', connection: { file: '' }, collection: '', key: 'id', detect: { mode: 'poll', intervalMs: 5000 } }),
  summarize: (config) => `${config.connector} · ${config.collection}${config.detect.mode === 'poll' ? ` · every ${config.detect.intervalMs / 1000}s` : ` · ${config.detect.mode}`}`,
  behaviour: null,
} satisfies NodeDefinition<typeof triggerConfigSchema>;
