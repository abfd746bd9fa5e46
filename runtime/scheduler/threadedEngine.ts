import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { FlowDocument } from '../../nodes';
import type { StateDb } from '../db';
import { failInterruptedRuns } from '../db/statusQueries';
import { EngineInputError, SyncEngine, type PassOptions, type PassProgress, type PassResult } from '../engine';
import type { FlowEngine } from './runner';

/** The calls that change links or void what the engine learned about a flow: they all go to the one worker engine. */
export type WorkerMethods = Pick<SyncEngine, 'runPass' | 'resolveConflict' | 'retryFailing' | 'forgetFlow'>;
export type WorkerMethod = keyof WorkerMethods;

/** What the worker needs to open its own connection, credentials and log. */
export interface PassWorkerData {
  statePath: string;
  credentialKey: Uint8Array;
  logLevel: string;
  logFile: string | null;
}

export type WorkerRequest =
  | { [M in WorkerMethod]: { id: number; method: M; args: Parameters<WorkerMethods[M]>; progress: boolean } }[WorkerMethod]
  | { id: number; method: 'close' };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError }
  | { id: number; progress: PassProgress };

/** A call the worker could not answer because it stopped (crashed, was killed, or was closed) first; the next call starts a new one. */
export class PassWorkerStoppedError extends Error {
  constructor(reason: string) {
    super(`the pass worker stopped (${reason}) before the call completed`);
    this.name = 'PassWorkerStoppedError';
  }
}

/** An error as it crosses the thread boundary: classes the callers test for are rebuilt, others keep name and message. */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  return {
    name: error.name,
    message: error.message,
    ...(error.stack ? { stack: error.stack } : {}),
    ...(error instanceof EngineInputError ? { code: error.code } : {}),
  };
}

function reviveError(serialized: SerializedError): Error {
  const error = serialized.name === 'EngineInputError' && serialized.code !== undefined ? new EngineInputError(serialized.code, serialized.message) : new Error(serialized.message);
  error.name = serialized.name;
  // The worker's stack says where it failed; the main thread's would only say where the reply arrived.
  if (serialized.stack) error.stack = serialized.stack;
  return error;
}

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: (progress: PassProgress) => void;
  /** The flow of a pass in flight, whose run is left `running` if the worker dies. */
  passOf?: string;
}

/** One worker thread and the calls it has not answered yet. */
interface WorkerHandle {
  worker: Worker;
  pending: Map<number, PendingCall>;
  /** Why it stopped, when it reported an error before exiting. */
  failure: Error | null;
  closing: boolean;
}

export interface ThreadedEngineOptions {
  /** The state file; the worker opens its own connection to it. */
  statePath: string;
  /** The main thread's connection to the same file: the read-only calls run on it. */
  db: StateDb;
  /** The credential key; the worker decrypts credentials itself. */
  credentialKey: Buffer;
  /** The main log: errors about the worker go here, and the worker logs at its level. */
  logger: Logger;
  /** The file the main log writes to (`syncline start`), so the worker's log lands there too. */
  logFile?: string;
}

const bootstrapUrl = new URL('./passWorker.mjs', import.meta.url);
/** How long a closing worker may take to close its connection and end by itself (its last log writes) before it is terminated. */
const CLOSE_GRACE_MS = 5000;

/**
 * A FlowEngine whose passes run on a worker thread, so the synchronous SQLite work of a pass does not hold up the
 * HTTP server. Everything that changes links or voids what the engine learned between passes goes to the worker's one
 * SyncEngine; the read-only calls run here on the main connection, and answer while a pass runs. The worker starts
 * on the first call, and again on the next call after it stopped.
 */
export class ThreadedEngine implements FlowEngine {
  private readonly reader: SyncEngine;
  private handle: WorkerHandle | null = null;
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: ThreadedEngineOptions) {
    // Reads need no connectors and no credentials.
    this.reader = new SyncEngine({ db: options.db, connectors: {} });
  }

  /** The thread running passes now, if one is started: for tests and diagnostics. */
  get worker(): Worker | null {
    return this.handle?.worker ?? null;
  }

  runPass(flow: FlowDocument, options: PassOptions): Promise<PassResult> {
    // A function cannot cross threads: progress comes back as messages and is handed to it here.
    const { onProgress, ...rest } = options;
    return this.call('runPass', [flow, rest], onProgress, rest.dryRun ? undefined : flow.id) as Promise<PassResult>;
  }

  resolveConflict(...args: Parameters<WorkerMethods['resolveConflict']>): ReturnType<WorkerMethods['resolveConflict']> {
    return this.call('resolveConflict', args) as ReturnType<WorkerMethods['resolveConflict']>;
  }

  retryFailing(flowId: string): Promise<void> {
    return this.call('retryFailing', [flowId]) as Promise<void>;
  }

  forgetFlow(flowId: string): Promise<void> {
    return this.call('forgetFlow', [flowId]) as Promise<void>;
  }

  listRuns(...args: Parameters<SyncEngine['listRuns']>): ReturnType<SyncEngine['listRuns']> {
    return this.reader.listRuns(...args);
  }

  getRun(...args: Parameters<SyncEngine['getRun']>): ReturnType<SyncEngine['getRun']> {
    return this.reader.getRun(...args);
  }

  listConflicts(...args: Parameters<SyncEngine['listConflicts']>): ReturnType<SyncEngine['listConflicts']> {
    return this.reader.listConflicts(...args);
  }

  listFailing(...args: Parameters<SyncEngine['listFailing']>): ReturnType<SyncEngine['listFailing']> {
    return this.reader.listFailing(...args);
  }

  /**
   * Ends the worker once it has closed its connection and written out its log; later calls that need it are refused.
   * Call it when no pass is running (Runtime.stop calls it after the runner is idle): calls still in flight fail.
   */
  async close(): Promise<void> {
    this.closed = true;
    const handle = this.handle;
    if (!handle) return;
    this.handle = null;
    handle.closing = true;
    const exited = new Promise((resolve) => handle.worker.once('exit', resolve));
    // Until it has exited: a process that stopped waiting would end the thread before its log is written.
    handle.worker.ref();
    const stuck = setTimeout(() => void handle.worker.terminate(), CLOSE_GRACE_MS);
    try {
      await this.post(handle, { id: this.nextId++, method: 'close' });
    } catch (error) {
      this.options.logger.warn({ err: error }, 'the pass worker did not close cleanly');
    }
    await exited;
    clearTimeout(stuck);
  }

  private call(method: WorkerMethod, args: unknown[], onProgress?: (progress: PassProgress) => void, passOf?: string): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the engine is closed: this runtime is stopping and runs no more passes'));
    try {
      this.handle ??= this.spawn();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.post(this.handle, { id: this.nextId++, method, args, progress: onProgress !== undefined } as WorkerRequest, onProgress, passOf);
  }

  private post(handle: WorkerHandle, request: WorkerRequest, onProgress?: (progress: PassProgress) => void, passOf?: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      handle.pending.set(request.id, { resolve, reject, ...(onProgress ? { onProgress } : {}), ...(passOf ? { passOf } : {}) });
      // An idle worker must not keep the process alive; one with calls in flight must.
      if (handle.pending.size === 1) handle.worker.ref();
      try {
        handle.worker.postMessage(request);
      } catch (error) {
        this.settle(handle, request.id);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  private settle(handle: WorkerHandle, id: number): PendingCall | undefined {
    const call = handle.pending.get(id);
    handle.pending.delete(id);
    if (handle.pending.size === 0 && !handle.closing) handle.worker.unref();
    return call;
  }

  private spawn(): WorkerHandle {
    const { statePath, credentialKey, logger, logFile } = this.options;
    // The key is copied: a small Buffer is a view of a shared pool, all of which would be cloned into the worker.
    const workerData: PassWorkerData = { statePath, credentialKey: new Uint8Array(credentialKey), logLevel: logger.level, logFile: logFile ?? null };
    const worker = new Worker(bootstrapUrl, { workerData, name: 'syncline-passes' });
    const handle: WorkerHandle = { worker, pending: new Map(), failure: null, closing: false };
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      if ('progress' in reply) {
        handle.pending.get(reply.id)?.onProgress?.(reply.progress);
        return;
      }
      const call = this.settle(handle, reply.id);
      if (!call) return;
      if (reply.ok) call.resolve(reply.value);
      else call.reject(reviveError(reply.error));
    });
    worker.on('error', (error) => {
      handle.failure = error;
    });
    worker.on('messageerror', (error) => {
      // A reply that cannot be read leaves its call waiting for ever, and it is unknown which call it was: stopping
      // the worker fails them all, and the next call starts afresh.
      handle.failure = error;
      void worker.terminate();
    });
    worker.once('exit', (code) => this.stopped(handle, code));
    return handle;
  }

  private stopped(handle: WorkerHandle, code: number): void {
    if (this.handle === handle) this.handle = null;
    const reason = handle.failure ? `it threw: ${handle.failure.message}` : handle.closing ? 'it was closed' : `it exited with code ${code}`;
    if (!handle.closing) this.options.logger.error({ err: handle.failure ?? undefined, exitCode: code, callsInFlight: handle.pending.size }, `the pass worker stopped: ${reason}`);
    const calls = [...handle.pending.keys()].map((id) => this.settle(handle, id));
    const flowIds = [...new Set(calls.map((call) => call?.passOf).filter((flowId): flowId is string => flowId !== undefined))];
    const error = `interrupted: the pass worker stopped (${reason}); the pass is redone on the next one`;
    // The passes it was running never finished their runs: history shows them failed, as a restart would, before the
    // callers hear of it.
    void failInterruptedRuns(this.options.db, new Date().toISOString(), { flowIds, error })
      .catch((failure: unknown) => this.options.logger.warn({ err: failure, flowIds }, 'interrupted runs could not be marked failed'))
      .then(() => {
        for (const call of calls) call?.reject(new PassWorkerStoppedError(reason));
      });
  }
}
