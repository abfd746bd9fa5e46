/**
 * The `memory` connector: a collection of a {@link MemoryStore}, for tests of the engine and of flows. It behaves
 * like a well-made system (versions, tags, update-if-unchanged) until a test tells its store to misbehave.
 */
import type { FlowRecord } from '../../../nodes/types';
import {
  ConnectorError,
  type CollectionDescription,
  type Connector,
  type ConnectorCapabilities,
  type ConnectorContext,
  type ConnectorType,
  type ListPage,
  type ListPosition,
  type SourceRecord,
  type WriteOp,
  type WriteResult,
} from '../types';
import { getMemoryStore, memoryStoreNames, SimulatedCrash, type MemoryCollection, type MemoryStore } from './store';

export {
  createMemoryStore,
  deleteMemoryStore,
  getMemoryStore,
  InjectedFault,
  MemoryCollection,
  MemoryStore,
  SimulatedCrash,
  type ExternalEditOptions,
  type FaultPredicate,
  type MemoryCall,
  type MemoryCollectionOptions,
  type MemoryFaults,
  type MemoryMethod,
} from './store';

function checkMemoryConnection(connection: Record<string, unknown>): Array<{ path: (string | number)[]; message: string }> {
  const problems: Array<{ path: (string | number)[]; message: string }> = [];
  if (typeof connection.store !== 'string' || connection.store === '') {
    problems.push({ path: ['store'], message: 'must name a memory store created with createMemoryStore()' });
  }
  for (const key of Object.keys(connection)) {
    if (key !== 'store') problems.push({ path: [key], message: 'is not a memory connection option; known options: store' });
  }
  return problems;
}

async function openMemoryConnector(context: ConnectorContext): Promise<Connector> {
  const { config } = context;
  const problems = checkMemoryConnection(config.connection);
  if (problems.length > 0) {
    throw new ConnectorError(problems.map((problem) => `connection.${problem.path.join('.')}: ${problem.message}`).join('; '));
  }
  const name = config.connection.store as string;
  const store = getMemoryStore(name);
  if (store === undefined) {
    throw new ConnectorError(`memory store "${name}" does not exist; stores: ${memoryStoreNames().join(', ') || '(none)'}`);
  }
  await store.enter({ method: 'open', collection: config.collection });
  const bookkeeping = new Map<string, string>();
  for (const [name, role] of [
    [config.deletedFlag, 'deletedFlag'],
    [config.tagColumn, 'tagColumn'],
    [config.updatedAt, 'updatedAt'],
    [config.key, 'key'],
  ] as const) {
    if (name !== undefined) bookkeeping.set(name, role);
  }
  return new MemoryConnector(store, store.collection(config.collection), bookkeeping);
}

class MemoryConnector implements Connector {
  readonly capabilities: ConnectorCapabilities;
  private closed = false;

  constructor(
    private readonly store: MemoryStore,
    private readonly collection: MemoryCollection,
    /** The trigger's key, updatedAt, tag and deleted-flag names: they are not data, so writes may not use them as fields. */
    private readonly bookkeeping: Map<string, string>,
  ) {
    const { options } = collection;
    this.capabilities = {
      conditionalWrites: options.conditionalWrites,
      tags: options.tags,
      incremental: options.versions !== 'none' && options.changeFeed,
      fullScan: options.fullScan,
      deletes: options.deletes,
      partialObjects: true,
      givenKeys: options.givenKeys,
      createdRecords: options.createdRecords,
      ...(options.changeFeed ? {} : { changeFeed: false }),
    };
  }

  async listSince(position: ListPosition, limit: number): Promise<ListPage> {
    this.assertOpen();
    assertLimit(limit);
    await this.store.enter({ method: 'listSince', collection: this.collection.name, position, limit });
    const { records, more } = this.collection.pageFrom(position, limit);
    const last = records.at(-1);
    // `next` comes from the true order, so a shuffled or repeated page still resumes in the right place.
    const next = more && last ? { since: this.capabilities.incremental ? last.version : null, afterId: last.id } : null;
    return { records: this.store.disturbPage(records, !this.capabilities.incremental), next };
  }

  async getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>> {
    this.assertOpen();
    await this.store.enter({ method: 'getMany', collection: this.collection.name, ids });
    const found = new Map<string, SourceRecord>();
    for (const id of ids) {
      const record = this.collection.get(id);
      if (record) found.set(id, record);
    }
    return found;
  }

  async write(ops: readonly WriteOp[]): Promise<WriteResult[]> {
    this.assertOpen();
    await this.store.enter({ method: 'write', collection: this.collection.name, ops });
    const results = ops.map((op, index): WriteResult => {
      this.store.calls.writeOp++;
      const fault = this.store.faultFor({ method: 'writeOp', collection: this.collection.name, op, index });
      if (fault) return failedResult(fault);
      const problem = op.kind === 'delete' ? null : this.fieldProblem(op.fields);
      if (problem) return { ok: false, reason: 'failed', message: problem, retryable: false };
      const result = this.collection.apply(op);
      // The store holds exactly what was written: a copy of it is what a read would return.
      return op.kind === 'create' && result.ok && this.capabilities.createdRecords ? { ...result, record: this.collection.get(result.id) as SourceRecord } : result;
    });
    if (this.store.takeCrash()) throw new SimulatedCrash(this.collection.name);
    return results;
  }

  async *scanIds(limit: number): AsyncIterable<string[]> {
    this.assertOpen();
    assertLimit(limit);
    if (!this.capabilities.fullScan) throw new ConnectorError(`memory collection "${this.collection.name}" cannot list every id (fullScan is off)`);
    let afterId: string | null = null;
    for (;;) {
      await this.store.enter({ method: 'scanIds', collection: this.collection.name, limit });
      // Each page is read afresh, as from a real system, so edits between pages behave like keyset paging.
      const page = this.collection.liveIdsAfter(afterId, limit);
      if (page.length > 0) yield page;
      if (page.length < limit) return;
      afterId = page.at(-1) as string;
    }
  }

  async count(): Promise<number> {
    this.assertOpen();
    if (!this.capabilities.fullScan) throw new ConnectorError(`memory collection "${this.collection.name}" cannot list every id (fullScan is off)`);
    // Not a counted call: the store's call counts describe what tests inject faults into, and a count reads nothing.
    return this.collection.liveIds().length;
  }

  async removalMark(): Promise<string | null> {
    this.assertOpen();
    return this.capabilities.fullScan ? this.collection.removalMark() : null;
  }

  async describe(): Promise<CollectionDescription[]> {
    this.assertOpen();
    await this.store.enter({ method: 'describe' });
    return this.store.collectionNames().map((name) => {
      const types = this.store.collection(name).fieldTypes();
      const own = name === this.collection.name;
      return {
        name,
        fields: Object.entries(types)
          .filter(([field]) => !own || !this.bookkeeping.has(field))
          .map(([field, type]) => ({ name: field, type, nullable: true })),
      };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private fieldProblem(fields: FlowRecord): string | null {
    const declared = this.collection.options.fields;
    for (const name of Object.keys(fields)) {
      const role = this.bookkeeping.get(name);
      if (role !== undefined) return `field "${name}" is the ${role} of memory collection "${this.collection.name}": bookkeeping, not data`;
      if (declared && !(name in declared)) {
        return `memory collection "${this.collection.name}" has no field "${name}"; fields: ${Object.keys(declared).join(', ')}`;
      }
    }
    return null;
  }

  private assertOpen(): void {
    // Catches an engine that keeps using a connector after closing it, which a real connection would punish.
    if (this.closed) throw new ConnectorError(`memory collection "${this.collection.name}" was used after close()`);
  }
}

function failedResult(error: Error): WriteResult {
  const retryable = error instanceof ConnectorError ? error.retryable : true;
  const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return {
    ok: false,
    reason: 'failed',
    message: error.message,
    retryable,
    ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
  };
}

function assertLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number above 0, got ${limit}`);
}

/** An in-memory system for tests, shared by name through {@link createMemoryStore}. */
export const memoryConnector = {
  type: 'memory',
  title: 'In-memory (tests)',
  checkConnection: checkMemoryConnection,
  open: openMemoryConnector,
  givenKeys: true,
} satisfies ConnectorType;
