import type { NodeBehaviour } from '../types';
import type { TransformConfig } from './schema';

// Placeholder until the behaviour lands (being written now); never committed like this.
export const transformBehaviour: NodeBehaviour<TransformConfig> = {
  forward: () => { throw new Error('not yet'); },
  backward: () => { throw new Error('not yet'); },
};
