import Sqlite from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { folderAccess } from '../../runtime/connectors/access';
import { sqliteConnector } from '../../runtime/connectors/sqlite/index';
import { silentLogger } from '../../runtime/observability/logger';
import { DEMO_FLOW_ID, installDemoIfFirstStart, writeDemoDatabases } from '../../runtime/demo/install';
import { auth, testRuntime, type TestRuntime } from './support';

let t: TestRuntime;
const noCredentials = (name: string) => Promise.reject(new Error(`no credential ${name}`));
afterEach(async () => t?.close());

describe('the demo', () => {
  it('installs two databases and the leads flow, deployed, with one conflict waiting after the first pass', async () => {
    t = await testRuntime();
    expect(await installDemoIfFirstStart(t.runtime, t.dir, silentLogger())).toBe(true);
    expect(await (await t.request('/api/flows', { headers: auth })).json()).toEqual([{ id: DEMO_FLOW_ID, name: 'Leads: CRM <-> Marketing', deployed: true }]);
    const first = (await (await t.post(`/api/flows/${DEMO_FLOW_ID}/run`)).json()) as { status: string; summary: Record<string, number> };
    expect(first.status).toBe('ok');
    expect(first.summary.created).toBeGreaterThan(300);
    expect(first.summary.conflicts).toBe(1);
    expect(first.summary.failed).toBe(0);
    const conflicts = (await (await t.request(`/api/conflicts?flow=${DEMO_FLOW_ID}`, { headers: auth })).json()) as Array<{ field: string }>;
    expect(conflicts).toEqual([expect.objectContaining({ field: 'name', kind: 'field' })]);
    const second = (await (await t.post(`/api/flows/${DEMO_FLOW_ID}/run`)).json()) as { summary: Record<string, number> };
    expect(second.summary.echoes).toBeGreaterThan(0);

    // Not twice: the demo belongs to the first start only.
    expect(await installDemoIfFirstStart(t.runtime, t.dir, silentLogger())).toBe(false);
  });

  it('never gives a deleted person\'s id to someone added after, so the sync cannot take one for the other', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-demo-'));
    try {
      writeDemoDatabases(dir);
      for (const [file, table, columns] of [['crm.db', 'leads', 'first_name, updated_at'], ['marketing.db', 'contacts', 'name, modified_at']] as const) {
        const db = new Sqlite(join(dir, file));
        try {
          const last = db.prepare(`SELECT max(id) FROM ${table}`).pluck().get() as number;
          db.prepare(`DELETE FROM ${table} WHERE id = ?`).run(last);
          const added = db.prepare(`INSERT INTO ${table} (${columns}) VALUES ('Barbara', '2026-01-01T00:00:00.000Z')`).run();
          expect(Number(added.lastInsertRowid), `${file} ${table}`).toBeGreaterThan(last);
        } finally {
          db.close();
        }
      }
      // And the connector, which warns of a table that would reuse them, has nothing to say about the demo's.
      const described = await sqliteConnector.describeConnection({ connection: { file: 'crm.db' }, baseDir: dir, resolveCredential: noCredentials, access: folderAccess(dir) });
      const marketing = await sqliteConnector.describeConnection({ connection: { file: 'marketing.db' }, baseDir: dir, resolveCredential: noCredentials, access: folderAccess(dir) });
      expect([...described, ...marketing].flatMap((table) => table.warnings ?? [])).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps its databases to the owner (0600), like the state beside them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-demo-'));
    try {
      writeDemoDatabases(dir);
      for (const name of ['crm.db', 'marketing.db', 'crm.db-wal', 'marketing.db-wal']) {
        if (existsSync(join(dir, name))) expect(statSync(join(dir, name)).mode & 0o777, name).toBe(0o600);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
