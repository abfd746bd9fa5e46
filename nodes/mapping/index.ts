import type { NodeDefinition } from '../types';
import { mappingBehaviour } from './behaviour';
import { mappingConfigSchema, mappingTypeVersion } from './schema';

export const mapping = {
  type: 'mapping',
  typeVersion: mappingTypeVersion,
  migrations: [],
  title: 'Mapping',
  description: 'Pairs the fields of the left side with those of the right side; fields not listed do not pass.',
  schema: mappingConfigSchema,
  defaults: () => ({ fields: [] }),
  summarize: (config) => `${config.fields.length} field${config.fields.length === 1 ? '' : 's'}`,
  advise: (config) =>
    config.fields.length === 0 ? [{ path: ['fields'], message: 'has no field pairs, so no field passes this mapping: add a pair for each field to sync' }] : [],
  behaviour: mappingBehaviour,
} satisfies NodeDefinition<typeof mappingConfigSchema>;
