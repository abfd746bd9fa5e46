import Sqlite from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { btreesInWal } from '../../test/support/wal';
import { openStateDb } from './index';
import { linksByEntity, upsertLinks } from './queries';
import type { LinkRow } from './schema';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function link(recordId: string, entityId: string, shadow: string): LinkRow {
  return { flow_id: 'f', node_id: 'a', record_id: recordId, entity_id: entityId, shadow, shadow_hash: null, version: null, deleted: 0, updated_at: 'now', written_tag: null, written_hash: null };
}

describe('upsertLinks', () => {
  it('saves links the caller knows stay with their entity without writing a page of links_by_entity, and moves the others', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'syncline-links-'));
    folders.push(folder);
    const path = join(folder, 'state.db');
    const db = await openStateDb(path);
    const entityOf = (index: number) => `entity-${String(index % 1000).padStart(6, '0')}`;
    await db.transaction().execute((tx) => upsertLinks(tx, Array.from({ length: 2000 }, (_, index) => link(String(index), entityOf(index), 'before'))));

    const file = new Sqlite(path);
    try {
      file.pragma('wal_checkpoint(TRUNCATE)');
      expect(file.prepare("select count(*) from dbstat where name = 'links_by_entity'").pluck().get()).toBeGreaterThan(5);

      // Every third link saved again with a new shadow, under the same entity, as the caller says it knows.
      const again = (shadow: string) =>
        Array.from({ length: 2000 }, (_, index) => index)
          .filter((index) => index % 3 === 0)
          .map((index) => link(String(index), entityOf(index), shadow));
      await db.transaction().execute((tx) => upsertLinks(tx, again('after'), () => true));
      const written = btreesInWal(file, path);
      expect(written.get('links')).toBeGreaterThan(0);
      expect(written.get('links_by_entity') ?? 0).toBe(0);

      // Not told, it sets every column: the index's pages are written again, even though no entity changed.
      file.pragma('wal_checkpoint(TRUNCATE)');
      await db.transaction().execute((tx) => upsertLinks(tx, again('again')));
      expect(btreesInWal(file, path).get('links_by_entity')).toBeGreaterThan(0);
    } finally {
      file.close();
    }

    // One link moved to another entity: found under that entity, with what it now says, and no longer under its old one.
    await db.transaction().execute((tx) => upsertLinks(tx, [link('7', 'entity-elsewhere', 'moved')]));
    expect((await linksByEntity(db, ['entity-elsewhere'])).map((row) => [row.record_id, row.shadow])).toEqual([['7', 'moved']]);
    expect((await linksByEntity(db, [entityOf(7)])).map((row) => row.record_id)).not.toContain('7');
    expect((await linksByEntity(db, [entityOf(3)])).find((row) => row.record_id === '3')?.shadow).toBe('again');
    await db.destroy();
  });
});
