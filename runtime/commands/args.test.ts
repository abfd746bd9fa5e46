import { describe, expect, it } from 'vitest';
import { commandArgs } from './args';

/** The walk as `[arg, value]` pairs, taking a value for every argument named in `takesValue`. */
function walk(args: string[], takesValue: string[]): Array<[string, string | null]> {
  const seen: Array<[string, string | null]> = [];
  for (const { arg, value } of commandArgs(args)) seen.push([arg, takesValue.includes(arg) ? value() : null]);
  return seen;
}

describe('commandArgs', () => {
  it('gives each argument once, and an option its value, which the walk then skips', () => {
    expect(walk(['flow.json', '--state', 'x.db', '--once'], ['--state'])).toEqual([
      ['flow.json', null],
      ['--state', 'x.db'],
      ['--once', null],
    ]);
  });

  it('refuses an option with no value, or with another option where its value should be', () => {
    expect(() => walk(['--state'], ['--state'])).toThrow('--state needs a value');
    expect(() => walk(['--state', '--once'], ['--state'])).toThrow('--state needs a value');
    const [first] = commandArgs(['--state']);
    expect(() => first?.value('a file')).toThrow('--state needs a file');
  });
});
