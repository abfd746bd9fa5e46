/**
 * The write-ahead journal (schema.ts `WriteAheadTable`): one row per page of writes in flight. A pass appends a page's
 * row before its first write and deletes it when it commits the page; rows that outlive their pass are what a crash
 * interrupted, read by the next pass's recovery and trimmed as it settles them.
 */
import type { FlowRecord } from '../../nodes/types';
import { oneOf } from './bulk';
import { chunked, type Db } from './queries';

/** A create or update a page means to make. */
export interface PendingWrite {
  /** The tag the write carries (`syncline:<flow>:<write id>`, SPEC §6). */
  tag: string;
  nodeId: string;
  entityId: string;
  /** The record updated; null for a create. */
  recordId: string | null;
  /** `writtenContentHash` of what the write sends. */
  hash: string;
  /**
   * What it sends, for creates on every side and updates on sides that store tags: after a crash, the side is taken to
   * hold exactly this, and only its changes since count as its own (recovery.ts). Null where it would never be read.
   */
  written: FlowRecord | null;
}

/** A record the page links to its entity before writing anything: a crash mid-write must not lead to a second create. */
export interface PendingLink {
  nodeId: string;
  recordId: string;
  entityId: string;
  /** The record's version as a link stores it (JSON text), or null. */
  version: string | null;
}

export interface WriteAheadPage {
  page: string;
  flowId: string;
  createdAt: string;
  writes: PendingWrite[];
  links: PendingLink[];
}

/** Appends a page's intended writes and links. */
export async function appendWriteAhead(db: Db, page: WriteAheadPage): Promise<void> {
  await db
    .insertInto('write_ahead')
    .values({ page: page.page, flow_id: page.flowId, created_at: page.createdAt, writes: JSON.stringify(page.writes), links: JSON.stringify(page.links) })
    .execute();
}

/** The pages of a flow still in the journal, oldest first: in flight in a running pass, or interrupted. */
export async function writeAheadPages(db: Db, flowId: string): Promise<WriteAheadPage[]> {
  const rows = await db.selectFrom('write_ahead').selectAll().where('flow_id', '=', flowId).orderBy('page').execute();
  return rows.map((row) => ({
    page: row.page,
    flowId: row.flow_id,
    createdAt: row.created_at,
    writes: JSON.parse(row.writes) as PendingWrite[],
    links: JSON.parse(row.links) as PendingLink[],
  }));
}

/** Deletes these pages: committed, or settled by recovery. */
export async function deleteWriteAhead(db: Db, pages: readonly string[]): Promise<void> {
  for (const chunk of chunked(pages)) await db.deleteFrom('write_ahead').where('page', 'in', oneOf(chunk)).execute();
}

/** Keeps of a page only what is still unsettled (recovery.ts), or deletes it when nothing is. */
export async function rewriteWriteAhead(db: Db, page: WriteAheadPage): Promise<void> {
  if (page.writes.length === 0 && page.links.length === 0) {
    await deleteWriteAhead(db, [page.page]);
    return;
  }
  await db
    .updateTable('write_ahead')
    .set({ writes: JSON.stringify(page.writes), links: JSON.stringify(page.links) })
    .where('page', '=', page.page)
    .execute();
}
