import { RE2JS, RE2JSException } from 're2js';

/**
 * Regular expressions in expressions run on RE2 (the `re2js` port), whose matching time grows linearly with the text:
 * no pattern can backtrack for minutes the way V8's engine can (`(a|a)+$`, `(.*a){8}b`). JSONata hands its engine
 * the pattern as JavaScript wrote it, so the pattern is translated here from JavaScript's syntax to RE2's, keeping
 * JavaScript's meaning where RE2's differs (`\s`, `.`, `[^]`, `\0`, identity escapes such as `\a`). What RE2 cannot
 * express at all — backreferences and lookaround — is refused with an UnsupportedRegExpError naming the pattern.
 *
 * Known differences that remain (RE2 cannot express them without lookaround or backtracking):
 * - in multi-line mode, `^` and `$` treat only `\n` as a line break (JavaScript also `\r`, U+2028 and U+2029);
 * - case-insensitive matching uses Unicode simple case folding, so `/k/i` also matches the Kelvin sign;
 * - a group repeated by a quantifier keeps its last capture even when a later iteration skips it
 *   (`/(?:(a)|b)+/` on "ab" captures "a"; JavaScript resets it to undefined);
 * - characters outside the Basic Multilingual Plane are one character, not two UTF-16 halves.
 */

/** A regular expression that is not valid, or that RE2 cannot run; the message names the pattern and why. */
export class UnsupportedRegExpError extends Error {
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`the regular expression /${pattern}/ ${reason}`);
    this.name = 'UnsupportedRegExpError';
  }
}

/** One search took more than its share of the expression's time limit (a very long text). */
export class RegExpTimeExceeded extends Error {
  constructor(pattern: string, timeoutMs: number) {
    super(`expression ran longer than ${timeoutMs} ms matching the regular expression /${pattern}/; it is linear in the text, so the text is very long`);
    this.name = 'RegExpTimeExceeded';
  }
}

const RE2_SYNTAX = 'regular expressions use RE2 syntax, which has no backreferences or lookaround';
const MAX_CODE_POINT = 0x10ffff;

type CodeRange = readonly [number, number];

// JavaScript's classes, as code-point ranges (without the `u` flag `\d`, `\w` and `\b` are ASCII, `\s` is not).
const DIGITS: CodeRange[] = [[0x30, 0x39]];
const WORD: CodeRange[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
const WHITE_SPACE: CodeRange[] = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];
const LINE_TERMINATORS: CodeRange[] = [
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
];
const EVERYTHING: CodeRange[] = [[0, MAX_CODE_POINT]];

function complement(ranges: readonly CodeRange[]): CodeRange[] {
  const sorted = [...ranges].sort((left, right) => left[0] - right[0]);
  const gaps: CodeRange[] = [];
  let next = 0;
  for (const [low, high] of sorted) {
    if (low > next) gaps.push([next, low - 1]);
    next = Math.max(next, high + 1);
  }
  if (next <= MAX_CODE_POINT) gaps.push([next, MAX_CODE_POINT]);
  return gaps;
}

const classEscapes: Record<string, CodeRange[]> = {
  d: DIGITS,
  D: complement(DIGITS),
  w: WORD,
  W: complement(WORD),
  s: WHITE_SPACE,
  S: complement(WHITE_SPACE),
};

/** A code point as RE2 reads it anywhere, in a class or out of one: letters and digits as they are, the rest in hex. */
function codePoint(value: number): string {
  const char = String.fromCodePoint(value);
  return /^[A-Za-z0-9]$/.test(char) ? char : `\\x{${value.toString(16)}}`;
}

function rangeSet(ranges: readonly CodeRange[]): string {
  return ranges.map(([low, high]) => (low === high ? codePoint(low) : `${codePoint(low)}-${codePoint(high)}`)).join('');
}

/** A class of RE2 syntax; an empty one matches nothing, which RE2 writes as the complement of everything. */
function classOf(ranges: readonly CodeRange[], negated: boolean): string {
  if (ranges.length === 0) return negated ? `[${rangeSet(EVERYTHING)}]` : `[^${rangeSet(EVERYTHING)}]`;
  return `[${negated ? '^' : ''}${rangeSet(ranges)}]`;
}

const isHex = (text: string) => /^[0-9A-Fa-f]+$/.test(text);
const isOctal = (char: string | undefined) => char !== undefined && char >= '0' && char <= '7';

/** What an escape stands for: a code point, a set of them (`\d`), or an assertion RE2 writes the same way (`\b`). */
type Escape = { kind: 'char'; value: number } | { kind: 'set'; ranges: CodeRange[] } | { kind: 'verbatim'; text: string };

/**
 * Translates a JavaScript pattern (as `RegExp.prototype.source` gives it, without the `u` flag) into RE2 syntax with
 * the same meaning. The pattern must already be valid JavaScript: JSONata compiled it when it parsed the expression.
 */
function translate(source: string, dotAll: boolean, ignoreCase: boolean): string {
  const groups = countGroups(source);
  let output = '';
  let index = 0;
  // JavaScript's `\w`, `\s`, `.` and the like keep their members under the `i` flag (`\w` does not take in the Kelvin
  // sign), and folding the case of their wide ranges costs RE2 milliseconds each: they are written case-sensitive.
  const fixedClass = (ranges: readonly CodeRange[], negated: boolean) => (ignoreCase ? `(?-i:${classOf(ranges, negated)})` : classOf(ranges, negated));

  // An escape after the backslash at `index`; `inClass` changes what `\b` and digits mean.
  const readEscape = (inClass: boolean): Escape => {
    const char = source[index + 1] ?? '';
    index += 2;
    switch (char) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 's':
      case 'S':
        return { kind: 'set', ranges: classEscapes[char] as CodeRange[] };
      case 'b':
        return inClass ? { kind: 'char', value: 0x08 } : { kind: 'verbatim', text: '\\b' };
      case 'B':
        return inClass ? { kind: 'char', value: 0x42 } : { kind: 'verbatim', text: '\\B' };
      case 't':
        return { kind: 'char', value: 0x09 };
      case 'n':
        return { kind: 'char', value: 0x0a };
      case 'v':
        return { kind: 'char', value: 0x0b };
      case 'f':
        return { kind: 'char', value: 0x0c };
      case 'r':
        return { kind: 'char', value: 0x0d };
      case 'c': {
        const letter = source[index] ?? '';
        if (/^[A-Za-z]$/.test(letter) || (inClass && /^[0-9_]$/.test(letter))) {
          index += 1;
          return { kind: 'char', value: letter.charCodeAt(0) % 32 };
        }
        // Not a control escape: a backslash, and the `c` is read next as itself.
        index -= 1;
        return { kind: 'char', value: 0x5c };
      }
      case 'x': {
        const hex = source.slice(index, index + 2);
        if (hex.length === 2 && isHex(hex)) {
          index += 2;
          return { kind: 'char', value: parseInt(hex, 16) };
        }
        return { kind: 'char', value: 0x78 };
      }
      case 'u': {
        const hex = source.slice(index, index + 4);
        if (hex.length !== 4 || !isHex(hex)) return { kind: 'char', value: 0x75 };
        index += 4;
        let value = parseInt(hex, 16);
        // A surrogate pair written as two escapes is one character to RE2.
        const low = /^\\u([Dd][C-Fc-f][0-9A-Fa-f]{2})/.exec(source.slice(index));
        if (value >= 0xd800 && value <= 0xdbff && low) {
          value = 0x10000 + ((value - 0xd800) << 10) + (parseInt(low[1] as string, 16) - 0xdc00);
          index += 6;
        }
        return { kind: 'char', value };
      }
      case 'k':
        if (!inClass && groups.named) {
          throw new UnsupportedRegExpError(source, `uses a backreference (\\k<…>); ${RE2_SYNTAX}`);
        }
        return { kind: 'char', value: 0x6b };
      default:
        break;
    }
    if (char >= '0' && char <= '9') {
      const digits = /^[0-9]+/.exec(source.slice(index - 1))?.[0] ?? char;
      if (!inClass && char !== '0' && Number(digits) <= groups.count) {
        throw new UnsupportedRegExpError(source, `uses a backreference (\\${digits}); ${RE2_SYNTAX}`);
      }
      if (char === '8' || char === '9') return { kind: 'char', value: char.charCodeAt(0) };
      // A legacy octal escape: up to three octal digits, at most \377.
      let octal = char;
      while (octal.length < 3 && isOctal(source[index]) && parseInt(octal + source[index], 8) <= 0o377) octal += source[index++];
      return { kind: 'char', value: parseInt(octal, 8) };
    }
    // Any other escaped character stands for itself (`\.`, `\/`, and without the `u` flag also `\a`, `\p`, ...).
    const value = source.codePointAt(index - 1) ?? 0x5c;
    if (value > 0xffff) index += 1;
    return { kind: 'char', value };
  };

  const readClassItem = (): Escape => {
    if (source[index] === '\\') return readEscape(true);
    const value = source.codePointAt(index) as number;
    index += value > 0xffff ? 2 : 1;
    return { kind: 'char', value };
  };

  const readClass = () => {
    index += 1;
    const negated = source[index] === '^';
    if (negated) index += 1;
    const ranges: CodeRange[] = [];
    const add = (item: Escape) => {
      if (item.kind === 'char') ranges.push([item.value, item.value]);
      else if (item.kind === 'set') ranges.push(...item.ranges);
    };
    while (index < source.length && source[index] !== ']') {
      const first = readClassItem();
      if (first.kind === 'char' && source[index] === '-' && index + 1 < source.length && source[index + 1] !== ']') {
        index += 1;
        const last = readClassItem();
        if (last.kind === 'char') {
          ranges.push([first.value, last.value]);
        } else {
          // Next to a class escape (`[a-\d]`) the `-` is itself.
          ranges.push([first.value, first.value], [0x2d, 0x2d]);
          add(last);
        }
      } else {
        add(first);
      }
    }
    index += 1;
    output += classOf(mergeRanges(ranges), negated);
  };

  while (index < source.length) {
    const char = source[index] as string;
    if (char === '\\') {
      const escape = readEscape(false);
      output += escape.kind === 'char' ? codePoint(escape.value) : escape.kind === 'set' ? fixedClass(escape.ranges, false) : escape.text;
    } else if (char === '[') {
      readClass();
    } else if (char === '(') {
      if (source.startsWith('(?=', index) || source.startsWith('(?!', index)) {
        throw new UnsupportedRegExpError(source, `uses a lookahead (${source.slice(index, index + 3)}…); ${RE2_SYNTAX}`);
      }
      if (source.startsWith('(?<=', index) || source.startsWith('(?<!', index)) {
        throw new UnsupportedRegExpError(source, `uses a lookbehind (${source.slice(index, index + 4)}…); ${RE2_SYNTAX}`);
      }
      if (source.startsWith('(?<', index)) {
        const close = source.indexOf('>', index);
        output += `(?P<${source.slice(index + 3, close)}>`;
        index = close + 1;
      } else if (source.startsWith('(?:', index)) {
        output += '(?:';
        index += 3;
      } else if (source[index + 1] === '?') {
        throw new UnsupportedRegExpError(source, `uses a group modifier (${source.slice(index, index + 3)}…) that RE2 does not support`);
      } else {
        output += '(';
        index += 1;
      }
    } else if (char === '{') {
      // A quantifier when well formed; otherwise (without the `u` flag) a literal brace.
      const quantifier = /^\{\d+(,\d*)?\}/.exec(source.slice(index))?.[0];
      output += quantifier ?? codePoint(0x7b);
      index += quantifier?.length ?? 1;
    } else if (char === '.') {
      output += dotAll ? fixedClass(EVERYTHING, false) : fixedClass(LINE_TERMINATORS, true);
      index += 1;
    } else if ('*+?|)^$'.includes(char)) {
      output += char;
      index += 1;
    } else {
      const value = source.codePointAt(index) as number;
      output += codePoint(value);
      index += value > 0xffff ? 2 : 1;
    }
  }
  return output;
}

function mergeRanges(ranges: readonly CodeRange[]): CodeRange[] {
  const sorted = [...ranges].sort((left, right) => left[0] - right[0] || left[1] - right[1]);
  const merged: Array<[number, number]> = [];
  for (const [low, high] of sorted) {
    const last = merged[merged.length - 1];
    if (last && low <= last[1] + 1) last[1] = Math.max(last[1], high);
    else merged.push([low, high]);
  }
  return merged;
}

/** How many capturing groups the pattern has, and whether any is named (which makes `\k` a backreference). */
function countGroups(source: string): { count: number; named: boolean } {
  let count = 0;
  let named = false;
  let inClass = false;
  for (let index = 0; index < source.length; index += 1) {
    const char = source[index];
    if (char === '\\') index += 1;
    else if (inClass) inClass = char !== ']';
    else if (char === '[') inClass = true;
    else if (char === '(' && source[index + 1] !== '?') count += 1;
    else if (char === '(' && source.startsWith('(?<', index) && !'=!'.includes(source[index + 3] ?? '')) {
      count += 1;
      named = true;
    }
  }
  return { count, named };
}

const SUPPORTED_FLAGS = /^[gims]*$/;
/** Compiled patterns are kept, bounded: JSONata builds a new engine object each time a regex literal is evaluated. */
const MAX_CACHED_PATTERNS = 500;
const compiledPatterns = new Map<string, RE2JS | UnsupportedRegExpError>();

/** Compiles a JavaScript pattern for RE2, or throws an UnsupportedRegExpError saying why it cannot run. */
function compileLinear(source: string, flags: string): RE2JS {
  const cacheKey = `${flags}/${source}`;
  let compiled = compiledPatterns.get(cacheKey);
  if (compiled === undefined) {
    compiled = compileUncached(source, flags);
    compiledPatterns.set(cacheKey, compiled);
    if (compiledPatterns.size > MAX_CACHED_PATTERNS) {
      const oldest = compiledPatterns.keys().next();
      if (!oldest.done) compiledPatterns.delete(oldest.value);
    }
  }
  if (compiled instanceof UnsupportedRegExpError) throw compiled;
  return compiled;
}

function compileUncached(source: string, flags: string): RE2JS | UnsupportedRegExpError {
  if (!SUPPORTED_FLAGS.test(flags)) return new UnsupportedRegExpError(source, `has flags "${flags}"; only g, i, m and s are supported`);
  try {
    // JavaScript's own parser checks the syntax (it compiles lazily and runs nothing); the translation relies on it.
    new RegExp(source, flags);
  } catch (error) {
    return new UnsupportedRegExpError(source, `is not valid: ${(error as Error).message}`);
  }
  try {
    const prefix = `${flags.includes('i') ? 'i' : ''}${flags.includes('m') ? 'm' : ''}`;
    return RE2JS.compile(`${prefix ? `(?${prefix})` : ''}${translate(source, flags.includes('s'), flags.includes('i'))}`);
  } catch (error) {
    if (error instanceof UnsupportedRegExpError) return error;
    if (error instanceof RE2JSException) {
      const detail = error.message.replace(/^error parsing regexp: /, '');
      const limit = /invalid repeat count/.test(detail) ? ' (RE2 repeats at most 1000 times)' : '';
      return new UnsupportedRegExpError(source, `cannot run on RE2: ${detail}${limit}`);
    }
    throw error;
  }
}

/** Why a pattern cannot run, or null when it can (for validating a flow before it runs). */
export function regExpProblem(source: string, flags: string): string | null {
  try {
    compileLinear(source, flags);
    return null;
  } catch (error) {
    if (error instanceof UnsupportedRegExpError) return error.message;
    throw error;
  }
}

export interface LinearRegExpOptions {
  /** The longest all the searches of one engine object may take together (they are each linear, but a text may be long). */
  timeoutMs?: number;
}

/**
 * A linear-time stand-in for RegExp with what JSONata's RegexEngine contract uses: `new (pattern, flags)`, `exec`,
 * and `lastIndex`, with RegExp's semantics — a global one searches from `lastIndex` and moves it to the end of the
 * match (an empty match leaves it in place; JSONata detects that), and back to 0 when nothing more matches; a result
 * is an array of the match and its groups (`undefined` for a group that took no part) with `index`, `input` and
 * `groups` (the named groups, or undefined when there are none).
 */
export class LinearRegExp {
  lastIndex = 0;
  readonly source: string;
  readonly flags: string;
  readonly global: boolean;
  readonly ignoreCase: boolean;
  readonly multiline: boolean;
  readonly dotAll: boolean;
  private readonly compiled: RE2JS;
  private readonly groupNames: string[];
  private readonly timeoutMs: number;
  private spentMs = 0;

  constructor(pattern: RegExp | LinearRegExp | string, flags?: string, options: LinearRegExpOptions = {}) {
    this.source = typeof pattern === 'string' ? pattern : pattern.source;
    this.flags = flags ?? (typeof pattern === 'string' ? '' : pattern.flags);
    this.compiled = compileLinear(this.source, this.flags);
    this.groupNames = Object.keys(this.compiled.namedGroups());
    this.global = this.flags.includes('g');
    this.ignoreCase = this.flags.includes('i');
    this.multiline = this.flags.includes('m');
    this.dotAll = this.flags.includes('s');
    this.timeoutMs = options.timeoutMs ?? Infinity;
  }

  exec(input: string): RegExpExecArray | null {
    const text = String(input);
    const start = this.global ? Math.max(0, Math.trunc(Number(this.lastIndex)) || 0) : 0;
    const began = performance.now();
    const result = start > text.length ? null : this.search(text, start);
    if (this.global) this.lastIndex = result ? result.index + (result[0] as string).length : 0;
    this.spentMs += performance.now() - began;
    if (this.spentMs > this.timeoutMs) throw new RegExpTimeExceeded(this.source, this.timeoutMs);
    return result;
  }

  test(input: string): boolean {
    return this.exec(input) !== null;
  }

  toString(): string {
    return `/${this.source}/${this.flags}`;
  }

  private search(text: string, start: number): RegExpExecArray | null {
    // From the start of a text, the boolean search runs on RE2's DFA, far faster than one that tracks groups.
    if (start === 0 && !this.compiled.test(text)) return null;
    const matcher = this.compiled.matcher(text);
    if (!matcher.find(start)) return null;
    const groups: Array<string | undefined> = [];
    for (let group = 0; group <= matcher.groupCount(); group += 1) groups.push(matcher.group(group) ?? undefined);
    return Object.assign(groups, { index: matcher.start(0), input: text, groups: this.namedGroups(matcher) }) as unknown as RegExpExecArray;
  }

  private namedGroups(matcher: ReturnType<RE2JS['matcher']>): Record<string, string | undefined> | undefined {
    if (this.groupNames.length === 0) return undefined;
    const named: Record<string, string | undefined> = Object.create(null) as Record<string, string | undefined>;
    for (const name of this.groupNames) named[name] = matcher.group(name) ?? undefined;
    return named;
  }
}
