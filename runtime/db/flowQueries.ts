import type { Kysely } from 'kysely';
import type { Database, FlowRow } from './schema';

type Db = Kysely<Database>;

/** Every stored flow, oldest first. */
export async function listFlowRows(db: Db): Promise<FlowRow[]> {
  return db.selectFrom('flows').selectAll().orderBy('created_at').orderBy('id').execute();
}

/** One stored flow, or undefined. */
export async function getFlowRow(db: Db, id: string): Promise<FlowRow | undefined> {
  return db.selectFrom('flows').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Stores a new flow; false when the id is taken. */
export async function insertFlowRow(db: Db, id: string, document: string, now: string): Promise<boolean> {
  const result = await db
    .insertInto('flows')
    .values({ id, document, deployed: 0, alert_url: null, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

/** Replaces a flow's document; false when there is no such flow. */
export async function replaceFlowDocument(db: Db, id: string, document: string, now: string): Promise<boolean> {
  const result = await db.updateTable('flows').set({ document, updated_at: now }).where('id', '=', id).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Marks a flow deployed or paused; false when there is no such flow. */
export async function setFlowDeployed(db: Db, id: string, deployed: boolean, now: string): Promise<boolean> {
  const result = await db
    .updateTable('flows')
    .set({ deployed: deployed ? 1 : 0, updated_at: now })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Sets or clears a flow's alert webhook; false when there is no such flow. */
export async function setFlowAlertUrl(db: Db, id: string, url: string | null, now: string): Promise<boolean> {
  const result = await db.updateTable('flows').set({ alert_url: url, updated_at: now }).where('id', '=', id).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Removes a flow row and its trigger status (its webhook events are in the inbox: deleteFlowWebhookEvents). */
export async function deleteFlowRow(db: Db, id: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom('trigger_status').where('flow_id', '=', id).execute();
    const result = await trx.deleteFrom('flows').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  });
}
