import { useMemo } from 'react';
import type { z } from 'zod';
import type { FlowIssue } from '../flow/issues';
import { isRecord } from '../flow/values';

export type PathKey = string | number;

/** `nodes[3].config.fields[1].direction` → `fields.1.direction`, or null when the path is not inside a config. */
export function configPathKey(documentPath: string): string | null {
  const match = /^nodes\[\d+\]\.config(.*)$/.exec(documentPath) ?? /^nodes\.\d+\.config(.*)$/.exec(documentPath);
  if (!match) return null;
  const rest = match[1] ?? '';
  return rest
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/\["([^"]*)"\]/g, '.$1')
    .replace(/^\./, '');
}

/** Messages by config path, from the node's zod schema and the flow validator, so each shows next to its field. */
export interface ConfigIssues {
  /** The messages for exactly this path, joined, or undefined. */
  at(...path: PathKey[]): string | undefined;
  /** The messages at this path or anywhere below it. */
  within(...path: PathKey[]): string | undefined;
}

/** Runs the node's schema on its config and merges in the validator's issues for it. */
export function useConfigIssues(schema: z.ZodType, config: unknown, issues: FlowIssue[]): ConfigIssues {
  return useMemo(() => {
    const byPath = new Map<string, Set<string>>();
    const add = (key: string, message: string) => {
      const set = byPath.get(key) ?? new Set<string>();
      set.add(message);
      byPath.set(key, set);
    };
    const parsed = schema.safeParse(config);
    if (!parsed.success) for (const issue of parsed.error.issues) add(issue.path.map(String).join('.'), issue.message);
    for (const issue of issues) {
      const key = configPathKey(issue.path);
      // The validator may prefix its message with the path; the form already shows where it is.
      if (key !== null) add(key, issue.message.replace(/^[^\s:]+: /, ''));
    }
    const join = (messages: Iterable<string>) => {
      const list = [...messages];
      return list.length > 0 ? list.join('; ') : undefined;
    };
    return {
      at: (...path) => join(byPath.get(path.map(String).join('.')) ?? []),
      within: (...path) => {
        const prefix = path.map(String).join('.');
        const found: string[] = [];
        for (const [key, messages] of byPath) {
          if (prefix === '' || key === prefix || key.startsWith(`${prefix}.`)) found.push(...messages);
        }
        return join(new Set(found));
      },
    };
  }, [schema, config, issues]);
}

/** The schema's default for a field (its `.default()`), or undefined when it has none. */
export function schemaDefault(schema: z.ZodType): unknown {
  const parsed = schema.safeParse(undefined);
  return parsed.success ? parsed.data : undefined;
}

export { isRecord };

/** The config as an object to read from, whatever shape it is in. */
export const asRecord = (value: unknown): Record<string, unknown> => (isRecord(value) ? value : {});

/** A copy of `record` with `key` set, or removed when `value` is undefined (an optional field left empty). */
export function withKey(record: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const next = { ...record };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}
