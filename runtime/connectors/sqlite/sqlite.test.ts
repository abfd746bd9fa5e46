import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../../nodes/types';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { runConnectorContract, type ContractFixture, type ExternalEditor } from '../../../test/connector-contract';
import { AccessRefusedError, folderAccess, runtimeFilesIn, type ConnectorAccess } from '../access';
import { ConnectorError, type Connector, type ListPosition, type SourceRecord, type WriteOp, type WriteResult } from '../types';
import { sqliteConnector, type TableDescription } from './index';

const temporaryFolders: string[] = [];

function makeFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'syncline-sqlite-'));
  temporaryFolders.push(folder);
  return folder;
}

function makeDatabase(folder: string, file: string, sql: string): string {
  const path = join(folder, file);
  const db = new Database(path);
  db.exec(sql);
  db.close();
  return path;
}

/** Opens a collection with the flow in `folder`; by default a flow may open files in that folder only. */
function open(folder: string, config: Record<string, unknown>, access: ConnectorAccess = folderAccess(folder)): Promise<Connector> {
  const parsed = triggerConfigSchema.parse({ connector: 'sqlite', key: 'id', ...config });
  return sqliteConnector.open({ config: parsed, baseDir: folder, resolveCredential: () => Promise.reject(new Error('no credentials in tests')), access });
}

function cleanUp(): void {
  for (const folder of temporaryFolders.splice(0)) rmSync(folder, { recursive: true, force: true });
}

interface ExternalTable {
  table: string;
  key: string;
  /** `rowid`: the database assigns keys; `uuid`: the editor makes them up, as an application would. */
  keys: 'rowid' | 'uuid';
  updatedAt?: { column: string; as: 'iso' | 'epochMs' };
  deletedFlag?: string;
}

/**
 * Another program writing the same file through its own connection. Its stamps are real times later than anything in
 * the table, as a person editing after the last sync would make them.
 */
function externalEditor(path: string, spec: ExternalTable): ExternalEditor & { db: Database.Database } {
  const db = new Database(path);
  const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const keyValue = (id: string): string | number => (spec.keys === 'rowid' ? Number(id) : id);
  const stamp = (): Record<string, unknown> => {
    if (!spec.updatedAt) return {};
    const newest = db.prepare(`SELECT max(${q(spec.updatedAt.column)}) FROM ${q(spec.table)}`).pluck().get() as string | number | null;
    const newestMs = newest === null ? 0 : typeof newest === 'number' ? newest : Date.parse(newest);
    while (Date.now() <= newestMs) {
      // Wait out the millisecond: the next stamp must be later, as a real later edit would be.
    }
    const now = Date.now();
    return { [spec.updatedAt.column]: spec.updatedAt.as === 'iso' ? new Date(now).toISOString() : BigInt(now) };
  };
  const insertWith = (fields: FlowRecord, stamped: Record<string, unknown>): string => {
    const row: Record<string, unknown> = { ...fields, ...stamped };
    if (spec.keys === 'uuid') row[spec.key] = randomUUID();
    const names = Object.keys(row);
    const info = db
      .prepare(`INSERT INTO ${q(spec.table)} (${names.map(q).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`)
      .run(...names.map((name) => row[name]));
    return spec.keys === 'rowid' ? String(info.lastInsertRowid) : (row[spec.key] as string);
  };
  const updateWith = (id: string, values: Record<string, unknown>): void => {
    const names = Object.keys(values);
    const info = db
      .prepare(`UPDATE ${q(spec.table)} SET ${names.map((name) => `${q(name)} = ?`).join(', ')} WHERE ${q(spec.key)} = ?`)
      .run(...names.map((name) => values[name]), keyValue(id));
    if (info.changes !== 1) throw new Error(`external update of ${id} changed ${info.changes} rows`);
  };
  const editor: ExternalEditor & { db: Database.Database } = {
    db,
    insert: async (fields) => insertWith(fields, stamp()),
    insertAtOneVersion: async (records) => {
      const stamped = stamp();
      return db.transaction(() => records.map((fields) => insertWith(fields, stamped)))();
    },
    update: async (id, fields) => updateWith(id, { ...fields, ...stamp() }),
    delete: async (id) => {
      db.prepare(`DELETE FROM ${q(spec.table)} WHERE ${q(spec.key)} = ?`).run(keyValue(id));
    },
  };
  const flag = spec.deletedFlag;
  if (flag) editor.softDelete = async (id) => updateWith(id, { [flag]: 1, ...stamp() });
  return editor;
}

interface ContractVariant {
  table: string;
  ddl: string;
  config: { key: string; updatedAt?: string; tagColumn?: string; deletedFlag?: string };
  external: ExternalTable;
}

function contractSetup(variant: ContractVariant) {
  return async (): Promise<ContractFixture> => {
    const folder = makeFolder();
    const path = makeDatabase(folder, 'contract.db', variant.ddl);
    const connector = await open(folder, { connection: { file: 'contract.db' }, collection: variant.table, ...variant.config });
    const external = externalEditor(path, variant.external);
    return {
      connector,
      collection: variant.table,
      bookkeeping: Object.values(variant.config),
      softDeletes: variant.config.deletedFlag !== undefined,
      external,
      teardown: async () => {
        await connector.close();
        external.db.close();
      },
    };
  };
}

afterEach(cleanUp);

runConnectorContract(
  'sqlite (INTEGER PRIMARY KEY, ISO-8601 updated_at, tag column, soft deletes)',
  contractSetup({
    table: 'leads',
    ddl: `CREATE TABLE leads (id INTEGER PRIMARY KEY, email TEXT, name TEXT, score REAL, updated_at TEXT, sync_tag TEXT, is_deleted INTEGER NOT NULL DEFAULT 0);
          CREATE INDEX leads_updated_at ON leads (updated_at);
          CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);`,
    config: { key: 'id', updatedAt: 'updated_at', tagColumn: 'sync_tag', deletedFlag: 'is_deleted' },
    external: { table: 'leads', key: 'id', keys: 'rowid', updatedAt: { column: 'updated_at', as: 'iso' }, deletedFlag: 'is_deleted' },
  }),
);

runConnectorContract(
  'sqlite (text key, epoch-millisecond modified, no tag, hard deletes, no index)',
  contractSetup({
    table: 'contacts',
    ddl: `CREATE TABLE contacts (uid TEXT PRIMARY KEY, email TEXT, name TEXT, score REAL, modified INTEGER)`,
    config: { key: 'uid', updatedAt: 'modified' },
    external: { table: 'contacts', key: 'uid', keys: 'uuid', updatedAt: { column: 'modified', as: 'epochMs' } },
  }),
);

runConnectorContract(
  'sqlite (no updatedAt: full listings, unconditional writes)',
  contractSetup({
    table: 'people',
    ddl: `CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, name TEXT, score REAL)`,
    config: { key: 'id' },
    external: { table: 'people', key: 'id', keys: 'rowid' },
  }),
);

describe('sqlite connector', () => {
  let folder: string;
  beforeEach(() => {
    folder = makeFolder();
  });

  const leadsTable = `CREATE TABLE leads (id INTEGER PRIMARY KEY, email TEXT, name TEXT, score REAL, updated_at TEXT, sync_tag TEXT)`;

  function read(path: string, sql: string, ...params: unknown[]): unknown[] {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare(sql).all(...params);
    } finally {
      db.close();
    }
  }

  async function listAll(connector: Connector, limit: number, from: ListPosition = { since: null, afterId: null }): Promise<SourceRecord[]> {
    const records: SourceRecord[] = [];
    for (let position: ListPosition | null = from; position; ) {
      const page = await connector.listSince(position, limit);
      records.push(...page.records);
      position = page.next;
    }
    return records;
  }

  describe('connection and schema checks', () => {
    it('checks that connection.file names a file', () => {
      expect(sqliteConnector.checkConnection({ file: 'crm.db' })).toEqual([]);
      expect(sqliteConnector.checkConnection({ file: 'crm.db', busyTimeoutMs: 100 })).toEqual([]);
      expect(sqliteConnector.checkConnection({})).toEqual([{ path: ['file'], message: expect.stringContaining('SQLite database file') }]);
      expect(sqliteConnector.checkConnection({ file: '  ' })).toHaveLength(1);
      expect(sqliteConnector.checkConnection({ file: 3 })).toHaveLength(1);
      expect(sqliteConnector.checkConnection({ file: 'a.db', busyTimeoutMs: -1 })).toEqual([{ path: ['busyTimeoutMs'], message: expect.any(String) }]);
      expect(sqliteConnector.checkConnection({ file: 'a.db', url: 'x' })).toEqual([
        { path: ['url'], message: 'is not a sqlite connection option; known options: file, busyTimeoutMs, journalMode' },
      ]);
      expect(sqliteConnector.checkConnection({ file: 'a.db', journalMode: 'wal' })).toEqual([]);
      expect(sqliteConnector.checkConnection({ file: 'a.db', journalMode: 'off' })).toEqual([{ path: ['journalMode'], message: 'must be one of wal, delete, truncate, persist' }]);
    });

    it('refuses a missing file with its full path, and does not create it', async () => {
      const error = await open(folder, { connection: { file: 'missing.db' }, collection: 'leads' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConnectorError);
      expect((error as Error).message).toBe(`SQLite database file not found: ${join(folder, 'missing.db')}`);
      expect(existsSync(join(folder, 'missing.db'))).toBe(false);
    });

    it('refuses a file that is not a SQLite database', async () => {
      writeFileSync(join(folder, 'notes.db'), 'just some text, long enough to look like a header of a database file'.repeat(20));
      await expect(open(folder, { connection: { file: 'notes.db' }, collection: 'leads' })).rejects.toThrow(/cannot (open|read) SQLite database .*notes\.db/);
    });

    it('resolves a relative file against the flow folder and accepts an absolute one in an allowed folder', async () => {
      const path = makeDatabase(folder, 'crm.db', leadsTable);
      await (await open(folder, { connection: { file: 'crm.db' }, collection: 'leads' })).close();
      await (await open('/nonexistent-flow-folder', { connection: { file: path }, collection: 'leads' }, folderAccess(folder))).close();
    });

    it('names the tables there are when the collection is not one of them', async () => {
      makeDatabase(folder, 'crm.db', `${leadsTable}; CREATE TABLE contacts (id INTEGER PRIMARY KEY)`);
      await expect(open(folder, { connection: { file: 'crm.db' }, collection: 'lead' })).rejects.toThrow(
        'table "lead" does not exist in crm.db; tables: contacts, leads',
      );
      makeDatabase(folder, 'empty.db', 'PRAGMA user_version = 1');
      await expect(open(folder, { connection: { file: 'empty.db' }, collection: 'leads' })).rejects.toThrow('tables: (none)');
    });

    it('names a configured column that does not exist, and what it was for', async () => {
      makeDatabase(folder, 'crm.db', leadsTable);
      await expect(open(folder, { connection: { file: 'crm.db' }, collection: 'leads', updatedAt: 'modified_at' })).rejects.toThrow(
        'column "modified_at" (updatedAt) does not exist in table "leads" of crm.db; columns: id, email, name, score, updated_at, sync_tag',
      );
      await expect(open(folder, { connection: { file: 'crm.db' }, collection: 'leads', key: 'uid' })).rejects.toThrow('column "uid" (key)');
    });

    it('matches table and column names regardless of case, as SQLite does, and reports the schema spelling', async () => {
      makeDatabase(folder, 'crm.db', leadsTable);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'LEADS', key: 'ID', updatedAt: 'Updated_At' });
      const [created] = await connector.write([{ kind: 'create', fields: { email: 'a@example.com' }, tag: 'syncline:t:1' }]);
      const [record] = (await connector.listSince({ since: null, afterId: null }, 10)).records;
      expect(record?.id).toBe((created as { id: string }).id);
      expect(Object.keys(record?.fields ?? {})).toEqual(['email', 'name', 'score', 'sync_tag']);
      await connector.close();
    });

    it("leaves the database's journal mode alone: it belongs to the owner and stays in the file", async () => {
      const path = makeDatabase(folder, 'crm.db', leadsTable);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads' });
      await connector.write([{ kind: 'create', fields: { name: 'A' }, tag: 'syncline:t:1' }]);
      await connector.close();
      expect(read(path, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'delete' }]);
      expect(existsSync(`${path}-wal`)).toBe(false);
    });

    it('switches to WAL when the connection asks for it with journalMode', async () => {
      const path = makeDatabase(folder, 'crm.db', leadsTable);
      const connector = await open(folder, { connection: { file: 'crm.db', journalMode: 'wal' }, collection: 'leads' });
      expect(read(path, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
      await connector.close();
      await (await open(folder, { connection: { file: 'crm.db', journalMode: 'delete' }, collection: 'leads' })).close();
      expect(read(path, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'delete' }]);
    });

    it('quotes odd table and column names', async () => {
      const path = makeDatabase(
        folder,
        'odd.db',
        `CREATE TABLE "my ""odd"" table" ("key col" INTEGER PRIMARY KEY, "e-mail address" TEXT, "select" TEXT, "when" TEXT)`,
      );
      const connector = await open(folder, { connection: { file: 'odd.db' }, collection: 'my "odd" table', key: 'key col', updatedAt: 'when' });
      const [created] = await connector.write([{ kind: 'create', fields: { 'e-mail address': 'a@example.com', select: 'x' }, tag: 'syncline:t:1' }]);
      const id = (created as { id: string }).id;
      expect(await connector.write([{ kind: 'update', id, fields: { select: 'y' }, tag: 'syncline:t:2', expectedVersion: (created as { version: string }).version }])).toMatchObject([
        { ok: true },
      ]);
      expect((await connector.getMany([id])).get(id)?.fields).toEqual({ 'e-mail address': 'a@example.com', select: 'y' });
      expect(read(path, 'SELECT "select" FROM "my ""odd"" table"')).toEqual([{ select: 'y' }]);
      await connector.close();
    });
  });

  describe('keys', () => {
    it('lets the database assign an INTEGER PRIMARY KEY, and lists numeric ids in numeric order', async () => {
      makeDatabase(folder, 'crm.db', leadsTable);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads' });
      const ops: WriteOp[] = Array.from({ length: 12 }, (_, i) => ({ kind: 'create', fields: { name: `N${i}` }, tag: 'syncline:t:1' }));
      const results = await connector.write(ops);
      expect(results.map((result) => (result as { id: string }).id)).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)));
      const ids = (await listAll(connector, 5)).map((record) => record.id);
      expect(ids).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)));
      await connector.close();
    });

    it('generates a UUID for any other key', async () => {
      makeDatabase(folder, 'crm.db', `CREATE TABLE leads (id TEXT PRIMARY KEY NOT NULL, name TEXT)`);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads' });
      const [created] = await connector.write([{ kind: 'create', fields: { name: 'U' }, tag: 'syncline:t:1' }]);
      expect((created as { id: string }).id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      await connector.close();
    });

    it('creates under a given key as the key column stores it, and the database goes on from there', async () => {
      makeDatabase(folder, 'crm.db', leadsTable);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', keys: 'shared' });
      expect(connector.capabilities.givenKeys).toBe(true);
      const results = await connector.write([
        { kind: 'create', fields: { name: 'Given' }, tag: 'syncline:t:1', id: '0042' },
        { kind: 'create', fields: { name: 'Not a number' }, tag: 'syncline:t:1', id: 'abc' },
        { kind: 'create', fields: { name: 'Own' }, tag: 'syncline:t:1' },
      ]);
      expect(results[0]).toMatchObject({ ok: true, id: '42' });
      expect(results[1]).toEqual({ ok: false, reason: 'failed', retryable: false, message: 'key "abc" is not a whole number, and the key column "id" of table "leads" is an INTEGER PRIMARY KEY' });
      expect(results[2]).toMatchObject({ ok: true, id: '43' });
      expect(read(join(folder, 'crm.db'), 'SELECT id, typeof(id) AS type, name FROM leads ORDER BY id')).toEqual([
        { id: 42, type: 'integer', name: 'Given' },
        { id: 43, type: 'integer', name: 'Own' },
      ]);
      await connector.close();
    });

    it('reports a given key taken even where the key column is not unique, and writes no second row', async () => {
      makeDatabase(folder, 'crm.db', `CREATE TABLE leads (code TEXT, name TEXT); INSERT INTO leads VALUES ('A1', 'First')`);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', key: 'code' });
      expect(await connector.write([{ kind: 'create', fields: { name: 'Second' }, tag: 'syncline:t:1', id: 'A1' }])).toEqual([{ ok: false, reason: 'taken' }]);
      expect(read(join(folder, 'crm.db'), 'SELECT code, name FROM leads')).toEqual([{ code: 'A1', name: 'First' }]);
      await connector.close();
    });

    it('finds rows whose key column is numeric but not the rowid', async () => {
      makeDatabase(folder, 'crm.db', `CREATE TABLE leads (external_id INTEGER NOT NULL UNIQUE, name TEXT); INSERT INTO leads VALUES (42, 'Answer'), (7, 'Seven')`);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', key: 'external_id' });
      expect([...(await connector.getMany(['42', '7', '8'])).keys()].sort()).toEqual(['42', '7']);
      expect(await connector.write([{ kind: 'update', id: '42', fields: { name: 'Still' }, tag: 'syncline:t:1', expectedVersion: null }])).toMatchObject([{ ok: true }]);
      await connector.close();
    });
  });

  describe('updatedAt stamps', () => {
    async function stampAfterWrite(ddl: string, existing: string | null): Promise<unknown> {
      const path = makeDatabase(folder, `${randomUUID()}.db`, ddl);
      if (existing !== null) {
        const db = new Database(path);
        db.exec(existing);
        db.close();
      }
      const file = path.slice(folder.length + 1);
      const connector = await open(folder, { connection: { file }, collection: 'leads', updatedAt: 'updated_at' });
      const [result] = await connector.write([{ kind: 'create', fields: { name: 'Stamped' }, tag: 'syncline:t:1' }]);
      await connector.close();
      return (result as { version: unknown }).version;
    }

    it('copies ISO-8601 text with a T and a Z', async () => {
      const stamp = await stampAfterWrite(
        `CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT)`,
        `INSERT INTO leads (name, updated_at) VALUES ('old', '2020-01-01T00:00:00.000Z')`,
      );
      expect(stamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(Math.abs(Date.parse(stamp as string) - Date.now())).toBeLessThan(5000);
    });

    it("copies SQLite's CURRENT_TIMESTAMP text, adding milliseconds that still sort with it", async () => {
      const stamp = await stampAfterWrite(
        `CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT, updated_at DATETIME)`,
        `INSERT INTO leads (name, updated_at) VALUES ('old', CURRENT_TIMESTAMP)`,
      );
      expect(stamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
      expect(Math.abs(Date.parse(`${(stamp as string).replace(' ', 'T')}Z`) - Date.now())).toBeLessThan(5000);
    });

    it('copies a fixed UTC offset', async () => {
      const stamp = await stampAfterWrite(
        `CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT)`,
        `INSERT INTO leads (name, updated_at) VALUES ('old', '2020-01-01T02:00:00+02:00')`,
      );
      expect(stamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+02:00$/);
      expect(Math.abs(Date.parse(stamp as string) - Date.now())).toBeLessThan(5000);
    });

    it('copies epoch milliseconds and epoch seconds', async () => {
      const ms = await stampAfterWrite(`CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT, updated_at INTEGER)`, `INSERT INTO leads (name, updated_at) VALUES ('old', 1600000000000)`);
      expect(Number.isInteger(ms)).toBe(true);
      expect(Math.abs((ms as number) - Date.now())).toBeLessThan(5000);
      const seconds = await stampAfterWrite(`CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT, updated_at INTEGER)`, `INSERT INTO leads (name, updated_at) VALUES ('old', 1600000000)`);
      expect(Number.isInteger(seconds)).toBe(true);
      expect(Math.abs((seconds as number) - Date.now() / 1000)).toBeLessThan(5);
    });

    it('uses epoch milliseconds for an empty numeric column and ISO-8601 for an empty text one', async () => {
      const ms = await stampAfterWrite(`CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT, updated_at INTEGER)`, null);
      expect(typeof ms).toBe('number');
      expect(ms as number).toBeGreaterThan(1e12);
      const iso = await stampAfterWrite(`CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT)`, null);
      expect(iso).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    });

    it('makes successive writes strictly later, even many in one millisecond', async () => {
      makeDatabase(folder, 'crm.db', leadsTable);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', updatedAt: 'updated_at' });
      const [created] = await connector.write([{ kind: 'create', fields: { name: 'Busy' }, tag: 'syncline:t:0' }]);
      const id = (created as { id: string }).id;
      const versions: string[] = [];
      for (let i = 0; i < 20; i++) {
        const [result] = await connector.write([{ kind: 'update', id, fields: { score: i }, tag: `syncline:t:${i}`, expectedVersion: null }]);
        versions.push((result as { version: string }).version);
      }
      expect([...versions].sort()).toEqual(versions);
      expect(new Set(versions).size).toBe(20);
      await connector.close();
    });

    it('gives a record written twice in one batch two versions, and the batch one instant otherwise', async () => {
      makeDatabase(folder, 'crm.db', leadsTable);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', updatedAt: 'updated_at' });
      const created = await connector.write([
        { kind: 'create', fields: { name: 'A' }, tag: 'syncline:t:1' },
        { kind: 'create', fields: { name: 'B' }, tag: 'syncline:t:2' },
      ]);
      const versions = created.map((result) => (result as { version: string }).version);
      expect(versions[0]).toBe(versions[1]);
      const twice = await connector.write([
        { kind: 'update', id: '1', fields: { score: 1 }, tag: 'syncline:t:3', expectedVersion: null },
        { kind: 'update', id: '1', fields: { score: 2 }, tag: 'syncline:t:4', expectedVersion: null },
      ]);
      const [first, second] = twice.map((result) => (result as { version: string }).version);
      expect(second && first && second > first).toBe(true);
      await connector.close();
    });

    it('returns the version the row holds, even when a trigger rewrites it', async () => {
      makeDatabase(
        folder,
        'crm.db',
        `${leadsTable};
         CREATE TRIGGER leads_touch AFTER UPDATE OF name ON leads BEGIN
           UPDATE leads SET updated_at = '2999-01-01T00:00:00.000Z' WHERE id = NEW.id;
         END;`,
      );
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', updatedAt: 'updated_at' });
      await connector.write([{ kind: 'create', fields: { name: 'A' }, tag: 'syncline:t:1' }]);
      const [result] = await connector.write([{ kind: 'update', id: '1', fields: { name: 'B' }, tag: 'syncline:t:2', expectedVersion: null }]);
      expect(result).toEqual({ ok: true, id: '1', version: '2999-01-01T00:00:00.000Z' });
      await connector.close();
    });

    it('lists rows without a version first, paging through them like the others', async () => {
      makeDatabase(
        folder,
        'crm.db',
        `${leadsTable};
         INSERT INTO leads (name, updated_at) VALUES ('v1', '2020-01-01T00:00:00.000Z'), ('n1', NULL), ('n2', NULL), ('n3', NULL), ('v2', '2020-01-02T00:00:00.000Z')`,
      );
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', updatedAt: 'updated_at' });
      expect((await listAll(connector, 2)).map((record) => record.fields.name)).toEqual(['n1', 'n2', 'n3', 'v1', 'v2']);
      expect((await listAll(connector, 1)).map((record) => record.fields.name)).toEqual(['n1', 'n2', 'n3', 'v1', 'v2']);
      await connector.close();
    });
  });

  describe('values', () => {
    it('fails a write naming a column the table lacks, suggests the spelling, and applies the rest', async () => {
      makeDatabase(folder, 'crm.db', leadsTable);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', updatedAt: 'updated_at', tagColumn: 'sync_tag' });
      const results = await connector.write([
        { kind: 'create', fields: { name: 'A', phone: '555' }, tag: 'syncline:t:1' },
        { kind: 'create', fields: { Email: 'b@example.com' }, tag: 'syncline:t:2' },
        { kind: 'create', fields: { name: 'C' }, tag: 'syncline:t:3' },
      ]);
      expect(results[0]).toEqual({ ok: false, reason: 'failed', retryable: false, message: 'table "leads" in crm.db has no column "phone"' });
      expect(results[1]).toMatchObject({ ok: false, message: 'table "leads" in crm.db has no column "Email" (did you mean "email"?)' });
      expect(results[2]).toMatchObject({ ok: true });
      expect((await listAll(connector, 10)).map((record) => record.fields.name)).toEqual(['C']);
      await connector.close();
    });

    it('sees a column added after open', async () => {
      const path = makeDatabase(folder, 'crm.db', leadsTable);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads' });
      const db = new Database(path);
      db.exec('ALTER TABLE leads ADD COLUMN phone TEXT');
      db.close();
      expect(await connector.write([{ kind: 'create', fields: { phone: '555' }, tag: 'syncline:t:1' }])).toMatchObject([{ ok: true }]);
      await connector.close();
    });

    it('reports a constraint violation as a failed op that will not succeed on retry', async () => {
      makeDatabase(folder, 'crm.db', `CREATE TABLE leads (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)`);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads' });
      const results = await connector.write([
        { kind: 'create', fields: { email: 'a@example.com' }, tag: 'syncline:t:1' },
        { kind: 'create', fields: { email: 'a@example.com' }, tag: 'syncline:t:2' },
        { kind: 'create', fields: {}, tag: 'syncline:t:3' },
        { kind: 'create', fields: { email: 'b@example.com' }, tag: 'syncline:t:4' },
      ]);
      expect(results.map((result) => result.ok)).toEqual([true, false, false, true]);
      expect(results[1]).toMatchObject({ reason: 'failed', retryable: false, message: expect.stringContaining('UNIQUE') });
      expect(results[2]).toMatchObject({ reason: 'failed', message: expect.stringContaining('NOT NULL') });
      await connector.close();
    });

    it('stores objects as JSON text and booleans as 0/1, and reads JSON and BOOLEAN columns back as they were', async () => {
      const path = makeDatabase(folder, 'crm.db', `CREATE TABLE leads (id INTEGER PRIMARY KEY, notes TEXT, meta JSON, vip BOOLEAN, flag INTEGER, code TEXT, anything)`);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads' });
      const fields = { notes: { a: [1, 2] }, meta: { tags: ['x'], n: 1 }, vip: true, flag: false, code: 5, anything: 7 };
      const [created] = await connector.write([{ kind: 'create', fields, tag: 'syncline:t:1' }]);
      const id = (created as { id: string }).id;
      expect(read(path, 'SELECT notes, meta, vip, flag, code, typeof(code) AS codeType, typeof(anything) AS anythingType FROM leads')).toEqual([
        { notes: '{"a":[1,2]}', meta: '{"tags":["x"],"n":1}', vip: 1, flag: 0, code: '5', codeType: 'text', anythingType: 'integer' },
      ]);
      expect((await connector.getMany([id])).get(id)?.fields).toEqual({
        notes: '{"a":[1,2]}',
        meta: { tags: ['x'], n: 1 },
        vip: true,
        flag: 0,
        code: '5',
        anything: 7,
      });
      await connector.close();
    });
  });

  describe('created records', () => {
    const table = `CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT, score INTEGER, status TEXT NOT NULL DEFAULT 'new', updated_at TEXT)`;
    // Spelled unlike the table on purpose: SQLite keeps the trigger's own spelling in sqlite_schema.tbl_name.
    const stampTrigger = `CREATE TRIGGER leads_stamp AFTER INSERT ON LEADS BEGIN
      UPDATE leads SET status = 'stamped', updated_at = '2999-01-01T00:00:00.000Z' WHERE id = NEW.id;
    END`;

    /** Creates one record and returns the write's result beside a read of the same id right after. */
    async function createAndRead(connector: Connector, fields: FlowRecord, id?: string): Promise<{ result: WriteResult; read: SourceRecord | undefined }> {
      const [result] = await connector.write([{ kind: 'create', fields, tag: 'syncline:t:1', ...(id === undefined ? {} : { id }) }]);
      if (!result?.ok) throw new Error(`create failed: ${JSON.stringify(result)}`);
      return { result, read: (await connector.getMany([result.id])).get(result.id) };
    }

    it('returns the row of a table without triggers as a read by id gives it, defaults and type affinity applied', async () => {
      makeDatabase(folder, 'crm.db', table);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', updatedAt: 'updated_at' });
      const { result, read: stored } = await createAndRead(connector, { name: 'A', score: '42' });
      expect(result).toEqual({ ok: true, id: '1', version: stored?.version, record: stored });
      expect(stored?.fields).toEqual({ name: 'A', score: 42, status: 'new' });
      await connector.close();
    });

    it('returns the row as an AFTER INSERT trigger left it, not as the INSERT wrote it', async () => {
      makeDatabase(folder, 'crm.db', `${table}; ${stampTrigger}`);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', updatedAt: 'updated_at' });
      const { result, read: stored } = await createAndRead(connector, { name: 'A' });
      expect(result).toEqual({ ok: true, id: '1', version: '2999-01-01T00:00:00.000Z', record: stored });
      expect(stored?.fields.status).toBe('stamped');
      await connector.close();
    });

    it('sees a trigger created after open and after a first create', async () => {
      const path = makeDatabase(folder, 'crm.db', table);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', updatedAt: 'updated_at' });
      const before = await createAndRead(connector, { name: 'A' });
      expect(before.result).toMatchObject({ record: { fields: { status: 'new' } } });
      const other = new Database(path);
      other.exec(stampTrigger);
      other.close();
      const after = await createAndRead(connector, { name: 'B' });
      expect(after.result).toEqual({ ok: true, id: '2', version: '2999-01-01T00:00:00.000Z', record: after.read });
      expect(after.read?.fields.status).toBe('stamped');
      await connector.close();
    });

    it('creates with the columns as they are after one is renamed and another dropped under the connector', async () => {
      const path = makeDatabase(folder, 'crm.db', table);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', updatedAt: 'updated_at' });
      await createAndRead(connector, { name: 'A', score: 1 });
      const other = new Database(path);
      other.exec('ALTER TABLE leads RENAME COLUMN score TO points; ALTER TABLE leads DROP COLUMN name');
      other.close();
      const { result, read: stored } = await createAndRead(connector, { points: '5' });
      expect(result).toEqual({ ok: true, id: '2', version: stored?.version, record: stored });
      expect(stored?.fields).toEqual({ points: 5, status: 'new' });
      await connector.close();
    });

    it('returns a column added under the connector after a first create, with its default', async () => {
      const path = makeDatabase(folder, 'crm.db', table);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', updatedAt: 'updated_at' });
      await createAndRead(connector, { name: 'A' });
      const other = new Database(path);
      other.exec("ALTER TABLE leads ADD COLUMN phone TEXT DEFAULT 'none'");
      other.close();
      const { result, read: stored } = await createAndRead(connector, { name: 'B' });
      expect(result).toEqual({ ok: true, id: '2', version: stored?.version, record: stored });
      expect(stored?.fields).toEqual({ name: 'B', score: null, status: 'new', phone: 'none' });
      await connector.close();
    });

    it('returns what a virtual table keeps, which need not be what it was given', async () => {
      // An rtree stores its coordinates as 32-bit floats.
      makeDatabase(folder, 'crm.db', 'CREATE VIRTUAL TABLE boxes USING rtree(id, minX, maxX)');
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'boxes' });
      const { result, read: stored } = await createAndRead(connector, { minX: 0.1, maxX: 0.2 }, '7');
      expect(result).toEqual({ ok: true, id: '7', version: null, record: stored });
      expect(stored?.fields.minX).not.toBe(0.1);
      await connector.close();
    });

    it('fails a create the table ignored (an IGNORE conflict clause) instead of naming another row', async () => {
      makeDatabase(folder, 'crm.db', `CREATE TABLE leads (id INTEGER PRIMARY KEY, email TEXT UNIQUE ON CONFLICT IGNORE)`);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads' });
      const results = await connector.write([
        { kind: 'create', fields: { email: 'a@example.com' }, tag: 'syncline:t:1' },
        { kind: 'create', fields: { email: 'a@example.com' }, tag: 'syncline:t:2' },
      ]);
      expect(results[0]).toMatchObject({ ok: true, id: '1' });
      expect(results[1]).toEqual({ ok: false, reason: 'failed', retryable: false, message: 'table "leads" ignored the create: no row was written' });
      await connector.close();
    });
  });

  describe('soft deletes', () => {
    const table = `CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT, deleted INTEGER, deleted_at TEXT)`;

    it('sets the flag and moves updatedAt, and then treats the record as missing', async () => {
      const path = makeDatabase(folder, 'crm.db', `${table}; INSERT INTO leads (name, updated_at) VALUES ('A', '2020-01-01T00:00:00.000Z'), ('B', '2020-01-01T00:00:00.000Z')`);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', updatedAt: 'updated_at', deletedFlag: 'deleted' });
      const [deleted] = await connector.write([{ kind: 'delete', id: '1', expectedVersion: '2020-01-01T00:00:00.000Z' }]);
      expect(deleted).toMatchObject({ ok: true, id: '1', version: expect.stringMatching(/^20[2-9]\d-/) });
      expect(read(path, 'SELECT deleted FROM leads WHERE id = 1')).toEqual([{ deleted: 1 }]);
      expect(await connector.write([{ kind: 'update', id: '1', fields: { name: 'x' }, tag: 'syncline:t:1', expectedVersion: null }])).toEqual([
        { ok: false, reason: 'missing' },
      ]);
      const scanned: string[] = [];
      for await (const page of connector.scanIds(10)) scanned.push(...page);
      expect(scanned).toEqual(['2']);
      await connector.close();
    });

    it('reads 0, NULL, "" and "false" as not deleted, anything else as deleted', async () => {
      makeDatabase(
        folder,
        'crm.db',
        `${table}; INSERT INTO leads (id, name, deleted) VALUES (1, 'zero', 0), (2, 'null', NULL), (3, 'empty', ''), (4, 'false', 'false'), (5, 'one', 1), (6, 'yes', 'true'), (7, 'when', '2024-01-01')`,
      );
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', deletedFlag: 'deleted' });
      const records = await listAll(connector, 10);
      expect(records.map((record) => [record.fields.name, record.deleted])).toEqual([
        ['zero', false],
        ['null', false],
        ['empty', false],
        ['false', false],
        ['one', true],
        ['yes', true],
        ['when', true],
      ]);
      const scanned: string[] = [];
      for await (const page of connector.scanIds(10)) scanned.push(...page);
      expect(scanned).toEqual(['1', '2', '3', '4']);
      // The delete check compares the count with the live links: it counts what scanIds lists.
      expect(await connector.count?.()).toBe(4);
      await connector.close();
    });

    it('counts every row when the table has no deleted flag', async () => {
      makeDatabase(folder, 'crm.db', `${table}; INSERT INTO leads (id, name, deleted) VALUES (1, 'zero', 0), (2, 'one', 1), (3, 'null', NULL)`);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads' });
      const scanned: string[] = [];
      for await (const page of connector.scanIds(10)) scanned.push(...page);
      expect(scanned).toEqual(['1', '2', '3']);
      expect(await connector.count?.()).toBe(3);
      await connector.close();
    });

    it('stores the time in a deleted_at column', async () => {
      const path = makeDatabase(folder, 'crm.db', `${table}; INSERT INTO leads (name) VALUES ('A')`);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', deletedFlag: 'deleted_at' });
      expect(await connector.write([{ kind: 'delete', id: '1', expectedVersion: null }])).toMatchObject([{ ok: true }]);
      const [row] = read(path, 'SELECT deleted_at FROM leads') as Array<{ deleted_at: string }>;
      expect(Math.abs(Date.parse(row?.deleted_at ?? '') - Date.now())).toBeLessThan(5000);
      await connector.close();
    });
  });

  describe('locking', () => {
    it('fails a batch as retryable, writing nothing, when another writer holds the lock past busyTimeoutMs', async () => {
      const path = makeDatabase(folder, 'crm.db', leadsTable);
      const connector = await open(folder, { connection: { file: 'crm.db', busyTimeoutMs: 50 }, collection: 'leads' });
      const other = new Database(path);
      other.exec('BEGIN IMMEDIATE');
      try {
        const results = await connector.write([
          { kind: 'create', fields: { name: 'A' }, tag: 'syncline:t:1' },
          { kind: 'create', fields: { name: 'B' }, tag: 'syncline:t:2' },
        ]);
        expect(results).toEqual([
          { ok: false, reason: 'failed', retryable: true, message: expect.stringContaining('locked') },
          { ok: false, reason: 'failed', retryable: true, message: expect.stringContaining('locked') },
        ]);
        // Reads go on while the other connection writes.
        expect((await connector.listSince({ since: null, afterId: null }, 10)).records).toEqual([]);
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      expect(await connector.write([{ kind: 'create', fields: { name: 'C' }, tag: 'syncline:t:3' }])).toMatchObject([{ ok: true }]);
      await connector.close();
    });
  });

  describe('describe()', () => {
    it('lists every table with its columns, leaving out only this collection’s bookkeeping', async () => {
      makeDatabase(folder, 'crm.db', `${leadsTable}; CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, extra)`);
      const connector = await open(folder, { connection: { file: 'crm.db' }, collection: 'leads', updatedAt: 'updated_at', tagColumn: 'sync_tag' });
      expect(await connector.describe()).toEqual([
        {
          name: 'leads',
          fields: [
            { name: 'email', type: 'TEXT', nullable: true },
            { name: 'name', type: 'TEXT', nullable: true },
            { name: 'score', type: 'REAL', nullable: true },
          ],
          warnings: [expect.stringMatching(/^table "leads": its key "id" is an INTEGER PRIMARY KEY without AUTOINCREMENT, .*"id INTEGER PRIMARY KEY AUTOINCREMENT"/)],
        },
        {
          name: 'notes',
          fields: [
            { name: 'id', type: 'INTEGER', nullable: true },
            { name: 'body', type: 'TEXT', nullable: false },
            { name: 'extra', type: 'any', nullable: true },
          ],
          warnings: [expect.stringMatching(/^table "notes": its key "id" is an INTEGER PRIMARY KEY without AUTOINCREMENT/)],
        },
      ]);
      await connector.close();
    });

    it('warns of its own table only when the trigger is keyed on a rowid SQLite hands out again', async () => {
      makeDatabase(
        folder,
        'crm.db',
        'CREATE TABLE leads (id INTEGER PRIMARY KEY, uid TEXT UNIQUE, name TEXT); CREATE TABLE safe (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)',
      );
      const warnings = async (collection: string, key: string) => {
        const connector = await open(folder, { connection: { file: 'crm.db' }, collection, key });
        try {
          return ((await connector.describe()) as TableDescription[]).find((table) => table.name === collection)?.warnings ?? [];
        } finally {
          await connector.close();
        }
      };
      expect(await warnings('leads', 'id')).toEqual([expect.stringMatching(/^table "leads": its key "id" is an INTEGER PRIMARY KEY without AUTOINCREMENT/)]);
      expect(await warnings('leads', 'uid')).toEqual([]);
      expect(await warnings('safe', 'id')).toEqual([]);
    });
  });

  describe('large tables', () => {
    it('pages through 20,000 rows that share one updatedAt without losing or repeating any', async () => {
      const path = makeDatabase(folder, 'big.db', `${leadsTable}; CREATE INDEX leads_updated_at ON leads (updated_at)`);
      const db = new Database(path);
      const insert = db.prepare('INSERT INTO leads (name, updated_at) VALUES (?, ?)');
      db.transaction(() => {
        for (let i = 0; i < 20_000; i++) insert.run(`N${i}`, i < 15_000 ? '2024-01-01T00:00:00.000Z' : `2024-01-02T00:00:${String(i % 60).padStart(2, '0')}.000Z`);
      })();
      db.close();
      const connector = await open(folder, { connection: { file: 'big.db' }, collection: 'leads', updatedAt: 'updated_at' });
      const records = await listAll(connector, 500);
      expect(records).toHaveLength(20_000);
      expect(new Set(records.map((record) => record.id)).size).toBe(20_000);
      const since = await listAll(connector, 500, { since: '2024-01-02T00:00:30.000Z', afterId: null });
      expect(since).toHaveLength(records.filter((record) => (record.version as string) >= '2024-01-02T00:00:30.000Z').length);
      await connector.close();
    });
  });
});

describe('sqlite connector: what a flow may open', () => {
  let root: string;
  /** The folder flows may use; `root` holds it and files outside it. */
  let allowed: string;
  beforeEach(() => {
    root = makeFolder();
    allowed = join(root, 'data');
    mkdirSync(allowed);
    makeDatabase(allowed, 'crm.db', 'CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT)');
    makeDatabase(root, 'outside.db', 'CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT)');
  });

  async function refusal(config: Record<string, unknown>, access: ConnectorAccess = folderAccess(allowed), baseDir = allowed): Promise<Error> {
    const error = await open(baseDir, { collection: 'leads', ...config }, access).then(
      async (connector) => {
        await connector.close();
        return new Error('opened');
      },
      (caught: unknown) => caught as Error,
    );
    expect(error).toBeInstanceOf(AccessRefusedError);
    return error;
  }

  /** The outside database as it was made: no rows written, journal mode untouched, no WAL beside it. */
  function expectOutsideUntouched(): void {
    const db = new Database(join(root, 'outside.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) FROM leads').pluck().get()).toBe(0);
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    } finally {
      db.close();
    }
    expect(existsSync(join(root, 'outside.db-wal'))).toBe(false);
  }

  it('refuses a path that climbs out of the folder with ..', async () => {
    const error = await refusal({ connection: { file: '../outside.db' } });
    expect(error.message).toMatch(/^connection\.file: "\.\.\/outside\.db" is outside the folders a flow may open/);
    expect(error.message).toContain('--allow-files');
    expect(error.message).toContain('SYNCLINE_ALLOW_FILES');
    expectOutsideUntouched();
  });

  it('refuses an absolute path outside the folder', async () => {
    await refusal({ connection: { file: join(root, 'outside.db') } });
    expectOutsideUntouched();
  });

  it('refuses a symlink, or a folder symlink, that leads out of the folder', async () => {
    symlinkSync(join(root, 'outside.db'), join(allowed, 'link.db'));
    await refusal({ connection: { file: 'link.db' } });
    symlinkSync(root, join(allowed, 'up'));
    await refusal({ connection: { file: 'up/outside.db' } });
    // Dangling: a file created later through the link would land outside.
    symlinkSync(join(root, 'not-yet.db'), join(allowed, 'later.db'));
    await refusal({ connection: { file: 'later.db' } });
    expectOutsideUntouched();
  });

  it('says the same of a refused path whether or not it exists', async () => {
    const existing = await refusal({ connection: { file: '../outside.db' } });
    const missing = await refusal({ connection: { file: '../absent.db' } });
    expect(missing.message.replace('absent', 'outside')).toBe(existing.message);
    const absolute = await refusal({ connection: { file: '/etc/passwd' } });
    const absoluteMissing = await refusal({ connection: { file: '/etc/no-such-file' } });
    expect(absoluteMissing.message.replace('no-such-file', 'passwd')).toBe(absolute.message);
  });

  it("never opens the runtime's own files, however they are named, even inside an allowed folder", async () => {
    // A state file as serve keeps it, with its credentials table.
    makeDatabase(allowed, 'state.db', 'CREATE TABLE credentials (name TEXT PRIMARY KEY, type TEXT, value BLOB)');
    writeFileSync(join(allowed, 'credentials.key'), 'k'.repeat(32));
    const access = folderAccess(allowed, runtimeFilesIn(allowed));
    const stateBefore = readFileSync(join(allowed, 'state.db'));
    for (const file of ['state.db', './state.db', 'sub/../state.db', join(allowed, 'state.db'), 'webhooks.db', 'credentials.key', 'token', 'state.db-wal']) {
      const error = await refusal({ connection: { file }, collection: 'credentials', key: 'name' }, access);
      expect(error.message).toContain("Syncline's own files");
    }
    symlinkSync(join(allowed, 'state.db'), join(allowed, 'innocent.db'));
    await refusal({ connection: { file: 'innocent.db' }, collection: 'credentials', key: 'name' }, access);
    linkSync(join(allowed, 'state.db'), join(allowed, 'hardlink.db'));
    await refusal({ connection: { file: 'hardlink.db' }, collection: 'credentials', key: 'name' }, access);
    // From a flow in another allowed folder, by absolute path.
    const elsewhere = makeFolder();
    await refusal({ connection: { file: join(allowed, 'state.db') }, collection: 'credentials', key: 'name' }, { ...access, files: { ...access.files, allowedDirs: [allowed, elsewhere] } }, elsewhere);
    expect(readFileSync(join(allowed, 'state.db')).equals(stateBefore)).toBe(true);
  });

  it('opens files in every folder the operator allowed, and describes through the same check', async () => {
    const access = folderAccess(allowed);
    const wider = { ...access, files: { ...access.files, allowedDirs: [allowed, root] } };
    await (await open(allowed, { collection: 'leads', connection: { file: '../outside.db' } }, wider)).close();
    const describeIn = (accessGiven: ConnectorAccess) =>
      sqliteConnector.describeConnection({ connection: { file: '../outside.db' }, baseDir: allowed, resolveCredential: () => Promise.reject(new Error('none')), access: accessGiven });
    await expect(describeIn(access)).rejects.toBeInstanceOf(AccessRefusedError);
    expect((await describeIn(wider)).map((collection) => collection.name)).toEqual(['leads']);
  });
});
