import { loadFlow } from '../../nodes/flow/load';
import type { FlowDocument } from '../../nodes/index';
import type { ConflictPolicy } from '../../nodes/conflict/schema';
import { createMemoryStore, type MemoryCollection, type MemoryCollectionOptions, type MemoryStore } from '../../runtime/connectors/memory/index';
import { connectorRegistry } from '../../runtime/connectors/index';
import type { Connector, ConnectorType, WriteOp, WriteResult } from '../../runtime/connectors/types';
import { openStateDb, type StateDb } from '../../runtime/db/index';
import { SyncEngine } from '../../runtime/engine/index';

export interface HubOptions {
  sides: string[];
  policy?: ConflictPolicy;
  fields?: Record<string, ConflictPolicy>;
  match?: string[];
  deletes?: 'propagate' | 'ignore' | 'review';
  massDelete?: { maxShare: number; minCount: number };
  breaker?: { maxWrites: number; windowMs: number };
  /** Options of each side's collection, by side (what its system can do: deletes, tags, versions). */
  collections?: Record<string, MemoryCollectionOptions>;
}

/**
 * The connectors, with the memory connector's writes to `collection` made by `write` instead: a system that answers
 * or acts otherwise than the memory store, built on it (`real` writes to the store).
 */
export function withWrites(collection: string, write: (real: Connector, ops: readonly WriteOp[]) => Promise<WriteResult[]>): typeof connectorRegistry {
  const memory = connectorRegistry.memory;
  const open: ConnectorType['open'] = async (context) => {
    const connector = await memory.open(context);
    if (context.config.collection !== collection) return connector;
    const written = (ops: readonly WriteOp[]) => write(connector, ops);
    return new Proxy(connector, { get: (target, property, receiver) => (property === 'write' ? written : (Reflect.get(target, property, receiver) as unknown)) }) satisfies Connector;
  };
  return { ...connectorRegistry, memory: { ...memory, open } };
}

/** A flow whose triggers meet directly at one conflict node, each on a collection of one memory store. */
export function hubFlow(store: string, options: HubOptions): FlowDocument {
  const nodes: unknown[] = options.sides.map((side, index) => ({
    id: side,
    type: 'trigger',
    typeVersion: 1,
    position: { x: index * 200, y: 0 },
    config: { connector: 'memory', connection: { store }, collection: side, key: 'id', updatedAt: 'updated', detect: { mode: 'manual' } },
  }));
  nodes.push({
    id: 'hub',
    type: 'conflict',
    typeVersion: 1,
    position: { x: 0, y: 200 },
    config: {
      policy: options.policy ?? 'last-write-wins',
      fields: options.fields ?? {},
      match: options.match ?? ['email'],
      deletes: options.deletes ?? 'propagate',
      ...(options.massDelete ? { massDelete: options.massDelete } : {}),
      ...(options.breaker ? { breaker: options.breaker } : {}),
    },
  });
  const edges = options.sides.map((side, index) => (index === 0 ? { id: `e-${side}`, source: side, target: 'hub' } : { id: `e-${side}`, source: 'hub', target: side }));
  const { document, issues } = loadFlow({ format: 'syncline.flow', version: 1, id: `flow-${store}`, name: store, nodes, edges });
  if (!document) throw new Error(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  return document;
}

let storeCount = 0;

/** A memory store with one collection per side, a state DB in memory and an engine with quick retries. */
export async function memoryHarness(options: HubOptions, seed = 1): Promise<{
  store: MemoryStore;
  sides: Record<string, MemoryCollection>;
  flow: FlowDocument;
  db: StateDb;
  engine: SyncEngine;
  pass: (extra?: Partial<Parameters<SyncEngine['runPass']>[1]>) => ReturnType<SyncEngine['runPass']>;
}> {
  const name = `engine-test-${++storeCount}`;
  const store = createMemoryStore(name, { seed });
  const sides: Record<string, MemoryCollection> = {};
  for (const side of options.sides) sides[side] = store.createCollection(side, options.collections?.[side]);
  const flow = hubFlow(name, options);
  const db = await openStateDb(':memory:');
  // Every other harness stages in a temporary file from the first change, so both kinds of staging meet every case.
  const stagingMemoryLimit = seed % 2 === 0 ? 0 : undefined;
  const engine = new SyncEngine({ db, connectors: connectorRegistry, retry: { attempts: 2, baseMs: 1, maxWaitMs: 5 }, stagingMemoryLimit });
  return { store, sides, flow, db, engine, pass: (extra = {}) => engine.runPass(flow, { baseDir: '.', ...extra }) };
}

/** A side's live records as plain field objects, ordered by email, for comparing sides. */
export function contents(collection: MemoryCollection): Array<Record<string, unknown>> {
  return collection
    .all()
    .filter((record) => !record.deleted)
    .map((record) => record.fields)
    .sort((a, b) => String(a.email).localeCompare(String(b.email)));
}
