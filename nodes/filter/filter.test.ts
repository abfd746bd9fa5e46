import { describe, expect, it } from 'vitest';
import { defaultExpressionLimits, RecordError, type BehaviourContext } from '../types';
import { filterBehaviour } from './behaviour';
import { filterConfigSchema, type FilterConfig } from './schema';

const ctx: BehaviourContext = { nodeId: 'open-only', limits: defaultExpressionLimits };
const configOf = (config: unknown): FilterConfig => filterConfigSchema.parse(config);
const dropped = { kind: 'drop', reason: 'filter open-only: condition is not true' };

describe('filter', () => {
  const openOnly = configOf({ condition: "status = 'open'" });

  it('passes a record for which the condition is true, unchanged', async () => {
    const record = Object.freeze({ status: 'open', id: 1 });
    expect(await filterBehaviour.forward(record, openOnly, ctx)).toEqual({ kind: 'pass', record: { status: 'open', id: 1 } });
    expect(await filterBehaviour.backward(record, openOnly, ctx)).toEqual({ kind: 'pass', record: { status: 'open', id: 1 } });
  });

  it('drops a record for which the condition is false or missing, in both directions by default', async () => {
    expect(await filterBehaviour.forward({ status: 'won' }, openOnly, ctx)).toEqual(dropped);
    expect(await filterBehaviour.backward({ status: 'won' }, openOnly, ctx)).toEqual(dropped);
    expect(await filterBehaviour.forward({}, openOnly, ctx)).toEqual(dropped);
  });

  it('lets only exactly true pass, not a truthy value', async () => {
    for (const condition of ['1', "'yes'", '[true]', '{"ok": true}', 'flag']) {
      expect(await filterBehaviour.forward({ flag: 'true' }, configOf({ condition }), ctx)).toEqual(dropped);
    }
    expect(await filterBehaviour.forward({ flag: true }, configOf({ condition: 'flag' }), ctx)).toEqual({ kind: 'pass', record: { flag: true } });
  });

  it('applies only in its direction, and passes records the other way without evaluating', () => {
    const forwardOnly = configOf({ condition: "status = 'open'", directions: 'forward' });
    const record = { status: 'won' };
    const outcome = filterBehaviour.backward(record, forwardOnly, ctx);
    expect(outcome).toEqual({ kind: 'pass', record });
    expect(outcome).not.toBeInstanceOf(Promise);
    const backwardOnly = configOf({ condition: '$error("never evaluated")', directions: 'backward' });
    expect(filterBehaviour.forward(record, backwardOnly, ctx)).toEqual({ kind: 'pass', record });
  });

  it('fails the record when the condition fails, naming the filter', async () => {
    const failing = configOf({ condition: 'amount > "x"' });
    await expect(Promise.resolve().then(() => filterBehaviour.forward({ amount: 1 }, failing, ctx))).rejects.toThrow(RecordError);
    await expect(Promise.resolve().then(() => filterBehaviour.forward({ amount: 1 }, failing, ctx))).rejects.toThrow(/^filter open-only: condition: expression failed at character/);
  });

  it('fails a runaway condition quickly', async () => {
    const runaway = configOf({ condition: '($f := function($x){ $f($x + 1) }; $f(0))' });
    const started = Date.now();
    await expect(Promise.resolve().then(() => filterBehaviour.forward({}, runaway, ctx))).rejects.toThrow('expression ran longer than 100 ms');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await filterBehaviour.forward({ status: 'open' }, openOnly, ctx)).toEqual({ kind: 'pass', record: { status: 'open' } });
  });

  it('tests a condition with a regular expression in linear time', async () => {
    // `(a|a)+$` backtracks for ever in JavaScript's RegExp; it runs on RE2.
    const plainCodes = configOf({ condition: '$contains(code, /^(a|a)+$/)' });
    const started = Date.now();
    expect(await filterBehaviour.forward({ code: `${'a'.repeat(40)}!` }, plainCodes, ctx)).toEqual({ kind: 'drop', reason: 'filter open-only: condition is not true' });
    expect(await filterBehaviour.forward({ code: 'aaaa' }, plainCodes, ctx)).toEqual({ kind: 'pass', record: { code: 'aaaa' } });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('refuses a condition whose regular expression RE2 cannot run', () => {
    const parsed = filterConfigSchema.safeParse({ condition: '$contains(email, /^(?!test)/)' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      [
        'condition',
        'expression cannot run at character 28: the regular expression /^(?!test)/ uses a lookahead ((?!…); regular expressions use RE2 syntax, which has no backreferences or lookaround',
      ],
    ]);
  });
});
