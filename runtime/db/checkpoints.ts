/**
 * WAL checkpoints on a thread of their own, for a state file that a pass writes to.
 *
 * In WAL mode a commit appends the pages it changed to the -wal file, and the commit that takes the WAL past
 * `wal_autocheckpoint` pages also copies them into the database file, in the committing thread: most of what a pass's
 * commits cost, and about a sixth of a pass of 5,000 changes (bench/engine.notes.md, sixth round). A PASSIVE
 * checkpoint from another connection copies the same pages without blocking writers or readers, so a worker thread
 * checkpointing while the pass goes on moves that copying to another core. The pass's own connection keeps a higher
 * `wal_autocheckpoint` as a bound on the WAL should this thread fall behind or fail. The thread costs about 9 MB.
 *
 * Crash safety is SQLite's: a checkpoint only copies committed pages, whichever connection runs it.
 */
import type Sqlite from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** What the pass's own connection still checkpoints at (pages): ten times SQLite's default, about 40 MB of WAL. */
export const BACKSTOP_AUTOCHECKPOINT = 10_000;

/**
 * Frames not yet copied into the file at which the thread checkpoints: SQLite's own `wal_autocheckpoint`, so a
 * checkpoint (and the two syncs it makes) comes as often as it did in the committing thread. Checkpointing whenever
 * anything was new instead copied a page that many small commits change (a run's row, a cursor) once per checkpoint
 * rather than once per thousand frames, and synced twice each time: under the webhook bench's 5,000 events a second
 * its p99 went from 40 to 127–173 ms.
 */
export const CHECKPOINT_FRAMES = 1000;

// Indexes into the shared control words.
const STOP = 0;
const CLOSED = 1;

/**
 * The checkpointing thread, as plain CommonJS so it runs alike under tsx, vitest and the bundle. Between checks it waits
 * on the stop word. A check reads the WAL-index header at the start of the -shm file (https://www.sqlite.org/walformat.html,
 * "The WAL-Index Format": `mxFrame` at byte 16, the last valid frame, and `nBackfill` at byte 96, the frames already
 * copied into the file, both in the host's byte order), which costs one read of 100 bytes and takes no lock; the header
 * may be read mid-update, which only moves a checkpoint by a check. Every 10 ms while frames wait, less often (to 100
 * ms) while none do.
 */
const CHECKPOINTER = `
const { workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { endianness } = require('node:os');
const { file, driver, control, frames, minDelay, maxDelay } = workerData;
const words = new Int32Array(control);
const header = Buffer.alloc(100);
const little = endianness() === 'LE';
let db = null;
let shm = null;
function waiting() {
  try {
    if (shm === null) shm = openSync(file + '-shm', 'r');
    if (readSync(shm, header, 0, 100, 0) < 100) return 0;
  } catch {
    return 0;
  }
  const last = little ? header.readUInt32LE(16) : header.readUInt32BE(16);
  const copied = little ? header.readUInt32LE(96) : header.readUInt32BE(96);
  return last > copied ? last - copied : 0;
}
try {
  if (Atomics.load(words, ${STOP}) === 0) {
    const Sqlite = require(driver);
    db = new Sqlite(file, { fileMustExist: true });
    db.pragma('busy_timeout = 0');
    let delay = minDelay;
    while (Atomics.load(words, ${STOP}) === 0) {
      const pending = waiting();
      if (pending >= frames) {
        try {
          db.pragma('wal_checkpoint(PASSIVE)');
        } catch {
          // Busy or locked for a moment: the next check tries again.
        }
      }
      delay = pending > 0 ? minDelay : Math.min(maxDelay, delay * 2);
      Atomics.wait(words, ${STOP}, 0, delay);
    }
  }
} finally {
  try { if (shm !== null) closeSync(shm); } catch {}
  try { db?.close(); } catch {}
  Atomics.store(words, ${CLOSED}, 1);
  Atomics.notify(words, ${CLOSED});
}
`;

/** A running checkpointer for one state file; `stop` before the file's own connection closes. */
export class BackgroundCheckpoints {
  private readonly words = new Int32Array(new SharedArrayBuffer(8));
  private stopped = false;

  private constructor(file: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { file, driver, control: this.words.buffer, frames: CHECKPOINT_FRAMES, minDelay: 10, maxDelay: 100 } });
    // Never what keeps a process alive; and a checkpointer that fails leaves the connection's own checkpoints.
    worker.unref();
    worker.on('error', () => undefined);
    // A thread ended without its finally (terminated with its process's environment) has no connection left either.
    worker.on('exit', () => Atomics.store(this.words, CLOSED, 1));
  }

  /**
   * Starts checkpointing `file`, the file `connection` has open, and lets the connection's own checkpoints wait for
   * {@link BACKSTOP_AUTOCHECKPOINT} pages.
   */
  static start(file: string, connection: Sqlite.Database): BackgroundCheckpoints {
    const checkpoints = new BackgroundCheckpoints(file);
    connection.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT}`);
    return checkpoints;
  }

  /**
   * Stops the thread and waits (at most two seconds) until its connection is closed, so that the file's own
   * connection, closed next, is the last: SQLite then checkpoints the rest and removes the WAL, as it would without
   * this thread.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.words, STOP, 1);
    Atomics.notify(this.words, STOP);
    Atomics.wait(this.words, CLOSED, 0, 2000);
  }
}
