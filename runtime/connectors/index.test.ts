import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema } from '../../nodes/trigger/schema';
import { folderAccess } from './access';
import { connectorRegistry, findConnectorType, loadOptionsFor, openConnector } from './index';
import { createMemoryStore, deleteMemoryStore } from './memory/index';
import { ConnectorError, type ConnectorContext } from './types';

function context(config: Record<string, unknown>, baseDir = '/'): ConnectorContext {
  return {
    config: triggerConfigSchema.parse({ key: 'id', collection: 'leads', ...config }),
    baseDir,
    resolveCredential: () => Promise.reject(new Error('no credentials in tests')),
    access: folderAccess(baseDir),
  };
}

describe('connector registry', () => {
  afterEach(() => deleteMemoryStore('crm'));

  it('registers each connector under its own type name', () => {
    for (const [name, type] of Object.entries(connectorRegistry)) expect(type.type).toBe(name);
    expect(Object.keys(connectorRegistry)).toEqual(['sqlite', 'memory', 'postgres', 'http', 'github', 'zendesk', 'bamboohr', 'hubspot', 'mailchimp', 'moodle']);
  });

  it('names the known connectors when a trigger asks for another', async () => {
    const error = await openConnector(context({ connector: 'salesforce', connection: {} })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as Error).message).toBe('unknown connector "salesforce"; known connectors: sqlite, memory, postgres, http, github, zendesk, bamboohr, hubspot, mailchimp, moodle');
    // Names from Object.prototype are not connectors.
    expect(findConnectorType('toString')).toBeUndefined();
  });

  it('checks the connection before opening', async () => {
    await expect(openConnector(context({ connector: 'sqlite', connection: { file: '' } }))).rejects.toThrow('connection.file: must name a SQLite database file');
  });

  it('opens a memory connector', async () => {
    createMemoryStore('crm').createCollection('leads');
    const connector = await openConnector(context({ connector: 'memory', connection: { store: 'crm' } }));
    expect(connector.capabilities.incremental).toBe(true);
    await connector.close();
  });

  it('opens a sqlite connector with paths relative to the base folder', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'syncline-registry-'));
    try {
      const db = new Database(join(folder, 'crm.db'));
      db.exec('CREATE TABLE leads (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)');
      db.close();
      const connector = await openConnector(context({ connector: 'sqlite', connection: { file: 'crm.db' } }, folder));
      expect(await connector.describe()).toEqual([{ name: 'leads', fields: [{ name: 'name', type: 'TEXT', nullable: true }] }]);
      await connector.close();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('gives flow loading the connection checks and the known names', () => {
    const options = loadOptionsFor();
    expect(options.knownConnectors).toEqual(['sqlite', 'memory', 'postgres', 'http', 'github', 'zendesk', 'bamboohr', 'hubspot', 'mailchimp', 'moodle']);
    expect(options.checkConnection('sqlite', { file: 'crm.db' })).toEqual([]);
    expect(options.checkConnection('sqlite', {})).toHaveLength(1);
    expect(options.checkConnection('nope', {})).toBeNull();
  });
});
