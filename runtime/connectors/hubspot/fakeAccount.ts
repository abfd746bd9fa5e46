/**
 * For this folder's tests only: a HubSpot fake (test/fakes/hubspot) and the trigger context that opens the connector
 * on it, as an operator would allow it (loopback host, a stored private-app token).
 */
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { startHubSpotFake, type HubSpotFake, type HubSpotFakeOptions } from '../../../test/fakes/hubspot/server';
import { testAccess } from '../../../test/support/access';
import type { Connector, ConnectorContext } from '../types';
import type { HubSpotOptions } from './index';

export const tokenCredential = 'hubspot-token';
export const access = testAccess({ hosts: ['127.0.0.1'] });

/** A Monday noon: timestamps in assertions read plainly. */
export const clockStart = Date.parse('2024-06-03T12:00:00.000Z');
/** The fake's search lag in these tests: well inside the connector's five-minute lookback. */
export const searchLagMs = 20_000;

export function startFake(options: HubSpotFakeOptions = {}): Promise<HubSpotFake> {
  return startHubSpotFake({ clockStart, searchLagMs, ...options });
}

/** A connection to the fake with its private-app token. */
export function connectionFor(fake: HubSpotFake, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { baseUrl: fake.url, auth: { credential: tokenCredential }, ...extra };
}

export function contextFor(fake: HubSpotFake, collection: string, extra: Record<string, unknown> = {}, token: () => string = () => fake.tokens.privateApp): ConnectorContext {
  return {
    config: triggerConfigSchema.parse({ connector: 'hubspot', connection: connectionFor(fake, extra), collection, key: 'id' }),
    baseDir: '/',
    resolveCredential: async (name) => {
      if (name === tokenCredential) return token();
      throw new Error(`no credential "${name}"`);
    },
    access,
  };
}

/**
 * The fake's clock as the connector's: `now` reads it and a wait moves it on, so a limit is waited out in the fake's
 * time, not the test's. Every wait asked for is kept in `waits` (ms).
 */
export function fakeTime(fake: HubSpotFake): Required<Pick<HubSpotOptions, 'now' | 'sleep'>> & { waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    now: () => fake.clock.now().getTime(),
    sleep: async (ms) => {
      waits.push(ms);
      fake.clock.advance(ms);
    },
  };
}

/**
 * The connector as a sync meets it over time. The fake's clock stands still unless moved; HubSpot's does not. Before
 * each write a millisecond passes (HubSpot's versions are milliseconds, so writes in one share a version), and before
 * each listing longer than the search index's lag, as a poll interval would.
 */
export function withTimePassing(connector: Connector, fake: HubSpotFake): Connector {
  return {
    capabilities: connector.capabilities,
    listSince: (position, limit) => {
      fake.clock.advance(searchLagMs + 1);
      return connector.listSince(position, limit);
    },
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
