import { describe, expect, it } from 'vitest';
import { defaultExpressionLimits, RecordError, type BehaviourContext, type FlowRecord, type NodeOutcome } from '../types';
import { mappingBehaviour } from './behaviour';
import { mappingConfigSchema, type MappingConfig } from './schema';

const ctx: BehaviourContext = { nodeId: 'map', limits: defaultExpressionLimits };

function configOf(...fields: unknown[]): MappingConfig {
  return mappingConfigSchema.parse({ fields });
}

function passed(outcome: NodeOutcome | Promise<NodeOutcome>): FlowRecord {
  // The mapping never needs to wait, so it answers synchronously.
  expect(outcome).not.toBeInstanceOf(Promise);
  const settled = outcome as NodeOutcome;
  if (settled.kind !== 'pass') throw new Error(`expected the record to pass, got: ${settled.reason}`);
  return settled.record;
}

const forward = (config: MappingConfig, record: FlowRecord) => passed(mappingBehaviour.forward(Object.freeze(record), config, ctx));
const backward = (config: MappingConfig, record: FlowRecord) => passed(mappingBehaviour.backward(Object.freeze(record), config, ctx));

function failure(run: () => unknown): RecordError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RecordError);
    return error as RecordError;
  }
  throw new Error('expected a RecordError');
}

// The `map` node of SPEC §1.
const specMapping = configOf(
  { left: 'email', right: 'email', direction: 'both' },
  { left: 'full_name', right: 'name', direction: 'both' },
  {
    left: 'status',
    right: 'stage',
    direction: 'both',
    values: [
      { left: 'closed-lost', right: 'Closed Lost' },
      { left: 'open', right: 'Open' },
    ],
  },
  { left: 'amount', right: 'deal_value', direction: 'forward' },
);

describe('mapping: forward and backward', () => {
  it('forward gives only the right fields of pairs that flow forward', () => {
    const left = { email: 'ada@example.org', full_name: 'Ada Lovelace', status: 'open', amount: 12, first_name: 'Ada' };
    expect(forward(specMapping, left)).toEqual({ email: 'ada@example.org', name: 'Ada Lovelace', stage: 'Open', deal_value: 12 });
  });

  it('backward gives only the left fields of pairs that flow backward', () => {
    const right = { email: 'ada@example.org', name: 'Ada Lovelace', stage: 'Closed Lost', deal_value: 12, extra: true };
    expect(backward(specMapping, right)).toEqual({ email: 'ada@example.org', full_name: 'Ada Lovelace', status: 'closed-lost' });
  });

  it('lets a backward-only pair flow backward only', () => {
    const config = configOf({ left: 'id_in_crm', right: 'crm_id', direction: 'backward' });
    expect(forward(config, { id_in_crm: 5 })).toEqual({});
    expect(backward(config, { crm_id: 5 })).toEqual({ id_in_crm: 5 });
  });

  it('leaves an absent field absent and passes null', () => {
    expect(forward(specMapping, { email: null })).toEqual({ email: null });
    expect(forward(specMapping, {})).toEqual({});
  });

  it('passes values that are objects or lists unchanged', () => {
    const config = configOf({ left: 'address', right: 'postal' });
    expect(forward(config, { address: { city: 'London', lines: ['1 Main St'] } })).toEqual({ postal: { city: 'London', lines: ['1 Main St'] } });
  });
});

describe('mapping: values', () => {
  it('maps values in the direction of travel', () => {
    expect(forward(specMapping, { status: 'closed-lost' })).toEqual({ stage: 'Closed Lost' });
    expect(backward(specMapping, { stage: 'Open' })).toEqual({ status: 'open' });
  });

  it('compares values as JSON', () => {
    const config = configOf({ left: 'tier', right: 'level', values: [{ left: { a: 1, b: 2 }, right: 1 }, { left: 2, right: '2' }] });
    expect(forward(config, { tier: { b: 2, a: 1 } })).toEqual({ level: 1 });
    expect(backward(config, { level: '2' })).toEqual({ tier: 2 });
    // 2 and "2" are different values.
    failure(() => mappingBehaviour.backward({ level: 2 }, config, ctx));
  });

  it('fails the record on an unmapped value, naming the node, the field and the value', () => {
    const error = failure(() => mappingBehaviour.forward({ status: 'won' }, specMapping, ctx));
    expect(error.nodeId).toBe('map');
    expect(error.field).toBe('status');
    expect(error.message).toBe(
      'mapping map, fields[2] (status <-> stage): field "status" has the value "won", which is not in values; add it to values, or set otherwise to "copy"',
    );
    const backwardError = failure(() => mappingBehaviour.backward({ stage: 'Won' }, specMapping, ctx));
    expect(backwardError.field).toBe('stage');
  });

  it('copies an unmapped value with otherwise: copy', () => {
    const config = configOf({ left: 'status', right: 'stage', values: [{ left: 'open', right: 'Open' }], otherwise: 'copy' });
    expect(forward(config, { status: 'won' })).toEqual({ stage: 'won' });
    expect(backward(config, { stage: 'Won' })).toEqual({ status: 'Won' });
  });

  it('passes null unmapped unless the map names it', () => {
    expect(forward(specMapping, { status: null })).toEqual({ stage: null });
    const namingNull = configOf({ left: 'status', right: 'stage', values: [{ left: null, right: 'None' }] });
    expect(forward(namingNull, { status: null })).toEqual({ stage: 'None' });
    expect(backward(namingNull, { stage: 'None' })).toEqual({ status: null });
  });

  it('treats an empty value list as no map', () => {
    expect(forward(configOf({ left: 'a', right: 'b', values: [] }), { a: 'x' })).toEqual({ b: 'x' });
  });
});

describe('mapping: round-trip check', () => {
  const roundTrip = (config: MappingConfig, samples: FlowRecord[]) => mappingBehaviour.roundTrip?.(samples, config, ctx) ?? Promise.resolve([]);

  it('reports nothing for a lossless mapping', async () => {
    const samples = [
      { email: 'a@b.org', full_name: 'Ada', status: 'open', amount: 3 },
      { email: null, status: null },
      {},
    ];
    expect(await roundTrip(specMapping, samples)).toEqual([]);
  });

  it('checks only pairs that flow both ways', async () => {
    const config = configOf({ left: 'amount', right: 'deal_value', direction: 'forward', values: [{ left: 1, right: 2 }] });
    expect(await roundTrip(config, [{ amount: 5 }])).toEqual([]);
  });

  it('reports a copied value that maps back to something else', async () => {
    const config = configOf({ left: 'status', right: 'stage', values: [{ left: 'open', right: 'Open' }], otherwise: 'copy' });
    expect(await roundTrip(config, [{ status: 'open' }, { status: 'Open' }])).toEqual([
      { nodeId: 'map', part: 'fields[0] (status <-> stage)', sampleIndex: 1, field: 'status', before: 'Open', after: 'open' },
    ]);
  });

  it('reports a sample the pair fails with the error, which names the pair by its own index', async () => {
    const issues = await roundTrip(specMapping, [{ email: 'a@b.org', status: 'won' }]);
    expect(issues).toEqual([expect.objectContaining({ part: 'fields[2] (status <-> stage)', sampleIndex: 0, field: 'status', before: 'won', after: expect.any(RecordError) })]);
    expect((issues[0]?.after as RecordError).message).toBe(
      'mapping map, fields[2] (status <-> stage): field "status" has the value "won", which is not in values; add it to values, or set otherwise to "copy"',
    );
  });
});

describe('mapping: nested fields', () => {
  const hubspot = configOf(
    { left: 'email', right: 'properties.email' },
    { left: 'first_name', right: 'properties.firstname' },
    { left: 'stage', right: 'properties.lifecyclestage', values: [{ left: 'open', right: 'lead' }] },
    { left: 'dot', right: 'odd\\.key' },
  );

  it('reads and writes inside nested objects by dotted path', () => {
    expect(forward(hubspot, { email: 'ada@example.org', first_name: 'Ada', stage: 'open', dot: 1, other: true })).toEqual({
      properties: { email: 'ada@example.org', firstname: 'Ada', lifecyclestage: 'lead' },
      'odd.key': 1,
    });
    const contact = { properties: { email: 'ada@example.org', firstname: 'Ada', lifecyclestage: 'lead', hs_object_id: '17' }, 'odd.key': 1, archived: false };
    expect(backward(hubspot, contact)).toEqual({ email: 'ada@example.org', first_name: 'Ada', stage: 'open', dot: 1 });
  });

  it('keeps absent nested fields absent, and passes whole objects from path to path', () => {
    expect(backward(hubspot, { properties: { email: 'a@b.org' } })).toEqual({ email: 'a@b.org' });
    expect(backward(hubspot, { properties: null })).toEqual({});
    const whole = configOf({ left: 'address', right: 'contact.address' });
    const address = { city: 'London', lines: ['1 Main St'] };
    expect(forward(whole, { address })).toEqual({ contact: { address } });
  });

  it('fails a record whose path goes inside text, naming node, pair and field', () => {
    const error = failure(() => mappingBehaviour.backward({ properties: 'not an object' }, hubspot, ctx));
    expect(error.nodeId).toBe('map');
    expect(error.field).toBe('properties.email');
    expect(error.message).toBe(
      'mapping map, fields[0] (email <-> properties.email): field "properties.email" cannot be read: "properties" holds text ("not an object"), not an object',
    );
  });

  it('refuses bad path syntax and pairs that write a field and inside it in the same direction', () => {
    const syntax = mappingConfigSchema.safeParse({ fields: [{ left: 'a..b', right: 'x' }] });
    expect(syntax.success).toBe(false);
    expect(syntax.error?.issues).toEqual([expect.objectContaining({ path: ['fields', 0, 'left'], message: expect.stringMatching(/^"a\.\.b" has an empty key/) })]);

    const nested = mappingConfigSchema.safeParse({
      fields: [
        { left: 'props', right: 'properties' },
        { left: 'email', right: 'properties.email' },
        // Forward only: its left side is only read, so it may go inside "props", which the first pair writes backward.
        { left: 'props.x', right: 'x', direction: 'forward' },
      ],
    });
    expect(nested.success).toBe(false);
    expect(nested.error?.issues).toEqual([
      expect.objectContaining({
        path: ['fields', 1, 'right'],
        message: '"properties.email" is inside "properties", which fields[0] writes whole going forward: map the whole object or the fields inside it, not both',
      }),
    ]);
    // A key holding a dot is not inside the key before the dot.
    expect(mappingConfigSchema.safeParse({ fields: [{ left: 'a', right: 'p' }, { left: 'b', right: 'p\\.q' }] }).success).toBe(true);
  });

  it('checks the round trip of nested samples by path', async () => {
    const roundTrip = (config: MappingConfig, samples: FlowRecord[]) => mappingBehaviour.roundTrip?.(samples, config, ctx) ?? Promise.resolve([]);
    const config = configOf({ left: 'merge_fields.FNAME', right: 'first_name' }, { left: 'status', right: 'stage', values: [{ left: 'a', right: 'A' }], otherwise: 'copy' });
    expect(await roundTrip(config, [{ merge_fields: { FNAME: 'Ada', LNAME: 'L' }, status: 'a' }, { merge_fields: {} }])).toEqual([]);
    const issues = await roundTrip(configOf({ left: 'merge_fields.FNAME', right: 'first_name' }), [{ merge_fields: 'x' }]);
    expect(issues).toEqual([expect.objectContaining({ part: 'fields[0] (merge_fields.FNAME <-> first_name)', field: 'merge_fields.FNAME', after: expect.any(RecordError) })]);
    expect((issues[0]?.after as RecordError).message).toMatch(/"merge_fields" holds text/);
  });
});
