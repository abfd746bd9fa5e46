/**
 * The `enrolments` collection with a record per user (`"enrolment": "one-per-user"`): where each user is enrolled
 * among the courses of `connection.courses`, for flows that give each person one course of several (a course per
 * department) and move them when that changes. The record key is the user's id; its fields are those of an enrolment
 * (shape.ts): `courseid` is the course the user is enrolled in, or null while they are enrolled in more than one of
 * the courses; `roles` are their roles there (in all of them, in course order); `suspended` is true when none of their
 * enrolments in the courses is active. Users enrolled in none of the courses are not in the collection.
 *
 * Listed by user id: each course's participants are read by id (enrolmentReads.ts) and merged, a page holding only the
 * users every course has been read up to. No change feed; versions are null. The token's own account is left out, as
 * the users collection leaves it out.
 *
 * An update that changes `courseid` moves the user: enrolled in the new course first (`enrol_manual_enrol_users`, the
 * role of `connection.roleId`, the status the record had unless the update sets one), then unenrolled from the other
 * courses of the connection (`enrol_manual_unenrol_users`). In that order, a move Moodle refuses half way leaves the
 * person with access to both courses rather than to none, and the record fails saying which half Moodle refused; it
 * reads `courseid: null` until the next pass finishes the move. A create enrols in `courseid`; a delete unenrols from
 * every course of the connection (or suspends, or is refused: `enrolmentDeletes`). As with a record per enrolment, only
 * manual enrolments change, and what Moodle answered without doing is read back and reported.
 */
import type { FlowRecord } from '../../../nodes/types';
import { ConnectorError, type CollectionDescription, type Connector, type ConnectorCapabilities, type ListPage, type ListPosition, type SourceRecord, type WriteOp, type WriteResult } from '../types';
import { refusedResult, runsOf, WriteSession } from './batches';
import type { MoodleClient } from './client';
import { deleteMeaningOf, type MoodleConnection } from './config';
import { EnrolmentReads, type CourseEnrolment } from './enrolmentReads';
import {
  createInput,
  enrolmentFieldNames,
  enrolParams,
  explainEnrolRefusal,
  otherMethodReason,
  outsideCourses,
  readOnlyFieldProblem,
  resolveUsers,
  sendEnrolmentCalls,
  statusParams,
  type EnrolmentInput,
  type EnrolParams,
} from './enrolmentWrites';
import { describeMoodle, moodleId, preview } from './shape';
import { missingFunction, type SiteInfo } from './site';
import { groupInto } from '../../util/collections';

/** One user's enrolments among the connection's courses, in course order; never empty. */
type UserEnrolments = readonly CourseEnrolment[];

/** One call a write needs: enrolling (a move's first half, a status change) or unenrolling, for the op at `op`. */
interface EnrolmentCall {
  op: number;
  params: EnrolParams | { userid: number; courseid: number };
  /** The role to name when Moodle refuses to assign it: the connection's, for a new enrolment. */
  roleHint: number | null;
  refusal: string;
}

/** What Moodle should hold for the user once an op's calls went through, checked by reading it back. */
type Expected = { kind: 'unenrolled' } | { kind: 'moved'; to: number; suspended: boolean } | { kind: 'status'; suspended: boolean };

export class MoodleUserEnrolments implements Connector {
  readonly capabilities: ConnectorCapabilities;
  private readonly reads: EnrolmentReads;
  /**
   * Where each course's listing stands after the last page: the id of the last user read in that course who was part
   * of the page (null: none yet). Resuming from it, rather than from the page's last user, spares a search for a user
   * the course does not have. Only for the listing that ended its page at `afterId`.
   */
  private listing: { afterId: number; resume: Map<number, number | null> } | null = null;

  constructor(
    private readonly client: MoodleClient,
    private readonly connection: MoodleConnection,
    private readonly site: SiteInfo,
    private readonly onClose: () => void,
  ) {
    this.capabilities = { conditionalWrites: false, tags: false, incremental: false, changeFeed: false, fullScan: false, deletes: deleteMeaningOf(connection.enrolmentDeletes) };
    this.reads = new EnrolmentReads(client);
  }

  async listSince(position: ListPosition, limit: number): Promise<ListPage> {
    let after: number | null = null;
    if (position.afterId !== null) {
      after = moodleId(position.afterId);
      if (after === null) throw new ConnectorError(`moodle enrolments: cannot resume a listing after "${position.afterId}": not a user id`);
    }
    const { courses } = this.connection;
    let resume: Map<number, number | null>;
    if (after === null) {
      for (const course of courses) this.reads.restart(course);
      resume = new Map(courses.map((course) => [course, null]));
    } else {
      resume = this.listing?.afterId === after ? this.listing.resume : new Map(courses.map((course) => [course, after]));
    }
    const pages = new Map<number, { enrolments: CourseEnrolment[]; end: boolean }>();
    for (const course of courses) pages.set(course, await this.reads.after(course, resume.get(course) ?? null, limit));

    // A course whose page did not end may have more users past its last one: only users up to the lowest such last
    // id are known in every course, and make up this page.
    let boundary = Infinity;
    for (const page of pages.values()) if (!page.end) boundary = Math.min(boundary, (page.enrolments.at(-1) as CourseEnrolment).userid);
    const byUser = new Map<number, CourseEnrolment[]>();
    for (const course of courses) {
      for (const enrolment of (pages.get(course) as { enrolments: CourseEnrolment[] }).enrolments) {
        if (enrolment.userid > boundary || (after !== null && enrolment.userid <= after)) continue;
        groupInto(byUser, enrolment.userid, enrolment);
      }
    }
    const ids = [...byUser.keys()].sort((a, b) => a - b);
    const taken = ids.slice(0, limit);
    const records = taken.filter((id) => id !== this.site.userid).map((id) => toRecord(byUser.get(id) as UserEnrolments));
    const last = taken.at(-1);
    if (last === undefined || (boundary === Infinity && taken.length === ids.length)) {
      this.listing = null;
      return { records, next: null };
    }
    const next = new Map(resume);
    for (const [course, page] of pages) {
      const read = page.enrolments.filter((enrolment) => enrolment.userid <= last).at(-1);
      if (read) next.set(course, read.userid);
    }
    this.listing = { afterId: last, resume: next };
    return { records, next: { since: null, afterId: String(last) } };
  }

  async getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>> {
    const found = new Map<string, SourceRecord>();
    for (const [userid, enrolments] of await this.current(ids.map(moodleId).filter((id): id is number => id !== null))) found.set(String(userid), toRecord(enrolments));
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
          : await this.changes(runOps as Array<Extract<WriteOp, { kind: 'update' | 'delete' }>>, session);
      run.indexes.forEach((index, position) => (results[index] = written[position] as WriteResult));
    }
    return results;
  }

  // eslint-disable-next-line require-yield
  async *scanIds(): AsyncIterable<string[]> {
    throw new ConnectorError('moodle enrolments are not scanned: every pass lists them whole, and the listing shows which are gone');
  }

  async describe(): Promise<CollectionDescription[]> {
    return describeMoodle(this.connection.profileFields);
  }

  async close(): Promise<void> {
    this.onClose();
  }

  /** These users' enrolments among the courses as Moodle holds them now (every course read whole, once). */
  private async current(userids: readonly number[]): Promise<Map<number, UserEnrolments>> {
    const users = new Set(userids.filter((id) => id !== this.site.userid));
    const found = new Map<number, CourseEnrolment[]>();
    if (users.size === 0) return found;
    for (const enrolment of await this.reads.current(new Map(this.connection.courses.map((course) => [course, users])))) {
      groupInto(found, enrolment.userid, enrolment);
    }
    for (const enrolments of found.values()) enrolments.sort((a, b) => a.courseid - b.courseid);
    return found;
  }

  private async creates(ops: ReadonlyArray<Extract<WriteOp, { kind: 'create' }>>, session: WriteSession): Promise<WriteResult[]> {
    const unavailable = missingFunction(this.site, 'enrol_manual_enrol_users');
    if (unavailable) return ops.map(() => unavailable);
    const results: WriteResult[] = new Array(ops.length);
    const planned: Array<{ index: number } & EnrolmentInput> = [];
    ops.forEach((op, index) => {
      const built = createInput(op.fields, this.connection);
      if ('error' in built) results[index] = refusedResult(built.error);
      else planned.push({ index, ...built });
    });
    const resolved = await resolveUsers(this.client, this.site, planned.map((item) => item.who));
    const items: Array<{ index: number; courseid: number; userid: number; suspended: boolean }> = [];
    planned.forEach((item, position) => {
      const userid = resolved[position] as number | string;
      if (typeof userid === 'string') results[item.index] = refusedResult(userid);
      else if (userid === this.site.userid) results[item.index] = refusedResult(`user ${userid} is the token's own account, which the sync leaves alone`);
      else items.push({ index: item.index, courseid: item.courseid, userid, suspended: item.suspended });
    });
    const { roleId } = this.connection;
    const written = await sendEnrolmentCalls(
      this.client,
      session,
      'enrol_manual_enrol_users',
      items,
      (item) => enrolParams(item.courseid, item.userid, roleId, item.suspended),
      (item) => ({ ok: true, id: String(item.userid), version: null }),
      (item, error) => refusedResult(`Moodle refused to enrol user ${item.userid} in course ${item.courseid}: ${explainEnrolRefusal(error, roleId)}`),
    );
    items.forEach((item, position) => (results[item.index] = written[position] as WriteResult));
    return results;
  }

  /**
   * Updates (a move, a status) and deletes: the calls each needs are planned from what Moodle holds, enrolments sent
   * before unenrolments, and what Moodle holds afterwards read back.
   */
  private async changes(ops: ReadonlyArray<Extract<WriteOp, { kind: 'update' | 'delete' }>>, session: WriteSession): Promise<WriteResult[]> {
    if (ops[0]?.kind === 'delete' && this.connection.enrolmentDeletes === 'refuse') {
      return ops.map(() => refusedResult('connection.enrolmentDeletes is "refuse": the sync unenrols no one; unenrol in Moodle, or set deletes to "ignore" for this trigger'));
    }
    const results: WriteResult[] = new Array(ops.length);
    const before = await this.current(ops.map((op) => moodleId(op.id)).filter((id): id is number => id !== null));
    const enrols: EnrolmentCall[] = [];
    const unenrols: EnrolmentCall[] = [];
    const expected = new Map<number, Expected>();
    ops.forEach((op, index) => {
      const userid = moodleId(op.id);
      const enrolments = userid === null ? undefined : before.get(userid);
      if (userid === null || !enrolments) {
        results[index] = { ok: false, reason: 'missing' };
        return;
      }
      const plan = op.kind === 'delete' ? this.planDelete(index, enrolments) : this.planUpdate(index, op.fields, enrolments);
      if ('error' in plan) {
        results[index] = refusedResult(plan.error);
        return;
      }
      enrols.push(...plan.enrols);
      unenrols.push(...plan.unenrols);
      if (plan.enrols.length + plan.unenrols.length === 0) results[index] = { ok: true, id: op.id, version: null };
      else expected.set(index, plan.expected);
    });

    await this.send('enrol_manual_enrol_users', enrols, results, session);
    // A move's second half only once its first went through: never unenrolled from one course without the other.
    await this.send(
      'enrol_manual_unenrol_users',
      unenrols.filter((call) => results[call.op] === undefined),
      results,
      session,
    );

    // Moodle answers these calls with nothing, and changes only manual enrolments: read back what it did.
    const applied = [...expected.keys()].filter((index) => results[index] === undefined);
    const after = applied.length > 0 ? await this.current(applied.map((index) => moodleId((ops[index] as { id: string }).id) as number)) : new Map<number, UserEnrolments>();
    for (const index of applied) {
      const userid = moodleId((ops[index] as { id: string }).id) as number;
      const problem = unapplied(userid, expected.get(index) as Expected, after.get(userid));
      results[index] = problem ? refusedResult(problem) : { ok: true, id: String(userid), version: null };
    }
    return results;
  }

  private planDelete(op: number, enrolments: UserEnrolments): { enrols: EnrolmentCall[]; unenrols: EnrolmentCall[]; expected: Expected } {
    if (this.connection.enrolmentDeletes === 'unenrol') {
      return { enrols: [], unenrols: enrolments.map((enrolment) => unenrolCall(op, enrolment, `Moodle refused to unenrol user ${enrolment.userid} from course ${enrolment.courseid}`)), expected: { kind: 'unenrolled' } };
    }
    return { enrols: this.statusCalls(op, enrolments, true), unenrols: [], expected: { kind: 'status', suspended: true } };
  }

  /** The calls an update needs, or why it cannot be written. */
  private planUpdate(op: number, fields: FlowRecord, enrolments: UserEnrolments): { enrols: EnrolmentCall[]; unenrols: EnrolmentCall[]; expected: Expected } | { error: string } {
    const record = toRecord(enrolments).fields;
    const userid = (enrolments[0] as CourseEnrolment).userid;
    let suspended: boolean | undefined;
    let target: number | undefined;
    for (const [name, value] of Object.entries(fields)) {
      if (name === 'suspended') {
        if (typeof value !== 'boolean') return { error: `suspended must be true or false, got ${preview(value)}` };
        suspended = value;
      } else if (name === 'courseid') {
        const courseid = moodleId(value);
        if (courseid === null) return { error: `courseid must be the id of one of connection.courses (${this.connection.courses.join(', ')}), got ${preview(value)}` };
        const outside = outsideCourses(courseid, this.connection);
        if (outside) return { error: outside };
        target = courseid;
      } else if (name === 'userid') {
        if (moodleId(value) !== userid) return { error: `userid: record ${userid} is user ${userid}'s enrolment; it cannot become another user's` };
      } else if (enrolmentFieldNames.includes(name)) {
        const problem = readOnlyFieldProblem(name, value, { username: record.username as string | null, email: record.email as string | null, roles: record.roles as string[] });
        if (problem) return { error: problem };
      } else {
        return { error: `${name} is not a field of Moodle enrolments; the fields are ${enrolmentFieldNames.join(', ')}` };
      }
    }
    const wasSuspended = record.suspended === true;
    if (target !== undefined && record.courseid !== target) {
      const to = target;
      const status = suspended ?? wasSuspended;
      const there = enrolments.find((enrolment) => enrolment.courseid === to);
      const leaving = enrolments.filter((enrolment) => enrolment.courseid !== to);
      const from = leaving.map((enrolment) => enrolment.courseid).join(' and ');
      const enrol: EnrolmentCall = there
        ? { op, params: statusParams(there, status, this.connection), roleHint: null, refusal: `Moodle refused to enrol user ${userid} in course ${to} (they stay in course ${from})` }
        : { op, params: enrolParams(to, userid, this.connection.roleId, status), roleHint: this.connection.roleId, refusal: `Moodle refused to enrol user ${userid} in course ${to} (they stay in course ${from})` };
      const unenrols = leaving.map((enrolment) =>
        unenrolCall(op, enrolment, `user ${userid} is enrolled in course ${to} now, but Moodle refused to unenrol them from course ${enrolment.courseid} (they are in both until a pass finishes the move)`),
      );
      return { enrols: [enrol], unenrols, expected: { kind: 'moved', to, suspended: status } };
    }
    const status = suspended ?? wasSuspended;
    return { enrols: status === wasSuspended ? [] : this.statusCalls(op, enrolments, status), unenrols: [], expected: { kind: 'status', suspended: status } };
  }

  /** Every enrolment of the user whose status differs, set to `suspend`. */
  private statusCalls(op: number, enrolments: UserEnrolments, suspend: boolean): EnrolmentCall[] {
    return enrolments
      .filter((enrolment) => enrolment.suspended !== suspend)
      .map((enrolment) => ({
        op,
        params: statusParams(enrolment, suspend, this.connection),
        roleHint: null,
        refusal: `Moodle refused to ${suspend ? 'suspend' : 'reactivate'} user ${enrolment.userid}'s enrolment in course ${enrolment.courseid}`,
      }));
  }

  /** Sends these calls; an op whose call is refused (or cannot be sent) gets its first such result. */
  private async send(wsfunction: 'enrol_manual_enrol_users' | 'enrol_manual_unenrol_users', calls: readonly EnrolmentCall[], results: WriteResult[], session: WriteSession): Promise<void> {
    if (calls.length === 0) return;
    const unavailable = missingFunction(this.site, wsfunction);
    const outcomes = unavailable
      ? calls.map(() => unavailable)
      : await sendEnrolmentCalls(
          this.client,
          session,
          wsfunction,
          calls,
          (call) => call.params,
          (call) => ({ ok: true, id: String(call.params.userid), version: null }),
          (call, error) => refusedResult(`${call.refusal}: ${explainEnrolRefusal(error, call.roleHint)}`),
        );
    calls.forEach((call, position) => {
      const outcome = outcomes[position] as WriteResult;
      if (!outcome.ok && results[call.op] === undefined) results[call.op] = outcome;
    });
  }
}

function unenrolCall(op: number, enrolment: CourseEnrolment, refusal: string): EnrolmentCall {
  return { op, params: { userid: enrolment.userid, courseid: enrolment.courseid }, roleHint: null, refusal };
}

/** Why what Moodle holds now is not what the op's calls should have made, or null. */
function unapplied(userid: number, expected: Expected, now: UserEnrolments = []): string | null {
  const courses = now.map((enrolment) => enrolment.courseid);
  if (expected.kind === 'unenrolled') return courses.length === 0 ? null : otherMethodReason('unenrol', userid, courses[0] as number);
  if (expected.kind === 'status' && courses.length === 0) return `user ${userid} is no longer enrolled in any of connection.courses`;
  if (expected.kind === 'moved') {
    if (!courses.includes(expected.to)) return `Moodle did not enrol user ${userid} in course ${expected.to}, although it answered without an error`;
    const stayed = courses.filter((course) => course !== expected.to);
    if (stayed.length > 0) return `${otherMethodReason('unenrol', userid, stayed[0] as number)}; they are enrolled in course ${expected.to} as well now`;
  }
  const other = now.find((enrolment) => enrolment.suspended !== expected.suspended);
  return other ? otherMethodReason(expected.suspended ? 'suspend' : 'reactivate', userid, other.courseid) : null;
}

/** A user's enrolments as one record: the course when there is one, null while there are several. */
function toRecord(enrolments: UserEnrolments): SourceRecord {
  const first = enrolments[0] as CourseEnrolment;
  const fields: FlowRecord = {
    userid: first.userid,
    courseid: enrolments.length === 1 ? first.courseid : null,
    username: first.username,
    email: first.email,
    roles: [...new Set(enrolments.flatMap((enrolment) => enrolment.roles))],
    suspended: enrolments.every((enrolment) => enrolment.suspended),
  };
  return { id: String(first.userid), version: null, tag: null, deleted: false, fields };
}
