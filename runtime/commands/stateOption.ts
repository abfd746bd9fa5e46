/**
 * Where a command keeps the runtime's state: `--state`, a SQLite file or a `postgres://` URL, else SYNCLINE_STATE_URL,
 * else its default file. One reading for `serve`, `run` and `credentials`, so all three find the same state.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { runtimeFileNames } from '../connectors/access';
import { existingKey } from '../credentials/keyFile';
import { CredentialStore, MissingCredentialError } from '../credentials/store';
import { openStateDb } from '../db/index';
import { describePostgresUrl, isPostgresUrl } from '../util/postgresUrl';

/** The environment variable that names the state when `--state` does not. */
export const STATE_URL_ENV = 'SYNCLINE_STATE_URL';

/** The folder `run` and `credentials` look in for credentials.key when the state is not a file (and `--data` is not given). */
export const DEFAULT_DATA_DIR = '.syncline';

/**
 * The state a command works on: `--state` when given, else SYNCLINE_STATE_URL, else `defaultFile`; null when neither
 * is given and the command has no default file of its own (serve: DIR/state.db). A file is resolved against the
 * working folder; a URL is kept as written.
 */
export function chooseState(flag: string | null, env: Readonly<Record<string, string | undefined>>, defaultFile: string): string;
export function chooseState(flag: string | null, env: Readonly<Record<string, string | undefined>>, defaultFile: null): string | null;
export function chooseState(flag: string | null, env: Readonly<Record<string, string | undefined>>, defaultFile: string | null): string | null {
  const chosen = flag ?? (env[STATE_URL_ENV]?.trim() || null) ?? defaultFile;
  if (chosen === null) return null;
  return stateInPostgres(chosen) ? chosen : resolve(chosen);
}

/** How `--state` names a state URL kept as a stored credential: `credential:NAME`. */
export const STATE_CREDENTIAL_PREFIX = 'credential:';

/** The credential a state names (`credential:NAME`), or null for a file or a URL. */
export function stateCredentialName(state: string): string | null {
  return state.startsWith(STATE_CREDENTIAL_PREFIX) ? state.slice(STATE_CREDENTIAL_PREFIX.length) : null;
}

/** Whether the state is in PostgreSQL: a `postgres://` URL, or a credential holding one. */
export function stateInPostgres(state: string): boolean {
  return isPostgresUrl(state) || stateCredentialName(state) !== null;
}

/**
 * The state to open: `credential:NAME` becomes the postgres:// URL stored as credential NAME in the data folder's own
 * store (DATA/state.db, decrypted with DATA/credentials.key), so the password sits in no unit file, environment or
 * process list; a file or a URL is kept as it is. The store is the one `credentials add --state DATA/state.db` writes,
 * which is why it is never created here: a missing one is an error that says how to make it.
 */
export async function resolveState(state: string, dataDir: string): Promise<string> {
  const name = stateCredentialName(state);
  if (name === null) return state;
  const storeFile = join(dataDir, runtimeFileNames.state);
  const howToStore = `store it with: printf %s 'postgres://USER:PASSWORD@HOST:5432/DB?schema=NAME' | syncline credentials add ${name || 'NAME'} --type token --state ${storeFile}`;
  if (name === '') throw new Error(`--state ${state} names no credential: write credential:NAME, and ${howToStore}`);
  if (!existsSync(storeFile)) throw new Error(`--state ${state}: no credential store at ${storeFile} (the data folder's own state); ${howToStore}`);
  const store = await openStateDb(storeFile);
  try {
    const credentials = new CredentialStore(store, () => existingKey(join(dataDir, runtimeFileNames.credentialKey), storeFile));
    const url = await credentials.resolve(name).catch((error: unknown) => {
      throw error instanceof MissingCredentialError ? new Error(`--state ${state}: no credential "${name}" in ${storeFile}; ${howToStore}`) : error;
    });
    if (!isPostgresUrl(url)) throw new Error(`--state ${state}: credential "${name}" in ${storeFile} must hold a postgres:// URL, e.g. postgres://syncline:PASSWORD@db1:5432/syncline?schema=sync`);
    return url;
  } finally {
    await store.destroy();
  }
}

/**
 * Why a state file cannot be made where it is named: its folder does not exist. Only a data folder (`dataFolders`) is
 * made for it: a folder named with --state is the person's to make, and a mistyped one would otherwise get a new,
 * empty state, read as one without links, runs or credentials. Null for a state in PostgreSQL or a folder that exists.
 */
export function missingStateFolder(state: string, dataFolders: readonly string[]): string | null {
  if (stateInPostgres(state)) return null;
  const folder = dirname(state);
  if (existsSync(folder) || dataFolders.includes(folder)) return null;
  return `the state ${state}: its folder ${folder} does not exist; create the folder first, or pick another --state`;
}

/** The state as messages show it: the file, or the URL without its password (server, database and schema). */
export function describeState(state: string): string {
  if (!isPostgresUrl(state)) return state;
  const shown = describePostgresUrl(state, 'a postgres:// URL that does not parse');
  try {
    const schema = new URL(state).searchParams.get('schema');
    return schema === null ? shown : `${shown}?schema=${encodeURIComponent(schema)}`;
  } catch {
    return shown;
  }
}

/**
 * The file holding the credential key: in `dataDir` when given, else beside a state file (as `serve` keeps
 * credentials.key next to state.db), else, for a state in PostgreSQL, in ./.syncline.
 */
export function credentialKeyFile(state: string, dataDir: string | null): string {
  const folder = dataDir ?? (stateInPostgres(state) ? resolve(DEFAULT_DATA_DIR) : dirname(state));
  return join(folder, runtimeFileNames.credentialKey);
}
