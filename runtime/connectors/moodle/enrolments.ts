/**
 * The `enrolments` collection, a record per enrolment (`"enrolment": "per-enrolment"`, the default): who is enrolled
 * in the courses of `connection.courses`. A record is one user in one course, keyed `<courseid>:<userid>` — both ids
 * are Moodle's and never change, so the key is stable. Its fields are `userid` and `courseid` (what it is), the
 * user's `username` and `email` as read, the user's `roles` in the course (role shortnames, read only) and
 * `suspended`: true when none of the user's enrolments in the course is active (enrolmentReads.ts). Listed course by
 * course, by user id. No change feed; versions are null.
 *
 * Written with `enrol_manual_enrol_users` (create; `suspended` on an existing enrolment, by enrolling again with
 * `suspend`) and `enrol_manual_unenrol_users` (delete, by default). A create names the user by `userid`, `username` or
 * `email`; the role is `connection.roleId`. An update cannot change `userid` or `courseid` (nor the username or email
 * to another user's): those are what the enrolment is. A flow that moves people between courses uses the collection
 * with a record per user instead (userEnrolments.ts; docs/connectors/moodle.md, "Moving an enrolment").
 *
 * The web service changes manual enrolments only. A user enrolled by another method (self enrolment, cohort sync) is
 * listed like anyone, but unenrolling or suspending them through the manual method changes nothing: after such writes
 * the courses are read again, and a write Moodle did not apply fails with that reason instead of being reported done.
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
  readOnlyFieldProblem,
  resolveUsers,
  sendEnrolmentCalls,
  statusParams,
  type EnrolmentInput,
} from './enrolmentWrites';
import { describeMoodle, moodleId, preview } from './shape';
import { missingFunction, type SiteInfo } from './site';

export class MoodleEnrolments implements Connector {
  readonly capabilities: ConnectorCapabilities;
  private readonly reads: EnrolmentReads;

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
    let resume: { courseid: number; userid: number } | null = null;
    if (position.afterId !== null) {
      resume = enrolmentKey(position.afterId);
      if (!resume) throw new ConnectorError(`moodle enrolments: cannot resume a listing after "${position.afterId}": not an enrolment key (course:user)`);
    }
    const records: SourceRecord[] = [];
    let last: string | null = null;
    const courses = this.connection.courses.filter((course) => resume === null || course >= resume.courseid);
    for (const [index, course] of courses.entries()) {
      let after = resume !== null && course === resume.courseid ? resume.userid : null;
      if (after === null) this.reads.restart(course);
      for (;;) {
        const page = await this.reads.after(course, after, limit - records.length);
        for (const enrolment of page.enrolments) {
          const record = toRecord(enrolment);
          records.push(record);
          last = record.id;
        }
        if (records.length === limit) {
          const finished = page.end && index === courses.length - 1;
          return { records, next: finished ? null : { since: null, afterId: last } };
        }
        if (page.end) break;
        after = (page.enrolments.at(-1) as CourseEnrolment).userid;
      }
    }
    return { records, next: null };
  }

  async getMany(ids: readonly string[]): Promise<Map<string, SourceRecord>> {
    const found = new Map<string, SourceRecord>();
    for (const [id, enrolment] of await this.current(ids)) found.set(id, toRecord(enrolment));
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

  /** The enrolments of these keys as Moodle holds them now: each course concerned read whole, once. */
  private async current(ids: readonly string[]): Promise<Map<string, CourseEnrolment>> {
    const wanted = new Map<number, Set<number>>();
    for (const id of ids) {
      const key = enrolmentKey(id);
      if (!key || !this.connection.courses.includes(key.courseid)) continue;
      const users = wanted.get(key.courseid) ?? new Set();
      users.add(key.userid);
      wanted.set(key.courseid, users);
    }
    return new Map((await this.reads.current(wanted)).map((enrolment) => [keyOf(enrolment), enrolment]));
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
      else items.push({ index: item.index, courseid: item.courseid, userid, suspended: item.suspended });
    });
    const { roleId } = this.connection;
    const written = await sendEnrolmentCalls(
      this.client,
      session,
      'enrol_manual_enrol_users',
      items,
      (item) => enrolParams(item.courseid, item.userid, roleId, item.suspended),
      (item) => ({ ok: true, id: `${item.courseid}:${item.userid}`, version: null }),
      (item, error) => refusedResult(`Moodle refused to enrol user ${item.userid} in course ${item.courseid}: ${explainEnrolRefusal(error, roleId)}`),
    );
    items.forEach((item, position) => (results[item.index] = written[position] as WriteResult));
    return results;
  }

  /** Updates (the status) and deletes (unenrol or suspend), checked against what Moodle holds before and after. */
  private async changes(ops: ReadonlyArray<Extract<WriteOp, { kind: 'update' | 'delete' }>>, session: WriteSession): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array(ops.length);
    if (ops[0]?.kind === 'delete' && this.connection.enrolmentDeletes === 'refuse') {
      return ops.map(() => refusedResult('connection.enrolmentDeletes is "refuse": the sync unenrols no one; unenrol in Moodle, or set deletes to "ignore" for this trigger'));
    }
    const before = await this.current(ops.map((op) => op.id));
    const statusChanges: Array<{ index: number; enrolment: CourseEnrolment; suspend: boolean }> = [];
    const unenrolments: Array<{ index: number; enrolment: CourseEnrolment }> = [];
    ops.forEach((op, index) => {
      const enrolment = before.get(op.id);
      if (!enrolment) {
        results[index] = { ok: false, reason: 'missing' };
        return;
      }
      const done: WriteResult = { ok: true, id: op.id, version: null };
      if (op.kind === 'delete') {
        if (this.connection.enrolmentDeletes === 'unenrol') unenrolments.push({ index, enrolment });
        else if (enrolment.suspended) results[index] = done;
        else statusChanges.push({ index, enrolment, suspend: true });
        return;
      }
      const change = updateInput(op.fields, enrolment);
      if ('error' in change) results[index] = refusedResult(change.error);
      else if (change.suspended === undefined || change.suspended === enrolment.suspended) results[index] = done;
      else statusChanges.push({ index, enrolment, suspend: change.suspended });
    });

    const enrolUnavailable = missingFunction(this.site, 'enrol_manual_enrol_users');
    const unenrolUnavailable = missingFunction(this.site, 'enrol_manual_unenrol_users');
    const done = (item: { enrolment: CourseEnrolment }): WriteResult => ({ ok: true, id: keyOf(item.enrolment), version: null });
    const statusResults = enrolUnavailable
      ? statusChanges.map(() => enrolUnavailable)
      : await sendEnrolmentCalls(
          this.client,
          session,
          'enrol_manual_enrol_users',
          statusChanges,
          (item) => statusParams(item.enrolment, item.suspend, this.connection),
          done,
          (item, error) => refusedResult(`Moodle refused to ${item.suspend ? 'suspend' : 'reactivate'} enrolment ${keyOf(item.enrolment)}: ${explainEnrolRefusal(error, null)}`),
        );
    const unenrolResults = unenrolUnavailable
      ? unenrolments.map(() => unenrolUnavailable)
      : await sendEnrolmentCalls(
          this.client,
          session,
          'enrol_manual_unenrol_users',
          unenrolments,
          (item) => ({ userid: item.enrolment.userid, courseid: item.enrolment.courseid }),
          done,
          (item, error) => refusedResult(`Moodle refused to unenrol ${keyOf(item.enrolment)}: ${explainEnrolRefusal(error, null)}`),
        );
    statusChanges.forEach((item, position) => (results[item.index] = statusResults[position] as WriteResult));
    unenrolments.forEach((item, position) => (results[item.index] = unenrolResults[position] as WriteResult));

    // Moodle answers these calls with nothing, and changes only manual enrolments: read back what it did.
    const applied = [...statusChanges, ...unenrolments].filter((item) => results[item.index]?.ok);
    if (applied.length > 0) {
      const after = await this.current(applied.map((item) => keyOf(item.enrolment)));
      for (const item of applied) {
        const now = after.get(keyOf(item.enrolment));
        const wantSuspended = 'suspend' in item ? item.suspend : null;
        const took = wantSuspended === null ? now === undefined : now?.suspended === wantSuspended;
        if (!took) {
          const action = wantSuspended === null ? 'unenrol' : wantSuspended ? 'suspend' : 'reactivate';
          results[item.index] = refusedResult(otherMethodReason(action, item.enrolment.userid, item.enrolment.courseid));
        }
      }
    }
    return results;
  }
}

/** What an update changes: the status only; the identity fields must still name this enrolment. */
function updateInput(fields: FlowRecord, enrolment: CourseEnrolment): { suspended?: boolean } | { error: string } {
  let suspended: boolean | undefined;
  for (const [name, value] of Object.entries(fields)) {
    if (name === 'suspended') {
      if (typeof value !== 'boolean') return { error: `suspended must be true or false, got ${preview(value)}` };
      suspended = value;
    } else if (name === 'userid' || name === 'courseid') {
      if (moodleId(value) !== enrolment[name]) {
        return {
          error:
            `${name}: enrolment ${keyOf(enrolment)} is user ${enrolment.userid} in course ${enrolment.courseid}; it cannot become another — ` +
            'to move people between courses, give the collection a record per user ("enrolment": "one-per-user"), see docs/connectors/moodle.md, "Moving an enrolment"',
        };
      }
    } else if (enrolmentFieldNames.includes(name)) {
      const problem = readOnlyFieldProblem(name, value, enrolment);
      if (problem) return { error: problem };
    } else {
      return { error: `${name} is not a field of Moodle enrolments; the fields are ${enrolmentFieldNames.join(', ')}` };
    }
  }
  return suspended === undefined ? {} : { suspended };
}

function keyOf(enrolment: Pick<CourseEnrolment, 'courseid' | 'userid'>): string {
  return `${enrolment.courseid}:${enrolment.userid}`;
}

function toRecord(enrolment: CourseEnrolment): SourceRecord {
  const { userid, courseid, username, email, roles, suspended } = enrolment;
  return { id: keyOf(enrolment), version: null, tag: null, deleted: false, fields: { userid, courseid, username, email, roles, suspended } };
}

/** `<courseid>:<userid>`, or null for anything else. */
export function enrolmentKey(id: string): { courseid: number; userid: number } | null {
  const match = /^(\d+):(\d+)$/.exec(id);
  if (!match) return null;
  const courseid = moodleId(match[1]);
  const userid = moodleId(match[2]);
  return courseid === null || userid === null ? null : { courseid, userid };
}
