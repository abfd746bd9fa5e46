import Sqlite from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
/**
 * Workspaces as the release before the page journal left them (made by test/fixtures/state-2026-12-04/make.ts.txt):
 * the leads flow with a tag column on the marketing side, 40 leads synced and listed back as echoes, then edits on
 * both sides, 10 new leads, and a `run --once` killed after its side writes: 10 creates and 7 updates journaled
 * `pending` in the old per-record journal, their records written but never linked. In the second, the conflict node
 * matches on nothing, so only the migrated journal can tell which unlinked record each create made.
 */
const fixtures = [
  ['matching on email', join(root, 'test/fixtures/state-2026-12-04')],
  ['matching on nothing', join(root, 'test/fixtures/state-2026-12-04-no-match')],
];

function runOnce(dir: string): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/syncline.mjs', 'run', join(dir, 'leads.flow.json'), '--once', '--state', join(dir, 'state.db')], { cwd: root }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`run --once failed: ${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1) as string) as Record<string, number>);
    });
  });
}

describe.each(fixtures)('a state file made by the release before the page journal, %s', (_name, fixture) => {
  it('migrates without loss: the interrupted pass is recovered without duplicates, the sides end equal, the next pass is quiet', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-migrate-'));
    cpSync(fixture, dir, { recursive: true });
    const marketing = () => new Sqlite(join(dir, 'marketing.db'), { readonly: true });
    const before = marketing();
    // The killed pass wrote its creates: 50 contacts, 10 of them linked to nothing.
    expect(before.prepare('select count(*) from contacts').pluck().get()).toBe(50);
    before.close();

    const recovered = await runOnce(dir);
    expect(recovered).toMatchObject({ created: 0, conflicts: 0, failed: 0 });

    const mkt = marketing();
    const crm = new Sqlite(join(dir, 'crm.db'), { readonly: true });
    const state = new Sqlite(join(dir, 'state.db'), { readonly: true });
    try {
      const contacts = mkt.prepare('select email, name from contacts order by email').all() as Array<{ email: string; name: string }>;
      expect(contacts).toHaveLength(50);
      expect(new Set(contacts.map((contact) => contact.email)).size).toBe(50);
      expect(crm.prepare("select email, first_name || ' ' || last_name as name from leads order by email").all()).toEqual(contacts);
      // The edits made on the marketing side before the crash reached the CRM and stayed on the marketing side.
      expect(contacts.filter((contact) => contact.name.startsWith('Renamed '))).toHaveLength(2);
      expect(state.prepare("select count(*) from sqlite_master where name = 'write_journal'").pluck().get()).toBe(0);
      expect(state.prepare('select count(*) from write_ahead').pluck().get()).toBe(0);
      expect(state.prepare('select count(*) from links').pluck().get()).toBe(100);
      expect(state.prepare('select count(*) from failing_records').pluck().get()).toBe(0);
      expect(state.prepare('select count(*) from conflicts').pluck().get()).toBe(0);
    } finally {
      mkt.close();
      crm.close();
      state.close();
    }

    // The recovering pass's own writes come back once as echoes; after that nothing at all.
    expect(await runOnce(dir)).toMatchObject({ created: 0, updated: 0, deleted: 0, conflicts: 0, failed: 0 });
    expect(await runOnce(dir)).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
  }, 120_000);
});
