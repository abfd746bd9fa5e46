/**
 * The `users` collection: every account of the site but the guest and the token's own, keyed by Moodle's user id.
 *
 * No change feed (`changeFeed: false`): Moodle's user functions filter by nothing but equality, and the user record
 * they return carries no change time (`user_description()` has no `timemodified`), so each pass lists the whole site
 * and the engine compares. The listing pages by id through the site course's participants (participants.ts; one call
 * per page, user ids only) and reads each page's users with `core_user_get_users_by_field` (a second call): the first
 * is the only function that pages a whole site in a stable order, the second the only one that returns `suspended`,
 * `auth` and custom profile fields. Versions are null.
 *
 * Writes go out in batches (`core_user_create_users`, `core_user_update_users`), refused batches halved until the
 * refused user stands alone (batches.ts). A delete suspends by default (`userDeletes`).
 */
import type { FlowRecord } from '../../../nodes/types';
import { ConnectorError, type CollectionDescription, type Connector, type ConnectorCapabilities, type ListPage, type ListPosition, type SourceRecord, type WriteOp, type WriteResult } from '../types';
import { explainRefusal, refusedResult, runsOf, sendIsolating, WriteSession } from './batches';
import { MoodleCallError, type MoodleClient, type WsParam } from './client';
import { deleteMeaningOf, type MoodleConnection } from './config';
import { CourseParticipants } from './participants';
import { describeMoodle, moodleId, preview, userBookkeeping, userFieldDescriptions, userRecordFields, userTextFields, type UserTextField } from './shape';
import { missingFunction, type SiteInfo } from './site';

/** The front page: every user not deleted takes part in it. */
const siteCourseId = 1;
/** Ids per core_user_get_users_by_field call (one input variable each). */
const idsPerRead = 100;
/** Auth plugins whose passwords Moodle keeps: a new account of these needs one, so Moodle makes it and mails it. */
const internalAuths = new Set(['manual', 'email', 'nologin', 'none']);

/** What the listing and reads need of every user: the functions Moodle must let the token call. */
export const userReadFunctions = ['core_enrol_get_enrolled_users', 'core_user_get_users_by_field'] as const;

export class MoodleUsers implements Connector {
  readonly capabilities: ConnectorCapabilities;
  private readonly participants: CourseParticipants;

  constructor(
    private readonly client: MoodleClient,
    private readonly connection: MoodleConnection,
    private readonly site: SiteInfo,
    private readonly onClose: () => void,
  ) {
    this.capabilities = {
      conditionalWrites: false,
      tags: false,
      incremental: false,
      changeFeed: false,
      fullScan: false,
      // core_user_update_users saves only the custom profile fields it is given (profile_save_data()).
      partialObjects: true,
      deletes: deleteMeaningOf(connection.userDeletes),
    };
    this.participants = new CourseParticipants(client, siteCourseId, { userfields: 'id' });
  }

  async listSince(position: ListPosition, limit: number): Promise<ListPage> {
    let after: number | null = null;
    if (position.afterId !== null) {
      after = moodleId(position.afterId);
      if (after === null) throw new ConnectorError(`moodle users: cannot resume a listing after "${position.afterId}": not a user id`);
    }
    const records: SourceRecord[] = [];
    let end = false;
    while (records.length < limit && !end) {
      const page = await this.participants.after(after, limit - records.length);
      end = page.end || page.participants.length === 0;
      if (page.participants.length === 0) break;
      after = (page.participants.at(-1) as { id: number }).id;
      const ids = page.participants.map((participant) => participant.id);
      const users = await this.readUsers(ids);
      for (const id of ids) {
        const record = this.toRecord(users.get(id));
        if (record) records.push(record);
      }
    }
    return { records, next: end || after === null ? null : { since: null, afterId: String(after) } };
  }

  async getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>> {
    const wanted = [...new Set(ids.map(moodleId).filter((id): id is number => id !== null))];
    const users = await this.readUsers(wanted);
    const found = new Map<string, SourceRecord>();
    for (const id of wanted) {
      const record = this.toRecord(users.get(id));
      if (record) found.set(record.id, record);
    }
    return found;
  }

  async write(ops: readonly WriteOp[]): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array(ops.length);
    const session = new WriteSession();
    for (const run of runsOf(ops, (op) => (op.kind === 'create' ? null : op.id))) {
      const runOps = run.indexes.map((index) => ops[index] as WriteOp);
      const written =
        run.kind === 'create'
          ? await this.creates(runOps as Array<Extract<WriteOp, { kind: 'create' }>>, session)
          : run.kind === 'update'
            ? await this.updates(runOps as Array<Extract<WriteOp, { kind: 'update' }>>, session)
            : await this.deletes(runOps as Array<Extract<WriteOp, { kind: 'delete' }>>, session);
      run.indexes.forEach((index, position) => (results[index] = written[position] as WriteResult));
    }
    return results;
  }

  // eslint-disable-next-line require-yield
  async *scanIds(): AsyncIterable<string[]> {
    throw new ConnectorError('moodle users are not scanned: every pass lists them whole, and the listing shows which are gone');
  }

  async describe(): Promise<CollectionDescription[]> {
    return describeMoodle(this.connection.profileFields);
  }

  async close(): Promise<void> {
    this.onClose();
  }

  /** The users of these ids that exist, by id. A deleted user fails a whole read (see below), so it is isolated. */
  private async readUsers(ids: readonly number[]): Promise<Map<number, Record<string, unknown>>> {
    const users = new Map<number, Record<string, unknown>>();
    const read = async (batch: readonly number[]): Promise<void> => {
      try {
        const answer = await this.client.call('core_user_get_users_by_field', { field: 'id', values: batch.map(String) }, 'repeatable');
        if (!Array.isArray(answer)) throw new ConnectorError('core_user_get_users_by_field: expected a list of users');
        for (const user of answer as Array<Record<string, unknown>>) if (typeof user.id === 'number') users.set(user.id, user);
      } catch (caught) {
        // get_users_by_field() loads each user's context, and a deleted user has none: the whole call fails with
        // dml_missing_record_exception (invalidrecord). Halving finds the deleted ones, which are simply gone.
        if (!(caught instanceof MoodleCallError) || caught.errorcode !== 'invalidrecord') throw caught;
        if (batch.length === 1) return;
        const middle = Math.ceil(batch.length / 2);
        await read(batch.slice(0, middle));
        await read(batch.slice(middle));
      }
    };
    const candidates = ids.filter((id) => id !== this.site.userid);
    for (let index = 0; index < candidates.length; index += idsPerRead) await read(candidates.slice(index, index + idsPerRead));
    return users;
  }

  /** A user as a record, or null for one outside the collection: the guest, and the token's own account. */
  private toRecord(user: Record<string, unknown> | undefined): SourceRecord | null {
    if (!user || typeof user.id !== 'number' || user.id === this.site.userid) return null;
    // The guest account (username "guest", $CFG->siteguest) exists on every site and nobody signs in as it.
    if (user.username === 'guest') return null;
    return { id: String(user.id), version: null, tag: null, deleted: false, fields: userRecordFields(user, this.connection.profileFields) };
  }

  private async creates(ops: ReadonlyArray<Extract<WriteOp, { kind: 'create' }>>, session: WriteSession): Promise<WriteResult[]> {
    const unavailable = missingFunction(this.site, 'core_user_create_users');
    if (unavailable) return ops.map(() => unavailable);
    const results: WriteResult[] = new Array(ops.length);
    const items: Array<{ index: number; params: Record<string, WsParam>; suspend: boolean }> = [];
    ops.forEach((op, index) => {
      const built = this.userParams(op.fields, 'create');
      if ('error' in built) results[index] = refusedResult(built.error);
      else items.push({ index, params: built.params, suspend: built.suspended === true });
    });
    const written = await sendIsolating(
      items,
      (item) => item.params,
      session.guard('create', async (batch) => {
        const answer = await this.client.call('core_user_create_users', { users: batch.map((item) => item.params) }, 'once');
        if (!Array.isArray(answer) || answer.length !== batch.length || answer.some((user) => typeof (user as { id?: unknown }).id !== 'number')) {
          throw new ConnectorError(`core_user_create_users: expected ${batch.length} new users with ids, got ${preview(answer)}; they may or may not have been created`, { mayHaveApplied: true });
        }
        return (answer as Array<{ id: number }>).map((user): WriteResult => ({ ok: true, id: String(user.id), version: null }));
      }),
      (item, error) => refusedResult(`Moodle refused to create user "${String(item.params.username)}": ${explainRefusal(error)}`),
    );
    items.forEach((item, position) => (results[item.index] = written[position] as WriteResult));
    // core_user_create_users has no `suspended`: a new account that is to be suspended is suspended right after. If
    // that fails the account still exists, so its id is the result, as incomplete: the engine suspends it next pass.
    const toSuspend = items.filter((item) => item.suspend && results[item.index]?.ok);
    if (toSuspend.length === 0) return results;
    let failure = 'the writes were stopped before it was sent';
    if (!session.stopped) {
      try {
        await this.client.call('core_user_update_users', { users: toSuspend.map((item) => ({ id: Number((results[item.index] as { id: string }).id), suspended: 1 })) }, 'repeatable');
        return results;
      } catch (caught) {
        if (!(caught instanceof ConnectorError)) throw caught;
        failure = caught.message;
      }
    }
    for (const item of toSuspend) {
      const created = results[item.index] as Extract<WriteResult, { ok: true }>;
      results[item.index] = { ...created, incomplete: `user ${created.id} was created active and suspending it failed (${failure})` };
    }
    return results;
  }

  private async updates(ops: ReadonlyArray<Extract<WriteOp, { kind: 'update' }>>, session: WriteSession): Promise<WriteResult[]> {
    const unavailable = missingFunction(this.site, 'core_user_update_users');
    if (unavailable) return ops.map(() => unavailable);
    const results: WriteResult[] = new Array(ops.length);
    const items: Array<{ index: number; id: number; params: Record<string, WsParam> }> = [];
    ops.forEach((op, index) => {
      const id = moodleId(op.id);
      if (id === null || id === this.site.userid) {
        results[index] = { ok: false, reason: 'missing' };
        return;
      }
      const built = this.userParams(op.fields, 'update');
      if ('error' in built) results[index] = refusedResult(built.error);
      else if (Object.keys(built.params).length === 0) results[index] = { ok: true, id: String(id), version: null };
      else items.push({ index, id, params: { id, ...built.params } });
    });
    const written = await this.sendUpdates(items, session, 'update');
    items.forEach((item, position) => (results[item.index] = written[position] as WriteResult));
    return results;
  }

  private async deletes(ops: ReadonlyArray<Extract<WriteOp, { kind: 'delete' }>>, session: WriteSession): Promise<WriteResult[]> {
    const mode = this.connection.userDeletes;
    if (mode === 'refuse') {
      return ops.map(() => refusedResult('connection.userDeletes is "refuse": the sync deletes no Moodle user; suspend or delete them in Moodle, or set deletes to "ignore" for this trigger'));
    }
    const results: WriteResult[] = new Array(ops.length);
    const items: Array<{ index: number; id: number }> = [];
    ops.forEach((op, index) => {
      const id = moodleId(op.id);
      if (id === null || id === this.site.userid) results[index] = { ok: false, reason: 'missing' };
      else items.push({ index, id });
    });
    let written: WriteResult[];
    if (mode === 'suspend') {
      // A suspended account cannot sign in and keeps its enrolments, grades and history; suspending again changes nothing.
      written = await this.sendUpdates(items.map((item) => ({ ...item, params: { id: item.id, suspended: 1 } })), session, 'suspension');
    } else {
      const unavailable = missingFunction(this.site, 'core_user_delete_users');
      written = unavailable
        ? items.map(() => unavailable)
        : await sendIsolating(
            items,
            () => 1,
            session.guard('other', async (batch) => {
              await this.client.call('core_user_delete_users', { userids: batch.map((item) => item.id) }, 'repeatable');
              return batch.map((item): WriteResult => ({ ok: true, id: String(item.id), version: null }));
            }),
            // A user already deleted (or never there) fails delete_users' MUST_EXIST read: dml_missing_record_exception.
            (item, error) => (error.errorcode === 'invalidrecord' ? { ok: false, reason: 'missing' } : refusedResult(`Moodle refused to delete user ${item.id}: ${explainRefusal(error)}`)),
          );
    }
    items.forEach((item, position) => (results[item.index] = written[position] as WriteResult));
    return results;
  }

  /** core_user_update_users: one warning per user it could not update; a malformed batch fails whole and is halved. */
  private sendUpdates(items: ReadonlyArray<{ id: number; params: Record<string, WsParam> }>, session: WriteSession, what: string): Promise<WriteResult[]> {
    return sendIsolating(
      items,
      (item) => item.params,
      session.guard('other', async (batch) => {
        const answer = (await this.client.call('core_user_update_users', { users: batch.map((item) => item.params) }, 'repeatable')) as { warnings?: unknown } | null;
        const warnings = new Map<number, { warningcode?: unknown; message?: unknown }>();
        if (Array.isArray(answer?.warnings)) for (const warning of answer.warnings as Array<{ itemid?: unknown; warningcode?: unknown; message?: unknown }>) if (typeof warning.itemid === 'number') warnings.set(warning.itemid, warning);
        return batch.map((item): WriteResult => {
          const warning = warnings.get(item.id);
          if (!warning) return { ok: true, id: String(item.id), version: null };
          const code = String(warning.warningcode ?? '');
          if (code === 'invaliduserid' || code === 'usernotupdateddeleted') return { ok: false, reason: 'missing' };
          return refusedResult(`Moodle refused the ${what} of user ${item.id}: ${warningText(code, String(warning.message ?? ''))}`);
        });
      }),
      (item, error) => refusedResult(`Moodle refused the ${what} of user ${item.id}: ${explainRefusal(error)}`),
    );
  }

  /** The `users[i]` entry of a create or update, or why these fields cannot be written. */
  private userParams(fields: FlowRecord, mode: 'create' | 'update'): { params: Record<string, WsParam>; suspended?: boolean } | { error: string } {
    const params: Record<string, WsParam> = {};
    let suspended: boolean | undefined;
    for (const [name, value] of Object.entries(fields)) {
      const bookkeeping = userBookkeeping[name];
      if (bookkeeping !== undefined) return { error: `${name} is ${bookkeeping}: it cannot be written as a field` };
      if (name in userTextFields) {
        const field = name as UserTextField;
        if (value === null || value === '') {
          if (userTextFields[field].required) return { error: `${field}: every Moodle user has one; it can be changed, not removed` };
          params[field] = '';
        } else if (typeof value === 'string' || (typeof value === 'number' && field === 'idnumber')) {
          params[field] = String(value);
        } else {
          return { error: `${field} must be text, got ${preview(value)}` };
        }
        if (field === 'username' && typeof value === 'string' && value !== value.toLowerCase()) {
          return { error: `username "${value}": Moodle keeps usernames in lower case; lower-case it in the flow (a transform's case op)` };
        }
      } else if (name === 'suspended') {
        if (typeof value !== 'boolean') return { error: `suspended must be true or false, got ${preview(value)}` };
        suspended = value;
        if (mode === 'update') params.suspended = value;
      } else if (name === 'customfields') {
        const custom = this.customFieldParams(value);
        if ('error' in custom) return custom;
        if (custom.entries.length > 0) params.customfields = custom.entries;
      } else {
        return { error: `${name} is not a field of Moodle users; the fields are ${userFieldDescriptions(this.connection.profileFields).map((field) => field.name).join(', ')}` };
      }
    }
    if (mode === 'update') return { params, suspended };
    for (const name of ['firstname', 'lastname', 'email'] as const) {
      if (params[name] === undefined) return { error: `${name} is required to create a Moodle user` };
    }
    // Moodle needs a username; a common choice, and the one made here, is the email address — cleaned as
    // PARAM_USERNAME cleans: lower case, and only letters, digits and - . @ _ kept.
    params.username ??= String(params.email).toLowerCase().replace(/[^-.@_a-z0-9]/g, '');
    const auth = typeof params.auth === 'string' ? params.auth : 'manual';
    if (internalAuths.has(auth)) params.createpassword = 1;
    return { params, suspended };
  }

  private customFieldParams(value: unknown): { entries: Array<{ type: string; value: string }> } | { error: string } {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: `customfields must be an object of profile field shortnames, got ${preview(value)}` };
    const entries: Array<{ type: string; value: string }> = [];
    for (const [shortname, data] of Object.entries(value)) {
      if (!this.connection.profileFields.includes(shortname)) {
        return { error: `customfields.${shortname} is not among connection.profileFields (${this.connection.profileFields.join(', ') || 'none'})` };
      }
      if (data !== null && typeof data !== 'string' && typeof data !== 'number' && typeof data !== 'boolean') return { error: `customfields.${shortname} must be text, got ${preview(data)}` };
      // On writes `type` names the field (its shortname); "" clears it.
      entries.push({ type: shortname, value: data === null ? '' : typeof data === 'boolean' ? (data ? '1' : '0') : String(data) });
    }
    return { entries };
  }
}

/** core_user_update_users warnings, in words: several codes have no language string and arrive as "error/<code>". */
function warningText(code: string, message: string): string {
  const meaning: Record<string, string> = {
    useremailinvalid: 'Moodle does not accept the email address',
    useremailduplicate: 'another account has this email address, and the site allows one account per address',
    usernotupdatedadmin: 'only a site administrator may change an administrator',
    usernotupdatedguest: 'the guest account cannot be changed',
    usernotupdatedremote: 'the account belongs to another Moodle (MNet)',
    dmlwriteexception: 'Moodle could not save the user; a username another account has is the usual cause',
  };
  return `${meaning[code] ?? message} (${code})`;
}

