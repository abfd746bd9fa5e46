/**
 * One HubSpot collection — contacts or companies — as the engine sees it. The key is HubSpot's object id, the version
 * its last-modified date (`updatedAt`), and the fields one object, `properties`, holding the synced properties: a flow
 * addresses them as `properties.email`, and an update sends only the leaves that differ (HubSpot merges a partial
 * `properties` object into what it holds).
 *
 * HubSpot has no conditional write for CRM objects and no place for a hidden tag, so writes are unconditional and the
 * runtime knows its own writes by the write journal's hash. A delete archives the record (restorable for 90 days);
 * archived records read as deleted.
 */
import type { FlowRecord } from '../../../nodes/types';
import { ChangeFeed } from '../saas/changeFeed';
import { ConnectorError, type CollectionDescription, type Connector, type ConnectorCapabilities, type ListPage, type ListPosition, type SourceRecord, type WriteOp, type WriteResult } from '../types';
import type { HubSpotClient } from './client';
import { HubSpotChanges, hubspotLookbackMs, toRecord } from './changes';
import type { HubSpotCollection, HubSpotConnection } from './config';
import { PropertyCatalog } from './properties';
import { hubspotId, HubSpotWriter } from './writes';

export class HubSpotObjects implements Connector {
  readonly capabilities: ConnectorCapabilities = {
    conditionalWrites: false,
    tags: false,
    incremental: true,
    // Archived records come through every listing; no scan of every id is needed to see deletes.
    fullScan: false,
    partialObjects: true,
    deletes: 'archive',
    lookbackMs: hubspotLookbackMs,
  };
  private readonly changes: HubSpotChanges;
  private readonly feed: ChangeFeed;
  private readonly writer: HubSpotWriter;
  private catalogLoad: Promise<PropertyCatalog> | null = null;
  private catalogLoaded: PropertyCatalog | null = null;

  constructor(
    private readonly client: HubSpotClient,
    private readonly collection: HubSpotCollection,
    private readonly connection: HubSpotConnection,
    private readonly closing: AbortController,
  ) {
    this.writer = new HubSpotWriter(client, collection);
    this.changes = new HubSpotChanges(client, collection, () => this.catalog(), (ids, properties) => this.writer.batchRead(ids, properties, false));
    this.feed = new ChangeFeed({ lookbackMs: hubspotLookbackMs, changedSince: (since) => this.changes.changedSince(since) });
  }

  listSince(position: ListPosition, limit: number): Promise<ListPage> {
    this.assertOpen();
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number above 0, got ${limit}`);
    return this.feed.listSince(position, limit);
  }

  /** Live records by `batch/read`; the ids it does not find are asked again as archived ones, which read as deleted. */
  async getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>> {
    this.assertOpen();
    const found = new Map<string, SourceRecord>();
    const wanted = [...new Set(ids.map(hubspotId).filter((id): id is string => id !== null))];
    if (wanted.length === 0) return found;
    const catalog = await this.catalog();
    const asked = new Set(wanted);
    const keep = (objects: readonly unknown[]) => {
      for (const object of objects) {
        const record = toRecord(object, catalog);
        if (record && asked.has(record.id)) found.set(record.id, record);
      }
    };
    keep(await this.writer.batchRead(wanted, catalog.requested(), false));
    const missing = wanted.filter((id) => !found.has(id));
    if (missing.length > 0) keep((await this.writer.batchRead(missing, catalog.requested(), true)).map((object) => ({ ...object, archived: true })));
    return found;
  }

  async write(ops: readonly WriteOp[]): Promise<WriteResult[]> {
    this.assertOpen();
    if (ops.length === 0) return [];
    let catalog: PropertyCatalog;
    try {
      catalog = await this.catalog();
    } catch (caught) {
      if (!(caught instanceof ConnectorError)) throw caught;
      // Nothing was written: every op fails as the catalog's read did.
      return ops.map(() => ({ ok: false, reason: 'failed', message: caught.message, retryable: caught.retryable }));
    }
    return this.writer.write(ops, catalog);
  }

  /** Every live id, from the objects list. The engine does not ask (`fullScan` is false): deletes come as archives. */
  async *scanIds(limit: number): AsyncIterable<string[]> {
    const catalog = await this.catalog();
    let page: string[] = [];
    for await (const objects of this.changes.listObjects(catalog, false)) {
      for (const object of objects) {
        const id = (object as { id?: unknown }).id;
        if (typeof id !== 'string' && typeof id !== 'number') continue;
        page.push(String(id));
        if (page.length === limit) {
          yield page;
          page = [];
        }
      }
    }
    if (page.length > 0) yield page;
  }

  async describe(): Promise<CollectionDescription[]> {
    return [{ name: this.collection, fields: (await this.catalog()).describe() }];
  }

  async close(): Promise<void> {
    if (!this.closing.signal.aborted) this.closing.abort(new ConnectorError('the hubspot connector was closed', { retryable: true }));
  }

  /** Before the catalog is read the fields stay as they are: a record read from HubSpot, or created there, reads it. */
  storedForm(fields: FlowRecord): FlowRecord {
    return this.catalogLoaded?.storedForm(fields) ?? fields;
  }

  private catalog(): Promise<PropertyCatalog> {
    this.catalogLoad ??= PropertyCatalog.load(this.client, this.collection, this.connection.properties).then(
      (catalog) => (this.catalogLoaded = catalog),
      (error: unknown) => {
        this.catalogLoad = null;
        throw error;
      },
    );
    return this.catalogLoad;
  }

  private assertOpen(): void {
    if (this.closing.signal.aborted) throw new ConnectorError('the hubspot connector was closed', { retryable: true });
  }
}
