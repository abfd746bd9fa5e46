import { copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectorRegistry } from '../../runtime/connectors/index';
import type { ConnectorType } from '../../runtime/connectors/types';
import { openStateDb } from '../../runtime/db/index';
import { SyncEngine } from '../../runtime/engine/index';
import { leadsWorkspace, tick } from './sqlite-fixtures';

// A long-lived engine (the server's) keeps SQLite connectors open between passes; these check it reopens exactly
// when what it kept no longer matches the file, and that the syncing is the same either way.
describe('connectors kept between passes', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup() {
    const workspace = leadsWorkspace();
    const db = await openStateDb(':memory:');
    const sqlite = connectorRegistry.sqlite as ConnectorType;
    const open = vi.fn(sqlite.open);
    const engine = new SyncEngine({ db, connectors: { ...connectorRegistry, sqlite: { ...sqlite, open } } });
    cleanups.push(async () => {
      await engine.close();
      workspace.crm.close();
      workspace.mkt.close();
      await db.destroy();
    });
    const lead = workspace.crm.prepare('insert into leads (first_name, last_name, email, status, amount, updated_at) values (?, ?, ?, ?, ?, ?)');
    const pass = () => engine.runPass(workspace.flow, { baseDir: workspace.dir });
    return { workspace, engine, open, lead, pass };
  }

  it('are reused while the files and their tables are unchanged', async () => {
    const { open, lead, pass } = await setup();
    lead.run('Ada', 'Lovelace', 'ada@example.com', 'open', 1000, tick());
    expect((await pass()).summary.created).toBe(1);
    expect(open).toHaveBeenCalledTimes(2);
    lead.run('Grace', 'Hopper', 'grace@example.com', 'open', 250, tick());
    expect((await pass()).summary.created).toBe(1);
    expect(open).toHaveBeenCalledTimes(2);
  });

  it('are opened again when a table changed shape or a file was replaced', async () => {
    const { workspace, open, lead, pass } = await setup();
    lead.run('Ada', 'Lovelace', 'ada@example.com', 'open', 1000, tick());
    await pass();
    expect(open).toHaveBeenCalledTimes(2);
    workspace.mkt.exec('alter table contacts add column phone text');
    lead.run('Grace', 'Hopper', 'grace@example.com', 'open', 250, tick());
    expect((await pass()).summary.created).toBe(1);
    expect(open).toHaveBeenCalledTimes(3);
    expect(workspace.mkt.prepare('select count(*) from contacts').pluck().get()).toBe(2);

    // A restored copy put in place of the CRM's file: the kept connection would still read the old one.
    workspace.crm.close();
    copyFileSync(join(workspace.dir, 'crm.db'), join(workspace.dir, 'crm.copy'));
    renameSync(join(workspace.dir, 'crm.copy'), join(workspace.dir, 'crm.db'));
    await pass();
    expect(open).toHaveBeenCalledTimes(4);
  });

  it('are closed with the engine, and a pass that failed does not keep its connectors', async () => {
    const { workspace, engine, open, lead, pass } = await setup();
    lead.run('Ada', 'Lovelace', 'ada@example.com', 'open', 1000, tick());
    await pass();
    workspace.mkt.exec('drop table contacts');
    expect((await pass()).status).toBe('failed');
    workspace.mkt.exec('create table contacts (id text primary key, name text, email text, stage text, deal_value real, modified_at text)');
    const opens = open.mock.calls.length;
    await pass();
    // Both sides open afresh: the failed pass closed the CRM's connector too.
    expect(open.mock.calls.length).toBe(opens + 2);
    await engine.close();
    const after = open.mock.calls.length;
    await pass();
    expect(open.mock.calls.length).toBe(after + 2);
  });
});
