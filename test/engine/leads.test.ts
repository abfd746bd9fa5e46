import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../runtime/connectors/index';
import { openStateDb, type StateDb } from '../../runtime/db/index';
import { SyncEngine } from '../../runtime/engine/index';
import { leadsWorkspace, tick } from './sqlite-fixtures';

// The SPEC §1 leads flow, run through the real engine on two real SQLite files.
describe('leads flow on SQLite', () => {
  let workspace: ReturnType<typeof leadsWorkspace>;
  let db: StateDb;
  let engine: SyncEngine;
  const pass = () => engine.runPass(workspace.flow, { baseDir: workspace.dir });

  beforeEach(async () => {
    workspace = leadsWorkspace();
    db = await openStateDb(':memory:');
    engine = new SyncEngine({ db, connectors: connectorRegistry, retry: { attempts: 2, baseMs: 1, maxWaitMs: 10 } });
    const lead = workspace.crm.prepare('insert into leads (first_name, last_name, email, status, amount, updated_at) values (?, ?, ?, ?, ?, ?)');
    lead.run('Ada', 'Lovelace', 'ada@example.com', 'open', 1000, tick());
    lead.run('Grace', 'Hopper', 'grace@example.com', 'closed-lost', 250, tick());
    lead.run('Alan', 'Turing', 'Alan@Example.com ', 'open', 10, tick());
    const contact = workspace.mkt.prepare('insert into contacts (id, name, email, stage, deal_value, modified_at) values (?, ?, ?, ?, ?, ?)');
    contact.run('m-1', 'Alan Turing', 'alan@example.com', 'Open', 10, tick());
    contact.run('m-2', 'Katherine Johnson', 'katherine@example.com', 'Open', null, tick());
  });

  afterEach(async () => {
    workspace.crm.close();
    workspace.mkt.close();
    await db.destroy();
  });

  const contacts = () => workspace.mkt.prepare('select id, name, email, stage, deal_value from contacts order by email').all();
  const leads = () => workspace.crm.prepare('select first_name, last_name, email, status, amount from leads order by email').all();

  it('links records that exist on both sides by email, creates the rest, and the next pass only counts echoes', async () => {
    const first = await pass();
    expect(first.status).toBe('ok');
    // Alan is linked by email across case and spaces; the later side's spelling wins and is written back to the CRM.
    expect(first.summary).toMatchObject({ created: 3, updated: 1, failed: 0, conflicts: 0 });
    expect(contacts()).toEqual([
      expect.objectContaining({ name: 'Ada Lovelace', email: 'ada@example.com', stage: 'Open', deal_value: 1000 }),
      { id: 'm-1', name: 'Alan Turing', email: 'alan@example.com', stage: 'Open', deal_value: 10 },
      expect.objectContaining({ name: 'Grace Hopper', email: 'grace@example.com', stage: 'Closed Lost', deal_value: 250 }),
      { id: 'm-2', name: 'Katherine Johnson', email: 'katherine@example.com', stage: 'Open', deal_value: null },
    ]);
    expect(leads()).toContainEqual({ first_name: 'Katherine', last_name: 'Johnson', email: 'katherine@example.com', status: 'open', amount: null });
    expect(leads()).toHaveLength(4);

    const second = await pass();
    expect(second.summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
    expect(second.summary.echoes).toBe(4);
    const third = await pass();
    expect(third.summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
  });

  it('propagates edits from either side, each through the path in its direction', async () => {
    await pass();
    await pass();
    workspace.crm.prepare('update leads set last_name = ?, updated_at = ? where email = ?').run('King', tick(), 'ada@example.com');
    workspace.mkt.prepare('update contacts set stage = ?, modified_at = ? where email = ?').run('Closed Lost', tick(), 'alan@example.com');
    const result = await pass();
    expect(result.summary).toMatchObject({ updated: 2, failed: 0 });
    expect(contacts()).toContainEqual(expect.objectContaining({ email: 'ada@example.com', name: 'Ada King' }));
    expect(leads()).toContainEqual(expect.objectContaining({ email: 'alan@example.com', status: 'closed-lost' }));
    const after = await pass();
    expect(after.summary).toMatchObject({ created: 0, updated: 0, echoes: 2 });
  });

  it('keeps a one-way field one-way: deal_value never flows back to amount', async () => {
    await pass();
    workspace.mkt.prepare('update contacts set deal_value = ?, modified_at = ? where email = ?').run(99, tick(), 'ada@example.com');
    const result = await pass();
    expect(result.summary.updated).toBe(0);
    expect(leads()).toContainEqual(expect.objectContaining({ email: 'ada@example.com', amount: 1000 }));
  });

  it('fails a record whose value has no mapping, and carries on with the others', async () => {
    workspace.crm.prepare('insert into leads (first_name, last_name, email, status, amount, updated_at) values (?, ?, ?, ?, ?, ?)').run('Bad', 'Status', 'bad@example.com', 'weird', 1, tick());
    const result = await pass();
    expect(result.summary.failed).toBe(1);
    expect(result.summary.created).toBe(3);
    const failing = await engine.listFailing('leads');
    expect(failing).toHaveLength(1);
    expect(failing[0]?.error).toMatch(/weird/);
  });

  it('a dry run reports field-level writes and changes nothing', async () => {
    const result = await engine.runPass(workspace.flow, { baseDir: workspace.dir, dryRun: true });
    expect(result.summary.created).toBe(3);
    const mkt = result.planned?.find((side) => side.nodeId === 'mkt');
    expect(mkt?.creates).toContainEqual({ id: null, fields: expect.arrayContaining([{ field: 'name', before: null, after: 'Ada Lovelace' }]) });
    expect(contacts()).toHaveLength(2);
    expect(await db.selectFrom('links').selectAll().execute()).toEqual([]);
    expect(await db.selectFrom('runs').selectAll().execute()).toEqual([]);
  });
});
