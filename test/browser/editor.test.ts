import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFlow } from '../../nodes/flow/load';
import { chromiumRequirement, skipUnless } from '../support/requirements';
import { button, connect, dropNode, exportFlow, nameNode, node, panel, selectNode, watchedPages } from './canvas';
import { buildEditor, launchBrowser, repoRoot, serveEditor, startEmptyFlow, type Browser, type StaticServer } from './harness';

const run = promisify(execFile);
const screenshots = join(repoRoot, 'test/output/screenshots');
const fixture = (path: string) => join(repoRoot, 'test/fixtures', path);
const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

/**
 * Draws an edge the graph rules allow, and waits for it. On a heavily loaded machine a drag can be lost (the canvas
 * re-rendered under the pointer between reading the handles' places and the drag): it is drawn again, up to three
 * times, never more than once after the edge appeared.
 */
async function connectAllowed(page: Page, from: string, to: string) {
  const edges = page.locator('.react-flow__edge');
  const before = await edges.count();
  for (let attempt = 1; ; attempt++) {
    await connect(page, from, to);
    try {
      await expect.poll(() => edges.count(), { timeout: 5_000 }).toBe(before + 1);
      return;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

async function importFile(page: Page, path: string) {
  await button(page, 'Import').click();
  await page.getByLabel('Open a .json file').setInputFiles(path);
  await page.getByRole('dialog').waitFor({ state: 'detached' });
}

/** Error counts per node id, as the validator reports them for a document. */
function errorsByNode(document: unknown): Map<string, number> {
  const counts = new Map<string, number>();
  for (const issue of loadFlow(document).issues) {
    if (issue.severity === 'error' && issue.nodeId !== undefined) counts.set(issue.nodeId, (counts.get(issue.nodeId) ?? 0) + 1);
  }
  return counts;
}

const skip = skipUnless(chromiumRequirement());

describe.skipIf(skip)('the editor in Chromium', () => {
  let outDir: string;
  let server: StaticServer;
  let browser: Browser;
  let downloads: string;

  beforeAll(async () => {
    outDir = await buildEditor();
    server = await serveEditor(outDir);
    browser = await launchBrowser({ width: 1920, height: 1080 });
    downloads = mkdtempSync(join(tmpdir(), 'syncline-downloads-'));
    mkdirSync(screenshots, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(outDir, { recursive: true, force: true });
    rmSync(downloads, { recursive: true, force: true });
  });

  // Fail fast: every step here takes well under a second when the editor works.
  const pages = watchedPages(() => browser.context, 10_000);

  async function openEditor(): Promise<Page> {
    const page = await pages.open(server.url);
    await startEmptyFlow(page);
    return page;
  }

  /** Closes the page; an uncaught error in it fails the test that caused it. */
  const closeEditor = pages.close;

  it('builds the leads flow from an empty canvas, and the export validates', async () => {
    const page = await openEditor();
    expect(await page.locator('.react-flow__node').count()).toBe(0);

    await dropNode(page, 'Trigger', 40, 200);
    await nameNode(page, 'crm');
    await panel(page).getByLabel('Database file').fill('crm.db');
    await panel(page).getByLabel('Collection').fill('leads');
    await panel(page).getByLabel('Updated-at field').fill('updated_at');
    expect(await panel(page).getByLabel('Key field').inputValue()).toBe('id');

    await dropNode(page, 'Transform', 300, 200);
    await nameNode(page, 'names');
    await panel(page).getByLabel('New op').selectOption('expression');
    await button(page, 'Add op').click();
    await panel(page).getByLabel('Computed field (op 1)').fill('full_name');
    await panel(page).getByLabel('Forward expression (op 1)').fill("first_name & ' ' & last_name");
    await panel(page).getByLabel('Backward (op 1)').selectOption('fields');
    for (const [field, expression] of [
      ['first_name', "$substringBefore(full_name, ' ')"],
      ['last_name', "$substringAfter(full_name, ' ')"],
    ] as const) {
      await button(page, 'Add backward field (op 1)').click();
      await panel(page).getByLabel(/^Backward field \d \(op 1\)$/).last().fill(field);
      await panel(page).getByLabel(`Backward expression for ${field} (op 1)`).fill(expression);
    }
    // The JSONata boxes show their result on a sample as it is typed, and warn when backward does not invert forward.
    await panel(page).getByLabel('Sample record').fill('{"first_name": "Ada", "last_name": "Lovelace"}');
    await expect.poll(() => panel(page).getByLabel('Forward result (op 1)').textContent()).toContain('"Ada Lovelace"');
    await expect.poll(() => panel(page).getByLabel('Backward first_name (op 1)').textContent()).toContain('"Ada"');
    expect(await panel(page).getByText('Backward does not invert forward').count()).toBe(0);
    await panel(page).getByLabel('Sample record').fill('{"first_name": "Mary Ann", "last_name": "Shelley"}');
    await panel(page).getByText('Backward does not invert forward').first().waitFor();

    await dropNode(page, 'Mapping', 560, 200);
    await nameNode(page, 'map');
    const pairs: [string, string, string][] = [
      ['email', 'email', 'both'],
      ['full_name', 'name', 'both'],
      ['status', 'stage', 'both'],
      ['amount', 'deal_value', 'forward'],
    ];
    for (const [index, [left, right, direction]] of pairs.entries()) {
      await button(page, 'Add pair').click();
      await panel(page).getByLabel(`Left field of pair ${index + 1}`, { exact: true }).fill(left);
      await panel(page).getByLabel(`Right field of pair ${index + 1}`, { exact: true }).fill(right);
      if (direction === 'forward') await panel(page).getByRole('group', { name: `Direction of pair ${index + 1}` }).getByRole('button', { name: 'Left to right only' }).click();
    }
    for (const [index, [left, right]] of [
      ['closed-lost', 'Closed Lost'],
      ['open', 'Open'],
    ].entries()) {
      await button(page, 'Add value to pair 3').click();
      await panel(page).getByLabel(`Left value ${index + 1} of pair 3`).fill(left as string);
      await panel(page).getByLabel(`Right value ${index + 1} of pair 3`).fill(right as string);
    }

    await dropNode(page, 'Conflict', 820, 200);
    await nameNode(page, 'resolve');

    await dropNode(page, 'Trigger', 1080, 200);
    await nameNode(page, 'mkt');
    await panel(page).getByLabel('Database file').fill('marketing.db');
    await panel(page).getByLabel('Collection').fill('contacts');
    await panel(page).getByLabel('Updated-at field').fill('modified_at');

    await connectAllowed(page, 'crm', 'names');
    await connectAllowed(page, 'names', 'map');
    await connectAllowed(page, 'map', 'resolve');
    await connectAllowed(page, 'resolve', 'mkt');
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(4);

    // Connections the graph rules forbid are refused, and the reason is shown.
    await connect(page, 'mkt', 'crm');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/already has its edge/);
    await connect(page, 'map', 'names');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/cycle/);
    expect(await page.locator('.react-flow__edge').count()).toBe(4);

    // The conflict node prefers a trigger, so it is configured once the triggers are connected to it.
    await selectNode(page, 'resolve');
    await button(page, 'Add override').click();
    await panel(page).getByLabel('Override 1 field').fill('stage');
    await panel(page).getByLabel('Override 1 policy').selectOption('prefer:crm');
    await button(page, 'Add match field').click();
    await panel(page).getByLabel('Match field 1', { exact: true }).fill('email');
    await panel(page).getByLabel('When a record is deleted').selectOption('propagate');

    // Every node is valid now: no badge anywhere, and the status bar says so.
    await expect.poll(() => page.locator('.sl-badge').count()).toBe(0);
    await expect.poll(() => page.locator('.sl-statusbar').textContent()).toContain('Issues (0 errors');

    await button(page, 'Dismiss').click();
    await button(page, 'Auto-layout').click();
    await selectNode(page, 'map');
    await page.screenshot({ path: join(screenshots, 'build-leads.png') });

    await page.locator('.react-flow__pane').click({ position: { x: 5, y: 5 } });
    await panel(page).waitFor({ state: 'detached' });
    await page.getByLabel('Flow id').fill('leads');
    await page.getByLabel('Flow name').fill('Leads: CRM <-> Marketing');
    const exported = await exportFlow(page, downloads);
    expect(exported.endsWith('leads.flow.json')).toBe(true);

    const result = await run(process.execPath, [join(repoRoot, 'bin/syncline.mjs'), 'validate', exported], { cwd: repoRoot }).catch((error: { code: number; stderr: string }) => error);
    expect('stderr' in result ? result.stderr : '').toBe('');
    expect((result as { code?: number }).code ?? 0).toBe(0);

    // Apart from where the nodes sit, the flow built by hand is the fixture the runtime's tests run.
    const withoutPositions = (document: Record<string, unknown>) => ({
      ...document,
      nodes: (document.nodes as Record<string, unknown>[]).map(({ position: _position, ...rest }) => rest),
    });
    expect(withoutPositions(readJson(exported))).toEqual(withoutPositions(readJson(fixture('flows/leads.flow.json'))));
    await closeEditor(page);
  }, 60_000);

  it('imports broken files and shows each error on the node it concerns', async () => {
    const page = await openEditor();
    const files = [
      'editor/broken-leads.flow.json',
      'flows/broken/missing-fields.flow.json',
      'flows/broken/mistyped-fields.flow.json',
      'flows/broken/two-conflicts.flow.json',
      'flows/broken/dangling-edge.flow.json',
      'flows/broken/unknown-type.flow.json',
    ];
    for (const file of files) {
      const document = readJson(fixture(file));
      await importFile(page, fixture(file));
      const expected = errorsByNode(document);
      for (const raw of document.nodes as { id: string }[]) {
        const badge = node(page, raw.id).locator('.sl-badge');
        if (expected.has(raw.id)) await expect.poll(() => badge.textContent(), { message: `${file}: badge of ${raw.id}` }).toBe(String(expected.get(raw.id)));
        else await expect.poll(() => badge.count(), { message: `${file}: no badge on ${raw.id}` }).toBe(0);
      }
      // Nothing is dropped or repaired: exporting gives the same document back.
      expect(readJson(await exportFlow(page, downloads)), file).toEqual(document);
    }

    // The first file again, looked at node by node.
    const brokenPath = fixture('editor/broken-leads.flow.json');
    const broken = readJson(brokenPath);
    await importFile(page, brokenPath);
    const issues = loadFlow(broken).issues;
    const drawer = page.getByRole('region', { name: 'Issues' });
    for (const issue of issues) await drawer.getByText(issue.path, { exact: true }).first().waitFor();
    expect(await node(page, 'enrich').getAttribute('class')).toContain('react-flow__node-unknown');

    for (const id of ['names', 'map', 'resolve', 'mkt', 'enrich']) {
      await selectNode(page, id);
      const list = panel(page).getByRole('region', { name: `Issues of node ${id}` });
      for (const issue of issues.filter((candidate) => candidate.nodeId === id)) await list.getByText(issue.message).first().waitFor();
    }
    // ... and next to the fields they concern.
    await selectNode(page, 'mkt');
    await panel(page).locator('.sl-field--invalid', { has: page.getByLabel('Collection') }).getByText('must name a collection').waitFor();
    await panel(page).locator('.sl-field--invalid', { has: page.getByLabel('Interval (ms)') }).getByText(/at least 100 ms/).waitFor();
    await selectNode(page, 'names');
    await panel(page).locator('.sl-field--invalid', { has: page.getByLabel('Forward expression (op 1)') }).getByText(/does not parse/).waitFor();
    await selectNode(page, 'map');
    await panel(page).getByRole('group', { name: 'Pair 2' }).getByText('must be one of both, forward, backward').waitFor();
    await page.screenshot({ path: join(screenshots, 'import-broken.png') });

    // Fixing a field clears its error live.
    await panel(page).getByRole('group', { name: 'Direction of pair 2' }).getByRole('button', { name: 'Both ways' }).click();
    await expect.poll(() => node(page, 'map').locator('.sl-badge').count()).toBe(0);

    // Text that is not JSON is refused with where it goes wrong.
    await button(page, 'Import').click();
    await page.getByLabel("Or paste the flow's JSON").fill(readFileSync(fixture('flows/broken/not-json.json.txt'), 'utf8'));
    await button(page, 'Import pasted JSON').click();
    await expect.poll(() => page.getByRole('dialog').getByRole('alert').textContent()).toMatch(/not JSON: line \d+, column \d+/);
    await closeEditor(page);
  });

  it('starts from a template, and gives every control an accessible name', async () => {
    const page = await openEditor();
    await button(page, 'New').click();
    for (const template of ['CRM ↔ marketing', 'Tickets ↔ issues', 'HR ↔ learning']) await button(page, template).waitFor();
    await button(page, 'CRM ↔ marketing').click();
    await node(page, 'mkt').waitFor();
    expect(await page.locator('.react-flow__node').count()).toBe(5);
    await expect.poll(() => page.locator('.sl-statusbar').textContent()).toContain('Issues (0 errors');

    // An unnamed control shows in the accessibility tree as a bare role, e.g. `- button` or `- textbox`.
    const unnamed = async (where: string) => {
      const snapshot = await page.locator('body').ariaSnapshot();
      const bare = snapshot.split('\n').filter((line) => /^\s*- (button|textbox|combobox|checkbox|spinbutton|searchbox|radio|slider)(\s*\[[^\]]*\])*:?\s*$/.test(line));
      return bare.map((line) => `${where}: ${line.trim()}`);
    };
    const problems = await unnamed('flow panel');
    for (const id of ['crm', 'names', 'map', 'resolve']) {
      await selectNode(page, id);
      problems.push(...(await unnamed(`panel of ${id}`)));
    }
    for (const drawer of ['Runs', /^Conflicts/]) {
      await page.getByRole('button', { name: drawer, exact: typeof drawer === 'string' }).click();
      problems.push(...(await unnamed(`${drawer} panel`)));
    }
    for (const dialog of ['Import', 'New']) {
      await button(page, dialog).click();
      problems.push(...(await unnamed(`${dialog} dialog`)));
      await button(page, 'Close').click();
    }
    expect(problems).toEqual([]);
    await closeEditor(page);
  });

  it('undoes and redoes edits, with buttons and the keyboard', async () => {
    const page = await openEditor();
    const count = (selector: string) => page.locator(selector).count();
    const positionOf = async (id: string) => /translate\([^)]*\)/.exec((await node(page, id).getAttribute('style')) ?? '')?.[0];
    expect(await button(page, 'Undo').isDisabled()).toBe(true);

    await button(page, 'Trigger').click();
    await button(page, 'Mapping').click();
    await expect.poll(() => count('.react-flow__node')).toBe(2);
    await connectAllowed(page, 'trigger-1', 'mapping-1');
    await expect.poll(() => count('.react-flow__edge')).toBe(1);

    // A drag is one step, however far it goes.
    const before = await positionOf('mapping-1');
    const box = await node(page, 'mapping-1').boundingBox();
    if (!box) throw new Error('mapping-1 is not on screen');
    await page.mouse.move(box.x + 60, box.y + 20);
    await page.mouse.down();
    await page.mouse.move(box.x + 260, box.y + 180, { steps: 20 });
    await page.mouse.up();
    const after = await positionOf('mapping-1');
    expect(after).not.toBe(before);

    // Typing a label is one step too.
    await selectNode(page, 'trigger-1');
    await panel(page).getByLabel('Label').pressSequentially('CRM');
    await expect.poll(() => node(page, 'trigger-1').locator('.sl-node__label').textContent()).toBe('CRM');

    // Deleting a node takes its edge with it.
    await node(page, 'mapping-1').click();
    await page.keyboard.press('Delete');
    await expect.poll(() => count('.react-flow__node')).toBe(1);
    expect(await count('.react-flow__edge')).toBe(0);

    await page.keyboard.press('Control+z');
    await expect.poll(() => count('.react-flow__node')).toBe(2);
    await expect.poll(() => count('.react-flow__edge')).toBe(1);
    await button(page, 'Undo').click();
    await expect.poll(() => node(page, 'trigger-1').locator('.sl-node__label').textContent()).toBe('trigger-1');
    await page.keyboard.press('Control+z');
    await expect.poll(() => positionOf('mapping-1')).toBe(before);
    await button(page, 'Undo').click();
    await expect.poll(() => count('.react-flow__edge')).toBe(0);
    await page.screenshot({ path: join(screenshots, 'undo-redo.png') });

    await page.keyboard.press('Control+Shift+z');
    await expect.poll(() => count('.react-flow__edge')).toBe(1);
    await page.keyboard.press('Control+y');
    await expect.poll(() => positionOf('mapping-1')).toBe(after);
    await button(page, 'Redo').click();
    await expect.poll(() => node(page, 'trigger-1').locator('.sl-node__label').textContent()).toBe('CRM');
    await button(page, 'Redo').click();
    await expect.poll(() => count('.react-flow__node')).toBe(1);
    expect(await button(page, 'Redo').isDisabled()).toBe(true);

    // Copy and paste, undone like any other edit.
    await node(page, 'trigger-1').click();
    await page.keyboard.press('Control+c');
    await page.keyboard.press('Control+v');
    await expect.poll(() => count('.react-flow__node')).toBe(2);
    expect(await node(page, 'trigger-2').locator('.sl-node__label').textContent()).toBe('CRM');
    await page.keyboard.press('Control+z');
    await expect.poll(() => count('.react-flow__node')).toBe(1);
    await closeEditor(page);
  });
});
