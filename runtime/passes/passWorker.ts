/**
 * A pass worker: a thread of its own holding a SyncEngine that runs one flow's passes at a time for ThreadedEngine
 * (runtime/passes/threadedEngine.ts), on its own connection to the state file. Started through passWorker.mjs.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { connectorRegistry } from '../connectors/index';
import { CredentialStore } from '../credentials/store';
import { openStateDb } from '../db/index';
import { SyncEngine, type PassProgress } from '../engine';
import { createLogger } from '../observability/logger';
import { serializeError, type PassWorkerData, type StopRequest, type WorkerReply, type WorkerRequest } from './threadedEngine';

if (!parentPort) throw new Error('passWorker runs as a worker thread of ThreadedEngine');
const port = parentPort;
const data = workerData as PassWorkerData;

const WORKER_POOL_SIZE = 4;

const rootLogger = createLogger({ level: data.logLevel, ...(data.logFile ? { file: data.logFile } : {}) });
const logger = rootLogger.child({ component: 'engine' });
// On PostgreSQL a worker runs one pass at a time, whose statements go one after another: a few connections suffice.
const db = await openStateDb(data.state, { poolSize: WORKER_POOL_SIZE, backgroundCheckpoints: true });
const key = Buffer.from(data.credentialKey);
// The API replaces credentials on the main thread, and this thread's cache would never hear of it: the store (and its
// cache) is renewed as each pass starts, so a pass uses the credentials stored when it began.
// Token endpoints are reached under the same host policy as connectors.
const credentialOptions = { hosts: data.access?.hosts ?? { allowed: [] } };
let credentials = new CredentialStore(db, key, credentialOptions);
const engine = new SyncEngine({
  db,
  connectors: { ...connectorRegistry },
  resolveCredential: (name) => credentials.resolve(name),
  resolveAuth: (name) => credentials.resolveAuth(name),
  ...(data.access ? { access: data.access } : {}),
  logger,
});

const reply = (message: WorkerReply) => port.postMessage(message);

/** The calls being answered, and why each that was asked to stop should. */
const inFlight = new Map<number, { stopReason: string | null }>();

/** Takes in the stop requests that arrived, without waiting for the event loop (a busy pass does not give it a turn). */
function readStopRequests(): void {
  for (let message = receiveMessageOnPort(data.stopPort); message; message = receiveMessageOnPort(data.stopPort)) {
    const request = message.message as StopRequest;
    for (const id of request.calls) {
      // A call whose request has not been read yet takes the reason with it when it is.
      const call = inFlight.get(id) ?? { stopReason: null };
      call.stopReason ??= request.reason;
      inFlight.set(id, call);
    }
  }
}

/** Thrown from a pass's progress report once it is asked to stop; the engine ends the pass as failed with this message. */
class PassStopRequested extends Error {
  constructor(reason: string) {
    super(`stopped: ${reason}`);
    this.name = 'PassStopRequested';
  }
}

async function answer(request: Extract<WorkerRequest, { id: number; args: unknown }>): Promise<unknown> {
  switch (request.method) {
    case 'runPass': {
      const [flow, options] = request.args;
      credentials = new CredentialStore(db, key, credentialOptions);
      // The engine reports progress between pages, where everything before is committed and nothing after begun: the
      // one place a pass can end early as cleanly as when a connector fails there. A pass that does not get there in
      // time (a page that takes long) is ended with its thread by ThreadedEngine.stopFlow.
      const onProgress = (progress: PassProgress) => {
        readStopRequests();
        const stopReason = inFlight.get(request.id)?.stopReason;
        if (stopReason) throw new PassStopRequested(stopReason);
        if (request.progress) reply({ id: request.id, progress });
      };
      return engine.runPass(flow, { ...options, onProgress });
    }
    case 'resolveConflict':
      return engine.resolveConflict(...request.args);
    case 'retryFailing':
      return engine.retryFailing(...request.args);
    case 'forgetFlow':
      return engine.forgetFlow(...request.args);
  }
}

/**
 * Closes the connection and the port. With nothing left to answer the thread ends by itself once its log's last
 * writes are done (the main thread terminates it if something a connector left open holds it).
 */
async function close(id: number): Promise<void> {
  try {
    await engine.close();
    await db.destroy();
    rootLogger.flush();
    data.stopPort.close();
    reply({ id, ok: true, value: undefined });
  } catch (error) {
    reply({ id, ok: false, error: serializeError(error) });
  }
  port.close();
}

port.on('message', (request: WorkerRequest) => {
  if (request.method === 'close') {
    void close(request.id);
    return;
  }
  if (!inFlight.has(request.id)) inFlight.set(request.id, { stopReason: null });
  void answer(request)
    .then(
      (value) => reply({ id: request.id, ok: true, value }),
      (error: unknown) => reply({ id: request.id, ok: false, error: serializeError(error) }),
    )
    .finally(() => inFlight.delete(request.id));
});
