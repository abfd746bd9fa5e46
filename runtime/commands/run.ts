import Sqlite from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, parse, resolve } from 'node:path';
import { formatIssue } from '../../nodes/flow/issues';
import { parseFlowText } from '../../nodes/flow/jsonText';
import { loadFlow } from '../../nodes/flow/load';
import type { FlowDocument } from '../../nodes/index';
import { AccessRefusedError, buildConnectorAccess, readAccessOption, runtimeFilesIn, type ConnectorAccess } from '../connectors/access';
import { allowedFilePath } from '../connectors/files';
import { connectorRegistry, loadOptionsFor } from '../connectors/index';
import { existingKey } from '../credentials/keyFile';
import { CredentialStore } from '../credentials/store';
import { migrateToLatest, openStateDb, readStateFile, wrapSqlite, type StateDb } from '../db/index';
import { SyncEngine, type PassProgress, type PassResult } from '../engine/index';
import { nextPollIn } from '../engine/pass/holds';
import type { RunReason } from '../engine/types';
import { isPostgresUrl } from '../util/postgresUrl';
import { commandArgs } from './args';
import { RunControl } from './runSupervisor';
import {
  chooseState,
  credentialKeyFile,
  DEFAULT_DATA_DIR,
  describeState,
  missingStateFolder,
  resolveState,
  STATE_CREDENTIAL_PREFIX,
  STATE_URL_ENV,
  stateInPostgres,
} from './stateOption';

const usage =
  'usage: syncline run FLOW.json --once [--state FILE.db|URL] [--data DIR] [--dry-run] [--allow-files DIR]... [--allow-hosts LIST]...\n' +
  `  --state FILE.db     the runtime state (default ./.syncline/state.db, or ${STATE_URL_ENV} when set); credentials.key\n` +
  '                      beside it decrypts the credentials the flow names\n' +
  '  --state URL         a state in PostgreSQL, postgres://USER@HOST:PORT/DB?schema=NAME, as `serve --state` keeps it,\n' +
  `                      or ${STATE_CREDENTIAL_PREFIX}NAME for such a URL stored as credential NAME in DATA/state.db\n` +
  '  --data DIR          the folder of credentials.key for a state in PostgreSQL (default ./.syncline)\n' +
  '  --allow-files DIR   let the flow open files in DIR too (the flow file\'s folder always); repeatable; also SYNCLINE_ALLOW_FILES\n' +
  '  --allow-hosts LIST  let the flow call these loopback or private hosts: host, host:port, IP, CIDR range or "private"\n' +
  '                      for all, comma-separated; repeatable; also SYNCLINE_ALLOW_HOSTS';

interface RunArgs {
  flowPath: string;
  once: boolean;
  /** The state: a SQLite file or a postgres:// URL (stateOption.ts). */
  statePath: string;
  /** Where credentials.key is, when not beside a state file (`--data`). */
  dataDir: string | null;
  dryRun: boolean;
  /** What the flow's connectors may reach: its folder, and what the options and environment allow. */
  access: ConnectorAccess;
}

/** Parses `run` arguments, or returns what is wrong with them. */
export function parseRunArgs(args: string[], env: Readonly<Record<string, string | undefined>> = process.env): RunArgs | string {
  let flowPath: string | null = null;
  let stateFlag: string | null = null;
  let dataDir: string | null = null;
  let once = false;
  let dryRun = false;
  const allowed = { allowFiles: [] as string[], allowHosts: [] as string[] };
  for (const { arg, value } of commandArgs(args)) {
    try {
      if (arg === '--once') once = true;
      else if (arg === '--dry-run') dryRun = true;
      else if (arg === '--state') stateFlag = value('a file or a postgres:// URL');
      else if (arg === '--data') dataDir = resolve(value('a folder'));
      else if (arg === '--allow-files' || arg === '--allow-hosts') readAccessOption(arg, value, allowed);
      else if (arg.startsWith('--')) return `unknown option ${arg}`;
      else if (flowPath) return `unexpected argument ${arg}`;
      else flowPath = arg;
    } catch (error) {
      return (error as Error).message;
    }
  }
  if (!flowPath) return 'missing FLOW.json';
  const statePath = chooseState(stateFlag, env, resolve('.syncline', 'state.db'));
  // The state, and the key and token a `serve` on the same folder keeps beside it, are never a flow's to open.
  const runtimeFiles = stateInPostgres(statePath) ? runtimeFilesIn(dirname(credentialKeyFile(statePath, dataDir))) : runtimeFilesIn(dataDir ?? dirname(statePath), statePath);
  const access = buildConnectorAccess({ defaultDirs: [dirname(resolve(flowPath))], ...allowed, runtimeFiles, env });
  if (typeof access === 'string') return access;
  return { flowPath, once, statePath, dataDir, dryRun, access };
}

/**
 * `syncline run FLOW.json --once`: one pass, the SPEC §8 summary on stdout. Exit 0 when the pass ran (records may
 * have failed), 1 when it could not run or was stopped for review, 2 on wrong usage. The command line runs it on a
 * worker thread (runSupervisor.ts), whose `control` asks the pass to stop on SIGINT or SIGTERM.
 */
export async function runCommand(args: string[], control: RunControl = new RunControl(null)): Promise<number> {
  const parsed = parseRunArgs(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`syncline run: ${parsed}\n${usage}\n`);
    return 2;
  }
  const flow = readFlow(parsed.flowPath);
  if (typeof flow === 'string') {
    process.stderr.write(flow);
    return 1;
  }
  const baseDir = dirname(resolve(parsed.flowPath));
  // Before anything is opened: a state in the wrong place is refused, not made there.
  const misplaced = stateAmongFlowFiles(flow, baseDir, parsed.statePath) ?? missingStateFolder(parsed.statePath, [resolve(DEFAULT_DATA_DIR)]);
  if (misplaced !== null) {
    process.stderr.write(`syncline run: ${misplaced}\n`);
    return 1;
  }
  let db: StateDb;
  try {
    parsed.statePath = await resolveState(parsed.statePath, parsed.dataDir ?? resolve(DEFAULT_DATA_DIR));
    control.passesBegin({ statePath: parsed.statePath, flowId: flow.id, dryRun: parsed.dryRun });
    db = await openState(parsed.statePath, parsed.dryRun);
  } catch (error) {
    process.stderr.write(`syncline run: ${(error as Error).message}\n`);
    return 1;
  }
  // The credentials `syncline credentials add` stored in this state, with their key (read only when one is used).
  const keyFile = credentialKeyFile(parsed.statePath, parsed.dataDir);
  const credentials = new CredentialStore(db, () => existingKey(keyFile, describeState(parsed.statePath)), { hosts: parsed.access.hosts, persistent: !parsed.dryRun });
  const engine = new SyncEngine({
    db,
    connectors: connectorRegistry,
    resolveCredential: (name) => credentials.resolve(name),
    resolveAuth: (name) => credentials.resolveAuth(name),
    access: parsed.access,
    afterSideWrites: crashPoint(),
  });
  try {
    const onProgress = control.progress(control.progressToTerminal ? progressPrinter() : undefined);
    if (parsed.once) return report(await engine.runPass(flow, { baseDir, reason: 'cli', dryRun: parsed.dryRun, onProgress }));
    return await runContinuously(engine, flow, baseDir, parsed.dryRun, control);
  } finally {
    await engine.close();
    await db.destroy();
  }
}

function readFlow(flowPath: string): FlowDocument | string {
  let text: string;
  try {
    text = readFileSync(flowPath, 'utf8');
  } catch (error) {
    return `syncline run: cannot read ${flowPath}: ${(error as Error).message}\n`;
  }
  const parsed = parseFlowText(text);
  if (!parsed.ok) return `${flowPath}:${parsed.line}:${parsed.column}: ${parsed.message}\n`;
  const { document, issues } = loadFlow(parsed.value, loadOptionsFor(connectorRegistry));
  const errors = issues.filter((issue) => issue.severity === 'error');
  if (!document || errors.length > 0) return `${errors.map(formatIssue).join('\n')}\n${flowPath}: not run, the flow is invalid\n`;
  return document;
}

/**
 * The message refusing a state file that is one of the flow's own SQLite databases (a mistaken `--state crm.db`), or
 * null. Asked before the state is opened, which would fill the database with Syncline's tables; the pass would refuse
 * the database only after. Judged by the rule a pass judges a connection.file by (files.ts: links, -wal files and hard
 * links are the same file), with every folder allowed, so that the state is the only file it can refuse.
 */
function stateAmongFlowFiles(flow: FlowDocument, baseDir: string, statePath: string): string | null {
  if (stateInPostgres(statePath)) return null;
  for (const node of flow.nodes) {
    const file = node.type === 'trigger' && node.config.connector === 'sqlite' ? node.config.connection.file : undefined;
    if (typeof file !== 'string') continue;
    const stateOnly = { allowedDirs: [parse(resolve(baseDir, file)).root], runtimeFiles: [statePath] };
    try {
      allowedFilePath(stateOnly, baseDir, file, 'connection.file');
    } catch (error) {
      if (!(error instanceof AccessRefusedError)) throw error;
      return `--state ${statePath} is the database of node "${node.id}" (connection.file "${file}"): the state is one of Syncline's own files, which no flow may open; pick another --state, or another connection.file`;
    }
  }
  return null;
}

/**
 * A dry run works on an in-memory copy of a state file, so not even a migration touches the file. A state in
 * PostgreSQL is opened as it is (migrated, as any process of a newer version would): the engine's dry run writes
 * nothing to the state, the copy only spared the file its creation and migrations.
 */
async function openState(statePath: string, dryRun: boolean): Promise<StateDb> {
  if (!dryRun || isPostgresUrl(statePath)) return openStateDb(statePath, { backgroundCheckpoints: !dryRun });
  const db = wrapSqlite(existsSync(statePath) ? inMemoryCopy(statePath) : new Sqlite(':memory:'));
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw new Error(`the state ${statePath}, copied for the dry run: ${(error as Error).message}`, { cause: error });
  }
  return db;
}

/**
 * A private in-memory copy of a state file as its last commit left it: read through a read-only handle, it holds what
 * is still in the -wal file too. Its header keeps the file's WAL mark (bytes 18 and 19 are 2), with which SQLite
 * cannot open a database in memory (it has no -wal file); the copy is marked as a rollback-journal database (1).
 */
function inMemoryCopy(statePath: string): Sqlite.Database {
  const image = readStateFile(statePath, (file) => file.serialize());
  image[18] = 1;
  image[19] = 1;
  return new Sqlite(image);
}

function report(result: PassResult): number {
  const { created, updated, deleted, echoes, conflicts, failed } = result.summary;
  const summary = { created, updated, deleted, echoes, conflicts, failed };
  process.stdout.write(`${JSON.stringify(result.planned ? { ...summary, dryRun: true, sides: result.planned } : summary)}\n`);
  if (result.status === 'ok') return 0;
  process.stderr.write(`syncline run: pass ${result.status}: ${result.error ?? ''}\n`);
  return 1;
}

/**
 * Without --once: a pass at the shortest poll interval of the flow's triggers, until SIGINT or SIGTERM. The first pass
 * is the one a person started; those after it are polls, as `serve`'s scheduler runs them: they leave a part held by
 * its system's rate limit alone, and when every part is held the loop waits for the first to come back.
 */
async function runContinuously(engine: SyncEngine, flow: FlowDocument, baseDir: string, dryRun: boolean, control: RunControl): Promise<number> {
  const intervals = flow.nodes.flatMap((node) => (node.type === 'trigger' && node.config.detect.mode === 'poll' ? [node.config.detect.intervalMs] : []));
  const interval = Math.min(...intervals, 5000);
  let reason: RunReason = 'cli';
  while (!control.stopRequested()) {
    const started = Date.now();
    const result = await engine.runPass(flow, { baseDir, reason, dryRun, onProgress: control.progress() });
    report(result);
    reason = 'schedule';
    await control.sleep(nextPollIn(interval, Date.now() - started, result.idleUntil, Date.now()).delayMs);
  }
  return 0;
}

/** Progress on stderr (when it is a terminal: see runPasses); stdout stays the summary alone. */
function progressPrinter(): (progress: PassProgress) => void {
  let last = 0;
  return (progress) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    process.stderr.write(`\r${progress.nodeId}: ${progress.read} read, ${progress.written} written   `);
  };
}

/**
 * For crash tests: with SYNCLINE_TEST_KILL_AFTER_WRITES=N the process kills itself (SIGKILL, as a power cut would)
 * right after its Nth batch of writes to a side, before the pass commits them.
 */
function crashPoint(): ((nodeId: string) => void) | undefined {
  const after = Number(process.env.SYNCLINE_TEST_KILL_AFTER_WRITES);
  if (!Number.isInteger(after) || after < 1) return undefined;
  let batches = 0;
  return () => {
    if (++batches === after) process.kill(process.pid, 'SIGKILL');
  };
}
