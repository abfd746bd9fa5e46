/**
 * Editor bench: builds the editor, opens a generated 300-node flow in headless Chromium and prints
 * {"firstRenderMs", "frameMsMean", "frameMsP95", ...} as one JSON line. Run with `npx tsx bench/editor.ts`.
 *
 * firstRenderMs: navigation start until all 300 nodes are in the DOM (the flow comes from the API, as when a
 * person opens a deployed flow); the best of three loads after a warm-up, the median alongside.
 *
 * Frame times, while a node is dragged across the canvas with the mouse: for each frame that handles a mouse
 * move, the time from the move's dispatch (React Flow's drag, the store update, React's render) through the
 * frame's requestAnimationFrame callbacks, style, layout and paint. Raw requestAnimationFrame intervals cannot
 * show this in headless Chromium, which paces frames at the display rate however little work they take; their
 * mean is printed alongside as rafIntervalMsMean.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, buildEditor, serveEditor } from '../test/browser/harness';
import { CHROMIUM_PATH } from '../test/support/requirements';

const NODE_COUNT = 300;
const DRAG_STEPS = 120;

/** A valid flow of `count` nodes: chains of trigger → transform → mapping → conflict → trigger, in a grid. */
export function generatedFlow(count = NODE_COUNT): Record<string, unknown> {
  const chain = ['trigger', 'transform', 'mapping', 'conflict', 'trigger'] as const;
  const configs: Record<(typeof chain)[number], (chainIndex: number, position: number) => unknown> = {
    trigger: (chainIndex, position) => ({
      connector: 'sqlite',
      connection: { file: `system-${chainIndex}-${position}.db` },
      collection: 'records',
      key: 'id',
      updatedAt: 'updated_at',
      detect: { mode: 'poll', intervalMs: 5000 },
    }),
    transform: () => ({ ops: [{ op: 'rename', from: 'given_name', to: 'first_name' }] }),
    mapping: () => ({ fields: [{ left: 'email', right: 'email', direction: 'both' }, { left: 'first_name', right: 'name', direction: 'both' }] }),
    conflict: () => ({ policy: 'last-write-wins', fields: {}, match: ['email'], deletes: 'review' }),
  };
  const nodes: unknown[] = [];
  const edges: unknown[] = [];
  const chains = Math.ceil(count / chain.length);
  for (let k = 0; k < chains; k += 1) {
    const blockX = (k % 4) * chain.length * 240;
    const rowY = Math.floor(k / 4) * 130;
    chain.forEach((type, j) => {
      if (nodes.length >= count) return;
      const id = `n${k}-${j}`;
      nodes.push({ id, type, typeVersion: 1, position: { x: blockX + j * 240, y: rowY }, config: configs[type](k, j) });
      if (j > 0) edges.push({ id: `e${k}-${j}`, source: `n${k}-${j - 1}`, target: id });
    });
  }
  return { format: 'syncline.flow', version: 1, id: 'big', name: `${count} nodes`, nodes, edges };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round = (value: number) => Math.round(value * 10) / 10;

/** Runs the bench once and returns its figures. */
export async function runEditorBench(): Promise<Record<string, number>> {
  const outDir = await buildEditor();
  const flow = JSON.stringify(generatedFlow());
  const server = await serveEditor(outDir, (request, response) => {
    if (request.method === 'GET' && request.url === '/api/flows/big') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(flow);
      return true;
    }
    return false;
  });
  const profile = mkdtempSync(join(tmpdir(), 'syncline-bench-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, '--disable-gpu-vsync', '--disable-frame-rate-limit'],
    viewport: { width: 1600, height: 1000 },
  });
  try {
    // Installed before the page's own scripts: notes the moment the last of the nodes enters the DOM.
    await context.addInitScript((expected: number) => {
      const marks = window as unknown as { __allNodesAt?: number };
      new MutationObserver((_, observer) => {
        if (document.querySelectorAll('.react-flow__node').length >= expected) {
          marks.__allNodesAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    }, NODE_COUNT);
    const page = context.pages()[0] ?? (await context.newPage());

    // One warm-up load so the figures do not include the first compile of the bundle by V8 from disk cache misses.
    await page.goto(`${server.url}?flow=big`);
    await page.waitForFunction(() => (window as unknown as { __allNodesAt?: number }).__allNodesAt !== undefined, null, { timeout: 30_000 });

    const loads: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      await page.goto(`${server.url}?flow=big`);
      await page.waitForFunction(() => (window as unknown as { __allNodesAt?: number }).__allNodesAt !== undefined, null, { timeout: 30_000 });
      // performance.now() counts from the navigation start (timeOrigin).
      loads.push(await page.evaluate(() => (window as unknown as { __allNodesAt: number }).__allNodesAt));
    }
    // Let the fit-into-view and validation settle before dragging.
    await page.waitForTimeout(500);

    const target = page.locator('.react-flow__node').nth(Math.floor(NODE_COUNT / 2));
    const box = await target.boundingBox();
    if (!box) throw new Error('the node to drag is not on screen');
    // A string, not a function: tsx would wrap a named inner function in a helper the page does not have.
    await page.evaluate(`(() => {
      window.__frames = [];
      window.__rafTimes = [];
      window.__recording = true;
      let inputAt = null;
      addEventListener('pointermove', () => { if (inputAt === null) inputAt = performance.now(); }, { capture: true });
      function tick(time) {
        window.__rafTimes.push(time);
        const start = inputAt;
        inputAt = null;
        if (start !== null) {
          // A message posted now is handled once this frame's style, layout and paint are done.
          const channel = new MessageChannel();
          channel.port1.onmessage = () => window.__frames.push(performance.now() - start);
          channel.port2.postMessage(0);
        }
        if (window.__recording) requestAnimationFrame(tick);
      }
      requestAnimationFrame(tick);
    })()`);
    const startX = box.x + box.width / 2;
    const startY = box.y + box.height / 2;
    await page.mouse.move(startX, startY);
    await page.mouse.down();
    for (let step = 1; step <= DRAG_STEPS; step += 1) {
      await page.mouse.move(startX + step * 3, startY + Math.sin(step / 10) * 40);
    }
    await page.mouse.up();
    await page.waitForTimeout(100);
    const { frames, rafTimes } = (await page.evaluate(`(() => {
      window.__recording = false;
      return { frames: window.__frames, rafTimes: window.__rafTimes };
    })()`)) as { frames: number[]; rafTimes: number[] };
    const moved = await target.boundingBox();
    if (!moved || Math.abs(moved.x - box.x) < 100) throw new Error('the drag did not move the node');
    const sorted = [...frames].sort((a, b) => a - b);
    const mean = frames.reduce((sum, frame) => sum + frame, 0) / Math.max(1, frames.length);
    const intervals = rafTimes.slice(1).map((time, i) => time - (rafTimes[i] as number));
    return {
      firstRenderMs: round(Math.min(...loads)),
      firstRenderMsMedian: round([...loads].sort((a, b) => a - b)[1] ?? 0),
      frameMsMean: round(mean),
      frameMsP95: round(percentile(sorted, 95)),
      framesMeasured: frames.length,
      rafIntervalMsMean: round(intervals.reduce((sum, interval) => sum + interval, 0) / Math.max(1, intervals.length)),
      nodes: NODE_COUNT,
    };
  } finally {
    await context.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await runEditorBench();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
