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

/** The oldest unprocessed events of a flow, in arrival order; after `afterId` when given (a batch already taken). */
export async function pendingEvents(inbox: InboxDb, flowId: string, limit: number, afterId = 0): Promise<WebhookEventRow[]> {
  return inbox
    .selectFrom('webhook_events')
    .selectAll()
    .where('flow_id', '=', flowId)
    .where('processed_at', 'is', null)
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** Flows that have unprocessed events (to drain after a restart). */
export async function flowsWithPendingEvents(inbox: InboxDb): Promise<string[]> {
  const rows = await inbox.selectFrom('webhook_events').select('flow_id').distinct().where('processed_at', 'is', null).execute();
  return rows.map((row) => row.flow_id);
}

/** Marks a flow's events up to `lastId` (inclusive) processed. */
export async function markEventsProcessed(inbox: InboxDb, flowId: string, lastId: number, now: string): Promise<void> {
  await inbox
    .updateTable('webhook_events')
    .set({ processed_at: now })
    .where('flow_id', '=', flowId)
    .where('processed_at', 'is', null)
    .where('id', '<=', lastId)
    .execute();
}

/** Drops processed events and delivery ids older than `before`: how long a repeated delivery id is recognised. */
export async function pruneWebhookHistory(inbox: InboxDb, before: string): Promise<void> {
  await inbox.deleteFrom('webhook_events').where('processed_at', 'is not', null).where('received_at', '<', before).execute();
  await inbox.deleteFrom('webhook_deliveries').where('received_at', '<', before).execute();
}

/** Drops a flow's events, pending or not, and its delivery ids (when the flow is deleted). */
export async function deleteFlowWebhookEvents(inbox: InboxDb, flowId: string): Promise<void> {
  await inbox.transaction().execute(async (trx) => {
    await trx.deleteFrom('webhook_events').where('flow_id', '=', flowId).execute();
    await trx.deleteFrom('webhook_deliveries').where('flow_id', '=', flowId).execute();
  });
}
