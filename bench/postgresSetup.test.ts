import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../test/support/requirements';
import { runBench, workSizes } from './postgres';
import { clusterUnavailable } from './postgresCluster';

/**
 * The postgres bench (bench/postgres.ts) at a tiny size, Syncline `run --once` only (never Bucardo): its own cluster
 * comes up, every piece of work runs to its end and is checked, the figures come out in the shape bin/bench.mjs
 * reads, and nothing of the cluster is left behind. Needs initdb (PostgreSQL installed); skipped with the reason
 * when it is missing, except under CI, where a missing requirement fails.
 */
const unavailable = clusterUnavailable();
const skip = skipUnless({ available: unavailable === null, reason: unavailable ?? '' });

describe.skipIf(skip)('the postgres bench, 200 rows', () => {
  it('sets up its cluster, runs every piece of work through syncline run --once, and tears everything down', { timeout: 300_000 }, async () => {
    const logs: string[] = [];
    const rows = 200;
    // Without the echo passes between the pieces of work: half the processes to start, the same setup and teardown.
    const result = await runBench({ rows, runs: 1, only: new Set(['syncline']), profileDir: null, timeoutMs: 120_000, echoPasses: false, log: (message) => logs.push(message) });

    const sizes = workSizes(rows);
    const [run] = result.results.syncline;
    expect(result.results.bucardo).toEqual([]);
    expect(run?.initial?.wallS).toBeGreaterThan(0);
    expect(run?.initial?.processCpuS).toBeGreaterThan(0);
    expect(run?.initial?.peakRssMb).toBeGreaterThan(0);
    expect(run?.twoWay?.passes).toBeGreaterThanOrEqual(1);
    expect(run?.merge?.keptBoth).toBe(sizes.merged);
    expect(run?.deletes?.reached).toBe(true);

    // What bin/bench.mjs reads: measurements with runs, the first carrying the side-by-side table.
    const ids = result.measurements.map((measurement) => measurement.id);
    expect(ids).toEqual(expect.arrayContaining(['initial.syncline.wall', 'initial.syncline.backends', 'twoWay.syncline.wall', 'merge.syncline.keptBoth', 'deletes.syncline.reached']));
    expect(result.measurements.every((measurement) => measurement.runs.length === 1)).toBe(true);
    expect(result.measurements[0]?.notes).toContain('| initial sync, 200 rows A → empty B |');

    // Torn down: nothing listens on the cluster's port any more, and its folder (data, socket, flows, states) is gone.
    const started = /on 127\.0\.0\.1:(\d+), in (\/\S+syncline-pgbench-[0-9a-f]+)/.exec(logs.join('\n'));
    expect(started).not.toBeNull();
    const [, port, root] = started as RegExpExecArray;
    await expect(connectTo(Number(port))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(existsSync(root as string)).toBe(false);
  });
});

function connectTo(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}
