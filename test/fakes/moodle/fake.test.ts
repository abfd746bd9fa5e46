import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePhpVariables, PhpArray } from './php';
import { startMoodleFake, type MoodleFake, type MoodleFakeOptions } from './server';
import { GUEST_ID } from './site';

// The fake checked against what Moodle's source says each function does; a test here fails when the fake drifts
// from it. Requests are built by hand, as PHP clients build them: bracketed names, form-encoded.

let fake: MoodleFake;
let running = false;

async function start(options: MoodleFakeOptions = {}): Promise<void> {
  fake = await startMoodleFake({ clockStart: Date.parse('2024-06-03T12:00:00Z'), ...options });
  running = true;
}

afterEach(async () => {
  if (running) await fake.close();
  running = false;
});

/** `users[0][username]=…` from a nested object, as http_build_query() writes it. */
function form(params: Record<string, unknown>, prefix = ''): string[] {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    const name = prefix ? `${prefix}[${key}]` : key;
    if (value !== null && typeof value === 'object') pairs.push(...form(value as Record<string, unknown>, name));
    else pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
  }
  return pairs;
}

async function raw(body: string, query = ''): Promise<Response> {
  return fetch(`${fake.url}/webservice/rest/server.php${query}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
}

async function call(wsfunction: string, params: Record<string, unknown> = {}, token = fake.token): Promise<unknown> {
  const response = await raw(form({ wstoken: token, wsfunction, moodlewsrestformat: 'json', ...params }).join('&'));
  expect(response.status).toBe(200);
  return response.json();
}

function seedPerson(username: string, extra: Record<string, unknown> = {}) {
  return fake.seedUser({ username, firstname: username[0]?.toUpperCase() + username.slice(1), lastname: 'Tester', email: `${username}@example.com`, ...extra });
}

describe('PHP request parsing', () => {
  it('nests bracketed names, appends [] and keeps the order of arrival', () => {
    const into = new PhpArray();
    parsePhpVariables('users%5B0%5D%5Busername%5D=ada&users[0][email]=a%40x.org&users[1][username]=bob&ids[]=4&ids[]=9&plain=a+b', into, 1000, { vars: 0 });
    const users = into.get('users') as PhpArray;
    expect([...users.keys()]).toEqual(['0', '1']);
    expect((users.get('0') as PhpArray).get('email')).toBe('a@x.org');
    expect([...(into.get('ids') as PhpArray).values()]).toEqual(['4', '9']);
    expect(into.get('plain')).toBe('a b');
  });

  it('drops every variable past max_input_vars, so a large request loses its tail', async () => {
    await start({ maxInputVars: 6 });
    const users = Array.from({ length: 3 }, (_, i) => ({ username: `u${i}`, firstname: 'U', lastname: String(i), email: `u${i}@example.com`, createpassword: 1 }));
    const answer = await call('core_user_create_users', { users });
    // wstoken, wsfunction, moodlewsrestformat, then 3 fields of the first user: the rest never reached PHP.
    expect(answer).toMatchObject({ exception: 'invalid_parameter_exception', errorcode: 'invalidparameter' });
    expect(fake.requests.at(-1)?.inputVars).toBe(6);
    expect(fake.site.users.size).toBe(2);
  });
});

describe('the REST server', () => {
  beforeEach(() => start());

  it('answers a bad token with HTTP 200 and an exception object', async () => {
    expect(await call('core_webservice_get_site_info', {}, 'not-a-token')).toEqual({ exception: 'moodle_exception', errorcode: 'invalidtoken', message: 'Invalid token - token not found' });
  });

  it('tells an unknown function from one the token’s service lacks', async () => {
    expect(await call('core_user_no_such_function')).toEqual({ exception: 'dml_missing_record_exception', errorcode: 'invalidrecord', message: "Can't find data record in database table external_functions." });
    fake.addToken('narrow-token', { userid: 2, functions: ['core_webservice_get_site_info'] });
    expect(await call('core_user_create_users', {}, 'narrow-token')).toEqual({ exception: 'webservice_access_exception', errorcode: 'accessexception', message: 'Access control exception' });
  });

  it('answers in XML when moodlewsrestformat is left out', async () => {
    const response = await raw(`wstoken=${fake.token}&wsfunction=core_user_get_users_by_field&field=id&values[0]=2`);
    expect(response.headers.get('content-type')).toContain('application/xml');
    const xml = await response.text();
    expect(xml).toContain('<RESPONSE>');
    expect(xml).toContain('<KEY name="username"><VALUE>admin</VALUE>');
  });

  it('reads GET parameters too, POST winning', async () => {
    const response = await raw(`wstoken=${fake.token}&moodlewsrestformat=json&field=id&values[0]=2`, '?wsfunction=core_user_get_users_by_field&field=username');
    expect(((await response.json()) as Array<{ id: number }>).map((user) => user.id)).toEqual([2]);
  });

  it('refuses unexpected and missing keys with the path in debuginfo, shown only while debugging', async () => {
    expect(await call('core_user_get_users_by_field', { field: 'id', values: { 0: '2' }, extra: 'x' })).toEqual({ exception: 'invalid_parameter_exception', errorcode: 'invalidparameter', message: 'Invalid parameter value detected' });
    fake.site.config.debug = 'normal';
    expect(await call('core_user_get_users_by_field', { field: 'id', values: { 0: '2' }, extra: 'x' })).toMatchObject({ debuginfo: 'Unexpected keys (extra) detected in parameter array.' });
    expect(await call('core_user_create_users', { users: { 0: { username: 'ada' } } })).toMatchObject({
      message: 'Invalid parameter value detected',
      debuginfo: 'users => Invalid parameter value detected: Missing required key in single structure: firstname',
    });
    fake.site.config.debug = 'developer';
    const developer = (await call('core_user_create_users', { users: { 0: { username: 'ada' } } })) as { message: string };
    // Developer debugging folds debuginfo into every message, the inner ones included: the path repeats itself.
    expect(developer.message).toBe(
      'Invalid parameter value detected (users => Invalid parameter value detected (Missing required key in single structure: firstname): Missing required key in single structure: firstname)',
    );
  });

  it('answers 403 with no body when web services are off', async () => {
    fake.site.config.restEnabled = false;
    const response = await raw(`wstoken=${fake.token}&wsfunction=core_webservice_get_site_info&moodlewsrestformat=json`);
    expect(response.status).toBe(403);
    expect(await response.text()).toBe('');
  });

  it('escapes slashes and non-ASCII characters as PHP json_encode does', async () => {
    seedPerson('zoe', { department: 'Équipe/Nord' });
    const response = await raw(form({ wstoken: fake.token, wsfunction: 'core_user_get_users_by_field', moodlewsrestformat: 'json', field: 'username', values: { 0: 'zoe' } }).join('&'));
    const text = await response.text();
    expect(text).toContain('\\u00c9quipe\\/Nord');
    expect(((JSON.parse(text) as Array<{ department: string }>)[0])?.department).toBe('Équipe/Nord');
  });

  it('reports who the token belongs to and what its service holds', async () => {
    const info = (await call('core_webservice_get_site_info')) as { userid: number; username: string; functions: Array<{ name: string }> };
    expect(info).toMatchObject({ userid: 2, username: 'admin', sitename: 'Acme Learning', userissiteadmin: true });
    expect(info.functions.map((fn) => fn.name)).toContain('core_user_create_users');
  });
});

describe('core_user_create_users', () => {
  beforeEach(() => start());

  it('creates users in order and answers their ids and usernames', async () => {
    const answer = await call('core_user_create_users', {
      users: {
        0: { username: 'ada', firstname: 'Ada', lastname: 'Lovelace', email: 'ada@example.com', createpassword: 1, department: 'Maths', customfields: { 0: { type: 'costcentre', value: 'CC-1' } } },
        1: { username: 'bob', firstname: 'Bob', lastname: 'Byte', email: 'bob@example.com', password: 'S3cret!pass' },
      },
    });
    expect(answer).toEqual([
      { id: 3, username: 'ada' },
      { id: 4, username: 'bob' },
    ]);
    expect(fake.site.users.get(3)).toMatchObject({ department: 'Maths', auth: 'manual', suspended: false });
    expect(fake.site.users.get(3)?.preferences.get('auth_forcepasswordchange')).toBe('1');
  });

  it('fails the whole call at the first bad user: nothing is created', async () => {
    seedPerson('taken');
    const answer = await call('core_user_create_users', {
      users: {
        0: { username: 'fine', firstname: 'F', lastname: 'Ine', email: 'fine@example.com', createpassword: 1 },
        1: { username: 'other', firstname: 'O', lastname: 'Ther', email: 'TAKEN@example.com', createpassword: 1 },
      },
    });
    expect(answer).toMatchObject({ exception: 'invalid_parameter_exception', errorcode: 'invalidparameter' });
    expect([...fake.site.users.values()].map((user) => user.username)).not.toContain('fine');
    fake.site.config.debug = 'normal';
    expect(await call('core_user_create_users', { users: { 0: { username: 'other', firstname: 'O', lastname: 'T', email: 'TAKEN@example.com', createpassword: 1 } } })).toMatchObject({
      debuginfo: 'Email address already exists: TAKEN@example.com',
    });
  });

  it('lets a second account share an email when the site allows it', async () => {
    seedPerson('taken');
    fake.site.config.allowAccountsSameEmail = true;
    expect(await call('core_user_create_users', { users: { 0: { username: 'twin', firstname: 'T', lastname: 'W', email: 'taken@example.com', createpassword: 1 } } })).toEqual([{ id: 4, username: 'twin' }]);
  });

  it.each([
    [{ username: 'Ada' }, 'users => Invalid parameter value detected: username => Invalid parameter value detected: Invalid external api parameter: the value is "Ada", the server was expecting "username" type'],
    [{ username: 'ada smith' }, 'users => Invalid parameter value detected: username => Invalid parameter value detected: Invalid external api parameter: the value is "ada smith", the server was expecting "username" type'],
    [{ firstname: '  ' }, 'The field firstname cannot be blank'],
    [{ email: 'not an email' }, 'Email address is invalid: not an email'],
    [{ createpassword: undefined }, 'Invalid password: you must provide a password, or set createpassword.'],
    [{ auth: 'webservice' }, 'Invalid authentication type: webservice'],
    [{ firstname: '<b>Ada</b>' }, 'users => Invalid parameter value detected: firstname => Invalid parameter value detected: Invalid external api parameter: the value is "<b>Ada</b>", the server was expecting "notags" type'],
  ])('refuses %j', async (change, debuginfo) => {
    fake.site.config.debug = 'normal';
    const user: Record<string, unknown> = { username: 'ada', firstname: 'Ada', lastname: 'L', email: 'ada@example.com', createpassword: 1, ...change };
    for (const key of Object.keys(user)) if (user[key] === undefined) delete user[key];
    expect(await call('core_user_create_users', { users: { 0: user } })).toMatchObject({ errorcode: 'invalidparameter', debuginfo });
  });

  it('allows any character in usernames under extendedusernamechars, but never upper case', async () => {
    fake.site.config.extendedUsernameChars = true;
    expect(await call('core_user_create_users', { users: { 0: { username: 'ada smith+x', firstname: 'A', lastname: 'S', email: 'as@example.com', createpassword: 1 } } })).toEqual([{ id: 3, username: 'ada smith+x' }]);
    expect(await call('core_user_create_users', { users: { 0: { username: 'Ada', firstname: 'A', lastname: 'S', email: 'as2@example.com', createpassword: 1 } } })).toMatchObject({ errorcode: 'invalidparameter' });
  });
});

describe('core_user_update_users', () => {
  beforeEach(() => start({ profileFields: [{ shortname: 'costcentre', name: 'Cost centre', datatype: 'text' }, { shortname: 'site', name: 'Site', datatype: 'text' }] }));

  it('updates the given fields only and answers a warning per user it could not update', async () => {
    const ada = seedPerson('ada', { profile: { costcentre: 'CC-1', site: 'Leeds' } });
    const bob = seedPerson('bob');
    const gone = seedPerson('gone');
    fake.deleteUser(gone.id);
    fake.clock.advance(60);
    const answer = await call('core_user_update_users', {
      users: {
        0: { id: ada.id, department: 'Physics', suspended: 1, customfields: { 0: { type: 'costcentre', value: 'CC-2' } } },
        1: { id: 987654, firstname: 'Nobody' },
        2: { id: bob.id, email: 'ADA@example.com' },
        3: { id: gone.id, firstname: 'Back' },
        4: { id: GUEST_ID, firstname: 'Visitor' },
      },
    });
    expect(answer).toEqual({
      warnings: [
        { item: 'user', itemid: 987654, warningcode: 'invaliduserid', message: 'Invalid user ID' },
        { item: 'user', itemid: bob.id, warningcode: 'useremailduplicate', message: 'Duplicate address' },
        { item: 'user', itemid: gone.id, warningcode: 'usernotupdateddeleted', message: 'error/usernotupdateddeleted' },
        { item: 'user', itemid: GUEST_ID, warningcode: 'usernotupdatedguest', message: 'error/usernotupdatedguest' },
      ],
    });
    const updated = fake.site.users.get(ada.id);
    expect(updated).toMatchObject({ department: 'Physics', suspended: true, firstname: 'Ada' });
    expect(Object.fromEntries(updated?.profile ?? [])).toEqual({ costcentre: 'CC-2', site: 'Leeds' });
    expect(updated?.timemodified).toBe(Math.floor(fake.clock.now() / 1000));
  });

  it('refuses a taken username only when writing to the database', async () => {
    const ada = seedPerson('ada');
    seedPerson('bob');
    expect(await call('core_user_update_users', { users: { 0: { id: ada.id, username: 'bob' } } })).toEqual({
      warnings: [{ item: 'user', itemid: ada.id, warningcode: 'dmlwriteexception', message: 'Error writing to database' }],
    });
  });

  it('fails the whole call when one user’s parameters are malformed', async () => {
    const ada = seedPerson('ada');
    const answer = await call('core_user_update_users', { users: { 0: { id: ada.id, department: 'Fine' }, 1: { id: ada.id, username: 'Upper' } } });
    expect(answer).toMatchObject({ exception: 'invalid_parameter_exception' });
    expect(fake.site.users.get(ada.id)?.department).toBe('');
  });
});

describe('menu profile fields', () => {
  beforeEach(() =>
    start({
      profileFields: [
        { shortname: 'site', name: 'Site', datatype: 'menu', options: ['Leeds', 'York', 'Hull'], defaultdata: 'Leeds' },
        { shortname: 'shift', name: 'Shift', datatype: 'menu', options: ['Early', 'Late'], required: true },
      ],
    }),
  );

  const save = (id: number, site: string, shift: string) =>
    call('core_user_update_users', { users: { 0: { id, customfields: { 0: { type: 'site', value: site }, 1: { type: 'shift', value: shift } } } } });

  it('keeps one of the options; an unknown option, or "" on a field not required, silently becomes the default', async () => {
    const ada = seedPerson('ada');
    expect(await save(ada.id, 'York', 'Late')).toEqual({ warnings: [] });
    expect(Object.fromEntries(fake.site.users.get(ada.id)?.profile ?? [])).toEqual({ site: 'York', shift: 'Late' });
    // Options match exactly: "york" is not "York". A required menu has "" (Choose...) among its options.
    expect(await save(ada.id, 'york', '')).toEqual({ warnings: [] });
    expect(Object.fromEntries(fake.site.users.get(ada.id)?.profile ?? [])).toEqual({ site: 'Leeds', shift: '' });
    expect(await save(ada.id, '', 'Night')).toEqual({ warnings: [] });
    expect(Object.fromEntries(fake.site.users.get(ada.id)?.profile ?? [])).toEqual({ site: 'Leeds', shift: '' });
  });

  it('reads a user without data for a field as the field’s default', async () => {
    const bob = seedPerson('bob');
    const [user] = (await call('core_user_get_users_by_field', { field: 'id', values: { 0: String(bob.id) } })) as Array<Record<string, unknown>>;
    expect(user?.customfields).toEqual([{ name: 'Site', value: 'Leeds', displayvalue: 'Leeds', type: 'menu', shortname: 'site' }]);
  });
});

describe('reading users', () => {
  beforeEach(() => start({ profileFields: [{ shortname: 'costcentre', name: 'Cost centre', datatype: 'text' }] }));

  it('core_user_get_users_by_field answers by id order, without empty fields, with suspended and custom fields', async () => {
    const bob = seedPerson('bob', { suspended: true, profile: { costcentre: 'CC-9' } });
    const ada = seedPerson('ada', { idnumber: 'E-1' });
    const users = (await call('core_user_get_users_by_field', { field: 'id', values: { 0: String(ada.id), 1: String(bob.id), 2: '999' } })) as Array<Record<string, unknown>>;
    expect(users.map((user) => user.id)).toEqual([bob.id, ada.id]);
    expect(users[0]).toMatchObject({ username: 'bob', suspended: true, department: '', customfields: [{ shortname: 'costcentre', value: 'CC-9', type: 'text', name: 'Cost centre' }] });
    expect(users[0]).not.toHaveProperty('idnumber');
    expect(users[1]).toMatchObject({ idnumber: 'E-1', suspended: false });
    expect(users[1]).not.toHaveProperty('customfields');
    expect(users[1]).not.toHaveProperty('timemodified');
  });

  it('core_user_get_users_by_field fails the whole call when one id is a deleted user', async () => {
    const ada = seedPerson('ada');
    const gone = seedPerson('gone');
    fake.deleteUser(gone.id);
    expect(await call('core_user_get_users_by_field', { field: 'id', values: { 0: String(ada.id), 1: String(gone.id) } })).toEqual({
      exception: 'dml_missing_record_exception',
      errorcode: 'invalidrecord',
      message: "Can't find data record in database table user.",
    });
  });

  it('core_user_get_users_by_field refuses values its type would change, and unknown fields', async () => {
    fake.site.config.debug = 'normal';
    expect(await call('core_user_get_users_by_field', { field: 'id', values: { 0: '7abc' } })).toMatchObject({ debuginfo: "The field 'id' value is invalid: 7abc(cleaned value: 7)" });
    expect(await call('core_user_get_users_by_field', { field: 'city', values: { 0: 'x' } })).toMatchObject({
      exception: 'coding_exception',
      errorcode: 'codingerror',
      message: 'Coding error detected, it must be fixed by a programmer: invalid field parameter',
    });
  });

  it('core_user_get_users matches email with LIKE, case-insensitively, and warns about unknown keys', async () => {
    seedPerson('ada');
    seedPerson('bob', { email: 'Bob@Other.org' });
    const answer = (await call('core_user_get_users', { criteria: { 0: { key: 'email', value: '%@other.org' }, 1: { key: 'city', value: 'x' } } })) as { users: Array<{ username: string }>; warnings: unknown[] };
    expect(answer.users.map((user) => user.username)).toEqual(['bob']);
    expect(answer.warnings).toEqual([{ item: 'city', warningcode: 'invalidfieldparameter', message: "The search key 'city' is not supported, look at the web service documentation" }]);
  });

  it('core_enrol_get_enrolled_users on the site course lists every user not deleted, paged, without suspended', async () => {
    const ada = seedPerson('ada', { suspended: true });
    const gone = seedPerson('gone');
    const bob = seedPerson('bob');
    fake.deleteUser(gone.id);
    const all = (await call('core_enrol_get_enrolled_users', { courseid: 1, options: { 0: { name: 'sortby', value: 'id' } } })) as Array<Record<string, unknown>>;
    expect(all.map((user) => user.id)).toEqual([1, 2, ada.id, bob.id]);
    // get_enrolled_users_returns() has no `suspended`: it never reaches the client.
    expect(all[2]).not.toHaveProperty('suspended');
    const page = (await call('core_enrol_get_enrolled_users', {
      courseid: 1,
      options: { 0: { name: 'limitfrom', value: '1' }, 1: { name: 'limitnumber', value: '2' }, 2: { name: 'userfields', value: 'id' } },
    })) as Array<Record<string, unknown>>;
    expect(page).toEqual([
      { id: 2, fullname: 'Admin User' },
      { id: ada.id, fullname: 'Ada Tester' },
    ]);
    expect(await call('core_enrol_get_enrolled_users', { courseid: 1, options: { 0: { name: 'sortby', value: 'email' } } })).toMatchObject({ errorcode: 'invalidparameter' });
  });
});

describe('enrolments', () => {
  beforeEach(() => start());

  it('enrols with a role, re-enrols to change the status, and lists roles, suspended and active enrolments', async () => {
    const course = fake.seedCourse({ shortname: 'SAFE101', fullname: 'Safety' });
    const ada = seedPerson('ada');
    const bob = seedPerson('bob');
    expect(await call('enrol_manual_enrol_users', { enrolments: { 0: { roleid: 5, userid: ada.id, courseid: course.id }, 1: { roleid: 3, userid: bob.id, courseid: course.id, suspend: 1 } } })).toBeNull();
    const listed = (await call('core_enrol_get_enrolled_users', { courseid: course.id, options: { 0: { name: 'userfields', value: 'id,username,roles' } } })) as Array<Record<string, unknown>>;
    expect(listed).toEqual([
      { id: ada.id, username: 'ada', fullname: 'Ada Tester', roles: [{ roleid: 5, name: '', shortname: 'student', sortorder: 5 }] },
      { id: bob.id, username: 'bob', fullname: 'Bob Tester', roles: [{ roleid: 3, name: '', shortname: 'editingteacher', sortorder: 3 }] },
    ]);
    const suspended = async () => ((await call('core_enrol_get_enrolled_users', { courseid: course.id, options: { 0: { name: 'onlysuspended', value: '1' }, 1: { name: 'userfields', value: 'id' } } })) as Array<{ id: number }>).map((user) => user.id);
    expect(await suspended()).toEqual([bob.id]);
    await call('enrol_manual_enrol_users', { enrolments: { 0: { roleid: 3, userid: bob.id, courseid: course.id } } });
    expect(await suspended()).toEqual([]);
  });

  it('rolls back every enrolment of the call when one fails, and says why', async () => {
    const course = fake.seedCourse({ shortname: 'SAFE101', fullname: 'Safety' });
    const ada = seedPerson('ada');
    expect(await call('enrol_manual_enrol_users', { enrolments: { 0: { roleid: 5, userid: ada.id, courseid: course.id }, 1: { roleid: 6, userid: ada.id, courseid: course.id } } })).toEqual({
      exception: 'moodle_exception',
      errorcode: 'wsusercannotassign',
      message: `You don't have the permission to assign this role (6) to this user (${ada.id}) in this course (${course.id}).`,
    });
    expect(fake.site.enrolmentsOf(course.id, ada.id)).toEqual([]);
    expect(await call('enrol_manual_enrol_users', { enrolments: { 0: { roleid: 5, userid: ada.id, courseid: 999 } } })).toMatchObject({ errorcode: 'invalidparameter' });
    expect(await call('enrol_manual_enrol_users', { enrolments: { 0: { roleid: 5, userid: 999, courseid: course.id } } })).toMatchObject({ exception: 'coding_exception' });
    fake.site.enrolInstances.forEach((instance) => (instance.status = 1));
    expect(await call('enrol_manual_enrol_users', { enrolments: { 0: { roleid: 5, userid: ada.id, courseid: course.id } } })).toMatchObject({
      errorcode: 'wsnoinstance',
      message: "Manual enrolment plugin instance doesn't exist or is disabled for the course (id = {$a->courseid})",
    });
  });

  it('unenrols manual enrolments only, quietly when there is none', async () => {
    const course = fake.seedCourse({ shortname: 'SAFE101', fullname: 'Safety' });
    const ada = seedPerson('ada');
    const self = seedPerson('self');
    fake.seedEnrolment(course.id, ada.id);
    fake.seedEnrolment(course.id, self.id, { method: 'self' });
    expect(await call('enrol_manual_unenrol_users', { enrolments: { 0: { userid: ada.id, courseid: course.id }, 1: { userid: self.id, courseid: course.id } } })).toBeNull();
    expect(fake.site.enrolmentsOf(course.id, ada.id)).toEqual([]);
    expect(fake.site.courseRoles(course.id, ada.id)).toEqual([]);
    expect(fake.site.enrolmentsOf(course.id, self.id)).toHaveLength(1);
    fake.site.config.debug = 'normal';
    expect(await call('enrol_manual_unenrol_users', { enrolments: { 0: { userid: 999, courseid: course.id } } })).toMatchObject({ debuginfo: 'User id not exist: 999' });
  });

  it('core_course_get_courses lists every course, the front page included, or those asked for', async () => {
    const course = fake.seedCourse({ shortname: 'SAFE101', fullname: 'Safety' });
    const all = (await call('core_course_get_courses')) as Array<{ id: number; format: string }>;
    expect(all.map((entry) => [entry.id, entry.format])).toEqual([
      [1, 'site'],
      [course.id, 'topics'],
    ]);
    expect(await call('core_course_get_courses', { options: { ids: { 0: String(course.id) } } })).toEqual([expect.objectContaining({ id: course.id, shortname: 'SAFE101', fullname: 'Safety', visible: 1 })]);
  });

  it('checks the capabilities of a token that is not a site administrator', async () => {
    fake.addToken('clerk-token', { userid: seedPerson('clerk').id, capabilities: ['moodle/user:viewdetails'] });
    expect(await call('core_user_create_users', { users: { 0: { username: 'x', firstname: 'X', lastname: 'Y', email: 'x@example.com', createpassword: 1 } } }, 'clerk-token')).toEqual({
      exception: 'required_capability_exception',
      errorcode: 'nopermissions',
      message: 'Sorry, but you do not currently have permissions to do that (Create users).',
    });
  });
});
