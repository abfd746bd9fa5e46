import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conflictNode, edge, mappingNode, smallFlow, trigger, type Json } from '../../test/support/flowDocuments';
import { flowDocumentSchema, nodeRegistry } from '../index';
import { mapping } from '../mapping';
import type { NodeDefinition } from '../types';
import { formatIssue, type FlowIssue } from './issues';
import { serializeFlow } from './jsonText';
import { loadFlow, type LoadOptions } from './load';

const fixtures = join(import.meta.dirname, '../../test/fixtures/flows');
const validFixtures = readdirSync(fixtures).filter((name) => name.endsWith('.flow.json'));

function lines(input: unknown, options?: LoadOptions): string[] {
  return loadFlow(input, options).issues.map(formatIssue);
}

function errorsOf(input: unknown, options?: LoadOptions): FlowIssue[] {
  return loadFlow(input, options).issues.filter((issue) => issue.severity === 'error');
}

describe('loadFlow on valid documents', () => {
  it.each(validFixtures)('%s loads without issues, as flowDocumentSchema parses it', (name) => {
    const raw: unknown = JSON.parse(readFileSync(join(fixtures, name), 'utf8'));
    const { document, issues, migrated } = loadFlow(raw);
    expect(issues).toEqual([]);
    expect(document).not.toBeNull();
    expect(migrated).toBe(raw);
    // Same content and key order as the registry-derived schema, so stored bytes match an export.
    expect(serializeFlow(document)).toBe(serializeFlow(flowDocumentSchema.parse(raw)));
  });

  it('applies defaults and does not change its input', () => {
    const raw = smallFlow();
    const before = JSON.stringify(raw);
    const { document } = loadFlow(raw);
    const crm = document?.nodes[0];
    expect(crm?.type === 'trigger' && crm.config.write).toEqual({ create: true, update: true, delete: true });
    expect(crm?.type === 'trigger' && crm.config.detect).toEqual({ mode: 'poll', intervalMs: 5000 });
    expect(JSON.stringify(raw)).toBe(before);
  });

  it('accepts several separate parts, each complete', () => {
    const raw = smallFlow();
    raw.nodes.push(trigger('a'), mappingNode('a-map'), conflictNode('ab'), trigger('b'));
    raw.edges.push(edge('f1', 'a', 'a-map'), edge('f2', 'a-map', 'ab'), edge('f3', 'b', 'ab'));
    expect(lines(raw)).toEqual([]);
  });

  it('warns about an empty flow but loads it', () => {
    const result = loadFlow({ format: 'syncline.flow', version: 1, id: 'new', name: 'New', nodes: [], edges: [] });
    expect(result.document).not.toBeNull();
    expect(result.issues.map((issue) => issue.severity)).toEqual(['warning']);
  });

  it('serializeFlow gives the canonical bytes of the SPEC example', () => {
    const text = readFileSync(join(fixtures, 'leads.flow.json'), 'utf8');
    expect(serializeFlow(JSON.parse(text))).toBe(text);
  });
});

describe('loadFlow on what is not a flow', () => {
  it.each([null, [], 'flow', 42, true, undefined, [[[]]]])('refuses %j with one issue', (input) => {
    const result = loadFlow(input);
    expect(result.document).toBeNull();
    expect(result.issues).toHaveLength(1);
    expect(formatIssue(result.issues[0] as FlowIssue)).toMatch(/^\(document\): a flow document must be a JSON object/);
  });

  it('refuses an unknown format without looking further', () => {
    expect(lines({ format: 'n8n.workflow', nodes: 'whatever' })).toEqual([
      'format: "n8n.workflow" is not a Syncline flow (expected "syncline.flow"): check that this is a flow exported from Syncline',
    ]);
  });

  it('refuses a newer version, saying to open it with the newer Syncline', () => {
    const raw = { ...smallFlow(), version: 7, nodes: 'not even nodes' };
    expect(lines(raw)).toEqual([
      'version: this document was made by a newer Syncline (flow version 7; this one reads up to version 1): open it with that Syncline or a newer one',
    ]);
  });

  it('reports a missing format and version together with everything else', () => {
    const raw = smallFlow();
    delete raw.format;
    raw.version = 'one';
    expect(lines(raw)).toEqual([
      'format: missing: add "format": "syncline.flow"',
      'version: must be a whole number of at least 1, not text ("one"): write "version": 1 (the flow version this Syncline writes)',
    ]);
  });

  it('says what is missing at the top level', () => {
    expect(lines({ format: 'syncline.flow', version: 1 })).toEqual([
      'id: missing: add it (text)',
      'name: missing: add it (text)',
      'nodes: missing: add it (a list)',
      'edges: missing: add it (a list)',
    ]);
  });
});

describe('document migrations', () => {
  const renameTitle = (document: Record<string, unknown>) => {
    const { title, ...rest } = document;
    return { ...rest, name: title };
  };
  const addEdges = (document: Record<string, unknown>) => ({ ...document, edges: document.links });

  it('runs in order from the document version up to the current one', () => {
    const raw = smallFlow();
    const old: Json = { ...raw, version: 1, title: raw.name, links: raw.edges };
    delete old.name;
    delete old.edges;
    const seen: number[] = [];
    const result = loadFlow(old, {
      flowVersion: 3,
      documentMigrations: [
        (document) => (seen.push(document.version as number), renameTitle(document)),
        (document) => (seen.push(document.version as number), addEdges(document)),
      ],
    });
    expect(seen).toEqual([1, 2]);
    // `links` was left behind by the migration: kept, and reported like any unknown key.
    expect(result.issues.map(formatIssue)).toEqual([
      'links: unknown key "links": it is kept, but Syncline does not read it; remove it or correct its spelling (known keys: format, version, id, name, nodes, edges)',
    ]);
    expect(result.migrated).toMatchObject({ version: 3, name: 'Small', links: raw.edges });
    expect(old.title).toBe('Small');
  });

  it('gives the migrated document when the result is valid', () => {
    const old: Json = { ...smallFlow(), title: 'Small' };
    delete old.name;
    const result = loadFlow(old, { flowVersion: 2, documentMigrations: [renameTitle] });
    expect(result.issues).toEqual([]);
    expect(result.document?.name).toBe('Small');
    expect(result.document?.version).toBe(2);
  });

  it('refuses when a migration is missing, throws, or gives no document', () => {
    expect(lines(smallFlow(), { flowVersion: 2, documentMigrations: [] })).toEqual([
      'version: this Syncline has no migration from flow version 1 to 2: open the document with the Syncline that made it',
    ]);
    const failing = () => {
      throw new Error('no title');
    };
    expect(lines(smallFlow(), { flowVersion: 2, documentMigrations: [failing] })).toEqual([
      'version: migrating from flow version 1 to 2 failed (no title): open the document with the Syncline that made it and export it again',
    ]);
    expect(lines(smallFlow(), { flowVersion: 2, documentMigrations: [() => null] })).toEqual([
      'version: migrating from flow version 1 to 2 did not give a document: open it with the Syncline that made it and export it again',
    ]);
  });
});

describe('node migrations', () => {
  // A mapping node type at version 3: v1 called its pairs `pairs`, v2 wrote directions as `twoWay: true`.
  const mappingV3 = {
    ...mapping,
    typeVersion: 3,
    migrations: [
      (config: unknown) => {
        const { pairs, ...rest } = config as { pairs: unknown[] };
        return { ...rest, fields: pairs };
      },
      (config: unknown) => {
        const { fields } = config as { fields: Array<{ twoWay?: boolean } & Json> };
        return { fields: fields.map(({ twoWay, ...pair }) => ({ ...pair, direction: twoWay ? 'both' : 'forward' })) };
      },
    ],
  } as NodeDefinition;
  const registry = { ...nodeRegistry, mapping: mappingV3 } as Record<string, NodeDefinition>;

  it('runs from the node typeVersion up to the definition typeVersion', () => {
    const raw = smallFlow();
    raw.nodes[1] = { ...raw.nodes[1], typeVersion: 1, config: { pairs: [{ left: 'email', right: 'email', twoWay: true }] } };
    const result = loadFlow(raw, { registry });
    expect(result.issues).toEqual([]);
    expect(result.document?.nodes[1]).toMatchObject({ typeVersion: 3, config: { fields: [{ left: 'email', right: 'email', direction: 'both' }] } });
    expect((result.migrated as Json).nodes[1]).toMatchObject({ typeVersion: 3 });
    expect(raw.nodes[1].config.pairs).toHaveLength(1);
  });

  it('starts from the version the node is at', () => {
    const raw = smallFlow();
    raw.nodes[1] = { ...raw.nodes[1], typeVersion: 2, config: { fields: [{ left: 'email', right: 'email', twoWay: false }] } };
    expect(loadFlow(raw, { registry }).document?.nodes[1]).toMatchObject({ config: { fields: [{ direction: 'forward' }] } });
  });

  it('reports a node newer than the code, and still checks the rest', () => {
    const raw = smallFlow();
    raw.nodes[1].typeVersion = 4;
    raw.nodes[2].config.deletes = 'sometimes';
    expect(lines(raw, { registry })).toEqual([
      'nodes[1].typeVersion: this mapping node was made by a newer Syncline (version 4; this one knows up to 3): open the flow with that Syncline or a newer one (node "map")',
      'nodes[2].config.deletes: must be one of propagate, ignore, review (node "resolve")',
    ]);
  });

  it('reports a missing or failing node migration on that node', () => {
    const raw = smallFlow();
    raw.nodes[1].typeVersion = 1;
    const broken = { ...registry, mapping: { ...mappingV3, migrations: [mappingV3.migrations[0]] } as NodeDefinition };
    expect(lines(raw, { registry: broken })).toEqual([
      'nodes[1].config: this Syncline has no migration for a mapping node from version 2 to 3: open the flow with the Syncline that made it (node "map")',
    ]);
    const failing = () => {
      throw new Error('no pairs to rename');
    };
    const throwing = { ...registry, mapping: { ...mappingV3, migrations: [failing, mappingV3.migrations[1]] } as NodeDefinition };
    expect(lines(raw, { registry: throwing })).toEqual([
      'nodes[1].config: migrating this mapping node from version 1 to 2 failed (no pairs to rename): fix the config by hand or open the flow with the Syncline that made it (node "map")',
    ]);
  });
});

describe('shape and config checks', () => {
  it('keeps unknown top-level keys and reports each', () => {
    const raw = { ...smallFlow(), theme: 'dark', 'x-owner': { team: 'growth' } };
    const result = loadFlow(raw);
    expect(result.document).toBeNull();
    expect(result.migrated).toMatchObject({ theme: 'dark', 'x-owner': { team: 'growth' } });
    expect(result.issues.map((issue) => issue.path)).toEqual(['theme', '["x-owner"]']);
  });

  it('keeps a node of unknown type and lists the known ones', () => {
    const raw = smallFlow();
    raw.nodes[1] = { ...raw.nodes[1], type: 'enricher', config: { anything: true } };
    const result = loadFlow(raw);
    expect(result.issues.map(formatIssue)).toEqual([
      'nodes[1].type: unknown node type "enricher": the node is kept but cannot run; use one of trigger, transform, mapping, conflict, filter (node "map")',
    ]);
    expect((result.migrated as Json).nodes[1].config).toEqual({ anything: true });
  });

  it('checks the node envelope: id, type, typeVersion, position, label, unknown keys', () => {
    const raw = smallFlow();
    raw.nodes[1] = { type: 'mapping', typeVersion: 0, position: { x: 'left' }, label: 3, color: 'red', config: raw.nodes[1].config };
    raw.nodes[2] = { ...raw.nodes[2], type: undefined };
    expect(lines(raw).slice(0, 7)).toEqual([
      'nodes[1].id: missing: add it (text)',
      'nodes[1].typeVersion: must be at least 1',
      'nodes[1].position.x: must be a number, not text ("left")',
      'nodes[1].position.y: missing: add it (a number)',
      'nodes[1].label: must be text, not 3',
      'nodes[1].color: unknown key "color": it is kept, but Syncline does not read it; remove it or correct its spelling (known keys: id, type, typeVersion, position, label, config)',
      'nodes[2].type: missing: name the node type, one of trigger, transform, mapping, conflict, filter (node "resolve")',
    ]);
  });

  it('maps config issues to paths under the node, with zod messages', () => {
    const raw = smallFlow();
    raw.nodes[1].config.fields.push({ left: 'name', right: 'full_name', direction: 'sideways' });
    raw.nodes[0].config.detect = { mode: 'poll', intervalMs: 10 };
    raw.nodes[2].config.policy = 'loudest';
    expect(lines(raw)).toEqual([
      'nodes[0].config.detect.intervalMs: must be at least 100 ms, or the system would be polled without pause (node "crm")',
      'nodes[1].config.fields[1].direction: must be one of both, forward, backward (node "map")',
      'nodes[2].config.policy: must be last-write-wins, manual, or { "prefer": "<trigger id>" } (node "resolve")',
    ]);
  });

  it('reports a value map with duplicate keys and an expression that does not parse', () => {
    const raw = smallFlow();
    raw.nodes[1].config.fields.push({ left: 'status', right: 'stage', values: [{ left: 'open', right: 'Open' }, { left: 'open', right: 'Reopened' }] });
    raw.nodes.splice(1, 0, {
      id: 'names',
      type: 'transform',
      typeVersion: 1,
      position: { x: 0, y: 0 },
      config: { ops: [{ op: 'expression', target: 'full_name', forward: 'first_name & (' }] },
    });
    raw.edges = [edge('e0', 'crm', 'names'), edge('e1', 'names', 'map'), ...raw.edges.slice(1)];
    const found = lines(raw);
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^nodes\[1\]\.config\.ops\[0\]\.forward: expression does not parse at character \d+: .* \(node "names"\)$/);
    expect(found[1]).toBe(
      'nodes[2].config.fields[1].values[1].left: duplicate left value "open" (also at values[0]): each value must map to exactly one value, or the pair cannot be reversed (node "map")',
    );
  });

  it('checks edges against their schema', () => {
    const raw = smallFlow();
    raw.edges[0] = { id: 'e1', source: 'crm', target: 'map', label: 'x' };
    raw.edges[1] = { id: 7, source: 'map', target: 'resolve' };
    expect(lines(raw)).toEqual([
      'edges[0].label: unknown key "label": it is kept, but Syncline does not read it; remove it or correct its spelling (known keys: id, source, target) (edge "e1")',
      'edges[1].id: must be text, not 7',
    ]);
  });

  it('checks connections with the connector registry when given one', () => {
    const raw = smallFlow();
    raw.nodes[3].config.connector = 'mysql';
    const checkConnection: LoadOptions['checkConnection'] = (connector, connection) =>
      connector === 'sqlite' ? (typeof connection.file === 'string' && connection.file.endsWith('.db') ? [] : [{ path: ['file'], message: 'must be a .db file' }]) : null;
    raw.nodes[0].config.connection = { file: 'crm.txt' };
    expect(lines(raw, { checkConnection, knownConnectors: ['sqlite', 'memory'] })).toEqual([
      'nodes[0].config.connection.file: must be a .db file (node "crm")',
      'nodes[3].config.connector: unknown connector "mysql"; known: sqlite, memory (node "mkt")',
    ]);
    expect(lines(raw, { knownConnectors: ['sqlite'] })).toEqual(['nodes[3].config.connector: unknown connector "mysql"; known: sqlite (node "mkt")']);
    expect(lines(raw)).toEqual([]);
  });
});

describe('graph rules', () => {
  it('reports duplicate node and edge ids', () => {
    const raw = smallFlow();
    raw.nodes.push(mappingNode('map'));
    raw.edges.push(edge('e1', 'map', 'resolve'));
    expect(lines(raw)).toContain('nodes[4].id: duplicate node id "map" (also nodes[1]): give each node its own id (node "map")');
    expect(lines(raw)).toContain('edges[3].id: duplicate edge id "e1" (also edges[0]): give each edge its own id (edge "e1")');
  });

  it('reports dangling edges and self-loops', () => {
    const raw = smallFlow();
    raw.edges.push(edge('e4', 'ghost', 'map'), edge('e5', 'map', 'map'));
    expect(lines(raw)).toEqual([
      'edges[3].source: no node has the id "ghost": connect the edge to an existing node, or remove it (edge "e4")',
      'edges[4]: connects node "map" to itself: remove it (edge "e5")',
    ]);
  });

  it('wants exactly one edge on a trigger and at least two on other nodes', () => {
    const raw = smallFlow();
    raw.nodes.push(trigger('lonely'), mappingNode('stub'));
    raw.edges.push(edge('e4', 'crm', 'stub'));
    expect(lines(raw)).toEqual([
      'nodes[0]: a trigger must have exactly one edge, this one has 2 ("e1", "e4"): remove the extra edges (node "crm")',
      'nodes[4]: a trigger must have exactly one edge, this one has none: connect it to the node that handles its records (node "lonely")',
      'nodes[5]: a mapping node must have at least two edges, one toward each side, this one has 1 ("e4"): connect its other side, or remove it (node "stub")',
    ]);
  });

  it('names the nodes on a cycle, ignoring edge direction', () => {
    const raw = smallFlow();
    raw.nodes.push(mappingNode('map-b'));
    raw.edges = [edge('e1', 'crm', 'map'), edge('e2', 'map', 'resolve'), edge('e3', 'resolve', 'mkt'), edge('e4', 'map-b', 'map'), edge('e5', 'resolve', 'map-b')];
    expect(lines(raw)).toEqual([
      'edges[4]: closes a cycle through nodes "resolve", "map", "map-b": ignoring direction, a change could come back to where it started; remove an edge of the cycle (edge "e5")',
    ]);
  });

  it('sees two edges between the same nodes as a cycle', () => {
    const raw = smallFlow();
    raw.edges.push(edge('e4', 'resolve', 'map'));
    expect(lines(raw)).toEqual([
      'edges[3]: closes a cycle through nodes "resolve", "map": ignoring direction, a change could come back to where it started; remove an edge of the cycle (edge "e4")',
    ]);
  });

  it('wants at least two triggers and exactly one conflict node in each part', () => {
    const noConflict = smallFlow();
    noConflict.nodes.splice(2, 1);
    noConflict.edges = [edge('e1', 'crm', 'map'), edge('e2', 'map', 'mkt')];
    expect(lines(noConflict)).toEqual([
      'nodes[0]: this part of the flow (nodes "crm", "map", "mkt") has no conflict node: add one where the records of the sides meet (node "crm")',
    ]);

    const oneTrigger = smallFlow();
    oneTrigger.nodes[3] = mappingNode('mkt');
    oneTrigger.nodes.push(trigger('end'));
    oneTrigger.edges.push(edge('e4', 'mkt', 'end'));
    oneTrigger.nodes[0] = mappingNode('crm');
    expect(lines(oneTrigger)).toContain('nodes[0]: a mapping node must have at least two edges, one toward each side, this one has 1 ("e1"): connect its other side, or remove it (node "crm")');
    expect(lines(oneTrigger)).toContain(
      'nodes[0]: this part of the flow (nodes "crm", "map", "resolve", "mkt", "end") has only one trigger; a sync needs at least two: add a trigger for each system it keeps in step (node "crm")',
    );

    const twoConflicts = smallFlow();
    twoConflicts.nodes[1] = conflictNode('map');
    expect(lines(twoConflicts)).toEqual([
      'nodes[2]: a second conflict node in the part that already has "map": each connected part needs exactly one; remove one of "map" and "resolve", or split the flow (node "resolve")',
    ]);
  });

  it('wants prefer to name a trigger of the same part', () => {
    const raw = smallFlow();
    raw.nodes.push(trigger('a'), conflictNode('ab'), trigger('b'));
    raw.edges.push(edge('f1', 'a', 'ab'), edge('f2', 'ab', 'b'));
    raw.nodes[2].config.policy = { prefer: 'mkt' };
    raw.nodes[2].config.fields = { stage: { prefer: 'map' }, 'first name': { prefer: 'a' }, email: { prefer: 'nobody' } };
    expect(lines(raw)).toEqual([
      'nodes[2].config.fields.stage.prefer: "map" is a mapping node, not a trigger: name one of the triggers of this part: "crm", "mkt" (node "resolve")',
      'nodes[2].config.fields["first name"].prefer: "a" is a trigger of another part of the flow: name one of the triggers of this part: "crm", "mkt" (node "resolve")',
      'nodes[2].config.fields.email.prefer: "nobody" is not a node of this flow: name one of the triggers of this part: "crm", "mkt" (node "resolve")',
    ]);
  });
});

describe('everything at once', () => {
  it('reports every problem of a document in one pass', () => {
    const raw: Json = { ...smallFlow(), owner: 'me' };
    raw.nodes[0].config.key = '';
    raw.nodes[1].config.fields[0].direction = 'up';
    raw.nodes.push({ id: 'odd', type: 'splitter', typeVersion: 1, position: { x: 0, y: 0 }, config: {} });
    raw.edges.push(edge('e3', 'resolve', 'nowhere'), edge('e5', 'odd', 'map'), edge('e6', 'odd', 'resolve'));
    const issues = errorsOf(raw);
    expect(issues.map((issue) => issue.path)).toEqual([
      'owner',
      'nodes[0].config.key',
      'nodes[1].config.fields[0].direction',
      'nodes[4].type',
      'edges[3].id',
      'edges[3].target',
      'edges[5]',
    ]);
    expect(issues.map((issue) => issue.nodeId ?? issue.edgeId ?? null)).toEqual([null, 'crm', 'map', 'odd', 'e3', 'e3', 'e6']);
  });
});

describe('hostile input', () => {
  function deepArray(depth: number): unknown {
    let value: unknown = [];
    for (let level = 0; level < depth; level += 1) value = [value];
    return value;
  }

  it('refuses deeply nested junk in a node without overflowing', () => {
    const raw = smallFlow();
    raw.nodes[1].config.fields[0].values = [{ left: deepArray(200_000), right: 'x' }];
    const found = lines(raw);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^nodes\[1\]\.config\.fields\[0\]\.values\[0\]\.left(\[0\])+: nested more than 64 levels deep/);
  });

  it('keeps deeply nested junk under an unknown key and reports the key', () => {
    const raw = { ...smallFlow(), junk: deepArray(200_000) };
    expect(lines(raw).map((line) => line.split(':')[0])).toEqual(['junk']);
  });

  it('handles junk in nodes and edges', () => {
    const raw = smallFlow();
    raw.nodes.push(null, 'node', [1], { id: '' });
    raw.edges.push(null, [], { id: 'e9' });
    expect(() => loadFlow(raw)).not.toThrow();
    expect(errorsOf(raw).length).toBeGreaterThanOrEqual(7);
  });

  it('loads a 50 MB document of 100k+ nodes, cycles and all (its time is measured by no test: a busy machine would fail it)', () => {
    const count = 180_000;
    const nodes: Json[] = [trigger('left')];
    const edges: Json[] = [];
    let previous = 'left';
    for (let index = 0; index < count; index += 1) {
      const id = `map-${index}`;
      nodes.push(mappingNode(id, [{ left: 'email', right: 'email', direction: 'both' }, { left: 'status', right: 'stage', values: [{ left: 'open', right: 'Open' }] }]));
      edges.push(edge(`e-${index}`, previous, id));
      previous = id;
    }
    nodes.push(conflictNode('hub'), trigger('right'));
    edges.push(edge('e-hub', previous, 'hub'), edge('e-right', 'hub', 'right'));
    // Many cycle edges spanning the whole chain: naming each in full would be quadratic.
    for (let index = 0; index < 2_000; index += 1) edges.push(edge(`back-${index}`, 'map-0', `map-${count - 1 - index}`));
    const text = JSON.stringify({ format: 'syncline.flow', version: 1, id: 'big', name: 'Big', nodes, edges });
    expect(text.length).toBeGreaterThan(50_000_000);

    const result = loadFlow(JSON.parse(text));
    expect(result.document).toBeNull();
    expect(result.issues).toHaveLength(2_000);
    expect(result.issues[0]?.message).toMatch(/^closes a cycle through nodes "map-0", "map-1", .* and \d+ more:/);
    expect(result.issues[1_999]?.message).toBe('closes another cycle between "map-0" and "map-178000": remove an edge of the cycle');
  });
});

describe('formatIssue', () => {
  it('names the node or edge after the path', () => {
    expect(formatIssue({ path: 'nodes[3].config.fields[1].direction', nodeId: 'map', message: 'must be one of both, forward, backward', severity: 'error' })).toBe(
      'nodes[3].config.fields[1].direction: must be one of both, forward, backward (node "map")',
    );
    expect(formatIssue({ path: 'edges[0].target', edgeId: 'e1', message: 'x', severity: 'error' })).toBe('edges[0].target: x (edge "e1")');
    expect(formatIssue({ path: '', message: 'x', severity: 'warning' })).toBe('(document): x');
  });
});
