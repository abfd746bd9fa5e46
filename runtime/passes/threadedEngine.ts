import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { FlowDocument } from '../../nodes';
import type { ConnectorAccess } from '../connectors/access';
import type { StateDb } from '../db';
import { listConflicts } from '../db/conflictQueries';
import { listFailing } from '../db/failingQueries';
import { getRun, listRuns } from '../db/runQueries';
import { conflictFlowId, failInterruptedRuns } from '../db/statusQueries';
import { EngineInputError, noSuchConflict, type PassOptions, type PassProgress, type PassResult, type SyncEngine } from '../engine';
import type { FlowEngine } from './runner';

/** The calls that change links or void what the engine learned about a flow: they all go to the one worker engine. */
export type WorkerMethods = Pick<SyncEngine, 'runPass' | 'resolveConflict' | 'retryFailing' | 'forgetFlow'>;
export type WorkerMethod = keyof WorkerMethods;

/** What the worker needs to open its own connection, credentials and log. */
export interface PassWorkerData {
  /** The state's file or `postgres://` URL. */
  state: string;
  credentialKey: Uint8Array;
  logLevel: string;
  logFile: string | null;
  /** What the worker's connectors may reach; null for the engine's default. */
  access: ConnectorAccess | null;
  /** Where stop requests arrive (StopRequest). The worker reads it synchronously, between pages: a busy pass never
   * yields to the event loop that would deliver a message on the main port. */
  stopPort: MessagePort;
}

/** Asks the calls `calls` to stop at their next safe point (a pass between two pages); it is not answered. */
export interface StopRequest {
  calls: number[];
  reason: string;
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

/** A call that was asked to stop (its flow paused or removed, the runtime stopping) and did not in time: its worker was ended. */
export class PassStoppedError extends Error {
  constructor(readonly reason: string) {
    super(`stopped: ${reason}`);
    this.name = 'PassStoppedError';
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
  /** Resolves once the call is answered or failed. */
  settled: Promise<void>;
  onProgress?: (progress: PassProgress) => void;
  /** The flow of a pass in flight, whose run is left `running` if the worker dies. */
  passOf?: string;
  /** What was asked: a stop ends passes, and leaves anything else (a conflict resolution, closing) to finish. */
  method: WorkerRequest['method'];
}

/** One worker thread and the calls it has not answered yet. */
interface WorkerHandle {
  worker: Worker;
  /** Sends StopRequests to the worker. */
  stopPort: MessagePort;
  pending: Map<number, PendingCall>;
  /** The flow whose calls it runs now; null while it is idle. */
  flowId: string | null;
  /** The flow it ran last, so the flow's next call can go back to it (and the connectors it kept open). */
  lastFlowId: string | null;
  /** Why it stopped, when it reported an error before exiting. */
  failure: Error | null;
  /** Set when a stop that was not heeded in time ended it: why the stop was asked for. */
  stopReason: string | null;
  closing: boolean;
  exited: boolean;
  /** Resolves when the thread has exited. */
  exit: Promise<void>;
  idleTimer: NodeJS.Timeout | null;
}

export interface ThreadedEngineOptions {
  /** The state's file or `postgres://` URL; each worker opens its own connection to it. */
  state: string;
  /** The main thread's connection to the same state: the read-only calls run on it. */
  db: StateDb;
  /** The credential key; the worker decrypts credentials itself. */
  credentialKey: Buffer;
  /** The main log: errors about the worker go here, and the worker logs at its level. */
  logger: Logger;
  /** The file the main log writes to (`syncline start`), so the worker's log lands there too. */
  logFile?: string;
  /** What the workers' connectors may reach (files, hosts); the engine's default when left out. */
  access?: ConnectorAccess | null;
  /** How long a pass asked to stop may take to reach a point where it can end cleanly before its worker is ended. */
  stopGraceMs?: number;
  /** How long a worker beyond the first may stay idle before it is closed. */
  idleWorkerMs?: number;
}

const bootstrapUrl = new URL('./passWorker.mjs', import.meta.url);
/** How long a closing worker may take to close its connection and end by itself (its last log writes) before it is terminated. */
const CLOSE_GRACE_MS = 5000;
/** See ThreadedEngineOptions.stopGraceMs. */
export const DEFAULT_STOP_GRACE_MS = 2000;
/** See ThreadedEngineOptions.idleWorkerMs. */
const DEFAULT_IDLE_WORKER_MS = 30_000;
/** Idle workers kept without a time limit: starting one costs about a second, and most runtimes run one flow at a time. */
const WARM_WORKERS = 1;

/**
 * A FlowEngine whose passes run on worker threads, so the synchronous SQLite work of a pass does not hold up the
 * HTTP server. Everything that changes links or voids what the engine learned between passes goes to a worker's
 * SyncEngine; the read-only calls run here on the main connection, and answer while a pass runs.
 *
 * A worker serves one flow at a time: a flow's calls go to the worker already running one of them, else to an idle
 * worker (preferably the one that ran the flow last), else to a new one. So one flow's long pass never holds up
 * another's, and a pass that must be stopped can be, by ending its worker, without touching any other flow's.
 * Idle workers are kept for the next call, beyond the first only for `idleWorkerMs`.
 */
export class ThreadedEngine implements FlowEngine {
  /** The worker running each flow's calls. */
  private readonly busy = new Map<string, WorkerHandle>();
  /** Workers with nothing to do, the most recently used last. */
  private readonly idle: WorkerHandle[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: ThreadedEngineOptions) {}

  /** The thread running a flow's calls now, if any: for tests and diagnostics. */
  workerOf(flowId: string): Worker | null {
    return this.busy.get(flowId)?.worker ?? null;
  }

  /** How many worker threads are started, busy or idle. */
  get workerCount(): number {
    return this.busy.size + this.idle.length;
  }

  runPass(flow: FlowDocument, options: PassOptions): Promise<PassResult> {
    // A function cannot cross threads: progress comes back as messages and is handed to it here.
    const { onProgress, ...rest } = options;
    return this.call(flow.id, 'runPass', [flow, rest], onProgress, rest.dryRun ? undefined : flow.id) as Promise<PassResult>;
  }

  async resolveConflict(...args: Parameters<WorkerMethods['resolveConflict']>): ReturnType<WorkerMethods['resolveConflict']> {
    const flowId = await conflictFlowId(this.options.db, args[0]);
    // An unknown conflict is refused as the engine refuses it, without a worker.
    if (flowId === undefined) throw noSuchConflict(args[0]);
    return (await this.call(flowId, 'resolveConflict', args)) as Awaited<ReturnType<WorkerMethods['resolveConflict']>>;
  }

  retryFailing(flowId: string): Promise<void> {
    return this.call(flowId, 'retryFailing', [flowId]) as Promise<void>;
  }

  forgetFlow(flowId: string): Promise<void> {
    return this.call(flowId, 'forgetFlow', [flowId]) as Promise<void>;
  }

  /** @deprecated the API moves to runtime/db/runQueries.ts `listRuns` */
  listRuns(flowId: string, limit?: number): ReturnType<typeof listRuns> {
    return listRuns(this.options.db, flowId, limit);
  }

  /** @deprecated the API moves to runtime/db/runQueries.ts `getRun` */
  getRun(runId: string): ReturnType<typeof getRun> {
    return getRun(this.options.db, runId);
  }

  /** @deprecated the API moves to runtime/db/conflictQueries.ts `listConflicts` */
  listConflicts(filter: Parameters<typeof listConflicts>[1]): ReturnType<typeof listConflicts> {
    return listConflicts(this.options.db, filter);
  }

  /** @deprecated the API moves to runtime/db/failingQueries.ts `listFailing` */
  listFailing(flowId: string): ReturnType<typeof listFailing> {
    return listFailing(this.options.db, flowId);
  }

  /**
   * Stops a flow's passes in flight: asks them to stop at their next safe point (between two pages, where a pass
   * ends as failed with the reason), and when they have not settled within the grace period ends their worker. The
   * interrupted run is then marked failed with the reason; what the pass wrote is its crash recovery's to pick up on
   * the next pass, as after a killed process. Resolves once every pass that was in flight has settled. Other calls
   * (a conflict resolution, forgetting a removed flow) are short and left to finish.
   */
  async stopFlow(flowId: string, reason: string): Promise<void> {
    const handle = this.busy.get(flowId);
    if (!handle || handle.exited) return;
    const calls = [...handle.pending].filter(([, call]) => call.method === 'runPass');
    if (calls.length === 0) return;
    const settled = Promise.all(calls.map(([, call]) => call.settled));
    try {
      handle.stopPort.postMessage({ calls: calls.map(([id]) => id), reason } satisfies StopRequest);
    } catch {
      // A worker that cannot take the message is ended below.
    }
    const graceMs = this.stopGraceMs;
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([settled.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)))]);
    clearTimeout(timer);
    if (!inTime && !handle.exited) {
      handle.stopReason ??= reason;
      this.options.logger.warn({ flowId, reason, graceMs }, 'a pass asked to stop did not within the grace period: its worker is ended');
      await handle.worker.terminate();
    }
    await settled;
  }

  /**
   * Ends every worker once it has closed its connection and written out its log; later calls are refused. Call it
   * when no pass is running (Runtime.stop calls it after the runner is idle): calls still in flight fail.
   */
  async close(): Promise<void> {
    this.closed = true;
    const handles = [...this.busy.values(), ...this.idle];
    this.busy.clear();
    this.idle.length = 0;
    await Promise.all(handles.map((handle) => this.closeWorker(handle)));
  }

  private get stopGraceMs(): number {
    return this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  }

  private call(flowId: string, method: WorkerMethod, args: unknown[], onProgress?: (progress: PassProgress) => void, passOf?: string): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the engine is closed: this runtime is stopping and runs no more passes'));
    let handle = this.busy.get(flowId);
    if (!handle) {
      try {
        handle = this.takeIdle(flowId) ?? this.spawn();
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      handle.flowId = flowId;
      this.busy.set(flowId, handle);
    }
    return this.post(handle, { id: this.nextId++, method, args, progress: onProgress !== undefined } as WorkerRequest, onProgress, passOf);
  }

  /** An idle worker for a flow: the one that ran it last if it is idle, else the one used most recently. */
  private takeIdle(flowId: string): WorkerHandle | undefined {
    const last = this.idle.findIndex((handle) => handle.lastFlowId === flowId);
    const [handle] = this.idle.splice(last >= 0 ? last : this.idle.length - 1, 1);
    if (handle?.idleTimer) clearTimeout(handle.idleTimer);
    if (handle) handle.idleTimer = null;
    return handle;
  }

  private post(
    handle: WorkerHandle,
    request: WorkerRequest,
    onProgress?: (progress: PassProgress) => void,
    passOf?: string,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let markSettled!: () => void;
      const settled = new Promise<void>((done) => (markSettled = done));
      const call: PendingCall = {
        resolve: (value) => {
          markSettled();
          resolve(value);
        },
        reject: (error) => {
          markSettled();
          reject(error);
        },
        settled,
        ...(onProgress ? { onProgress } : {}),
        ...(passOf ? { passOf } : {}),
        method: request.method,
      };
      handle.pending.set(request.id, call);
      // An idle worker must not keep the process alive; one with calls in flight must.
      if (handle.pending.size === 1) handle.worker.ref();
      try {
        handle.worker.postMessage(request);
      } catch (error) {
        this.settle(handle, request.id);
        call.reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  private settle(handle: WorkerHandle, id: number): PendingCall | undefined {
    const call = handle.pending.get(id);
    handle.pending.delete(id);
    if (handle.pending.size === 0 && !handle.closing && !handle.exited) this.release(handle);
    return call;
  }

  /** A worker whose flow has no call in flight becomes idle, for whichever flow calls next. */
  private release(handle: WorkerHandle): void {
    handle.worker.unref();
    if (handle.flowId !== null && this.busy.get(handle.flowId) === handle) this.busy.delete(handle.flowId);
    handle.lastFlowId = handle.flowId;
    handle.flowId = null;
    this.idle.push(handle);
    const idleWorkerMs = this.options.idleWorkerMs ?? DEFAULT_IDLE_WORKER_MS;
    handle.idleTimer = setTimeout(() => {
      handle.idleTimer = null;
      const index = this.idle.indexOf(handle);
      if (index < 0 || this.idle.length <= WARM_WORKERS) return;
      this.idle.splice(index, 1);
      void this.closeWorker(handle);
    }, idleWorkerMs);
    handle.idleTimer.unref();
  }

  private async closeWorker(handle: WorkerHandle): Promise<void> {
    if (handle.idleTimer) clearTimeout(handle.idleTimer);
    if (handle.exited) return;
    handle.closing = true;
    // Until it has exited: a process that stopped waiting would end the thread before its log is written.
    handle.worker.ref();
    const stuck = setTimeout(() => void handle.worker.terminate(), CLOSE_GRACE_MS);
    try {
      await this.post(handle, { id: this.nextId++, method: 'close' });
    } catch (error) {
      this.options.logger.warn({ err: error }, 'a pass worker did not close cleanly');
    }
    await handle.exit;
    clearTimeout(stuck);
  }

  private spawn(): WorkerHandle {
    const { state, credentialKey, logger, logFile, access } = this.options;
    const stops = new MessageChannel();
    // The key is copied: a small Buffer is a view of a shared pool, all of which would be cloned into the worker.
    const workerData: PassWorkerData = {
      state,
      credentialKey: new Uint8Array(credentialKey),
      logLevel: logger.level,
      logFile: logFile ?? null,
      access: access ?? null,
      stopPort: stops.port2,
    };
    const worker = new Worker(bootstrapUrl, { workerData, transferList: [stops.port2], name: 'syncline-passes' });
    let exited!: () => void;
    const handle: WorkerHandle = {
      worker,
      stopPort: stops.port1,
      pending: new Map(),
      flowId: null,
      lastFlowId: null,
      failure: null,
      stopReason: null,
      closing: false,
      exited: false,
      exit: new Promise((resolve) => (exited = resolve)),
      idleTimer: null,
    };
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
    worker.once('exit', (code) => {
      this.stopped(handle, code);
      exited();
    });
    return handle;
  }

  private stopped(handle: WorkerHandle, code: number): void {
    handle.exited = true;
    handle.stopPort.close();
    if (handle.idleTimer) clearTimeout(handle.idleTimer);
    if (handle.flowId !== null && this.busy.get(handle.flowId) === handle) this.busy.delete(handle.flowId);
    const idleIndex = this.idle.indexOf(handle);
    if (idleIndex >= 0) this.idle.splice(idleIndex, 1);
    const calls = [...handle.pending.keys()].map((id) => this.settle(handle, id)).filter((call): call is PendingCall => call !== undefined);
    const flowIds = [...new Set(calls.map((call) => call.passOf).filter((flowId): flowId is string => flowId !== undefined))];
    let error: string;
    let failure: () => Error;
    if (handle.stopReason !== null) {
      const { stopReason } = handle;
      error = `stopped: ${stopReason} (the pass did not reach a point where it could stop within ${this.stopGraceMs} ms, so its worker thread was ended)`;
      failure = () => new PassStoppedError(stopReason);
    } else {
      const reason = handle.failure ? `it threw: ${handle.failure.message}` : handle.closing ? 'it was closed' : `it exited with code ${code}`;
      if (!handle.closing) this.options.logger.error({ err: handle.failure ?? undefined, exitCode: code, callsInFlight: calls.length }, `the pass worker stopped: ${reason}`);
      error = `interrupted: the pass worker stopped (${reason}); the pass is redone on the next one`;
      failure = () => new PassWorkerStoppedError(reason);
    }
    // The passes it was running never finished their runs: history shows them failed, as a restart would, before the
    // callers hear of it.
    void failInterruptedRuns(this.options.db, new Date().toISOString(), { flowIds, error })
      .catch((problem: unknown) => this.options.logger.warn({ err: problem, flowIds }, 'interrupted runs could not be marked failed'))
      .then(() => {
        for (const call of calls) call.reject(failure());
      });
  }
}
