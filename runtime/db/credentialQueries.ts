import type { Kysely } from 'kysely';
import type { CredentialRow, Database } from './schema';

type Db = Kysely<Database>;

/** Names, types and creation times of every credential: never the encrypted value. */
export async function listCredentialNames(db: Db): Promise<Array<Pick<CredentialRow, 'name' | 'type' | 'created_at'>>> {
  return db.selectFrom('credentials').select(['name', 'type', 'created_at']).orderBy('name').execute();
}

/** One credential row including its ciphertext, for decryption inside the runtime only. */
export async function getCredentialRow(db: Db, name: string): Promise<CredentialRow | undefined> {
  return db.selectFrom('credentials').selectAll().where('name', '=', name).executeTakeFirst();
}

/** Stores a credential; false when the name is taken. */
export async function insertCredentialRow(db: Db, row: CredentialRow): Promise<boolean> {
  const result = await db
    .insertInto('credentials')
    .values(row)
    .onConflict((oc) => oc.column('name').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

/** Removes a credential; false when there is none by that name. */
export async function deleteCredentialRow(db: Db, name: string): Promise<boolean> {
  const result = await db.deleteFrom('credentials').where('name', '=', name).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
