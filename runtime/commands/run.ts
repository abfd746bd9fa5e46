import Sqlite from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { formatIssue, loadFlow, parseFlowText } from '../../nodes/document';
import type { FlowDocument } from '../../nodes/index';
import { connectorRegistry, loadOptionsFor } from '../connectors/index';
import { migrateToLatest, openStateDb, wrapSqlite, type StateDb } from '../db/index';
import { SyncEngine, type PassProgress, type PassResult } from '../engine/index';

const usage = 'usage: syncline run FLOW.json --once [--state FILE.db] [--dry-run]';

interface RunArgs {
  flowPath: string;
  once: boolean;
  statePath: string;
  dryRun: boolean;
}

function parseArgs(args: string[]): RunArgs | string {
  let flowPath: string | null = null;
  let statePath = resolve('.syncline', 'state.db');
  let once = false;
  let dryRun = false;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    if (arg === '--once') once = true;
    else if (arg === '--dry-run') dryRun = true;
    else if (arg === '--state') {
      const value = args[++index];
      if (!value) return '--state needs a file';
      statePath = resolve(value);
    } else if (arg.startsWith('--')) return `unknown option ${arg}`;
    else if (flowPath) return `unexpected argument ${arg}`;
    else flowPath = arg;
  }
  if (!flowPath) return 'missing FLOW.json';
  return { flowPath, once, statePath, dryRun };
}

/**
 * `syncline run FLOW.json --once`: one pass, the SPEC §8 summary on stdout. Exit 0 when the pass ran (records may
 * have failed), 1 when it could not run or was stopped for review, 2 on wrong usage.
 */
export async function runCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`syncline run: ${parsed}\n${usage}\n`);
    return 2;
  }
  const flow = readFlow(parsed.flowPath);
  if (typeof flow === 'string') {
    process.stderr.write(flow);
    return 1;
  }
  const db = await openState(parsed.statePath, parsed.dryRun);
  const engine = new SyncEngine({ db, connectors: connectorRegistry, afterSideWrites: crashPoint() });
  const baseDir = dirname(resolve(parsed.flowPath));
  try {
    if (parsed.once) return report(await engine.runPass(flow, { baseDir, reason: 'cli', dryRun: parsed.dryRun, onProgress: progressPrinter() }));
    return await runContinuously(engine, flow, baseDir, parsed.dryRun);
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

/** A dry run works on an in-memory copy of the state, so not even a migration touches the file. */
async function openState(statePath: string, dryRun: boolean): Promise<StateDb> {
  if (!dryRun) return openStateDb(statePath);
  const copy = existsSync(statePath) ? new Sqlite(new Sqlite(statePath, { readonly: true }).serialize()) : new Sqlite(':memory:');
  const db = wrapSqlite(copy);
  await migrateToLatest(db);
  return db;
}

function report(result: PassResult): number {
  const { created, updated, deleted, echoes, conflicts, failed } = result.summary;
  const summary = { created, updated, deleted, echoes, conflicts, failed };
  process.stdout.write(`${JSON.stringify(result.planned ? { ...summary, dryRun: true, sides: result.planned } : summary)}\n`);
  if (result.status === 'ok') return 0;
  process.stderr.write(`syncline run: pass ${result.status}: ${result.error ?? ''}\n`);
  return 1;
}

/** Without --once: a pass at the shortest poll interval of the flow's triggers, until interrupted. */
async function runContinuously(engine: SyncEngine, flow: FlowDocument, baseDir: string, dryRun: boolean): Promise<number> {
  const intervals = flow.nodes.flatMap((node) => (node.type === 'trigger' && node.config.detect.mode === 'poll' ? [node.config.detect.intervalMs] : []));
  const interval = Math.min(...intervals, 5000);
  let stop = false;
  process.once('SIGINT', () => {
    stop = true;
  });
  while (!stop) {
    report(await engine.runPass(flow, { baseDir, reason: 'cli', dryRun }));
    await new Promise((done) => setTimeout(done, interval));
  }
  return 0;
}

/** Progress on stderr when it is a terminal; stdout stays the summary alone. */
function progressPrinter(): ((progress: PassProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
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
