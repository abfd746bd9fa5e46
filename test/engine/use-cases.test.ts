import Sqlite from 'better-sqlite3';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../runtime/connectors/index';
import { openStateDb, type StateDb } from '../../runtime/db/index';
import { SyncEngine } from '../../runtime/engine/index';
import { loadValid, tick } from './sqlite-fixtures';

// The foundation's use-case flows, each on real SQLite files, run through the real engine.

interface FlowJson {
  nodes: Array<{ id: string; config: Record<string, unknown> }>;
}

interface Workspace {
  dir: string;
  databases: Record<string, Sqlite.Database>;
  engine: SyncEngine;
  run: () => ReturnType<SyncEngine['runPass']>;
  close: () => Promise<void>;
}

/** `adjust` changes the fixture's flow before it is loaded, as a user editing it would. */
async function workspace(flowName: string, schemas: Record<string, string>, adjust?: (flow: FlowJson) => void): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), `syncline-${flowName}-`));
  const flowPath = join(dir, `${flowName}.flow.json`);
  copyFileSync(new URL(`../fixtures/flows/${flowName}.flow.json`, import.meta.url), flowPath);
  if (adjust) {
    const flow = JSON.parse(readFileSync(flowPath, 'utf8')) as FlowJson;
    adjust(flow);
    writeFileSync(flowPath, JSON.stringify(flow));
  }
  const databases: Record<string, Sqlite.Database> = {};
  for (const [file, schema] of Object.entries(schemas)) {
    databases[file] = new Sqlite(join(dir, file));
    databases[file].exec(schema);
  }
  const flow = loadValid(readFileSync(flowPath, 'utf8'));
  const db: StateDb = await openStateDb(':memory:');
  const engine = new SyncEngine({ db, connectors: connectorRegistry, retry: { attempts: 2, baseMs: 1, maxWaitMs: 5 } });
  return {
    dir,
    databases,
    engine,
    run: () => engine.runPass(flow, { baseDir: dir }),
    close: async () => {
      for (const database of Object.values(databases)) database.close();
      await db.destroy();
    },
  };
}

let current: Workspace | null = null;
afterEach(async () => {
  await current?.close();
  current = null;
});

describe('support tickets <-> engineering issues', () => {
  it('maps status and priority both ways, sends comments one way, and settles', async () => {
    const w = (current = await workspace('tickets', {
      'helpdesk.db': 'create table tickets (id integer primary key, number text, subject text, description text, status text, priority text, comments text, updated_at text, sync_tag text)',
      'engineering.db': 'create table issues (id integer primary key, helpdesk_ref text, title text, body text, state text, priority text, support_comments text, modified_at text, sync_tag text)',
    }));
    const helpdesk = w.databases['helpdesk.db']!;
    const engineering = w.databases['engineering.db']!;
    // The issue was filed before the ticket's latest edit, so on first linking the ticket's values win (last write).
    engineering.prepare('insert into issues (helpdesk_ref, title, body, state, priority, support_comments, modified_at) values (?, ?, ?, ?, ?, ?, ?)').run('HD-1', 'Login fails', 'Since Monday', 'todo', 'P2', null, tick());
    const ticket = helpdesk.prepare('insert into tickets (number, subject, description, status, priority, comments, updated_at) values (?, ?, ?, ?, ?, ?, ?)');
    ticket.run('HD-1', 'Login fails', 'Since Monday', 'open', 'high', 'customer called twice', tick());
    ticket.run('HD-2', 'Export is slow', 'CSV export takes minutes', 'new', 'normal', null, tick());

    const first = await w.run();
    expect(first.summary).toMatchObject({ created: 1, failed: 0 });
    expect(engineering.prepare("select title, state, priority, support_comments from issues where helpdesk_ref = 'HD-2'").get()).toEqual({
      title: 'Export is slow',
      state: 'triage',
      priority: 'P3',
      support_comments: null,
    });
    expect(engineering.prepare("select support_comments from issues where helpdesk_ref = 'HD-1'").pluck().get()).toBe('customer called twice');

    engineering.prepare("update issues set state = 'done', support_comments = 'engineering note', modified_at = ? where helpdesk_ref = 'HD-1'").run(tick());
    helpdesk.prepare("update tickets set priority = 'urgent', updated_at = ? where number = 'HD-2'").run(tick());
    const second = await w.run();
    expect(second.summary.failed).toBe(0);
    expect(helpdesk.prepare("select status, comments from tickets where number = 'HD-1'").get()).toEqual({ status: 'solved', comments: 'customer called twice' });
    expect(engineering.prepare("select priority from issues where helpdesk_ref = 'HD-2'").pluck().get()).toBe('P1');

    const third = await w.run();
    expect(third.summary).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
    expect(third.summary.echoes).toBeGreaterThan(0);
  });
});

describe('a manual field between sides that name it differently', () => {
  it('keeps both edits and writes nothing for the field until the conflict is resolved (SPEC §5.4)', async () => {
    const w = (current = await workspace(
      'tickets',
      {
        'helpdesk.db': 'create table tickets (id integer primary key, number text, subject text, description text, status text, priority text, comments text, updated_at text, sync_tag text)',
        'engineering.db': 'create table issues (id integer primary key, helpdesk_ref text, title text, body text, state text, priority text, support_comments text, modified_at text, sync_tag text)',
      },
      (flow) => {
        const resolve = flow.nodes.find((node) => node.id === 'resolve') as unknown as { config: { fields: Record<string, unknown> } };
        resolve.config.fields.title = 'manual';
      },
    ));
    const helpdesk = w.databases['helpdesk.db']!;
    const engineering = w.databases['engineering.db']!;
    helpdesk.prepare('insert into tickets (number, subject, description, status, priority, updated_at) values (?, ?, ?, ?, ?, ?)').run('HD-1', 'Login fails', 'Since Monday', 'open', 'high', tick());
    expect((await w.run()).summary).toMatchObject({ created: 1, failed: 0 });

    // The help desk edits the subject (and the description); engineering edits the title it maps to.
    helpdesk.prepare("update tickets set subject = 'Login fails on Safari', description = 'Since Monday, Safari only', updated_at = ? where number = 'HD-1'").run(tick());
    engineering.prepare("update issues set title = 'SSO login broken', modified_at = ? where helpdesk_ref = 'HD-1'").run(tick());
    const filed = await w.run();
    expect(filed.summary).toMatchObject({ conflicts: 1, failed: 0 });
    expect(helpdesk.prepare("select subject from tickets where number = 'HD-1'").pluck().get()).toBe('Login fails on Safari');
    expect(engineering.prepare("select title, body from issues where helpdesk_ref = 'HD-1'").get()).toEqual({ title: 'SSO login broken', body: 'Since Monday, Safari only' });

    // Passes while it is open leave the field alone on both sides.
    await w.run();
    expect(helpdesk.prepare("select subject from tickets where number = 'HD-1'").pluck().get()).toBe('Login fails on Safari');
    expect(engineering.prepare("select title from issues where helpdesk_ref = 'HD-1'").pluck().get()).toBe('SSO login broken');

    const [conflict] = await w.engine.listConflicts({ status: 'open' });
    expect(conflict).toMatchObject({ field: 'title', sides: { helpdesk: 'Login fails on Safari', engineering: 'SSO login broken' } });
    await w.engine.resolveConflict(conflict!.id, { side: 'helpdesk' });
    await w.run();
    expect(engineering.prepare("select title from issues where helpdesk_ref = 'HD-1'").pluck().get()).toBe('Login fails on Safari');
    expect(helpdesk.prepare("select subject from tickets where number = 'HD-1'").pluck().get()).toBe('Login fails on Safari');
  });
});

describe('HR employees <-> learning-system learners', () => {
  it('creates learners from HR, and training completion flows back to HR only', async () => {
    const w = (current = await workspace('hr-learning', {
      'hr.db': 'create table employees (employee_id text primary key, work_email text, full_name text, department text, job_title text, training_completed_at text, certification text, updated_at text)',
      'learning.db': 'create table learners (id integer primary key, email text, display_name text, team text, role text, completed_at text, certificate text, updated_at text)',
    }));
    const hr = w.databases['hr.db']!;
    const learning = w.databases['learning.db']!;
    const employee = hr.prepare('insert into employees values (?, ?, ?, ?, ?, ?, ?, ?)');
    employee.run('E1', 'ada@corp.example', 'Ada Lovelace', 'Research', 'Analyst', null, null, tick());
    employee.run('E2', 'grace@corp.example', 'Grace Hopper', 'Engineering', 'Admiral', null, null, tick());
    const learner = learning.prepare('insert into learners (email, display_name, team, role, completed_at, certificate, updated_at) values (?, ?, ?, ?, ?, ?, ?)');
    learner.run('ADA@corp.example', 'Ada Lovelace', 'old team', 'old role', '2026-03-01', 'Security 101', tick());
    learner.run('contractor@else.example', 'Contractor', 'n/a', 'n/a', null, null, tick());

    const first = await w.run();
    expect(first.summary.failed).toBe(0);
    // HR may not be created in: the contractor stays a learner only.
    expect(hr.prepare('select count(*) from employees').pluck().get()).toBe(2);
    expect(hr.prepare("select training_completed_at, certification from employees where employee_id = 'E1'").get()).toEqual({
      training_completed_at: '2026-03-01',
      certification: 'Security 101',
    });
    expect(learning.prepare("select display_name, team, role from learners where email = 'grace@corp.example'").get()).toEqual({
      display_name: 'Grace Hopper',
      team: 'Engineering',
      role: 'Admiral',
    });
    // HR wins the fields it owns.
    expect(learning.prepare("select team, role from learners where display_name = 'Ada Lovelace'").get()).toEqual({ team: 'Research', role: 'Analyst' });

    learning.prepare("update learners set team = 'renamed by learning', completed_at = '2026-04-02', updated_at = ? where email = 'grace@corp.example'").run(tick());
    await w.run();
    expect(hr.prepare("select department, training_completed_at from employees where employee_id = 'E2'").get()).toEqual({
      department: 'Engineering',
      training_completed_at: '2026-04-02',
    });
    const settled = await w.run();
    expect(settled.summary).toMatchObject({ created: 0, failed: 0 });
  });
});

describe('three systems at one hub', () => {
  it('creates a record from one system on the other two and carries each change to both others', async () => {
    const w = (current = await workspace('hub', {
      'crm.db': 'create table accounts (id integer primary key, email text, company text, phone text, updated_at text)',
      'billing.db': 'create table customers (id integer primary key, billing_email text, legal_name text, plan text, changed_at text)',
      'support.db': 'create table organisations (id integer primary key, contact_email text, org_name text, tier text, phone_number text, updated_at text, sync_tag text)',
    }));
    const crm = w.databases['crm.db']!;
    const billing = w.databases['billing.db']!;
    const support = w.databases['support.db']!;
    crm.prepare('insert into accounts (email, company, phone, updated_at) values (?, ?, ?, ?)').run('ops@acme.example', 'Acme', '555-0100', tick());
    billing.prepare('insert into customers (billing_email, legal_name, plan, changed_at) values (?, ?, ?, ?)').run('OPS@acme.example', 'Acme Ltd', 'team', tick());

    const first = await w.run();
    expect(first.summary.failed).toBe(0);
    expect(support.prepare('select contact_email, org_name, tier, phone_number from organisations').all()).toEqual([
      { contact_email: 'OPS@acme.example', org_name: 'Acme Ltd', tier: 'Team', phone_number: '555-0100' },
    ]);
    expect(crm.prepare('select company from accounts').pluck().get()).toBe('Acme Ltd');

    billing.prepare("update customers set plan = 'enterprise', changed_at = ?").run(tick());
    support.prepare("update organisations set phone_number = '555-0199', updated_at = ?").run(tick());
    await w.run();
    expect(support.prepare('select tier from organisations').pluck().get()).toBe('Enterprise');
    expect(crm.prepare('select phone from accounts').pluck().get()).toBe('555-0199');
    const settled = await w.run();
    expect(settled.summary).toMatchObject({ created: 0, updated: 0, failed: 0 });
  });
});
