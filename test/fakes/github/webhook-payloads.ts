/**
 * Bodies of the `issues` and `ping` webhook events, shaped like the recorded payloads in
 * @octokit/webhooks-examples: `action`, `issue`, the action's own key (`changes`, `label`, `assignee`,
 * `milestone`), `repository`, `sender` (docs: Webhook events and payloads › issues, ping).
 */
import { issueJson, labelJson, milestoneJson, repositoryJson, userJson, type Urls } from './representation';
import type { IssueEvent, RepoStore } from './store';
import { hookJson, type HookRecord } from './webhooks';

// A few lines of GitHub's zen, as sent in `ping` payloads.
const zen = ['Anything added dilutes everything else.', 'Keep it logically awesome.', 'Design for failure.', 'Mind your words, they are important.'];

/** The `issues` payload for one event; the issue is shown as it is after the whole request was applied. */
export function issuesPayload(
  urls: Urls,
  repo: RepoStore,
  repoCreatedAt: number,
  event: IssueEvent,
  otherRepo: (fullName: string) => RepoStore | undefined = () => undefined,
): Record<string, unknown> {
  const issue = repo.issues.get(event.number);
  if (!issue) throw new Error(`issue ${event.number} vanished`);
  // Webhook payloads are not versioned; they keep the singular `assignee` like the 2022-11-28 REST shape.
  const payload: Record<string, unknown> = {
    action: event.action,
    issue: issueJson(urls, repo, issue, { detail: 'list', apiVersion: '2022-11-28' }),
  };
  switch (event.action) {
    case 'edited':
      payload.changes = event.changes;
      break;
    case 'labeled':
    case 'unlabeled':
      payload.label = labelJson(urls, repo, event.label);
      break;
    case 'assigned':
    case 'unassigned':
      payload.assignee = userJson(urls, repo.user(event.assignee));
      break;
    case 'milestoned':
    case 'demilestoned':
      payload.milestone = milestoneJson(urls, repo, event.milestone);
      break;
    case 'transferred': {
      // changes.new_issue and changes.new_repository: the issue and repository as they are after the move.
      const target = otherRepo(event.newRepositoryFullName);
      const moved = target?.issues.get(event.newNumber);
      if (target && moved) {
        payload.changes = {
          new_issue: issueJson(urls, target, moved, { detail: 'list', apiVersion: '2022-11-28' }),
          new_repository: repositoryJson(urls, target, repoCreatedAt),
        };
      }
      break;
    }
    default:
      break;
  }
  payload.repository = repositoryJson(urls, repo, repoCreatedAt);
  payload.sender = userJson(urls, repo.user(event.actor));
  return payload;
}

/** The `ping` payload sent when a hook is created or pinged. */
export function pingPayload(urls: Urls, repo: RepoStore, repoCreatedAt: number, hook: HookRecord, sender: string, pick: number): Record<string, unknown> {
  return {
    zen: zen[Math.floor(pick * zen.length)] ?? zen[0],
    hook_id: hook.id,
    hook: hookJson(urls, repo, hook),
    repository: repositoryJson(urls, repo, repoCreatedAt),
    sender: userJson(urls, repo.user(sender)),
  };
}
