import Sqlite from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { leadsWorkspace, tick } from './sqlite-fixtures';

const root = join(import.meta.dirname, '../..');
const LEADS = 1800; // four pages of 500: four batches of creates on the marketing side

interface Outcome {
  killed: boolean;
  summary: Record<string, number> | null;
}

/** A real `syncline run --once`, killed (SIGKILL) after its `killAfter`th batch of side writes when given. */
function runOnce(flowPath: string, state: string, killAfter?: number): Promise<Outcome> {
  const env = { ...process.env, SYNCLINE_TEST_KILL_AFTER_WRITES: killAfter === undefined ? '' : String(killAfter) };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/syncline.mjs', 'run', flowPath, '--once', '--state', state], { cwd: root, env }, (error, stdout, stderr) => {
      if (error && error.signal === 'SIGKILL') return resolve({ killed: true, summary: null });
      if (error) return reject(new Error(`run --once failed: ${stderr}`));
      resolve({ killed: false, summary: JSON.parse(stdout.trim().split('\n').at(-1) as string) as Record<string, number> });
    });
  });
}

describe('a run --once killed between a side write and the state commit', () => {
  let workspace: ReturnType<typeof leadsWorkspace>;
  afterEach(() => {
    workspace.crm.close();
    workspace.mkt.close();
  });

  /** `listedWhole`: these triggers lose their updatedAt, so every pass lists them whole (snapshot change detection). */
  function setUp(options: { tagColumn?: boolean; uniqueEmail?: boolean; listedWhole?: Array<'crm' | 'mkt'> }): { flowPath: string; state: string } {
    workspace = leadsWorkspace();
    const flow = JSON.parse(readFileSync(workspace.flowPath, 'utf8')) as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
    for (const nodeId of options.listedWhole ?? []) delete (flow.nodes.find((node) => node.id === nodeId) as { config: Record<string, unknown> }).config.updatedAt;
    if (options.tagColumn) {
      workspace.mkt.exec('alter table contacts add column sync_tag text');
      (flow.nodes.find((node) => node.id === 'mkt') as { config: Record<string, unknown> }).config.tagColumn = 'sync_tag';
    }
    if (options.uniqueEmail) workspace.mkt.exec('create unique index contacts_email on contacts (email)');
    writeFileSync(workspace.flowPath, JSON.stringify(flow));
    const insert = workspace.crm.prepare('insert into leads (first_name, last_name, email, status, amount, updated_at) values (?, ?, ?, ?, ?, ?)');
    workspace.crm.transaction(() => {
      for (let index = 0; index < LEADS; index++) insert.run(`First${index}`, `Last${index}`, `lead${index}@example.com`, 'open', index, tick());
    })();
    return { flowPath: workspace.flowPath, state: join(workspace.dir, 'state.db') };
  }

  /** Kills a pass after its first batch, the recovering pass after its second, then after its first, then lets one finish. */
  async function crashRepeatedly(flowPath: string, state: string): Promise<void> {
    for (const killAfter of [1, 2, 1]) expect(await runOnce(flowPath, state, killAfter)).toEqual({ killed: true, summary: null });
    // Each killed pass left records nothing links to: the crash happened inside the window under test.
    expect(workspace.mkt.prepare('select count(*) from contacts').pluck().get()).toBeGreaterThan(0);
    const finished = await runOnce(flowPath, state);
    expect(finished.killed).toBe(false);
    expect(finished.summary).toMatchObject({ conflicts: 0, failed: 0 });
  }

  function expectBothSidesEqual(state: string): void {
    const contacts = workspace.mkt.prepare('select email, name from contacts order by email').all() as Array<{ email: string; name: string }>;
    expect(contacts).toHaveLength(LEADS);
    expect(new Set(contacts.map((contact) => contact.email)).size).toBe(LEADS);
    const leads = workspace.crm.prepare("select email, first_name || ' ' || last_name as name from leads order by email").all();
    expect(contacts).toEqual(leads);
    const db = new Sqlite(state, { readonly: true });
    try {
      expect(db.prepare('select count(*) from failing_records').pluck().get()).toBe(0);
      expect(db.prepare('select count(*) from conflicts').pluck().get()).toBe(0);
      expect(db.prepare('select count(*) from write_ahead').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  }

  async function expectQuiet(flowPath: string, state: string): Promise<void> {
    // The pass after an initial sync counts the echoes of its writes; the one after that sees nothing at all.
    const echoes = await runOnce(flowPath, state);
    expect(echoes.summary).toMatchObject({ created: 0, updated: 0, deleted: 0, conflicts: 0, failed: 0 });
    const quiet = await runOnce(flowPath, state);
    expect(quiet.summary).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
  }

  it('adopts what it wrote on a side without tags or a unique index: no duplicates, sides equal, next pass quiet', async () => {
    const { flowPath, state } = setUp({});
    await crashRepeatedly(flowPath, state);
    expectBothSidesEqual(state);
    await expectQuiet(flowPath, state);
  }, 120_000);

  it('adopts by tag on a side that stores tags', async () => {
    const { flowPath, state } = setUp({ tagColumn: true });
    await crashRepeatedly(flowPath, state);
    expectBothSidesEqual(state);
    await expectQuiet(flowPath, state);
  }, 120_000);

  it('with a unique index on the target, reports no failed creates and lists nothing as failing', async () => {
    const { flowPath, state } = setUp({ uniqueEmail: true });
    await crashRepeatedly(flowPath, state);
    expectBothSidesEqual(state);
    await expectQuiet(flowPath, state);
  }, 120_000);

  it.each([
    ['the target has no', ['mkt'] as Array<'crm' | 'mkt'>],
    ['neither side has a', ['crm', 'mkt'] as Array<'crm' | 'mkt'>],
  ])('adopts what it wrote when %s change feed (listed whole): no duplicates, sides equal, next pass quiet', async (_name, listedWhole) => {
    const { flowPath, state } = setUp({ listedWhole });
    await crashRepeatedly(flowPath, state);
    expectBothSidesEqual(state);
    await expectQuiet(flowPath, state);
    // The whole listing is also the delete scan: a record deleted on the target after all that is deleted on the source.
    const gone = workspace.mkt.prepare('select id, email from contacts order by email limit 1').get() as { id: string; email: string };
    workspace.mkt.prepare('delete from contacts where id = ?').run(gone.id);
    expect((await runOnce(flowPath, state)).summary).toMatchObject({ deleted: 1, created: 0, failed: 0 });
    expect(workspace.crm.prepare('select count(*) from leads where email = ?').pluck().get(gone.email)).toBe(0);
  }, 120_000);

  it('keeps an edit made to an adopted record after the crash', async () => {
    const { flowPath, state } = setUp({});
    expect((await runOnce(flowPath, state, 1)).killed).toBe(true);
    const orphan = workspace.mkt.prepare('select id, email from contacts order by email limit 1').get() as { id: string; email: string };
    workspace.mkt.prepare('update contacts set name = ?, modified_at = ? where id = ?').run('Edited After-Crash', tick(), orphan.id);
    const finished = await runOnce(flowPath, state);
    expect(finished.summary).toMatchObject({ conflicts: 0, failed: 0 });
    expect(workspace.mkt.prepare('select count(*) from contacts').pluck().get()).toBe(LEADS);
    expect(workspace.crm.prepare("select first_name || ' ' || last_name from leads where email = ?").pluck().get(orphan.email)).toBe('Edited After-Crash');
  }, 120_000);
});
