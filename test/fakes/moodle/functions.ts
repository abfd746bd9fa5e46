/**
 * The web-service functions the fake serves, each with the parameters and returns its `*_parameters()` /
 * `*_returns()` declare in Moodle's source (user/externallib.php, enrol/externallib.php, enrol/manual/externallib.php,
 * course/externallib.php, webservice/classes/external/get_site_info.php — see SOURCES.md) and a body that follows the
 * PHP line by line where behaviour matters: the order of checks, what fails the whole call (one transaction, first
 * error thrown) and what becomes a per-record warning.
 */
import {
  codingError,
  enrolManualError,
  InvalidParameterException,
  missingRecord,
  moodleError,
  MoodleException,
  requiredCapability,
} from './exceptions';
import { cleanParam, multiple, phpIntval, single, value, type Description, type Validated } from './php';
import { defaultUserFields, GUEST_ID, SITEID, type Course, type MoodleSite, type MoodleUser, type ProfileField, type ServiceToken } from './site';

export interface Call {
  site: MoodleSite;
  token: ServiceToken;
  developerDebug: boolean;
}

export interface WsFunction {
  /** The keys of `external_function_parameters`: a single structure at the top. */
  parameters: Record<string, Description>;
  /** Null for functions whose returns description is null: they answer `null`. */
  returns: Description | null;
  execute(params: Record<string, Validated>, call: Call): unknown;
}

type Row = Record<string, Validated>;

function requireCapability(call: Call, capability: string): void {
  if (!call.site.can(call.token, capability)) throw requiredCapability(capability);
}

/** `validate_email()` (lib/moodlelib.php): PHPMailer's html5 address pattern, and no angle brackets. */
export function validEmail(email: string): boolean {
  return /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(email) && !/[<>]/.test(email);
}

/** Auth plugins whose passwords Moodle keeps (is_internal()). */
const internalAuths = new Set(['manual', 'email', 'nologin', 'none']);

const text = (desc: string) => value('raw', desc, 'optional');
const notags = (desc: string) => value('notags', desc, 'optional');
const customFieldsParam = multiple(single({ type: value('alphanumext', 'The name of the custom field'), value: value('raw', 'The value of the custom field') }), 'User custom fields (also known as user profil fields)', 'optional');
const preferencesParam = multiple(single({ type: value('raw', 'The name of the preference'), value: value('raw', 'The value of the preference') }), 'User preferences', 'optional');

/** core_user_external::create_users_parameters(). */
const createUserKeys: Record<string, Description> = {
  createpassword: value('bool', 'True if password should be created and mailed to user.', 'optional'),
  username: value('username', 'Username policy is defined in Moodle security config.'),
  auth: value('auth', 'Auth plugins include manual, ldap, etc', 'default', 'manual'),
  password: value('raw', 'Plain text password consisting of any characters', 'optional'),
  firstname: value('notags', 'The first name(s) of the user'),
  lastname: value('notags', 'The family name of the user'),
  email: value('raw_trimmed', 'A valid and unique email address'),
  maildisplay: value('int', 'Email visibility', 'optional'),
  city: value('text', 'Home city of the user', 'optional'),
  country: value('alpha', 'Home country code of the user, such as AU or CZ', 'optional'),
  timezone: value('timezone', 'Timezone code such as Australia/Perth, or 99 for default', 'optional'),
  description: text('User profile description, no HTML'),
  firstnamephonetic: notags('The first name(s) phonetically of the user'),
  lastnamephonetic: notags('The family name phonetically of the user'),
  middlename: notags('The middle name of the user'),
  alternatename: notags('The alternate name of the user'),
  interests: value('text', 'User interests (separated by commas)', 'optional'),
  idnumber: value('raw', 'An arbitrary ID code number perhaps from the institution', 'default', ''),
  institution: value('text', 'institution', 'optional'),
  department: value('text', 'department', 'optional'),
  phone1: notags('Phone 1'),
  phone2: notags('Phone 2'),
  address: value('text', 'Postal address', 'optional'),
  lang: value('lang', 'Language code such as "en", must exist on server', 'default', 'en'),
  calendartype: value('plugin', 'Calendar type such as "gregorian", must exist on server', 'default', 'gregorian'),
  theme: value('theme', 'Theme name such as "standard", must exist on server', 'optional'),
  mailformat: value('int', 'Mail format code is 0 for plain text, 1 for HTML etc', 'optional'),
  customfields: customFieldsParam,
  preferences: preferencesParam,
};

/** core_user_external::update_users_parameters(): everything optional but the id; `suspended` only here. */
const updateUserKeys: Record<string, Description> = {
  id: value('int', 'ID of the user'),
  username: value('username', 'Username policy is defined in Moodle security config.', 'optional'),
  auth: value('auth', 'Auth plugins include manual, ldap, etc', 'optional'),
  suspended: value('bool', 'Suspend user account, either false to enable user login or true to disable it', 'optional'),
  password: value('raw', 'Plain text password consisting of any characters', 'optional'),
  firstname: value('notags', 'The first name(s) of the user', 'optional'),
  lastname: value('notags', 'The family name of the user', 'optional'),
  email: value('raw_trimmed', 'A valid and unique email address', 'optional'),
  maildisplay: value('int', 'Email visibility', 'optional'),
  city: value('text', 'Home city of the user', 'optional'),
  country: value('alpha', 'Home country code of the user, such as AU or CZ', 'optional'),
  timezone: value('timezone', 'Timezone code such as Australia/Perth, or 99 for default', 'optional'),
  description: text('User profile description, no HTML'),
  userpicture: value('int', 'The itemid where the new user picture has been uploaded to, 0 to delete', 'optional'),
  firstnamephonetic: notags('The first name(s) phonetically of the user'),
  lastnamephonetic: notags('The family name phonetically of the user'),
  middlename: notags('The middle name of the user'),
  alternatename: notags('The alternate name of the user'),
  interests: value('text', 'User interests (separated by commas)', 'optional'),
  idnumber: value('raw', 'An arbitrary ID code number perhaps from the institution', 'optional'),
  institution: value('text', 'Institution', 'optional'),
  department: value('text', 'Department', 'optional'),
  phone1: notags('Phone'),
  phone2: notags('Mobile phone'),
  address: value('text', 'Postal address', 'optional'),
  lang: value('lang', 'Language code such as "en", must exist on server', 'optional'),
  calendartype: value('plugin', 'Calendar type such as "gregorian", must exist on server', 'optional'),
  theme: value('theme', 'Theme name such as "standard", must exist on server', 'optional'),
  mailformat: value('int', 'Mail format code is 0 for plain text, 1 for HTML etc', 'optional'),
  customfields: customFieldsParam,
  preferences: preferencesParam,
};

/** The user table columns a create or update may set directly. */
const userColumns = [
  'auth', 'username', 'firstname', 'lastname', 'email', 'maildisplay', 'city', 'country', 'timezone', 'description', 'firstnamephonetic',
  'lastnamephonetic', 'middlename', 'alternatename', 'idnumber', 'institution', 'department', 'phone1', 'phone2', 'address', 'lang',
  'mailformat', 'suspended',
] as const;

/** core_user_external::user_description(): what get_users_by_field and get_users return for each user. */
const userDescription = single({
  id: value('int', 'ID of the user'),
  username: value('raw', 'The username', 'optional'),
  firstname: value('raw', 'The first name(s) of the user', 'optional'),
  lastname: value('raw', 'The family name of the user', 'optional'),
  fullname: value('raw', 'The fullname of the user'),
  email: value('raw', 'An email address - allow email as root@localhost', 'optional'),
  address: value('raw', 'Postal address', 'optional'),
  phone1: value('raw', 'Phone 1', 'optional'),
  phone2: value('raw', 'Phone 2', 'optional'),
  department: value('raw', 'department', 'optional'),
  institution: value('raw', 'institution', 'optional'),
  idnumber: value('raw', 'An arbitrary ID code number perhaps from the institution', 'optional'),
  interests: value('raw', 'user interests (separated by commas)', 'optional'),
  firstaccess: value('int', 'first access to the site (0 if never)', 'optional'),
  lastaccess: value('int', 'last access to the site (0 if never)', 'optional'),
  auth: value('raw', 'Auth plugins include manual, ldap, etc', 'optional'),
  suspended: value('bool', 'Suspend user account, either false to enable user login or true to disable it', 'optional'),
  confirmed: value('bool', 'Active user: 1 if confirmed, 0 otherwise', 'optional'),
  lang: value('raw', 'Language code such as "en", must exist on server', 'optional'),
  calendartype: value('raw', 'Calendar type such as "gregorian", must exist on server', 'optional'),
  theme: value('raw', 'Theme name such as "standard", must exist on server', 'optional'),
  timezone: value('raw', 'Timezone code such as Australia/Perth, or 99 for default', 'optional'),
  mailformat: value('int', 'Mail format code is 0 for plain text, 1 for HTML etc', 'optional'),
  description: value('raw', 'User profile description', 'optional'),
  descriptionformat: value('int', 'description format', 'optional'),
  city: value('raw', 'Home city of the user', 'optional'),
  country: value('raw', 'Home country code of the user, such as AU or CZ', 'optional'),
  profileimageurlsmall: value('raw', 'User image profile URL - small version'),
  profileimageurl: value('raw', 'User image profile URL - big version'),
  customfields: multiple(
    single({
      type: value('raw', 'The type of the custom field - text field, checkbox...'),
      value: value('raw', 'The value of the custom field (as stored in the database)'),
      displayvalue: value('raw', 'The value of the custom field for display', 'optional'),
      name: value('raw', 'The name of the custom field'),
      shortname: value('raw', 'The shortname of the custom field - to be able to build the field class in the code'),
    }),
    'User custom fields (also known as user profile fields)',
    'optional',
  ),
  preferences: multiple(single({ name: value('raw', 'The name of the preferences'), value: value('raw', 'The value of the preference') }), 'Users preferences', 'optional'),
});

/** core_enrol_external::get_enrolled_users_returns(): no suspended, auth, confirmed, lang or timezone. */
const enrolledUserDescription = single({
  id: value('int', 'ID of the user'),
  username: value('raw', 'Username policy is defined in Moodle security config', 'optional'),
  firstname: value('raw', 'The first name(s) of the user', 'optional'),
  lastname: value('raw', 'The family name of the user', 'optional'),
  fullname: value('raw', 'The fullname of the user'),
  email: value('raw', 'An email address - allow email as root@localhost', 'optional'),
  address: value('raw', 'Postal address', 'optional'),
  phone1: value('raw', 'Phone 1', 'optional'),
  phone2: value('raw', 'Phone 2', 'optional'),
  department: value('raw', 'department', 'optional'),
  institution: value('raw', 'institution', 'optional'),
  idnumber: value('raw', 'An arbitrary ID code number perhaps from the institution', 'optional'),
  interests: value('raw', 'user interests (separated by commas)', 'optional'),
  firstaccess: value('int', 'first access to the site (0 if never)', 'optional'),
  lastaccess: value('int', 'last access to the site (0 if never)', 'optional'),
  lastcourseaccess: value('int', 'last access to the course (0 if never)', 'optional'),
  description: value('raw', 'User profile description', 'optional'),
  descriptionformat: value('int', 'description format', 'optional'),
  city: value('raw', 'Home city of the user', 'optional'),
  country: value('raw', 'Home country code of the user, such as AU or CZ', 'optional'),
  profileimageurlsmall: value('raw', 'User image profile URL - small version', 'optional'),
  profileimageurl: value('raw', 'User image profile URL - big version', 'optional'),
  customfields: multiple(
    single({ type: value('raw', 'The type of the custom field - text field, checkbox...'), value: value('raw', 'The value of the custom field'), name: value('raw', 'The name of the custom field'), shortname: value('raw', 'The shortname of the custom field') }),
    'User custom fields (also known as user profil fields)',
    'optional',
  ),
  groups: multiple(single({ id: value('int', 'group id'), name: value('raw', 'group name'), description: value('raw', 'group description'), descriptionformat: value('int', 'format') }), 'user groups', 'optional'),
  roles: multiple(single({ roleid: value('int', 'role id'), name: value('raw', 'role name'), shortname: value('raw', 'role shortname'), sortorder: value('int', 'role sortorder') }), 'user roles', 'optional'),
  preferences: multiple(single({ name: value('raw', 'The name of the preferences'), value: value('raw', 'The value of the custom field') }), 'User preferences', 'optional'),
  enrolledcourses: multiple(single({ id: value('int', 'Id of the course'), fullname: value('raw', 'Fullname of the course'), shortname: value('raw', 'Shortname of the course') }), 'Courses where the user is enrolled - limited by which courses the user is able to see', 'optional'),
});

/** external_warnings. */
const warningsDescription = multiple(
  single({ item: value('raw', 'item', 'optional'), itemid: value('int', 'item id', 'optional'), warningcode: value('raw', 'the warning code can be used by the client app to implement specific behaviour'), message: value('raw', 'untranslated english message to explain the warning') }),
  'list of warnings',
  'optional',
);

/** Undoes what a function changed when it throws: Moodle's delegated transaction rolls the whole call back. */
function inTransaction<T>(site: MoodleSite, work: () => T): T {
  const users = new Map([...site.users].map(([id, user]) => [id, { ...user, profile: new Map(user.profile), preferences: new Map(user.preferences) }]));
  const enrolments = new Map([...site.userEnrolments].map(([id, ue]) => [id, { ...ue }]));
  const assignments = site.roleAssignments.map((assignment) => ({ ...assignment }));
  try {
    return work();
  } catch (caught) {
    site.users.clear();
    for (const [id, user] of users) site.users.set(id, user);
    site.userEnrolments.clear();
    for (const [id, ue] of enrolments) site.userEnrolments.set(id, ue);
    site.roleAssignments = assignments;
    throw caught;
  }
}

/**
 * profile_save_data(): each given field that exists is saved ("profile_field_<shortname>"); unknown names are ignored.
 * Each goes through its type's edit_save_data_preprocess() first (user/profile/lib.php, profile_field_base::
 * edit_save_data()).
 */
function saveProfile(site: MoodleSite, user: MoodleUser, customfields: Validated | undefined): void {
  if (!Array.isArray(customfields)) return;
  for (const entry of customfields as Row[]) {
    const field = site.profileFields.get(String(entry.type));
    if (field) user.profile.set(field.shortname, savedProfileValue(field, String(entry.value)));
  }
}

/**
 * What a profile field stores of a value written to it, without an error either way. A menu keeps only one of its
 * options: profile_field_menu (user/profile/field/menu/field.class.php) keys `$this->options` by the option texts
 * (plus '' for "Choose..." when the field is required), and `edit_save_data_preprocess()` is `return
 * isset($this->options[$data]) ? $data : null;`; profile_field_base::edit_save_data() then "Field cannot be set to null,
 * set the default value." — `$this->field->defaultdata`. So an unknown option, or "" on a field not required, becomes
 * the default. Other types keep the value as given (the base preprocess returns it unchanged).
 */
function savedProfileValue(field: ProfileField, value: string): string {
  if (field.datatype !== 'menu') return value;
  const options = new Set(field.options ?? []);
  if (field.required) options.add('');
  return options.has(value) ? value : (field.defaultdata ?? '');
}

function emailTaken(site: MoodleSite, email: string, exceptId: number | null): boolean {
  // A case-insensitive query (sql_equal(..., false)), deleted users included: their email is a hash.
  const lower = email.toLowerCase();
  return [...site.users.values()].some((user) => user.id !== exceptId && user.email.toLowerCase() === lower);
}

export const functions: Record<string, WsFunction> = {
  core_user_create_users: {
    parameters: { users: multiple(single(createUserKeys)) },
    returns: multiple(single({ id: value('int', 'user id'), username: value('raw', 'user name') })),
    execute(params, call) {
      const { site } = call;
      requireCapability(call, 'moodle/user:create');
      const available = site.config.auths.filter((auth) => auth !== 'mnet' && auth !== 'webservice');
      return inTransaction(site, () => {
        const created: Array<{ id: number; username: string }> = [];
        for (const user of params.users as Row[]) {
          for (const name of ['username', 'firstname', 'lastname']) {
            if (String(user[name]).trim() === '') throw new InvalidParameterException(`The field ${name} cannot be blank`);
          }
          const username = String(user.username);
          if ([...site.users.values()].some((existing) => existing.username === username)) throw new InvalidParameterException(`Username already exists: ${username}`);
          const auth = String(user.auth);
          if (!available.includes(auth)) throw new InvalidParameterException(`Invalid authentication type: ${auth}`);
          if (!site.config.languages.includes(String(user.lang))) throw new InvalidParameterException(`Invalid language code: ${String(user.lang)}`);
          if (user.theme && !site.config.themes.includes(String(user.theme))) throw new InvalidParameterException(`Invalid theme: ${String(user.theme)}`);
          const internal = internalAuths.has(auth);
          if (internal && !user.password && !user.createpassword) throw new InvalidParameterException('Invalid password: you must provide a password, or set createpassword.');
          const email = String(user.email);
          if (!validEmail(email)) throw new InvalidParameterException(`Email address is invalid: ${email}`);
          if (!site.config.allowAccountsSameEmail && emailTaken(site, email, null)) throw new InvalidParameterException(`Email address already exists: ${email}`);
          // user_create_user(): usernames must already be clean and lower-case.
          if (username !== username.toLowerCase()) throw moodleError('usernamelowercase');
          if (username !== cleanParam(username, 'username', site.config)) throw moodleError('invalidusername');
          const row = site.blankUser({ id: site.newUserId(), username, firstname: String(user.firstname), lastname: String(user.lastname), email });
          for (const column of userColumns) if (user[column] !== undefined && column !== 'suspended') Object.assign(row, { [column]: user[column] });
          row.password = internal && !user.createpassword ? `hashed:${String(user.password)}` : '';
          if (user.createpassword) row.preferences.set('auth_forcepasswordchange', '1');
          for (const preference of (user.preferences ?? []) as Row[]) row.preferences.set(String(preference.type), String(preference.value));
          site.users.set(row.id, row);
          saveProfile(site, row, user.customfields);
          created.push({ id: row.id, username });
        }
        return created;
      });
    },
  },

  core_user_update_users: {
    parameters: { users: multiple(single(updateUserKeys)) },
    returns: single({ warnings: warningsDescription }),
    execute(params, call) {
      const { site } = call;
      requireCapability(call, 'moodle/user:update');
      const warnings: Row[] = [];
      for (const user of params.users as Row[]) {
        const id = Number(user.id);
        // "Catch any exception while updating a user and return it as a warning": one user's problem is not the call's.
        try {
          inTransaction(site, () => {
            const existing = site.users.get(id);
            if (!existing) throw moodleError('invaliduserid', 'Invalid user ID');
            if (existing.id !== call.token.userid && site.isSiteAdmin(existing.id) && !site.isSiteAdmin(call.token.userid)) throw moodleError('usernotupdatedadmin', 'Cannot update admin accounts');
            if (existing.deleted) throw moodleError('usernotupdateddeleted', 'User is a deleted user');
            if (existing.id === GUEST_ID) throw moodleError('usernotupdatedguest', 'Cannot update guest account');
            if (user.email !== undefined && user.email !== existing.email) {
              const email = String(user.email);
              if (!validEmail(email)) throw moodleError('useremailinvalid', 'Invalid email address');
              if (!site.config.allowAccountsSameEmail && emailTaken(site, email, id)) throw moodleError('useremailduplicate', 'Duplicate email address');
            }
            // user_update_user() checks the username's case and characters, not that it is free: the unique index on
            // (mnethostid, username) refuses a taken one, as a dml_write_exception.
            if (user.username !== undefined) {
              const username = String(user.username);
              if (username !== username.toLowerCase()) throw moodleError('usernamelowercase');
              if (username !== cleanParam(username, 'username', site.config)) throw moodleError('invalidusername');
              if ([...site.users.values()].some((other) => other.id !== id && other.username === username)) {
                throw new MoodleException('dml_write_exception', 'dmlwriteexception', 'Error writing to database', `Duplicate entry '1-${username}' for key 'mdl_user_mneuse_uix'`);
              }
            }
            for (const column of userColumns) if (user[column] !== undefined) Object.assign(existing, { [column]: user[column] });
            if (user.password !== undefined && internalAuths.has(existing.auth)) existing.password = `hashed:${String(user.password)}`;
            existing.timemodified = site.unixNow();
            saveProfile(site, existing, user.customfields);
            for (const preference of (user.preferences ?? []) as Row[]) existing.preferences.set(String(preference.type), String(preference.value));
          });
        } catch (caught) {
          if (!(caught instanceof MoodleException)) throw caught;
          warnings.push({ item: 'user', itemid: id, warningcode: caught.errorcode, message: caught.text(call.developerDebug) });
        }
      }
      return { warnings };
    },
  },

  core_user_delete_users: {
    parameters: { userids: multiple(value('int', 'user ID')) },
    returns: null,
    execute(params, call) {
      const { site } = call;
      requireCapability(call, 'moodle/user:delete');
      inTransaction(site, () => {
        for (const id of params.userids as number[]) {
          const user = site.liveUser(id);
          if (!user) throw missingRecord('user');
          if (site.isSiteAdmin(user.id)) throw moodleError('useradminodelete');
          if (user.id === call.token.userid) throw moodleError('usernotdeletederror');
          deleteUser(site, user);
        }
      });
      return null;
    },
  },

  core_user_get_users_by_field: {
    parameters: { field: value('alpha', "the search field can be 'id' or 'idnumber' or 'username' or 'email'"), values: multiple(value('raw', 'the value to match')) },
    returns: multiple(userDescription),
    execute(params, call) {
      const { site } = call;
      const field = String(params.field);
      const types: Record<string, 'int' | 'raw' | 'username' | 'raw_trimmed'> = { id: 'int', idnumber: 'raw', username: 'username', email: 'raw_trimmed' };
      const type = types[field];
      if (!type) throw codingError('invalid field parameter', `The search field '${field}' is not supported, look at the web service documentation`);
      const wanted = new Set<string>();
      for (const raw of params.values as string[]) {
        const cleaned = cleanParam(raw, type, site.config);
        // PHP's loose `!=`: "7" equals 7, "7 " does not, "abc" does not equal 0.
        const same = type === 'int' ? /^\s*\d+\s*$/.test(raw) ? phpIntval(raw) === Number(cleaned) : false : raw === cleaned;
        if (!same) throw new InvalidParameterException(`The field '${field}' value is invalid: ${raw}(cleaned value: ${cleaned})`);
        wanted.add(cleaned);
      }
      // $DB->get_records_list('user', $field, $values, 'id'): deleted rows too. The comparison is the database's;
      // the fake compares exactly (PostgreSQL; MySQL's usual collation would ignore case).
      const users = [...site.users.values()].filter((user) => wanted.has(String(user[field as 'id' | 'idnumber' | 'username' | 'email']))).sort((a, b) => a.id - b.id);
      const returned: unknown[] = [];
      for (const user of users) {
        // user_get_user_details_courses() loads the user's context; delete_user() removed it, and context_user::instance()
        // then looks the user up with deleted = 0 and MUST_EXIST: the whole call fails.
        if (user.deleted) throw missingRecord('user');
        const details = site.userDetails(user, call.token, null, []);
        if (details && details[field] !== undefined && details[field] !== '') returned.push(details);
      }
      return returned;
    },
  },

  core_user_get_users: {
    parameters: {
      criteria: multiple(single({ key: value('alpha', 'the user column to search'), value: value('raw', 'the value to search') }), 'the key/value pairs to be considered in user search'),
    },
    returns: single({ users: multiple(userDescription), warnings: warningsDescription }),
    execute(params, call) {
      const { site } = call;
      const used = new Set<string>();
      const warnings: Row[] = [];
      const tests: Array<(user: MoodleUser) => boolean> = [(user) => !user.deleted];
      const checked: string[] = [];
      for (const criterion of params.criteria as Row[]) {
        const key = String(criterion.key);
        if (used.has(key)) throw moodleError('keyalreadyset', `The key ${key} can only be sent once`);
        used.add(key);
        const raw = String(criterion.value);
        if (['id', 'idnumber', 'username', 'auth'].includes(key)) {
          const type = key === 'id' ? 'int' : key === 'username' ? 'username' : key === 'auth' ? 'auth' : 'raw';
          const cleaned = cleanParam(raw, type, site.config);
          tests.push((user) => String(user[key as 'id']) === cleaned);
          checked.push(key);
        } else if (['email', 'firstname', 'lastname'].includes(key)) {
          const cleaned = cleanParam(raw, key === 'email' ? 'raw_trimmed' : 'notags', site.config);
          const pattern = likePattern(cleaned);
          tests.push((user) => pattern.test(String(user[key as 'email'])));
          checked.push(key);
        } else {
          warnings.push({ item: key, warningcode: 'invalidfieldparameter', message: `The search key '${key}' is not supported, look at the web service documentation` });
        }
      }
      const users = [...site.users.values()].filter((user) => tests.every((test) => test(user))).sort((a, b) => a.id - b.id);
      const returned = users
        .map((user) => site.userDetails(user, call.token, null, []))
        .filter((details): details is Record<string, unknown> => details !== null && checked.every((key) => details[key] !== undefined && details[key] !== ''));
      return { users: returned, warnings };
    },
  },

  core_enrol_get_enrolled_users: {
    parameters: {
      courseid: value('int', 'course id'),
      options: multiple(single({ name: value('alphanumext', 'option name'), value: value('raw', 'option value') }), 'Option names', 'default', []),
    },
    returns: multiple(enrolledUserDescription),
    execute(params, call) {
      const { site } = call;
      let onlyactive = false;
      let onlysuspended = false;
      let userfields: string[] = [];
      let limitfrom = 0;
      let limitnumber = 0;
      let sortby: 'id' | 'firstname' | 'lastname' | 'siteorder' = 'id';
      let descending = false;
      for (const option of params.options as Row[]) {
        const optionValue = String(option.value);
        switch (option.name) {
          case 'onlyactive':
            onlyactive = optionValue !== '' && optionValue !== '0';
            break;
          case 'onlysuspended':
            onlysuspended = optionValue !== '' && optionValue !== '0';
            break;
          case 'userfields':
            userfields = optionValue.split(',').map((field) => cleanParam(field, 'alphanumext', site.config));
            break;
          case 'limitfrom':
            limitfrom = phpIntval(optionValue);
            break;
          case 'limitnumber':
            limitnumber = phpIntval(optionValue);
            break;
          case 'sortby':
            if (!['id', 'firstname', 'lastname', 'siteorder'].includes(optionValue)) {
              throw new InvalidParameterException(`Invalid value for sortby parameter (value: ${optionValue}), allowed values are: id,firstname,lastname,siteorder`);
            }
            sortby = optionValue as typeof sortby;
            break;
          case 'sortdirection':
            if (!['ASC', 'DESC'].includes(optionValue.toUpperCase())) {
              throw new InvalidParameterException(`Invalid value for sortdirection parameter\n                        (value: ${optionValue.toUpperCase()}),allowed values are: ASC,DESC`);
            }
            descending = optionValue.toUpperCase() === 'DESC';
            break;
        }
      }
      const courseid = Number(params.courseid);
      const course = site.courses.get(courseid);
      if (!course) throw missingRecord('course');
      // course_require_view_participants(): the front page's participants are the site's, seen at system level.
      requireCapability(call, courseid === SITEID ? 'moodle/site:viewparticipants' : 'moodle/course:viewparticipants');
      if (onlyactive || onlysuspended) requireCapability(call, 'moodle/course:enrolreview');
      if (onlyactive && onlysuspended) throw codingError('Both onlyactive and onlysuspended are set, this is probably not what you want!');
      if (courseid === SITEID && onlysuspended) throw codingError('onlysuspended is not supported on frontpage; please add your own early-exit!');
      for (const field of userfields) if (!(defaultUserFields as readonly string[]).includes(field)) throw moodleError('invaliduserfield', null, { value: field });
      const users = site.enrolledUsers(courseid, onlyactive ? 'active' : onlysuspended ? 'suspended' : 'all');
      const key = (user: MoodleUser): Array<string | number> =>
        sortby === 'id' ? [user.id] : sortby === 'siteorder' ? [user.lastname, user.firstname, user.id] : [user[sortby], user.id];
      users.sort((a, b) => compareKeys(key(a), key(b)) * (descending ? -1 : 1));
      // get_recordset_sql($sql, $params, $limitfrom, $limitnumber): 0 means no limit.
      const page = users.slice(limitfrom, limitnumber > 0 ? limitfrom + limitnumber : undefined);
      return page.map((user) => site.userDetails(user, call.token, course, userfields)).filter((details) => details !== null);
    },
  },

  enrol_manual_enrol_users: {
    parameters: {
      enrolments: multiple(
        single({
          roleid: value('int', 'Role to assign to the user'),
          userid: value('int', 'The user that is going to be enrolled'),
          courseid: value('int', 'The course to enrol the user role in'),
          timestart: value('int', 'Timestamp when the enrolment start', 'optional'),
          timeend: value('int', 'Timestamp when the enrolment end', 'optional'),
          suspend: value('int', 'set to 1 to suspend the enrolment', 'optional'),
        }),
      ),
    },
    returns: null,
    execute(params, call) {
      const { site } = call;
      // "Function throw an exception at the first error encountered": one transaction for every enrolment.
      inTransaction(site, () => {
        for (const enrolment of params.enrolments as Row[]) {
          const courseid = Number(enrolment.courseid);
          const userid = Number(enrolment.userid);
          const roleid = Number(enrolment.roleid);
          if (!site.courses.has(courseid)) throw new InvalidParameterException('Context does not exist');
          requireCapability(call, 'enrol/manual:enrol');
          if (!site.roles.get(roleid)?.assignableInCourse) throw enrolManualError('wsusercannotassign', { roleid, courseid, userid });
          const instance = site.instancesOf(courseid).find((candidate) => candidate.enrol === 'manual' && candidate.status === 0);
          // The error parameters are passed where the link goes, so the message keeps its placeholder.
          if (!instance) throw enrolManualError('wsnoinstance');
          // role_assign(): "User ID does not exist or is deleted!"
          if (!site.liveUser(userid)) throw codingError('User ID does not exist or is deleted!');
          const status = enrolment.suspend ? 1 : 0;
          site.enrolUser(instance, userid, roleid, Number(enrolment.timestart ?? 0), Number(enrolment.timeend ?? 0), status);
        }
      });
      return null;
    },
  },

  enrol_manual_unenrol_users: {
    parameters: {
      enrolments: multiple(
        single({
          userid: value('int', 'The user that is going to be unenrolled'),
          courseid: value('int', 'The course to unenrol the user from'),
          roleid: value('int', 'The user role', 'optional'),
        }),
      ),
    },
    returns: null,
    execute(params, call) {
      const { site } = call;
      inTransaction(site, () => {
        for (const enrolment of params.enrolments as Row[]) {
          const courseid = Number(enrolment.courseid);
          const userid = Number(enrolment.userid);
          // context_course::instance($courseid) with MUST_EXIST.
          if (!site.courses.has(courseid)) throw missingRecord('course');
          requireCapability(call, 'enrol/manual:unenrol');
          const instance = site.instancesOf(courseid).find((candidate) => candidate.enrol === 'manual');
          if (!instance) throw enrolManualError('wsnoinstance');
          if (!site.users.has(userid)) throw new InvalidParameterException(`User id not exist: ${userid}`);
          // enrol_plugin::unenrol_user() returns quietly when the user has no enrolment through this instance.
          site.unenrolUser(instance, userid);
        }
      });
      return null;
    },
  },

  core_course_get_courses: {
    parameters: { options: single({ ids: multiple(value('int', 'Course id'), 'List of course id. If empty return all courses except front page course.', 'optional') }, 'options - operator OR is used', 'default', {}) },
    returns: multiple(
      single({
        id: value('int', 'course id'),
        shortname: value('raw', 'course short name'),
        categoryid: value('int', 'category id'),
        categorysortorder: value('int', 'sort order into the category', 'optional'),
        fullname: value('raw', 'full name'),
        displayname: value('raw', 'course display name'),
        idnumber: value('raw', 'id number', 'optional'),
        summary: value('raw', 'summary'),
        summaryformat: value('int', 'summary format'),
        format: value('raw', 'course format: weeks, topics, social, site,..'),
        startdate: value('int', 'timestamp when the course start'),
        enddate: value('int', 'timestamp when the course end'),
        visible: value('int', '1: available to student, 0:not available', 'optional'),
        timecreated: value('int', 'timestamp when the course have been created', 'optional'),
        timemodified: value('int', 'timestamp when the course have been modified', 'optional'),
      }),
    ),
    execute(params, call) {
      const { site } = call;
      const ids = ((params.options as Row | null)?.ids ?? []) as number[];
      // An empty list reads the whole course table — the front page included, whatever the description says.
      const courses = ids.length === 0 ? [...site.courses.values()] : [...site.courses.values()].filter((course) => ids.includes(course.id));
      const infos: unknown[] = [];
      for (const course of courses.sort((a, b) => a.id - b.id)) {
        if (course.id !== SITEID) requireCapability(call, 'moodle/course:view');
        const admin = site.can(call.token, 'moodle/course:update');
        if (!admin && !course.visible && !site.can(call.token, 'moodle/course:viewhiddencourses')) continue;
        infos.push(courseInfo(course, admin));
      }
      return infos;
    },
  },

  core_webservice_get_site_info: {
    parameters: { serviceshortnames: multiple(value('alphanumext', 'service shortname'), 'DEPRECATED PARAMETER', 'default', []) },
    returns: single({
      sitename: value('raw', 'site name'),
      username: value('raw', 'username'),
      firstname: value('raw', 'first name'),
      lastname: value('raw', 'last name'),
      fullname: value('raw', 'user full name'),
      lang: value('raw', 'Current language.'),
      userid: value('int', 'user id'),
      siteurl: value('raw', 'site url'),
      userpictureurl: value('raw', 'the user profile picture.'),
      functions: multiple(single({ name: value('raw', 'function name'), version: value('raw', 'The version number of the component to which the function belongs') })),
      release: value('raw', 'Moodle release number', 'optional'),
      version: value('raw', 'Moodle version number', 'optional'),
      siteid: value('int', 'Site course ID', 'optional'),
      userissiteadmin: value('bool', 'Whether the user is a site admin or not.', 'default', false),
    }),
    execute(_params, call) {
      const { site, token } = call;
      const user = site.users.get(token.userid) as MoodleUser;
      return {
        sitename: site.config.siteName,
        username: user.username,
        firstname: user.firstname,
        lastname: user.lastname,
        fullname: `${user.firstname} ${user.lastname}`,
        lang: user.lang,
        userid: user.id,
        siteurl: site.wwwroot(),
        userpictureurl: `${site.wwwroot()}/theme/image.php/boost/core/1/u/f1`,
        functions: [...token.functions].sort().map((name) => ({ name, version: site.config.version })),
        release: site.config.release,
        version: site.config.version,
        siteid: SITEID,
        userissiteadmin: site.isSiteAdmin(user.id),
      };
    },
  },
};

/** delete_user() (lib/moodlelib.php): enrolments and roles go, the row stays flagged with a freed username and idnumber. */
export function deleteUser(site: MoodleSite, user: MoodleUser): void {
  for (const ue of [...site.userEnrolments.values()]) if (ue.userid === user.id) site.userEnrolments.delete(ue.id);
  site.roleAssignments = site.roleAssignments.filter((assignment) => assignment.userid !== user.id);
  const time = site.unixNow();
  const base = user.email !== '' ? user.email : `${user.username}.${user.id}@unknownemail.invalid`;
  let deletedName = cleanParam(`${base}.${time}`, 'username', site.config);
  while ([...site.users.values()].some((other) => other.username === deletedName)) deletedName = `${deletedName}x`;
  user.email = md5Like(user.username);
  user.username = deletedName;
  user.idnumber = '';
  user.deleted = true;
  user.profile.clear();
  user.timemodified = time;
}

function md5Like(text: string): string {
  let hash = 0n;
  for (const char of text) hash = (hash * 31n + BigInt(char.codePointAt(0) ?? 0)) % 2n ** 128n;
  return hash.toString(16).padStart(32, '0');
}

function courseInfo(course: Course, admin: boolean): Record<string, unknown> {
  const info: Record<string, unknown> = {
    id: course.id,
    fullname: course.fullname,
    shortname: course.shortname,
    displayname: course.fullname,
    categoryid: course.category,
    summary: course.summary,
    summaryformat: 1,
    format: course.format,
    startdate: course.startdate,
    enddate: course.enddate,
  };
  // "some field should be returned only if the user has update permission".
  if (admin) Object.assign(info, { categorysortorder: 10000 + course.id, idnumber: course.idnumber, visible: course.visible, timecreated: course.timecreated, timemodified: course.timemodified });
  return info;
}

/** SQL LIKE with `%` and `_`, case-insensitive (sql_like(..., false)). */
function likePattern(pattern: string): RegExp {
  const source = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${source}$`, 'is');
}

function compareKeys(a: Array<string | number>, b: Array<string | number>): number {
  for (let index = 0; index < a.length; index++) {
    const left = a[index] as string | number;
    const right = b[index] as string | number;
    if (left < right) return -1;
    if (left > right) return 1;
  }
  return 0;
}

