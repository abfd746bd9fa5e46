import { describe, expect, it } from 'vitest';
import { connectionRefusal } from './connectionRules';

const node = (id: string, type: string) => ({ id, data: { type } });
const graph = {
  nodes: [node('crm', 'trigger'), node('names', 'transform'), node('map', 'mapping'), node('resolve', 'conflict'), node('mkt', 'trigger'), node('other', 'conflict'), node('loose', 'mapping')],
  edges: [
    { source: 'crm', target: 'names' },
    { source: 'names', target: 'map' },
    { source: 'map', target: 'resolve' },
  ],
};

describe('connectionRefusal', () => {
  it('allows an edge that keeps the graph valid', () => {
    expect(connectionRefusal(graph, 'resolve', 'mkt')).toBeNull();
    expect(connectionRefusal(graph, 'loose', 'other')).toBeNull();
  });

  it('refuses a second edge on a trigger', () => {
    expect(connectionRefusal(graph, 'crm', 'loose')).toMatch(/Trigger "crm" already has its edge/);
    expect(connectionRefusal(graph, 'loose', 'crm')).toMatch(/Trigger "crm" already has its edge/);
  });

  it('refuses a cycle, ignoring direction', () => {
    expect(connectionRefusal(graph, 'resolve', 'names')).toMatch(/cycle/);
    expect(connectionRefusal(graph, 'names', 'map')).toMatch(/cycle/);
    expect(connectionRefusal(graph, 'map', 'map')).toMatch(/itself/);
  });

  it('refuses a second conflict node in one connected part', () => {
    expect(connectionRefusal(graph, 'resolve', 'other')).toMatch(/two conflict nodes \("resolve" and "other"\)/);
  });
});
