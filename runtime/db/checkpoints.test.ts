import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import Sqlite from 'better-sqlite3';
import { BACKSTOP_AUTOCHECKPOINT, BackgroundCheckpoints } from './checkpoints';
import { openStateDb, type StateDb } from './index';

describe('background checkpoints', () => {
  const folders: string[] = [];
  afterEach(() => {
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });

  const stateFile = () => {
    const folder = mkdtempSync(join(tmpdir(), 'checkpoints-'));
    folders.push(folder);
    return join(folder, 'state.db');
  };
  // About 1,300 pages in one commit: past SQLite's own autocheckpoint (1,000), short of the backstop.
  const fill = async (db: StateDb) => {
    await sql`create table filler (payload blob)`.execute(db);
    await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < 1300) insert into filler select randomblob(4000) from n`.execute(db);
  };

  it('copies committed pages into the file from another thread, the connection itself waiting for the backstop', async () => {
    const file = stateFile();
    const db = await openStateDb(file, { backgroundCheckpoints: true });
    try {
      const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
      expect(rows[0]?.wal_autocheckpoint).toBe(BACKSTOP_AUTOCHECKPOINT);
      const before = statSync(file).size;
      await fill(db);
      // Only a checkpoint moves pages from the WAL into the file, and this connection's own waits for 10,000.
      await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(before + 1300 * 4000), { timeout: 60_000, interval: 20 });
    } finally {
      await db.destroy();
    }
  });

  it('stops before the state closes, so the last connection removes the WAL as without it', async () => {
    const file = stateFile();
    const db = await openStateDb(file, { backgroundCheckpoints: true });
    await fill(db);
    expect(existsSync(`${file}-wal`)).toBe(true);
    await db.destroy();
    expect(existsSync(`${file}-wal`)).toBe(false);
    // Everything committed is in the file.
    const again = await openStateDb(file);
    try {
      const { rows } = await sql<{ n: number }>`select count(*) as n from filler`.execute(again);
      expect(rows[0]?.n).toBe(1300);
    } finally {
      await again.destroy();
    }
  });

  it('is not started unless asked for', async () => {
    const db = await openStateDb(stateFile());
    try {
      const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
      expect(rows[0]?.wal_autocheckpoint).toBe(1000);
    } finally {
      await db.destroy();
    }
  });

  /** The POSIX locks this process holds on a file, as Linux lists them (/proc/locks: "… POSIX ADVISORY READ pid maj:min:inode start end"). */
  const locksHeld = (path: string): number => {
    const inode = statSync(path).ino;
    return readFileSync('/proc/locks', 'utf8')
      .split('\n')
      .filter((line) => {
        const fields = line.trim().split(/\s+/);
        const at = fields.indexOf('POSIX');
        return at >= 0 && Number(fields[at + 3]) === process.pid && Number(fields[at + 4]?.split(':')[2]) === inode;
      }).length;
  };

  it.runIf(existsSync('/proc/locks'))('leaves the locks SQLite holds on the -shm to the connections still open when it stops', async () => {
    const file = stateFile();
    const serving = new Sqlite(file);
    serving.pragma('journal_mode = WAL');
    serving.prepare('create table t (x)').run();
    const checkpointed = new Sqlite(file);
    try {
      const held = locksHeld(`${file}-shm`);
      expect(held).toBeGreaterThan(0);
      // A pass worker's connection with its checkpointer comes and goes while the server's stays open: closing any
      // descriptor of the -shm in this process would drop the server's locks, and another process would then take
      // the -shm for unused and rebuild it under the server's mapping (SIGBUS).
      const checkpoints = BackgroundCheckpoints.start(file, checkpointed);
      const before = statSync(file).size;
      serving.exec('create table filler (payload blob); with recursive n(i) as (select 1 union all select i + 1 from n where i < 1300) insert into filler select randomblob(4000) from n');
      // The thread has read the -shm once it has checkpointed.
      await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(before + 1300 * 4000), { timeout: 60_000, interval: 20 });
      checkpoints.stop();
      checkpointed.close();
      expect(locksHeld(`${file}-shm`)).toBe(held);
    } finally {
      serving.close();
    }
  });
});
