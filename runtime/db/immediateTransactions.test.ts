import Sqlite from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { insertFlowRow, listFlowRows } from './flowQueries';
import { openStateDb, type StateDb } from './index';
import type { Database } from './schema';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A migrated state file and a second, raw connection to it that gives up at once when the file is locked. */
async function twoConnections(): Promise<{ file: string; other: Sqlite.Database }> {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-immediate-'));
  const file = join(dir, 'state.db');
  await (await openStateDb(file)).destroy();
  const other = new Sqlite(file);
  other.pragma('busy_timeout = 0');
  cleanups.push(() => {
    other.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { file, other };
}

const insertOther = (other: Sqlite.Database, id: string) =>
  other.prepare("INSERT INTO flows (id, document, deployed, alert_url, created_at, updated_at) VALUES (?, '{}', 0, NULL, 'now', 'now')").run(id);

/** A transaction that reads, lets the other connection try to commit, then writes. */
async function readThenWrite(db: StateDb, other: Sqlite.Database): Promise<{ otherWrite: unknown }> {
  let otherWrite: unknown = 'committed';
  await db.transaction().execute(async (tx) => {
    await listFlowRows(tx);
    try {
      insertOther(other, 'other');
    } catch (error) {
      otherWrite = (error as { code?: string }).code;
    }
    await insertFlowRow(tx, 'mine', '{}', 'now');
  });
  return { otherWrite };
}

describe('state transactions begin immediate', () => {
  it('take the write lock at begin, so a read-then-write transaction cannot be overtaken by another connection', async () => {
    const { file, other } = await twoConnections();
    const db = await openStateDb(file);
    cleanups.push(() => db.destroy());
    // The other connection waits for the lock (here: gives up at once) instead of invalidating this transaction.
    expect(await readThenWrite(db, other)).toEqual({ otherWrite: 'SQLITE_BUSY' });
    insertOther(other, 'other');
    expect((await listFlowRows(db)).map((row) => row.id).sort()).toEqual(['mine', 'other']);
  });

  it('are needed: begun deferred, the same transaction fails at its first write, which the busy handler does not retry', async () => {
    const { file, other } = await twoConnections();
    const sqlite = new Sqlite(file);
    sqlite.pragma('busy_timeout = 5000');
    const deferred = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    cleanups.push(() => deferred.destroy());
    await expect(readThenWrite(deferred, other)).rejects.toMatchObject({ code: 'SQLITE_BUSY_SNAPSHOT' });
  });

  it('wait for a lock held by another connection without stopping the event loop, then take it', async () => {
    const { file, other } = await twoConnections();
    const db = await openStateDb(file);
    cleanups.push(() => db.destroy());
    other.exec('begin immediate');
    let ticks = 0;
    const ticking = setInterval(() => ticks++, 1);
    const order: string[] = [];
    const transaction = db.transaction().execute(async (tx) => {
      order.push('locked');
      await insertFlowRow(tx, 'mine', '{}', 'now');
    });
    // The timer runs while the transaction waits: the thread is not asleep in SQLite's busy handler.
    while (ticks < 5) await new Promise((resolve) => setTimeout(resolve, 1));
    order.push('other commits');
    other.exec('commit');
    await transaction;
    clearInterval(ticking);
    expect(order).toEqual(['other commits', 'locked']);
    expect((await listFlowRows(db)).map((row) => row.id)).toEqual(['mine']);
    // The connection's busy timeout is back for the statements that follow.
    expect(Number((await sql`pragma busy_timeout`.execute(db)).rows.map((row) => Object.values(row as object)[0])[0])).toBe(5000);
  });
});
