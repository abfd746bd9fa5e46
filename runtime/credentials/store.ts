import type { StateDb } from '../db';
import { deleteCredentialRow, getCredentialRow, insertCredentialRow, listCredentialNames } from '../db/credentialQueries';
import { decryptSecret, encryptSecret } from './cipher';

export interface CredentialSummary {
  name: string;
  type: string;
  createdAt: string;
}

/** Thrown when a flow names a credential that is not stored. */
export class MissingCredentialError extends Error {
  readonly credential: string;
  constructor(name: string) {
    super(`credential "${name}" is not stored: add it with POST /api/credentials`);
    this.name = 'MissingCredentialError';
    this.credential = name;
  }
}

/**
 * Stored secrets, encrypted at rest. Values leave this class only through `resolve`, which the engine and the
 * webhook check call; nothing here logs or returns them otherwise. Decrypted values are cached because a webhook
 * signature check needs the secret on every request.
 */
export class CredentialStore {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly db: StateDb,
    private readonly key: Buffer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Names and types, never values. */
  async list(): Promise<CredentialSummary[]> {
    const rows = await listCredentialNames(this.db);
    return rows.map((row) => ({ name: row.name, type: row.type, createdAt: row.created_at }));
  }

  /** Stores a new credential; false when the name is taken. */
  async create(name: string, type: string, value: string): Promise<CredentialSummary | null> {
    const createdAt = this.now().toISOString();
    const inserted = await insertCredentialRow(this.db, {
      name,
      type,
      value_encrypted: encryptSecret(this.key, name, value),
      created_at: createdAt,
    });
    if (!inserted) return null;
    this.cache.delete(name);
    return { name, type, createdAt };
  }

  /** Removes a credential; false when there is none by that name. */
  async remove(name: string): Promise<boolean> {
    this.cache.delete(name);
    return deleteCredentialRow(this.db, name);
  }

  /** The decrypted value; throws MissingCredentialError when the name is not stored. */
  async resolve(name: string): Promise<string> {
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    const row = await getCredentialRow(this.db, name);
    if (!row) throw new MissingCredentialError(name);
    const value = decryptSecret(this.key, name, row.value_encrypted);
    this.cache.set(name, value);
    return value;
  }
}
