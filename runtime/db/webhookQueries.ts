import type { Kysely } from 'kysely';
import type { Database, WebhookEventRow } from './schema';

type Db = Kysely<Database>;

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

/**
 * Stores the deliveries that arrived together in one transaction (the group commit behind the 202). Returns, per
 * delivery, whether it was new; a delivery id seen before is skipped with its events.
 */
export async function storeDeliveries(db: Db, deliveries: readonly IncomingDelivery[], now: string): Promise<boolean[]> {
  return db.transaction().execute(async (trx) => {
    const fresh: boolean[] = [];
    const rows: Array<Omit<WebhookEventRow, 'id' | 'processed_at'>> = [];
    for (const delivery of deliveries) {
      if (delivery.deliveryId !== null) {
        const taken = await trx
          .insertInto('webhook_deliveries')
          .values({ flow_id: delivery.flowId, node_id: delivery.nodeId, delivery_id: delivery.deliveryId, received_at: now })
          .onConflict((oc) => oc.columns(['flow_id', 'node_id', 'delivery_id']).doNothing())
          .executeTakeFirst();
        if (Number(taken.numInsertedOrUpdatedRows ?? 0) === 0) {
          fresh.push(false);
          continue;
        }
      }
      fresh.push(true);
      for (const event of delivery.events) {
        rows.push({
          flow_id: delivery.flowId,
          node_id: delivery.nodeId,
          record_id: event.recordId,
          type: event.type,
          delivery_id: delivery.deliveryId,
          received_at: now,
        });
      }
    }
    // SQLite allows 32766 bound parameters per statement; six per row.
    for (let start = 0; start < rows.length; start += 5000) {
      await trx.insertInto('webhook_events').values(rows.slice(start, start + 5000)).execute();
    }
    return fresh;
  });
}

/** The oldest unprocessed events of a flow, in arrival order. */
export async function pendingEvents(db: Db, flowId: string, limit: number): Promise<WebhookEventRow[]> {
  return db
    .selectFrom('webhook_events')
    .selectAll()
    .where('flow_id', '=', flowId)
    .where('processed_at', 'is', null)
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** Flows that have unprocessed events (to drain after a restart). */
export async function flowsWithPendingEvents(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('webhook_events').select('flow_id').distinct().where('processed_at', 'is', null).execute();
  return rows.map((row) => row.flow_id);
}

/** Marks a flow's events up to `lastId` (inclusive) processed. */
export async function markEventsProcessed(db: Db, flowId: string, lastId: number, now: string): Promise<void> {
  await db
    .updateTable('webhook_events')
    .set({ processed_at: now })
    .where('flow_id', '=', flowId)
    .where('processed_at', 'is', null)
    .where('id', '<=', lastId)
    .execute();
}

/** Drops processed events and delivery ids older than `before`: how long a repeated delivery id is recognised. */
export async function pruneWebhookHistory(db: Db, before: string): Promise<void> {
  await db.deleteFrom('webhook_events').where('processed_at', 'is not', null).where('received_at', '<', before).execute();
  await db.deleteFrom('webhook_deliveries').where('received_at', '<', before).execute();
}
