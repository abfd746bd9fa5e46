import type { Insertable, Kysely } from 'kysely';
import type { CredentialRow, CredentialsTable, Database } from './schema';

type Db = Kysely<Database>;

/** Names, types, creation times and OAuth2 details of every credential: never the encrypted value. */
export async function listCredentialNames(db: Db): Promise<Array<Pick<CredentialRow, 'name' | 'type' | 'created_at' | 'details'>>> {
  return db.selectFrom('credentials').select(['name', 'type', 'created_at', 'details']).orderBy('name').execute();
}

/** One credential row including its ciphertext, for decryption inside the runtime only. */
export async function getCredentialRow(db: Db, name: string): Promise<CredentialRow | undefined> {
  return db.selectFrom('credentials').selectAll().where('name', '=', name).executeTakeFirst();
}

/** Stores a credential; false when the name is taken. */
export async function insertCredentialRow(db: Db, row: Insertable<CredentialsTable>): Promise<boolean> {
  const result = await db
    .insertInto('credentials')
    .values(row)
    .onConflict((oc) => oc.column('name').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

/**
 * Stores a credential, replacing the value, type and details of one by that name (a reconnected OAuth2 credential). A
 * refresh in progress on the old value loses its lease, so it cannot write old tokens over the new ones.
 */
export async function upsertCredentialRow(db: Db, row: Pick<CredentialRow, 'name' | 'type' | 'value_encrypted' | 'details' | 'created_at'>): Promise<void> {
  await db
    .insertInto('credentials')
    .values({ ...row, updated_at: null, refresh_lease: null, refresh_lease_expires: null })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({
        type: row.type,
        value_encrypted: row.value_encrypted,
        details: row.details,
        updated_at: row.created_at,
        refresh_lease: null,
        refresh_lease_expires: null,
      }),
    )
    .execute();
}

/** Removes a credential; false when there is none by that name. */
export async function deleteCredentialRow(db: Db, name: string): Promise<boolean> {
  const result = await db.deleteFrom('credentials').where('name', '=', name).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/**
 * Takes the refresh lease of a credential: true when no one holds it, or the holder's lease lapsed (`now` is past its
 * expiry). One statement, so of two refreshers that race for it exactly one gets it.
 */
export async function takeRefreshLease(db: Db, name: string, lease: string, expires: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('credentials')
    .set({ refresh_lease: lease, refresh_lease_expires: expires })
    .where('name', '=', name)
    .where((eb) => eb.or([eb('refresh_lease', 'is', null), eb('refresh_lease_expires', '<', now)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Whether someone holds an unlapsed refresh lease on the credential (false too when it is gone). */
export async function refreshLeaseHeld(db: Db, name: string, now: string): Promise<boolean> {
  const row = await db.selectFrom('credentials').select(['refresh_lease', 'refresh_lease_expires']).where('name', '=', name).executeTakeFirst();
  return row !== undefined && row.refresh_lease !== null && (row.refresh_lease_expires === null || row.refresh_lease_expires >= now);
}

/**
 * Stores what a refresh obtained and gives the lease back; false (nothing written) when the lease was lost meanwhile:
 * the credential was removed or reconnected, or the lease lapsed and another refresher took it.
 */
export async function storeRefreshed(db: Db, name: string, lease: string, values: Pick<CredentialRow, 'value_encrypted' | 'details' | 'updated_at'>): Promise<boolean> {
  const result = await db
    .updateTable('credentials')
    .set({ ...values, refresh_lease: null, refresh_lease_expires: null })
    .where('name', '=', name)
    .where('refresh_lease', '=', lease)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Gives a refresh lease back, setting the credential's details when given (its status after a refusal). */
export async function releaseRefreshLease(db: Db, name: string, lease: string, details?: string): Promise<void> {
  await db
    .updateTable('credentials')
    .set({ refresh_lease: null, refresh_lease_expires: null, ...(details === undefined ? {} : { details }) })
    .where('name', '=', name)
    .where('refresh_lease', '=', lease)
    .execute();
}
