// Flow documents for tests, built from small parts so each test says only what differs from a valid flow.

/** A document or node as a test writes it: edited freely, valid or not. */
export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- documents are edited freely here

/** A sqlite trigger reading collection `id`. */
export function trigger(id: string, extra: Json = {}): Json {
  return {
    id,
    type: 'trigger',
    typeVersion: 1,
    position: { x: 0, y: 0 },
    config: { connector: 'sqlite', connection: { file: `${id}.db` }, collection: id, key: 'id', ...extra },
  };
}

/** A mapping node, by default pairing `email` both ways. */
export function mappingNode(id: string, fields: Json[] = [{ left: 'email', right: 'email', direction: 'both' }]): Json {
  return { id, type: 'mapping', typeVersion: 1, position: { x: 0, y: 0 }, config: { fields } };
}

/** A conflict node matching on `email`. */
export function conflictNode(id: string, config: Json = {}): Json {
  return { id, type: 'conflict', typeVersion: 1, position: { x: 0, y: 0 }, config: { match: ['email'], ...config } };
}

/** An edge from `source` to `target`. */
export function edge(id: string, source: string, target: string): Json {
  return { id, source, target };
}

/** crm -> map -> resolve -> mkt: the smallest valid flow. */
export function smallFlow(): Json {
  return {
    format: 'syncline.flow',
    version: 1,
    id: 'small',
    name: 'Small',
    nodes: [trigger('crm'), mappingNode('map'), conflictNode('resolve'), trigger('mkt')],
    edges: [edge('e1', 'crm', 'map'), edge('e2', 'map', 'resolve'), edge('e3', 'resolve', 'mkt')],
  };
}
