import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { Database } from '../db/schema';
import type { PassProgress } from '../engine/index';

/**
 * `syncline run` runs on a worker thread, and the main thread only watches it. A pass can compute for a long time
 * without giving its event loop a turn (its SQLite work and its expressions are promises that resolve at once), and a
 * signal listener on a thread so busy would never run, while the listener itself keeps the signal from ending the
 * process. On the idle main thread SIGINT and SIGTERM are always heard:
 *
 * - the first asks the pass to stop at its next page (where everything before is committed, so it ends as failed
 *   with its run recorded and its summary printed, as when a connector fails there), and gives it SIGNAL_GRACE_MS;
 * - a pass that has not stopped by then, or a second signal, ends the worker: its run is marked failed, and what it
 *   wrote is the next pass's to recover, as after a killed process.
 *
 * The exit code is then 128 + the signal's number, as a shell expects. This module is all the main thread loads of
 * `run` (the engine and connectors load in the worker only), so the thread costs next to nothing.
 */

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
type StopSignal = keyof typeof SIGNAL_NUMBERS;

/** How long a pass asked to stop by a signal may take to reach its next page before its worker is ended. */
export const SIGNAL_GRACE_MS = 2000;

/** What the run worker is given. */
export interface RunWorkerData {
  /** The command line after `run`. */
  args: string[];
  /** Whether progress goes to a terminal (the worker's own stderr never is one). */
  progressToTerminal: boolean;
  /** Where the signal that asks the passes to stop arrives. */
  stopPort: MessagePort;
}

/** Which flow's passes are about to run, and on which state: what an ended pass's run is marked failed in. */
export interface PassesInfo {
  statePath: string;
  flowId: string;
  dryRun: boolean;
}

/** What the run worker tells the main thread. */
export type RunWorkerMessage = ({ kind: 'passes' } & PassesInfo) | { kind: 'done'; exitCode: number };

const workerUrl = new URL('./runWorker.mjs', import.meta.url);

/** `syncline run`: runs the command on the run worker and returns its exit code, stopping its passes on SIGINT or SIGTERM. */
export async function superviseRunCommand(args: string[]): Promise<number> {
  const stops = new MessageChannel();
  const workerData: RunWorkerData = { args, progressToTerminal: process.stderr.isTTY === true, stopPort: stops.port2 };
  const worker = new Worker(workerUrl, { workerData, transferList: [stops.port2], name: 'syncline-run' });
  let signal: StopSignal | null = null;
  let passes: PassesInfo | null = null;
  let exitCode: number | null = null;
  let failure: Error | null = null;
  let ended: Promise<void> | null = null;
  worker.on('message', (message: RunWorkerMessage) => {
    if (message.kind === 'passes') passes = message;
    else exitCode = message.exitCode;
  });
  worker.on('error', (error) => (failure = error));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  // Past the grace period, or at a second signal: the pass is ended with its thread, and its run marked failed.
  const endPasses = () =>
    (ended ??= (async () => {
      await worker.terminate();
      const info = passes as PassesInfo | null;
      if (info && !info.dryRun) await failRunOnExit(info, `stopped: interrupted by ${signal} during this pass`);
    })());
  let grace: NodeJS.Timeout | null = null;
  const onSignal = (received: NodeJS.Signals) => {
    if (signal) {
      process.stderr.write(`${signal}: ending the pass\n`);
      void endPasses();
      return;
    }
    signal = received as StopSignal;
    process.stderr.write(`\n${signal}: stopping the pass at its next page (${signal} again ends it at once)...\n`);
    stops.port1.postMessage(signal);
    grace = setTimeout(() => {
      process.stderr.write(`${signal}: the pass did not stop within ${SIGNAL_GRACE_MS / 1000} s; ending it\n`);
      void endPasses();
    }, SIGNAL_GRACE_MS);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await exited;
    await ended;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (grace) clearTimeout(grace);
    stops.port1.close();
  }
  if (signal) return 128 + SIGNAL_NUMBERS[signal];
  if (failure) {
    process.stderr.write(`syncline run: ${(failure as Error).stack ?? String(failure)}\n`);
    return 1;
  }
  return exitCode ?? 1;
}

/** The worker's side: whether a signal asked the passes to stop, read without waiting for the event loop. */
export class RunControl {
  private signal: string | null = null;

  constructor(
    /** Where stop requests arrive; null when nothing watches the command (it runs in the calling thread). */
    private readonly stopPort: MessagePort | null,
    /** Whether progress may be printed (stderr is a terminal). */
    readonly progressToTerminal: boolean = process.stderr.isTTY === true,
    private readonly announce: (info: PassesInfo) => void = () => undefined,
  ) {}

  /** Says which flow's passes, on which state, are about to run. */
  passesBegin(info: PassesInfo): void {
    this.announce(info);
  }

  /** The signal that asked the passes to stop, if one did. */
  stopRequested(): string | null {
    // A busy pass gives the event loop no turn to deliver a message: it is taken from the port directly.
    for (let message = this.stopPort && receiveMessageOnPort(this.stopPort); message; message = this.stopPort && receiveMessageOnPort(this.stopPort)) {
      this.signal ??= String(message.message);
    }
    return this.signal;
  }

  /** A pass's progress callback that also ends the pass at its next page once a signal asked it to stop. */
  progress(report?: (progress: PassProgress) => void): (progress: PassProgress) => void {
    return (progress) => {
      const signal = this.stopRequested();
      if (signal) throw new Error(`stopped: interrupted by ${signal}`);
      report?.(progress);
    };
  }

  /** Waits `ms` between passes, or less when a signal asks them to stop. */
  async sleep(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.stopRequested() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, Math.min(100, deadline - Date.now())));
  }

  /** Lets the worker end once its passes are done. */
  close(): void {
    this.stopPort?.close();
  }
}

/**
 * Marks the flow's run left `running` failed, on a connection of its own (the ended worker's is gone, and with it any
 * lock it held). Best effort: a state busy with another process keeps the row, and the next `serve` start marks it.
 */
async function failRunOnExit(info: PassesInfo, error: string): Promise<void> {
  // Loaded only here: the main thread of `run` stays light (see the top of this file).
  const [{ default: Sqlite }, { wrapSqlite }, { failInterruptedRuns }, { isPostgresUrl }] = await Promise.all([
    import('better-sqlite3'),
    import('../db/index'),
    import('../db/statusQueries'),
    import('../util/postgresUrl'),
  ]);
  if (isPostgresUrl(info.statePath)) {
    const { connectPostgresState } = await import('../db/postgresState');
    try {
      const db = await connectPostgresState<Database>(info.statePath, { poolSize: 1 });
      try {
        await failInterruptedRuns(db, new Date().toISOString(), { flowIds: [info.flowId], error });
      } finally {
        await db.destroy();
      }
    } catch {
      // See above.
    }
    return;
  }
  let sqlite: InstanceType<typeof Sqlite> | null = null;
  try {
    sqlite = new Sqlite(info.statePath, { timeout: 1000, fileMustExist: true });
    await failInterruptedRuns(wrapSqlite(sqlite), new Date().toISOString(), { flowIds: [info.flowId], error });
  } catch {
    // See above.
  } finally {
    sqlite?.close();
  }
}
