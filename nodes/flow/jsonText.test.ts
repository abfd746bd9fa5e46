import { describe, expect, it } from 'vitest';
import { parseFlowText } from './jsonText';

describe('parseFlowText', () => {
  it.each([
    ['{"a": 1,}', 1, 9, 'expected a property name in double quotes, found "}" (a comma before "}" is not allowed)'],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, `expected "," or "}" after the value, found '"' (is a comma missing before it?)`],
    ['[1, 2', 1, 6, 'the text ends too early: a bracket, brace or quote is not closed'],
    ['', 1, 1, 'the text ends too early: a bracket, brace or quote is not closed'],
    ["{'a': 1}", 1, 2, `expected a property name in double quotes, found "'"`],
    ['{"a": tru}', 1, 7, 'expected a value, found "t"'],
    ['{"a": "x\ny"}', 1, 9, 'a line break or control character inside text: write it as \\n, \\t or \\u00XX'],
    ['{"a": "\\q"}', 1, 8, 'unknown escape \\q: inside text, only \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX are allowed'],
    ['{"a": 01}', 1, 8, 'expected "," or "}" after the value, found "1"'],
    ['{} {}', 1, 4, 'unexpected "{" after the end of the document'],
    ['[1,]', 1, 4, 'expected a value, found "]" (a comma before it is not allowed)'],
  ])('locates the error in %j', (text, line, column, message) => {
    expect(parseFlowText(text)).toEqual({ ok: false, line, column, message });
  });

  it('parses JSON, with or without a byte order mark', () => {
    expect(parseFlowText('\ufeff{"a": [1, "x", null, true, false, -1.5e3]}')).toEqual({ ok: true, value: { a: [1, 'x', null, true, false, -1500] } });
  });

  it('survives deep nesting', () => {
    const text = `${'['.repeat(500_000)}${']'.repeat(499_999)}`;
    expect(parseFlowText(text)).toMatchObject({ ok: false, line: 1, column: text.length + 1 });
  });
});
