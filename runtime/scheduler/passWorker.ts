/**
 * The pass worker: a thread of its own holding the one SyncEngine that runs passes for ThreadedEngine
 * (runtime/scheduler/threadedEngine.ts), on its own connection to the state file. Started through passWorker.mjs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectorRegistry } from '../connectors/index';
import { CredentialStore } from '../credentials/store';
import { openStateDb } from '../db/index';
import { SyncEngine, type PassProgress } from '../engine';
import { createLogger } from '../observability/logger';
import { serializeError, type PassWorkerData, type WorkerReply, type WorkerRequest } from './threadedEngine';

if (!parentPort) throw new Error('passWorker runs as a worker thread of ThreadedEngine');
const port = parentPort;
const data = workerData as PassWorkerData;

const rootLogger = createLogger({ level: data.logLevel, ...(data.logFile ? { file: data.logFile } : {}) });
const logger = rootLogger.child({ component: 'engine' });
const db = await openStateDb(data.statePath);
const key = Buffer.from(data.credentialKey);
// The API replaces credentials on the main thread, and this thread's cache would never hear of it: the store (and its
// cache) is renewed as each pass starts, so a pass uses the credentials stored when it began.
let credentials = new CredentialStore(db, key);
const engine = new SyncEngine({ db, connectors: { ...connectorRegistry }, resolveCredential: (name) => credentials.resolve(name), logger });

const reply = (message: WorkerReply) => port.postMessage(message);

async function answer(request: Exclude<WorkerRequest, { method: 'close' }>): Promise<unknown> {
  switch (request.method) {
    case 'runPass': {
      const [flow, options] = request.args;
      credentials = new CredentialStore(db, key);
      const onProgress = (progress: PassProgress) => reply({ id: request.id, progress });
      return engine.runPass(flow, { ...options, ...(request.progress ? { onProgress } : {}) });
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
  void answer(request).then(
    (value) => reply({ id: request.id, ok: true, value }),
    (error: unknown) => reply({ id: request.id, ok: false, error: serializeError(error) }),
  );
});
