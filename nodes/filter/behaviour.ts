import type { NodeBehaviour } from '../types';
import type { FilterConfig } from './schema';

// Placeholder until the behaviour lands (being written now); never committed like this.
export const filterBehaviour: NodeBehaviour<FilterConfig> = {
  forward: () => { throw new Error('not yet'); },
  backward: () => { throw new Error('not yet'); },
};
