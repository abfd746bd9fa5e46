import { describe, expect, it } from 'vitest';
import { loadFlow } from '../../nodes/flow/load';
import { compileFlow } from './graph';
import { projectIn, projectOut } from './projection';
import { defaultExpressionLimits } from '../../nodes/types';

const trigger = (id: string, x: number) => ({
  id,
  type: 'trigger',
  typeVersion: 1,
  position: { x, y: 0 },
  config: { connector: 'memory', connection: { store: 's' }, collection: id, key: 'id', detect: { mode: 'manual' } },
});

function flow(edges: Array<[string, string]>) {
  const { document, issues } = loadFlow({
    format: 'syncline.flow',
    version: 1,
    id: 'f',
    name: 'f',
    nodes: [
      trigger('a', 0),
      { id: 'm1', type: 'mapping', typeVersion: 1, position: { x: 1, y: 0 }, config: { fields: [{ left: 'mail', right: 'email' }] } },
      { id: 'hub', type: 'conflict', typeVersion: 1, position: { x: 2, y: 0 }, config: {} },
      { id: 'm2', type: 'mapping', typeVersion: 1, position: { x: 3, y: 0 }, config: { fields: [{ left: 'email', right: 'e_mail' }] } },
      trigger('b', 4),
    ],
    edges: edges.map(([source, target], index) => ({ id: `e${index}`, source, target })),
  });
  if (!document) throw new Error(JSON.stringify(issues));
  return compileFlow(document);
}

describe('compileFlow', () => {
  it('walks each trigger to the conflict node, applying each node in the direction of travel', async () => {
    const compiled = flow([
      ['a', 'm1'],
      ['m1', 'hub'],
      ['hub', 'm2'],
      ['m2', 'b'],
    ]);
    const [part] = compiled.parts;
    expect(part?.conflictNodeId).toBe('hub');
    const [a, b] = part!.triggers;
    expect(a?.path.map((step) => [step.nodeId, step.inward])).toEqual([['m1', 'forward']]);
    expect(b?.path.map((step) => [step.nodeId, step.inward])).toEqual([['m2', 'backward']]);
    // Into the hub's vocabulary (email) from each side, and out again.
    expect(await projectIn(a!, { mail: 'x@y' }, defaultExpressionLimits)).toEqual({ kind: 'pass', record: { email: 'x@y' } });
    expect(await projectIn(b!, { e_mail: 'x@y' }, defaultExpressionLimits)).toEqual({ kind: 'pass', record: { email: 'x@y' } });
    expect(await projectOut(b!, { email: 'x@y' }, defaultExpressionLimits)).toEqual({ kind: 'pass', record: { e_mail: 'x@y' } });
  });

  it('follows edges against their direction too: an edge pointing at the trigger is walked backward', async () => {
    const compiled = flow([
      ['m1', 'a'],
      ['hub', 'm1'],
      ['b', 'm2'],
      ['m2', 'hub'],
    ]);
    const [a, b] = compiled.parts[0]!.triggers;
    expect(a?.path.map((step) => [step.nodeId, step.inward])).toEqual([['m1', 'backward']]);
    expect(b?.path.map((step) => [step.nodeId, step.inward])).toEqual([['m2', 'forward']]);
    // m1 now meets a's records from its right side: right (email) is a's vocabulary, left (mail) the hub's.
    expect(await projectIn(a!, { email: 'x@y' }, defaultExpressionLimits)).toEqual({ kind: 'pass', record: { mail: 'x@y' } });
  });
});
