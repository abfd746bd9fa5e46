import type { z } from 'zod';
import { errorMessage, formatPath, plainMessages, quote, unknownKeyMessage, type PathSegment } from './messages';

/** One problem in a flow document, located by a JSON path such as `nodes[3].config.fields[1].direction`. */
export interface FlowIssue {
  path: string;
  nodeId?: string;
  edgeId?: string;
  /** What is wrong and what to do about it, in plain words. */
  message: string;
  severity: 'error' | 'warning';
}

/** The node or edge an issue belongs to, for the editor to put it beside. */
export type Owner = { nodeId?: string; edgeId?: string };

/** The issues found so far, in the order found; `errors` counts those that keep a document from loading. */
export class IssueList {
  readonly items: FlowIssue[] = [];
  errors = 0;

  /** Adds one issue at `path`, owned by a node or an edge when it belongs to one. */
  add(path: readonly PathSegment[], message: string, owner: Owner = {}, severity: FlowIssue['severity'] = 'error'): void {
    const issue: FlowIssue = { path: formatPath(path), message, severity };
    if (owner.nodeId !== undefined) issue.nodeId = owner.nodeId;
    if (owner.edgeId !== undefined) issue.edgeId = owner.edgeId;
    this.items.push(issue);
    if (severity === 'error') this.errors += 1;
  }

  /** Adds zod's issues under `prefix`; unknown keys become one issue each, pointing at the key itself. */
  addZod(issues: readonly z.core.$ZodIssue[], prefix: readonly PathSegment[], owner: Owner, knownKeys?: readonly string[]): void {
    for (const issue of issues) {
      const path = [...prefix, ...issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment))];
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) this.add([...path, key], unknownKeyMessage(key, issue.path.length === 0 ? knownKeys : undefined), owner);
      } else {
        this.add(path, issue.message, owner);
      }
    }
  }

  /** Parses with `schema`, reporting its issues; never throws, whatever the value. */
  parse<T>(schema: z.ZodType<T>, value: unknown, prefix: readonly PathSegment[], owner: Owner, knownKeys?: readonly string[]): { ok: true; data: T } | { ok: false } {
    try {
      const result = schema.safeParse(value, { error: plainMessages });
      if (result.success) return { ok: true, data: result.data };
      this.addZod(result.error.issues, prefix, owner, knownKeys);
    } catch (error) {
      this.add(prefix, `could not be checked (${errorMessage(error)}): simplify it`, owner);
    }
    return { ok: false };
  }
}

/** Formats an issue as one line: `nodes[3].config.fields[1].direction: must be one of both, forward, backward (node "map")`. */
export function formatIssue(issue: FlowIssue): string {
  const owner = issue.nodeId !== undefined ? ` (node ${quote(issue.nodeId)})` : issue.edgeId !== undefined ? ` (edge ${quote(issue.edgeId)})` : '';
  return `${issue.path || '(document)'}: ${issue.message}${owner}`;
}
