/**
 * The canvas while the runtime runs (issue 15): live counts on each node that follow the passes, a system out of reach
 * said on its node, the transform's "Try it" filled from a real record of its trigger's system, panels a person sizes
 * (and that keep their size) without ever covering the canvas controls, and edges drawn from the keyboard. Against a
 * real runtime with the demo installed as `npm start` installs it.
 */
import Sqlite from 'better-sqlite3';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installDemoIfFirstStart } from '../../runtime/demo/install';
import { silentLogger } from '../../runtime/observability/logger';
import { listen, type ListeningServer } from '../../runtime/server';
import { connectorRegistry } from '../../runtime/connectors/index';
import type { ConnectorType, ConnectorWebhook } from '../../runtime/connectors/types';
import { deployPeople, flowOnOwnSides, testRuntime, TOKEN, type TestRuntime } from '../server/support';
import { chromiumRequirement, skipUnless } from '../support/requirements';
import { button, node, watchedPages, withToken } from './canvas';
import { buildEditor, launchBrowser, repoRoot, type Browser } from './harness';

const screenshots = join(repoRoot, 'test/output/screenshots');
const live = (page: Page, id: string, what: 'synced' | 'changes' | 'failing' | 'conflicts' | 'problem' | 'webhook') => node(page, id).getByTestId(`live-${what}`);

/** Waits for a condition: the editor polls the runtime every few seconds, and passes run on their own timers. */
const poll = <T>(check: () => T | Promise<T>, options: { message?: string; timeout?: number } = {}) => expect.poll(check, { timeout: 20_000, ...options });

function addPerson(file: string, name: string, email: string) {
  const db = new Sqlite(file);
  try {
    db.prepare('INSERT INTO people (name, email, updated_at) VALUES (?, ?, ?)').run(name, email, new Date().toISOString());
  } finally {
    db.close();
  }
}

const skip = skipUnless(chromiumRequirement());

describe.skipIf(skip)('the canvas, live', () => {
  let outDir: string;
  let t: TestRuntime;
  let server: ListeningServer;
  let browser: Browser;
  let base: string;
  const pages = watchedPages(() => browser.context, 20_000);

  beforeAll(async () => {
    outDir = await buildEditor();
    t = await testRuntime({ editorDir: outDir });
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

  const openPage = (path = '', viewport = { width: 1440, height: 900 }) => pages.open(withToken(`${base}${path}`), viewport);
  const closePage = pages.close;

  /** The people flow on its own databases (folder `id`), deployed and polled every `intervalMs`. */
  async function deployFlow(id: string, intervalMs: number, change: (flow: { nodes: Array<{ id: string; config: Record<string, unknown> }> }) => void = () => {}) {
    const flow = { ...flowOnOwnSides(t, id, id, intervalMs), name: `Flow ${id}` } as unknown as { nodes: Array<{ id: string; config: Record<string, unknown> }> };
    change(flow);
    const created = await t.post('/api/flows', flow);
    if (created.status !== 201) throw new Error(`import ${id}: ${created.status} ${await created.text()}`);
    const deployed = await t.post(`/api/flows/${id}/deploy`);
    if (deployed.status !== 200) throw new Error(`deploy ${id}: ${deployed.status}`);
  }

  it('shows each trigger’s records in sync, changes, failing records and open conflicts, following the passes as they run', async () => {
    // A name the mapping has no value for fails that record (SPEC §3): Bob's will keep failing.
    await deployFlow('live', 300, (flow) => {
      const map = flow.nodes.find((each) => each.id === 'map')!;
      map.config.fields = [
        { left: 'name', right: 'full_name', direction: 'both', values: [{ left: 'Ada', right: 'Ada' }, { left: 'Alan', right: 'Alan' }] },
        { left: 'email', right: 'email', direction: 'both' },
      ];
    });
    const page = await openPage('?flow=live');
    await poll(() => live(page, 'a', 'synced').textContent()).toBe('0 synced');
    expect(await live(page, 'b', 'changes').textContent()).toBe('0 changes in the last hour');

    // Records arrive in a.db while the page is open: the counts follow without a click.
    addPerson(join(t.dir, 'live/a.db'), 'Ada', 'ada@example.com');
    addPerson(join(t.dir, 'live/a.db'), 'Alan', 'alan@example.com');
    addPerson(join(t.dir, 'live/a.db'), 'Bob', 'bob@example.com');
    await poll(() => live(page, 'b', 'synced').textContent()).toBe('2 synced');
    await poll(() => live(page, 'a', 'synced').textContent()).toBe('2 synced');
    await poll(() => live(page, 'b', 'changes').textContent()).toBe('2 changes in the last hour');
    expect(await live(page, 'a', 'changes').textContent()).toBe('0 changes in the last hour');
    await poll(() => live(page, 'a', 'failing').textContent()).toBe('1 failing');
    expect(await live(page, 'b', 'conflicts').textContent()).toBe('0 open conflicts');
    expect(await node(page, 'resolve').getByTestId('conflict-status').textContent()).toBe('No open conflicts');

    // b.db goes away: its node says its system cannot be reached; a's does not. It comes back: the node says so too.
    renameSync(join(t.dir, 'live/b.db'), join(t.dir, 'live/b.db.away'));
    await poll(() => live(page, 'b', 'problem').textContent()).toMatch(/^Its system could not be reached: SQLite database file not found/);
    expect(await live(page, 'a', 'problem').count()).toBe(0);
    expect(await node(page, 'b').locator('.sl-node--unreachable').count()).toBe(1);
    await page.screenshot({ path: join(screenshots, 'live-unreachable.png') });
    renameSync(join(t.dir, 'live/b.db.away'), join(t.dir, 'live/b.db'));
    await live(page, 'b', 'problem').waitFor({ state: 'detached' });
    expect(await live(page, 'b', 'synced').textContent()).toBe('2 synced');
    await t.post('/api/flows/live/pause');
    await closePage(page);
  }, 90_000);

  it('tries the transform on a real record of its trigger’s system, still editable by hand', async () => {
    const page = await openPage('?flow=leads');
    await node(page, 'names').click();
    const settings = page.getByRole('complementary', { name: 'Node settings' });
    const sample = settings.getByLabel('Sample record');
    // Without a click: the oldest CRM lead, as it reaches the transform (its data fields; no id, timestamp or tag).
    await poll(() => settings.getByTestId('sample-source').textContent()).toBe('From record 1 of crm, as it reaches this node.');
    const lead = JSON.parse(await sample.inputValue()) as Record<string, unknown>;
    const crm = new Sqlite(join(t.dir, 'crm.db'), { readonly: true });
    const row = crm.prepare('SELECT first_name, last_name, email, status, amount FROM leads WHERE id = 1').get() as Record<string, unknown>;
    crm.close();
    expect(lead).toEqual(row);
    const forward = settings.getByRole('status', { name: 'Forward result (op 1)' });
    await poll(() => forward.textContent()).toBe(`Forward result (op 1): "${String(row.first_name)} ${String(row.last_name)}"`);
    await page.screenshot({ path: join(screenshots, 'try-it-real-record.png') });

    // The sample is still the person's to edit; asking again brings the real record back.
    await sample.fill('{"first_name": "Grace", "last_name": "Hopper"}');
    await poll(() => forward.textContent()).toBe('Forward result (op 1): "Grace Hopper"');
    expect(await settings.getByTestId('sample-source').textContent()).toBe('');
    await button(settings, 'Fill from a real record').click();
    await poll(() => forward.textContent()).toBe(`Forward result (op 1): "${String(row.first_name)} ${String(row.last_name)}"`);
    expect(JSON.parse(await sample.inputValue())).toEqual(row);
    await closePage(page);
  }, 60_000);

  it('sizes the panels by pointer or keyboard, keeps their sizes across a reload, and never lets them cover the canvas controls', async () => {
    const viewport = { width: 1280, height: 720 };
    const page = await openPage('?flow=leads', viewport);
    await node(page, 'mkt').waitFor();
    await button(page, 'Runs').click();
    const below = page.getByRole('separator', { name: 'Resize the run history panel' });
    const value = async (separator: Locator) => Number(await separator.getAttribute('aria-valuenow'));
    await poll(() => value(below)).toBeGreaterThan(0);
    const opened = await value(below);
    // By keyboard: the line moves up a step a key, and the panel grows.
    await below.focus();
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    await poll(() => value(below)).toBe(opened + 48);
    expect(Math.round((await page.getByRole('region', { name: 'Run history' }).boundingBox())!.height)).toBe(opened + 48);

    /** The zoom controls lie inside the canvas, and what a click on each lands on is that control. */
    const controlsUsable = async () => {
      const canvas = (await page.locator('.react-flow').boundingBox())!;
      const controls = await page.getByTestId('rf__controls').getByRole('button').all();
      if (controls.length < 3) return 'the controls are not shown';
      for (const control of controls) {
        const box = await control.boundingBox();
        if (!box) return 'a control is not shown';
        if (box.y < canvas.y || box.y + box.height > canvas.y + canvas.height || box.x < canvas.x || box.x + box.width > canvas.x + canvas.width) return 'a control is outside the canvas';
        const hit = await page.evaluate(([x, y]) => document.elementFromPoint(x as number, y as number)?.closest('.react-flow__controls-button') !== null, [box.x + box.width / 2, box.y + box.height / 2]);
        if (!hit) return 'a control is covered';
      }
      return 'usable';
    };

    // By pointer, as far up as it goes: the panel stops where the canvas keeps room for its controls.
    const dragBy = async (separator: Locator, dx: number, dy: number) => {
      const box = (await separator.boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2 + dx / 2, box.y + box.height / 2 + dy / 2, { steps: 4 });
      await page.mouse.move(box.x + box.width / 2 + dx, box.y + box.height / 2 + dy, { steps: 4 });
      await page.mouse.up();
    };
    await dragBy(below, 0, -viewport.height);
    await poll(async () => value(below)).toBe(Number(await below.getAttribute('aria-valuemax')));
    expect(await controlsUsable()).toBe('usable');
    const tallest = await value(below);
    await dragBy(below, 0, 100);
    await poll(() => value(below)).toBe(tallest - 100);
    const drawerHeight = tallest - 100;

    // The settings panel beside the canvas, by pointer: wider, and never wider than leaves the canvas its room.
    await node(page, 'map').click();
    const beside = page.getByRole('separator', { name: 'Resize the settings panel' });
    const narrow = await value(beside);
    await dragBy(beside, -120, 0);
    await poll(() => value(beside)).toBe(narrow + 120);
    await beside.focus();
    await page.keyboard.press('End');
    await poll(async () => value(beside)).toBe(Number(await beside.getAttribute('aria-valuemax')));
    expect((await page.locator('.react-flow').boundingBox())!.width).toBeGreaterThanOrEqual(380);
    expect(await controlsUsable()).toBe('usable');
    await page.keyboard.press('ArrowRight');
    const panelWidth = await value(beside);
    await page.screenshot({ path: join(screenshots, 'panels-resized.png') });

    // A reload opens the panels as they were left.
    await page.reload();
    await node(page, 'mkt').waitFor();
    await button(page, 'Runs').click();
    await poll(() => value(page.getByRole('separator', { name: 'Resize the run history panel' }))).toBe(drawerHeight);
    await poll(() => value(page.getByRole('separator', { name: 'Resize the settings panel' }))).toBe(panelWidth);
    // A smaller window keeps the canvas's room: the kept sizes give way.
    await page.setViewportSize({ width: 1024, height: 600 });
    await poll(controlsUsable).toBe('usable');
    expect((await page.locator('.react-flow').boundingBox())!.width).toBeGreaterThanOrEqual(380);
    // The other tests of this browser profile open the panels at their usual sizes.
    await page.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('syncline.layout.')).forEach((key) => localStorage.removeItem(key)));
    await closePage(page);
  }, 90_000);

  it('draws and removes edges from the keyboard: select a node, then “Connect to…” a node from a list', async () => {
    // A flow saved as a draft with its nodes placed and no edge drawn yet.
    const draft = { ...flowOnOwnSides(t, 'keys', 'keys', 60_000), name: 'Flow keys', edges: [] };
    expect((await t.request('/api/flows/keys/draft', { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(draft) })).status).toBe(200);
    const page = await openPage('?flow=keys');
    await node(page, 'a').waitFor();
    const settings = page.getByRole('complementary', { name: 'Node settings' });

    /** Selects a node without the pointer: focus it (as Tab does), then Enter. */
    const select = async (id: string) => {
      await node(page, id).focus();
      await page.keyboard.press('Enter');
      await poll(() => settings.getByLabel('Node id', { exact: true }).inputValue()).toBe(id);
    };
    const connect = async (choice: string) => {
      const list = settings.getByLabel('Connect to…');
      await list.focus();
      await list.selectOption({ label: choice });
      await page.keyboard.press('Tab');
      await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Connect');
      await page.keyboard.press('Enter');
    };

    await select('a');
    await connect('a → map');
    await select('map');
    // Only what the rules allow is offered: map → a would close a cycle.
    const options = await settings.getByLabel('Connect to…').locator('option').allTextContents();
    expect(options).toContain('map → resolve');
    expect(options).not.toContain('map → a');
    await connect('map → resolve');
    await select('b');
    await connect('resolve → b');
    await poll(() => page.locator('.react-flow__edge').count()).toBe(3);
    await settings.getByRole('region', { name: 'Edges of b' }).getByText('resolve → b').waitFor();
    // A trigger has its one edge: nothing more is offered.
    await settings.getByText(/No other node can be connected to this one/).waitFor();
    await poll(() => page.locator('.sl-statusbar').textContent()).toContain('Issues (0 errors');

    await settings.getByRole('button', { name: 'Remove the edge from resolve to b' }).click();
    await poll(() => page.locator('.react-flow__edge').count()).toBe(2);
    await settings.getByLabel('Connect to…').waitFor();
    await poll(async () => {
      const saved = (await (await t.request('/api/flows/keys/draft', { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { draft: { document: { edges: Array<{ source: string; target: string }> } } };
      return saved.draft.document.edges.map((edge) => `${edge.source}→${edge.target}`);
    }).toEqual(['a→map', 'map→resolve']);
    await closePage(page);
  }, 60_000);

  it('says on a webhook trigger’s node that its system refused the hook, then what the system noted once it took it', async () => {
    // A runtime of its own, with a public URL and a sqlite connector whose system registers hooks: refused at first.
    const sqlite = connectorRegistry.sqlite as ConnectorType;
    let refusing = true;
    const webhook: ConnectorWebhook = {
      ...(sqlite.webhook as ConnectorWebhook),
      register: async () => {
        if (refusing) throw new Error('403 Forbidden: this key may not manage webhooks');
        return { notes: ['the system will not announce changes to name'] };
      },
      unregister: async () => {},
    };
    const own = await testRuntime({ editorDir: outDir, publicUrl: 'https://sync.example.com', connectors: { ...connectorRegistry, sqlite: { ...sqlite, webhook } } });
    const ownServer = await listen(own.runtime.app, { host: '127.0.0.1', port: 0 });
    try {
      await deployPeople(own);
      const page = await pages.open(withToken(`http://127.0.0.1:${ownServer.port}/?flow=people`), { width: 1440, height: 900 });
      await poll(() => live(page, 'a', 'webhook').textContent()).toMatch(/^Webhook not registered \(trying again\): 403 Forbidden: this key may not manage webhooks/);
      // The key is given the permission: the next try (1, 2, 4… s apart) registers the hook.
      refusing = false;
      await poll(() => live(page, 'a', 'webhook').textContent()).toBe('Webhook: the system will not announce changes to name');
      expect(await live(page, 'b', 'webhook').count()).toBe(0);
      await closePage(page);
    } finally {
      await ownServer.close();
      await own.close();
    }
  }, 90_000);

  it('shows the demo live: its counts on the triggers, and the conflict waiting on the conflict node, which opens the inbox', async () => {
    const page = await openPage('?flow=leads');
    // The demo's first pass: 300 CRM leads and 200 marketing contacts, 60 of them the same people.
    await poll(() => live(page, 'crm', 'synced').textContent(), { timeout: 40_000 }).toBe('440 synced');
    await poll(() => live(page, 'mkt', 'synced').textContent()).toBe('440 synced');
    // At least the 240 records created there; the 60 people on both sides may have had fields brought in line too.
    await poll(async () => Number.parseInt((await live(page, 'mkt', 'changes').textContent()) ?? '', 10)).toBeGreaterThanOrEqual(240);
    expect(await live(page, 'crm', 'conflicts').textContent()).toBe('1 open conflict');
    const inbox = node(page, 'resolve').getByRole('button', { name: '1 open conflict: open the inbox' });
    await inbox.waitFor();
    await page.screenshot({ path: join(repoRoot, 'docs/live-canvas.png') });
    await inbox.click();
    await page.getByRole('region', { name: 'Conflicts inbox' }).getByRole('heading', { name: /^The sides disagree on name of/ }).waitFor();
    await closePage(page);
  }, 90_000);
});
