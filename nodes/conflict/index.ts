import type { NodeDefinition } from '../types';
import { conflictConfigSchema, conflictTypeVersion } from './schema';

const describePolicy = (policy: unknown) => (typeof policy === 'string' ? policy : `prefer ${(policy as { prefer: string }).prefer}`);

export const conflict = {
  type: 'conflict',
  typeVersion: conflictTypeVersion,
  migrations: [],
  title: 'Conflict',
  description: 'Where the records of every side meet: links them, merges changes field by field, and decides conflicts.',
  schema: conflictConfigSchema,
  defaults: () => ({ policy: 'last-write-wins', fields: {}, match: [], deletes: 'review' }),
  summarize: (config) => `${describePolicy(config.policy)}${config.match.length ? ` · match ${config.match.join(', ')}` : ''} · deletes ${config.deletes}`,
  // The conflict node is where records merge, not a step they pass through: the engine handles it.
  behaviour: null,
} satisfies NodeDefinition<typeof conflictConfigSchema>;
