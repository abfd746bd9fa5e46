import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { leadsWorkspace, tick } from './sqlite-fixtures';

const run = promisify(execFile);
const cli = (args: string[]) => run(process.execPath, ['bin/syncline.mjs', ...args], { cwd: join(import.meta.dirname, '../..') });

// `syncline run` on the SPEC §1 example with two real SQLite files, as a user would run it.
describe('syncline run --once', () => {
  let workspace: ReturnType<typeof leadsWorkspace>;

  beforeEach(() => {
    workspace = leadsWorkspace();
    workspace.crm.prepare('insert into leads (first_name, last_name, email, status, amount, updated_at) values (?, ?, ?, ?, ?, ?)').run('Ada', 'Lovelace', 'ada@example.com', 'open', 5, tick());
    workspace.mkt.prepare('insert into contacts (id, name, email, stage, deal_value, modified_at) values (?, ?, ?, ?, ?, ?)').run('m1', 'Alan Turing', 'alan@example.com', 'Open', null, tick());
  });

  afterEach(() => {
    workspace.crm.close();
    workspace.mkt.close();
  });

  it('prints the SPEC §8 summary, and the pass after it only counts echoes', async () => {
    const state = join(workspace.dir, 'state.db');
    const first = await cli(['run', workspace.flowPath, '--once', '--state', state]);
    expect(JSON.parse(first.stdout)).toEqual({ created: 2, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 });
    const second = await cli(['run', workspace.flowPath, '--once', '--state', state]);
    expect(JSON.parse(second.stdout)).toEqual({ created: 0, updated: 0, deleted: 0, echoes: 2, conflicts: 0, failed: 0 });
    expect(workspace.mkt.prepare('select name from contacts order by name').pluck().all()).toEqual(['Ada Lovelace', 'Alan Turing']);
  });

  it('--dry-run prints field-level writes per side and writes nothing, state included', async () => {
    const state = join(workspace.dir, 'dry.db');
    const { stdout } = await cli(['run', workspace.flowPath, '--once', '--dry-run', '--state', state]);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ created: 2, dryRun: true });
    expect(report.sides).toContainEqual({
      nodeId: 'crm',
      creates: [{ id: null, fields: expect.arrayContaining([{ field: 'first_name', before: null, after: 'Alan' }]) }],
      updates: [],
      deletes: [],
    });
    expect(existsSync(state)).toBe(false);
    expect(workspace.mkt.prepare('select count(*) from contacts').pluck().get()).toBe(1);
  });

  it('exits 1 with the reasons when the flow is invalid, and 2 on wrong usage', async () => {
    await expect(cli(['run', join(workspace.dir, 'missing.json'), '--once'])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('cannot read') });
    await expect(cli(['run', '--once'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('usage') });
  });
});
