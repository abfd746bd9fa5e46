import { describe, expect, it } from 'vitest';
import { paletteEntries } from '../../editor/canvas/paletteEntries';
import { nodeRegistry, nodeTypes, type FlowDocument } from '../../nodes';
import { formatIssue } from '../../nodes/flow/issues';
import { loadFlow } from '../../nodes/flow/load';
import { defaultExpressionLimits } from '../../nodes/types';
import { compileFlow } from '../../runtime/engine/graph';
import { stamp } from '../fixtures/nodes/stamp';
import { conflictNode, edge, mappingNode, trigger, type Json } from '../support/flowDocuments';

// A node type is one folder and one registry line: the stamp node (test/fixtures/nodes/stamp) is added below in that
// one line, and validation, the editor's palette and the engine all take it from there.
const registry = { ...nodeRegistry, stamp };

/** crm -> stamp-it -> map -> resolve -> mkt, the stamp node as given. */
function stampedFlow(stampNode: Json = { id: 'stamp-it', type: 'stamp', typeVersion: 2, position: { x: 0, y: 0 }, config: { field: 'origin' } }): Json {
  return {
    format: 'syncline.flow',
    version: 1,
    id: 'stamped',
    name: 'Stamped',
    nodes: [trigger('crm'), stampNode, mappingNode('map', [{ left: 'email', right: 'email' }, { left: 'origin', right: 'source' }]), conflictNode('resolve'), trigger('mkt')],
    edges: [edge('e1', 'crm', 'stamp-it'), edge('e2', 'stamp-it', 'map'), edge('e3', 'map', 'resolve'), edge('e4', 'resolve', 'mkt')],
  };
}

describe('a node type added in one place', () => {
  it('is unknown until it is registered', () => {
    expect(loadFlow(stampedFlow()).issues.map(formatIssue)).toContain(
      'nodes[1].type: unknown node type "stamp": the node is kept but cannot run; use one of trigger, transform, mapping, conflict, filter (node "stamp-it")',
    );
  });

  it('is validated with its own schema, migrations and the graph rules', () => {
    const loaded = loadFlow(stampedFlow(), { registry });
    expect(loaded.issues).toEqual([]);
    expect(loaded.document?.nodes[1]).toMatchObject({ type: 'stamp', config: { field: 'origin', value: 'synced' } });

    const older = loadFlow(stampedFlow({ id: 'stamp-it', type: 'stamp', typeVersion: 1, position: { x: 0, y: 0 }, config: { name: 'origin' } }), { registry });
    expect(older.issues).toEqual([]);
    expect(older.document?.nodes[1]).toMatchObject({ typeVersion: 2, config: { field: 'origin' } });

    const unnamed = stampedFlow({ id: 'stamp-it', type: 'stamp', typeVersion: 2, position: { x: 0, y: 0 }, config: { field: '' } });
    unnamed.edges = unnamed.edges.filter((each: Json) => each.id !== 'e1');
    unnamed.nodes.push(trigger('other'));
    unnamed.edges.push(edge('e5', 'other', 'map'));
    expect(loadFlow(unnamed, { registry }).issues.map(formatIssue)).toEqual([
      'nodes[1].config.field: must name the field to stamp (node "stamp-it")',
      'nodes[0]: a trigger must have exactly one edge, this one has none: connect it to the node that handles its records (node "crm")',
      'nodes[1]: a stamp node must have at least two edges, one toward each side, this one has 1 ("e2"): connect its other side, or remove it (node "stamp-it")',
    ]);
  });

  it('is offered by the editor palette, after the built-in types, and found by its search', () => {
    expect(paletteEntries(registry, '').map((entry) => entry.type)).toEqual([...nodeTypes, 'stamp']);
    expect(paletteEntries(registry, 'fixed value')).toEqual([{ type: 'stamp', title: 'Stamp', description: stamp.description }]);
    expect(paletteEntries(nodeRegistry, 'fixed value')).toEqual([]);
  });

  it('runs in the engine: the compiled path applies its behaviour in the direction of travel', async () => {
    const document = loadFlow(stampedFlow(), { registry }).document as FlowDocument;
    const [part] = compileFlow(document, registry).parts;
    const crm = part?.triggers.find((each) => each.nodeId === 'crm');
    expect(crm?.path.map((step) => [step.nodeId, step.inward])).toEqual([
      ['stamp-it', 'forward'],
      ['map', 'forward'],
    ]);
    const step = crm?.path[0];
    expect(step?.behaviour).toBe(stamp.behaviour);
    const ctx = { nodeId: 'stamp-it', limits: defaultExpressionLimits };
    expect(await step?.behaviour.forward({ email: 'ada@example.org' }, step.config, ctx)).toEqual({ kind: 'pass', record: { email: 'ada@example.org', origin: 'synced' } });
    expect(await step?.behaviour.backward({ email: 'ada@example.org', origin: 'synced' }, step.config, ctx)).toEqual({ kind: 'pass', record: { email: 'ada@example.org' } });
  });
});
