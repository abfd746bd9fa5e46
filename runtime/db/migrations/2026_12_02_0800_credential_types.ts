import { sql, type Kysely } from 'kysely';
import { textType } from '../dialect';

// Never edit a migration once landed: add a new dated file instead.

/**
 * Credentials get kinds: `token`, `basic` and `oauth2` (runtime/credentials/types.ts). A `basic` or `oauth2` value is
 * encrypted JSON; any other type is a label on a plain secret, which reads as a token, as every value stored so far
 * does. A value stored before under the type `basic` or `oauth2` was such a plain secret, so it becomes a `token`.
 *
 * - `details`: what the list shows of an OAuth2 credential without decrypting it (grant, status, expiry). JSON.
 * - `updated_at`: when the value last changed (a refresh stores new tokens).
 * - `refresh_lease`, `refresh_lease_expires`: who is refreshing an OAuth2 token, so that the API, the pass worker and a
 *   `run --once` beside them refresh it once, not each with the same refresh token (which a server that rotates
 *   refresh tokens answers with invalid_grant for all but the first).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const text = textType(db);
  await db.schema.alterTable('credentials').addColumn('details', text).execute();
  await db.schema.alterTable('credentials').addColumn('updated_at', text).execute();
  await db.schema.alterTable('credentials').addColumn('refresh_lease', text).execute();
  await db.schema.alterTable('credentials').addColumn('refresh_lease_expires', text).execute();
  await sql`update credentials set type = 'token' where type in ('basic', 'oauth2')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['refresh_lease_expires', 'refresh_lease', 'updated_at', 'details']) {
    await db.schema.alterTable('credentials').dropColumn(column).execute();
  }
}
