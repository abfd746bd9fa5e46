import { conflictUi } from './conflict/ui';
import { filterUi } from './filter/ui';
import type { NodeUi } from './forms/types';
import type { NodeType } from './index';
import { mappingUi } from './mapping/ui';
import { transformUi } from './transform/ui';
import { triggerUi } from './trigger/ui';

/**
 * How the editor shows each node type, one line per node folder. Apart from ./index.ts because forms are React: the
 * runtime (and its pass worker) loads the registry, never this. `satisfies` keeps the two lists the same: a type
 * missing here, or one the registry does not have, is a type error.
 */
export const nodeUi = { trigger: triggerUi, transform: transformUi, mapping: mappingUi, conflict: conflictUi, filter: filterUi } satisfies { [T in NodeType]: NodeUi };
