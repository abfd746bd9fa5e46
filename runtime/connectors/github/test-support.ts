/**
 * What the github connector's tests share: the GitHub fake (test/fakes/github) on a clock the tests step, and the
 * connector opened on it as a trigger would open it, through the host policy with 127.0.0.1 allowed.
 */
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { startGitHubFake, type GitHubFake, type GitHubFakeOptions } from '../../../test/fakes/github/server';
import { loopbackAccess } from '../../../test/support/access';
import type { Connector } from '../types';
import { githubConnector } from './index';

export const testToken = 'ghp_syncline_test_token';
export const credentialName = 'github-token';

/**
 * The fake's clock: real time plus an offset that only grows. GitHub's updated_at counts whole seconds, so an edit
 * made "out of band" is placed at the start of a second of its own, later than every version so far, and the clock then
 * moves on a further second, as a person's next edit would come after the sync's writes of that second.
 */
export interface SteppingClock {
  now(): Date;
  /** Moves the clock to the start of its next second and returns that instant. */
  nextSecond(): Date;
}

export function steppingClock(): SteppingClock {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    nextSecond: () => {
      const next = (Math.floor((Date.now() + offsetMs) / 1000) + 1) * 1000;
      offsetMs = next - Date.now();
      return new Date(next);
    },
  };
}

export interface FakeRepository {
  fake: GitHubFake;
  clock: SteppingClock;
  /** `owner/name` of the fake's repository. */
  repo: string;
  /** Runs an out-of-band edit in a second of its own (see {@link SteppingClock}). */
  outOfBand<T>(edit: (at: Date) => T): T;
}

export async function startFakeRepository(options: GitHubFakeOptions = {}): Promise<FakeRepository> {
  const clock = steppingClock();
  const fake = await startGitHubFake({ tokens: { [testToken]: 'octocat' }, now: clock.now, ...options });
  return {
    fake,
    clock,
    repo: `${fake.owner}/${fake.repo}`,
    outOfBand: (edit) => {
      const result = edit(clock.nextSecond());
      clock.nextSecond();
      return result;
    },
  };
}

/** A trigger's connection to the fake's repository, with `extra` options. */
export function fakeConnection(fake: GitHubFake, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { repo: `${fake.owner}/${fake.repo}`, auth: { credential: credentialName }, baseUrl: fake.url, ...extra };
}

/** Opens the connector on the fake as the engine would, the token resolved from the test credential. */
export async function openIssues(fake: GitHubFake, extra: Record<string, unknown> = {}, token: string = testToken): Promise<Connector> {
  const config = triggerConfigSchema.parse({ connector: 'github', connection: fakeConnection(fake, extra), collection: 'issues', key: 'number', updatedAt: 'updated_at' });
  return githubConnector.open({
    config,
    baseDir: '/',
    resolveCredential: async (name) => {
      if (name !== credentialName) throw new Error(`no credential "${name}"`);
      return token;
    },
    access: loopbackAccess,
  });
}
