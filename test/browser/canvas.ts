import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { TOKEN } from '../server/support';

// What the browser suites do to the editor, once, the way a person does it: find a button, a node, the node panel;
// drop, name, connect and select nodes; pick from a dropdown; open pages whose uncaught errors fail the test.

export const button = (scope: Page | Locator, name: string) => scope.getByRole('button', { name, exact: true });
export const node = (page: Page, id: string) => page.locator(`.react-flow__node[data-id="${id}"]`);
export const panel = (page: Page) => page.getByRole('complementary', { name: 'Node settings' });
/** A labelled dropdown of the node panel; not `exact`, as a required field's label ends in a marker. */
export const dropdown = (page: Page, label: string) => panel(page).getByRole('combobox', { name: label });

/** Drags a palette item onto the canvas at a point relative to the canvas pane, the way a person does. */
export async function dropNode(page: Page, title: string, x: number, y: number): Promise<void> {
  const nodes = page.locator('.react-flow__node');
  const before = await nodes.count();
  await page.getByRole('button', { name: title, exact: true }).dragTo(page.locator('.react-flow__pane'), { targetPosition: { x, y } });
  await expect.poll(() => nodes.count()).toBe(before + 1);
  // The panel must show the node just dropped before anything is typed into it: on a busy machine it still showed the
  // node selected before for a moment, and naming the new node renamed that one (a flow with no conflict node).
  const dropped = await page.locator('.react-flow__node.selected').getAttribute('data-id');
  await expect.poll(() => panel(page).getByLabel('Node id', { exact: true }).inputValue()).toBe(dropped);
}

/** Gives the node just dropped (selected, its panel open) the id the flow refers to it by. */
export async function nameNode(page: Page, id: string): Promise<void> {
  const field = panel(page).getByLabel('Node id', { exact: true });
  await field.fill(id);
  await field.press('Enter');
  await node(page, id).waitFor();
}

/** Drags from one node's right handle to another node's left handle. */
export async function connect(page: Page, from: string, to: string): Promise<void> {
  const start = await page.locator(`.react-flow__node[data-id="${from}"] .react-flow__handle-right`).boundingBox();
  const end = await page.locator(`.react-flow__node[data-id="${to}"] .react-flow__handle-left`).boundingBox();
  if (!start || !end) throw new Error(`handles of ${from} or ${to} not on screen`);
  await page.mouse.move(start.x + start.width / 2, start.y + start.height / 2);
  await page.mouse.down();
  await page.mouse.move(end.x + end.width / 2, end.y + end.height / 2, { steps: 8 });
  await page.mouse.up();
}

/** Clicks a node and waits for its panel to show it. */
export async function selectNode(page: Page, id: string): Promise<void> {
  await node(page, id).click();
  await panel(page).getByLabel('Node id', { exact: true }).waitFor();
  await expect.poll(() => panel(page).getByLabel('Node id', { exact: true }).inputValue()).toBe(id);
}

/** Picks an option of a labelled dropdown once it is offered (dropdowns the runtime fills arrive a moment later). */
export async function choose(page: Page, label: string, value: string): Promise<void> {
  const field = dropdown(page, label);
  await field.locator(`option[value="${value}"]`).waitFor({ state: 'attached' });
  await field.selectOption(value);
}

/** Clicks Export and saves the file the browser downloads into `folder`; returns its path. */
export async function exportFlow(page: Page, folder: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), button(page, 'Export').click()]);
  const path = join(folder, download.suggestedFilename());
  await download.saveAs(path);
  return path;
}

/** `url` with the API token the test runtimes take, as a person's first visit carries it. */
export const withToken = (url: string): string => `${url}${url.includes('?') ? '&' : '?'}token=${TOKEN}`;

/**
 * Pages whose uncaught errors fail the test that opened them: `open` starts one in `context()` with `timeoutMs` for
 * every step (and `viewport`, when given), `close` closes it and expects that nothing was thrown in it.
 */
export function watchedPages(context: () => { newPage(): Promise<Page> }, timeoutMs: number) {
  const errors = new WeakMap<Page, string[]>();
  return {
    async open(url: string, viewport?: { width: number; height: number }): Promise<Page> {
      const page = await context().newPage();
      const failures: string[] = [];
      errors.set(page, failures);
      page.on('pageerror', (error) => failures.push(String(error)));
      page.setDefaultTimeout(timeoutMs);
      if (viewport) await page.setViewportSize(viewport);
      await page.goto(url);
      return page;
    },
    async close(page: Page): Promise<void> {
      await page.close();
      expect(errors.get(page)).toEqual([]);
    },
  };
}
