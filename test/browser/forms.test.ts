import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFlow } from '../../nodes/flow/load';
import { chromiumRequirement, skipUnless } from '../support/requirements';
import { button, dropNode, exportFlow, nameNode, panel, selectNode, watchedPages } from './canvas';
import { buildEditor, launchBrowser, repoRoot, serveEditor, startEmptyFlow, type Browser, type StaticServer } from './harness';

type Document = { nodes: { id: string; config: Record<string, unknown> }[] };

const readJson = (path: string): Document => JSON.parse(readFileSync(path, 'utf8')) as Document;
const configOf = (document: Document, id: string) => document.nodes.find((each) => each.id === id)?.config;

/** The hint under a labelled box of the node panel: for a value box, the type it reads what is typed as. */
const hintOf = (page: Page, label: string) => panel(page).locator('.sl-field', { has: page.getByLabel(label, { exact: true }) }).locator('.sl-field__hint');

/** Types into a box key by key, as a person does, after selecting what it holds. */
async function typeOver(box: Locator, text: string) {
  await box.click();
  await box.press('ControlOrMeta+a');
  await box.pressSequentially(text);
}

const hasFocus = (box: Locator) => box.evaluate((element) => element === document.activeElement);

const skip = skipUnless(chromiumRequirement());

describe.skipIf(skip)('the node forms in Chromium', () => {
  let outDir: string;
  let server: StaticServer;
  let browser: Browser;
  let downloads: string;

  beforeAll(async () => {
    outDir = await buildEditor();
    server = await serveEditor(outDir);
    browser = await launchBrowser();
    downloads = mkdtempSync(join(tmpdir(), 'syncline-downloads-'));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(outDir, { recursive: true, force: true });
    rmSync(downloads, { recursive: true, force: true });
  });

  const pages = watchedPages(() => browser.context, 10_000);

  async function openEditor(): Promise<Page> {
    const page = await pages.open(server.url);
    await startEmptyFlow(page);
    return page;
  }

  it('takes a number, true or false, null and text in value boxes, and says which each box holds', async () => {
    const page = await openEditor();
    await dropNode(page, 'Mapping', 300, 200);
    await nameNode(page, 'map');
    await button(page, 'Add pair').click();
    await button(page, 'Add value to pair 1').click();
    await button(page, 'Add value to pair 1').click();
    const box = (label: string) => panel(page).getByLabel(label, { exact: true });
    // Typed into a fresh row, and into one emptied first: a number either way.
    await box('Left value 1 of pair 1').fill('3');
    await box('Right value 1 of pair 1').fill('"3"');
    await box('Left value 2 of pair 1').fill('x');
    await box('Left value 2 of pair 1').fill('');
    await typeOver(box('Left value 2 of pair 1'), '1.05');
    await box('Right value 2 of pair 1').fill('true');
    await expect.poll(() => hintOf(page, 'Left value 1 of pair 1').textContent()).toBe('A number; for text, put it in quotes: "3".');
    await expect.poll(() => hintOf(page, 'Right value 1 of pair 1').textContent()).toBe('Text.');
    expect(await box('Left value 2 of pair 1').inputValue()).toBe('1.05');

    await dropNode(page, 'Transform', 300, 400);
    await nameNode(page, 'fill');
    await panel(page).getByLabel('New op').selectOption('default');
    await button(page, 'Add op').click();
    await box('Value (op 1)').fill('null');
    await expect.poll(() => hintOf(page, 'Value (op 1)').textContent()).toBe('Null, no value; for text, put it in quotes: "null".');
    await panel(page).getByLabel('New op').selectOption('valueMap');
    await button(page, 'Add op').click();
    await button(page, 'Add value to op 2').click();
    await box('From value 1 (op 2)').fill('0');
    await box('To value 1 (op 2)').fill('Open');

    const exported = readJson(await exportFlow(page, downloads));
    expect(configOf(exported, 'map')?.fields).toMatchObject([{ values: [{ left: 3, right: '3' }, { left: 1.05, right: true }] }]);
    expect(configOf(exported, 'fill')?.ops).toEqual([
      { op: 'default', field: '', value: null },
      { op: 'valueMap', field: '', values: [{ from: 0, to: 'Open' }] },
    ]);

    // Shown again, each value reads as it was stored: text that looks like a number in quotes.
    await selectNode(page, 'map');
    expect(await box('Right value 1 of pair 1').inputValue()).toBe('"3"');
    expect(await box('Left value 1 of pair 1').inputValue()).toBe('3');
    await pages.close(page);
  });

  it('keeps an override whose name another is typed through, and the row typed in keeps its focus', async () => {
    const page = await openEditor();
    await dropNode(page, 'Conflict', 300, 200);
    await nameNode(page, 'resolve');
    await button(page, 'Add override').click();
    await panel(page).getByLabel('Override 1 field', { exact: true }).fill('name');
    await panel(page).getByLabel('Override 1 policy', { exact: true }).selectOption('manual');
    await button(page, 'Add override').click();
    const second = panel(page).getByLabel('Override 2 field', { exact: true });

    await typeOver(second, 'name');
    const clash = panel(page).locator('.sl-field--invalid', { has: page.getByLabel('Override 2 field', { exact: true }) });
    await clash.getByText('another override already names this field: the overrides are saved once each names its own field').waitFor();
    await second.pressSequentially('_full');
    await expect.poll(() => clash.count()).toBe(0);
    expect(await hasFocus(second)).toBe(true);
    expect(await panel(page).getByLabel('Override 1 field', { exact: true }).inputValue()).toBe('name');

    const exported = readJson(await exportFlow(page, downloads));
    expect(configOf(exported, 'resolve')?.fields).toEqual({ name: 'manual', name_full: 'last-write-wins' });
    await pages.close(page);
  });

  it('keeps a backward expression whose field another is typed through, and the row typed in keeps its focus', async () => {
    const page = await openEditor();
    await dropNode(page, 'Transform', 300, 200);
    await nameNode(page, 'names');
    await panel(page).getByLabel('New op').selectOption('expression');
    await button(page, 'Add op').click();
    await panel(page).getByLabel('Backward (op 1)').selectOption('fields');
    await button(page, 'Add backward field (op 1)').click();
    await panel(page).getByLabel('Backward field 1 (op 1)', { exact: true }).fill('first_name');
    await panel(page).getByLabel('Backward expression for first_name (op 1)').fill("$substringBefore(full_name, ' ')");
    await button(page, 'Add backward field (op 1)').click();
    const second = panel(page).getByLabel('Backward field 2 (op 1)', { exact: true });

    await typeOver(second, 'first_name');
    const clash = panel(page).locator('.sl-field--invalid', { has: page.getByLabel('Backward field 2 (op 1)', { exact: true }) });
    await clash.getByText('another backward expression already names this field', { exact: false }).waitFor();
    await second.pressSequentially('_alt');
    await expect.poll(() => clash.count()).toBe(0);
    expect(await hasFocus(second)).toBe(true);

    const exported = readJson(await exportFlow(page, downloads));
    expect((configOf(exported, 'names')?.ops as { backward: unknown }[])[0]?.backward).toEqual({ first_name: "$substringBefore(full_name, ' ')", first_name_alt: '' });
    await pages.close(page);
  });

  it('reports a duplicate node id of an imported file on the node, and counts the issues the Issues panel lists', async () => {
    const leads = readJson(join(repoRoot, 'test/fixtures/flows/leads.flow.json'));
    const crm = leads.nodes.find((each) => each.id === 'crm');
    const file = { ...leads, nodes: [...leads.nodes, { ...crm, position: { x: 0, y: 300 } }] };
    const page = await openEditor();
    await button(page, 'Import').click();
    await page.getByLabel("Or paste the flow's JSON").fill(JSON.stringify(file));
    await button(page, 'Import pasted JSON').click();

    const notice = page.locator('.sl-notice__text');
    await expect.poll(() => notice.textContent()).toMatch(/^Imported the pasted text/);
    const rows = page.getByRole('region', { name: 'Issues' }).locator('tbody tr');
    await rows.getByText('duplicate node id "crm" in the file; shown as "crm-copy" until you give it an id of its own').waitFor();
    const listed = await rows.count();
    // The file read as it is has other issues than the canvas: the message must count the canvas's.
    expect(loadFlow(file).issues.length).not.toBe(listed);
    expect(await notice.textContent()).toMatch(new RegExp(`with ${listed} issues:`));

    await selectNode(page, 'crm-copy');
    await panel(page).getByRole('region', { name: 'Issues of node crm-copy' }).getByText('duplicate node id "crm" in the file', { exact: false }).waitFor();
    await pages.close(page);
  });
});
