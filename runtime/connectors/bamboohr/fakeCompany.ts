/**
 * For this folder's tests only: a BambooHR fake (test/fakes/bamboohr) and the trigger context that opens the connector
 * on it, as an operator would allow it (loopback host, a stored API key).
 */
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { startBambooHrFake, type BambooHrFake, type BambooHrFakeOptions } from '../../../test/fakes/bamboohr/server';
import { testAccess } from '../../../test/support/access';
import { guardedFetch } from '../network';
import type { ConnectionContext, Connector, ConnectorContext } from '../types';
import type { BambooHrOptions } from './index';

export const keyCredential = 'bamboohr-key';
export const access = testAccess({ hosts: ['127.0.0.1'] });

/** A Monday noon, whole seconds: timestamps in assertions read plainly. */
export const clockStart = Date.parse('2024-06-03T12:00:00Z');

export function startFake(options: BambooHrFakeOptions = {}): Promise<BambooHrFake> {
  return startBambooHrFake({ clockStart, ...options });
}

/** A connection to the fake with its API key. */
export function connectionFor(fake: BambooHrFake, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { baseUrl: fake.url, auth: { credential: keyCredential }, ...extra };
}

export async function resolveCredential(name: string): Promise<string> {
  if (name === keyCredential) return 'fake-api-key';
  throw new Error(`no credential "${name}"`);
}

export function contextFor(fake: BambooHrFake, extra: Record<string, unknown> = {}): ConnectorContext {
  return {
    config: triggerConfigSchema.parse({ connector: 'bamboohr', connection: connectionFor(fake, extra), collection: 'employees', key: 'id' }),
    baseDir: '/',
    resolveCredential,
    access,
  };
}

export function connectionContextFor(connection: Record<string, unknown>): ConnectionContext {
  return { connection, baseDir: '/', resolveCredential, access };
}

/**
 * The fake's clock as the connector's: `now` reads it and a wait moves it on, so a Retry-After is waited out in the
 * fake's time, not the test's. Every wait asked for is kept in `waits` (ms).
 */
export function fakeTime(fake: BambooHrFake): Required<Pick<BambooHrOptions, 'now' | 'sleep'>> & { waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    now: () => fake.clock.now().getTime(),
    sleep: async (ms) => {
      waits.push(ms);
      fake.clock.advance(ms / 1000);
    },
  };
}

/** guardedFetch, with a hook that may change each request before it leaves (a proxy in the way). */
export function proxiedFetch(change: (headers: Headers) => void): typeof globalThis.fetch {
  const inner = guardedFetch(access.hosts);
  return (input, init) => {
    const headers = new Headers(init?.headers);
    change(headers);
    return inner(input, { ...init, headers });
  };
}

/**
 * The connector as a sync meets it over time. The fake's clock stands still unless moved; BambooHR's does not. Before
 * each write a second passes: `lastChanged` has whole seconds, so writes within one second share a version.
 */
export function withTimePassing(connector: Connector, fake: BambooHrFake): Connector {
  return {
    capabilities: connector.capabilities,
    listSince: (position, limit) => connector.listSince(position, limit),
    getMany: (ids) => connector.getMany(ids),
    write: (ops) => {
      fake.clock.advance(1);
      return connector.write(ops);
    },
    scanIds: (limit) => connector.scanIds(limit),
    describe: () => connector.describe(),
    close: () => connector.close(),
  };
}
