import { sql } from 'kysely';
import { deleteInChunks, oneOf, pauseForOtherWriters } from './bulk';
import type { InboxDb } from './inbox';
import type { WebhookEventRow } from './schema';

export interface IncomingEvent {
  recordId: string;
  type: 'upsert' | 'delete';
}

export interface IncomingDelivery {
  flowId: string;
  nodeId: string;
  deliveryId: string | null;
  events: IncomingEvent[];
}

/** SQLite binds at most 32766 parameters per statement; rows are inserted in chunks well under that. */
const ROWS_PER_INSERT = 4000;

/**
 * Stores the deliveries that arrived together in one transaction (the group commit behind the 202). Returns, per
 * delivery, whether it was new; a delivery id seen before (now or earlier in the same batch) is skipped with its
 * events.
 */
export async function storeDeliveries(inbox: InboxDb, deliveries: readonly IncomingDelivery[], now: string): Promise<boolean[]> {
  return inbox.transaction().execute(async (trx) => {
    const keyOf = (delivery: IncomingDelivery) => `${delivery.flowId}\u0000${delivery.nodeId}\u0000${delivery.deliveryId}`;
    const identified = deliveries.filter((delivery) => delivery.deliveryId !== null);
    // One multi-row insert per chunk; RETURNING names exactly the delivery ids that were not taken before.
    const taken = new Set<string>();
    for (let start = 0; start < identified.length; start += ROWS_PER_INSERT) {
      const inserted = await trx
        .insertInto('webhook_deliveries')
        .values(
          identified.slice(start, start + ROWS_PER_INSERT).map((delivery) => ({
            flow_id: delivery.flowId,
            node_id: delivery.nodeId,
            delivery_id: delivery.deliveryId as string,
            received_at: now,
          })),
        )
        .onConflict((oc) => oc.columns(['flow_id', 'node_id', 'delivery_id']).doNothing())
        .returning(['flow_id', 'node_id', 'delivery_id'])
        .execute();
      for (const row of inserted) taken.add(`${row.flow_id}\u0000${row.node_id}\u0000${row.delivery_id}`);
    }
    const fresh = deliveries.map((delivery) => {
      if (delivery.deliveryId === null) return true;
      // The first delivery with a new id claims it; a repeat later in the same batch finds it claimed.
      return taken.delete(keyOf(delivery));
    });
    const rows = deliveries.flatMap((delivery, index) =>
      fresh[index]
        ? delivery.events.map((event) => ({
            flow_id: delivery.flowId,
            node_id: delivery.nodeId,
            record_id: event.recordId,
            type: event.type,
            delivery_id: delivery.deliveryId,
            received_at: now,
          }))
        : [],
    );
    for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
      await trx.insertInto('webhook_events').values(rows.slice(start, start + ROWS_PER_INSERT)).execute();
    }
    return fresh;
  });
}

/**
 * The oldest unprocessed events of a flow, in arrival order; after `afterId` when given (a batch already taken), and
 * leaving out the events of `skipNodes` (triggers whose system asked to be called later).
 */
export async function pendingEvents(inbox: InboxDb, flowId: string, limit: number, afterId = 0, skipNodes: readonly string[] = []): Promise<WebhookEventRow[]> {
  let query = inbox.selectFrom('webhook_events').selectAll().where('flow_id', '=', flowId).where('processed_at', 'is', null).where('id', '>', afterId);
  if (skipNodes.length > 0) query = query.where('node_id', 'not in', skipNodes);
  return query.orderBy('id').limit(limit).execute();
}

/** Flows that have unprocessed events (to drain after a restart). */
export async function flowsWithPendingEvents(inbox: InboxDb): Promise<string[]> {
  const rows = await inbox.selectFrom('webhook_events').select('flow_id').distinct().where('processed_at', 'is', null).execute();
  return rows.map((row) => row.flow_id);
}

/** The events of a batch a pass handled: the flow's after `afterId` up to `lastId`, but for those of `exceptNodes`. */
export interface HandledEvents {
  afterId: number;
  lastId: number;
  exceptNodes: readonly string[];
}

/** Marks a batch's events processed, but for those of the triggers its pass could not read (they stay pending). */
export async function markEventsProcessed(inbox: InboxDb, flowId: string, handled: HandledEvents, now: string): Promise<void> {
  let update = inbox
    .updateTable('webhook_events')
    .set({ processed_at: now })
    .where('flow_id', '=', flowId)
    .where('processed_at', 'is', null)
    .where('id', '>', handled.afterId)
    .where('id', '<=', handled.lastId);
  if (handled.exceptNodes.length > 0) update = update.where('node_id', 'not in', handled.exceptNodes);
  await update.execute();
}

/** Rows a pruning statement deletes at most: each one holds the inbox's write lock, which the intake's 202s wait for. */
const PRUNE_CHUNK_ROWS = 5000;

/**
 * Drops processed events and delivery ids older than `before`: how long a repeated delivery id is recognised. Returns
 * how many rows went.
 *
 * A chunk at a time with a pause between, so the intake commits in between: a day of events at a few thousand a
 * second is hundreds of millions of rows, which one statement would delete while every webhook waited. Events are
 * walked in id order, which is arrival order, and the walk stops at the first one too recent to go; events still
 * pending are kept, however old.
 */
export async function pruneWebhookHistory(inbox: InboxDb, before: string, chunkRows = PRUNE_CHUNK_ROWS): Promise<number> {
  let pruned = 0;
  for (let afterId = 0; ; ) {
    const rows = await inbox
      .selectFrom('webhook_events')
      .select(['id', 'received_at', 'processed_at'])
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(chunkRows)
      .execute();
    const recentAt = rows.findIndex((row) => row.received_at >= before);
    const old = recentAt < 0 ? rows : rows.slice(0, recentAt);
    const ids = old.filter((row) => row.processed_at !== null).map((row) => row.id as number);
    if (ids.length > 0) {
      const deleted = await inbox.deleteFrom('webhook_events').where('id', 'in', oneOf(ids)).executeTakeFirst();
      pruned += Number(deleted.numDeletedRows);
    }
    if (recentAt >= 0 || rows.length < chunkRows) break;
    afterId = rows[rows.length - 1]!.id as number;
    await pauseForOtherWriters();
  }
  // The oldest first, by the index on received_at; the key is the table (without rowid), so rows go by key.
  pruned += await deleteInChunks(
    inbox,
    sql`delete from webhook_deliveries where (flow_id, node_id, delivery_id) in (
      select flow_id, node_id, delivery_id from webhook_deliveries where received_at < ${before} order by received_at limit ${chunkRows})`,
    chunkRows,
  );
  return pruned;
}

/** Drops a flow's events, pending or not, and its delivery ids (when the flow is deleted). */
export async function deleteFlowWebhookEvents(inbox: InboxDb, flowId: string): Promise<void> {
  await inbox.transaction().execute(async (trx) => {
    await trx.deleteFrom('webhook_events').where('flow_id', '=', flowId).execute();
    await trx.deleteFrom('webhook_deliveries').where('flow_id', '=', flowId).execute();
  });
}
