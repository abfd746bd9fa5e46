import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStore } from '../connectors/memory/index';
import { RateLimitedError } from '../connectors/types';
import { openStateDb } from '../db/index';
import { RATE_LIMIT_RECHECK_MS } from '../engine/pass/holds';
import { runCommand } from './run';
import { RunControl } from './runSupervisor';

/** A control that lets `passes` passes run, and records the waits asked for between them instead of waiting. */
class CountedPasses extends RunControl {
  readonly waits: number[] = [];
  constructor(private readonly passes: number) {
    super(null, false);
  }
  override stopRequested(): string | null {
    return this.waits.length >= this.passes ? 'SIGTERM' : null;
  }
  override sleep(ms: number): Promise<void> {
    this.waits.push(ms);
    return Promise.resolve();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('syncline run without --once', () => {
  it('polls like serve after its first pass: a system held by its rate limit is not called again within the minute', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const store = createMemoryStore('run-loop-held', { seed: 1 });
    store.createCollection('a').insert({ email: 'ada@example.com', name: 'Ada' });
    store.createCollection('b');
    let refusals = 0;
    store.failWhen((call) => (call.method === 'listSince' && call.collection === 'b' ? (refusals++, new RateLimitedError('Memory', new Date(Date.now() + 3_600_000), '0 requests left')) : undefined));
    const dir = mkdtempSync(join(tmpdir(), 'syncline-run-loop-'));
    const trigger = (id: string, x: number) => ({
      id,
      type: 'trigger',
      typeVersion: 1,
      position: { x, y: 0 },
      config: { connector: 'memory', connection: { store: 'run-loop-held' }, collection: id, key: 'id', updatedAt: 'updated', detect: { mode: 'poll', intervalMs: 1000 } },
    });
    const flow = {
      format: 'syncline.flow',
      version: 1,
      id: 'run-loop',
      name: 'run loop',
      nodes: [trigger('a', 0), { id: 'merge', type: 'conflict', typeVersion: 1, position: { x: 200, y: 0 }, config: { policy: 'last-write-wins', fields: {}, match: ['email'] } }, trigger('b', 400)],
      edges: [
        { id: 'e-a', source: 'a', target: 'merge' },
        { id: 'e-b', source: 'merge', target: 'b' },
      ],
    };
    writeFileSync(join(dir, 'flow.json'), JSON.stringify(flow));
    const control = new CountedPasses(3);

    expect(await runCommand([join(dir, 'flow.json'), '--state', join(dir, 'state.db')], control)).toBe(0);
    // The first pass, the one asked for, met the limit; the two polls after it left the held system alone.
    expect(refusals).toBe(1);
    for (const wait of control.waits) expect(wait).toBeGreaterThan(RATE_LIMIT_RECHECK_MS - 10_000);
    const db = await openStateDb(join(dir, 'state.db'));
    try {
      const runs = await db.selectFrom('runs').select(['reason', 'status', 'error']).orderBy('started_at').execute();
      expect(runs.map((run) => [run.reason, run.status])).toEqual([
        ['cli', 'stopped'],
        ['schedule', 'stopped'],
        ['schedule', 'stopped'],
      ]);
      expect(runs[1]?.error).toMatch(/a pass run by hand calls it at once\)$/);
    } finally {
      await db.destroy();
    }
  });
});
