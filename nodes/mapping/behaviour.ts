import type { NodeBehaviour } from '../types';
import type { MappingConfig } from './schema';

// Placeholder until the behaviour lands (being written now); never committed like this.
export const mappingBehaviour: NodeBehaviour<MappingConfig> = {
  forward: () => { throw new Error('not yet'); },
  backward: () => { throw new Error('not yet'); },
};
