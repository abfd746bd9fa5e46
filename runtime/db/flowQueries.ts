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

/**
 * Removes a flow row, its trigger status, draft and deployed versions (its webhook events are in the inbox:
 * deleteFlowWebhookEvents).
 */
export async function deleteFlowRow(db: Db, id: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom('trigger_status').where('flow_id', '=', id).execute();
    await trx.deleteFrom('flow_drafts').where('flow_id', '=', id).execute();
    await trx.deleteFrom('flow_versions').where('flow_id', '=', id).execute();
    const result = await trx.deleteFrom('flows').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  });
}

export interface DraftRow {
  flowId: string;
  /** Canonical bytes of the draft document. */
  document: string;
  savedAt: string;
}

export interface VersionRow {
  flowId: string;
  version: number;
  document: string;
  deployedAt: string;
}

/** A flow's draft, or undefined. */
export async function getDraft(db: Db, flowId: string): Promise<DraftRow | undefined> {
  const row = await db.selectFrom('flow_drafts').selectAll().where('flow_id', '=', flowId).executeTakeFirst();
  return row && { flowId: row.flow_id, document: row.document, savedAt: row.saved_at };
}

/** Every draft, by flow id. */
export async function listDrafts(db: Db): Promise<DraftRow[]> {
  const rows = await db.selectFrom('flow_drafts').selectAll().orderBy('saved_at').execute();
  return rows.map((row) => ({ flowId: row.flow_id, document: row.document, savedAt: row.saved_at }));
}

/** Stores a flow's draft in place of the one before. */
export async function saveDraft(db: Db, flowId: string, document: string, now: string): Promise<void> {
  await db
    .insertInto('flow_drafts')
    .values({ flow_id: flowId, document, saved_at: now })
    .onConflict((oc) => oc.column('flow_id').doUpdateSet({ document, saved_at: now }))
    .execute();
}

/** Removes a flow's draft; false when it had none. With `ifDocument`, only a draft holding exactly those bytes. */
export async function deleteDraft(db: Db, flowId: string, ifDocument?: string): Promise<boolean> {
  let query = db.deleteFrom('flow_drafts').where('flow_id', '=', flowId);
  if (ifDocument !== undefined) query = query.where('document', '=', ifDocument);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/** A flow's deployed versions without their documents, newest first. */
export async function listVersions(db: Db, flowId: string): Promise<Omit<VersionRow, 'document'>[]> {
  const rows = await db
    .selectFrom('flow_versions')
    .select(['flow_id', 'version', 'deployed_at'])
    .where('flow_id', '=', flowId)
    .orderBy('version', 'desc')
    .execute();
  return rows.map((row) => ({ flowId: row.flow_id, version: row.version, deployedAt: row.deployed_at }));
}

/** One deployed version of a flow (the latest when `version` is left out), or undefined. */
export async function getVersion(db: Db, flowId: string, version?: number): Promise<VersionRow | undefined> {
  let query = db.selectFrom('flow_versions').selectAll().where('flow_id', '=', flowId);
  query = version === undefined ? query.orderBy('version', 'desc').limit(1) : query.where('version', '=', version);
  const row = await query.executeTakeFirst();
  return row && { flowId: row.flow_id, version: row.version, document: row.document, deployedAt: row.deployed_at };
}

/** The latest version number and time of every flow that has one. */
export async function latestVersions(db: Db): Promise<Map<string, { version: number; deployedAt: string; document: string }>> {
  const rows = await db
    .selectFrom('flow_versions as v')
    .selectAll('v')
    .where((eb) =>
      eb('v.version', '=', eb.selectFrom('flow_versions as w').select((w) => w.fn.max<number>('w.version').as('latest')).whereRef('w.flow_id', '=', 'v.flow_id')),
    )
    .execute();
  return new Map(rows.map((row) => [row.flow_id, { version: row.version, deployedAt: row.deployed_at, document: row.document }]));
}

/**
 * Records `document` as the flow's next version, unless it is the latest already; returns the version that holds it.
 * In one transaction, so two deploys at once cannot take the same number.
 */
export async function recordVersion(db: Db, flowId: string, document: string, now: string): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const latest = await trx
      .selectFrom('flow_versions')
      .select(['version', 'document'])
      .where('flow_id', '=', flowId)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (latest?.document === document) return latest.version;
    const version = (latest?.version ?? 0) + 1;
    await trx.insertInto('flow_versions').values({ flow_id: flowId, version, document, deployed_at: now }).execute();
    return version;
  });
}
