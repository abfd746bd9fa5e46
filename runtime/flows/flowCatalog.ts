import type { FlowDocument } from '../../nodes';
import type { StateDb } from '../db';
import type { InboxDb } from '../db/inbox';
import type { FlowRow } from '../db/schema';
import {
  deleteFlowRow,
  getFlowRow,
  insertFlowRow,
  listFlowRows,
  recordVersion,
  replaceFlowDocument,
  setFlowAlertUrl,
  setFlowDeployed,
} from '../db/flowQueries';
import { deleteFlowWebhookEvents } from '../db/webhookQueries';
import { describeIssue, type FlowLoader } from './flowLoader';

/** Stored document bytes (a flow, a draft, a version) back to the JSON value they hold. */
export function parseStored(bytes: string): unknown {
  try {
    return JSON.parse(bytes) as unknown;
  } catch {
    // Only a hand-edited state DB gets here; the loader then reports the document as unreadable.
    return null;
  }
}

/** What tells one version of a flow's row from another: its time of change, state and alert (and the bytes' length). */
function stamp(row: FlowRow): string {
  return `${row.updated_at}|${row.deployed}|${row.alert_url ?? ''}|${row.document.length}`;
}

export interface CatalogEntry {
  id: string;
  name: string;
  /** The stored canonical bytes, returned by GET /api/flows/:id exactly. */
  bytes: string;
  /** Null when the stored document no longer loads (a node type was removed): such a flow cannot run. */
  document: FlowDocument | null;
  loadError: string | null;
  deployed: boolean;
  alertUrl: string | null;
}

/**
 * The stored flows, parsed once and kept in memory: a webhook looks its trigger up on every request, and parsing
 * the document each time would cost more than storing the event. Every change goes to the state DB first.
 */
export class FlowCatalog {
  private readonly entries = new Map<string, CatalogEntry>();
  /** Per flow, what its row looked like when read (see refresh). */
  private readonly stamps = new Map<string, string>();

  constructor(
    private readonly db: StateDb,
    /** Where the flows' webhook events wait; a removed flow's go with it. */
    private readonly inbox: InboxDb,
    private readonly loadFlow: FlowLoader,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Loads every stored flow into memory. */
  async load(): Promise<void> {
    this.entries.clear();
    this.stamps.clear();
    for (const row of await listFlowRows(this.db)) this.put(row);
  }

  /**
   * Brings the flows other processes of a cluster changed into memory (every write goes to the state first, so the
   * state is the truth); returns the ids of the flows that changed, appeared or went.
   */
  async refresh(): Promise<string[]> {
    const rows = await listFlowRows(this.db);
    const changed: string[] = [];
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.id);
      if (this.stamps.get(row.id) === stamp(row)) continue;
      this.put(row);
      changed.push(row.id);
    }
    for (const id of [...this.entries.keys()]) {
      if (seen.has(id)) continue;
      this.entries.delete(id);
      this.stamps.delete(id);
      changed.push(id);
    }
    return changed;
  }

  /**
   * Reads one flow again from the state (a cluster's pass job may be for a flow deployed elsewhere a moment ago);
   * true when it changed, appeared or went.
   */
  async refreshOne(id: string): Promise<boolean> {
    const row = await getFlowRow(this.db, id);
    if (row) {
      if (this.stamps.get(id) === stamp(row)) return false;
      this.put(row);
      return true;
    }
    this.stamps.delete(id);
    return this.entries.delete(id);
  }

  private put(row: FlowRow): void {
    const loaded = this.loadFlow(parseStored(row.document));
    this.entries.set(row.id, {
      id: row.id,
      name: loaded.ok ? loaded.document.name : row.id,
      bytes: row.document,
      document: loaded.ok ? loaded.document : null,
      loadError: loaded.ok ? null : loaded.issues.map(describeIssue).join('; '),
      deployed: row.deployed === 1,
      alertUrl: row.alert_url,
    });
    this.stamps.set(row.id, stamp(row));
  }

  list(): CatalogEntry[] {
    return [...this.entries.values()];
  }

  get(id: string): CatalogEntry | undefined {
    return this.entries.get(id);
  }

  /** Stores a new flow; false when the id is taken. */
  async create(document: FlowDocument, bytes: string): Promise<boolean> {
    if (this.entries.has(document.id)) return false;
    if (!(await insertFlowRow(this.db, document.id, bytes, this.now().toISOString()))) return false;
    this.entries.set(document.id, { id: document.id, name: document.name, bytes, document, loadError: null, deployed: false, alertUrl: null });
    return true;
  }

  /**
   * Replaces a flow's document, keeping its deployed state and alert; false when there is no such flow. A deployed
   * flow runs the new document at once, so it becomes the flow's next version.
   */
  async replace(document: FlowDocument, bytes: string): Promise<boolean> {
    const entry = this.entries.get(document.id);
    const now = this.now().toISOString();
    if (!entry || !(await replaceFlowDocument(this.db, document.id, bytes, now))) return false;
    this.entries.set(document.id, { ...entry, name: document.name, bytes, document, loadError: null });
    if (entry.deployed) await recordVersion(this.db, document.id, bytes, now);
    return true;
  }

  /** Deploys or pauses a flow; deploying records its document as its next version when it differs from the last. */
  async setDeployed(id: string, deployed: boolean): Promise<boolean> {
    const entry = this.entries.get(id);
    const now = this.now().toISOString();
    if (!entry || !(await setFlowDeployed(this.db, id, deployed, now))) return false;
    entry.deployed = deployed;
    if (deployed) await recordVersion(this.db, id, entry.bytes, now);
    return true;
  }

  async setAlertUrl(id: string, url: string | null): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry || !(await setFlowAlertUrl(this.db, id, url, this.now().toISOString()))) return false;
    entry.alertUrl = url;
    return true;
  }

  /** Removes a flow, its webhook events and delivery ids; false when there was no such flow row. */
  async remove(id: string): Promise<boolean> {
    // The inbox first: a crash between the two deletes leaves a flow that was on its way out without its stale
    // events (only hints), never events of a deleted flow, which would stay pending forever and whose delivery ids
    // would make a new flow of the same id ignore its own deliveries.
    await deleteFlowWebhookEvents(this.inbox, id);
    const removed = await deleteFlowRow(this.db, id);
    this.entries.delete(id);
    return removed;
  }
}
