import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runtimeFileNames } from '../connectors/access';
import { loadOrCreateKey } from './cipher';

/** The credential key of a state file: beside it, as `serve` keeps `credentials.key` next to `state.db` in its data folder. */
export function credentialKeyFileFor(statePath: string): string {
  return join(dirname(statePath), runtimeFileNames.credentialKey);
}

/**
 * The key in `file`, for a command that only reads credentials: a missing key is an error that says how to store one,
 * never a new key (which could decrypt nothing stored before).
 */
export function existingKey(file: string, statePath: string): Buffer {
  if (!existsSync(file)) {
    throw new Error(`no credential key at ${file}: store the flow's credentials with syncline credentials add NAME --type TYPE --state ${statePath}`);
  }
  return loadOrCreateKey(file);
}
