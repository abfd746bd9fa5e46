import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PassOptions, PassResult } from '../../runtime/engine/types';
import { pollInterval } from '../../runtime/scheduler/scheduler';
import { auth, contacts, deployPeople, eventually, flowOnOwnSides, peopleFlow, recordPassRequests, testRuntime, upsertPerson, type TestRuntime } from './support';

let t: TestRuntime;
afterEach(async () => {
  vi.restoreAllMocks();
  await t?.close();
});

describe('scheduler', () => {
  it('polls a deployed flow at its interval and stops when paused', async () => {
    t = await testRuntime();
    await deployPeople(t, peopleFlow({ detect: { mode: 'poll', intervalMs: 100 } }));
    upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    await eventually(() => expect(contacts(t.dir)).toHaveLength(1));
    upsertPerson(t.dir, { name: 'Alan Turing', email: 'alan@example.com' });
    await eventually(() => expect(contacts(t.dir)).toHaveLength(2));

    await t.post('/api/flows/people/pause');
    await t.runtime.deps.runner.idle();
    const requests = recordPassRequests(t);
    upsertPerson(t.dir, { name: 'Grace Hopper', email: 'grace@example.com' });
    // A second flow, deployed after the pause, ticks on the same scheduler at the same interval. A timer the pause had
    // left running would have been armed at most 100 ms ahead, before this flow existed, and Node fires timers in the
    // order they fall due: by this flow's third tick (at least 200 ms after its deploy), it would have fired.
    await deployPeople(t, flowOnOwnSides(t, 'clock', 'clock', 100));
    await eventually(() => expect(requests().filter(([flowId, reason]) => flowId === 'clock' && reason === 'schedule').length).toBeGreaterThanOrEqual(3));
    expect(requests().filter(([flowId]) => flowId === 'people')).toEqual([]);
    expect(contacts(t.dir)).toHaveLength(2);
  });

  it('never runs two passes of one flow at once (timer, webhooks and "run now" share one lock)', async () => {
    t = await testRuntime();
    await deployPeople(t, peopleFlow({ detect: { mode: 'poll', intervalMs: 100 } }));
    const engine = t.runtime.deps.engine;
    const original = engine.runPass.bind(engine);
    let running = 0;
    let most = 0;
    const reasons: string[] = [];
    // The next scheduled pass is held open until `release`: "run now" requests made meanwhile must wait for it.
    let release!: () => void;
    let hold: Promise<void> | null = new Promise((resolve) => (release = resolve));
    let heldOpen!: () => void;
    const held = new Promise<void>((resolve) => (heldOpen = resolve));
    engine.runPass = async (flow, options: PassOptions) => {
      running += 1;
      most = Math.max(most, running);
      reasons.push(options.reason ?? '');
      try {
        if (hold && options.reason === 'schedule') {
          const until = hold;
          hold = null;
          heldOpen();
          await until;
        }
        return await original(flow, options);
      } finally {
        running -= 1;
      }
    };
    const requests = recordPassRequests(t);
    await held;

    for (let index = 0; index < 5; index += 1) upsertPerson(t.dir, { name: `P ${index}`, email: `p${index}@example.com` });
    const runs = Promise.all(Array.from({ length: 6 }, () => t.post('/api/flows/people/run')));
    await eventually(() => expect(requests().filter(([, reason]) => reason === 'manual')).toHaveLength(6));
    expect(running).toBe(1);
    release();
    expect((await runs).map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(contacts(t.dir)).toHaveLength(5);

    // The timer goes on through the same lock after the manual passes.
    const scheduled = () => reasons.filter((reason) => reason === 'schedule').length;
    const before = scheduled();
    await eventually(() => expect(scheduled()).toBeGreaterThanOrEqual(before + 2));
    await t.runtime.deps.runner.idle();
    expect(most).toBe(1);
  });

  it('marks a pass left running by a killed process as failed, and redoes the work on start', async () => {
    t = await testRuntime();
    await deployPeople(t, peopleFlow({ detect: { mode: 'poll', intervalMs: 60_000 } }));
    await t.runtime.stop();
    await t.db
      .insertInto('runs')
      .values({ id: 'killed', flow_id: 'people', started_at: new Date().toISOString(), finished_at: null, status: 'running', reason: 'schedule', dry_run: 0, summary: null, error: null })
      .execute();
    upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    await t.runtime.start();
    const run = (await (await t.request('/api/runs/killed', { headers: auth })).json()) as { run: { status: string; error: string } };
    expect(run.run).toMatchObject({ status: 'failed', error: expect.stringMatching(/interrupted/) });
    await eventually(() => expect(contacts(t.dir)).toHaveLength(1));
  });

  it('picks the shortest poll interval of a flow, none for webhook and manual triggers', () => {
    expect(pollInterval(peopleFlow({ detect: { mode: 'poll', intervalMs: 2000 } }) as never)).toBe(2000);
    expect(pollInterval(peopleFlow() as never)).toBeNull();
  });

  it('runs deployed flows again after a restart of the runtime', async () => {
    t = await testRuntime();
    await deployPeople(t, peopleFlow({ detect: { mode: 'poll', intervalMs: 100 } }));
    await t.runtime.stop();
    const engine = t.runtime.deps.engine;
    const original = engine.runPass.bind(engine);
    let restarted = false;
    const passes: Array<{ afterRestart: boolean; reason: string | undefined; result: PassResult }> = [];
    engine.runPass = async (flow, options: PassOptions) => {
      const afterRestart = restarted;
      const result = await original(flow, options);
      passes.push({ afterRestart, reason: options.reason, result });
      return result;
    };
    upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    // stop() resolved after the last pass: nothing has run since.
    expect(contacts(t.dir)).toHaveLength(0);

    await t.runtime.deps.catalog.load();
    restarted = true;
    await t.runtime.start();
    await eventually(() => expect(contacts(t.dir)).toHaveLength(1));
    // The record was created by a scheduled pass of the restarted runtime, and no pass ran in between.
    await eventually(() => expect(passes.filter((pass) => pass.result.summary.created === 1)).toEqual([expect.objectContaining({ afterRestart: true, reason: 'schedule' })]));
    expect(passes.filter((pass) => !pass.afterRestart)).toEqual([]);
    expect(await (await t.request('/api/flows', { headers: auth })).json()).toEqual([expect.objectContaining({ deployed: true })]);
  });
});
