import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { RunControl } from './runSupervisor';

const channels: MessageChannel[] = [];
afterEach(() => {
  for (const channel of channels.splice(0)) {
    channel.port1.close();
    channel.port2.close();
  }
});

function control(): { control: RunControl; signal(name: string): void } {
  const channel = new MessageChannel();
  channels.push(channel);
  return { control: new RunControl(channel.port2, false), signal: (name) => channel.port1.postMessage(name) };
}

describe('RunControl', () => {
  it('stops a pass at its next progress report once a signal came, without the event loop turning in between', () => {
    const { control: run, signal } = control();
    const reports: number[] = [];
    const onProgress = run.progress((progress) => reports.push(progress.read));
    onProgress({ nodeId: 'a', read: 1, written: 0 });
    signal('SIGTERM');
    // Synchronously, as a pass that never yields calls it: the request is read from the port itself.
    expect(() => onProgress({ nodeId: 'a', read: 2, written: 0 })).toThrow('stopped: interrupted by SIGTERM');
    expect(reports).toEqual([1]);
    expect(run.stopRequested()).toBe('SIGTERM');
  });

  it('cuts the wait between passes short when a signal comes', async () => {
    const { control: run, signal } = control();
    const waited = run.sleep(60_000);
    signal('SIGINT');
    await waited;
    expect(run.stopRequested()).toBe('SIGINT');
  });

  it('never stops a run nothing watches', () => {
    const run = new RunControl(null, false);
    expect(() => run.progress()({ nodeId: 'a', read: 1, written: 0 })).not.toThrow();
    expect(run.stopRequested()).toBeNull();
  });
});
