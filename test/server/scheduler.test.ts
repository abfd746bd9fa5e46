import { afterEach, describe, expect, it } from 'vitest';
import type { PassOptions } from '../../runtime/engine/types';
import { pollInterval } from '../../runtime/scheduler/scheduler';
import { auth, contacts, deployPeople, eventually, peopleFlow, testRuntime, upsertPerson, type TestRuntime } from './support';

let t: TestRuntime;
afterEach(async () => t?.close());

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
    upsertPerson(t.dir, { name: 'Grace Hopper', email: 'grace@example.com' });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(contacts(t.dir)).toHaveLength(2);
  });

  it('never runs two passes of one flow at once (timer, webhooks and "run now" share one lock)', async () => {
    t = await testRuntime();
    await deployPeople(t, peopleFlow({ detect: { mode: 'poll', intervalMs: 100 } }));
    const engine = t.runtime.deps.engine;
    const original = engine.runPass.bind(engine);
    let running = 0;
    let most = 0;
    engine.runPass = async (flow, options: PassOptions) => {
      running += 1;
      most = Math.max(most, running);
      try {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return await original(flow, options);
      } finally {
        running -= 1;
      }
    };
    for (let index = 0; index < 5; index += 1) upsertPerson(t.dir, { name: `P ${index}`, email: `p${index}@example.com` });
    const runs = await Promise.all(Array.from({ length: 6 }, () => t.post('/api/flows/people/run')));
    expect(runs.map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 200]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(most).toBe(1);
    expect(contacts(t.dir)).toHaveLength(5);
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
    upsertPerson(t.dir, { name: 'Ada Lovelace', email: 'ada@example.com' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(contacts(t.dir)).toHaveLength(0);
    await t.runtime.deps.catalog.load();
    await t.runtime.start();
    await eventually(() => expect(contacts(t.dir)).toHaveLength(1));
    expect(await (await t.request('/api/flows', { headers: auth })).json()).toEqual([expect.objectContaining({ deployed: true })]);
  });
});
