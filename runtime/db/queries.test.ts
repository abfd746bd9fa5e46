import Sqlite from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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

/** The pages the WAL holds frames of: each frame is a 24-byte header (its page number first) and a page. */
function pagesInWal(path: string, pageSize: number): Set<number> {
  const wal = readFileSync(`${path}-wal`);
  const pages = new Set<number>();
  for (let offset = 32; offset + 24 + pageSize <= wal.length; offset += 24 + pageSize) pages.add(wal.readUInt32BE(offset));
  return pages;
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
      const pageSize = file.pragma('page_size', { simple: true }) as number;
      const indexPages = new Set(file.prepare("select pageno from dbstat where name = 'links_by_entity'").pluck().all() as number[]);
      expect(indexPages.size).toBeGreaterThan(5);

      // Every third link saved again with a new shadow, under the same entity, as the caller says it knows.
      const again = (shadow: string) =>
        Array.from({ length: 2000 }, (_, index) => index)
          .filter((index) => index % 3 === 0)
          .map((index) => link(String(index), entityOf(index), shadow));
      await db.transaction().execute((tx) => upsertLinks(tx, again('after'), () => true));
      const written = pagesInWal(path, pageSize);
      expect(written.size).toBeGreaterThan(0);
      expect([...written].filter((page) => indexPages.has(page))).toEqual([]);

      // Not told, it sets every column: the index's pages are written again, even though no entity changed.
      file.pragma('wal_checkpoint(TRUNCATE)');
      await db.transaction().execute((tx) => upsertLinks(tx, again('again')));
      expect([...pagesInWal(path, pageSize)].filter((page) => indexPages.has(page)).length).toBeGreaterThan(0);
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
