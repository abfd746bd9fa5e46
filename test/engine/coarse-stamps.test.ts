import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../runtime/connectors/index';
import { openStateDb, type StateDb } from '../../runtime/db/index';
import { SyncEngine } from '../../runtime/engine/index';
import { leadsWorkspace } from './sqlite-fixtures';

// SQLite's CURRENT_TIMESTAMP, the usual default and trigger of an updated_at column, keeps whole seconds: two edits of
// one row within a second give it one version, and the second was dropped as seen at the cursor, never to arrive.
describe('a SQLite table stamped in whole seconds by its own program', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('carries each edit of a row made within one second of the last', async () => {
    const ws = leadsWorkspace();
    const db: StateDb = await openStateDb(':memory:');
    cleanups.push(() => rmSync(ws.dir, { recursive: true, force: true }), () => void ws.crm.close(), () => void ws.mkt.close(), () => db.destroy());
    const second = '2024-05-01 10:00:00';
    ws.crm.prepare('insert into leads (first_name, last_name, email, status, amount, updated_at) values (?, ?, ?, ?, ?, ?)').run('Ada', 'Lovelace', 'ada@example.com', 'open', 10, second);
    const engine = new SyncEngine({ db, connectors: connectorRegistry });
    cleanups.push(() => engine.close());
    const pass = async () => (await engine.runPass(ws.flow, { baseDir: ws.dir })).summary;
    expect(await pass()).toMatchObject({ created: 1, failed: 0 });
    for (const lastName of ['Byron', 'King']) {
      ws.crm.prepare('update leads set last_name = ?, updated_at = ? where email = ?').run(lastName, second, 'ada@example.com');
      expect(await pass()).toMatchObject({ updated: 1, failed: 0 });
      expect(ws.mkt.prepare('select name from contacts').pluck().all()).toEqual([`Ada ${lastName}`]);
    }
    expect(await pass()).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
  });
});
