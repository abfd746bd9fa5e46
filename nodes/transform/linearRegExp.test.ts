import fc from 'fast-check';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { LinearRegExp, regExpProblem, RegExpTimeExceeded, UnsupportedRegExpError } from './linearRegExp';

const runs = Number(process.env.SYNCLINE_PROPERTY_RUNS ?? 200);

type Engine = new (pattern: string, flags?: string) => { lastIndex: number; exec(text: string): RegExpExecArray | null };

/** Every match a global search finds, with what `lastIndex` is after each, stepping over empty matches as matchAll does. */
function allMatches(Engine: Engine, pattern: string, flags: string, text: string): unknown[] {
  const regex = new Engine(pattern, `${flags}g`);
  const found: unknown[] = [];
  for (let step = 0; step <= text.length + 1; step += 1) {
    const match = regex.exec(text);
    found.push(match ? { groups: [...match], index: match.index, named: match.groups ? { ...match.groups } : undefined, lastIndex: regex.lastIndex } : null);
    if (!match) break;
    if (match[0] === '') regex.lastIndex += 1;
  }
  return found;
}

function firstMatch(Engine: Engine, pattern: string, flags: string, text: string): unknown {
  const regex = new Engine(pattern, flags);
  regex.lastIndex = 3;
  const match = regex.exec(text);
  // A search that is not global ignores and keeps lastIndex.
  return match ? { groups: [...match], index: match.index, lastIndex: regex.lastIndex } : { lastIndex: regex.lastIndex };
}

/** Asserts that a pattern finds exactly what JavaScript's own RegExp finds on each text, globally and not. */
function expectSameAsRegExp(pattern: string, flags: string, texts: readonly string[]): void {
  for (const text of texts) {
    const context = `/${pattern}/${flags} on ${JSON.stringify(text)}`;
    expect(allMatches(LinearRegExp, pattern, flags, text), context).toEqual(allMatches(RegExp, pattern, flags, text));
    expect(firstMatch(LinearRegExp, pattern, flags, text), context).toEqual(firstMatch(RegExp, pattern, flags, text));
  }
}

// Patterns RE2 runs with JavaScript's meaning. Quantified parts never match the empty text and hold no capturing
// group: those are the documented differences (JavaScript skips empty iterations and resets captures per iteration).
const charAtom = fc.constantFrom(
  'a',
  'b',
  'c',
  'A',
  '1',
  ' ',
  '-',
  '_',
  '\\.',
  '.',
  '\\d',
  '\\D',
  '\\w',
  '\\W',
  '\\s',
  '\\S',
  '\\n',
  '\\x61',
  '\\u0062',
  '[ab]',
  '[^a]',
  '[a-c]',
  '[\\d_]',
  '[^\\s]',
  '[-a]',
  '[a-]',
  '[A-Za-z]',
  '[\\w-]',
  '[^]',
  '[^\\n]',
);
const anchor = fc.constantFrom('^', '$', '\\b', '\\B');
const lazyOrGreedy = (quantifiers: string[]) => fc.tuple(fc.constantFrom(...quantifiers), fc.boolean()).map(([quantifier, lazy]) => (lazy ? `${quantifier}?` : quantifier));

const { solid } = fc.letrec<{ solid: string; solidGroup: string; solidPiece: string }>((tie) => ({
  solid: fc.oneof({ maxDepth: 2 }, charAtom, tie('solidGroup')),
  solidGroup: fc
    .array(
      fc.array(tie('solidPiece'), { minLength: 1, maxLength: 2 }).map((pieces) => pieces.join('')),
      { minLength: 1, maxLength: 2 },
    )
    .map((alternatives) => `(?:${alternatives.join('|')})`),
  solidPiece: fc.tuple(tie('solid'), fc.option(lazyOrGreedy(['+', '{2}', '{1,}', '{1,2}']))).map(([atom, quantifier]) => atom + (quantifier ?? '')),
}));

const { pattern } = fc.letrec<{ pattern: string; item: string; group: string }>((tie) => ({
  pattern: fc
    .array(
      fc.array(tie('item'), { minLength: 0, maxLength: 4 }).map((items) => items.join('')),
      { minLength: 1, maxLength: 2 },
    )
    .map((alternatives) => alternatives.join('|')),
  item: fc.oneof(
    { maxDepth: 2 },
    fc.tuple(solid, fc.option(lazyOrGreedy(['*', '+', '?', '{0,2}', '{2}', '{1,}', '{1,3}']))).map(([atom, quantifier]) => atom + (quantifier ?? '')),
    anchor,
    tie('group'),
  ),
  group: fc.tuple(fc.constantFrom('(', '(?:', '(?<name>'), tie('pattern')).map(([open, inner]) => `${open}${inner})`),
}));

const text = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'A', 'B', '1', ' ', '\n', '_', '-', '.'), maxLength: 12 });
const flags = fc.subarray(['i', 'm', 's']).map((chosen) => chosen.join(''));

describe('LinearRegExp', () => {
  it('finds what RegExp finds: matches, groups, indexes and lastIndex, under every flag', () => {
    fc.assert(
      fc.property(pattern, flags, fc.array(text, { minLength: 1, maxLength: 4 }), (source, flagSet, texts) => {
        // A generated pattern may name two groups alike; JavaScript refuses it, and so must the stand-in.
        let valid = true;
        try {
          new RegExp(source, flagSet);
        } catch {
          valid = false;
        }
        if (!valid) {
          expect(() => new LinearRegExp(source, flagSet)).toThrow(UnsupportedRegExpError);
          return;
        }
        expectSameAsRegExp(source, flagSet, texts);
      }),
      { numRuns: runs },
    );
  });

  it('keeps JavaScript’s meaning where RE2 writes things differently', () => {
    const texts = ['', 'a\nb\r\nc', 'tab\there', 'x\u00a0y\u2028z\ufeff', 'A\u0000B', 'A\u0007B', 'AB{2}', 'a]b}c', 'ab-cd\bd', '18 \u0001 \u0041 A', 'kill', 'uu', 'p{L}'];
    const patterns = [
      '\\s+', // JavaScript's \s includes no-break spaces, line separators and the BOM; RE2's is ASCII.
      '\\S+',
      '[\\s\\d]+',
      '[^\\S]',
      '.+', // `.` stops at \r, U+2028 and U+2029 as well as \n.
      '[^]+',
      '[]',
      'a[^]b',
      '\\0',
      '\\101', // legacy octal escapes
      '\\18',
      '\\8',
      '\\a', // identity escapes: \a is "a", not the bell
      '\\k',
      '\\p{L}',
      '\\cJ',
      '[\\b]',
      '\\bb\\B',
      'B{2}',
      'B\\{2}',
      'B{2',
      '{,2}',
      ']',
      '}',
      '\\u{2}',
      '\\x4',
      '(?<first>a)|(?<second>b)',
      '(a)|(b)|(k)',
      '(\\w)(\\w)?',
      'b?',
      '^|$',
      'k{0}',
    ];
    // In multi-line mode RE2 breaks lines at \n only: see the differences below.
    const singleBreaks = texts.filter((text) => !/[\r\u2028\u2029]/.test(text));
    for (const source of patterns) {
      for (const flagSet of ['', 'i', 's']) expectSameAsRegExp(source, flagSet, texts);
      for (const flagSet of ['m', 'ims']) expectSameAsRegExp(source, flagSet, singleBreaks);
    }
  });

  it('differs from RegExp only where RE2 cannot follow it, as documented', () => {
    const match = (source: string, flagSet: string, input: string) => new LinearRegExp(source, flagSet).exec(input)?.[0];
    // Multi-line anchors see \n, not \r, as a line break.
    expect(/a$/m.exec('a\r\nb')?.[0]).toBe('a');
    expect(match('a$', 'm', 'a\r\nb')).toBeUndefined();
    expect(match('a\r?$', 'm', 'a\r\nb')).toBe('a\r');
    // A repeated group keeps its last capture.
    expect([.../(?:(a)|b)+/.exec('ab')!]).toEqual(['ab', undefined]);
    expect([...new LinearRegExp('(?:(a)|b)+').exec('ab')!]).toEqual(['ab', 'a']);
  });

  it('runs the patterns that make RegExp backtrack for ever in linear time', () => {
    const cases: Array<[string, string, boolean]> = [
      ['a*a*a*a*a*b', 'a'.repeat(3000), false],
      ['^(a|a)+$', `${'a'.repeat(32)}!`, false],
      ['(.*a){8}b', 'a'.repeat(2000), false],
      ['^(a+)+$', `${'a'.repeat(100_000)}!`, false],
      ['(x+x+)+y', 'x'.repeat(50_000), false],
      ['(\\w+\\s?)+$', `${'word '.repeat(10_000)}`, true],
    ];
    for (const [source, input, matches] of cases) {
      const started = performance.now();
      expect(new LinearRegExp(source).exec(input) !== null, source).toBe(matches);
      expect(performance.now() - started, source).toBeLessThan(1000);
    }
  });

  it('refuses what RE2 cannot express, naming the pattern and why', () => {
    const refused: Array<[string, RegExp]> = [
      ['(a)\\1', /^the regular expression \/\(a\)\\1\/ uses a backreference \(\\1\); regular expressions use RE2 syntax, which has no backreferences or lookaround$/],
      ['(?<x>a)\\k<x>', /\/\(\?<x>a\)\\k<x>\/ uses a backreference \(\\k<…>\)/],
      ['a(?=b)', /\/a\(\?=b\)\/ uses a lookahead \(\(\?=…\)/],
      ['a(?!b)', /uses a lookahead \(\(\?!…\)/],
      ['(?<=a)b', /\/\(\?<=a\)b\/ uses a lookbehind \(\(\?<=…\)/],
      ['(?<!a)b', /uses a lookbehind \(\(\?<!…\)/],
      ['a{1001}', /\/a\{1001\}\/ cannot run on RE2: invalid repeat count: `\{1001\}` \(RE2 repeats at most 1000 times\)/],
      ['(?<a-b>x)', /is not valid: Invalid regular expression/],
      ['a(', /\/a\(\/ is not valid/],
    ];
    for (const [source, message] of refused) {
      expect(() => new LinearRegExp(source), source).toThrow(UnsupportedRegExpError);
      expect(() => new LinearRegExp(source), source).toThrow(message);
      expect(regExpProblem(source, 'g'), source).toMatch(message);
    }
    expect(() => new LinearRegExp('a', 'u')).toThrow(/^the regular expression \/a\/ has flags "u"; only g, i, m and s are supported$/);
    // A pattern with a group ahead of `\1` refers back to it; without one, `\1` is an octal escape in JavaScript too.
    expect(regExpProblem('\\1', 'g')).toBeNull();
    expect(regExpProblem('a{1000}', 'g')).toBeNull();
  });

  it('takes JSONata’s regex literal and serves $match, $replace, $split and $contains as RegExp does', async () => {
    const input = { text: 'Ada Lovelace, ALAN turing,grace  hopper', empty: '' };
    const expressions = [
      '$match(text, /(\\w)(\\w*)/)',
      '$match(text, /(?<first>a)|(b)/i, 2)',
      '$replace(text, /(\\w+)\\s+(\\w+)/, "$2 $1")',
      '$replace(text, /a/i, function($m) { $uppercase($m.match) & $string($m.index) })',
      '$split(text, /\\s*,\\s*/)',
      '$split(text, /,/, 2)',
      '$contains(text, /turing$/im)',
      '$contains(text, /^ada/)',
      '/l(.)v/(text)',
      '$match(text, /x*/)',
      '$replace(text, /z*/, "-")',
      '$match(empty, /^$/)',
    ];
    for (const expression of expressions) {
      const outcome = async (engine: unknown) => {
        try {
          return { value: await jsonata(expression, { RegexEngine: engine as RegExpConstructor }).evaluate(input) };
        } catch (error) {
          return { code: (error as { code?: string }).code };
        }
      };
      expect(await outcome(LinearRegExp), expression).toEqual(await outcome(RegExp));
    }
  });

  it('stops a long series of searches at its time limit', () => {
    const regex = new LinearRegExp('(\\w+) ', 'g', { timeoutMs: 20 });
    const text = 'word '.repeat(200_000);
    const started = performance.now();
    expect(() => {
      while (regex.exec(text) !== null);
    }).toThrow(RegExpTimeExceeded);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
