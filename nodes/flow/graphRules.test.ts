import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkGraph, connectionRefusal, flowParts, graphMessages } from './graphRules';
import { IssueList } from './issues';

const node = (id: string, type: string) => ({ id, type });
const edge = (source: string, target: string) => ({ source, target });

/** Issues an added edge can cause: the ones the editor must refuse as the edge is drawn. */
const addedEdgeIssue = /^(connects node .* to itself|a trigger must have exactly one edge, this one has \d|closes (a|another) cycle|a second conflict node)/;

function issuesOf(nodes: ReadonlyArray<{ id: string; type: string }>, edges: ReadonlyArray<{ source: string; target: string }>): string[] {
  const issues = new IssueList();
  checkGraph(
    nodes,
    edges.map((each, index) => ({ id: `e${index}`, ...each })),
    new Set(['trigger', 'transform', 'mapping', 'conflict', 'filter']),
    issues,
  );
  return issues.items.map((issue) => issue.message);
}

describe('connectionRefusal', () => {
  const nodes = [node('crm', 'trigger'), node('map', 'mapping'), node('hub', 'conflict'), node('odd', 'splitter')];

  it('refuses an edge to a node that is not there, and allows one to a node of a type it does not know', () => {
    expect(connectionRefusal({ nodes, edges: [] }, 'map', 'gone')).toBe(graphMessages.missingEnd.refused);
    expect(connectionRefusal({ nodes, edges: [] }, 'map', 'odd')).toBeNull();
  });

  it('counts an edge through an id no node has as joining its ends', () => {
    const edges = [edge('map', 'ghost'), edge('ghost', 'hub')];
    expect(connectionRefusal({ nodes, edges }, 'hub', 'map')).toBe(graphMessages.cycle.refused('hub', 'map'));
  });

  it('agrees with validation: an edge is refused exactly when adding it would break a rule an edge can break', () => {
    const types = ['trigger', 'trigger', 'trigger', 'conflict', 'conflict', 'mapping', 'transform', 'filter'];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...types), { minLength: 2, maxLength: 8 }),
        fc.array(fc.tuple(fc.nat(7), fc.nat(7)), { maxLength: 20 }),
        (nodeTypes, proposals) => {
          const graph = { nodes: nodeTypes.map((type, index) => node(`n${index}`, type)), edges: [] as Array<{ source: string; target: string }> };
          for (const [from, to] of proposals) {
            const source = `n${from % nodeTypes.length}`;
            const target = `n${to % nodeTypes.length}`;
            const refusal = connectionRefusal(graph, source, target);
            const broken = issuesOf(graph.nodes, [...graph.edges, edge(source, target)]).filter((message) => addedEdgeIssue.test(message));
            expect(refusal === null, `${source} -> ${target}: refused ${JSON.stringify(refusal)}, validation ${JSON.stringify(broken)}`).toBe(broken.length === 0);
            if (refusal === null) graph.edges.push(edge(source, target));
          }
        },
      ),
    );
  });
});

describe('flowParts', () => {
  it('groups nodes into connected parts whatever the edge direction, each list in document order', () => {
    const nodes = [node('a', 'trigger'), node('x', 'trigger'), node('hub', 'conflict'), node('map', 'mapping'), node('b', 'trigger'), node('lone', 'conflict')];
    const edges = [edge('map', 'a'), edge('hub', 'map'), edge('b', 'hub'), edge('x', 'nowhere')];
    expect(flowParts(nodes, edges)).toEqual([
      { nodeIds: ['a', 'hub', 'map', 'b'], triggers: ['a', 'b'], conflicts: ['hub'] },
      { nodeIds: ['x'], triggers: ['x'], conflicts: [] },
      { nodeIds: ['lone'], triggers: [], conflicts: ['lone'] },
    ]);
  });
});
