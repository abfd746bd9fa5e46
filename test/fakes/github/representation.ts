/**
 * The JSON GitHub sends for users, labels, milestones, issues, repositories. Key sets and key order follow the
 * recorded real answers in @octokit/fixtures (scenarios paginate-issues, add-labels-to-issue, labels) and the
 * payloads in @octokit/webhooks-examples; types and nullability follow the OpenAPI schemas `issue`,
 * `simple-user`, `label`, `nullable-milestone` (checked by fake.test.ts against fixtures/openapi-schemas.json).
 */
import type { IssueRecord, LabelRecord, MilestoneRecord, RepoStore, UserRecord } from './store';

/** Where API links point (the fake itself) and where html links point. */
export interface Urls {
  api: string;
  html: string;
}

/** `2011-04-22T13:33:48Z`: ISO 8601 in UTC with second resolution, GitHub's only timestamp format. */
export function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function iso(epochSeconds: number | null): string | null {
  return epochSeconds === null ? null : isoSeconds(epochSeconds);
}

export function repoApiUrl(urls: Urls, repo: RepoStore): string {
  return `${urls.api}/repos/${repo.fullName}`;
}

/** Schema `simple-user`, keys in the order of the recorded answers. */
export function userJson(urls: Urls, user: UserRecord): Record<string, unknown> {
  const api = `${urls.api}/users/${user.login}`;
  return {
    login: user.login,
    id: user.id,
    node_id: user.nodeId,
    avatar_url: `https://avatars.githubusercontent.com/u/${user.id}?v=4`,
    gravatar_id: '',
    url: api,
    html_url: `${urls.html}/${user.login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: user.type,
    site_admin: false,
  };
}

/** Schema `label`, as in the recorded "labels" scenario. */
export function labelJson(urls: Urls, repo: RepoStore, label: LabelRecord): Record<string, unknown> {
  return {
    id: label.id,
    node_id: label.nodeId,
    url: `${repoApiUrl(urls, repo)}/labels/${encodeURIComponent(label.name)}`,
    name: label.name,
    color: label.color,
    default: label.default,
    description: label.description,
  };
}

/** Schema `nullable-milestone`. */
export function milestoneJson(urls: Urls, repo: RepoStore, milestone: MilestoneRecord): Record<string, unknown> {
  const api = `${repoApiUrl(urls, repo)}/milestones/${milestone.number}`;
  const issues = repo.presentIssues().filter((issue) => issue.milestone === milestone.number);
  return {
    url: api,
    html_url: `${urls.html}/${repo.fullName}/milestone/${milestone.number}`,
    labels_url: `${api}/labels`,
    id: milestone.id,
    node_id: milestone.nodeId,
    number: milestone.number,
    title: milestone.title,
    description: milestone.description,
    creator: userJson(urls, repo.user(milestone.creator)),
    open_issues: issues.filter((issue) => issue.state === 'open').length,
    closed_issues: issues.filter((issue) => issue.state === 'closed').length,
    state: milestone.state,
    created_at: isoSeconds(milestone.createdAt),
    updated_at: isoSeconds(milestone.updatedAt),
    due_on: iso(milestone.dueOn),
    closed_at: iso(milestone.closedAt),
  };
}

/** author_association (schema `author-association`): how the author relates to the repository. */
function authorAssociation(repo: RepoStore, login: string): string {
  if (login.toLowerCase() === repo.owner.login.toLowerCase()) return 'OWNER';
  return repo.collaborators.has(login.toLowerCase()) ? 'COLLABORATOR' : 'NONE';
}

export interface IssueView {
  /**
   * `single` is what Get/Create/Update an issue answer: it adds `closed_by`, which list items lack (compare the
   * recorded POST answer in "add-labels-to-issue" with the list items in "paginate-issues").
   */
  detail: 'list' | 'single';
  /** 2026-03-10 drops the singular `assignee` (x-github-breaking-changes of schema `issue`). */
  apiVersion: string;
}

/** Schema `issue`. A pull request carries `draft` and `pull_request`, which is how clients tell them apart. */
export function issueJson(urls: Urls, repo: RepoStore, issue: IssueRecord, view: IssueView): Record<string, unknown> {
  const api = `${repoApiUrl(urls, repo)}/issues/${issue.number}`;
  const user = (login: string) => userJson(urls, repo.user(login));
  const assignees = issue.assignees.map(user);
  const milestone = issue.milestone === null ? undefined : repo.milestone(issue.milestone);
  const html = `${urls.html}/${repo.fullName}/${issue.pullRequest ? 'pull' : 'issues'}/${issue.number}`;
  const json: Record<string, unknown> = {
    url: api,
    repository_url: repoApiUrl(urls, repo),
    labels_url: `${api}/labels{/name}`,
    comments_url: `${api}/comments`,
    events_url: `${api}/events`,
    html_url: html,
    id: issue.id,
    node_id: issue.nodeId,
    number: issue.number,
    title: issue.title,
    user: user(issue.author),
    labels: issue.labelIds.map((id) => labelJson(urls, repo, repo.label(id))),
    state: issue.state,
    locked: issue.locked,
    assignee: assignees[0] ?? null,
    assignees,
    milestone: milestone ? milestoneJson(urls, repo, milestone) : null,
    comments: issue.comments,
    created_at: isoSeconds(issue.createdAt),
    updated_at: isoSeconds(issue.updatedAt),
    closed_at: iso(issue.closedAt),
    author_association: authorAssociation(repo, issue.author),
    active_lock_reason: issue.activeLockReason,
  };
  if (issue.pullRequest) {
    const pull = `${repoApiUrl(urls, repo)}/pulls/${issue.number}`;
    json.draft = issue.pullRequest.draft;
    json.pull_request = {
      url: pull,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      merged_at: iso(issue.pullRequest.mergedAt),
    };
  }
  json.body = issue.body;
  if (view.detail === 'single') json.closed_by = issue.closedBy === null ? null : user(issue.closedBy);
  json.reactions = {
    url: `${api}/reactions`,
    total_count: 0,
    '+1': 0,
    '-1': 0,
    laugh: 0,
    hooray: 0,
    confused: 0,
    heart: 0,
    rocket: 0,
    eyes: 0,
  };
  json.timeline_url = `${api}/timeline`;
  json.performed_via_github_app = null;
  json.state_reason = issue.stateReason;
  if (view.apiVersion === '2026-03-10') delete json.assignee;
  return json;
}

/** The `repository` object of webhook payloads; keys as in @octokit/webhooks-examples `issues` payloads. */
export function repositoryJson(urls: Urls, repo: RepoStore, createdAt: number): Record<string, unknown> {
  const api = repoApiUrl(urls, repo);
  const html = `${urls.html}/${repo.fullName}`;
  const open = repo.presentIssues().filter((issue) => issue.state === 'open').length;
  return {
    id: repo.repositoryId,
    node_id: `R_kgDO${Buffer.from(`fake:${repo.repositoryId}`).toString('base64url')}`,
    name: repo.name,
    full_name: repo.fullName,
    private: repo.isPrivate,
    owner: userJson(urls, repo.owner),
    html_url: html,
    description: null,
    fork: false,
    url: api,
    forks_url: `${api}/forks`,
    keys_url: `${api}/keys{/key_id}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    teams_url: `${api}/teams`,
    hooks_url: `${api}/hooks`,
    issue_events_url: `${api}/issues/events{/number}`,
    events_url: `${api}/events`,
    assignees_url: `${api}/assignees{/user}`,
    branches_url: `${api}/branches{/branch}`,
    tags_url: `${api}/tags`,
    blobs_url: `${api}/git/blobs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    trees_url: `${api}/git/trees{/sha}`,
    statuses_url: `${api}/statuses/{sha}`,
    languages_url: `${api}/languages`,
    stargazers_url: `${api}/stargazers`,
    contributors_url: `${api}/contributors`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    commits_url: `${api}/commits{/sha}`,
    git_commits_url: `${api}/git/commits{/sha}`,
    comments_url: `${api}/comments{/number}`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    contents_url: `${api}/contents/{+path}`,
    compare_url: `${api}/compare/{base}...{head}`,
    merges_url: `${api}/merges`,
    archive_url: `${api}/{archive_format}{/ref}`,
    downloads_url: `${api}/downloads`,
    issues_url: `${api}/issues{/number}`,
    pulls_url: `${api}/pulls{/number}`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    labels_url: `${api}/labels{/name}`,
    releases_url: `${api}/releases{/id}`,
    deployments_url: `${api}/deployments`,
    created_at: isoSeconds(createdAt),
    updated_at: isoSeconds(createdAt),
    pushed_at: isoSeconds(createdAt),
    git_url: `git://github.com/${repo.fullName}.git`,
    ssh_url: `git@github.com:${repo.fullName}.git`,
    clone_url: `${html}.git`,
    svn_url: html,
    homepage: null,
    size: 0,
    stargazers_count: 0,
    watchers_count: 0,
    language: null,
    has_issues: repo.issuesEnabled,
    has_projects: true,
    has_downloads: true,
    has_wiki: true,
    has_pages: false,
    forks_count: 0,
    mirror_url: null,
    archived: false,
    disabled: false,
    open_issues_count: open,
    license: null,
    forks: 0,
    open_issues: open,
    watchers: 0,
    default_branch: 'main',
    is_template: false,
    topics: [],
    visibility: repo.isPrivate ? 'private' : 'public',
    web_commit_signoff_required: false,
    custom_properties: {},
  };
}
