/**
 * `keys: "shared"` (SPEC §3): a trigger whose created records take the key of the record they come from needs a
 * connector that can create a record under a given key. Refused twice with one message: when a flow is validated,
 * from the registry (`ConnectorType.givenKeys`), and when a pass opens the connector (`capabilities.givenKeys`, which
 * an opened connector may deny for its collection).
 */
import type { ConnectionProblem } from './connection';
import type { ConnectorType } from './types';

/** Why a trigger with `keys: "shared"` cannot use this connector (or, with `collection`, this collection of it). */
export function givenKeysRefusal(connector: string, registry: Readonly<Record<string, ConnectorType>>, collection?: string): string {
  const able = Object.entries(registry)
    .filter(([, type]) => type.givenKeys === true)
    .map(([name]) => name);
  const here = collection === undefined ? '' : ` for collection "${collection}"`;
  return `keys "shared" needs a connector that can create a record under a given key${able.length > 0 ? ` (${able.join(', ')})` : ''}; the ${connector} connector cannot${here}: set keys to "own"`;
}

/** Problems of a trigger's options that depend on its connector, with paths inside `config` (flow validation). */
export function triggerOptionProblems(config: Record<string, unknown>, registry: Readonly<Record<string, ConnectorType>>): ConnectionProblem[] {
  const connector = config.connector;
  if (config.keys !== 'shared' || typeof connector !== 'string' || !Object.hasOwn(registry, connector)) return [];
  if (registry[connector]?.givenKeys === true) return [];
  return [{ path: ['keys'], message: givenKeysRefusal(connector, registry) }];
}
