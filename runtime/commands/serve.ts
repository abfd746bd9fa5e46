import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { strongToken } from '../api/auth';
import { createRuntime, type Runtime } from '../app';
import { Cluster, type ClusterRole } from '../cluster/cluster';
import { openPostgresPool } from '../db/postgresState';
import { buildConnectorAccess, readAccessOption, runtimeFileNames, runtimeFilesIn, type ConnectorAccess } from '../connectors/access';
import { connectorRegistry } from '../connectors/index';
import { loadOrCreateKey } from '../credentials/cipher';
import { createPrivateFolder } from '../credentials/privateFiles';
import { repositoryPath } from '../repository';
import { carryOverWebhookEvents, openInboxDb, type InboxDb } from '../db/inbox';
import { openStateDb, type StateDb } from '../db/index';
import { isPostgresUrl } from '../util/postgresUrl';
import { createLogger } from '../observability/logger';
import { DEFAULT_STOP_GRACE_MS, ThreadedEngine } from '../passes/threadedEngine';
import { listen, type ListeningServer } from '../server';
import { commandArgs } from './args';
import { chooseState, describeState, missingStateFolder, resolveState, STATE_CREDENTIAL_PREFIX, STATE_URL_ENV, stateInPostgres } from './stateOption';

export const serveUsage =
  'usage: syncline serve [--port N] [--data DIR] [--state FILE.db|URL] [--host H] [--metrics-public] [--cors-origin URL]... [--allow-files DIR]... [--allow-hosts LIST]...\n' +
  '  --port N            port to listen on (default 4777; 0 picks a free one)\n' +
  '  --data DIR          data folder: state, webhook inbox, token, credential key (default ./.syncline)\n' +
  `  --state URL         keep the state and the webhook inbox in PostgreSQL, postgres://USER@HOST:PORT/DB?schema=NAME\n` +
  `                      (password from the URL, PGPASSWORD or ~/.pgpass; the schema must exist; without one, public),\n` +
  `                      or ${STATE_CREDENTIAL_PREFIX}NAME for such a URL stored as credential NAME in DATA/state.db, or the\n` +
  `                      state in another SQLite file; also ${STATE_URL_ENV}. The token and the credential key stay in\n` +
  '                      the data folder\n' +
  '  --host H            address to listen on (default 127.0.0.1: this machine only)\n' +
  '  --metrics-public    serve /metrics without the token\n' +
  '  --cors-origin URL   let a page from URL call the API (e.g. the vite dev server); repeatable\n' +
  '  --allow-files DIR   let flows open files in DIR too (the data folder always); repeatable; also SYNCLINE_ALLOW_FILES\n' +
  '  --allow-hosts LIST  let flows and alerts call these loopback or private hosts: host, host:port, IP, CIDR range or\n' +
  '                      "private" for all, comma-separated; repeatable; also SYNCLINE_ALLOW_HOSTS\n' +
  '  --public-url URL    where GitHub, Zendesk and other systems reach this runtime: their webhooks are registered on\n' +
  '                      deploy and removed on pause or delete; also SYNCLINE_PUBLIC_URL';

export const DEFAULT_PORT = 4777;

export interface ServeOptions {
  port: number;
  dataDir: string;
  host: string;
  metricsPublic: boolean;
  corsOrigins: string[];
  /** Folders flows may open files in besides the data folder (`--allow-files`). */
  allowFiles?: string[];
  /** Loopback or private hosts flows and alerts may call (`--allow-hosts`), one entry or a comma-separated list each. */
  allowHosts?: string[];
  /** Where the systems reach this runtime, for registering their webhooks (`--public-url`); null: not registered. */
  publicUrl?: string | null;
  /**
   * The state (`--state`, else SYNCLINE_STATE_URL): a `postgres://` URL, which holds the webhook inbox too, or a SQLite
   * file; null for DATA/state.db.
   */
  state?: string | null;
  /** `worker` (`syncline worker`): takes pass jobs of a cluster but serves no HTTP. Default `serve`. */
  role?: ClusterRole;
}

/** Parses `serve` arguments, or returns what is wrong with them. */
export function parseServeArgs(args: string[], defaults: Partial<ServeOptions> = {}): ServeOptions | string {
  const options: ServeOptions = {
    port: defaults.port ?? DEFAULT_PORT,
    dataDir: defaults.dataDir ?? resolve('.syncline'),
    host: defaults.host ?? '127.0.0.1',
    metricsPublic: false,
    corsOrigins: [],
    allowFiles: [],
    allowHosts: [],
  };
  const access = { allowFiles: options.allowFiles ?? [], allowHosts: options.allowHosts ?? [] };
  let stateFlag: string | null = null;
  for (const { arg, value } of commandArgs(args)) {
    try {
      if (arg === '--port') {
        const port = Number(value());
        if (!Number.isInteger(port) || port < 0 || port > 65535) return `--port must be a whole number from 0 to 65535`;
        options.port = port;
      } else if (arg === '--data') options.dataDir = resolve(value());
      else if (arg === '--host') options.host = value();
      else if (arg === '--metrics-public') options.metricsPublic = true;
      else if (arg === '--cors-origin') {
        const origin = value();
        if (!/^https?:\/\/[^/]+$/.test(origin)) return `--cors-origin must be an origin such as http://localhost:5173, not ${origin}`;
        options.corsOrigins.push(origin);
      } else if (arg === '--public-url') options.publicUrl = value();
      else if (arg === '--state') stateFlag = value('a file or a postgres:// URL');
      else if (!readAccessOption(arg, value, access)) return `unknown option ${arg}`;
    } catch (error) {
      return (error as Error).message;
    }
  }
  options.publicUrl ??= process.env.SYNCLINE_PUBLIC_URL?.trim() || null;
  const state = chooseState(stateFlag, process.env, null);
  if (state !== null) options.state = state;
  if (options.publicUrl !== null && !/^https?:\/\/[^/\s]+(\/[^\s]*)?$/.test(options.publicUrl)) {
    return `--public-url must be the address systems reach this runtime at, such as https://sync.example.com, not ${options.publicUrl}`;
  }
  const checked = buildConnectorAccess({ defaultDirs: [options.dataDir], ...access, runtimeFiles: [] });
  return typeof checked === 'string' ? checked : options;
}

/** What the runtime's connectors and alerts may reach: the data folder and what the options and environment allow. */
export function serveAccess(options: ServeOptions, env: Readonly<Record<string, string | undefined>> = process.env): ConnectorAccess | string {
  return buildConnectorAccess({
    defaultDirs: [options.dataDir],
    allowFiles: options.allowFiles ?? [],
    allowHosts: options.allowHosts ?? [],
    // A state file elsewhere is the runtime's own as much as the data folder's files.
    runtimeFiles: options.state && !stateInPostgres(options.state) ? runtimeFilesIn(options.dataDir, options.state) : runtimeFilesIn(options.dataDir),
    env,
  });
}

/**
 * The API token: SYNCLINE_TOKEN, else the one stored in the data folder, else a new one stored there (0600). Throws
 * for a token shorter than MIN_TOKEN_LENGTH or holding a space (runtime/api/auth.ts).
 */
export function loadOrCreateToken(dataDir: string): { token: string; created: boolean; fromEnv: boolean } {
  const fromEnv = process.env.SYNCLINE_TOKEN?.trim();
  if (fromEnv) return { token: strongToken(fromEnv, 'SYNCLINE_TOKEN'), created: false, fromEnv: true };
  const file = join(dataDir, runtimeFileNames.token);
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored) return { token: strongToken(stored, `the token stored in ${file}`), created: false, fromEnv: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, created: true, fromEnv: false };
}

/** The built editor next to this checkout (dist/editor). */
export const editorDistDir = repositoryPath('dist', 'editor');

export interface RunningServer {
  runtime: Runtime;
  /** Null for a worker, which serves no HTTP. */
  listening: ListeningServer | null;
  db: StateDb;
  inbox: InboxDb;
  logger: Logger;
  url: string;
  token: string;
  /** Stops serving, stops the passes in progress (within a bounded time), closes the state and the webhook inbox. */
  stop(): Promise<void>;
}

/**
 * Opens the data folder and serves the runtime: API, webhooks, scheduler and editor. `beforeStart` runs once the
 * state is open and before deployed flows resume (the demo installs itself there).
 */
export async function startServer(
  options: ServeOptions,
  hooks: { beforeStart?(runtime: Runtime, logger: Logger): Promise<void>; logFile?: string } = {},
): Promise<RunningServer> {
  // Only the data folder is made: a state file elsewhere goes in a folder that exists.
  const misplaced = options.state ? missingStateFolder(options.state, [options.dataDir]) : null;
  if (misplaced !== null) throw new Error(misplaced);
  createPrivateFolder(options.dataDir);
  const access = serveAccess(options);
  if (typeof access === 'string') throw new Error(access);
  const logger = createLogger(hooks.logFile ? { file: hooks.logFile } : {});
  // Before the key is made: a state named by a credential is read with the key that encrypted it.
  const state = await resolveState(options.state ?? join(options.dataDir, runtimeFileNames.state), options.dataDir);
  const { token, created } = loadOrCreateToken(options.dataDir);
  const credentialKey = loadOrCreateKey(join(options.dataDir, runtimeFileNames.credentialKey));
  const db = await openStateDb(state);
  // On SQLite, webhook events wait in a file of their own: SQLite lets one connection write a file at a time, and in
  // state.db the intake's commits and the pass worker's transactions kept waiting for each other. In PostgreSQL they
  // wait beside the state (inbox.ts).
  let inbox: InboxDb | undefined;
  try {
    inbox = await openInboxDb(isPostgresUrl(state) ? state : join(options.dataDir, runtimeFileNames.inbox));
    const carried = await carryOverWebhookEvents(db, inbox);
    if (carried.events > 0 || carried.deliveries > 0) logger.info(carried, 'webhook events and delivery ids moved from state.db to webhooks.db');
  } catch (error) {
    await inbox?.destroy();
    await db.destroy();
    throw error;
  }
  const role = options.role ?? 'serve';
  // On PostgreSQL every process is a member of the state's cluster, the first and only one included.
  let cluster: { pool: pg.Pool; member: Cluster } | undefined;
  if (isPostgresUrl(state)) {
    const name = `${hostname()}:${process.pid}`;
    // The pid first: PostgreSQL cuts application names at 63 bytes, and the pid is what tells processes apart here.
    const pool = openPostgresPool(state, { poolSize: 12, applicationName: `syncline:${process.pid}@${hostname()}` });
    try {
      cluster = { pool, member: await Cluster.join({ pool, role, name, logger }) };
    } catch (error) {
      await pool.end();
      await inbox.destroy();
      await db.destroy();
      throw error;
    }
  } else if (role === 'worker') {
    await inbox.destroy();
    await db.destroy();
    throw new Error('a worker takes passes of a cluster: give it the cluster\'s state with --state postgres://… or SYNCLINE_STATE_URL');
  }
  const leaveCluster = async () => {
    if (!cluster) return;
    await cluster.member.leave();
    await cluster.pool.end();
  };
  // Passes run on a worker thread with its own connection, so a long one does not stall the API and webhook intake.
  const engine = new ThreadedEngine({ state, db, credentialKey, logger, access, ...(hooks.logFile ? { logFile: hooks.logFile } : {}) });
  const runtime = await createRuntime({
    ...(cluster ? { cluster: cluster.member } : {}),
    db,
    inbox,
    engine,
    dataDir: options.dataDir,
    token,
    credentialKey,
    connectors: connectorRegistry,
    access,
    logger,
    editorDir: editorDistDir,
    metricsPublic: options.metricsPublic,
    corsOrigins: options.corsOrigins,
    publicUrl: options.publicUrl ?? null,
  });
  let listening: ListeningServer | null = null;
  try {
    await hooks.beforeStart?.(runtime, logger);
    if (role === 'serve') listening = await listen(runtime.app, { host: options.host, port: options.port, webhooks: runtime.deps });
  } catch (error) {
    await engine.close();
    await leaveCluster();
    await inbox.destroy();
    await db.destroy();
    throw error;
  }
  await runtime.start();
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = listening ? `http://${shownHost}:${listening.port}/` : '';
  if (created) process.stdout.write(`A new API token was generated and stored in ${join(options.dataDir, 'token')}.\n`);
  if (listening) logger.info({ host: options.host, port: listening.port, dataDir: options.dataDir, state: describeState(state) }, 'listening');
  else logger.info({ dataDir: options.dataDir, state: describeState(state) }, 'working: taking passes, serving no HTTP');
  let stopping: Promise<void> | null = null;
  return {
    runtime,
    listening,
    db,
    inbox,
    logger,
    url,
    token,
    stop: () =>
      (stopping ??= (async () => {
        await listening?.close();
        // A pass in progress is asked to stop and, past a short grace period, ended with its worker: one that runs
        // for ever (or for an hour) must not keep the process from stopping. The next start's passes recover it.
        await runtime.deps.runner.shutdown('the runtime is stopping');
        await runtime.stop();
        await leaveCluster();
        await inbox.destroy();
        await db.destroy();
        logger.info('stopped');
        logger.flush();
      })()),
  };
}

/** Resolves when SIGINT or SIGTERM asks the server to stop, after it stopped cleanly. */
export function stopOnSignal(server: RunningServer): Promise<void> {
  return new Promise((done) => {
    const onSignal = (signal: string) => {
      process.stderr.write(
        `\n${signal}: stopping (a pass in progress stops at its next page, or is ended after ${DEFAULT_STOP_GRACE_MS / 1000} s; ${signal} again stops at once)...\n`,
      );
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      void server.stop().then(done);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** `syncline serve`: the runtime API, webhooks, scheduler and editor, until SIGINT or SIGTERM. */
export function serveCommand(args: string[]): Promise<number> {
  // The one line a script (or the end-to-end test) reads to find the port.
  return runServer(args, { command: 'serve', usage: serveUsage, role: 'serve', started: (server) => `Syncline is running: ${server.url}?token=${server.token}` });
}

/**
 * Parses the options of `serve` or `worker`, starts the runtime, prints `started` and runs until SIGINT or SIGTERM.
 * Exit 0 stopped, 1 could not start, 2 bad options.
 */
async function runServer(
  args: string[],
  command: { command: 'serve' | 'worker'; usage: string; role: ClusterRole; started(server: RunningServer, options: ServeOptions): string },
): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  const parsed = parseServeArgs(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`syncline ${command.command}: ${parsed}\n${command.usage}\n`);
    return 2;
  }
  const options: ServeOptions = { ...parsed, role: command.role };
  let server: RunningServer;
  try {
    server = await startServer(options);
  } catch (error) {
    process.stderr.write(`syncline ${command.command}: ${describeStartError(error, options)}\n`);
    return 1;
  }
  process.stdout.write(`${command.started(server, options)}\n`);
  await stopOnSignal(server);
  return 0;
}

/** A start failure in words a person can act on. */
export function describeStartError(error: unknown, options: ServeOptions): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return `port ${options.port} on ${options.host} is in use: pick another with --port N`;
  if (code === 'EACCES') return `not allowed to listen on ${options.host}:${options.port}, or to write ${options.dataDir}`;
  return error instanceof Error ? error.message : String(error);
}

export const workerUsage =
  'usage: syncline worker --state postgres://… [--data DIR] [--allow-files DIR]... [--allow-hosts LIST]...\n' +
  "  a member of the cluster on that state (docs/scale-out.md) that takes passes but serves no HTTP; the data folder\n" +
  '  holds the cluster\'s credential key, and flows reach what serve\'s options allow (see syncline serve --help)';

/** `syncline worker`: takes a cluster's pass jobs, serving no HTTP, until SIGINT or SIGTERM. */
export function workerCommand(args: string[]): Promise<number> {
  return runServer(args, {
    command: 'worker',
    usage: workerUsage,
    role: 'worker',
    started: (_server, options) => `Syncline worker is running (process ${hostname()}:${process.pid}, state ${describeState(options.state ?? '')})`,
  });
}
