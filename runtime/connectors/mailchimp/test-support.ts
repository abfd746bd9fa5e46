/**
 * For this folder's tests only: a Mailchimp fake (test/fakes/mailchimp) and the trigger context that opens the
 * connector on it, as an operator would allow it (loopback host, a stored API key).
 */
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { startMailchimpFake, type MailchimpFake, type MailchimpFakeOptions } from '../../../test/fakes/mailchimp/server';
import { testAccess } from '../../../test/support/access';
import { guardedFetch } from '../network';
import type { Connector, ConnectorContext } from '../types';
import type { MailchimpOptions } from './index';

export const keyCredential = 'mailchimp-key';
export const access = testAccess({ hosts: ['127.0.0.1'] });

/** A Monday noon, whole seconds: timestamps in assertions read plainly. */
export const clockStart = Date.parse('2024-06-03T12:00:00Z');

export function startFake(options: MailchimpFakeOptions = {}): Promise<MailchimpFake> {
  return startMailchimpFake({ clockStart, ...options });
}

/** A connection to the fake's audience with its API key. */
export function connectionFor(fake: MailchimpFake, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { baseUrl: fake.url, list: fake.list.id, auth: { credential: keyCredential }, ...extra };
}

export function contextFor(fake: MailchimpFake, extra: Record<string, unknown> = {}, secret = fake.apiKey): ConnectorContext {
  return {
    config: triggerConfigSchema.parse({ connector: 'mailchimp', connection: connectionFor(fake, extra), collection: 'members', key: 'id' }),
    baseDir: '/',
    resolveCredential: async (name) => {
      if (name === keyCredential) return secret;
      throw new Error(`no credential "${name}"`);
    },
    access,
  };
}

/**
 * The fake's clock as the connector's: `now` reads it and a wait moves it on, so a pause is spent in the fake's time,
 * not the test's. Every wait asked for is kept in `waits` (ms).
 */
export function fakeTime(fake: MailchimpFake): Required<Pick<MailchimpOptions, 'now' | 'sleep'>> & { waits: number[] } {
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
 * The connector as a sync meets it over time. The fake's clock stands still unless moved; Mailchimp's does not. Before
 * each write a second passes (last_changed counts whole seconds), and before each listing two: a listing reads up to a
 * second before the server's time.
 */
export function withTimePassing(connector: Connector, fake: MailchimpFake): Connector {
  return {
    capabilities: connector.capabilities,
    listSince: (position, limit) => {
      fake.clock.advance(2);
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
