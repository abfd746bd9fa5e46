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

// Indexes into the shared control words.
const STOP = 0;
const CLOSED = 1;

/**
 * The checkpointing thread, as plain CommonJS so it runs alike under tsx, vitest and the bundle. It waits on the stop
 * word between checkpoints: soon after a checkpoint that found new frames, longer (to half a second) while the WAL
 * stays as it was.
 */
const CHECKPOINTER = `
const { workerData } = require('node:worker_threads');
const { file, driver, control, minDelay, maxDelay } = workerData;
const words = new Int32Array(control);
let db = null;
try {
  if (Atomics.load(words, ${STOP}) === 0) {
    const Sqlite = require(driver);
    db = new Sqlite(file, { fileMustExist: true });
    db.pragma('busy_timeout = 0');
    let delay = minDelay;
    let last = '';
    while (Atomics.load(words, ${STOP}) === 0) {
      let now = last;
      try {
        const [row] = db.pragma('wal_checkpoint(PASSIVE)');
        now = row.log + ':' + row.checkpointed;
      } catch {
        // Busy or locked for a moment: the next round tries again.
      }
      delay = now !== last ? minDelay : Math.min(maxDelay, delay * 2);
      last = now;
      Atomics.wait(words, ${STOP}, 0, delay);
    }
  }
} finally {
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
    const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { file, driver, control: this.words.buffer, minDelay: 10, maxDelay: 500 } });
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
