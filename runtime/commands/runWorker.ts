/**
 * The run worker: the thread `syncline run` runs on, watched by runSupervisor.ts on the main thread. Started through
 * runWorker.mjs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runCommand } from './run';
import { RunControl, type RunWorkerData, type RunWorkerMessage } from './runSupervisor';

if (!parentPort) throw new Error('runWorker runs as a worker thread of `syncline run`');
const port = parentPort;
const data = workerData as RunWorkerData;
const tell = (message: RunWorkerMessage) => port.postMessage(message);
const control = new RunControl(data.stopPort, data.progressToTerminal, (info) => tell({ kind: 'passes', ...info }));
try {
  tell({ kind: 'done', exitCode: await runCommand(data.args, control) });
} finally {
  control.close();
}
