/**
 * The `users` collection: the people of a Zendesk account, requesters above all
 * (https://developer.zendesk.com/api-reference/ticketing/users/users/). `connection.userRoles` narrows it to some
 * roles (`["end-user"]` for customers only): users of other roles are neither listed nor read.
 *
 * Read through the cursor-based incremental user export (a deleted user comes in it with `active: false`); written
 * inside Zendesk's `{"user": {…}}` envelope, but for a new email address, which goes through the user's identities
 * (see setPrimaryEmail). Zendesk has no conditional update for users, so writes are not conditional. The sync never
 * deletes a user (`deletes: 'cannot'`): deleting one in Zendesk also takes away their identities and, once purged,
 * their personal data on every ticket — not something a sync should do for another system's delete.
 */
import type { FlowRecord } from '../../../nodes/types';
import type { CollectionDescription, Connector, ConnectorCapabilities, ListPage, ListPosition, SourceRecord, WriteOp, WriteResult } from '../types';
import { ChangeFeed } from '../saas/changeFeed';
import { ConnectorError } from '../types';
import { errorText, type ZendeskClient, type ZendeskResponse } from './client';
import type { ZendeskConnection } from './config';
import { readCursorExport, zendeskLookbackMs } from './incremental';
import { describeZendesk, preview, text, userFieldDescriptions } from './shape';
import { TicketFieldCatalog } from './ticketFields';
import { idValue, readTags, refused, writeEach, writeTags, zendeskId } from './writes';
import { isoVersion } from '../timestamps';

const idsPerRequest = 100;
const userBookkeeping: Record<string, string> = { id: "the user's id, Zendesk's key", updated_at: "the user's change time, kept by Zendesk", created_at: "the user's creation time, kept by Zendesk" };
const textFields = new Set(['name', 'email', 'phone', 'external_id', 'notes', 'details', 'role']);

export class ZendeskUsers implements Connector {
  readonly capabilities: ConnectorCapabilities = {
    // Zendesk's safe_update exists for tickets only.
    conditionalWrites: false,
    tags: false,
    incremental: true,
    fullScan: false,
    deletes: 'cannot',
    lookbackMs: zendeskLookbackMs,
  };
  private readonly listing: ChangeFeed;
  /**
   * Whether the account has tags on users, as its answers tell ("tags: … Only present if your account has user tagging
   * enabled", Users, JSON format); null until a user is read. Without it a user has no `tags` field at all: read as an
   * empty list, every user's tags would be wiped on the other side.
   */
  private userTagging: boolean | null = null;

  constructor(
    private readonly client: ZendeskClient,
    private readonly connection: ZendeskConnection,
    private readonly perPage: number,
    private readonly onClose: () => void,
  ) {
    this.listing = new ChangeFeed({ lookbackMs: zendeskLookbackMs, changedSince: (since) => this.changedSince(since) });
  }

  listSince(position: ListPosition, limit: number): Promise<ListPage> {
    return this.listing.listSince(position, limit);
  }

  async getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>> {
    const found = new Map<string, SourceRecord>();
    const wanted = [...new Set(ids.filter((id) => zendeskId(id) !== null))];
    const asked = new Set(wanted);
    for (let index = 0; index < wanted.length; index += idsPerRequest) {
      const body = await this.client.getJson(this.client.url('/api/v2/users/show_many.json', { ids: wanted.slice(index, index + idsPerRequest).join(',') }));
      for (const user of Array.isArray(body.users) ? (body.users as Array<Record<string, unknown>>) : []) {
        const record = this.toRecord(user);
        if (record && asked.has(record.id)) found.set(record.id, record);
      }
    }
    return found;
  }

  async write(ops: readonly WriteOp[]): Promise<WriteResult[]> {
    return writeEach(ops, (op) => this.writeOne(op), () => this.client.now());
  }

  // eslint-disable-next-line require-yield
  async *scanIds(): AsyncIterable<string[]> {
    throw new ConnectorError('zendesk users are not scanned: the sync never deletes users, and deleted users come through the incremental export');
  }

  async describe(): Promise<CollectionDescription[]> {
    return describeZendesk(await TicketFieldCatalog.load(this.client, this.connection));
  }

  async close(): Promise<void> {
    this.onClose();
  }

  private async *changedSince(since: Date | null): AsyncIterable<SourceRecord[]> {
    for await (const users of readCursorExport(this.client, { path: '/api/v2/incremental/users/cursor.json', key: 'users', perPage: this.perPage }, since)) {
      yield users.map((user) => this.toRecord(user)).filter((record): record is SourceRecord => record !== null);
    }
  }

  private toRecord(user: Record<string, unknown>): SourceRecord | null {
    if (typeof user.id !== 'number') return null;
    const roles = this.connection.userRoles;
    if (roles && !roles.has(user.role as never)) return null;
    const fields: FlowRecord = {
      name: text(user.name) ?? '',
      email: text(user.email),
      phone: text(user.phone),
      role: text(user.role),
      organization_id: idValue(user.organization_id) ?? null,
      external_id: text(user.external_id),
      notes: text(user.notes),
      details: text(user.details),
      ...(this.tagsOf(user) ? { tags: readTags(user.tags) } : {}),
      suspended: user.suspended === true,
    };
    // "active: false if the user has been deleted" (Users, JSON format).
    return { id: String(user.id), version: isoVersion(user.updated_at), tag: null, deleted: user.active === false, fields };
  }

  private async writeOne(op: WriteOp): Promise<WriteResult> {
    if (op.kind === 'delete') {
      return refused('the sync does not delete Zendesk users (a deleted user loses their identities, and once purged, their data on every ticket): delete them in Zendesk, or set deletes to "ignore" for this trigger');
    }
    if ('tags' in op.fields && this.userTagging === false) {
      return refused('tags cannot be written to Zendesk users: this account has tags on users turned off, so Zendesk answers users without tags and drops what is written; turn on "Enable tags on users and organizations" (Admin Center › Objects and rules › Tags), or leave tags out of the mapping\'s direction toward Zendesk users');
    }
    const built = userInput(op.fields, op.kind);
    if ('error' in built) return refused(built.error);
    if (op.kind === 'create') {
      const response = await this.client.request('POST', this.client.url('/api/v2/users.json'), { user: built.input });
      if (response.status === 201 || response.status === 200) return this.written(response);
      return this.writeFailure(response, 'create');
    }
    const id = zendeskId(op.id);
    if (id === null) return { ok: false, reason: 'missing' };
    // "email: … Writeable on create only. On update, a secondary email is added" (Users, JSON format): a new address
    // goes through the user's identities instead, and the rest of the fields through Update User.
    const { email, ...rest } = built.input;
    if (typeof email === 'string') {
      const failed = await this.setPrimaryEmail(id, email);
      if (failed) return failed;
      if (Object.keys(rest).length === 0) {
        const current = await this.client.request('GET', this.client.url(`/api/v2/users/${id}.json`));
        return current.status === 200 ? this.written(current) : this.writeFailure(current, `user ${id}`);
      }
    }
    const response = await this.client.request('PUT', this.client.url(`/api/v2/users/${id}.json`), { user: typeof email === 'string' ? rest : built.input });
    if (response.status === 200) return this.written(response);
    return this.writeFailure(response, `user ${id}`);
  }

  /**
   * Makes `email` the user's primary address, as "A user's primary email address is controlled through the User
   * Identities endpoints" (support article 4408885830682): an address the user holds already is made primary (Make
   * Identity Primary; the old one stays, as a secondary address), otherwise the primary address is changed in place
   * (Update Identity: "To update an existing email address, including the existing primary email address"). A user
   * without any address gets it through Update User, which then makes it their first. Null when done.
   */
  private async setPrimaryEmail(userId: number, email: string): Promise<WriteResult | null> {
    const base = `/api/v2/users/${userId}/identities`;
    const listed = await this.client.request('GET', this.client.url(`${base}.json`));
    if (listed.status !== 200) return this.writeFailure(listed, `user ${userId}`);
    const identities = ((listed.body as { identities?: unknown } | null)?.identities ?? []) as Array<{ id?: unknown; type?: unknown; value?: unknown; primary?: unknown }>;
    const emails = identities.filter((identity) => identity.type === 'email' && typeof identity.id === 'number');
    const same = emails.find((identity) => typeof identity.value === 'string' && identity.value.toLowerCase() === email.toLowerCase());
    const primary = emails.find((identity) => identity.primary === true);
    let response: ZendeskResponse;
    if (same?.primary === true) return null;
    if (same) response = await this.client.request('PUT', this.client.url(`${base}/${String(same.id)}/make_primary.json`));
    else if (primary) response = await this.client.request('PUT', this.client.url(`${base}/${String(primary.id)}.json`), { identity: { value: email } });
    else response = await this.client.request('PUT', this.client.url(`/api/v2/users/${userId}.json`), { user: { email } });
    return response.status === 200 ? null : this.writeFailure(response, `user ${userId}'s email`);
  }

  /** Whether this user, as Zendesk answered it, has tags; what it tells of the account is kept. */
  private tagsOf(user: Record<string, unknown>): boolean {
    this.userTagging = 'tags' in user;
    return this.userTagging;
  }

  private written(response: ZendeskResponse): WriteResult {
    const user = (response.body as { user?: { id?: unknown; updated_at?: unknown } } | null)?.user;
    if (typeof user?.id !== 'number') return refused(`${response.shown}: ${response.status} without the user in the answer`);
    this.tagsOf(user);
    return { ok: true, id: String(user.id), version: isoVersion(user.updated_at) };
  }

  private writeFailure(response: ZendeskResponse, what: string): WriteResult {
    if (response.status === 404 && what !== 'create') return { ok: false, reason: 'missing' };
    if (response.status === 422) return refused(`${response.shown}: Zendesk refused the ${what === 'create' ? 'new user' : what} — ${errorText(response)}`);
    const failure = this.client.failure(response);
    return { ok: false, reason: 'failed', message: failure.message, retryable: failure.retryable && response.method !== 'POST' };
  }
}

/** The `user` object of a create or update, or why these fields cannot be written. */
export function userInput(fields: FlowRecord, mode: 'create' | 'update'): { input: Record<string, unknown> } | { error: string } {
  const input: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    const bookkeeping = userBookkeeping[name];
    if (bookkeeping !== undefined) return { error: `${name} is ${bookkeeping}: it cannot be written as a field` };
    if (textFields.has(name)) {
      if (value !== null && typeof value !== 'string' && !(name === 'external_id' && typeof value === 'number')) return { error: `${name} must be text or null, got ${preview(value)}` };
      if (name === 'name' && (value === null || String(value).trim() === '')) return { error: 'name: every Zendesk user has a name; it can be changed, not removed' };
      input[name] = value === null ? null : String(value);
    } else if (name === 'organization_id') {
      const id = idValue(value);
      if (id === undefined) return { error: `organization_id must be a Zendesk id (a whole number) or null, got ${preview(value)}` };
      input.organization_id = id;
    } else if (name === 'tags') {
      const tags = writeTags(value);
      if (tags === undefined) return { error: `tags must be a list of words, got ${preview(value)}` };
      input.tags = tags;
    } else if (name === 'suspended') {
      if (typeof value !== 'boolean') return { error: `suspended must be true or false, got ${preview(value)}` };
      input.suspended = value;
    } else {
      return { error: `${name} is not a field of Zendesk users; the fields are ${userFieldDescriptions.map((field) => field.name).join(', ')}` };
    }
  }
  // Zendesk requires a name; without one a user is named after their address, as a requester created by email is.
  if (mode === 'create' && input.name === undefined && typeof input.email === 'string' && input.email.includes('@')) input.name = input.email.slice(0, input.email.indexOf('@'));
  return { input };
}
