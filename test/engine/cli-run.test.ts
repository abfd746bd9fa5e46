import Sqlite from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRunArgs } from '../../runtime/commands/run';
import { leadsWorkspace, tick } from './sqlite-fixtures';

const run = promisify(execFile);
const cli = (args: string[]) => run(process.execPath, ['bin/syncline.mjs', ...args], { cwd: join(import.meta.dirname, '../..') });
/** The command line's exit code and output when it fails, for comparing whole. */
const failure = (args: string[]) =>
  cli(args).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
    ({ code, stdout, stderr }: { code: number; stdout: string; stderr: string }) => ({ code, stdout, stderr }),
  );
const insertLead = 'insert into leads (first_name, last_name, email, status, amount, updated_at) values (?, ?, ?, ?, ?, ?)';

/** What a person sees of their own database: its tables, journal mode and file mode. */
function lookOf(db: Sqlite.Database) {
  return { tables: db.prepare('select name from sqlite_master order by name').pluck().all(), journal: db.pragma('journal_mode', { simple: true }), mode: statSync(db.name).mode };
}

// `syncline run` on the SPEC §1 example with two real SQLite files, as a user would run it.
describe('syncline run --once', () => {
  let workspace: ReturnType<typeof leadsWorkspace>;

  beforeEach(() => {
    workspace = leadsWorkspace();
    workspace.crm.prepare(insertLead).run('Ada', 'Lovelace', 'ada@example.com', 'open', 5, tick());
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
      skipped: [],
    });
    expect(existsSync(state)).toBe(false);
    expect(workspace.mkt.prepare('select count(*) from contacts').pluck().get()).toBe(1);
  });

  it('--dry-run on a state that exists plans from its last commit, in its -wal file too, and leaves the file as it was', async () => {
    const state = join(workspace.dir, 'state.db');
    await cli(['run', workspace.flowPath, '--once', '--state', state]);
    // A read begun before the next pass keeps that pass's commits in the -wal file: no checkpoint copies them past it.
    const reader = new Sqlite(state);
    let planned: Record<string, unknown>;
    reader.exec('begin');
    reader.prepare('select count(*) from runs').get();
    try {
      workspace.crm.prepare(insertLead).run('Grace', 'Hopper', 'grace@example.com', 'open', 7, tick());
      expect(JSON.parse((await cli(['run', workspace.flowPath, '--once', '--state', state])).stdout)).toMatchObject({ created: 1, echoes: 2 });
      const file = readFileSync(state);
      const mainFileOnly = new Sqlite(Buffer.from(file).fill(1, 18, 20));
      expect(mainFileOnly.prepare('select count(*) from runs').pluck().get()).toBe(1);
      mainFileOnly.close();

      const dry = await cli(['run', workspace.flowPath, '--once', '--dry-run', '--state', state]);
      // Grace is known from the second pass, whose commits are in the -wal file alone: nothing left to create.
      planned = JSON.parse(dry.stdout);
      expect(planned).toMatchObject({ created: 0, updated: 0, deleted: 0, conflicts: 0, failed: 0, dryRun: true });
      expect(readFileSync(state).equals(file)).toBe(true);
    } finally {
      reader.exec('commit');
      reader.close();
    }
    // The pass the dry run planned, and the state's files still work for it.
    const { dryRun: _dryRun, sides: _sides, ...summary } = planned;
    expect(JSON.parse((await cli(['run', workspace.flowPath, '--once', '--state', state])).stdout)).toEqual(summary);
  });

  it("refuses a --state that is one of the flow's databases, or any database that is not a state, leaving it as it was", async () => {
    const crm = lookOf(workspace.crm);
    const crmFile = join(workspace.dir, 'crm.db');
    for (const dryRun of [[], ['--dry-run']]) {
      expect(await failure(['run', workspace.flowPath, '--once', ...dryRun, '--state', crmFile])).toEqual({
        code: 1,
        stdout: '',
        stderr: `syncline run: --state ${crmFile} is the database of node "crm" (connection.file "crm.db"): the state is one of Syncline's own files, which no flow may open; pick another --state, or another connection.file\n`,
      });
    }
    expect(lookOf(workspace.crm)).toEqual(crm);

    // A database the flow does not name, with tables of its own.
    const otherFile = join(workspace.dir, 'other.db');
    const other = new Sqlite(otherFile);
    try {
      other.exec('create table invoices (id integer primary key, total real); create table payments (id integer primary key)');
      const before = { ...lookOf(other), bytes: readFileSync(otherFile) };
      for (const dryRun of [[], ['--dry-run']]) {
        expect(await failure(['run', workspace.flowPath, '--once', ...dryRun, '--state', otherFile])).toEqual({
          code: 1,
          stdout: '',
          stderr: `syncline run: ${otherFile} holds tables of its own (invoices, payments) and is not a Syncline state: pick another --state\n`,
        });
      }
      expect({ ...lookOf(other), bytes: readFileSync(otherFile) }).toEqual(before);
    } finally {
      other.close();
    }
    expect(workspace.mkt.prepare('select count(*) from contacts').pluck().get()).toBe(1);
  });

  it('makes no folder for a --state in one that does not exist, only the default ./.syncline', async () => {
    const state = join(workspace.dir, 'nonexistent', 'dir', 'st.db');
    expect(await failure(['run', workspace.flowPath, '--once', '--state', state])).toEqual({
      code: 1,
      stdout: '',
      stderr: `syncline run: the state ${state}: its folder ${join(workspace.dir, 'nonexistent', 'dir')} does not exist; create the folder first, or pick another --state\n`,
    });
    expect(existsSync(join(workspace.dir, 'nonexistent'))).toBe(false);
    // The default state's folder is Syncline's own data folder, made for it on a first run.
    const fresh = await run(process.execPath, [join(import.meta.dirname, '../../bin/syncline.mjs'), 'run', workspace.flowPath, '--once'], { cwd: workspace.dir });
    expect(JSON.parse(fresh.stdout)).toMatchObject({ created: 2 });
    expect(existsSync(join(workspace.dir, '.syncline', 'state.db'))).toBe(true);
  });

  it("opens files in the flow file's folder only, unless --allow-files allows more, and never the state", async () => {
    // The flow moves into a folder of its own and names the databases beside it: outside its folder.
    const flowsDir = join(workspace.dir, 'flows');
    mkdirSync(flowsDir);
    const document = JSON.parse(readFileSync(workspace.flowPath, 'utf8')) as { nodes: Array<{ config: { connection?: { file: string } } }> };
    for (const node of document.nodes) if (node.config.connection) node.config.connection.file = `../${node.config.connection.file}`;
    const flowPath = join(flowsDir, 'leads.flow.json');
    writeFileSync(flowPath, JSON.stringify(document));
    const state = join(workspace.dir, 'state.db');

    const refused = await cli(['run', flowPath, '--once', '--state', state]).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/"\.\.\/crm\.db" is outside the folders a flow may open .*--allow-files/) });
    expect(workspace.mkt.prepare('select count(*) from contacts').pluck().get()).toBe(1);
    expect(workspace.mkt.pragma('journal_mode', { simple: true })).toBe('delete');

    const allowed = await cli(['run', flowPath, '--once', '--state', state, '--allow-files', workspace.dir]);
    expect(JSON.parse(allowed.stdout)).toMatchObject({ created: 2, failed: 0 });

    // The state sits in the allowed folder; a flow naming it is refused all the same.
    for (const node of document.nodes) if (node.config.connection) node.config.connection.file = '../state.db';
    writeFileSync(flowPath, JSON.stringify(document));
    await expect(cli(['run', flowPath, '--once', '--state', state, '--allow-files', workspace.dir])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("Syncline's own files"),
    });
  });

  it('reads --allow-files and --allow-hosts, and defaults to the flow folder with the state and its siblings protected', () => {
    const parsed = parseRunArgs(['flows/x.json', '--once', '--state', 'st/state.db', '--allow-files', 'shared', '--allow-hosts', '127.0.0.1:3000,localhost'], { SYNCLINE_ALLOW_HOSTS: 'db.internal' });
    if (typeof parsed === 'string') throw new Error(parsed);
    expect(parsed.access).toEqual({
      files: { allowedDirs: [resolve('flows'), resolve('shared')], runtimeFiles: ['state.db', 'webhooks.db', 'credentials.key', 'token'].map((name) => resolve('st', name)) },
      hosts: { allowed: ['127.0.0.1:3000', 'localhost', 'db.internal'] },
    });
    expect(parseRunArgs(['x.json', '--allow-hosts'], {})).toBe('--allow-hosts needs a value');
    expect(parseRunArgs(['x.json', '--allow-hosts', '169.254.169.254'], {})).toMatch(/never be allowed/);
  });

  it('exits 1 with the reasons when the flow is invalid, and 2 on wrong usage', async () => {
    await expect(cli(['run', join(workspace.dir, 'missing.json'), '--once'])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('cannot read') });
    await expect(cli(['run', '--once'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('usage') });
  });
});
