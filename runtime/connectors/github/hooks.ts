/**
 * The repository webhook a deployed flow needs (docs: REST API › Repository webhooks; "The authenticated user must be
 * a repository owner, or have admin access"). A hook is found by its URL, so registering again (every start, a new
 * secret) updates the one hook rather than adding another, and removing finds it whichever process made it.
 */
import { Octokit } from '@octokit/rest';
import { guardedFetch } from '../network';
import { ConnectorError, type ConnectorContext } from '../types';
import { apiVersion, gitHubMessage } from './client';
import { parseGitHubConnection, publicApiUrl, splitRepo } from './config';

interface HookJson {
  id: number;
  config?: { url?: string };
}

async function repositoryHooks(context: ConnectorContext): Promise<{ octokit: Octokit; owner: string; repo: string; hooks: HookJson[] }> {
  const connection = parseGitHubConnection(context.config.connection);
  const token = (await context.resolveCredential(connection.auth.credential)).trim();
  const octokit = new Octokit({
    auth: token,
    baseUrl: (connection.baseUrl ?? publicApiUrl).replace(/\/+$/, ''),
    userAgent: 'syncline',
    request: { fetch: guardedFetch(context.access.hosts) },
    headers: { 'x-github-api-version': apiVersion },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  const { owner, repo } = splitRepo(connection.repo);
  try {
    const hooks = (await octokit.paginate(octokit.rest.repos.listWebhooks, { owner, repo, per_page: 100 })) as HookJson[];
    return { octokit, owner, repo, hooks };
  } catch (error) {
    throw hookError(error, connection.repo, 'list the webhooks of');
  }
}

/** Makes GitHub send the repository's `issues` events to `url`, as JSON, signed with `secret`. */
export async function registerGitHubHook(context: ConnectorContext, target: { url: string; secret: string | null }): Promise<void> {
  // The runtime resolves the stored secret before it registers a hook whose system does not make its own.
  if (target.secret === null) throw new ConnectorError('a GitHub webhook needs the secret stored under detect.secret before it can be registered');
  const { octokit, owner, repo, hooks } = await repositoryHooks(context);
  const config = { url: target.url, content_type: 'json' as const, secret: target.secret, insecure_ssl: '0' as const };
  const existing = hooks.find((hook) => hook.config?.url === target.url);
  try {
    if (existing) await octokit.rest.repos.updateWebhook({ owner, repo, hook_id: existing.id, config, events: ['issues'], active: true });
    else await octokit.rest.repos.createWebhook({ owner, repo, name: 'web', config, events: ['issues'], active: true });
  } catch (error) {
    throw hookError(error, `${owner}/${repo}`, existing ? 'update the webhook of' : 'add a webhook to');
  }
}

/** Removes the hook that sends to `url`, if there is one. */
export async function unregisterGitHubHook(context: ConnectorContext, url: string): Promise<void> {
  const { octokit, owner, repo, hooks } = await repositoryHooks(context);
  for (const hook of hooks.filter((candidate) => candidate.config?.url === url)) {
    try {
      await octokit.rest.repos.deleteWebhook({ owner, repo, hook_id: hook.id });
    } catch (error) {
      if ((error as { status?: number }).status === 404) continue;
      throw hookError(error, `${owner}/${repo}`, 'remove the webhook of');
    }
  }
}

function hookError(error: unknown, repo: string, doing: string): ConnectorError {
  const status = (error as { status?: number }).status;
  const why = status === 404 || status === 403 ? ' (managing webhooks needs admin access to the repository: a token with the "Webhooks" repository permission, or a classic token with admin:repo_hook)' : '';
  return new ConnectorError(`GitHub refused to ${doing} ${repo}: ${gitHubMessage(error as Parameters<typeof gitHubMessage>[0])}${why}`, { cause: error });
}
