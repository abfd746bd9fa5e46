/**
 * For this folder's tests only: a Zendesk fake (test/fakes/zendesk) and the trigger context that opens the connector
 * on it, as an operator would allow it (loopback host, a stored API token).
 */
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { startZendeskFake, type ZendeskFake, type ZendeskFakeOptions } from '../../../test/fakes/zendesk/server';
import { testAccess } from '../../../test/support/access';
import { guardedFetch } from '../network';
import type { Connector, ConnectorContext } from '../types';
import type { ZendeskOptions } from './index';

export const tokenCredential = 'zendesk-token';
export const access = testAccess({ hosts: ['127.0.0.1'] });

/** A Monday noon, whole seconds: timestamps in assertions read plainly. */
export const clockStart = Date.parse('2024-06-03T12:00:00Z');

export function startFake(options: ZendeskFakeOptions = {}): Promise<ZendeskFake> {
  return startZendeskFake({ clockStart, ...options });
}

/** A connection to the fake with the admin's API token. */
export function connectionFor(fake: ZendeskFake, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { baseUrl: fake.url, email: String(fake.admin.email), auth: { credential: tokenCredential }, ...extra };
}

export function contextFor(fake: ZendeskFake, collection: string, extra: Record<string, unknown> = {}): ConnectorContext {
  return {
    config: triggerConfigSchema.parse({ connector: 'zendesk', connection: connectionFor(fake, extra), collection, key: 'id' }),
    baseDir: '/',
    resolveCredential: async (name) => {
      if (name === tokenCredential) return 'fake-api-token';
      throw new Error(`no credential "${name}"`);
    },
    access,
  };
}

/**
 * The fake's clock as the connector's: `now` reads it and a wait moves it on, so a Retry-After is waited out in the
 * fake's time, not the test's. Every wait asked for is kept in `waits` (ms).
 */
export function fakeTime(fake: ZendeskFake): Required<Pick<ZendeskOptions, 'now' | 'sleep'>> & { waits: number[] } {
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

export interface SentRequest {
  method: string;
  path: string;
  body: unknown;
}

/** guardedFetch, keeping what each request sent. */
export function recordingFetch(): { fetch: typeof globalThis.fetch; sent: SentRequest[] } {
  const sent: SentRequest[] = [];
  const inner = guardedFetch(access.hosts);
  const fetch: typeof globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : null;
    sent.push({ method: init?.method ?? 'GET', path: url.pathname + url.search, body });
    return inner(input, init);
  };
  return { fetch, sent };
}

/**
 * The connector as a sync meets it over time. The fake's clock stands still unless moved; Zendesk's does not. Before
 * each write a second passes (Zendesk's versions are whole seconds, so writes in one second share a version), and
 * before each listing a minute and a second (the export never shows the last minute).
 */
export function withTimePassing(connector: Connector, fake: ZendeskFake): Connector {
  return {
    capabilities: connector.capabilities,
    listSince: (position, limit) => {
      fake.clock.advance(61);
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
