/**
 * The editor as a business user relies on it every day (issue 15), against a real runtime with the demo installed as
 * `npm start` installs it: the flow list first, nothing typed ever lost (drafts saved as they are made, a reload
 * restores them, a question before anything would drop them), the controls a person expects (Save draft, Deploy,
 * Pause, Resume, Delete flow, version history), records named by their display field, a run history that reads like an
 * activity stream, a canvas whose nodes stay reachable at 1280×720, and plain words.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installDemoIfFirstStart } from '../../runtime/demo/install';
import { silentLogger } from '../../runtime/observability/logger';
import { listen, type ListeningServer } from '../../runtime/server';
import { auth, flowOnOwnSides, jsonHeaders, recordPassRequests, testRuntime, type TestRuntime } from '../server/support';
import { chromiumRequirement, skipUnless } from '../support/requirements';
import { button, node, watchedPages, withToken } from './canvas';
import { buildEditor, launchBrowser, repoRoot, type Browser } from './harness';

const screenshots = join(repoRoot, 'test/output/screenshots');
const deployState = (page: Page) => page.getByTestId('deploy-state').textContent();
const saveState = (page: Page) => page.getByTestId('save-state').textContent();
const flowRow = (page: Page, name: string) => page.getByRole('row', { name, exact: true });

/** Waits for a condition: the editor saves, polls and fits on its own timers, which a busy machine slows down. */
const poll = <T>(check: () => T | Promise<T>, options: { message?: string; timeout?: number } = {}) => expect.poll(check, { timeout: 15_000, ...options });

const skip = skipUnless(chromiumRequirement());

describe.skipIf(skip)('the editor for a business user', () => {
  let outDir: string;
  let t: TestRuntime;
  let server: ListeningServer;
  let browser: Browser;
  let base: string;
  const pages = watchedPages(() => browser.context, 15_000);

  beforeAll(async () => {
    outDir = await buildEditor();
    t = await testRuntime({ editorDir: outDir });
    // As `npm start` does on a first start: the two demo databases and the leads flow, deployed.
    if (!(await installDemoIfFirstStart(t.runtime, t.dir, silentLogger()))) throw new Error('the demo did not install');
    server = await listen(t.runtime.app, { host: '127.0.0.1', port: 0 });
    await t.runtime.start();
    base = `http://127.0.0.1:${server.port}/`;
    browser = await launchBrowser();
    mkdirSync(screenshots, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await t?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  /** A fresh page on `path` (with the token), at `viewport`; an uncaught error in it fails the test at closePage. */
  const openPage = (path = '', viewport = { width: 1440, height: 900 }) => pages.open(withToken(`${base}${path}`), viewport);
  const closePage = pages.close;

  /** Stores (and with `deploy`, deploys) a flow on its own databases through the API, as an earlier session would. */
  async function storeFlow(id: string, options: { deploy?: boolean; intervalMs?: number } = {}): Promise<Record<string, unknown>> {
    const flow = { ...flowOnOwnSides(t, id, id, options.intervalMs ?? 3_600_000), name: `Flow ${id}` };
    const created = await t.post('/api/flows', flow);
    if (created.status !== 201) throw new Error(`import ${id}: ${created.status} ${await created.text()}`);
    if (options.deploy) {
      const deployed = await t.post(`/api/flows/${id}/deploy`);
      if (deployed.status !== 200) throw new Error(`deploy ${id}: ${deployed.status}`);
    }
    return flow;
  }

  async function storedName(id: string): Promise<string> {
    return ((await (await t.request(`/api/flows/${id}`, { headers: auth })).json()) as { name: string }).name;
  }

  /** Makes the runtime refuse to save drafts, as if it went away; returns how to let it save again. */
  async function refuseDrafts(page: Page): Promise<() => Promise<void>> {
    const pattern = '**/api/flows/*/draft';
    await page.route(pattern, (route) => (route.request().method() === 'PUT' ? route.abort('connectionrefused') : route.continue()));
    return () => page.unroute(pattern);
  }

  it('opens on the flow list: the demo, its live counts, and the conflict waiting, named by its display field', async () => {
    const page = await openPage('', { width: 1920, height: 1080 });
    const demo = flowRow(page, 'Leads: CRM <-> Marketing');
    // Without a click: the first pass of the demo shows as its records in sync, and the conflict it filed.
    await poll(() => demo.getByTestId('synced').textContent(), { timeout: 30_000 }).toBe('440 records');
    expect(await demo.getByText('Deployed', { exact: true }).count()).toBe(1);
    const inbox = demo.getByRole('button', { name: '1 open conflict' });
    await inbox.waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Flows');
    expect(await page.getByRole('main').count()).toBe(1);
    await page.screenshot({ path: join(screenshots, 'flow-list.png') });
    // The README shows the first screen as a new user meets it.
    await page.screenshot({ path: join(repoRoot, 'docs/flow-list.png'), clip: { x: 0, y: 0, width: 1920, height: 300 } });

    // The conflict is about a person whose name differs on the two sides: it is named by that name, not by an id.
    const conflict = await t.db.selectFrom('conflicts').selectAll().where('flow_id', '=', 'leads').where('status', '=', 'open').executeTakeFirstOrThrow();
    const sides = JSON.parse(conflict.sides) as Record<string, string>;
    await inbox.click();
    const panel = page.getByRole('region', { name: 'Conflicts inbox' });
    await panel.getByRole('heading', { name: `The sides disagree on name of “${sides.crm}”` }).waitFor();
    expect(await panel.textContent()).not.toContain(conflict.entity_id as string);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Leads: CRM <-> Marketing');
    expect(await page.getByRole('main').count()).toBe(1);
    await page.screenshot({ path: join(screenshots, 'conflict-named.png') });

    // The README's picture of the editor: the demo live, its mapping open.
    await button(page, 'Close panel').click();
    await node(page, 'map').click();
    await page.getByRole('complementary', { name: 'Node settings' }).waitFor();
    await node(page, 'crm').getByTestId('trigger-status').waitFor();
    await page.screenshot({ path: join(repoRoot, 'docs/editor.png') });
    await closePage(page);
  }, 60_000);

  it('keeps edits through a reload, as the draft on the runtime or, while it cannot be reached, in the browser', async () => {
    await storeFlow('reloaded', { deploy: true });
    const page = await openPage('?flow=reloaded');
    await node(page, 'a').waitFor();
    expect(await deployState(page)).toBe('Deployed');
    await page.getByLabel('Flow name').fill('Reloaded, renamed by hand');
    await poll(() => saveState(page)).toBe('Draft saved');
    expect(await deployState(page)).toBe('Changed since deploy');
    // A draft is not deployed: what runs is still the deployed flow.
    expect(await storedName('reloaded')).toBe('Flow reloaded');

    await page.reload();
    await node(page, 'a').waitFor();
    expect(await page.getByLabel('Flow name').inputValue()).toBe('Reloaded, renamed by hand');
    expect(await deployState(page)).toBe('Changed since deploy');

    // The runtime goes away: the edit is kept in the browser, and reaches the runtime after the reload.
    const allow = await refuseDrafts(page);
    await page.getByLabel('Flow name').fill('Renamed while offline');
    await poll(() => saveState(page)).toMatch(/^Not saved/);
    await allow();
    await page.reload();
    await node(page, 'a').waitFor();
    expect(await page.getByLabel('Flow name').inputValue()).toBe('Renamed while offline');
    await poll(() => saveState(page)).toBe('Draft saved');
    const draft = (await (await t.request('/api/flows/reloaded/draft', { headers: auth })).json()) as { draft: { document: { name: string } } };
    expect(draft.draft.document.name).toBe('Renamed while offline');
    await closePage(page);
  }, 60_000);

  it('asks before New, or leaving for the list, drops edits the runtime does not have', async () => {
    await storeFlow('asks');
    const page = await openPage('?flow=asks');
    await node(page, 'a').waitFor();
    await refuseDrafts(page);
    await page.getByLabel('Flow name').fill('Edits nobody else has');
    await poll(() => saveState(page)).toMatch(/^Not saved/);

    await button(page, 'New').click();
    await button(page, 'Empty flow').click();
    const question = page.getByRole('alertdialog', { name: 'Your latest edits are not saved' });
    await question.waitFor();
    await page.screenshot({ path: join(screenshots, 'unsaved-question.png') });
    await question.getByRole('button', { name: 'Stay and keep editing' }).click();
    expect(await page.getByLabel('Flow name').inputValue()).toBe('Edits nobody else has');
    expect(await page.locator('.react-flow__node').count()).toBe(4);

    await button(page, 'All flows').click();
    await question.waitFor();
    await question.getByRole('button', { name: 'Stay and keep editing' }).click();
    expect(page.url()).toContain('flow=asks');

    await button(page, 'New').click();
    await button(page, 'Empty flow').click();
    await question.getByRole('button', { name: 'Leave them and start a new flow' }).click();
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Untitled flow');
    expect(await page.locator('.react-flow__node').count()).toBe(0);
    await closePage(page);
  }, 60_000);

  it('saves a draft, deploys it as a new version, and restores an older version as the draft', async () => {
    await storeFlow('versioned', { deploy: true });
    const page = await openPage('?flow=versioned');
    await node(page, 'a').waitFor();
    const versions = page.getByRole('region', { name: 'Deployed versions' });
    await versions.getByText('Version 1 (latest)').waitFor();

    await page.getByLabel('Flow name').fill('Versioned, second');
    await button(page, 'Save draft').click();
    await poll(() => saveState(page)).toBe('Draft saved');
    expect(await deployState(page)).toBe('Changed since deploy');
    await button(page, 'Deploy').click();
    await poll(() => page.locator('.sl-notice').textContent()).toMatch(/Deployed "versioned" as version 2/);
    expect(await deployState(page)).toBe('Deployed');
    expect(await storedName('versioned')).toBe('Versioned, second');
    await versions.getByText('Version 2 (latest)').waitFor();

    await versions.getByRole('button', { name: 'Restore this version (version 1)' }).click();
    await poll(() => page.getByLabel('Flow name').inputValue()).toBe('Flow versioned');
    await poll(() => deployState(page)).toBe('Changed since deploy');
    // Restored as the draft only: version 2 still runs until the next deploy.
    expect(await storedName('versioned')).toBe('Versioned, second');
    await closePage(page);
  }, 60_000);

  it('pauses a flow, which stops its scheduled passes, and resumes it', async () => {
    await storeFlow('pausing', { deploy: true, intervalMs: 100 });
    const page = await openPage('?flow=pausing');
    await node(page, 'a').waitFor();
    await button(page, 'Pause').click();
    await poll(() => deployState(page)).toBe('Paused');
    await button(page, 'Resume').waitFor();

    await t.runtime.deps.runner.idle();
    const requests = recordPassRequests(t);
    // A second flow ticks at the same interval: a timer the pause had left running was armed at most 100 ms ahead,
    // before this flow existed, so by this flow's third tick it would have fired.
    const clock = flowOnOwnSides(t, 'clock', 'clock', 100);
    await t.post('/api/flows', clock);
    await t.post('/api/flows/clock/deploy');
    await poll(() => requests().filter(([flowId, reason]) => flowId === 'clock' && reason === 'schedule').length).toBeGreaterThanOrEqual(3);
    expect(requests().filter(([flowId]) => flowId === 'pausing')).toEqual([]);
    await t.post('/api/flows/clock/pause');

    // Resumed from the flow list: its passes start again.
    await button(page, 'All flows').click();
    const row = flowRow(page, 'Flow pausing');
    expect(await row.getByText('Paused', { exact: true }).count()).toBe(1);
    await row.getByRole('button', { name: 'Resume', exact: true }).click();
    await poll(() => requests().filter(([flowId, reason]) => flowId === 'pausing' && reason === 'schedule').length).toBeGreaterThanOrEqual(1);
    await row.getByText('Deployed', { exact: true }).waitFor();
    await t.post('/api/flows/pausing/pause');
    await closePage(page);
  }, 60_000);

  it('deletes a flow after asking, with its state and history', async () => {
    await storeFlow('doomed');
    await t.post('/api/flows/doomed/run');
    const page = await openPage();
    const row = flowRow(page, 'Flow doomed');
    await row.getByRole('button', { name: 'Delete flow', exact: true }).click();
    const question = page.getByRole('alertdialog', { name: 'Delete the flow “Flow doomed”?' });
    await question.getByRole('button', { name: 'Keep it' }).click();
    await question.waitFor({ state: 'detached' });
    expect(await row.count()).toBe(1);

    await row.getByRole('button', { name: 'Delete flow', exact: true }).click();
    await question.getByRole('button', { name: 'Delete flow', exact: true }).click();
    await row.waitFor({ state: 'detached' });
    expect((await t.request('/api/flows/doomed', { headers: auth })).status).toBe(404);
    expect(await t.db.selectFrom('runs').select('id').where('flow_id', '=', 'doomed').execute()).toEqual([]);
    await closePage(page);
  }, 60_000);

  it('shows run history as an activity stream: quiet passes folded, filters, older pages, records by name', async () => {
    await storeFlow('busy');
    for (let pass = 0; pass < 55; pass += 1) await t.post('/api/flows/busy/run');
    const page = await openPage('?flow=busy');
    await node(page, 'a').waitFor();
    await button(page, 'Runs').click();
    const history = page.getByRole('table', { name: 'Run history' });
    // A page holds 50 runs, all quiet: one row says so; the next page adds the rest to it.
    await history.getByText('50 quiet passes: nothing to write').waitFor();
    expect(await history.getByRole('row').count()).toBe(2);
    await button(page, 'Load older runs').click();
    await history.getByText('55 quiet passes: nothing to write').waitFor();
    expect(await button(page, 'Load older runs').count()).toBe(0);
    await closePage(page);

    // The demo's first pass wrote records; the passes after it had nothing to do.
    const demo = await openPage('?flow=leads');
    await node(demo, 'crm').waitFor();
    await t.post('/api/flows/leads/run');
    await t.post('/api/flows/leads/run');
    await button(demo, 'Runs').click();
    const runs = demo.getByRole('table', { name: 'Run history' });
    await runs.getByText(/^\d+ quiet passes: nothing to write$/).waitFor();
    await runs.getByText(/\d+ created · \d+ updated · 1 conflict/).waitFor();
    await demo.getByRole('group', { name: 'Show runs' }).getByRole('button', { name: 'With changes' }).click();
    await poll(() => runs.getByText(/quiet passes/).count()).toBe(0);
    await demo.getByRole('group', { name: 'Show runs' }).getByRole('button', { name: 'Failed' }).click();
    await demo.getByText('No runs of this kind in the history.').waitFor();
    await demo.getByRole('group', { name: 'Show runs' }).getByRole('button', { name: 'With conflicts' }).click();
    await runs.getByText(/1 conflict/).waitFor();
    await runs.getByRole('button', { name: /^Show run / }).first().click();
    const log = demo.getByRole('region', { name: /^Run / });
    // Records are named as people know them (“Ada Abbott”), never as "record 17".
    await log.getByText(/^created “[A-Z][a-z]+ [A-Z][a-z]+” \(\d+\) on mkt$/).first().waitFor();
    await demo.screenshot({ path: join(screenshots, 'run-history-stream.png') });
    await closePage(demo);
  }, 90_000);

  it('keeps every node reachable at 1280×720 with the run history open', async () => {
    const page = await openPage('?flow=leads', { width: 1280, height: 720 });
    await node(page, 'mkt').waitFor();
    await button(page, 'Runs').click();
    await page.getByRole('table', { name: 'Run history' }).waitFor();
    const pane = await page.locator('.react-flow').boundingBox();
    if (!pane) throw new Error('no canvas');
    for (const id of ['crm', 'names', 'map', 'resolve', 'mkt']) {
      // Within the canvas, and what a click at its centre lands on is the node: no map, control or panel over it.
      await poll(async () => {
          const box = await node(page, id).boundingBox();
          if (!box) return 'not on screen';
          if (box.x < pane.x || box.y < pane.y || box.x + box.width > pane.x + pane.width || box.y + box.height > pane.y + pane.height) return 'outside the canvas';
          return page.evaluate(
            ([x, y]) => document.elementFromPoint(x as number, y as number)?.closest('.react-flow__node')?.getAttribute('data-id') ?? 'covered',
            [box.x + box.width / 2, box.y + box.height / 2],
          );
        }, { message: `node ${id}` })
        .toBe(id);
    }
    await page.screenshot({ path: join(screenshots, 'canvas-1280x720-runs.png') });
    for (const id of ['crm', 'resolve', 'mkt']) {
      await node(page, id).click();
      await poll(() => page.getByRole('complementary', { name: 'Node settings' }).getByLabel('Node id', { exact: true }).inputValue()).toBe(id);
    }
    await closePage(page);
  }, 60_000);

  it('speaks plainly: a refused token, a bad interval, an empty mapping, issues with their path as a detail; fits and reads', async () => {
    const refused = await browser.context.newPage();
    await refused.goto(`${base}?token=not-the-token-0123456789`);
    await refused.getByRole('dialog', { name: 'This token was refused' }).getByText(/This token was refused by the runtime/).waitFor();
    await refused.close();

    // Text at the size the flow opens at, in a window of the usual size.
    const page = await openPage('?flow=leads');
    await node(page, 'crm').waitFor();
    const sizes = await page.evaluate(() => {
      const zoom = new DOMMatrixReadOnly(getComputedStyle(document.querySelector('.react-flow__viewport') as Element).transform).a;
      const size = (selector: string) => Number.parseFloat(getComputedStyle(document.querySelector(selector) as Element).fontSize) * zoom;
      return { label: size('.sl-node__label'), summary: size('.sl-node__summary'), type: size('.sl-node__type') };
    });
    expect(sizes.label).toBeGreaterThanOrEqual(12);
    expect(sizes.summary).toBeGreaterThanOrEqual(10);
    expect(sizes.type).toBeGreaterThanOrEqual(9);

    // A flow drawn far from the origin, a poll interval below zero and a mapping without pairs.
    const flow = { ...flowOnOwnSides(t, 'oddities', 'oddities', 5000), name: 'Oddities' } as unknown as { nodes: Array<{ id: string; position: { x: number; y: number }; config: Record<string, unknown> }> };
    flow.nodes.forEach((each, index) => (each.position = { x: 6000 + index * 900, y: 4000 + index * 300 }));
    flow.nodes.find((each) => each.id === 'a')!.config.detect = { mode: 'poll', intervalMs: -5 };
    flow.nodes.find((each) => each.id === 'map')!.config.fields = [];
    const file = join(t.dir, 'oddities.flow.json');
    writeFileSync(file, JSON.stringify(flow));
    await button(page, 'Import').click();
    await page.getByLabel('Open a .json file').setInputFiles(file);
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Oddities');
    const pane = await page.locator('.react-flow').boundingBox();
    for (const each of flow.nodes) {
      await poll(async () => {
          const box = await node(page, each.id).boundingBox();
          return box !== null && pane !== null && box.x >= pane.x && box.y >= pane.y && box.x + box.width <= pane.x + pane.width && box.y + box.height <= pane.y + pane.height;
        }, { message: `${each.id} fitted into view after the import` })
        .toBe(true);
    }
    expect(await node(page, 'a').locator('.sl-node__summary').textContent()).toBe('sqlite · people · interval not valid');
    await node(page, 'map').getByRole('img', { name: '1 validation warning' }).waitFor();
    const issues = page.getByRole('region', { name: 'Issues' });
    const emptyMapping = issues.getByRole('row').filter({ hasText: 'no field passes this mapping' });
    await emptyMapping.getByText('Warning:').waitFor();
    await emptyMapping.locator('code', { hasText: 'nodes[1].config.fields' }).waitFor();
    const interval = issues.getByRole('row').filter({ hasText: 'detect › interval ms' });
    await interval.getByText(/at least 100 ms/).waitFor();
    await interval.locator('code', { hasText: 'nodes[0].config.detect.intervalMs' }).waitFor();
    await closePage(page);
    await t.request('/api/flows/oddities/draft', { method: 'DELETE', headers: jsonHeaders });
  }, 60_000);
});
