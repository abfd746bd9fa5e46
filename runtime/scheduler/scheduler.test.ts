import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { FlowCatalog } from '../flows/flowCatalog';
import type { FlowRunner } from '../passes/runner';
import { Scheduler } from './scheduler';

// Which syncs of a flow stop its pass in progress: a pause does, and nothing else does.
describe('Scheduler.sync and a pass in progress', () => {
  function scheduler() {
    const flow = { deployed: false };
    const stops: Array<[string, string]> = [];
    const catalog = { get: (id: string) => (id === 'f' ? { id, deployed: flow.deployed, document: null } : undefined), list: () => [] };
    // Busy throughout: a pass of the flow is running whenever sync is asked.
    const runner = { busy: () => true, stop: async (id: string, reason: string) => void stops.push([id, reason]) };
    return { flow, stops, scheduler: new Scheduler(catalog as unknown as FlowCatalog, runner as unknown as FlowRunner, pino({ level: 'silent' })) };
  }

  it('leaves the pass of a flow never deployed, which a person ran by hand', () => {
    const { stops, scheduler: subject } = scheduler();
    // What an import heard back through a PostgreSQL state's notifications makes, while the run is going.
    subject.sync('f');
    subject.sync('f');
    expect(stops).toEqual([]);
  });

  it('stops the pass of a flow that was deployed and is paused, once', () => {
    const { flow, stops, scheduler: subject } = scheduler();
    flow.deployed = true;
    subject.sync('f');
    expect(stops).toEqual([]);
    flow.deployed = false;
    subject.sync('f');
    subject.sync('f');
    expect(stops).toEqual([['f', 'the flow was paused']]);
  });

  it('stops the pass of a flow being removed, deployed or not', () => {
    const { stops, scheduler: subject } = scheduler();
    subject.stop('f');
    expect(stops).toEqual([['f', 'the flow was removed']]);
  });
});
