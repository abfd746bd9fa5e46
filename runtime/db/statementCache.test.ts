import Sqlite from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { openStateDb } from './index';
import { cachingStatements } from './statementCache';

describe('cachingStatements', () => {
  it('prepares each short statement once and evicts the least recently used', () => {
    const sqlite = new Sqlite(':memory:');
    const prepare = vi.spyOn(sqlite, 'prepare');
    const cached = cachingStatements(sqlite, 2);
    cached.prepare('SELECT 1');
    cached.prepare('SELECT 2');
    cached.prepare('SELECT 1');
    expect(prepare).toHaveBeenCalledTimes(2);
    cached.prepare('SELECT 3'); // evicts SELECT 2, the least recently used
    cached.prepare('SELECT 1');
    expect(prepare).toHaveBeenCalledTimes(3);
    cached.prepare('SELECT 2');
    expect(prepare).toHaveBeenCalledTimes(4);
    cached.close();
    expect(sqlite.open).toBe(false);
  });

  it('keeps long multi-row inserts apart from the short statements, and prepares other long statements each time', () => {
    const sqlite = new Sqlite(':memory:');
    sqlite.exec('create table t (a)');
    const prepare = vi.spyOn(sqlite, 'prepare');
    const cached = cachingStatements(sqlite, 1);
    const insert = `insert into t (a) values ${Array.from({ length: 600 }, () => '(?)').join(', ')}`;
    const select = `select a from t where a in (${Array.from({ length: 800 }, () => '?').join(', ')})`;
    cached.prepare(insert);
    cached.prepare('SELECT 1');
    cached.prepare('SELECT 2');
    cached.prepare(insert);
    expect(prepare).toHaveBeenCalledTimes(3);
    cached.prepare(select);
    cached.prepare(select);
    expect(prepare).toHaveBeenCalledTimes(5);
    cached.close();
    expect(sqlite.open).toBe(false);
  });

  it('runs the migrated state DB through Kysely', async () => {
    const db = await openStateDb(':memory:');
    await db.insertInto('credentials').values({ name: 'n', type: 't', value_encrypted: 'x', created_at: 'now' }).execute();
    expect(await db.selectFrom('credentials').select('name').execute()).toEqual([{ name: 'n' }]);
    expect(await db.selectFrom('credentials').select('name').execute()).toEqual([{ name: 'n' }]);
    await db.destroy();
  });
});
