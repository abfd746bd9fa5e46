/**
 * The engine bench's section on snapshot change detection (issue 18): a pass over a side without a change feed, which
 * every pass lists whole and compares record by record with its shadows. Side A is the bench's `people` table, its
 * trigger without `updatedAt` (the sqlite connector then has no incremental listing: it is listed whole); B is
 * `contacts` with its change feed, as in the other sections.
 *
 * Each measured pass runs in a process of its own, as `run --once` does (a fresh engine and state connection), so its
 * peak RSS is its own. It counts what it asks of the connectors (listing pages, records read by id, write ops) and of
 * the state (statements that read, statements that write, and the rows those wrote to the sync tables).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Kysely, type SqliteDatabase } from 'kysely';
import { loadFlow } from '../nodes/flow/load';
import type { FlowDocument } from '../nodes/index';
import { connectorRegistry } from '../runtime/connectors/index';
import type { Connector, ConnectorType } from '../runtime/connectors/types';
import { migrateToLatest, openSqliteFile, type StateDb } from '../runtime/db/index';
import { ImmediateSqliteDialect } from '../runtime/db/immediateTransactions';
import type { Database } from '../runtime/db/schema';
import { cachingStatements } from '../runtime/db/statementCache';
import { SyncEngine, type PassSummary } from '../runtime/engine/index';
import { editSource, fastForwardTargetCursor, prepareWorkspace, timedPass, twoSystemFlow, type Measurement } from './engine';

const GROUP = '6. Snapshot change detection (a side without a change feed)';
/** The tables a pass writes when it syncs a record; a pass that finds nothing changed writes none of them. */
const SYNC_TABLES = new Set(['links', 'entities', 'write_journal', 'failing_records', 'conflicts']);

/** The two-system flow with A listed whole: its trigger names no `updatedAt`, so nothing can be listed by version. */
export function snapshotFlow(): FlowDocument {
  const flow = structuredClone(twoSystemFlow()) as unknown as { id: string; name: string; nodes: Array<{ id: string; config: Record<string, unknown> }> };
  flow.id = 'bench-snapshot';
  flow.name = 'Bench: people (no change feed) <-> contacts';
  delete (flow.nodes.find((node) => node.id === 'a') as { config: Record<string, unknown> }).config.updatedAt;
  const { document, issues } = loadFlow(flow);
  if (!document) throw new Error(`snapshot bench flow is invalid: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  return document;
}

/** What one pass asked of the connectors and the state, and what it cost. */
interface PassCost {
  ms: number;
  maxRssMb: number;
  heapPeakMb: number;
  summary: PassSummary;
  listPages: number;
  listed: number;
  readById: number;
  writeOps: number;
  stateReads: number;
  stateWrites: number;
  syncRowsWritten: number;
}

interface StateCounts {
  reads: number;
  writes: number;
  syncRows: number;
}

/** A better-sqlite3 database whose statements are counted as Kysely's SQLite driver runs them (`all`, `run`, `iterate`). */
function countingStatements(inner: SqliteDatabase, counts: StateCounts): SqliteDatabase {
  return {
    close: () => inner.close(),
    prepare: (sql: string) => {
      const statement = inner.prepare(sql);
      const text = sql.trimStart().toLowerCase();
      const written = /^(?:insert into|update|delete from)\s+"?([a-z_]+)"?/.exec(text)?.[1] ?? null;
      const counted = {
        get reader() {
          return statement.reader;
        },
        all: (parameters: ReadonlyArray<unknown>) => {
          if (text.startsWith('select') || text.startsWith('with')) counts.reads++;
          return statement.all(parameters);
        },
        run: (parameters: ReadonlyArray<unknown>) => {
          const result = statement.run(parameters);
          if (written !== null) {
            counts.writes++;
            if (SYNC_TABLES.has(written)) counts.syncRows += Number(result.changes);
          }
          return result;
        },
        iterate: (parameters: ReadonlyArray<unknown>) => {
          counts.reads++;
          return statement.iterate(parameters);
        },
      };
      return counted as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}

/** The registry with each connector's calls counted: listing pages and records, records read by id, write ops. */
function countingRegistry(counts: { listPages: number; listed: number; readById: number; writeOps: number }): Record<string, ConnectorType> {
  const counted = (type: ConnectorType): ConnectorType => ({
    ...type,
    open: async (context) => {
      const connector = await type.open(context);
      const wrapped: Connector = Object.create(connector) as Connector;
      return Object.assign(wrapped, {
        capabilities: connector.capabilities,
        listSince: async (...args: Parameters<Connector['listSince']>) => {
          const page = await connector.listSince(...args);
          counts.listPages++;
          counts.listed += page.records.length;
          return page;
        },
        getMany: async (ids: readonly string[]) => {
          counts.readById += ids.length;
          return connector.getMany(ids);
        },
        write: async (ops: Parameters<Connector['write']>[0]) => {
          counts.writeOps += ops.length;
          return connector.write(ops);
        },
      });
    },
  });
  return Object.fromEntries(Object.entries(connectorRegistry).map(([name, type]) => [name, counted(type)]));
}

/** In a process of its own: one pass with everything counted, printed as JSON. */
export async function childSnapshotPass(dir: string): Promise<void> {
  const state: StateCounts = { reads: 0, writes: 0, syncRows: 0 };
  const connectors = { listPages: 0, listed: 0, readById: 0, writeOps: 0 };
  const db: StateDb = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: countingStatements(cachingStatements(openSqliteFile(join(dir, 'state.db'))), state) }) });
  await migrateToLatest(db);
  Object.assign(state, { reads: 0, writes: 0, syncRows: 0 });
  let heapPeak = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 2);
  const engine = new SyncEngine({ db, connectors: countingRegistry(connectors) });
  const started = performance.now();
  const result = await engine.runPass(snapshotFlow(), { baseDir: dir, reason: 'cli' });
  const ms = performance.now() - started;
  clearInterval(sampler);
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  await engine.close();
  await db.destroy();
  if (result.status !== 'ok') throw new Error(`snapshot bench pass ${result.status}: ${result.error ?? ''}`);
  const cost: PassCost = {
    ms,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    heapPeakMb: heapPeak / 2 ** 20,
    summary: result.summary,
    listPages: connectors.listPages,
    listed: connectors.listed,
    readById: connectors.readById,
    writeOps: connectors.writeOps,
    stateReads: state.reads,
    stateWrites: state.writes,
    syncRowsWritten: state.syncRows,
  };
  process.stdout.write(`${JSON.stringify(cost)}\n`);
}

function passInChild(benchFile: string, dir: string): Promise<PassCost> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, benchFile, '--child-snapshot', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`snapshot pass child exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as PassCost);
    });
  });
}

function expectSummary(what: string, summary: PassSummary, expected: Partial<PassSummary>): void {
  for (const [key, value] of Object.entries(expected)) {
    if (summary[key as keyof PassSummary] !== value) throw new Error(`${what}: expected ${key} ${value}, got ${JSON.stringify(summary)}`);
  }
}

/**
 * Syncs `records` people from A (listed whole) to an empty B once, then per run: 1% of A's records edited and a pass
 * (measured), B's echoes settled (not measured), and a pass with nothing changed anywhere (measured).
 */
export async function measureSnapshot(benchFile: string, work: string, source: string, records: number, runs: number, log: (message: string) => void): Promise<Measurement[]> {
  const flow = snapshotFlow();
  const dir = prepareWorkspace(work, 'snapshot', source, [['b.db', 'contacts']]);
  const state = join(dir, 'state.db');
  const initial = await timedPass(flow, dir, state);
  expectSummary('snapshot initial sync', initial.result.summary, { created: records, failed: 0, conflicts: 0 });
  fastForwardTargetCursor(dir, flow.id);
  const settle = await passInChild(benchFile, dir);
  expectSummary('snapshot settling pass', settle.summary, { created: 0, updated: 0, deleted: 0, echoes: 0, failed: 0 });
  log(`snapshot: initial sync of ${records} in ${initial.ms.toFixed(0)} ms, first pass after it ${settle.ms.toFixed(0)} ms`);
  const changes = Math.max(1, Math.round(records / 100));
  const changed: PassCost[] = [];
  const quiet: PassCost[] = [];
  for (let run = 0; run < runs; run++) {
    editSource(dir, records, changes, 100 + run);
    const edited = await passInChild(benchFile, dir);
    expectSummary('snapshot pass with 1% changed', edited.summary, { created: 0, updated: changes, deleted: 0, echoes: 0, failed: 0, conflicts: 0 });
    const echoes = await timedPass(flow, dir, state);
    expectSummary('snapshot echo pass', echoes.result.summary, { created: 0, updated: 0, deleted: 0, echoes: changes, failed: 0 });
    const nothing = await passInChild(benchFile, dir);
    expectSummary('snapshot pass with nothing changed', nothing.summary, { created: 0, updated: 0, deleted: 0, echoes: 0, failed: 0, conflicts: 0 });
    changed.push(edited);
    quiet.push(nothing);
    log(`snapshot ${run + 1}/${runs}: 1% changed ${edited.ms.toFixed(0)} ms (${edited.maxRssMb.toFixed(0)} MB), nothing changed ${nothing.ms.toFixed(0)} ms (${nothing.maxRssMb.toFixed(0)} MB)`);
  }
  const label = records.toLocaleString('en');
  const figure = (id: string, title: string, unit: string, pick: (cost: PassCost) => number, of: PassCost[], more: Partial<Measurement> = {}): Measurement => ({
    id,
    group: GROUP,
    title,
    unit,
    better: 'lower',
    runs: of.map(pick),
    ...more,
  });
  const writesOf = (cost: PassCost) => cost.writeOps + cost.syncRowsWritten;
  const memoryTarget = { op: '<' as const, value: 400, text: 'under 400 MB (the bound of the 1,000,000-record sync)' };
  return [
    figure('snapshot.quiet.ms', `Nothing changed: a pass over ${label} records of a side without a change feed (run --once)`, 'ms', (cost) => cost.ms, quiet),
    figure('snapshot.quiet.listPages', 'Nothing changed: listing pages read, both sides (500 records each)', 'pages', (cost) => cost.listPages, quiet),
    figure('snapshot.quiet.readById', 'Nothing changed: records read by id', 'records', (cost) => cost.readById, quiet),
    figure('snapshot.quiet.stateReads', 'Nothing changed: state reads (statements)', 'statements', (cost) => cost.stateReads, quiet),
    figure('snapshot.quiet.stateWrites', "Nothing changed: state writes (statements: the run's record and its end)", 'statements', (cost) => cost.stateWrites, quiet),
    figure('snapshot.quiet.writes', 'Nothing changed: writes (connector write ops; rows of links, entities, journal, failing records, conflicts)', 'writes', writesOf, quiet, {
      target: { op: '=', value: 0, text: 'zero: no merge, no write' },
    }),
    figure('snapshot.quiet.rss', 'Nothing changed: peak RSS of the pass (a process of its own)', 'MB', (cost) => cost.maxRssMb, quiet, { target: memoryTarget }),
    figure('snapshot.quiet.heap', 'Nothing changed: peak heap (sampled every 2 ms)', 'MB', (cost) => cost.heapPeakMb, quiet),
    figure('snapshot.changed.ms', `1% changed: a pass over the same side with ${changes.toLocaleString('en')} of its records changed, each written to B (run --once)`, 'ms', (cost) => cost.ms, changed),
    figure('snapshot.changed.listPages', '1% changed: listing pages read, both sides', 'pages', (cost) => cost.listPages, changed),
    figure('snapshot.changed.readById', "1% changed: records read by id (B's side of each changed entity)", 'records', (cost) => cost.readById, changed),
    figure('snapshot.changed.stateReads', '1% changed: state reads (statements)', 'statements', (cost) => cost.stateReads, changed),
    figure('snapshot.changed.stateWrites', '1% changed: state writes (statements)', 'statements', (cost) => cost.stateWrites, changed),
    figure('snapshot.changed.syncRows', '1% changed: rows written to links, entities, journal', 'rows', (cost) => cost.syncRowsWritten, changed),
    figure('snapshot.changed.rss', '1% changed: peak RSS of the pass (a process of its own)', 'MB', (cost) => cost.maxRssMb, changed, { target: memoryTarget }),
    figure('snapshot.changed.heap', '1% changed: peak heap (sampled every 2 ms)', 'MB', (cost) => cost.heapPeakMb, changed),
  ];
}
