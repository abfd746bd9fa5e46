import Sqlite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrateUpTo, migrateToLatest, openStateDb, wrapSqlite, type StateDb } from './index';
import { liveLinkIdsAfter, shadowDigests, storeShadowHashes } from './snapshotQueries';
import { upsertLinks } from './queries';
import type { Database, LinkRow } from './schema';
import { changeStoredLinks, storedLinks } from '../../test/support/links';

async function withLinks(): Promise<StateDb> {
  const db = await openStateDb(':memory:');
  const link = (recordId: string, more: Partial<LinkRow> = {}): LinkRow => ({
    flow_id: 'f',
    node_id: 'b',
    record_id: recordId,
    entity_id: `e${recordId}`,
    shadow: JSON.stringify({ name: recordId }),
    shadow_hash: `h${recordId}`,
    version: null,
    deleted: 0,
    updated_at: 'x',
    written_tag: null,
    written_hash: null,
    ...more,
  });
  const links = [
    link('1', { written_tag: 't1', written_hash: 'w1' }),
    link('2', { shadow_hash: null }),
    link('3', { deleted: 1 }),
    link('4', { written_tag: 't3', written_hash: 'w3' }),
    link('1', { node_id: 'a' }),
    link('9', { flow_id: 'other' }),
  ];
  const entity = (id: string, flowId: string) => ({ id, flow_id: flowId, golden: '{}', match_key: null, deleted: 0, breaker_window_start: null, breaker_writes: 0, quarantined: 0, created_at: 'x', updated_at: 'x' });
  await db.insertInto('entities').values(['1', '2', '3', '4'].map((id) => entity(`e${id}`, 'f'))).execute();
  await db.insertInto('entities').values(entity('e9', 'other')).execute();
  await upsertLinks(db, links);
  return db;
}

describe('snapshot queries', () => {
  it('give each link its shadow hash, the shadow only where the hash is missing, and the last write made to it', async () => {
    const db = await withLinks();
    const digests = await shadowDigests(db, 'f', 'b', ['1', '2', '3', '4', '5']);
    expect(Object.fromEntries(digests)).toEqual({
      '1': { entityId: 'e1', live: true, hash: 'h1', shadow: null, written: { tag: 't1', hash: 'w1' } },
      '2': { entityId: 'e2', live: true, hash: null, shadow: '{"name":"2"}', written: null },
      '3': { entityId: 'e3', live: false, hash: 'h3', shadow: null, written: null },
      '4': { entityId: 'e4', live: true, hash: 'h4', shadow: null, written: { tag: 't3', hash: 'w3' } },
    });
    expect((await shadowDigests(db, 'f', 'a', ['1'])).get('1')?.written).toBeNull();
    await db.destroy();
  });

  it('store a hash only while the shadow is still the one hashed', async () => {
    const db = await withLinks();
    await storeShadowHashes(db, 'f', 'b', [
      { recordId: '2', shadow: '{"name":"2"}', hash: 'fresh' },
      // Another pass replaced this shadow (and its hash) meanwhile: nothing is stored over it.
      { recordId: '1', shadow: '{"name":"1"}', hash: 'stale' },
    ]);
    await changeStoredLinks(db, (link) => (link.node_id === 'b' && link.record_id === '4' ? { shadow: '{"name":"changed"}', shadow_hash: null } : null));
    await storeShadowHashes(db, 'f', 'b', [{ recordId: '4', shadow: '{"name":"4"}', hash: 'stale' }]);
    const rows = (await storedLinks(db, { flowId: 'f', nodeId: 'b' })).map((row) => ({ record_id: row.record_id, shadow_hash: row.shadow_hash }));
    expect(rows).toEqual([
      { record_id: '1', shadow_hash: 'h1' },
      { record_id: '2', shadow_hash: 'fresh' },
      { record_id: '3', shadow_hash: 'h3' },
      { record_id: '4', shadow_hash: null },
    ]);
    await db.destroy();
  });

  it('walk the live links of one side in id order, a page at a time', async () => {
    const db = await withLinks();
    expect(await liveLinkIdsAfter(db, 'f', 'b', null, 2)).toEqual(['1', '2']);
    expect(await liveLinkIdsAfter(db, 'f', 'b', '2', 2)).toEqual(['4']);
    expect(await liveLinkIdsAfter(db, 'f', 'b', '4', 2)).toEqual([]);
    await db.destroy();
  });

  it('a state made before shadows were hashed migrates with every link as it was, its hash not taken yet', async () => {
    const sqlite = new Sqlite(':memory:');
    const db = wrapSqlite<Database>(sqlite);
    await migrateUpTo(db, '2026_12_02_0800_credential_types');
    sqlite.prepare(`insert into entities (id, flow_id, golden, match_key, deleted, breaker_writes, quarantined, created_at, updated_at) values ('e', 'f', '{}', null, 0, 0, 0, 'x', 'x')`).run();
    sqlite.prepare(`insert into links (flow_id, node_id, record_id, entity_id, shadow, version, deleted, updated_at) values ('f', 'b', '1', 'e', '{"a":1}', '3', 0, 'x')`).run();
    await migrateToLatest(db);
    expect(await storedLinks(db)).toEqual([
      { flow_id: 'f', node_id: 'b', record_id: '1', entity_id: 'e', shadow: '{"a":1}', shadow_hash: null, version: '3', deleted: 0, updated_at: 'x', written_tag: null, written_hash: null },
    ]);
    await db.destroy();
  });
});
