import { afterEach, describe, expect, it } from 'vitest';
import { triggerConfigSchema } from '../../../nodes/trigger/schema';
import { loopbackAccess } from '../../../test/support/access';
import type { ConnectorContext } from '../types';
import { registerGitHubHook, unregisterGitHubHook } from './hooks';
import { credentialName, fakeConnection, startFakeRepository, testToken, type FakeRepository } from './test-support';

describe('the repository webhook of a deployed flow', () => {
  let repository: FakeRepository | undefined;
  afterEach(async () => repository?.fake.close());

  const context = (repo: FakeRepository, token = testToken): ConnectorContext => ({
    config: triggerConfigSchema.parse({ connector: 'github', connection: fakeConnection(repo.fake), collection: 'issues', key: 'number', detect: { mode: 'webhook', secret: { credential: 'hook' } } }),
    baseDir: '/',
    resolveCredential: async (name) => (name === credentialName ? token : Promise.reject(new Error(`no credential ${name}`))),
    access: loopbackAccess,
  });

  it('is added once for issues events, updated when registered again, and removed by its URL', async () => {
    repository = await startFakeRepository();
    const url = 'https://sync.example.com/hooks/helpdesk/github';
    await registerGitHubHook(context(repository), { url, secret: 'first secret' });
    await registerGitHubHook(context(repository), { url, secret: 'second secret' });
    const hooks = repository.fake.webhooks.hooks();
    expect(hooks).toHaveLength(1);
    expect(hooks[0]).toMatchObject({ active: true, events: ['issues'], config: { url, content_type: 'json', secret: 'second secret' } });

    await registerGitHubHook(context(repository), { url: 'https://sync.example.com/hooks/other/github', secret: 's' });
    await unregisterGitHubHook(context(repository), url);
    expect(repository.fake.webhooks.hooks().map((hook) => hook.config.url)).toEqual(['https://sync.example.com/hooks/other/github']);
    // Removing what is not there is nothing to do.
    await unregisterGitHubHook(context(repository), url);
  });

  it('says what access a token without admin rights lacks', async () => {
    repository = await startFakeRepository({ tokens: { [testToken]: 'octocat', 'ghp_reader': { login: 'reader', permission: 'read' } } });
    await expect(registerGitHubHook(context(repository, 'ghp_reader'), { url: 'https://sync.example.com/hooks/f/t', secret: 's' })).rejects.toThrow(/admin access to the repository/);
  });
});
