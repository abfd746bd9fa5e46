/**
 * The `moodle` connection: which site (`baseUrl`), whose token (`auth.credential`), which courses the `enrolments`
 * collection covers and whether it holds a record per enrolment or per user, the role new enrolments get, what a
 * delete means for each collection, and which custom profile fields the `users` collection carries. Checked field by
 * field so each problem names its path (SPEC §4).
 */
import type { ConnectionProblem } from '../connection';
import type { DeleteMeaning } from '../types';

/** What a delete of a user does: suspend the account (the default), refuse, or delete it in Moodle. */
export const userDeleteModes = ['suspend', 'refuse', 'delete'] as const;
export type UserDeleteMode = (typeof userDeleteModes)[number];

/** What a delete of an enrolment does: unenrol (the default), suspend the enrolment, or refuse. */
export const enrolmentDeleteModes = ['unenrol', 'suspend', 'refuse'] as const;
export type EnrolmentDeleteMode = (typeof enrolmentDeleteModes)[number];

/**
 * What a record of the enrolments collection is: one enrolment, keyed `<courseid>:<userid>` (the default), or one
 * user in one of the courses, keyed by the user's id, whose `courseid` a flow may change to move them.
 */
export const enrolmentShapes = ['per-enrolment', 'one-per-user'] as const;
export type EnrolmentShape = (typeof enrolmentShapes)[number];

/** Moodle's standard "student" role: what a new enrolment gets unless `roleId` says otherwise. */
export const defaultRoleId = 5;

export interface MoodleConnection {
  /** The site's address (wwwroot), no trailing slash; the REST endpoint is `{baseUrl}/webservice/rest/server.php`. */
  baseUrl: string;
  credential: string;
  /** Course ids of the `enrolments` collection, ascending. */
  courses: readonly number[];
  enrolment: EnrolmentShape;
  roleId: number;
  userDeletes: UserDeleteMode;
  enrolmentDeletes: EnrolmentDeleteMode;
  /** Shortnames of custom profile fields, read and written as `customfields.<shortname>`. */
  profileFields: readonly string[];
}

const knownOptions = ['baseUrl', 'auth', 'courses', 'enrolment', 'roleId', 'userDeletes', 'enrolmentDeletes', 'profileFields'];
/** Profile field shortnames are PARAM_ALPHANUMEXT in the web-service parameters. */
const shortnamePattern = /^[A-Za-z0-9_-]{1,100}$/;

/** Every problem with a `moodle` connection, each with its path inside `connection` and what to do. */
export function checkMoodleConnection(connection: Record<string, unknown>): ConnectionProblem[] {
  const problems: ConnectionProblem[] = [];
  const problem = (path: (string | number)[], message: string): void => void problems.push({ path, message });
  const { baseUrl, auth, courses, enrolment, roleId, userDeletes, enrolmentDeletes, profileFields } = connection;

  if (baseUrl === undefined) problem(['baseUrl'], "is required: the site's address, e.g. https://learn.example.com");
  else if (typeof baseUrl !== 'string' || !isHttpUrl(baseUrl)) problem(['baseUrl'], "must be the site's http or https address without query or fragment, e.g. https://learn.example.com");
  else if (/\/webservice\/rest\/server\.php\/?$/i.test(baseUrl)) problem(['baseUrl'], `must be the site's address only: ${baseUrl.replace(/\/webservice\/rest\/server\.php\/?$/i, '')}`);

  if (auth === undefined) problem(['auth'], 'is required: {"credential": NAME} naming a stored web-service token');
  else if (!isPlainObject(auth)) problem(['auth'], 'must be {"credential": NAME} naming a stored web-service token');
  else {
    if (typeof auth.credential !== 'string' || auth.credential === '') problem(['auth', 'credential'], 'must name a stored credential holding the web-service token');
    for (const key of Object.keys(auth)) if (key !== 'credential') problem(['auth', key], 'is not an auth option; known options: credential');
  }

  if (courses !== undefined) {
    const ids = readList(courses);
    if (ids === null || ids.length === 0 || ids.some((id) => !/^[1-9]\d{0,15}$/.test(id))) {
      problem(['courses'], 'must list course ids, e.g. [12, 15] or "12, 15" (Site administration > Courses lists them; the id is in each course\'s address)');
    } else if (ids.includes('1')) {
      problem(['courses'], 'course 1 is the site\'s front page, which has no enrolments; list the courses people enrol in');
    } else if (new Set(ids).size !== ids.length) {
      problem(['courses'], 'lists a course twice');
    }
  }
  if (enrolment !== undefined && !(enrolmentShapes as readonly unknown[]).includes(enrolment)) {
    problem(['enrolment'], `must be one of ${enrolmentShapes.join(', ')}: a record per enrolment (course:user), or per user, whose courseid moves them`);
  }
  if (roleId !== undefined && !(typeof roleId === 'number' && Number.isSafeInteger(roleId) && roleId > 0)) {
    problem(['roleId'], 'must be the id of a role assignable in courses (5 is "student" on a standard site)');
  }
  if (userDeletes !== undefined && !(userDeleteModes as readonly unknown[]).includes(userDeletes)) problem(['userDeletes'], `must be one of ${userDeleteModes.join(', ')}`);
  if (enrolmentDeletes !== undefined && !(enrolmentDeleteModes as readonly unknown[]).includes(enrolmentDeletes)) {
    problem(['enrolmentDeletes'], `must be one of ${enrolmentDeleteModes.join(', ')}`);
  }
  if (profileFields !== undefined) {
    const names = readList(profileFields);
    if (names === null || names.some((name) => !shortnamePattern.test(name))) {
      problem(['profileFields'], 'must list custom profile field shortnames, e.g. ["costcentre", "site"] (Site administration > Users > User profile fields)');
    } else if (new Set(names).size !== names.length) {
      problem(['profileFields'], 'lists a field twice');
    }
  }

  for (const key of Object.keys(connection)) {
    if (!knownOptions.includes(key)) problem([key], `is not a moodle connection option; known options: ${knownOptions.join(', ')}`);
  }
  return problems;
}

/** The connection as the connector uses it; call only after {@link checkMoodleConnection} found nothing. */
export function parseMoodleConnection(connection: Record<string, unknown>): MoodleConnection {
  const auth = connection.auth as { credential: string };
  return {
    baseUrl: String(connection.baseUrl).replace(/\/+$/, ''),
    credential: auth.credential,
    courses: (readList(connection.courses) ?? []).map(Number).sort((a, b) => a - b),
    enrolment: (connection.enrolment as EnrolmentShape | undefined) ?? 'per-enrolment',
    roleId: typeof connection.roleId === 'number' ? connection.roleId : defaultRoleId,
    userDeletes: (connection.userDeletes as UserDeleteMode | undefined) ?? 'suspend',
    enrolmentDeletes: (connection.enrolmentDeletes as EnrolmentDeleteMode | undefined) ?? 'unenrol',
    profileFields: readList(connection.profileFields) ?? [],
  };
}

/** What a delete means to the engine for each mode (types.ts DeleteMeaning): a suspension keeps the record, closed. */
export function deleteMeaningOf(mode: UserDeleteMode | EnrolmentDeleteMode): DeleteMeaning {
  if (mode === 'refuse') return 'cannot';
  if (mode === 'suspend') return 'close';
  return 'remove';
}

/**
 * A list given as JSON (`[12, 15]`) or as the text a form's field holds (`"12, 15"`): the editor's course lookup writes
 * one value, and more are typed separated by commas. Null when it is neither.
 */
function readList(value: unknown): string[] | null {
  if (typeof value === 'string') return value.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number')) return value.map((item) => String(item).trim());
  return null;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
