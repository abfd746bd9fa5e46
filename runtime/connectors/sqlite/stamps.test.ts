import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { folderAccess } from '../access';
import { sqliteConnector } from './index';
import { parseTimestampMs, isoTextFormat } from '../timestamps';

describe('sqlite write stamps', () => {
  it('an update moves the version past the record’s own stamp, even one ahead of this clock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-stamps-'));
    const db = new Database(join(dir, 'crm.db'));
    const ahead = new Date(Date.now() + 60_000).toISOString();
    db.exec(`create table leads (id integer primary key, name text, updated_at text); insert into leads (name, updated_at) values ('a', '${ahead}')`);
    db.close();
    const connector = await sqliteConnector.open({
      config: { connector: 'sqlite', connection: { file: 'crm.db' }, collection: 'leads', key: 'id', updatedAt: 'updated_at', detect: { mode: 'manual' }, write: { create: true, update: true, delete: true } },
      baseDir: dir,
      resolveCredential: async () => '',
      access: folderAccess(dir),
    });
    try {
      const [result] = await connector.write([{ kind: 'update', id: '1', fields: { name: 'b' }, tag: 't', expectedVersion: ahead }]);
      expect(result).toMatchObject({ ok: true });
      const version = (result as { version: string }).version;
      expect(version > ahead).toBe(true);
    } finally {
      await connector.close();
    }
  });

  it('reads stamps back in each representation', () => {
    expect(parseTimestampMs('2026-01-01T00:00:00.250Z', isoTextFormat)).toBe(Date.parse('2026-01-01T00:00:00.250Z'));
    expect(parseTimestampMs('2026-01-01 01:00:00+01:00', { kind: 'text', separator: ' ', fractionDigits: 3, zoneSuffix: '+01:00', offsetMinutes: 60 })).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(parseTimestampMs(1_700_000_000, { kind: 'epochSeconds', fractional: false })).toBe(1_700_000_000_000);
    expect(parseTimestampMs(1_700_000_000_123, { kind: 'epochMs' })).toBe(1_700_000_000_123);
    expect(parseTimestampMs('yesterday', isoTextFormat)).toBeNull();
  });
});
