import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serializeFlow } from '../../nodes/flow/jsonText';
import { canvasFromDocument, canvasIssues, documentFromCanvas, documentNode } from './canvasDocument';

const fixtures = join(import.meta.dirname, '../../test/fixtures/flows');
const flowFiles = [
  ...readdirSync(fixtures).filter((name) => name.endsWith('.flow.json')),
  ...readdirSync(join(fixtures, 'broken'))
    .filter((name) => name.endsWith('.flow.json'))
    .map((name) => `broken/${name}`),
];

describe('canvas <-> document', () => {
  it.each(flowFiles)('gives %s back unchanged', (name) => {
    const text = readFileSync(join(fixtures, name), 'utf8');
    const document: unknown = JSON.parse(text);
    const back = documentFromCanvas(canvasFromDocument(document));
    expect(back).toEqual(document);
  });

  it('writes a valid fixture byte for byte', () => {
    const text = readFileSync(join(fixtures, 'leads.flow.json'), 'utf8');
    expect(serializeFlow(documentFromCanvas(canvasFromDocument(JSON.parse(text))))).toBe(text);
  });

  it('keeps unknown keys, unknown types and unreadable values', () => {
    const input = {
      format: 'syncline.flow',
      version: 1,
      id: 7,
      owner: 'sales-ops',
      nodes: [
        { id: 'a', type: 'enricher', typeVersion: 1, position: { x: 1, y: 2 }, config: { any: 1 }, colour: 'red' },
        { id: 'b', type: 'trigger', typeVersion: '1', position: { x: '240', y: 0 }, label: 7, config: {} },
      ],
      edges: [{ id: 'e1', source: 'a' }],
    };
    const canvas = canvasFromDocument(input);
    expect(canvas.nodes.map((node) => node.type)).toEqual(['unknown', 'trigger']);
    expect(documentFromCanvas(canvas)).toEqual(input);
  });

  it('writes a real position once a node with an unreadable one is moved', () => {
    const canvas = canvasFromDocument({ nodes: [{ id: 'b', type: 'trigger', position: 'left', config: {} }], edges: [] });
    const node = canvas.nodes[0];
    if (!node) throw new Error('no node');
    expect(documentNode(node).position).toBe('left');
    expect(documentNode({ ...node, position: { x: 10.4, y: 20.6 } }).position).toEqual({ x: 10, y: 21 });
  });

  it('shows a node whose id an earlier node has under another, and reports the duplicate on it', () => {
    const trigger = (id: string) => ({ id, type: 'trigger', typeVersion: 1, position: { x: 0, y: 0 }, config: {} });
    const canvas = canvasFromDocument({ nodes: [trigger('crm'), trigger('crm-copy'), trigger('crm'), {}], edges: [] });
    // The copy's id is one the file does not use, so the file's own "crm-copy" is not reported as a duplicate.
    expect(canvas.nodes.map((node) => node.id)).toEqual(['crm', 'crm-copy', 'crm-copy-copy', 'node-4']);
    expect(canvasIssues(canvas.nodes)).toEqual([
      { path: 'nodes[2].id', nodeId: 'crm-copy-copy', message: 'duplicate node id "crm" in the file; shown as "crm-copy-copy" until you give it an id of its own', severity: 'error' },
    ]);
  });
});
