import type { FlowDocument } from '../../nodes';
import type { StateDb } from '../db';
import {
  deleteFlowRow,
  insertFlowRow,
  listFlowRows,
  replaceFlowDocument,
  setFlowAlertUrl,
  setFlowDeployed,
} from '../db/flowQueries';
import { describeIssue, type FlowLoader } from './flowLoader';

function parseStored(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Only a hand-edited state DB gets here; the loader then reports the document as unreadable.
    return null;
  }
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

  constructor(
    private readonly db: StateDb,
    private readonly loadFlow: FlowLoader,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Loads every stored flow into memory. */
  async load(): Promise<void> {
    this.entries.clear();
    for (const row of await listFlowRows(this.db)) {
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
    }
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

  /** Replaces a flow's document, keeping its deployed state and alert; false when there is no such flow. */
  async replace(document: FlowDocument, bytes: string): Promise<boolean> {
    const entry = this.entries.get(document.id);
    if (!entry || !(await replaceFlowDocument(this.db, document.id, bytes, this.now().toISOString()))) return false;
    this.entries.set(document.id, { ...entry, name: document.name, bytes, document, loadError: null });
    return true;
  }

  async setDeployed(id: string, deployed: boolean): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry || !(await setFlowDeployed(this.db, id, deployed, this.now().toISOString()))) return false;
    entry.deployed = deployed;
    return true;
  }

  async setAlertUrl(id: string, url: string | null): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry || !(await setFlowAlertUrl(this.db, id, url, this.now().toISOString()))) return false;
    entry.alertUrl = url;
    return true;
  }

  async remove(id: string): Promise<boolean> {
    const removed = await deleteFlowRow(this.db, id);
    this.entries.delete(id);
    return removed;
  }
}
