/**
 * For this folder's tests only: a Moodle fake (test/fakes/moodle) and the trigger context that opens the connector on
 * it, as an operator would allow it (loopback host, a stored web-service token).
 */
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { startMoodleFake, type MoodleFake, type MoodleFakeOptions } from '../../../test/fakes/moodle/server';
import { testAccess } from '../../../test/support/access';
import type { ConnectorContext } from '../types';
import type { MoodleOptions } from './index';

export const tokenCredential = 'moodle-token';
export const access = testAccess({ hosts: ['127.0.0.1'] });

/** A Monday noon: enrolment dates and timestamps in assertions read plainly. */
export const clockStart = Date.parse('2024-06-03T12:00:00Z');

/** Retries without waiting: the fake answers at once, and a test must not sleep. */
export const noWaiting: MoodleOptions = { sleep: async () => {} };

export function startFake(options: MoodleFakeOptions = {}): Promise<MoodleFake> {
  return startMoodleFake({ clockStart, ...options });
}

/** A connection to the fake with the admin's token. */
export function connectionFor(fake: MoodleFake, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { baseUrl: fake.url, auth: { credential: tokenCredential }, ...extra };
}

export async function resolveToken(fake: MoodleFake, name: string): Promise<string> {
  if (name === tokenCredential) return fake.token;
  throw new Error(`no credential "${name}"`);
}

export function contextFor(fake: MoodleFake, collection: string, extra: Record<string, unknown> = {}): ConnectorContext {
  return {
    config: triggerConfigSchema.parse({ connector: 'moodle', connection: connectionFor(fake, extra), collection, key: 'id' }),
    baseDir: '/',
    resolveCredential: (name) => resolveToken(fake, name),
    access,
  };
}
