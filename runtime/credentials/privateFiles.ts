import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';

// The data folder holds the state (golden records of every synced system, encrypted secrets), the webhook inbox, the
// credential key and the API token: none of it is for other users of the machine.

/** Creates `dir`, and any missing parent, readable by the owner only (0700). A folder that exists is left as it is. */
export function createPrivateFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Makes `file` readable by the owner only (0600): creates it empty when it is missing, and takes group and other
 * access away from one that has any (a file from an older version, or copied by hand). SQLite gives a database's
 * -wal, -shm and -journal files the mode of the database, so one created private keeps its companions private;
 * companions an older version left behind are tightened too.
 */
export function ensurePrivateFile(file: string, companions: readonly string[] = []): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  for (const path of [file, ...companions.map((suffix) => `${file}${suffix}`)]) {
    let mode: number;
    try {
      mode = statSync(path).mode;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if ((mode & 0o077) !== 0) chmodSync(path, 0o600);
  }
}

/** The files SQLite keeps beside a database file. */
export const SQLITE_COMPANIONS = ['-wal', '-shm', '-journal'] as const;
