/**
 * Hooks still to be removed from their systems (runtime/scheduler/webhookRegistrations.ts), kept in the state so a
 * restart goes on trying: a removed flow's trigger config is nowhere else once the flow is gone.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema';

type StateDb = Kysely<Database>;

/** A hook whose trigger was paused, changed or removed, as its registration knew it. */
export interface WebhookRemoval {
  flowId: string;
  nodeId: string;
  url: string;
  /** The trigger's config as JSON. */
  config: string;
}

/** Notes a removal to be made; noting the same hook again keeps the first request's time. */
export async function noteWebhookRemoval(db: StateDb, removal: WebhookRemoval, at: string): Promise<void> {
  await db
    .insertInto('webhook_removals')
    .values({ flow_id: removal.flowId, node_id: removal.nodeId, url: removal.url, config: removal.config, requested_at: at })
    .onConflict((oc) => oc.columns(['flow_id', 'node_id', 'url']).doUpdateSet({ config: removal.config }))
    .execute();
}

/** The hook is gone from its system, or a trigger took its URL again: nothing is left to remove. */
export async function forgetWebhookRemoval(db: StateDb, removal: Pick<WebhookRemoval, 'flowId' | 'nodeId' | 'url'>): Promise<void> {
  await db.deleteFrom('webhook_removals').where('flow_id', '=', removal.flowId).where('node_id', '=', removal.nodeId).where('url', '=', removal.url).execute();
}

/** Every removal still to be made, oldest first. */
export async function pendingWebhookRemovals(db: StateDb): Promise<WebhookRemoval[]> {
  const rows = await db.selectFrom('webhook_removals').select(['flow_id', 'node_id', 'url', 'config']).orderBy('requested_at').orderBy('flow_id').orderBy('node_id').execute();
  return rows.map((row) => ({ flowId: row.flow_id, nodeId: row.node_id, url: row.url, config: row.config }));
}
