import { describe, expect, it } from 'vitest';
import { canvasFromDocument } from '../document/canvasDocument';
import { projectSample, sampleRoute } from './sampleRecord';

const trigger = (id: string) => ({ id, type: 'trigger', typeVersion: 1, position: { x: 0, y: 0 }, config: { connector: 'sqlite', connection: { file: `${id}.db` }, collection: id, key: 'id' } });
const names = {
  id: 'names',
  type: 'transform',
  typeVersion: 1,
  position: { x: 0, y: 0 },
  config: { ops: [{ op: 'expression', target: 'full_name', forward: "first_name & ' ' & last_name", backward: { first_name: "$substringBefore(full_name, ' ')", last_name: "$substringAfter(full_name, ' ')" } }] },
};
const rename = (id: string, from: string, to: string) => ({ id, type: 'transform', typeVersion: 1, position: { x: 0, y: 0 }, config: { ops: [{ op: 'rename', from, to }] } });
const map = { id: 'map', type: 'mapping', typeVersion: 1, position: { x: 0, y: 0 }, config: { fields: [{ left: 'full_name', right: 'name', direction: 'both' }, { left: 'email', right: 'email', direction: 'both' }] } };
const resolve = { id: 'resolve', type: 'conflict', typeVersion: 1, position: { x: 0, y: 0 }, config: { policy: 'last-write-wins', match: ['email'] } };
const onlyAda = { id: 'adas', type: 'filter', typeVersion: 1, position: { x: 0, y: 0 }, config: { condition: "$contains(name, 'Ada')" } };

/** The SPEC's leads flow, plus a transform on the way out to the marketing side. */
function flow(extraNodes: unknown[] = [], edges: Array<[string, string]> = []) {
  return canvasFromDocument({
    format: 'syncline.flow',
    version: 1,
    id: 'leads',
    name: 'Leads',
    nodes: [trigger('crm'), names, map, resolve, rename('outward', 'name', 'contact_name'), trigger('mkt'), ...extraNodes],
    edges: [
      ['crm', 'names'],
      ['names', 'map'],
      ['map', 'resolve'],
      ['resolve', 'outward'],
      ['outward', 'mkt'],
      ...edges,
    ].map(([source, target], i) => ({ id: `e${i}`, source, target })),
  });
}

describe('sampleRoute', () => {
  it('takes the trigger on the left side, through the nodes between it and the node', () => {
    const { nodes, edges } = flow();
    expect(sampleRoute(nodes, edges, 'names')).toEqual({ triggerId: 'crm', steps: [] });
    expect(sampleRoute(nodes, edges, 'map')).toEqual({ triggerId: 'crm', steps: [{ nodeId: 'names', direction: 'forward' }] });
  });

  it('takes the trigger on the right of a node on the way out, through the node itself backward', () => {
    const { nodes, edges } = flow();
    expect(sampleRoute(nodes, edges, 'outward')).toEqual({ triggerId: 'mkt', steps: [{ nodeId: 'outward', direction: 'backward' }] });
  });

  it('never crosses the conflict node, and finds nothing for a node no trigger reaches', () => {
    const { nodes, edges } = flow([rename('alone', 'a', 'b')]);
    expect(sampleRoute(nodes, edges, 'alone')).toBeNull();
    const cut = edges.filter((edge) => edge.target !== 'mkt');
    // The transform's only trigger is past the conflict node once its own trigger is cut off.
    expect(sampleRoute(nodes, cut, 'outward')).toBeNull();
  });
});

describe('projectSample', () => {
  it('carries a record to the node’s left side as a pass would: forward from the left, backward from the right', async () => {
    const { nodes, edges } = flow();
    const lead = { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' };
    const toMap = sampleRoute(nodes, edges, 'map')!;
    expect(await projectSample(nodes, toMap, lead)).toEqual({ kind: 'pass', record: { ...lead, full_name: 'Ada Lovelace' } });
    const contact = { contact_name: 'Grace Hopper', email: 'grace@example.com' };
    expect(await projectSample(nodes, sampleRoute(nodes, edges, 'outward')!, contact)).toEqual({ kind: 'pass', record: { name: 'Grace Hopper', email: 'grace@example.com' } });
  });

  it('says which node dropped the record, or could not take it', async () => {
    const { nodes, edges } = flow([onlyAda, rename('after', 'name', 'who')], [['mkt', 'adas'], ['adas', 'after']]);
    // The flow is not valid (mkt has two edges), which a sample does not mind: it follows the nodes as drawn.
    const route = sampleRoute(nodes, edges.filter((edge) => edge.source !== 'outward'), 'after')!;
    expect(route).toEqual({ triggerId: 'mkt', steps: [{ nodeId: 'adas', direction: 'forward' }] });
    expect(await projectSample(nodes, route, { name: 'Ada' })).toEqual({ kind: 'pass', record: { name: 'Ada' } });
    expect(await projectSample(nodes, route, { name: 'Bob' })).toMatchObject({ kind: 'drop', nodeId: 'adas' });
    const broken = nodes.map((node) => (node.id === 'adas' ? { ...node, data: { ...node.data, config: { condition: '' } } } : node));
    expect(await projectSample(broken, route, { name: 'Ada' })).toMatchObject({ kind: 'error', nodeId: 'adas', message: expect.stringMatching(/not fully set up/) });
  });
});
