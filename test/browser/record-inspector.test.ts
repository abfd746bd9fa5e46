/**
 * "Where did this value come from?" and "why was this record skipped?" (issue 15), in the browser against a real
 * runtime: the demo as `npm start` installs it, a lead edited in the CRM and run from the editor, the run's details
 * opening the record inspector on it, a conflict resolved from the inspector, and the HR ↔ learning template, whose
 * HR trigger may not create, saying so in the dry run and in the run's details.
 */
import Sqlite from 'better-sqlite3';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installDemoIfFirstStart } from '../../runtime/demo/install';
import { silentLogger } from '../../runtime/observability/logger';
import { listen, type ListeningServer } from '../../runtime/server';
import { auth, testRuntime, type TestRuntime } from '../server/support';
import { chromiumRequirement, skipUnless } from '../support/requirements';
import { button, node, watchedPages, withToken } from './canvas';
import { buildEditor, launchBrowser, repoRoot, type Browser } from './harness';

const screenshots = join(repoRoot, 'test/output/screenshots');
const inspector = (page: Page) => page.getByRole('region', { name: 'Record inspector' });
/** A row of the inspector's fields table, by field: its cells as text (value now, came from, before, decided by). */
async function fieldRow(page: Page, field: string): Promise<string[]> {
  const row = inspector(page).getByRole('table', { name: /^Fields of / }).getByRole('row').filter({ has: page.getByRole('rowheader', { name: field, exact: true }) });
  return row.getByRole('cell').allTextContents();
}

/** Waits for a condition: the editor polls and renders on its own timers, which a busy machine slows down. */
const poll = <T>(check: () => T | Promise<T>, options: { message?: string; timeout?: number } = {}) => expect.poll(check, { timeout: 15_000, ...options });

const skip = skipUnless(chromiumRequirement());

describe.skipIf(skip)('the record inspector and skip reasons in the editor', () => {
  let outDir: string;
  let t: TestRuntime;
  let server: ListeningServer;
  let browser: Browser;
  const pages = watchedPages(() => browser.context, 15_000);

  beforeAll(async () => {
    outDir = await buildEditor();
    t = await testRuntime({ editorDir: outDir });
    // The demo as a first start installs it; its passes run when a test asks (the scheduler is not started), so the
    // run that carried an edit is the one the test made.
    if (!(await installDemoIfFirstStart(t.runtime, t.dir, silentLogger()))) throw new Error('the demo did not install');
    const first = await t.post('/api/flows/leads/run');
    if (first.status !== 200) throw new Error(`demo pass: ${first.status} ${await first.text()}`);
    server = await listen(t.runtime.app, { host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
    mkdirSync(screenshots, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await t?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  const openPage = (path: string) => pages.open(withToken(`http://127.0.0.1:${server.port}/${path}`));
  const closePage = pages.close;

  it('opens from a run’s details on the record a person edited: the side, the run and the value before', async () => {
    // A lead's status changed in the CRM, by a person.
    const crm = new Sqlite(join(t.dir, 'crm.db'));
    const lead = crm.prepare('SELECT id, first_name, last_name, status FROM leads WHERE id = 7').get() as { id: number; first_name: string; last_name: string; status: string };
    const status = lead.status === 'qualified' ? 'closed-won' : 'qualified';
    crm.prepare('UPDATE leads SET status = ?, updated_at = ? WHERE id = ?').run(status, new Date().toISOString(), lead.id);
    crm.close();
    const stages: Record<string, string> = { open: 'Open', qualified: 'Qualified', 'closed-won': 'Closed Won', 'closed-lost': 'Closed Lost' };
    const name = `${lead.first_name} ${lead.last_name}`;

    const page = await openPage('?flow=leads');
    await node(page, 'crm').waitFor();
    await button(page, 'Run now').click();
    await poll(() => page.locator('.sl-notice').textContent()).toMatch(/Run finished: 0 created, 1 updated/);
    const [newest] = (await (await t.request('/api/flows/leads/runs?limit=1', { headers: auth })).json()) as Array<{ id: string }>;

    await button(page, 'Runs').click();
    await page.getByRole('table', { name: 'Run history' }).getByRole('button', { name: `Show run ${newest!.id}` }).click();
    const log = page.getByRole('region', { name: `Run ${newest!.id}` });
    await log.getByText(new RegExp(`^updated “${name}” \\(\\d+\\) on mkt$`)).waitFor();
    await log.getByRole('listitem').filter({ hasText: /^updated / }).getByRole('button', { name: new RegExp(`^Inspect record “${name}” \\(\\d+\\) on mkt$`) }).click();

    await inspector(page).getByRole('heading', { name: `Record “${name}”` }).waitFor();
    const [value, cameFrom, before, decidedBy] = await fieldRow(page, 'stage');
    expect(value).toBe(stages[status]);
    expect(cameFrom).toMatch(/^crm, in the run of /);
    expect(before).toBe(stages[lead.status]);
    expect(decidedBy).toBe('only changecrm was the only side that changed it');
    // Fields nobody changed since came from the first pass, which linked the lead.
    expect((await fieldRow(page, 'email'))[1]).toMatch(/^crm, in the run of /);
    expect((await fieldRow(page, 'email'))[3]).toMatch(/^first sync/);
    await inspector(page).getByRole('region', { name: 'On mkt' }).getByRole('table', { name: 'mkt as last in sync' }).getByText(stages[status]!).waitFor();
    // The README's picture: the panel made as tall as it goes, from the keyboard, so the sides' records show too.
    await page.setViewportSize({ width: 1440, height: 1200 });
    await page.getByRole('separator', { name: 'Resize the record inspector panel' }).focus();
    await page.keyboard.press('End');
    await inspector(page).getByRole('region', { name: 'On crm' }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(repoRoot, 'docs/record-inspector.png') });

    // "In that run": the run named beside the value is the run the edit was carried in, and the keyboard gets there.
    const showRun = inspector(page).getByRole('table', { name: /^Fields of / }).getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'stage', exact: true }) }).getByRole('button', { name: /^Show the run of / });
    await showRun.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('region', { name: `Run ${newest!.id}` }).waitFor();
    await closePage(page);
  }, 90_000);

  it('opens from a conflict, and after the conflict is resolved there says it was a manual resolution', async () => {
    const page = await openPage('?flow=leads');
    await node(page, 'crm').waitFor();
    await page.getByRole('button', { name: 'Conflicts (1 open)' }).click();
    const inbox = page.getByRole('region', { name: 'Conflicts inbox' });
    const conflict = inbox.getByRole('region', { name: /^Conflict on name of / });
    const sides = (await t.db.selectFrom('conflicts').select('sides').where('flow_id', '=', 'leads').where('status', '=', 'open').executeTakeFirstOrThrow()).sides;
    const marketingName = (JSON.parse(sides) as Record<string, string>).mkt as string;
    await conflict.getByRole('button', { name: /^Inspect record / }).click();

    const waiting = inspector(page).getByRole('region', { name: /^Open conflicts of / });
    await waiting.getByText('“name” differs between the sides', { exact: false }).waitFor();
    expect((await fieldRow(page, 'name'))[0]).toContain('waiting on an open conflict');
    await waiting.getByRole('button', { name: 'Keep mkt' }).click();

    await poll(async () => (await fieldRow(page, 'name'))[3]).toBe('manual resolutiona person kept mkt’s value to settle a conflict');
    const [value, cameFrom] = await fieldRow(page, 'name');
    expect(value).toBe(marketingName);
    expect(cameFrom).toMatch(/^mkt, /);
    expect(await inspector(page).getByRole('region', { name: /^Open conflicts of / }).count()).toBe(0);
    await button(page, 'Back to the conflicts').click();
    await inbox.getByText('No open conflicts.').waitFor();
    await page.screenshot({ path: join(screenshots, 'record-inspector-resolved.png') });
    await closePage(page);
  }, 60_000);

  it('says in the dry run and in the run’s details why the HR template does not create a learner in HR', async () => {
    // The template's two systems, in the runtime's data folder: one employee, a learner who is that employee, and a
    // contractor who is a learner only.
    const hr = new Sqlite(join(t.dir, 'hr.db'));
    hr.exec('CREATE TABLE employees (employee_id TEXT PRIMARY KEY, work_email TEXT, full_name TEXT, department TEXT, job_title TEXT, training_completed_at TEXT, certification TEXT, updated_at TEXT)');
    hr.prepare('INSERT INTO employees VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('E1', 'ada@corp.example', 'Ada Lovelace', 'Research', 'Analyst', null, null, new Date().toISOString());
    hr.close();
    const learning = new Sqlite(join(t.dir, 'learning.db'));
    learning.exec('CREATE TABLE learners (id INTEGER PRIMARY KEY, email TEXT, display_name TEXT, team TEXT, role TEXT, completed_at TEXT, certificate TEXT, updated_at TEXT)');
    const learner = learning.prepare('INSERT INTO learners (email, display_name, team, role, completed_at, certificate, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    learner.run('ada@corp.example', 'Ada Lovelace', 'Research', 'Analyst', null, null, new Date().toISOString());
    const contractor = Number(learner.run('contractor@else.example', 'Contractor', 'n/a', 'n/a', null, null, new Date().toISOString()).lastInsertRowid);
    learning.close();
    const reason = 'not created in "hr": "Create records" is off for that trigger';

    const page = await openPage('');
    await button(page, 'New flow').click();
    await page.getByRole('dialog', { name: 'New flow' }).getByRole('button', { name: 'HR ↔ learning', exact: true }).click();
    await node(page, 'learning').waitFor();

    await button(page, 'Dry run').click();
    const planned = page.getByRole('region', { name: 'Dry run for learning' });
    await poll(() => planned.locator('h3').textContent()).toMatch(/1 not carried$/);
    expect(await planned.getByRole('list', { name: 'Not carried from learning' }).textContent()).toBe(`skipped record ${contractor} — ${reason}`);
    await page.screenshot({ path: join(screenshots, 'dry-run-skip-reason.png') });

    await button(page, 'Run now').click();
    await poll(() => page.locator('.sl-notice').textContent()).toMatch(/Run finished/);
    await button(page, 'Runs').click();
    await page.getByRole('table', { name: 'Run history' }).getByRole('button', { name: /^Show run / }).first().click();
    const log = page.getByRole('region', { name: /^Run / });
    await log.getByText(`skipped “contractor@else.example” (${contractor}) on learning — ${reason}`).waitFor();
    await page.screenshot({ path: join(screenshots, 'run-skip-reason.png') });
    await closePage(page);
  }, 90_000);
});
