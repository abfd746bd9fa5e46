/** The fake's "List repositories for the authenticated user" (user-repos.ts) against what GitHub documents for it. */
import { afterEach, describe, expect, it } from 'vitest';
import { startGitHubFake, type GitHubFake } from './server';

let fake: GitHubFake | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function get(path: string, token: string | null): Promise<{ status: number; body: unknown; link: string | null }> {
  const response = await fetch(`${fake?.url}${path}`, {
    headers: { 'user-agent': 'syncline-test', accept: 'application/vnd.github+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  return { status: response.status, body: await response.json(), link: response.headers.get('link') };
}

describe('GET /user/repos', () => {
  it('lists the repositories the token’s user owns or collaborates on, with its permissions, and needs a user', async () => {
    fake = await startGitHubFake({ tokens: { ghp_admin: 'octocat', ghp_reader: { login: 'reader', permission: 'read' } } });
    const admin = await get('/user/repos', 'ghp_admin');
    expect(admin.status).toBe(200);
    expect(admin.body).toEqual([
      expect.objectContaining({ full_name: 'octo-org/hello-world', private: true, has_issues: true, permissions: { admin: true, maintain: true, push: true, triage: true, pull: true } }),
    ]);
    expect(admin.link).toBeNull();
    const reader = await get('/user/repos', 'ghp_reader');
    expect(reader.body).toEqual([expect.objectContaining({ permissions: { admin: false, maintain: false, push: false, triage: false, pull: true } })]);

    const anonymous = await get('/user/repos', null);
    expect(anonymous).toMatchObject({ status: 401, body: { message: 'Requires authentication', status: '401' } });
    expect(fake.requests.count('GET /user/repos')).toBe(3);
  });

  it('filters by visibility, affiliation and type, and refuses type with either of the others', async () => {
    fake = await startGitHubFake({ owner: 'octocat', ownerType: 'User', tokens: { ghp_owner: 'octocat', ghp_collaborator: { login: 'hubot', permission: 'write' } } });
    const names = async (query: string, token: string) => ((await get(`/user/repos${query}`, token)).body as Array<{ full_name: string }>).map((repo) => repo.full_name);
    expect(await names('?visibility=public', 'ghp_owner')).toEqual([]);
    expect(await names('?visibility=private', 'ghp_owner')).toEqual(['octocat/hello-world']);
    expect(await names('?affiliation=owner', 'ghp_owner')).toEqual(['octocat/hello-world']);
    expect(await names('?affiliation=owner', 'ghp_collaborator')).toEqual([]);
    expect(await names('?affiliation=collaborator', 'ghp_collaborator')).toEqual(['octocat/hello-world']);
    expect(await names('?type=member', 'ghp_collaborator')).toEqual(['octocat/hello-world']);
    expect(await names('?type=owner', 'ghp_collaborator')).toEqual([]);
    expect((await get('/user/repos?type=all&visibility=all', 'ghp_owner')).status).toBe(422);
  });

  it('pages with per_page and page, keeping the query in the Link header', async () => {
    fake = await startGitHubFake({ tokens: { ghp_admin: 'octocat' } });
    const second = await get('/user/repos?per_page=1&page=2', 'ghp_admin');
    expect(second.body).toEqual([]);
    expect(second.link).toBe(`<${fake.url}/user/repos?per_page=1&page=1>; rel="prev", <${fake.url}/user/repos?per_page=1&page=1>; rel="first"`);
  });
});
