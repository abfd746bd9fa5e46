import Sqlite from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadFlow } from '../../nodes/flow/load';
import { connectorRegistry } from '../../runtime/connectors/index';
import { openStateDb, type StateDb } from '../../runtime/db/index';
import { SyncEngine } from '../../runtime/engine/index';
import { tick } from './sqlite-fixtures';

// A SQLite JSON column holds a nested object as one value: a write that changes one of its leaves must keep the others.
describe('a nested leaf written to a system that stores the object whole', () => {
  let db: StateDb | undefined;
  afterEach(async () => db?.destroy());

  it('keeps the keys the flow does not map', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-json-'));
    const crm = new Sqlite(join(dir, 'crm.db'));
    crm.exec('create table people (id integer primary key, email text, profile json, updated_at text)');
    const flat = new Sqlite(join(dir, 'flat.db'));
    flat.exec('create table people (id integer primary key, email text, first_name text, updated_at text)');
    crm.prepare('insert into people (email, profile, updated_at) values (?, ?, ?)').run('ada@example.com', JSON.stringify({ first_name: 'Ada', notes: 'keep me', score: 3 }), tick());
    const trigger = (id: string, file: string) => ({
      id,
      type: 'trigger',
      typeVersion: 1,
      position: { x: 0, y: 0 },
      config: { connector: 'sqlite', connection: { file }, collection: 'people', key: 'id', updatedAt: 'updated_at', detect: { mode: 'manual' } },
    });
    const { document, issues } = loadFlow({
      format: 'syncline.flow',
      version: 1,
      id: 'json-columns',
      name: 'JSON columns',
      nodes: [
        trigger('crm', 'crm.db'),
        { id: 'map', type: 'mapping', typeVersion: 1, position: { x: 0, y: 100 }, config: { fields: [{ left: 'email', right: 'email', direction: 'both' }, { left: 'profile.first_name', right: 'first_name', direction: 'both' }] } },
        { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 0, y: 200 }, config: { policy: 'last-write-wins', match: ['email'], deletes: 'propagate' } },
        trigger('flat', 'flat.db'),
      ],
      edges: [
        { id: 'e1', source: 'crm', target: 'map' },
        { id: 'e2', source: 'map', target: 'hub' },
        { id: 'e3', source: 'hub', target: 'flat' },
      ],
    });
    if (!document) throw new Error(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
    db = await openStateDb(':memory:');
    const engine = new SyncEngine({ db, connectors: connectorRegistry });
    expect((await engine.runPass(document, { baseDir: dir })).summary).toMatchObject({ created: 1, failed: 0 });

    flat.prepare("update people set first_name = 'Augusta', updated_at = ? where email = 'ada@example.com'").run(tick());
    expect((await engine.runPass(document, { baseDir: dir })).summary).toMatchObject({ updated: 1, failed: 0 });
    const profile = JSON.parse(crm.prepare("select profile from people where email = 'ada@example.com'").pluck().get() as string) as unknown;
    expect(profile).toEqual({ first_name: 'Augusta', notes: 'keep me', score: 3 });
    crm.close();
    flat.close();
  });
});
