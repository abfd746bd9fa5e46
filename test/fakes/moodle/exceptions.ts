/**
 * Moodle's exceptions as a web-service client receives them. `webservice_rest_server::generate_error()`
 * (webservice/rest/locallib.php) answers every failure with HTTP 200 and `{"exception": <class>, "errorcode": …,
 * "message": …}`, adding `debuginfo` only while the site's debugging is on. `moodle_exception`'s constructor
 * (lib/classes/exception/moodle_exception.php) looks the error code up in the language strings, uses
 * `<module>/<code>` when there is none, and appends ` (<debuginfo>)` to the message only under developer debugging.
 */

/** `$CFG->debug`: off on a production site; NORMAL shows debuginfo, DEVELOPER also folds it into the message. */
export type DebugLevel = 'none' | 'normal' | 'developer';

export class MoodleException extends Error {
  constructor(
    /** The PHP class, `get_class($ex)`: what the client sees as `exception`. */
    readonly exceptionClass: string,
    readonly errorcode: string,
    /** The language string (or `<module>/<code>`), before any debuginfo is folded in. */
    readonly baseMessage: string,
    readonly debuginfo: string | null = null,
  ) {
    super(baseMessage);
  }

  /** `$ex->getMessage()` on a site at this debug level. */
  text(developerDebug: boolean): string {
    return developerDebug && this.debuginfo ? `${this.baseMessage} (${this.debuginfo})` : this.baseMessage;
  }

  /** The JSON body generate_error() writes. */
  toJson(debug: DebugLevel): Record<string, string> {
    const body: Record<string, string> = { exception: this.exceptionClass, errorcode: this.errorcode, message: this.text(debug === 'developer') };
    if (debug !== 'none' && this.debuginfo !== null) body.debuginfo = this.debuginfo;
    return body;
  }
}

/** invalid_parameter_exception: always "Invalid parameter value detected"; what was wrong is only in debuginfo. */
export class InvalidParameterException extends MoodleException {
  constructor(debuginfo: string) {
    super('invalid_parameter_exception', 'invalidparameter', 'Invalid parameter value detected', debuginfo);
  }
}

/** A moodle_exception with a core error string (lang/en/error.php), or `error/<code>` when the string does not exist. */
export function moodleError(errorcode: string, debuginfo: string | null = null, a?: Record<string, string | number>): MoodleException {
  const string = coreErrorStrings[errorcode];
  return new MoodleException('moodle_exception', errorcode, string === undefined ? `error/${errorcode}` : fillPlaceholders(string, a), debuginfo);
}

/** A moodle_exception whose string lives in enrol_manual's language file. Placeholders without `$a` stay as written. */
export function enrolManualError(errorcode: keyof typeof enrolManualStrings, a?: Record<string, string | number>): MoodleException {
  return new MoodleException('moodle_exception', errorcode, fillPlaceholders(enrolManualStrings[errorcode], a));
}

/** dml_missing_record_exception: a MUST_EXIST read found nothing. */
export function missingRecord(table: string): MoodleException {
  return new MoodleException('dml_missing_record_exception', 'invalidrecord', `Can't find data record in database table ${table}.`);
}

/** coding_exception: "Coding error detected, it must be fixed by a programmer: <hint>" (lang/en/debug.php). */
export function codingError(hint: string, debuginfo: string | null = null): MoodleException {
  return new MoodleException('coding_exception', 'codingerror', `Coding error detected, it must be fixed by a programmer: ${hint}`, debuginfo);
}

/** required_capability_exception: `nopermissions` with the capability's name. */
export function requiredCapability(capability: string): MoodleException {
  const name = capabilityNames[capability] ?? capability;
  return new MoodleException('required_capability_exception', 'nopermissions', `Sorry, but you do not currently have permissions to do that (${name}).`, `${capability}`);
}

/** webservice_authenticate_by_token(): no such token (lang/en/webservice.php `invalidtoken`). */
export function invalidToken(): MoodleException {
  return new MoodleException('moodle_exception', 'invalidtoken', 'Invalid token - token not found');
}

/** webservice_access_exception: the token's service lacks the function; the reasons are only in debuginfo. */
export function accessException(functionName: string): MoodleException {
  return new MoodleException(
    'webservice_access_exception',
    'accessexception',
    'Access control exception',
    `Access to the function ${functionName}() is not allowed. There could be multiple reasons for this: 1. The service linked to the user token does not contain the function. 2. The service is user-restricted and the user is not listed. 3. The service is IP-restricted and the user IP is not listed. 4. The service is time-restricted and the time has expired. 5. The token is time-restricted and the time has expired. 6. The service requires a specific capability which the user does not have. 7. The function is called with username/password (no user token is sent) and none of the services has the function to allow the user. These settings can be found in Administration > Site administration > Server > Web services > External services and Manage tokens.`,
  );
}

function fillPlaceholders(text: string, a: Record<string, string | number> | undefined): string {
  if (!a) return text;
  return text.replace(/\{\$a->(\w+)\}/g, (whole, key: string) => (key in a ? String(a[key]) : whole)).replace(/\{\$a\}/g, String(a.value ?? '{$a}'));
}

/** lang/en/error.php, the strings these functions use. Codes absent here have no core string (e.g. usernotupdateddeleted). */
const coreErrorStrings: Record<string, string> = {
  invaliduserid: 'Invalid user ID',
  usernotupdatedadmin: 'Cannot update admin accounts',
  useremailduplicate: 'Duplicate address',
  usernamelowercase: 'The username must be in lower case',
  invalidusername: 'The given username contains invalid characters',
  invalidusernameblank: 'The username cannot be blank',
  useradminodelete: 'Administrator accounts cannot be deleted.',
  usernotdeletederror: 'User not deleted - error',
  invaliduserfield: 'Invalid user field: {$a}',
  dmlwriteexception: 'Error writing to database',
};

/** enrol/manual/lang/en/enrol_manual.php. */
const enrolManualStrings = {
  wsusercannotassign: "You don't have the permission to assign this role ({$a->roleid}) to this user ({$a->userid}) in this course ({$a->courseid}).",
  wsnoinstance: "Manual enrolment plugin instance doesn't exist or is disabled for the course (id = {$a->courseid})",
  wscannotenrol: 'Plugin instance cannot manually enrol a user in the course id = {$a->courseid}',
  wscannotunenrol: 'Plugin instance cannot manually unenrol a user in the course id = {$a->courseid}',
};

/** Capability names as get_capability_string() gives them (lang/en/role.php). */
const capabilityNames: Record<string, string> = {
  'moodle/user:create': 'Create users',
  'moodle/user:update': 'Update user profiles',
  'moodle/user:delete': 'Delete users',
  'moodle/user:viewdetails': 'View user profiles',
  'moodle/site:viewparticipants': 'View participants',
  'moodle/course:viewparticipants': 'View participants',
  'moodle/course:enrolreview': 'Review course enrolments',
  'moodle/course:view': 'View courses without participation',
  'enrol/manual:enrol': 'Enrol users',
  'enrol/manual:unenrol': 'Unenrol users from the course',
};
