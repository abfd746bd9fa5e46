import Sqlite from 'better-sqlite3';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type ListeningServer } from '../../runtime/server';
import { contacts, peopleFlow, testRuntime, TOKEN, upsertPerson, type TestRuntime } from '../server/support';
import { chromiumRequirement, skipUnless } from '../support/requirements';
import { button } from './canvas';
import { buildEditor, launchBrowser, repoRoot, type Browser } from './harness';

const screenshots = join(repoRoot, 'test/output/screenshots');

function renameContact(dir: string, id: number, fullName: string) {
  const b = new Sqlite(join(dir, 'b.db'));
  try {
    b.prepare('UPDATE contacts SET full_name = ?, modified_at = ? WHERE id = ?').run(fullName, new Date().toISOString(), id);
  } finally {
    b.close();
  }
}

function personName(dir: string, id: number): string {
  const a = new Sqlite(join(dir, 'a.db'), { readonly: true });
  try {
    return (a.prepare('SELECT name FROM people WHERE id = ?').get(id) as { name: string }).name;
  } finally {
    a.close();
  }
}


const skip = skipUnless(chromiumRequirement());

describe.skipIf(skip)('the editor against the runtime', () => {
  let outDir: string;
  let runtime: TestRuntime;
  let server: ListeningServer;
  let browser: Browser;

  beforeAll(async () => {
    outDir = await buildEditor();
    runtime = await testRuntime({ editorDir: outDir });
    server = await listen(runtime.runtime.app, { host: '127.0.0.1', port: 0 });
    await runtime.runtime.start();
    browser = await launchBrowser({ width: 1600, height: 1000 });
    mkdirSync(screenshots, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await runtime?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('deploys, runs, reads the run history, and resolves a conflict from the inbox', async () => {
    const page = browser.page;
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.setDefaultTimeout(10_000);
    const notice = () => page.locator('.sl-notice').textContent();

    await page.goto(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
    // The token moves from the address bar to local storage.
    await expect.poll(() => page.url()).not.toContain('token=');

    const flowFile = join(runtime.dir, 'people.flow.json');
    writeFileSync(flowFile, JSON.stringify(peopleFlow({ detect: { mode: 'manual' }, namePolicy: 'manual' }), null, 2));
    await button(page, 'Import').click();
    await page.getByLabel('Open a .json file').setInputFiles(flowFile);
    await page.locator('.react-flow__node[data-id="b"]').waitFor();
    await expect.poll(() => page.locator('.sl-statusbar').textContent()).toContain('Issues (0 errors');

    const id = upsertPerson(runtime.dir, { name: 'Ada', email: 'ada@example.com' });

    // A draft's id is the person's to change; once the runtime stores the flow, it cannot rename it, so the id is fixed.
    const flowId = page.getByRole('complementary', { name: 'Flow settings' }).getByLabel('Flow id', { exact: true });
    expect(await flowId.isEditable()).toBe(true);
    await button(page, 'Deploy').click();
    await expect.poll(notice).toMatch(/Deployed "people"/);
    await expect.poll(() => flowId.isEditable()).toBe(false);
    await page.getByRole('complementary', { name: 'Flow settings' }).getByText('To copy the flow under another id, Export it and Import the file as a new flow.').waitFor();

    await button(page, 'Dry run').click();
    const dryRun = page.getByRole('region', { name: 'Dry run for b' });
    await expect.poll(() => dryRun.locator('h3').textContent()).toMatch(/1 to create, 0 to update, 0 to delete/);
    await dryRun.getByRole('cell', { name: 'Ada', exact: true }).first().waitFor();
    expect(contacts(runtime.dir)).toEqual([]);

    await button(page, 'Run now').click();
    await expect.poll(notice).toMatch(/Run finished: 1 created/);
    expect(contacts(runtime.dir)).toMatchObject([{ full_name: 'Ada', email: 'ada@example.com' }]);
    // Live status on the triggers, from the runtime's status route.
    await expect.poll(() => page.locator('.react-flow__node[data-id="a"] [data-testid="trigger-status"]').textContent()).toMatch(/1 synced/);

    await button(page, 'Runs').click();
    const history = page.getByRole('table', { name: 'Run history' });
    await history.getByRole('row').nth(1).waitFor();
    await history.getByRole('row').nth(1).getByRole('button', { name: /^Show run / }).click();
    const log = page.getByRole('region', { name: /^Run / });
    await log.getByText('created', { exact: true }).first().waitFor();
    await log.locator('summary').first().click();
    await log.getByRole('cell', { name: 'Ada', exact: true }).first().waitFor();
    await page.screenshot({ path: join(screenshots, 'run-history.png') });

    // Both sides change the name, which the flow resolves by hand: the run files a conflict.
    const contactId = contacts(runtime.dir)[0]?.id as number;
    upsertPerson(runtime.dir, { id, name: 'Ada L.', email: 'ada@example.com' });
    renameContact(runtime.dir, contactId, 'Ada Lovelace');
    await button(page, 'Run now').click();
    await expect.poll(notice).toMatch(/1 conflicts/);

    await page.getByRole('button', { name: /^Conflicts/ }).click();
    const conflict = page.getByRole('region', { name: /^Conflict on full_name/ });
    await conflict.getByRole('row', { name: /Base/ }).getByText('Ada', { exact: true }).waitFor();
    await conflict.getByRole('row', { name: /^a / }).getByText('Ada L.', { exact: true }).waitFor();
    await conflict.getByRole('row', { name: /^b / }).getByText('Ada Lovelace', { exact: true }).waitFor();
    await page.screenshot({ path: join(screenshots, 'conflicts-inbox.png') });
    await conflict.getByRole('button', { name: 'Keep b' }).click();
    await page.getByText('No open conflicts.').waitFor();

    await button(page, 'Run now').click();
    await expect.poll(notice).toMatch(/Run finished/);
    await expect.poll(() => personName(runtime.dir, id)).toBe('Ada Lovelace');

    // Opened again later, the flow comes from the runtime, and its triggers' fields from the connector.
    await page.reload();
    await button(page, 'All flows').click();
    await page.getByRole('table', { name: 'Flows' }).getByRole('button', { name: 'People: A <-> B' }).click();
    await page.locator('.react-flow__node[data-id="a"]').click();
    await page.locator('datalist option[value="people"]').first().waitFor({ state: 'attached' });
    await page.locator('datalist option[value="updated_at"]').first().waitFor({ state: 'attached' });
    expect(await page.getByLabel('Connector').locator('option').allTextContents()).toEqual(expect.arrayContaining(['SQLite']));

    // The mapping lists each side's described fields; pairs are made by picking, or accepted from suggestions.
    await page.locator('.react-flow__node[data-id="map"]').click();
    const form = page.getByRole('complementary', { name: 'Node settings' });
    await form.getByRole('button', { name: 'Right field full_name' }).waitFor();
    expect(await form.getByRole('button', { name: 'Left field id' }).count()).toBe(0);
    await form.getByRole('button', { name: 'Remove pair 2' }).click();
    await form.getByRole('button', { name: 'Accept email ↔ email' }).waitFor();
    await form.getByRole('button', { name: 'Remove pair 1' }).click();
    await form.getByRole('button', { name: 'Left field name' }).click();
    await form.getByRole('button', { name: 'Right field full_name' }).click();
    await form.getByRole('button', { name: 'Accept all suggestions' }).click();
    expect(await form.getByLabel('Left field of pair 1', { exact: true }).inputValue()).toBe('name');
    expect(await form.getByLabel('Right field of pair 1', { exact: true }).inputValue()).toBe('full_name');
    expect(await form.getByLabel('Right field of pair 2', { exact: true }).inputValue()).toBe('email');
    expect(errors).toEqual([]);
  }, 60_000);

  it('holds a mass delete for review, names its side, and lets it proceed from the inbox', async () => {
    const page = browser.page;
    page.setDefaultTimeout(10_000);
    const notice = () => page.locator('.sl-notice').textContent();
    await page.goto(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);

    // Deletes propagate, but a pass that would delete more than half of a side's linked records stops for review.
    const flow = peopleFlow({ id: 'mass', detect: { mode: 'manual' } }) as { name: string; nodes: Array<{ id: string; config: Record<string, unknown> }> };
    flow.name = 'Many deletes';
    const resolve = flow.nodes.find((node) => node.id === 'resolve');
    if (resolve) resolve.config.massDelete = { maxShare: 0.5, minCount: 2 };
    const flowFile = join(runtime.dir, 'mass.flow.json');
    writeFileSync(flowFile, JSON.stringify(flow, null, 2));
    await button(page, 'Import').click();
    await page.getByLabel('Open a .json file').setInputFiles(flowFile);
    await page.locator('.react-flow__node[data-id="b"]').waitFor();
    await button(page, 'Deploy').click();
    await expect.poll(notice).toMatch(/Deployed "mass"/);

    const names = ['Mo', 'Nia', 'Oz', 'Pat'];
    const ids = names.map((name) => upsertPerson(runtime.dir, { name, email: `${name.toLowerCase()}@mass.example.com` }));
    await button(page, 'Run now').click();
    await expect.poll(notice).toMatch(/Run finished/);
    expect(contacts(runtime.dir).map((contact) => contact.full_name)).toEqual(expect.arrayContaining(names));

    const a = new Sqlite(join(runtime.dir, 'a.db'));
    try {
      for (const id of ids.slice(0, 3)) a.prepare('DELETE FROM people WHERE id = ?').run(id);
    } finally {
      a.close();
    }
    await button(page, 'Run now').click();
    await expect.poll(notice).toMatch(/The run stopped: this pass would delete 3 of the \d+ records linked on "a"/);
    expect(contacts(runtime.dir).map((contact) => contact.full_name)).toEqual(expect.arrayContaining(names));

    await page.getByRole('button', { name: /^Conflicts/ }).click();
    const review = page.getByRole('region', { name: 'Conflict on a' });
    await review.getByRole('heading', { name: 'Many deletes held for review on a' }).waitFor();
    await review.getByRole('button', { name: 'Let the deletes proceed' }).click();
    await expect.poll(notice).toMatch(/Deletes let through/);
    await page.getByText('No open conflicts.').waitFor();

    // A deployed flow gets the pass that carries the decision at once.
    const left = () => contacts(runtime.dir).map((contact) => contact.full_name);
    await expect.poll(() => names.filter((name) => left().includes(name))).toEqual(['Pat']);
  });

  it('says plainly when the runtime is not reachable', async () => {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`http://127.0.0.1:${server.port}/?flow=people`);
    await page.locator('.react-flow__pane').waitFor();
    // The server goes away under the open editor.
    await page.route('**/api/**', (route) => route.abort('connectionrefused'));
    await button(page, 'Run now').click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/not reachable/);
    await page.getByRole('button', { name: /^Conflicts/ }).click();
    await page.getByRole('region', { name: 'Conflicts inbox' }).getByText(/not reachable/).first().waitFor();
    await page.close();
  });
});
