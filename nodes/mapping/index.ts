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
  behaviour: mappingBehaviour,
} satisfies NodeDefinition<typeof mappingConfigSchema>;
