import type { NodeDefinition } from '../types';
import { filterBehaviour } from './behaviour';
import { filterConfigSchema, filterTypeVersion } from './schema';

export const filter = {
  type: 'filter',
  typeVersion: filterTypeVersion,
  migrations: [],
  title: 'Filter',
  description: 'Lets only the records for which a JSONata condition is true pass, in the directions it is set for.',
  schema: filterConfigSchema,
  defaults: () => ({ condition: 'true', directions: 'both' }),
  summarize: (config) => `${config.directions === 'both' ? '' : `${config.directions} only: `}${config.condition}`,
  behaviour: filterBehaviour,
} satisfies NodeDefinition<typeof filterConfigSchema>;
