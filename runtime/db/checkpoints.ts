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
import { closeSync, openSync, statSync } from 'node:fs';
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
 * ms) while none do. The thread reads through a descriptor the process keeps open ({@link shmDescriptor}), never its
 * own: see there why.
 */
const CHECKPOINTER = `
const { workerData } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { endianness } = require('node:os');
const { file, driver, control, frames, minDelay, maxDelay, shm } = workerData;
const words = new Int32Array(control);
const header = Buffer.alloc(100);
const little = endianness() === 'LE';
let db = null;
function waiting() {
  try {
    if (shm === null || readSync(shm, header, 0, 100, 0) < 100) return 0;
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
  try { db?.close(); } catch {}
  Atomics.store(words, ${CLOSED}, 1);
  Atomics.notify(words, ${CLOSED});
}
`;

/** The -shm descriptor the process keeps open for each state file, and the file it was opened on. */
const shmDescriptors = new Map<string, { fd: number; ino: number }>();

/**
 * A descriptor of `file`'s -shm for reading its header, or null when there is none. Opened once per file and kept
 * open: SQLite's locks on the -shm are POSIX record locks, which belong to the process, and closing any descriptor of
 * the file drops all of them (fcntl(2): "If a process closes any file descriptor referring to a file, then all of the
 * process's locks on that file are released"). A checkpointer that closed its own descriptor when it stopped took
 * away the locks of every connection the process still had open on the state, and the next process to open it (the
 * `syncline credentials` command beside `serve`) found the -shm unused, rebuilt it under `serve`'s mapping, and
 * `serve` died of SIGBUS. Only a descriptor whose file is gone (the -shm was removed and made anew) is closed: no
 * lock of SQLite's is on that file any more.
 */
function shmDescriptor(file: string): number | null {
  const path = `${file}-shm`;
  let ino: number;
  try {
    ino = statSync(path).ino;
  } catch {
    return null;
  }
  const known = shmDescriptors.get(path);
  if (known?.ino === ino) return known.fd;
  if (known) closeSync(known.fd);
  shmDescriptors.delete(path);
  try {
    const fd = openSync(path, 'r');
    shmDescriptors.set(path, { fd, ino });
    return fd;
  } catch {
    return null;
  }
}

/** A running checkpointer for one state file; `stop` before the file's own connection closes. */
export class BackgroundCheckpoints {
  private readonly words = new Int32Array(new SharedArrayBuffer(8));
  private stopped = false;

  private constructor(file: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const shm = shmDescriptor(file);
    const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { file, driver, control: this.words.buffer, frames: CHECKPOINT_FRAMES, minDelay: 10, maxDelay: 100, shm } });
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
    // A read makes SQLite open the WAL index (the -shm) the thread reads, if nothing has yet.
    connection.prepare('select count(*) from sqlite_master').get();
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
