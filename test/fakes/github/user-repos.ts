/**
 * GET /user/repos, "List repositories for the authenticated user" (docs.github.com/rest/repos/repos#list-repositories-
 * for-the-authenticated-user, API version 2022-11-28): "Lists repositories that the authenticated user has explicit
 * permission (:read, :write, or :admin) to access. The authenticated user has explicit permission to access
 * repositories they own, repositories where they are a collaborator, and repositories that they can access through an
 * organization membership." The fake holds one repository (plus the targets of transfers, which no token can list), so
 * a caller sees it when it owns it or is its collaborator; organization membership is not modelled.
 */
import { ApiError } from './api-error';
import { linkHeader } from './listing';
import { repositoryJson, type Urls } from './representation';
import { allows, type RepoStore } from './store';

const documentationUrl = 'https://docs.github.com/rest/repos/repos#list-repositories-for-the-authenticated-user';

interface UserReposCall {
  login: string | null;
  query: URLSearchParams;
}

/**
 * The listing. `createdAt` is the repository's creation time in epoch seconds (the fake creates it as it starts).
 * Parameters as documented: `visibility` (all, public, private), `affiliation` (comma-separated owner, collaborator,
 * organization_member), `type` (all, owner, public, private, member), `sort` (created, updated, pushed, full_name),
 * `direction`, `per_page` (default 30, max 100), `page`, `since`, `before`.
 */
export function listReposForAuthenticatedUser(urls: Urls, repos: () => RepoStore[], createdAt: number, call: UserReposCall): { status: number; body: unknown; headers?: Record<string, string> } {
  // Responses: 401 "Requires authentication" for an anonymous caller (the endpoint is only for a signed-in user).
  if (call.login === null) throw new ApiError(401, 'Requires authentication', documentationUrl);
  const login = call.login;
  const { query } = call;
  const type = query.get('type');
  // "type: ... Will cause a 422 error if used in the same request as visibility or affiliation."
  if (type !== null && (query.has('visibility') || query.has('affiliation'))) {
    // The validation-error schema's `errors` is optional; the documentation shows no list for this refusal.
    throw new ApiError(422, 'Validation Failed', documentationUrl);
  }
  const visibility = query.get('visibility') ?? 'all';
  const affiliations = (query.get('affiliation') ?? 'owner,collaborator,organization_member').split(',').map((part) => part.trim());

  const visible = repos().filter((repo) => {
    const owns = repo.owner.login.toLowerCase() === login.toLowerCase();
    const collaborates = !owns && repo.collaborators.has(login.toLowerCase());
    if (!owns && !collaborates) return false;
    if (type !== null) {
      // "type: Limit results to repositories of the specified type": owner, member (collaborator or member), public, private.
      if (type === 'owner' && !owns) return false;
      if (type === 'member' && owns) return false;
      if (type === 'public' && repo.isPrivate) return false;
      if (type === 'private' && !repo.isPrivate) return false;
      return true;
    }
    if (visibility === 'public' && repo.isPrivate) return false;
    if (visibility === 'private' && !repo.isPrivate) return false;
    return (owns && affiliations.includes('owner')) || (collaborates && affiliations.includes('collaborator'));
  });

  // `since`/`before`: "Only show repositories updated after / before the given time" (ISO 8601). The fake's
  // repositories are updated when created.
  const since = query.get('since');
  const before = query.get('before');
  const updatedMs = createdAt * 1000;
  const inWindow = (since === null || updatedMs > Date.parse(since)) && (before === null || updatedMs < Date.parse(before));
  const listed = inWindow ? visible : [];

  // "sort: Default: full_name"; "direction: Default: asc when using full_name, otherwise desc". Every repository of the
  // fake has the same timestamps, so the other sorts fall back to the id, as a stable order.
  const sort = query.get('sort') ?? 'full_name';
  const direction = query.get('direction') ?? (sort === 'full_name' ? 'asc' : 'desc');
  listed.sort((a, b) => (sort === 'full_name' ? a.fullName.toLowerCase().localeCompare(b.fullName.toLowerCase()) : a.repositoryId - b.repositoryId));
  if (direction === 'desc') listed.reverse();

  // Using pagination in the REST API: per_page "(max 100)", default 30; page default 1.
  const perPage = Math.min(Math.max(Number.parseInt(query.get('per_page') ?? '30', 10) || 30, 1), 100);
  const page = Math.max(Number.parseInt(query.get('page') ?? '1', 10) || 1, 1);
  const lastPage = Math.max(Math.ceil(listed.length / perPage), 1);
  const items = listed.slice((page - 1) * perPage, page * perPage).map((repo) => {
    const permission = repo.permissionOf(login);
    return {
      ...repositoryJson(urls, repo, createdAt),
      // The "repository" schema's `permissions`, as this caller holds them.
      permissions: {
        admin: allows(permission, 'admin'),
        maintain: allows(permission, 'maintain'),
        push: allows(permission, 'write'),
        triage: allows(permission, 'triage'),
        pull: allows(permission, 'read'),
      },
    };
  });
  const link = linkHeader(`${urls.api}/user/repos`, query, page, lastPage);
  return { status: 200, body: items, ...(link ? { headers: { link } } : {}) };
}
