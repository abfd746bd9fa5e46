import { describe, expect, it } from 'vitest';
import { literalHint, literalToValue, valueToLiteral } from './kit';

describe('a value box', () => {
  it('reads JSON as JSON and anything else as text, whatever the box held before', () => {
    expect(literalToValue('3')).toBe(3);
    expect(literalToValue('-2.5')).toBe(-2.5);
    expect(literalToValue('true')).toBe(true);
    expect(literalToValue('null')).toBeNull();
    expect(literalToValue('"3"')).toBe('3');
    expect(literalToValue('Closed Lost')).toBe('Closed Lost');
    expect(literalToValue('')).toBe('');
  });

  it('shows text in quotes only where bare it would read as something else', () => {
    expect(valueToLiteral(3)).toBe('3');
    expect(valueToLiteral('3')).toBe('"3"');
    expect(valueToLiteral('true')).toBe('"true"');
    expect(valueToLiteral('"quoted"')).toBe('"\\"quoted\\""');
    expect(valueToLiteral('Open')).toBe('Open');
    expect(valueToLiteral(false)).toBe('false');
    expect(valueToLiteral(undefined)).toBe('');
  });

  it('gives every stored value back unchanged after showing it', () => {
    const values = [3, '3', 0, '0', -1.5, ' 3', 'true', true, false, null, 'null', '', 'Open', 'closed-lost', '"x"', '[1]', [1, 'a'], { a: 1 }, '{"a":1}'];
    for (const value of values) expect(literalToValue(valueToLiteral(value))).toEqual(value);
  });

  it('says which type the box holds, and how to make it text', () => {
    expect(literalHint(3)).toBe('A number; for text, put it in quotes: "3".');
    expect(literalHint(true)).toBe('True or false; for text, put it in quotes: "true".');
    expect(literalHint(null)).toBe('Null, no value; for text, put it in quotes: "null".');
    expect(literalHint('3')).toBe('Text.');
    expect(literalHint('')).toBe('Text (empty).');
  });
});
