/**
 * The repository's state: users, collaborators, labels, milestones, issues (pull requests are issues too) and
 * the clock. Every write goes through `createIssue` / `updateIssue`, which validate like GitHub, apply the
 * change and return the `issues` webhook events it causes; the HTTP routes and the "human" controls share them.
 */
import { ApiError, docs, notFound, validationFailed, type ValidationErrorItem } from './api-error';

/** Repository roles, lowest first (docs: "Repository roles for an organization"). */
export const permissions = ['read', 'triage', 'write', 'maintain', 'admin'] as const;
export type Permission = (typeof permissions)[number];

/** At least `wanted`? */
export function allows(have: Permission | null, wanted: Permission): boolean {
  return have !== null && permissions.indexOf(have) >= permissions.indexOf(wanted);
}

export interface UserRecord {
  login: string;
  id: number;
  nodeId: string;
  type: 'User' | 'Organization' | 'Bot';
}

export interface LabelRecord {
  id: number;
  nodeId: string;
  name: string;
  color: string;
  description: string | null;
  default: boolean;
}

export interface MilestoneRecord {
  id: number;
  nodeId: string;
  number: number;
  title: string;
  description: string | null;
  state: 'open' | 'closed';
  creator: string;
  createdAt: number;
  updatedAt: number;
  closedAt: number | null;
  dueOn: number | null;
}

export type StateReason = 'completed' | 'reopened' | 'not_planned' | 'duplicate';

/** Where an issue number now leads (docs, Get an issue: 301 when transferred, 404 or 410 when deleted). */
export type IssueFate =
  | { kind: 'present' }
  | { kind: 'deleted' }
  | { kind: 'transferred'; toRepositoryId: number; toFullName: string; toNumber: number; readable: boolean };

/** Timestamps are whole epoch seconds: GitHub's `2011-04-22T13:33:48Z` has no finer resolution, so ties happen. */
export interface IssueRecord {
  id: number;
  nodeId: string;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  stateReason: StateReason | null;
  author: string;
  labelIds: number[];
  assignees: string[];
  milestone: number | null;
  locked: boolean;
  activeLockReason: string | null;
  comments: number;
  createdAt: number;
  updatedAt: number;
  closedAt: number | null;
  closedBy: string | null;
  pullRequest: { mergedAt: number | null; draft: boolean } | null;
  fate: IssueFate;
}

/** An `issues` webhook action and what its payload carries beside `issue`, `repository` and `sender`. */
export type IssueEvent =
  | { action: 'opened' | 'closed' | 'reopened' | 'deleted'; number: number; actor: string }
  | { action: 'edited'; number: number; actor: string; changes: { title?: { from: string }; body?: { from: string | null } } }
  | { action: 'labeled' | 'unlabeled'; number: number; actor: string; label: LabelRecord }
  | { action: 'assigned' | 'unassigned'; number: number; actor: string; assignee: string }
  | { action: 'milestoned' | 'demilestoned'; number: number; actor: string; milestone: MilestoneRecord }
  | { action: 'transferred'; number: number; actor: string; newRepositoryFullName: string; newNumber: number };

/** A test's or an API caller's wish to change an issue; field meanings as in "Update an issue". */
export interface IssuePatch {
  title?: unknown;
  body?: unknown;
  state?: unknown;
  state_reason?: unknown;
  labels?: unknown;
  assignees?: unknown;
  assignee?: unknown;
  milestone?: unknown;
}

/** Who is writing and how far GitHub will let them. */
export interface WriteContext {
  actor: string;
  /** Push access: without it labels, assignees and milestone are silently dropped (docs, Create/Update an issue). */
  canPush: boolean;
  /** The `assignee` body field is gone in API version 2026-03-10 (x-github-breaking-changes in the description). */
  acceptsSingularAssignee: boolean;
  documentationUrl: string;
}

/** The injectable clock. Unset, it follows `now` (default: the real time); `set`/`advance` freeze it. */
export class Clock {
  private fixed: number | null = null;
  constructor(private readonly source: () => Date = () => new Date()) {}
  nowMs(): number {
    return this.fixed ?? this.source().getTime();
  }
  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }
  set(at: Date | string | number): void {
    this.fixed = new Date(at).getTime();
  }
  advance(ms: number): void {
    this.fixed = this.nowMs() + ms;
  }
}

/**
 * "You can assign up to 10 people to each issue or pull request" (docs: Assigning issues and pull requests to other
 * GitHub users; "Add assignees to an issue": "Adds up to 10 assignees to an issue"). Create an issue given more keeps
 * ten and answers 201 without an error: trstringer/manual-approval#94, whose create sends its whole approver list, "If
 * your `org-team1` has more than 10 users, only 10 users will be added to the issue. The workflow does not generate a
 * error." UNCONFIRMED: which ten are kept (here the first ten given, once validated) and that Update an issue does the
 * same (its documentation does not mention the limit).
 */
const maxAssignees = 10;

// Label colour GitHub gives a label it creates on the fly: the recorded @octokit/fixtures scenario
// "add-labels-to-issue" shows new labels Foo, bAr, baZ coming back with color "ededed", default false.
const createdLabelColor = 'ededed';

export class RepoStore {
  readonly users = new Map<string, UserRecord>();
  readonly collaborators = new Map<string, Permission>();
  readonly labels: LabelRecord[] = [];
  readonly milestones: MilestoneRecord[] = [];
  readonly issues = new Map<number, IssueRecord>();
  /** Settings › General › Features › Issues; an admin may turn it off, and the issues stay, out of reach. */
  issuesEnabled = true;
  private nextId = 1000;
  private nextNumber = 1;

  constructor(
    readonly owner: UserRecord,
    readonly name: string,
    readonly repositoryId: number,
    readonly isPrivate: boolean,
    readonly clock: Clock,
  ) {
    this.users.set(owner.login.toLowerCase(), owner);
  }

  get fullName(): string {
    return `${this.owner.login}/${this.name}`;
  }

  allocateId(): number {
    return this.nextId++;
  }

  /** Adds (or returns) a user; ids are stable for the life of the fake. */
  user(login: string, type: UserRecord['type'] = 'User'): UserRecord {
    const existing = this.users.get(login.toLowerCase());
    if (existing) return existing;
    const id = this.allocateId();
    const record: UserRecord = { login, id, nodeId: nodeId('U_kgDO', id), type };
    this.users.set(login.toLowerCase(), record);
    return record;
  }

  addCollaborator(login: string, permission: Permission): void {
    this.user(login);
    this.collaborators.set(login.toLowerCase(), permission);
  }

  /** The owner has admin; collaborators have what they were given; everyone else none (public: read). */
  permissionOf(login: string | null): Permission | null {
    if (login === null) return this.isPrivate ? null : 'read';
    if (login.toLowerCase() === this.owner.login.toLowerCase()) return 'admin';
    return this.collaborators.get(login.toLowerCase()) ?? (this.isPrivate ? null : 'read');
  }

  findLabel(name: string): LabelRecord | undefined {
    // Label names are unique regardless of case on GitHub ("bug" and "Bug" cannot coexist).
    return this.labels.find((label) => label.name.toLowerCase() === name.toLowerCase());
  }

  addLabel(input: { name: string; color?: string; description?: string | null; default?: boolean }): LabelRecord {
    const existing = this.findLabel(input.name);
    if (existing) return existing;
    const id = this.allocateId();
    const label: LabelRecord = {
      id,
      nodeId: nodeId('LA_kwDO', id),
      name: input.name,
      color: input.color ?? createdLabelColor,
      description: input.description ?? null,
      default: input.default ?? false,
    };
    this.labels.push(label);
    return label;
  }

  label(id: number): LabelRecord {
    const label = this.labels.find((candidate) => candidate.id === id);
    if (!label) throw new Error(`label ${id} vanished`);
    return label;
  }

  addMilestone(input: { title: string; description?: string | null; state?: 'open' | 'closed'; dueOn?: Date | string | null }): MilestoneRecord {
    const id = this.allocateId();
    const now = this.clock.nowSeconds();
    const milestone: MilestoneRecord = {
      id,
      nodeId: nodeId('MI_kwDO', id),
      number: this.milestones.length + 1,
      title: input.title,
      description: input.description ?? null,
      state: input.state ?? 'open',
      creator: this.owner.login,
      createdAt: now,
      updatedAt: now,
      closedAt: input.state === 'closed' ? now : null,
      dueOn: input.dueOn ? Math.floor(new Date(input.dueOn).getTime() / 1000) : null,
    };
    this.milestones.push(milestone);
    return milestone;
  }

  milestone(number: number): MilestoneRecord | undefined {
    return this.milestones.find((milestone) => milestone.number === number);
  }

  /**
   * The issue endpoints of a repository with Issues turned off. Create an issue: "If issues are disabled in the
   * repository, the API returns a `410 Gone` status" (github/rest-api-description); Get and Update answer the same,
   * as recorded from GitHub (ansibullbot/ansibullbot#845: `GET …/issues/163 ==> 410`, "Issues are disabled for this
   * repo"; the wording Renovate's GitHub platform code matches on).
   */
  assertIssuesEnabled(documentationUrl: string): void {
    if (!this.issuesEnabled) throw new ApiError(410, 'Issues are disabled for this repo', documentationUrl);
  }

  /** An issue that can be read at this number, or the documented 301/404/410 for one that cannot. */
  readableIssue(number: number): IssueRecord {
    this.assertIssuesEnabled(docs.getIssue);
    const issue = this.issues.get(number);
    if (!issue) throw notFound(docs.getIssue);
    const fate = issue.fate;
    switch (fate.kind) {
      case 'present':
        return issue;
      case 'deleted':
        // Get an issue: "If the issue was deleted from a repository where the authenticated user has read
        // access, the API returns a 410 Gone status." The message is not documented; this is GitHub's wording.
        throw new ApiError(410, 'This issue was deleted', docs.getIssue);
      case 'transferred':
        // Get an issue: "301 Moved Permanently if the issue was transferred to another repository. If the issue
        // was transferred to ... a repository where the authenticated user lacks read access, ... 404".
        if (!fate.readable) throw notFound(docs.getIssue);
        throw new ApiError(301, 'Moved Permanently', docs.followRedirects, {
          url: `/repositories/${fate.toRepositoryId}/issues/${fate.toNumber}`,
        });
    }
  }

  /** Every issue and pull request still in this repository. */
  presentIssues(): IssueRecord[] {
    return [...this.issues.values()].filter((issue) => issue.fate.kind === 'present');
  }

  /** Puts an issue or pull request in place as it already is, without events (seeding). */
  seedIssue(input: SeedIssueInput): IssueRecord {
    const now = this.clock.nowSeconds();
    const createdAt = toSeconds(input.createdAt) ?? now;
    const state = input.state ?? 'open';
    const number = this.nextNumber++;
    const id = this.allocateId();
    const author = this.user(input.author ?? this.owner.login).login;
    const closedAt = state === 'closed' ? (toSeconds(input.closedAt) ?? toSeconds(input.updatedAt) ?? createdAt) : null;
    const issue: IssueRecord = {
      id,
      nodeId: nodeId(input.pullRequest ? 'PR_kwDO' : 'I_kwDO', id),
      number,
      title: input.title,
      body: input.body ?? null,
      state,
      stateReason: state === 'closed' ? (input.stateReason ?? 'completed') : (input.stateReason ?? null),
      author,
      labelIds: (input.labels ?? []).map((name) => this.addLabel({ name }).id),
      assignees: (input.assignees ?? []).map((login) => this.user(login).login),
      milestone: input.milestone ?? null,
      locked: input.locked ?? false,
      activeLockReason: null,
      comments: input.comments ?? 0,
      createdAt,
      updatedAt: toSeconds(input.updatedAt) ?? closedAt ?? createdAt,
      closedAt,
      closedBy: state === 'closed' ? author : null,
      pullRequest: input.pullRequest
        ? { mergedAt: toSeconds(input.pullRequest === true ? undefined : input.pullRequest.mergedAt) ?? null, draft: false }
        : null,
      fate: { kind: 'present' },
    };
    this.issues.set(number, issue);
    return issue;
  }

  /** Create an issue (docs: Create an issue), returning it and the webhook events it causes. */
  createIssue(body: IssuePatch, context: WriteContext): { issue: IssueRecord; events: IssueEvent[] } {
    const errors: ValidationErrorItem[] = [];
    // "title" is the one required property of the request body; leaving it out is answered with
    // {"resource":"Issue","code":"missing_field","field":"title"} (Troubleshooting › Validation Failed).
    if (body.title === undefined || body.title === null) {
      errors.push({ resource: 'Issue', code: 'missing_field', field: 'title' });
    } else if (typeof body.title !== 'string' && typeof body.title !== 'number') {
      errors.push({ resource: 'Issue', code: 'invalid', field: 'title', value: body.title });
    }
    if (body.body !== undefined && body.body !== null && typeof body.body !== 'string') {
      errors.push({ resource: 'Issue', code: 'invalid', field: 'body', value: body.body });
    }
    const planned = this.planFieldWrites(body, context, errors, []);
    if (errors.length > 0) throw validationFailed(context.documentationUrl, errors);
    const issue = this.seedIssue({ title: String(body.title), body: typeof body.body === 'string' ? body.body : null, author: context.actor });
    const events: IssueEvent[] = [{ action: 'opened', number: issue.number, actor: context.actor }];
    events.push(...this.applyFieldWrites(issue, planned, context.actor));
    return { issue, events };
  }

  /** Update an issue (docs: Update an issue). Nothing changed → nothing bumped, no events. */
  updateIssue(number: number, body: IssuePatch, context: WriteContext): { issue: IssueRecord; events: IssueEvent[] } {
    const issue = this.readableIssue(number);
    const errors: ValidationErrorItem[] = [];
    const planned = this.planFieldWrites(body, context, errors, issue.assignees, issue.author);
    let title: string | undefined;
    if (body.title !== undefined && body.title !== null) {
      if (typeof body.title !== 'string' && typeof body.title !== 'number') {
        errors.push({ resource: 'Issue', code: 'invalid', field: 'title', value: body.title });
      } else title = String(body.title);
    }
    let state: 'open' | 'closed' | undefined;
    if (body.state !== undefined) {
      if (body.state !== 'open' && body.state !== 'closed') errors.push({ resource: 'Issue', code: 'invalid', field: 'state', value: body.state });
      else state = body.state;
    }
    const reasons = ['completed', 'not_planned', 'duplicate', 'reopened'];
    if (body.state_reason !== undefined && body.state_reason !== null && !reasons.includes(String(body.state_reason))) {
      errors.push({ resource: 'Issue', code: 'invalid', field: 'state_reason', value: body.state_reason });
    }
    if (body.body !== undefined && body.body !== null && typeof body.body !== 'string') {
      errors.push({ resource: 'Issue', code: 'invalid', field: 'body', value: body.body });
    }
    if (errors.length > 0) throw validationFailed(context.documentationUrl, errors);

    const events: IssueEvent[] = [];
    const changes: { title?: { from: string }; body?: { from: string | null } } = {};
    if (title !== undefined && title !== issue.title) {
      changes.title = { from: issue.title };
      issue.title = title;
    }
    if (body.body !== undefined && body.body !== issue.body) {
      changes.body = { from: issue.body };
      issue.body = body.body as string | null;
    }
    if (changes.title || changes.body) events.push({ action: 'edited', number, actor: context.actor, changes });
    if (state !== undefined) events.push(...this.changeState(issue, state, (body.state_reason ?? null) as StateReason | null, context.actor));
    events.push(...this.applyFieldWrites(issue, planned, context.actor));
    if (events.length > 0) issue.updatedAt = this.clock.nowSeconds();
    return { issue, events };
  }

  /** Closes or reopens an issue, or closes a closed one again with another reason; the events that follow. */
  private changeState(issue: IssueRecord, state: 'open' | 'closed', asked: StateReason | null, actor: string): IssueEvent[] {
    const number = issue.number;
    if (state !== issue.state) {
      // state_reason: "The reason for the state change. Ignored unless `state` is changed."
      issue.state = state;
      if (state === 'open') {
        issue.stateReason = 'reopened';
        issue.closedAt = null;
        return [{ action: 'reopened', number, actor }];
      }
      issue.stateReason = asked && asked !== 'reopened' ? asked : 'completed';
    } else if (state === 'closed' && asked && asked !== 'reopened' && asked !== issue.stateReason) {
      // A closed issue closed again with another reason is re-closed: "Updating the state_reason will say you re-closed
      // the issue" (microsoft/vscode-github-triage-actions#102, whose closeIssue now skips issues already closed;
      // cli/cli#14364: the REST API accepts state_reason on a PATCH of a closed issue). UNCONFIRMED in GitHub's docs,
      // which say only "Ignored unless `state` is changed", read by that evidence as "unless `state` is in the body".
      issue.stateReason = asked;
    } else {
      return [];
    }
    issue.closedAt = this.clock.nowSeconds();
    issue.closedBy = actor;
    return [{ action: 'closed', number, actor }];
  }

  /** A comment arrives: the count goes up and so does updated_at (an issue is "updated" by its comments). */
  addComment(number: number): IssueRecord {
    const issue = this.readableIssue(number);
    issue.comments += 1;
    issue.updatedAt = this.clock.nowSeconds();
    return issue;
  }

  /**
   * Checks labels, assignees and milestone of a request body; returns what to write. Without push access
   * they are dropped silently (docs: "Labels are silently dropped otherwise", same for assignees, milestone).
   */
  private planFieldWrites(
    body: IssuePatch,
    context: WriteContext,
    errors: ValidationErrorItem[],
    currentAssignees: string[],
    author: string = context.actor,
  ): PlannedWrites {
    const planned: PlannedWrites = {};
    if (!context.canPush) return planned;
    if (body.labels !== undefined && body.labels !== null) {
      if (!Array.isArray(body.labels)) errors.push({ resource: 'Issue', code: 'invalid', field: 'labels', value: body.labels });
      else {
        const names: string[] = [];
        for (const item of body.labels as unknown[]) {
          const name = typeof item === 'string' ? item : (item as { name?: unknown } | null)?.name;
          if (typeof name !== 'string' || name.trim() === '') errors.push({ resource: 'Label', code: 'invalid', field: 'name', value: item });
          else names.push(name);
        }
        planned.labels = names;
      }
    }
    let wanted: unknown[] | undefined;
    if (body.assignees !== undefined && body.assignees !== null) {
      if (!Array.isArray(body.assignees)) errors.push({ resource: 'Issue', code: 'invalid', field: 'assignees', value: body.assignees });
      else wanted = body.assignees as unknown[];
    } else if (context.acceptsSingularAssignee && body.assignee !== undefined) {
      wanted = body.assignee === null ? [] : [body.assignee];
    }
    if (wanted) {
      const logins: string[] = [];
      for (const item of wanted) {
        const login = typeof item === 'string' ? item : (item as { login?: unknown } | null)?.login;
        const user = typeof login === 'string' ? this.users.get(login.toLowerCase()) : undefined;
        const alreadyAssigned = user !== undefined && currentAssignees.some((name) => name.toLowerCase() === user.login.toLowerCase());
        // Unknown or unassignable logins are refused, not dropped, for callers with push access: GitHub answers
        // 422 {"value":"<login>","resource":"Issue","field":"assignees","code":"invalid"} (seen in the wild; the
        // docs only say "silently dropped" for callers *without* push access).
        if (!user || (!alreadyAssigned && !this.isAssignable(user.login, author))) {
          errors.push({ resource: 'Issue', code: 'invalid', field: 'assignees', value: login });
        } else if (!logins.includes(user.login)) logins.push(user.login);
      }
      planned.assignees = logins.slice(0, maxAssignees);
    }
    if (body.milestone !== undefined) {
      if (body.milestone === null) planned.milestone = null;
      else {
        const number = Number(body.milestone);
        if (!Number.isInteger(number) || !this.milestone(number)) {
          errors.push({ resource: 'Issue', code: 'invalid', field: 'milestone', value: body.milestone });
        } else planned.milestone = number;
      }
    }
    return planned;
  }

  /**
   * "You can assign ... anyone who has commented on the issue or pull request, anyone with write permissions to
   * the repository, and organization members with read permissions" (docs: Assigning issues and pull requests).
   * Collaborators of any role stand in for the last two; the issue's author for the first.
   */
  private isAssignable(login: string, author: string): boolean {
    if (login.toLowerCase() === author.toLowerCase()) return true;
    return login.toLowerCase() === this.owner.login.toLowerCase() || this.collaborators.has(login.toLowerCase());
  }

  private applyFieldWrites(issue: IssueRecord, planned: PlannedWrites, actor: string): IssueEvent[] {
    const events: IssueEvent[] = [];
    if (planned.labels) {
      // "Pass one or more labels to _replace_ the set of labels"; names that do not exist yet are created, as
      // the recorded "add-labels-to-issue" scenario shows GitHub doing.
      const next = planned.labels.map((name) => this.addLabel({ name }).id);
      const unique = [...new Set(next)];
      for (const id of issue.labelIds) if (!unique.includes(id)) events.push({ action: 'unlabeled', number: issue.number, actor, label: this.label(id) });
      for (const id of unique) if (!issue.labelIds.includes(id)) events.push({ action: 'labeled', number: issue.number, actor, label: this.label(id) });
      issue.labelIds = unique;
    }
    if (planned.assignees) {
      const next = planned.assignees;
      for (const login of issue.assignees) if (!next.includes(login)) events.push({ action: 'unassigned', number: issue.number, actor, assignee: login });
      for (const login of next) if (!issue.assignees.includes(login)) events.push({ action: 'assigned', number: issue.number, actor, assignee: login });
      issue.assignees = [...next];
    }
    if (planned.milestone !== undefined && planned.milestone !== issue.milestone) {
      const previous = issue.milestone === null ? undefined : this.milestone(issue.milestone);
      if (previous) events.push({ action: 'demilestoned', number: issue.number, actor, milestone: previous });
      issue.milestone = planned.milestone;
      const next = planned.milestone === null ? undefined : this.milestone(planned.milestone);
      if (next) events.push({ action: 'milestoned', number: issue.number, actor, milestone: next });
    }
    return events;
  }
}

interface PlannedWrites {
  labels?: string[];
  assignees?: string[];
  milestone?: number | null;
}

/** What a test may say about an issue it puts in place. */
export interface SeedIssueInput {
  title: string;
  body?: string | null;
  author?: string;
  state?: 'open' | 'closed';
  stateReason?: StateReason | null;
  labels?: string[];
  assignees?: string[];
  milestone?: number | null;
  locked?: boolean;
  comments?: number;
  createdAt?: Date | string;
  updatedAt?: Date | string;
  closedAt?: Date | string;
  /** Makes it a pull request: it then shows up in the issues listing with a `pull_request` key. */
  pullRequest?: true | { mergedAt?: Date | string };
}

function toSeconds(at: Date | string | undefined): number | undefined {
  return at === undefined ? undefined : Math.floor(new Date(at).getTime() / 1000);
}

/** Node ids are opaque strings; these follow the current prefixes (I_, PR_, LA_, MI_, U_) and stay unique. */
function nodeId(prefix: string, id: number): string {
  return prefix + Buffer.from(`fake:${id}`).toString('base64url');
}
