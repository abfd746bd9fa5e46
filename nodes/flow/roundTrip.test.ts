import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conflictNode, edge, mappingNode, trigger } from '../../test/support/flowDocuments';
import { nodeRegistry, type FlowDocument } from '../index';
import { RecordError, type FlowRecord, type NodeBehaviour, type NodeDefinition, type RoundTripIssue } from '../types';
import { loadFlow } from './load';
import { checkRoundTrip, formatRoundTripIssue } from './roundTrip';

const fixtures = join(import.meta.dirname, '../../test/fixtures/flows');

describe('checkRoundTrip', () => {
  const leads = loadFlow(JSON.parse(readFileSync(join(fixtures, 'leads.flow.json'), 'utf8'))).document as FlowDocument;

  /** Stand-in behaviours, so the driver is tested apart from the real ones. */
  function registryWith(behaviours: Partial<Record<'transform' | 'mapping', NodeBehaviour<unknown>>>): Record<string, NodeDefinition> {
    const registry: Record<string, NodeDefinition> = { ...nodeRegistry } as Record<string, NodeDefinition>;
    for (const [type, behaviour] of Object.entries(behaviours)) registry[type] = { ...(registry[type] as NodeDefinition), behaviour };
    return registry;
  }

  it('carries samples forward so each node checks records in its own vocabulary', async () => {
    const seen: Record<string, FlowRecord[]> = {};
    const transform: NodeBehaviour<unknown> = {
      forward: (record) => {
        if (record.first_name === 'Bad') throw new RecordError('names', 'cannot join');
        return { kind: 'pass', record: { ...record, full_name: `${String(record.first_name)} ${String(record.last_name)}` } };
      },
      backward: (record) => ({ kind: 'pass', record }),
      roundTrip: async (samples) => {
        seen.names = samples;
        return [];
      },
    };
    const mappingBehaviour: NodeBehaviour<unknown> = {
      forward: (record) => ({ kind: 'pass', record }),
      backward: (record) => ({ kind: 'pass', record }),
      roundTrip: async (samples, _config, ctx): Promise<RoundTripIssue[]> => {
        seen.map = samples;
        return [{ nodeId: ctx.nodeId, part: 'fields[1] (full_name <-> name)', sampleIndex: 1, field: 'full_name', before: samples[1]?.full_name, after: 'Ada' }];
      },
    };
    const samples = [
      { first_name: 'Bad', last_name: 'Sample' },
      { first_name: 'Grace', last_name: 'Hopper' },
      { first_name: 'Ada', last_name: 'Lovelace' },
    ];
    const found = await checkRoundTrip(leads, samples, undefined, { registry: registryWith({ transform, mapping: mappingBehaviour }) });
    expect(seen.names).toEqual(samples);
    expect(seen.map?.map((record) => record.full_name)).toEqual(['Grace Hopper', 'Ada Lovelace']);
    // The mapping saw the third sample second: the index reported is the sample's own.
    expect(found).toEqual([{ nodeId: 'map', part: 'fields[1] (full_name <-> name)', sampleIndex: 2, field: 'full_name', before: 'Ada Lovelace', after: 'Ada' }]);
    expect(found.map(formatRoundTripIssue)).toEqual([
      'warning: node "map" fields[1] (full_name <-> name): sample 3 field "full_name" comes back as "Ada" instead of "Ada Lovelace" — this field would flap between systems',
    ]);
  });

  it('skips nodes without a round-trip check and names the node whose check breaks', async () => {
    const quiet: NodeBehaviour<unknown> = { forward: (record) => ({ kind: 'pass', record }), backward: (record) => ({ kind: 'pass', record }) };
    expect(await checkRoundTrip(leads, [{ a: 1 }], undefined, { registry: registryWith({ transform: quiet, mapping: quiet }) })).toEqual([]);
    const broken: NodeBehaviour<unknown> = { ...quiet, roundTrip: () => Promise.reject(new Error('boom')) };
    await expect(checkRoundTrip(leads, [{ a: 1 }], undefined, { registry: registryWith({ transform: quiet, mapping: broken }) })).rejects.toThrow('node "map": boom');
  });

  it('starts from the trigger it is told, and checks only nodes reached forward', async () => {
    const calls: string[] = [];
    const spy: NodeBehaviour<unknown> = {
      forward: (record) => ({ kind: 'pass', record }),
      backward: (record) => ({ kind: 'pass', record }),
      roundTrip: async (_samples, _config, ctx) => (calls.push(ctx.nodeId), []),
    };
    const registry = registryWith({ transform: spy, mapping: spy });
    await checkRoundTrip(leads, [{}], undefined, { registry, from: 'mkt' });
    expect(calls).toEqual([]);
    await checkRoundTrip(leads, [{}], undefined, { registry });
    expect(calls).toEqual(['names', 'map']);
    await expect(checkRoundTrip(leads, [{}], undefined, { registry, from: 'map' })).rejects.toThrow('"map" is not a trigger of flow "leads"');
  });

  it('checks nested samples by dotted path through the real transform and mapping', async () => {
    const nested = loadFlow({
      format: 'syncline.flow',
      version: 1,
      id: 'contacts',
      name: 'Mailchimp members <-> CRM',
      nodes: [
        trigger('members'),
        { id: 'names', type: 'transform', typeVersion: 1, position: { x: 0, y: 0 }, config: { ops: [{ op: 'default', field: 'merge_fields.COUNTRY', value: 'GB' }] } },
        mappingNode('map', [
          { left: 'email_address', right: 'email' },
          { left: 'merge_fields.FNAME', right: 'first_name' },
          { left: 'merge_fields.COUNTRY', right: 'address.country' },
        ]),
        conflictNode('resolve'),
        trigger('crm'),
      ],
      edges: [edge('e1', 'members', 'names'), edge('e2', 'names', 'map'), edge('e3', 'map', 'resolve'), edge('e4', 'resolve', 'crm')],
    });
    expect(nested.issues).toEqual([]);
    const samples = [
      { email_address: 'ada@example.org', merge_fields: { FNAME: 'Ada', COUNTRY: 'FR', LNAME: 'Lovelace' }, stats: { opens: 3 } },
      { email_address: 'grace@example.org', merge_fields: { FNAME: 'Grace', COUNTRY: null } },
      { email_address: 'x@example.org', merge_fields: 'not an object' },
    ];
    const found = await checkRoundTrip(nested.document as FlowDocument, samples);
    expect(found.map(formatRoundTripIssue)).toEqual([
      'warning: node "names" ops[0] (default merge_fields.COUNTRY): sample 2 field "merge_fields.COUNTRY" comes back as "GB" instead of null — this field would flap between systems',
      'warning: node "names" ops[0] (default merge_fields.COUNTRY): sample 3 fails: transform names, ops[0] (default merge_fields.COUNTRY): field "merge_fields.COUNTRY" cannot be read: "merge_fields" holds text ("not an object"), not an object',
    ]);
  });

  it('reports a sample a node fails as failing, numbered from 1, naming the pair by its index in the node', async () => {
    const samples = [
      { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', status: 'open' },
      { first_name: 'Mary', last_name: 'Evans', status: 'won' },
    ];
    const found = await checkRoundTrip(leads, samples);
    expect(found.map(formatRoundTripIssue)).toEqual([
      'warning: node "map" fields[2] (status <-> stage): sample 2 fails: mapping map, fields[2] (status <-> stage): field "status" has the value "won", which is not in values; add it to values, or set otherwise to "copy"',
    ]);
  });

  it('formats missing values plainly', () => {
    expect(formatRoundTripIssue({ nodeId: 'names', part: 'ops[0] (expression full_name)', sampleIndex: 0, field: 'last_name', before: 'Hopper', after: undefined })).toBe(
      'warning: node "names" ops[0] (expression full_name): sample 1 field "last_name" comes back missing instead of "Hopper" — this field would flap between systems',
    );
  });
});
