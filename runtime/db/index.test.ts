import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openStateDb } from './index';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe('a state file as the runtime opens it', () => {
  it('is migrated, in WAL with NORMAL syncing, and keeps statement journals in memory', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'syncline-state-open-'));
    folders.push(folder);
    const db = await openStateDb(join(folder, 'state.db'));
    try {
      const pragma = async (name: string) => Object.values((await sql.raw(`pragma ${name}`).execute(db)).rows[0] as Record<string, unknown>)[0];
      // journal_mode wal; synchronous 1 = NORMAL; temp_store 2 = MEMORY (set after the migrations: index.ts).
      expect([await pragma('journal_mode'), await pragma('synchronous'), await pragma('temp_store')]).toEqual(['wal', 1, 2]);
      expect((await sql<{ name: string }>`select name from kysely_migration`.execute(db)).rows.length).toBeGreaterThan(0);
    } finally {
      await db.destroy();
    }
  });
});
