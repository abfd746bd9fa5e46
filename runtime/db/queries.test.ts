import Sqlite from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { btreesInWal } from '../../test/support/wal';
import { openStateDb } from './index';
import { clearWrittenMarks, deleteLinks, linksByEntity, linksByRecord, markLinksDeleted, upsertLinks, type Db } from './queries';
import type { LinkRow } from './schema';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function link(recordId: string, entityId: string, shadow: string, written: { tag: string; hash: string } | null = null): LinkRow {
  return { flow_id: 'f', node_id: 'a', record_id: recordId, entity_id: entityId, shadow, shadow_hash: null, version: null, deleted: 0, updated_at: 'now', written_tag: written?.tag ?? null, written_hash: written?.hash ?? null };
}

async function withEntities(db: Db, ids: readonly string[]): Promise<void> {
  const entity = (id: string) => ({ id, flow_id: 'f', golden: '{}', match_key: null, deleted: 0, breaker_window_start: null, breaker_writes: 0, quarantined: 0, created_at: 'x', updated_at: 'x' });
  for (let start = 0; start < ids.length; start += 500) await db.insertInto('entities').values(ids.slice(start, start + 500).map(entity)).execute();
}

describe('upsertLinks', () => {
  it('saves links already under their entity in the entity’s row alone, and writes the narrow rows of new and moved links', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'syncline-links-'));
    folders.push(folder);
    const path = join(folder, 'state.db');
    const db = await openStateDb(path);
    const entityOf = (index: number) => `entity-${String(index % 1000).padStart(6, '0')}`;
    await withEntities(db, [...Array.from({ length: 1000 }, (_, index) => entityOf(index)), 'entity-elsewhere']);
    await db.transaction().execute((tx) => upsertLinks(tx, Array.from({ length: 2000 }, (_, index) => link(String(index), entityOf(index), 'before'))));

    const file = new Sqlite(path);
    try {
      file.pragma('wal_checkpoint(TRUNCATE)');
      expect(file.prepare("select count(*) from dbstat where name = 'links'").pluck().get()).toBeGreaterThan(5);

      // Every third link saved again with a new shadow, under the same entity.
      const again = Array.from({ length: 2000 }, (_, index) => index)
        .filter((index) => index % 3 === 0)
        .map((index) => link(String(index), entityOf(index), 'after'));
      await db.transaction().execute((tx) => upsertLinks(tx, again));
      const written = btreesInWal(file, path);
      expect(written.get('entities')).toBeGreaterThan(0);
      expect(written.get('links') ?? 0).toBe(0);
      expect(written.get('links_by_entity') ?? 0).toBe(0);

      // A new link writes its narrow row.
      file.pragma('wal_checkpoint(TRUNCATE)');
      await db.transaction().execute((tx) => upsertLinks(tx, [link('new', entityOf(1), 'new')]));
      expect(btreesInWal(file, path).get('links')).toBeGreaterThan(0);
    } finally {
      file.close();
    }

    // One link moved to another entity: found under that entity, with what it now says, and no longer under its old one.
    await db.transaction().execute((tx) => upsertLinks(tx, [link('7', 'entity-elsewhere', 'moved')]));
    expect((await linksByEntity(db, ['entity-elsewhere'])).map((row) => [row.record_id, row.shadow])).toEqual([['7', 'moved']]);
    expect((await linksByEntity(db, [entityOf(7)])).map((row) => row.record_id)).not.toContain('7');
    expect((await linksByRecord(db, 'f', 'a', ['7'])).map((row) => row.entity_id)).toEqual(['entity-elsewhere']);
    expect((await linksByEntity(db, [entityOf(3)])).find((row) => row.record_id === '3')?.shadow).toBe('after');
    await db.destroy();
  });

  it('keeps the mark of the last write through saves that carry none, across a move, until it is cleared', async () => {
    const db = await openStateDb(':memory:');
    await withEntities(db, ['e1', 'e2']);
    await upsertLinks(db, [link('1', 'e1', 'written', { tag: 't1', hash: 'h1' })]);
    await upsertLinks(db, [link('1', 'e1', 'read again')]);
    const [kept] = await linksByRecord(db, 'f', 'a', ['1']);
    expect(kept).toMatchObject({ shadow: 'read again', written_tag: 't1', written_hash: 'h1' });

    await upsertLinks(db, [link('1', 'e2', 'moved')]);
    expect(await linksByEntity(db, ['e1'])).toEqual([]);
    expect(await linksByEntity(db, ['e2'])).toEqual([{ ...link('1', 'e2', 'moved'), written_tag: 't1', written_hash: 'h1' }]);

    await clearWrittenMarks(db, 'f', 'a', ['1']);
    expect(await linksByRecord(db, 'f', 'a', ['1'])).toEqual([link('1', 'e2', 'moved')]);
    await db.destroy();
  });

  it('tombstones and deletes a link in its narrow row and its entity’s row alike', async () => {
    const db = await openStateDb(':memory:');
    await withEntities(db, ['e1']);
    await upsertLinks(db, [link('1', 'e1', 'one'), link('2', 'e1', 'two')]);
    await markLinksDeleted(db, 'f', 'a', ['1']);
    await deleteLinks(db, 'f', 'a', ['2']);
    expect(await linksByEntity(db, ['e1'])).toEqual([{ ...link('1', 'e1', 'one'), deleted: 1 }]);
    expect(await db.selectFrom('links').selectAll().execute()).toEqual([{ flow_id: 'f', node_id: 'a', record_id: '1', entity_id: 'e1', deleted: 1 }]);
    // Saved live again, the narrow row follows.
    await upsertLinks(db, [link('1', 'e1', 'back')]);
    expect(await db.selectFrom('links').select(['deleted']).execute()).toEqual([{ deleted: 0 }]);
    await db.destroy();
  });
});
