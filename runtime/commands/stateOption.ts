/**
 * Where a command keeps the runtime's state: `--state`, a SQLite file or a `postgres://` URL, else SYNCLINE_STATE_URL,
 * else its default file. One reading for `serve`, `run` and `credentials`, so all three find the same state.
 */
import { dirname, join, resolve } from 'node:path';
import { runtimeFileNames } from '../connectors/access';
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
  return isPostgresUrl(chosen) ? chosen : resolve(chosen);
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
  const folder = dataDir ?? (isPostgresUrl(state) ? resolve(DEFAULT_DATA_DIR) : dirname(state));
  return join(folder, runtimeFileNames.credentialKey);
}
