import type { z } from 'zod';

// The words of every flow issue: how values, paths and lists of names read inside a message, and plain wording for
// zod's generic issues. Shared by the loader, the graph rules and the round-trip check.

/** One step of a document path: a key, or an index into a list. */
export type PathSegment = string | number;

const MAX_LISTED = 8;

function clip(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A value as it appears inside a message: short, quoted when text, never throwing. */
export function quote(value: unknown, max = 60): string {
  if (typeof value === 'string') return JSON.stringify(clip(value, max));
  if (value === undefined) return 'nothing';
  try {
    return clip(JSON.stringify(value) ?? String(value), max);
  } catch {
    return 'a value too deeply nested to show';
  }
}

/** Names quoted and joined by commas, the ones past `max` counted rather than shown. */
export function listNames(names: readonly string[], max = MAX_LISTED): string {
  const shown = names.slice(0, max).map((name) => quote(name)).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/** A path as a person reads it: `nodes[3].config.fields[1].direction`. */
export function formatPath(path: readonly PathSegment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) text += text ? `.${segment}` : segment;
    else text += `[${JSON.stringify(clip(segment))}]`;
  }
  return text;
}

/** What a value is, for "must be …, not …": `text ("x")`, `a list`, `null`, `42`. */
export function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `text (${quote(value)})`;
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

const expectedNouns: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  record: 'an object',
  null: 'null',
};

function expectedNoun(expected: string): string {
  return expectedNouns[expected] ?? expected;
}

function plainValue(value: unknown): string {
  return typeof value === 'string' ? value : quote(value);
}

/**
 * Plain wording for zod's generic issues. A message written in a schema always wins over this (zod's precedence),
 * so this only fills in where a schema said nothing.
 */
export const plainMessages: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `missing: add it (${expectedNoun(issue.expected)})`;
      return `must be ${expectedNoun(issue.expected)}, not ${describeKind(issue.input)}`;
    case 'too_small': {
      const minimum = Number(issue.minimum);
      if (issue.origin === 'string') return minimum === 1 ? 'must not be empty' : `must be at least ${minimum} characters long`;
      if (issue.origin === 'array') return `must have at least ${minimum} ${minimum === 1 ? 'entry' : 'entries'}`;
      return issue.inclusive === false ? `must be more than ${minimum}` : `must be at least ${minimum}`;
    }
    case 'too_big': {
      const maximum = Number(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${maximum} characters long`;
      if (issue.origin === 'array') return `must have at most ${maximum} ${maximum === 1 ? 'entry' : 'entries'}`;
      return issue.inclusive === false ? `must be less than ${maximum}` : `must be at most ${maximum}`;
    }
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${plainValue(issue.values[0])}` : `must be one of ${issue.values.map(plainValue).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return unknownKeyMessage(issue.keys[0] ?? '');
    case 'invalid_union': {
      if (issue.errors.length === 0) {
        const options = Array.isArray(issue.options) ? issue.options.map(plainValue).join(', ') : '';
        return issue.discriminator ? `${issue.discriminator} must be one of ${options}` : undefined;
      }
      // zod already descends into a branch that got further than the type; here every branch failed at the top.
      const wanted: string[] = [];
      for (const branch of issue.errors) {
        for (const inner of branch) {
          if (inner.path.length > 0) continue;
          if (inner.code === 'invalid_value') wanted.push(...inner.values.map(plainValue));
          else if (inner.code === 'invalid_type') wanted.push(expectedNoun(inner.expected));
        }
      }
      if (wanted.length === 0) return undefined;
      const unique = [...new Set(wanted)];
      const last = unique.pop() as string;
      const list = unique.length > 0 ? `${unique.join(', ')} or ${last}` : last;
      return `must be ${list}, not ${describeKind(issue.input)}`;
    }
    default:
      return undefined;
  }
};

/** The message for a key Syncline does not read, with the keys it knows where they help. */
export function unknownKeyMessage(key: string, knownKeys?: readonly string[]): string {
  const known = knownKeys ? ` (known keys: ${knownKeys.join(', ')})` : '';
  return `unknown key ${quote(key)}: it is kept, but Syncline does not read it; remove it or correct its spelling${known}`;
}

/** An error's own message, or the thrown value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
