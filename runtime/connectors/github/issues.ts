/**
 * GitHub issues as records: what a read turns into a {@link SourceRecord}, and what a write may send. The shapes are
 * schema `issue` of github/rest-api-description (REST API version 2022-11-28), checked against the recorded answers
 * in @octokit/fixtures (issues.test.ts).
 */
import type { FlowRecord } from '../../../nodes/types';
import type { FieldDescription, SourceRecord } from '../types';

/** The part of schema `issue` a record is made of. Labels come as objects, or as plain names in older payloads. */
export interface IssueJson {
  number: number;
  title: string;
  body?: string | null;
  state: string;
  state_reason?: string | null;
  labels?: Array<string | { name?: string | null }>;
  assignees?: Array<{ login: string }> | null;
  milestone?: { number: number } | null;
  updated_at: string;
  /** Present on pull requests only: "You can identify pull requests by the pull_request key". */
  pull_request?: unknown;
}

/** The issue number and updated_at: identity and bookkeeping, never data fields (SPEC §3). */
export const issueBookkeeping = { number: 'the issue number (the key)', updated_at: 'the change timestamp GitHub sets' } as const;

export const stateReasons = ['completed', 'not_planned', 'duplicate', 'reopened'] as const;

/**
 * "You can assign up to 10 people to each issue or pull request" (GitHub docs: Assigning issues and pull requests).
 * Given more, Create an issue answers 201 and keeps ten (trstringer/manual-approval#94: "only 10 users will be added to
 * the issue. The workflow does not generate a error."), so the others would be dropped without a word.
 */
export const maxAssignees = 10;

/** The fields of an issue that sync, with their types, as describe() lists them. */
export const issueFields: FieldDescription[] = [
  { name: 'title', type: 'string', nullable: false },
  { name: 'body', type: 'string', nullable: true },
  { name: 'state', type: 'string', nullable: false },
  { name: 'state_reason', type: 'string', nullable: true },
  { name: 'labels', type: 'array', nullable: false },
  { name: 'assignees', type: 'array', nullable: false },
  { name: 'milestone', type: 'number', nullable: true },
];

const writable = new Set(issueFields.map((field) => field.name));

export function isPullRequest(item: IssueJson): boolean {
  return item.pull_request !== undefined && item.pull_request !== null;
}

/**
 * The record of one issue. Labels and assignees are sets on GitHub: they are sorted, so the same set always reads
 * the same and never looks like a change.
 */
export function issueRecord(issue: IssueJson): SourceRecord {
  const labels = (issue.labels ?? [])
    .map((label) => (typeof label === 'string' ? label : (label.name ?? '')))
    .filter((name) => name !== '')
    .sort(byCodeUnit);
  const assignees = (issue.assignees ?? []).map((user) => user.login).sort(byCodeUnit);
  return {
    id: String(issue.number),
    version: issue.updated_at,
    tag: null,
    deleted: false,
    fields: {
      title: issue.title,
      body: issue.body ?? null,
      state: issue.state,
      state_reason: issue.state_reason ?? null,
      labels,
      assignees,
      milestone: issue.milestone?.number ?? null,
    },
  };
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What "Create an issue" and "Update an issue" take, from a record's fields. */
export interface IssueWrite {
  title?: string;
  body?: string | null;
  state?: 'open' | 'closed';
  state_reason?: (typeof stateReasons)[number] | null;
  labels?: string[];
  assignees?: string[];
  milestone?: number | null;
}

/**
 * The request body for the given fields (only those: labels and assignees replace the issue's sets), or what is
 * wrong with them, naming the field. Nothing is sent for a field the engine did not give.
 */
export function issueWrite(fields: FlowRecord): { body: IssueWrite } | { problem: string } {
  const body: IssueWrite = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (Object.hasOwn(issueBookkeeping, name)) {
      return { problem: `field "${name}" is ${issueBookkeeping[name as keyof typeof issueBookkeeping]}: bookkeeping, not data, so it cannot be written` };
    }
    if (!writable.has(name)) {
      return { problem: `field "${name}" is not a field of a GitHub issue; the fields that sync are ${[...writable].join(', ')}` };
    }
    const problem = setField(body, name, value);
    if (problem) return { problem: `field "${name}": ${problem}` };
  }
  return { body };
}

function setField(body: IssueWrite, name: string, value: unknown): string | null {
  switch (name) {
    case 'title':
      if (typeof value === 'number') value = String(value);
      if (typeof value !== 'string' || value.trim() === '') return 'an issue needs a title: non-empty text';
      body.title = value;
      return null;
    case 'body':
      if (value !== null && typeof value !== 'string') return 'must be text or null';
      body.body = value;
      return null;
    case 'state':
      if (value !== 'open' && value !== 'closed') return `must be "open" or "closed", not ${JSON.stringify(value)}`;
      body.state = value;
      return null;
    case 'state_reason':
      if (value !== null && !(stateReasons as readonly unknown[]).includes(value)) return `must be one of ${stateReasons.join(', ')} or null, not ${JSON.stringify(value)}`;
      body.state_reason = value as IssueWrite['state_reason'];
      return null;
    case 'labels':
    case 'assignees': {
      const names = nameList(value);
      if (!names) return `must be a list of ${name === 'labels' ? 'label names' : 'user logins'} (or null for none)`;
      if (name === 'assignees') {
        const problem = tooManyAssignees(names);
        if (problem) return problem;
      }
      body[name] = names;
      return null;
    }
    case 'milestone': {
      if (value === null) {
        body.milestone = null;
        return null;
      }
      const number = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof number !== 'number' || !Number.isInteger(number) || number < 1) return 'must be a milestone number (or null for none)';
      body.milestone = number;
      return null;
    }
    default:
      return 'is not writable';
  }
}

/**
 * More people than GitHub keeps on an issue: it would keep ten of them without an error, the issue would then read
 * differently from what was written, and the people left out would be taken for unassigned in GitHub.
 */
function tooManyAssignees(logins: string[]): string | null {
  // Logins are case-insensitive on GitHub: "Hubot" and "hubot" are one person.
  const people = new Set(logins.map((login) => login.toLowerCase())).size;
  if (people <= maxAssignees) return null;
  return `GitHub keeps at most ${maxAssignees} assignees on an issue and would silently keep only ${maxAssignees} of these ${people} (${logins.join(', ')}); this record is not written: assign at most ${maxAssignees} people to it, or leave assignees out of the mapping's direction toward GitHub`;
}

function nameList(value: unknown): string[] | null {
  if (value === null) return [];
  if (!Array.isArray(value)) return null;
  const names: string[] = [];
  for (const item of value) {
    if (typeof item !== 'string' || item.trim() === '') return null;
    if (!names.includes(item)) names.push(item);
  }
  return names;
}
