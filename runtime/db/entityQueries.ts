import type { Db } from './queries';

/** An entity's golden record and where its values came from, as stored (JSON), if the entity exists. */
export async function entityGolden(db: Db, entityId: string): Promise<{ golden: string; provenance: string | null } | undefined> {
  return await db.selectFrom('entities').select(['golden', 'provenance']).where('id', '=', entityId).executeTakeFirst();
}

/** Replaces an entity's golden record and its provenance (JSON), in one statement. */
export async function setEntityGolden(db: Db, entityId: string, golden: string, provenance: string, at: string): Promise<void> {
  await db.updateTable('entities').set({ golden, provenance, updated_at: at }).where('id', '=', entityId).execute();
}

/** Marks an entity deleted: what is still linked to it is deleted by the next pass, and nothing recreates it. */
export async function markEntityDeleted(db: Db, entityId: string): Promise<void> {
  await db.updateTable('entities').set({ deleted: 1 }).where('id', '=', entityId).execute();
}

/** Takes an entity out of the sync: the breaker tripped on it. */
export async function quarantineEntity(db: Db, entityId: string): Promise<void> {
  await db.updateTable('entities').set({ quarantined: 1 }).where('id', '=', entityId).execute();
}

/** Puts a quarantined entity back into the sync with its breaker count reset. */
export async function releaseEntity(db: Db, entityId: string): Promise<void> {
  await db.updateTable('entities').set({ quarantined: 0, breaker_writes: 0, breaker_window_start: null }).where('id', '=', entityId).execute();
}
