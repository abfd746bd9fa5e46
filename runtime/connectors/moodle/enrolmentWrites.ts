/**
 * What both shapes of the enrolments collection write with: `enrol_manual_enrol_users` (a new enrolment, and a status
 * change by enrolling again) and `enrol_manual_unenrol_users`, through the course's manual enrolment method only. The
 * checks of what a flow asks for, the lookup of the user a create names, and Moodle's refusals in words.
 */
import type { FlowRecord } from '../../../nodes/types';
import type { WriteResult } from '../types';
import { explainRefusal, sendIsolating, type WriteSession } from './batches';
import type { MoodleCallError, MoodleClient } from './client';
import type { MoodleConnection } from './config';
import type { CourseEnrolment } from './enrolmentReads';
import { enrolmentFieldDescriptions, moodleId, preview } from './shape';
import type { SiteInfo } from './site';
import { groupInto } from '../../util/collections';

/** A user named by an enrolment's fields. */
export type UserRef = { kind: 'userid'; value: number } | { kind: 'username' | 'email'; value: string };

/** What a create asks for: the course, the user, and whether the new enrolment starts suspended. */
export interface EnrolmentInput {
  courseid: number;
  who: UserRef;
  suspended: boolean;
}

export const enrolmentFieldNames = enrolmentFieldDescriptions.map((field) => field.name);

/** A create's fields checked: a course among `connection.courses`, a user, no roles (a new enrolment gets `roleId`). */
export function createInput(fields: FlowRecord, connection: MoodleConnection): EnrolmentInput | { error: string } {
  const unknown = Object.keys(fields).filter((name) => !enrolmentFieldNames.includes(name));
  if (unknown.length > 0) return { error: `${unknown.join(', ')}: not a field of Moodle enrolments; the fields are ${enrolmentFieldNames.join(', ')}` };
  const courseid = moodleId(fields.courseid);
  if (courseid === null) return { error: `courseid is required to enrol someone: a course id, got ${preview(fields.courseid)}` };
  const outside = outsideCourses(courseid, connection);
  if (outside) return { error: outside };
  if (Array.isArray(fields.roles) ? fields.roles.length > 0 : fields.roles !== undefined && fields.roles !== null) {
    return { error: 'roles are read from Moodle: new enrolments get the role of connection.roleId; leave roles out of what the flow writes to Moodle' };
  }
  if (fields.suspended !== undefined && typeof fields.suspended !== 'boolean') return { error: `suspended must be true or false, got ${preview(fields.suspended)}` };
  const who = userRef(fields);
  if ('error' in who) return who;
  return { courseid, who, suspended: fields.suspended === true };
}

/** Why a course cannot be written to, or null: an enrolment outside `connection.courses` would never be listed. */
export function outsideCourses(courseid: number, connection: MoodleConnection): string | null {
  if (connection.courses.includes(courseid)) return null;
  return `course ${courseid} is not among connection.courses (${connection.courses.join(', ')}): an enrolment there would never be listed`;
}

function userRef(fields: FlowRecord): UserRef | { error: string } {
  if (fields.userid !== undefined && fields.userid !== null) {
    const userid = moodleId(fields.userid);
    return userid === null ? { error: `userid must be a Moodle user id, got ${preview(fields.userid)}` } : { kind: 'userid', value: userid };
  }
  for (const kind of ['username', 'email'] as const) {
    const value = fields[kind];
    if (typeof value === 'string' && value.trim() !== '') return { kind, value: value.trim() };
  }
  return { error: 'an enrolment needs its user: a userid, or the username or email of a Moodle user' };
}

/**
 * Whether an update's `username`, `email` or `roles` still describe the enrolled user as Moodle holds them: these are
 * the user's own (changed through the users collection) or read only, so a different value is refused rather than
 * taken for a change — and, the enrolled user's change having been written first, the same value is nothing to write.
 */
export function readOnlyFieldProblem(name: string, value: unknown, current: Pick<CourseEnrolment, 'username' | 'email' | 'roles'>): string | null {
  if (name === 'username' || name === 'email') {
    if (sameText(value, current[name])) return null;
    return `${name} is the enrolled user's, read only here: change it through the users collection (an enrolment cannot move to another user)`;
  }
  if (name === 'roles') return JSON.stringify(value) === JSON.stringify(current.roles) ? null : 'roles are read only: the web service enrols with one role and removes no role';
  return null;
}

/** Each reference as a user id, or why it names no single user. Usernames and emails are looked up in one call each. */
export async function resolveUsers(client: MoodleClient, site: SiteInfo, refs: readonly UserRef[]): Promise<Array<number | string>> {
  const lookups = { username: new Set<string>(), email: new Set<string>() };
  for (const ref of refs) if (ref.kind !== 'userid') lookups[ref.kind].add(ref.value);
  const found = { username: new Map<string, number[]>(), email: new Map<string, number[]>() };
  for (const field of ['username', 'email'] as const) {
    const values = [...lookups[field]];
    if (values.length === 0) continue;
    if (!site.functions.has('core_user_get_users_by_field')) {
      return refs.map((ref) => (ref.kind === 'userid' ? ref.value : `to find a user by ${ref.kind}, the token's external service needs core_user_get_users_by_field; or give the userid`));
    }
    for (let index = 0; index < values.length; index += 100) {
      const answer = await client.call('core_user_get_users_by_field', { field, values: values.slice(index, index + 100) }, 'repeatable');
      for (const user of Array.isArray(answer) ? (answer as Array<Record<string, unknown>>) : []) {
        if (typeof user.id !== 'number' || user.id === site.userid) continue;
        const key = String(user[field]);
        groupInto(found[field], key, user.id);
      }
    }
  }
  return refs.map((ref) => {
    if (ref.kind === 'userid') return ref.value;
    const ids = found[ref.kind].get(ref.value) ?? [];
    if (ids.length === 1) return ids[0] as number;
    return ids.length === 0 ? `no Moodle user has the ${ref.kind} "${ref.value}"` : `${ids.length} Moodle users have the ${ref.kind} "${ref.value}": give the userid`;
  });
}

/** One `enrolments[i]` of enrol_manual_enrol_users. */
export type EnrolParams = { roleid: number; userid: number; courseid: number; suspend?: number };

/** A new enrolment (or an existing one enrolled again) with this role and status. */
export function enrolParams(courseid: number, userid: number, roleid: number, suspend: boolean): EnrolParams {
  return { roleid, userid, courseid, ...(suspend ? { suspend: 1 } : {}) };
}

/**
 * Enrolling an enrolled user again changes its status (enrol_plugin::enrol_user()); it also sets the dates (none:
 * the web service defaults timestart and timeend to 0, which enrol_user() applies; docs/connectors/moodle.md says so
 * to users) and assigns the role given, so the role given is one the user holds there already.
 */
export function statusParams(enrolment: CourseEnrolment, suspend: boolean, connection: MoodleConnection): EnrolParams {
  return { roleid: enrolment.roleIds[0] ?? connection.roleId, userid: enrolment.userid, courseid: enrolment.courseid, suspend: suspend ? 1 : 0 };
}

/**
 * Sends `enrol_manual_enrol_users` or `enrol_manual_unenrol_users` for these items in batches, a refused one isolated
 * (batches.ts): each item gets `done`, or `refused` with the error Moodle answered for it alone.
 */
export function sendEnrolmentCalls<T>(
  client: MoodleClient,
  session: WriteSession,
  wsfunction: 'enrol_manual_enrol_users' | 'enrol_manual_unenrol_users',
  items: readonly T[],
  paramsOf: (item: T) => EnrolParams | { userid: number; courseid: number },
  done: (item: T) => WriteResult,
  refused: (item: T, error: MoodleCallError) => WriteResult,
): Promise<WriteResult[]> {
  return sendIsolating(
    items,
    paramsOf,
    session.guard('other', async (batch) => {
      await client.call(wsfunction, { enrolments: batch.map(paramsOf) }, 'repeatable');
      return batch.map(done);
    }),
    refused,
  );
}

/** Why Moodle did not apply a write it answered without complaint: only manual enrolments change. */
export function otherMethodReason(action: string, userid: number, courseid: number): string {
  return `Moodle did not ${action} user ${userid} in course ${courseid}: the user is enrolled there by another method (self enrolment, cohort sync, …) as well or instead, and the web service changes manual enrolments only`;
}

export function explainEnrolRefusal(error: MoodleCallError, roleid: number | null): string {
  if (error.errorcode === 'wsusercannotassign' && roleid !== null) return `${explainRefusal(error)} — check connection.roleId (${roleid}): it must be a role assignable in courses`;
  if (error.errorcode === 'wsnoinstance') return `${explainRefusal(error)} — add the "Manual enrolments" method to the course, and enable it`;
  if (error.exception === 'coding_exception') return `${explainRefusal(error)} — the user does not exist or is deleted`;
  return explainRefusal(error);
}

function sameText(value: unknown, current: unknown): boolean {
  return (typeof value === 'string' ? value.trim().toLowerCase() : value ?? null) === (typeof current === 'string' ? current.trim().toLowerCase() : current ?? null);
}
