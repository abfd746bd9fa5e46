import Sqlite from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../runtime/connectors/index';
import { createMemoryStore } from '../../runtime/connectors/memory/index';
import { openStateDb } from '../../runtime/db/index';
import { SyncEngine } from '../../runtime/engine/index';
import { btreesInWal } from '../support/wal';
import { hubFlow } from './memory-flows';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

// A change rewrites its entity's row, which holds its links' shadows, versions and write marks
// (runtime/db/entitySides.ts): the narrow rows that find and count links say the same as before and are not written.
describe('what a pass of changes writes to the state', () => {
  it('saves the links of changed records in their entities’ rows, without a page of links or of their index', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'syncline-state-writes-'));
    folders.push(folder);
    const path = join(folder, 'state.db');
    const store = createMemoryStore('state-writes');
    const a = store.createCollection('a');
    store.createCollection('b');
    const ids = Array.from({ length: 300 }, (_, index) => a.insert({ email: `p${index}@example.com`, name: `Person ${index}` }));
    const db = await openStateDb(path);
    const engine = new SyncEngine({ db, connectors: connectorRegistry });
    const flow = hubFlow('state-writes', { sides: ['a', 'b'] });
    const pass = () => engine.runPass(flow, { baseDir: folder });
    const file = new Sqlite(path);
    try {
      expect((await pass()).summary).toMatchObject({ created: 300, failed: 0 });
      await pass();
      file.pragma('wal_checkpoint(TRUNCATE)');

      for (const id of ids.filter((_, index) => index % 3 === 0)) a.update(id, { name: `Changed ${id}` });
      expect((await pass()).summary).toMatchObject({ updated: 100, created: 0, failed: 0 });
      const written = btreesInWal(file, path);
      expect(written.get('entities')).toBeGreaterThan(0);
      expect(written.get('links') ?? 0).toBe(0);
      expect(written.get('links_by_entity') ?? 0).toBe(0);
    } finally {
      file.close();
      await engine.close();
      await db.destroy();
    }
  });
});
