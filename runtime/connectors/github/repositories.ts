/**
 * The choices of the connection form's `repo` field (form.ts): the repositories the token can see, from GitHub's "List
 * repositories for the authenticated user" (`GET /user/repos`, paginated by its Link header), through the operator's
 * host policy like every other call of this connector.
 */
import { Octokit } from '@octokit/rest';
import type { ConnectionOption } from '../../../nodes/trigger/connectionForm';
import { accessRefusalOf, guardedFetch } from '../network';
import { ConnectorError, RateLimitedError, type ConnectionContext, type ConnectionOptions } from '../types';
import { apiVersion, classifyFailure, unauthorizedMessage } from './client';
import { githubConnectionSchema, publicApiUrl } from './config';

/** "The number of results per page (max 100)". */
const perPage = 100;
/** A person picks from a dropdown: past this many, the form lets them type the name instead. */
const maxListedRepositories = 1000;

interface RepositoryJson {
  full_name: string;
  private: boolean;
  archived?: boolean;
  has_issues?: boolean;
  permissions?: { push?: boolean; triage?: boolean };
}

/** The options of one lookup field of a github connection; only `repo` has any. */
export async function githubConnectionOptions(context: ConnectionContext, field: string): Promise<ConnectionOptions> {
  if (field !== 'repo') throw new ConnectorError(`connection.${field}: the github connector lists no choices for it`);
  const { connection } = context;
  const auth = connection.auth;
  const credential = typeof auth === 'object' && auth !== null ? (auth as { credential?: unknown }).credential : undefined;
  if (typeof credential !== 'string' || credential === '') {
    throw new ConnectorError('connection.auth.credential: choose the stored credential that holds the GitHub token first');
  }
  const baseUrl = githubConnectionSchema.shape.baseUrl.safeParse(connection.baseUrl);
  if (!baseUrl.success) throw new ConnectorError(`connection.baseUrl: ${baseUrl.error.issues[0]?.message ?? 'must be an http(s) URL'}`);

  let token: string;
  try {
    token = (await context.resolveCredential(credential)).trim();
  } catch (error) {
    throw new ConnectorError(`connection.auth: cannot read credential "${credential}": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (token === '') throw new ConnectorError(`connection.auth: credential "${credential}" is empty: store the GitHub token in it`);

  const address = baseUrl.data ?? publicApiUrl;
  const octokit = new Octokit({
    auth: token,
    baseUrl: address.replace(/\/+$/, ''),
    userAgent: 'syncline',
    request: { fetch: guardedFetch(context.access.hosts) },
    headers: { 'x-github-api-version': apiVersion },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  const repositories: RepositoryJson[] = [];
  let truncated = false;
  try {
    // Sorted by full name, as a person scans a dropdown (the documented default, asked for explicitly).
    const pages = octokit.paginate.iterator(octokit.rest.repos.listForAuthenticatedUser, { per_page: perPage, sort: 'full_name', direction: 'asc' });
    for await (const page of pages) {
      repositories.push(...(page.data as RepositoryJson[]));
      if (repositories.length >= maxListedRepositories) {
        truncated = repositories.length > maxListedRepositories || /\brel="next"/.test(page.headers.link ?? '');
        break;
      }
    }
  } catch (error) {
    throw readFailure(error, credential, address);
  }
  // A repository with issues turned off has nothing to sync.
  const withIssues = repositories.slice(0, maxListedRepositories).filter((repository) => repository.has_issues !== false);
  return { options: withIssues.map(repositoryOption), complete: !truncated };
}

function repositoryOption(repository: RepositoryJson): ConnectionOption {
  const notes = [repository.private ? 'private' : 'public'];
  if (repository.archived) notes.push('archived: read-only');
  else if (repository.permissions && !repository.permissions.push && !repository.permissions.triage) notes.push('read-only for this token');
  return { value: repository.full_name, label: repository.full_name, description: notes.join(', ') };
}

/** A failed listing in the words the rest of the connector uses (client.ts). */
function readFailure(error: unknown, credential: string, address: string): Error {
  const refusal = accessRefusalOf(error);
  if (refusal) return refusal;
  const failure = classifyFailure(error);
  if (!failure) return error instanceof Error ? error : new Error(String(error));
  switch (failure.kind) {
    case 'rate-limited':
      return new RateLimitedError('GitHub', failure.resumeAt, failure.detail);
    case 'unauthorized':
      return new ConnectorError(unauthorizedMessage(credential), { cause: error });
    case 'network':
      return new ConnectorError(`listing repositories: cannot reach GitHub at ${address}: ${failure.message}`, { retryable: true, cause: error });
    default:
      return new ConnectorError(`listing repositories: GitHub refused it: ${failure.message}`, { cause: error });
  }
}
