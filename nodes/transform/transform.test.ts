import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultExpressionLimits, RecordError, type BehaviourContext, type FlowRecord, type NodeOutcome } from '../types';
import { transformBehaviour } from './behaviour';
import { transformConfigSchema, type TransformConfig, type TransformOp } from './schema';

const ctx: BehaviourContext = { nodeId: 'names', limits: defaultExpressionLimits };

/** Parses ops the way a loaded flow would (defaults filled in), so tests use real configs. */
function configOf(...ops: unknown[]): TransformConfig {
  return transformConfigSchema.parse({ ops });
}

function passed(outcome: NodeOutcome): FlowRecord {
  if (outcome.kind !== 'pass') throw new Error(`expected the record to pass, got: ${outcome.reason}`);
  return outcome.record;
}

async function forward(config: TransformConfig, record: FlowRecord): Promise<FlowRecord> {
  return passed(await transformBehaviour.forward(deepFreeze(record), config, ctx));
}

async function backward(config: TransformConfig, record: FlowRecord): Promise<FlowRecord> {
  return passed(await transformBehaviour.backward(deepFreeze(record), config, ctx));
}

/** Frozen inputs make any mutation by the node throw, so every test also checks that inputs are left alone. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const field of Object.values(value)) deepFreeze(field);
  }
  return value;
}

async function failure(run: () => unknown): Promise<RecordError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(RecordError);
    return error as RecordError;
  }
  throw new Error('expected a RecordError');
}

describe('transform: running ops', () => {
  it('runs ops in order forward and in reverse order backward', async () => {
    const config = configOf({ op: 'rename', from: 'a', to: 'b' }, { op: 'rename', from: 'b', to: 'c' });
    expect(await forward(config, { a: 1, keep: true })).toEqual({ c: 1, keep: true });
    expect(await backward(config, { c: 1, keep: true })).toEqual({ a: 1, keep: true });
  });

  it('stays synchronous without an expression op, and is async with one', () => {
    const builtIn = configOf({ op: 'rename', from: 'a', to: 'b' });
    expect(transformBehaviour.forward({ a: 1 }, builtIn, ctx)).toEqual({ kind: 'pass', record: { b: 1 } });
    expect(transformBehaviour.backward({ b: 1 }, builtIn, ctx)).toEqual({ kind: 'pass', record: { a: 1 } });
    const withExpression = configOf({ op: 'rename', from: 'a', to: 'b' }, { op: 'expression', target: 'c', forward: 'b + 1' });
    expect(transformBehaviour.forward({ a: 1 }, withExpression, ctx)).toBeInstanceOf(Promise);
  });

  it('returns a new record and passes untouched fields through', async () => {
    const input = { a: 1, nested: { deep: [1, 2] } };
    const output = await forward(configOf({ op: 'rename', from: 'a', to: 'b' }), input);
    expect(output).not.toBe(input);
    expect(output).toEqual({ b: 1, nested: { deep: [1, 2] } });
  });

  it('passes a record through an empty op list', async () => {
    expect(await forward(configOf(), { a: 1 })).toEqual({ a: 1 });
  });
});

describe('transform: rename', () => {
  const config = configOf({ op: 'rename', from: 'first', to: 'given' });
  it('moves the field forward and back', async () => {
    expect(await forward(config, { first: 'Ada', other: 1 })).toEqual({ given: 'Ada', other: 1 });
    expect(await backward(config, { given: 'Ada', other: 1 })).toEqual({ first: 'Ada', other: 1 });
  });
  it('leaves a record without the field alone, and keeps null values', async () => {
    expect(await forward(config, { other: 1 })).toEqual({ other: 1 });
    expect(await forward(config, { first: null })).toEqual({ given: null });
  });
});

describe('transform: valueMap', () => {
  const config = configOf({
    op: 'valueMap',
    field: 'status',
    values: [
      { from: 'open', to: 'Open' },
      { from: 'lost', to: 'Closed Lost' },
      { from: { code: 1, kind: 'x' }, to: 1 },
    ],
  });

  it('maps forward and back', async () => {
    expect(await forward(config, { status: 'lost', id: 1 })).toEqual({ status: 'Closed Lost', id: 1 });
    expect(await backward(config, { status: 'Open' })).toEqual({ status: 'open' });
  });

  it('compares values as JSON, ignoring key order', async () => {
    expect(await forward(config, { status: { kind: 'x', code: 1 } })).toEqual({ status: 1 });
    expect(await backward(config, { status: 1 })).toEqual({ status: { code: 1, kind: 'x' } });
  });

  it('fails the record on a value not in the map, naming node, field and value', async () => {
    const error = await failure(() => transformBehaviour.forward({ status: 'won' }, config, ctx));
    expect(error.nodeId).toBe('names');
    expect(error.field).toBe('status');
    expect(error.message).toMatch(/names.*"status".*"won".*not in the value map/);
    await failure(() => transformBehaviour.backward({ status: 'open' }, config, ctx));
  });

  it('copies an unmapped value with otherwise: copy', async () => {
    const copying = configOf({ op: 'valueMap', field: 'status', values: [{ from: 'open', to: 'Open' }], otherwise: 'copy' });
    expect(await forward(copying, { status: 'won' })).toEqual({ status: 'won' });
  });

  it('leaves an absent field absent, and lets null pass unless the map names it', async () => {
    expect(await forward(config, { other: 1 })).toEqual({ other: 1 });
    expect(await forward(config, { status: null })).toEqual({ status: null });
    const namingNull = configOf({ op: 'valueMap', field: 'status', values: [{ from: null, to: 'none' }] });
    expect(await forward(namingNull, { status: null })).toEqual({ status: 'none' });
  });
});

describe('transform: split and join', () => {
  const split = configOf({ op: 'split', field: 'name', separator: ' ', into: ['first', 'last'] });
  const join = configOf({ op: 'join', fields: ['first', 'last'], separator: ' ', target: 'name' });

  it('splits forward and joins backward', async () => {
    expect(await forward(split, { name: 'Ada Lovelace', id: 7 })).toEqual({ first: 'Ada', last: 'Lovelace', id: 7 });
    expect(await backward(split, { first: 'Ada', last: 'Lovelace', id: 7 })).toEqual({ name: 'Ada Lovelace', id: 7 });
  });

  it('keeps extra parts in the last field, so nothing is lost', async () => {
    expect(await forward(split, { name: 'Augusta Ada King' })).toEqual({ first: 'Augusta', last: 'Ada King' });
    expect(await backward(split, { first: 'Augusta', last: 'Ada King' })).toEqual({ name: 'Augusta Ada King' });
  });

  it('leaves missing parts absent, and joins them back without a trailing separator', async () => {
    expect(await forward(split, { name: 'Ada' })).toEqual({ first: 'Ada' });
    expect(await backward(split, { first: 'Ada' })).toEqual({ name: 'Ada' });
    expect(await forward(split, { name: '' })).toEqual({ first: '' });
  });

  it('splits null into nulls and leaves an absent field alone', async () => {
    expect(await forward(split, { name: null })).toEqual({ first: null, last: null });
    expect(await backward(split, { first: null, last: null })).toEqual({ name: null });
    expect(await forward(split, { other: 1 })).toEqual({ other: 1 });
  });

  it('refuses to split something that is not text', async () => {
    const error = await failure(() => transformBehaviour.forward({ name: { a: 1 } }, split, ctx));
    expect(error.message).toMatch(/"name" must be text/);
  });

  it('joins forward and splits backward, as the mirror image', async () => {
    expect(await forward(join, { first: 'Ada', last: 'Lovelace' })).toEqual({ name: 'Ada Lovelace' });
    expect(await backward(join, { name: 'Ada Lovelace' })).toEqual({ first: 'Ada', last: 'Lovelace' });
    expect(await forward(join, { first: 'Ada', last: null })).toEqual({ name: 'Ada ' });
  });
});

describe('transform: lowercase and uppercase', () => {
  it('changes case forward and is one-way: the field is not written backward', async () => {
    const lower = configOf({ op: 'lowercase', field: 'email' });
    expect(await forward(lower, { email: 'Ada@Example.ORG', id: 1 })).toEqual({ email: 'ada@example.org', id: 1 });
    expect(await backward(lower, { email: 'ada@example.org', id: 1 })).toEqual({ id: 1 });
    const upper = configOf({ op: 'uppercase', field: 'code' });
    expect(await forward(upper, { code: 'gb' })).toEqual({ code: 'GB' });
    expect(await backward(upper, { code: 'GB' })).toEqual({});
  });

  it('leaves values that are not text unchanged', async () => {
    expect(await forward(configOf({ op: 'lowercase', field: 'n' }), { n: 5 })).toEqual({ n: 5 });
  });
});

describe('transform: scale', () => {
  const cents = configOf({ op: 'scale', field: 'amount', factor: 100 });

  it('multiplies forward and divides backward, without float noise', async () => {
    expect(await forward(cents, { amount: 19.99 })).toEqual({ amount: 1999 });
    expect(await backward(cents, { amount: 1999 })).toEqual({ amount: 19.99 });
    expect(await forward(configOf({ op: 'scale', field: 'x', factor: 3 }), { x: 0.1 })).toEqual({ x: 0.3 });
    expect(await backward(configOf({ op: 'scale', field: 'x', factor: 0.1 }), { x: 0.3 })).toEqual({ x: 3 });
    expect(await backward(configOf({ op: 'scale', field: 'x', factor: 3 }), { x: 1 })).toEqual({ x: 1 / 3 });
  });

  it('rounds to the precision forward, half away from zero on the decimal value', async () => {
    const rounded = configOf({ op: 'scale', field: 'x', factor: 1, precision: 2 });
    expect(await forward(rounded, { x: 1.005 })).toEqual({ x: 1.01 });
    expect(await forward(rounded, { x: -1.005 })).toEqual({ x: -1.01 });
    expect(await forward(configOf({ op: 'scale', field: 'x', factor: 0.001, precision: 0 }), { x: 2500 })).toEqual({ x: 3 });
  });

  it('accepts numeric text, lets null and absent pass, and refuses anything else', async () => {
    expect(await forward(cents, { amount: ' 12.5 ' })).toEqual({ amount: 1250 });
    expect(await forward(cents, { amount: null })).toEqual({ amount: null });
    expect(await forward(cents, {})).toEqual({});
    const error = await failure(() => transformBehaviour.forward({ amount: 'twelve' }, cents, ctx));
    expect(error.field).toBe('amount');
    expect(error.message).toMatch(/names.*"amount" must be a number to scale, got "twelve"/);
    await failure(() => transformBehaviour.backward({ amount: true }, cents, ctx));
  });
});

describe('transform: dateFormat', () => {
  const isoToMillis = configOf({ op: 'dateFormat', field: 'due', from: 'iso', to: 'epoch-ms' });

  it('converts between ISO text and epoch milliseconds', async () => {
    expect(await forward(isoToMillis, { due: '2024-03-01T12:30:00.000Z' })).toEqual({ due: Date.UTC(2024, 2, 1, 12, 30) });
    expect(await backward(isoToMillis, { due: Date.UTC(2024, 2, 1, 12, 30) })).toEqual({ due: '2024-03-01T12:30:00.000Z' });
  });

  it('reads ISO text with an offset, without one as UTC, and date-only', async () => {
    expect(await forward(isoToMillis, { due: '2024-03-01T12:30:00+02:00' })).toEqual({ due: Date.UTC(2024, 2, 1, 10, 30) });
    expect(await forward(isoToMillis, { due: '2024-03-01 12:30:00' })).toEqual({ due: Date.UTC(2024, 2, 1, 12, 30) });
    expect(await forward(isoToMillis, { due: '2024-03-01' })).toEqual({ due: Date.UTC(2024, 2, 1) });
  });

  it('converts epoch seconds', async () => {
    const seconds = configOf({ op: 'dateFormat', field: 'at', from: 'epoch-s', to: 'iso' });
    expect(await forward(seconds, { at: 1_700_000_000.25 })).toEqual({ at: '2023-11-14T22:13:20.250Z' });
    expect(await backward(seconds, { at: '2023-11-14T22:13:20.250Z' })).toEqual({ at: 1_700_000_000.25 });
  });

  it('reads and writes patterns of YYYY MM DD HH mm ss, in UTC', async () => {
    const pattern = configOf({ op: 'dateFormat', field: 'due', from: 'DD/MM/YYYY HH:mm', to: 'iso' });
    expect(await forward(pattern, { due: '05/11/2024 09:07' })).toEqual({ due: '2024-11-05T09:07:00.000Z' });
    expect(await backward(pattern, { due: '2024-11-05T09:07:59.000Z' })).toEqual({ due: '05/11/2024 09:07' });
    const dotted = configOf({ op: 'dateFormat', field: 'd', from: 'YYYY.MM.DD', to: 'YYYYMMDD' });
    expect(await forward(dotted, { d: '2024.01.09' })).toEqual({ d: '20240109' });
  });

  it('fails the record on a value that is not a date in the format', async () => {
    for (const due of ['next tuesday', '2024-02-30', '2024-13-01', '']) {
      const error = await failure(() => transformBehaviour.forward({ due }, isoToMillis, ctx));
      expect(error.field).toBe('due');
      expect(error.message).toMatch(/names.*"due" is not a date in the format iso/);
    }
    const pattern = configOf({ op: 'dateFormat', field: 'due', from: 'DD/MM/YYYY', to: 'iso' });
    await failure(() => transformBehaviour.forward({ due: '2024-11-05' }, pattern, ctx));
    await failure(() => transformBehaviour.backward({ due: 'soon' }, isoToMillis, ctx));
  });

  it('lets null and absent pass', async () => {
    expect(await forward(isoToMillis, { due: null })).toEqual({ due: null });
    expect(await forward(isoToMillis, {})).toEqual({});
  });
});

describe('transform: default', () => {
  const config = configOf({ op: 'default', field: 'country', value: 'GB' });

  it('fills an absent, null or empty field forward and keeps a value', async () => {
    expect(await forward(config, {})).toEqual({ country: 'GB' });
    expect(await forward(config, { country: null })).toEqual({ country: 'GB' });
    expect(await forward(config, { country: '' })).toEqual({ country: 'GB' });
    expect(await forward(config, { country: 'FR' })).toEqual({ country: 'FR' });
  });

  it('is the identity backward', async () => {
    expect(await backward(config, { country: 'GB' })).toEqual({ country: 'GB' });
    expect(await backward(config, {})).toEqual({});
  });

  it('gives each record its own copy of an object value', async () => {
    const objectDefault = configOf({ op: 'default', field: 'tags', value: ['new'] });
    const first = await forward(objectDefault, {});
    const second = await forward(objectDefault, {});
    expect(first.tags).toEqual(['new']);
    expect(first.tags).not.toBe(second.tags);
  });
});

describe('transform: expression', () => {
  // The `names` node of SPEC §1.
  const names = configOf({
    op: 'expression',
    target: 'full_name',
    forward: "first_name & ' ' & last_name",
    backward: { first_name: "$substringBefore(full_name, ' ')", last_name: "$substringAfter(full_name, ' ')" },
  });

  it('computes the target forward and keeps the input fields', async () => {
    expect(await forward(names, { first_name: 'Ada', last_name: 'Lovelace', id: 1 })).toEqual({
      first_name: 'Ada',
      last_name: 'Lovelace',
      full_name: 'Ada Lovelace',
      id: 1,
    });
  });

  it('computes each backward field and removes the target', async () => {
    expect(await backward(names, { full_name: 'Ada Lovelace', id: 1 })).toEqual({ first_name: 'Ada', last_name: 'Lovelace', id: 1 });
  });

  it('round-trips "Ada Lovelace" (SPEC §1)', async () => {
    const sample = { first_name: 'Ada', last_name: 'Lovelace' };
    const there = await forward(names, sample);
    const { full_name, ...back } = await backward(names, { full_name: there.full_name });
    expect(full_name).toBeUndefined();
    expect(back).toEqual(sample);
    expect(await transformBehaviour.roundTrip?.([sample], names, ctx)).toEqual([]);
  });

  it('leaves a field absent when the expression gives no value', async () => {
    const config = configOf({ op: 'expression', target: 'domain', forward: "$substringAfter(email, '@')", backward: { email: 'missing' } });
    expect(await forward(config, { other: 1 })).toEqual({ other: 1 });
    expect(await forward(config, { email: 'a@b.org', domain: 'stale' })).toEqual({ email: 'a@b.org', domain: 'b.org' });
    expect(await forward(config, { domain: 'stale' })).toEqual({});
    expect(await backward(config, { domain: 'b.org', email: 'a@b.org' })).toEqual({});
  });

  it('takes a backward expression that gives an object of fields', async () => {
    const config = configOf({
      op: 'expression',
      target: 'full_name',
      forward: "first & ' ' & last",
      backward: "{ 'first': $substringBefore(full_name, ' '), 'last': $substringAfter(full_name, ' ') }",
    });
    expect(await backward(config, { full_name: 'Ada Lovelace', id: 2 })).toEqual({ first: 'Ada', last: 'Lovelace', id: 2 });
    // $substringBefore of nothing is nothing: the fields stay absent.
    expect(await backward(config, { id: 2 })).toEqual({ id: 2 });
  });

  it('refuses a backward expression that does not give an object', async () => {
    const config = configOf({ op: 'expression', target: 't', forward: 'a', backward: '[t]' });
    const error = await failure(() => transformBehaviour.backward({ t: 1 }, config, ctx));
    expect(error.message).toMatch(/names, ops\[0\] \(expression t\) backward: the expression must give an object of fields, got \[1\]/);
  });

  it('is one-way without a backward form: the target is not written backward', async () => {
    const config = configOf({ op: 'expression', target: 'score', forward: 'points * 2' });
    expect(await forward(config, { points: 4 })).toEqual({ points: 4, score: 8 });
    expect(await backward(config, { points: 4, score: 8 })).toEqual({ points: 4 });
  });

  it('keeps a backward field named like the target', async () => {
    const config = configOf({ op: 'expression', target: 'name', forward: '$uppercase(name)', backward: { name: '$lowercase(name)' } });
    expect(await backward(config, { name: 'ADA' })).toEqual({ name: 'ada' });
  });

  it('fails the record with the node, the op, the direction and what went wrong', async () => {
    const config = configOf({ op: 'expression', target: 't', forward: 'a + "x"' });
    const error = await failure(() => transformBehaviour.forward({ a: 1 }, config, ctx));
    expect(error.nodeId).toBe('names');
    expect(error.field).toBe('t');
    expect(error.message).toMatch(/^transform names, ops\[0\] \(expression t\) forward: expression failed at character \d+: /);
  });

  it('fails a runaway expression quickly and goes on with the next record', async () => {
    const config = configOf({ op: 'expression', target: 't', forward: '($f := function($n){ $n = 0 ? 0 : $f($n - 1) }; $f(n))' });
    const started = Date.now();
    const error = await failure(() => transformBehaviour.forward({ n: -1 }, config, ctx));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.message).toMatch(/expression ran longer than 100 ms/);
    expect(await forward(config, { n: 3 })).toEqual({ n: 3, t: 0 });
  });

  it('runs built-in ops before and after an expression op, in order', async () => {
    const config = configOf(
      { op: 'rename', from: 'a', to: 'b' },
      { op: 'expression', target: 'c', forward: 'b * 2', backward: { b: 'c / 2' } },
      { op: 'scale', field: 'c', factor: 10 },
    );
    expect(await forward(config, { a: 2 })).toEqual({ b: 2, c: 40 });
    expect(await backward(config, { c: 40 })).toEqual({ a: 2 });
  });
});

describe('transform: round-trip check', () => {
  const roundTrip = (config: TransformConfig, samples: FlowRecord[]) => transformBehaviour.roundTrip?.(samples, config, ctx) ?? Promise.resolve([]);

  it('reports nothing for a lossless config', async () => {
    const config = configOf(
      { op: 'rename', from: 'first', to: 'given' },
      { op: 'valueMap', field: 'status', values: [{ from: 'open', to: 'Open' }, { from: 'won', to: 'Won' }] },
      { op: 'split', field: 'name', separator: ' ', into: ['a', 'b'] },
      { op: 'scale', field: 'amount', factor: 100 },
      { op: 'dateFormat', field: 'due', from: 'iso', to: 'epoch-ms' },
      { op: 'lowercase', field: 'email' },
    );
    const samples = [
      { first: 'Ada', status: 'open', name: 'Ada King Lovelace', amount: 12.34, due: '2024-03-01T00:00:00.000Z', email: 'A@B.org' },
      { first: null, status: 'won', amount: null, due: null },
      {},
    ];
    expect(await roundTrip(config, samples)).toEqual([]);
  });

  it('reports a default that fills a null', async () => {
    const config = configOf({ op: 'default', field: 'country', value: 'GB' });
    expect(await roundTrip(config, [{ country: 'FR' }, { country: null }])).toEqual([
      { nodeId: 'names', part: 'ops[0] (default country)', sampleIndex: 1, field: 'country', before: null, after: 'GB' },
    ]);
  });

  it('reports an expression pair that is not injective', async () => {
    const names = configOf({
      op: 'expression',
      target: 'full_name',
      forward: "first_name & ' ' & last_name",
      backward: { first_name: "$substringBefore(full_name, ' ')", last_name: "$substringAfter(full_name, ' ')" },
    });
    const issues = await roundTrip(names, [{ first_name: 'Ada', last_name: 'Lovelace' }, { first_name: 'Mary Ann', last_name: 'Evans' }]);
    expect(issues).toEqual([
      { nodeId: 'names', part: 'ops[0] (expression full_name)', sampleIndex: 1, field: 'first_name', before: 'Mary Ann', after: 'Mary' },
      { nodeId: 'names', part: 'ops[0] (expression full_name)', sampleIndex: 1, field: 'last_name', before: 'Evans', after: 'Ann Evans' },
    ]);
  });

  it('reports a scale whose precision loses digits, on the field as the op sees it', async () => {
    const config = configOf({ op: 'rename', from: 'amount', to: 'value' }, { op: 'scale', field: 'value', factor: 0.01, precision: 2 });
    expect(await roundTrip(config, [{ amount: 1234 }, { amount: 1234.5 }])).toEqual([
      { nodeId: 'names', part: 'ops[1] (scale value)', sampleIndex: 1, field: 'value', before: 1234.5, after: 1235 },
    ]);
  });

  it('reports an error applying an op as an issue', async () => {
    const config = configOf({ op: 'valueMap', field: 'status', values: [{ from: 'open', to: 'Open' }] });
    const issues = await roundTrip(config, [{ status: 'won' }]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ part: 'ops[0] (valueMap status)', sampleIndex: 0, field: 'status', before: 'won' });
    expect(String(issues[0]?.after)).toMatch(/not in the value map/);
  });

  it('skips one-way ops, and a sample an op cannot pass stops there', async () => {
    const config = configOf(
      { op: 'uppercase', field: 'code' },
      { op: 'expression', target: 'score', forward: 'points * 2' },
      { op: 'scale', field: 'points', factor: 0.1, precision: 0 },
    );
    // Sample 1 fails in the one-way expression, so its scale is never checked.
    expect(await roundTrip(config, [{ code: 'gb', points: 15 }, { points: 'x' }])).toEqual([
      { nodeId: 'names', part: 'ops[2] (scale points)', sampleIndex: 0, field: 'points', before: 15, after: 20 },
    ]);
  });

  it('reports a date format that drops the time', async () => {
    const config = configOf({ op: 'dateFormat', field: 'due', from: 'iso', to: 'YYYY-MM-DD' });
    expect(await roundTrip(config, [{ due: '2024-03-01T10:00:00.000Z' }])).toEqual([
      expect.objectContaining({ field: 'due', before: '2024-03-01T10:00:00.000Z', after: '2024-03-01T00:00:00.000Z' }),
    ]);
  });
});

describe('transform: round-trip property', () => {
  const statusMap = [
    { from: 'open', to: 'Open' },
    { from: 'closed-lost', to: 'Closed Lost' },
    { from: 1, to: true },
    { from: { tier: 'gold' }, to: 'Gold' },
  ];
  const absentOr = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
  const decimal = fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }).chain((units) => fc.constantFrom(units, units / 100, units / 10_000));
  const text = fc.string({ unit: fc.constantFrom('a', 'b', ' ', ',', 'é', '-', '') });

  const record = fc
    .record({
      id: absentOr(fc.integer()),
      status: absentOr(fc.constantFrom(null, ...statusMap.map((pair) => pair.from))),
      name: absentOr(fc.oneof(text, fc.constant(null))),
      amount: absentOr(fc.oneof(decimal, fc.constant(null))),
      x_extra: absentOr(fc.jsonValue()),
    })
    .map((fields) => Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as FlowRecord);

  const config = fc
    .record({
      factor: fc.integer({ min: -1000, max: 1000 }).filter((factor) => factor !== 0),
      separator: fc.constantFrom(' ', ',', ', ', '--'),
    })
    .map(({ factor, separator }) =>
      configOf(
        { op: 'rename', from: 'id', to: 'external_id' },
        { op: 'valueMap', field: 'status', values: statusMap },
        { op: 'split', field: 'name', separator, into: ['first', 'middle', 'last'] },
        { op: 'scale', field: 'amount', factor },
      ),
    );

  it('rename, a bijective valueMap, split and an integer scale give every record back exactly', async () => {
    const runs = Number(process.env.SYNCLINE_PROPERTY_RUNS ?? 300);
    await fc.assert(
      fc.asyncProperty(record, config, async (sample, transform) => {
        const there = passed(await transformBehaviour.forward(sample, transform, ctx));
        const back = passed(await transformBehaviour.backward(there, transform, ctx));
        expect(back).toEqual(sample);
        expect(await transformBehaviour.roundTrip?.([sample], transform, ctx)).toEqual([]);
      }),
      { numRuns: runs },
    );
  });
});

// Keeps the op union exhaustive in these tests: a new op type fails type-checking here until it is covered.
const coveredOps: Record<TransformOp['op'], true> = {
  rename: true,
  valueMap: true,
  split: true,
  join: true,
  lowercase: true,
  uppercase: true,
  scale: true,
  dateFormat: true,
  default: true,
  expression: true,
};
void coveredOps;

describe('transform: nested fields', () => {
  it('renames into and out of nested objects, leaving no empty object behind', async () => {
    const config = configOf({ op: 'rename', from: 'properties.email', to: 'email' });
    expect(await forward(config, { properties: { email: 'a@b.org', firstname: 'Ada' } })).toEqual({ properties: { firstname: 'Ada' }, email: 'a@b.org' });
    expect(await forward(config, { properties: { email: 'a@b.org' } })).toEqual({ email: 'a@b.org' });
    expect(await backward(config, { email: 'a@b.org', properties: { firstname: 'Ada' } })).toEqual({ properties: { firstname: 'Ada', email: 'a@b.org' } });
    expect(await forward(configOf({ op: 'rename', from: 'a\\.b', to: 'c.d' }), { 'a.b': 1 })).toEqual({ c: { d: 1 } });
  });

  it('runs every built-in op on a nested field, changing nothing of the input (frozen)', async () => {
    const config = configOf(
      { op: 'valueMap', field: 'p.status', values: [{ from: 'open', to: 'Open' }] },
      { op: 'split', field: 'p.name', separator: ' ', into: ['p.first', 'names.last'] },
      { op: 'join', fields: ['p.street', 'p.city'], separator: ', ', target: 'address.line' },
      { op: 'lowercase', field: 'p.email' },
      { op: 'scale', field: 'p.amount', factor: 100 },
      { op: 'dateFormat', field: 'p.due', from: 'iso', to: 'YYYY-MM-DD' },
      { op: 'default', field: 'p.country', value: 'GB' },
      { op: 'expression', target: 'p.greeting', forward: "'Hi ' & p.first", backward: { 'p.shout': '$uppercase(p.greeting)' } },
    );
    const input = { p: { status: 'open', name: 'Ada Lovelace', street: '1 Main St', city: 'London', email: 'A@B.org', amount: 1.5, due: '2024-03-01', keep: 1 } };
    const there = await forward(config, input);
    expect(there).toEqual({
      p: { status: 'Open', first: 'Ada', email: 'a@b.org', amount: 150, due: '2024-03-01', country: 'GB', keep: 1, greeting: 'Hi Ada' },
      names: { last: 'Lovelace' },
      address: { line: '1 Main St, London' },
    });
    const back = await backward(config, there);
    expect(back).toEqual({
      // The date comes back as ISO text and the default stays: those two ops are lossy by nature, nested or not.
      p: { status: 'open', name: 'Ada Lovelace', street: '1 Main St', city: 'London', amount: 1.5, due: '2024-03-01T00:00:00.000Z', country: 'GB', keep: 1, shout: 'HI ADA' },
    });
  });

  it('fails a record whose path goes inside text, naming node, op and field', async () => {
    const config = configOf({ op: 'scale', field: 'deal.amount', factor: 100 });
    const error = await failure(() => transformBehaviour.forward({ deal: 'big' }, config, ctx));
    expect(error.nodeId).toBe('names');
    expect(error.field).toBe('deal.amount');
    expect(error.message).toBe(
      'transform names, ops[0] (scale deal.amount): field "deal.amount" cannot be read: "deal" holds text ("big"), not an object',
    );
    const writing = await failure(() => transformBehaviour.forward({ a: 1, b: ['x'] }, configOf({ op: 'rename', from: 'a', to: 'b.c' }), ctx));
    expect(writing.message).toMatch(/field "b\.c" cannot be written: "b" holds a list/);
  });

  it('refuses bad path syntax where the flow is validated', () => {
    const result = transformConfigSchema.safeParse({
      ops: [
        { op: 'rename', from: 'a.', to: 'b' },
        { op: 'expression', target: 'x', forward: '1', backward: { 'y..z': '1' } },
      ],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => [issue.path, issue.message])).toEqual([
      [['ops', 0, 'from'], expect.stringMatching(/^"a\." ends with a dot/)],
      [['ops', 1, 'backward', 'y..z'], expect.stringMatching(/^"y\.\.z" has an empty key/)],
    ]);
  });

  it('refuses a path inside a field an earlier op leaves as text or a number, each way', () => {
    const issues = (ops: unknown[]) => transformConfigSchema.safeParse({ ops }).error?.issues.map((issue) => [issue.path, issue.message]) ?? [];
    expect(issues([{ op: 'join', fields: ['first', 'last'], separator: ' ', target: 'name' }, { op: 'uppercase', field: 'name.first' }])).toEqual([
      [['ops', 1, 'field'], '"name.first" goes inside "name", which ops[0] (join) leaves holding text going forward: a path can only go inside an object'],
    ]);
    // Backward the join splits "name" into its parts, and the scale before it (run after it, backward) goes inside one.
    expect(issues([{ op: 'scale', field: 'first.cents', factor: 100 }, { op: 'join', fields: ['first', 'last'], separator: ' ', target: 'name' }])).toEqual([
      [['ops', 0, 'field'], '"first.cents" goes inside "first", which ops[1] (join) leaves holding text going backward: a path can only go inside an object'],
    ]);
    expect(issues([{ op: 'split', field: 'name', separator: ' ', into: ['n', 'n.first'] }])).toEqual([
      [['ops', 0, 'into', 1], '"n.first" goes inside "n", which this op leaves holding text going forward: a path can only go inside an object'],
    ]);
    // A rename carries what is known; writing over a field, or moving it away first, clears it.
    expect(issues([{ op: 'scale', field: 'a', factor: 2 }, { op: 'rename', from: 'a', to: 'b' }, { op: 'rename', from: 'b.c', to: 'd' }])).toHaveLength(1);
    expect(issues([{ op: 'scale', field: 'a', factor: 2 }, { op: 'rename', from: 'a', to: 'a.b' }, { op: 'rename', from: 'a.b', to: 'c' }])).toEqual([]);
    expect(issues([{ op: 'join', fields: ['x', 'y'], separator: ' ', target: 'n' }, { op: 'rename', from: 'o', to: 'n' }, { op: 'uppercase', field: 'n.first' }])).toEqual([]);
  });

  it('names nested leaves in the round-trip check', async () => {
    const roundTrip = (config: TransformConfig, samples: FlowRecord[]) => transformBehaviour.roundTrip?.(samples, config, ctx) ?? Promise.resolve([]);
    const config = configOf({ op: 'default', field: 'merge_fields.COUNTRY', value: 'GB' }, { op: 'rename', from: 'merge_fields.FNAME', to: 'first_name' });
    expect(await roundTrip(config, [{ merge_fields: { FNAME: 'Ada', COUNTRY: null } }])).toEqual([
      { nodeId: 'names', part: 'ops[0] (default merge_fields.COUNTRY)', sampleIndex: 0, field: 'merge_fields.COUNTRY', before: null, after: 'GB' },
    ]);
  });
});
