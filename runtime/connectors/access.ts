/**
 * What a connector may reach: which files it may open and which loopback or private hosts it may call. The operator
 * decides it (`serve`/`run` options and environment variables), never the flow: a flow is data anyone with the token
 * can import. The checks themselves live in `files.ts` and `network.ts`; this is the one definition of the policy both
 * read, built once per process and handed to every connector in its `ConnectorContext`.
 */
import { delimiter, join, resolve } from 'node:path';
import { parseAllowedHost } from './network';
import { ConnectorError } from './types';

/** Plain data, so it crosses to the pass worker's thread as it is. */
export interface ConnectorAccess {
  files: FileAccess;
  hosts: HostAccess;
}

export interface FileAccess {
  /** Absolute folders: a connector opens a file only when its real path (symlinks resolved) lies inside one of them. */
  allowedDirs: readonly string[];
  /** The runtime's own files (state, webhook inbox, credential key, token): never opened by a connector, wherever they are. */
  runtimeFiles: readonly string[];
}

export interface HostAccess {
  /**
   * Loopback and private hosts the operator allowed: `host`, `host:port`, an IP address (`[::1]:8080`), a CIDR range,
   * or `private` for every loopback and private address. Public addresses need no entry; link-local and cloud metadata
   * addresses are refused whatever this says.
   */
  allowed: readonly string[];
}

/** The names an operator changes the policy by, for messages that tell how. */
export const accessSettings = {
  files: { option: '--allow-files', env: 'SYNCLINE_ALLOW_FILES' },
  hosts: { option: '--allow-hosts', env: 'SYNCLINE_ALLOW_HOSTS' },
} as const;

/** The files `serve` keeps in its data folder; a connector never opens one. */
export const runtimeFileNames = { state: 'state.db', inbox: 'webhooks.db', credentialKey: 'credentials.key', token: 'token' } as const;

/** Every file of the runtime's own in a data folder, and the state file when it lies elsewhere. */
export function runtimeFilesIn(dataDir: string, statePath?: string): string[] {
  const files = Object.values(runtimeFileNames).map((name) => join(dataDir, name));
  if (statePath !== undefined && !files.includes(resolve(statePath))) files.push(resolve(statePath));
  return files;
}

/** The strictest useful policy: files in one folder, no loopback or private host. What an engine without a policy uses. */
export function folderAccess(dir: string, runtimeFiles: readonly string[] = []): ConnectorAccess {
  return { files: { allowedDirs: [resolve(dir)], runtimeFiles: [...runtimeFiles] }, hosts: { allowed: [] } };
}

export interface AccessSettings {
  /** Always allowed: the data folder for `serve`, the flow file's folder for `run`. */
  defaultDirs: readonly string[];
  /** `--allow-files` values, each a folder. */
  allowFiles?: readonly string[];
  /** `--allow-hosts` values, each one entry or several separated by commas. */
  allowHosts?: readonly string[];
  runtimeFiles: readonly string[];
  /** Read for SYNCLINE_ALLOW_FILES (folders separated by the path delimiter) and SYNCLINE_ALLOW_HOSTS (commas). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The policy from the operator's settings, or what is wrong with them. Options and environment add to each other. */
export function buildConnectorAccess(settings: AccessSettings): ConnectorAccess | string {
  const env = settings.env ?? {};
  const fromEnv = (name: string, separator: string | RegExp) => (env[name] ?? '').split(separator).map((part) => part.trim()).filter((part) => part !== '');
  const dirs = [...settings.defaultDirs, ...(settings.allowFiles ?? []), ...fromEnv(accessSettings.files.env, delimiter)].map((dir) => resolve(dir));
  const hosts = [...(settings.allowHosts ?? []).flatMap((value) => value.split(',')), ...fromEnv(accessSettings.hosts.env, /[,\s]+/)]
    .map((host) => host.trim())
    .filter((host) => host !== '');
  for (const host of hosts) {
    const parsed = parseAllowedHost(host);
    if (typeof parsed === 'string') return `allowed host "${host}": ${parsed}`;
  }
  return {
    files: { allowedDirs: [...new Set(dirs)], runtimeFiles: settings.runtimeFiles.map((file) => resolve(file)) },
    hosts: { allowed: [...new Set(hosts)] },
  };
}

/** Reads a repeatable `--allow-files DIR` / `--allow-hosts LIST` option into `into`; false when `arg` is neither. */
export function readAccessOption(arg: string, value: () => string, into: { allowFiles: string[]; allowHosts: string[] }): boolean {
  if (arg === '--allow-files') into.allowFiles.push(resolve(value()));
  else if (arg === '--allow-hosts') into.allowHosts.push(value());
  else return false;
  return true;
}

/** A connector was asked for a file or a host the operator's policy does not allow. The message names the setting. */
export class AccessRefusedError extends ConnectorError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retryable: false, cause: options.cause });
    this.name = 'AccessRefusedError';
  }
}
