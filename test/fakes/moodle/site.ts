/**
 * The state of one Moodle site as the fake's web-service functions see it: the user table (deleted users stay, with
 * `deleted = 1`, as `delete_user()` leaves them), custom profile fields, courses with their enrolment instances, user
 * enrolments, role assignments in course contexts, and the tokens of external services. `userDetails()` is
 * `user_get_user_details()` (user/lib.php) for the fields the fake returns.
 */
import type { DebugLevel } from './exceptions';
import type { SiteParamSettings } from './php';

export interface MoodleUser {
  id: number;
  auth: string;
  confirmed: boolean;
  /** delete_user() keeps the row, flagged, with username and email scrambled. */
  deleted: boolean;
  suspended: boolean;
  username: string;
  /** Empty when Moodle was asked to create one and mail it (createpassword). */
  password: string;
  idnumber: string;
  firstname: string;
  lastname: string;
  email: string;
  department: string;
  institution: string;
  phone1: string;
  phone2: string;
  address: string;
  city: string;
  country: string;
  lang: string;
  timezone: string;
  description: string;
  mailformat: number;
  maildisplay: number;
  firstaccess: number;
  lastaccess: number;
  timecreated: number;
  timemodified: number;
  middlename: string;
  alternatename: string;
  firstnamephonetic: string;
  lastnamephonetic: string;
  /** Custom profile field data by field shortname (user_info_data). */
  profile: Map<string, string>;
  /** User preferences set through the API (auth_forcepasswordchange after createpassword, …). */
  preferences: Map<string, string>;
}

/** A custom user profile field (user_info_field). */
export interface ProfileField {
  shortname: string;
  name: string;
  datatype: 'text' | 'menu' | 'checkbox' | 'textarea' | 'datetime';
  /** A menu's options, one a line of `param1` as the admin typed them. */
  options?: readonly string[];
  /** `defaultdata`: what the field holds before a value is saved, and what a value the field refuses becomes. */
  defaultdata?: string;
  required?: boolean;
}

export interface Course {
  id: number;
  shortname: string;
  fullname: string;
  /** 0 for the site course (the front page), a category id otherwise. */
  category: number;
  format: string;
  idnumber: string;
  summary: string;
  visible: number;
  startdate: number;
  enddate: number;
  timecreated: number;
  timemodified: number;
}

/** An enrolment method added to a course (the `enrol` table): manual, self, cohort … */
export interface EnrolInstance {
  id: number;
  courseid: number;
  enrol: string;
  /** ENROL_INSTANCE_ENABLED (0) or ENROL_INSTANCE_DISABLED (1). */
  status: 0 | 1;
}

/** One user's enrolment through one instance (the `user_enrolments` table). */
export interface UserEnrolment {
  id: number;
  enrolid: number;
  userid: number;
  /** ENROL_USER_ACTIVE (0) or ENROL_USER_SUSPENDED (1). */
  status: 0 | 1;
  timestart: number;
  timeend: number;
  timecreated: number;
  timemodified: number;
}

export interface Role {
  id: number;
  shortname: string;
  /** Standard roles have an empty name in the database; their display names come from language strings. */
  name: string;
  sortorder: number;
  /** Assignable in a course context by a site administrator (get_assignable_roles()). */
  assignableInCourse: boolean;
}

export interface RoleAssignment {
  courseid: number;
  userid: number;
  roleid: number;
  /** '' for a manual assignment; enrolment plugins that protect their roles give their own. */
  component: string;
  itemid: number;
}

/** An external-service token: whose it is, the functions its service holds, and (for a non-admin) what it may do. */
export interface ServiceToken {
  userid: number;
  functions: ReadonlySet<string>;
  /** Capabilities of the token's user in every context; null for a site administrator, who has them all. */
  capabilities: ReadonlySet<string> | null;
}

export interface SiteConfig extends SiteParamSettings {
  siteName: string;
  /** `$CFG->allowaccountssameemail`, off by default: emails must be unique (case-insensitively). */
  allowAccountsSameEmail: boolean;
  debug: DebugLevel;
  /** The REST protocol and web services enabled (Site administration > Server > Web services > Overview). */
  restEnabled: boolean;
  /** `max_input_vars` of the PHP running the site. */
  maxInputVars: number;
  /** Auth plugins installed; create_users refuses mnet and webservice. */
  auths: readonly string[];
  release: string;
  version: string;
}

export const SITEID = 1;
export const GUEST_ID = 1;
export const ADMIN_ID = 2;

/** The standard roles of a new site (lib/db/install.php, get_role_archetypes()). */
export const standardRoles: readonly Role[] = [
  { id: 1, shortname: 'manager', name: '', sortorder: 1, assignableInCourse: true },
  { id: 2, shortname: 'coursecreator', name: '', sortorder: 2, assignableInCourse: false },
  { id: 3, shortname: 'editingteacher', name: '', sortorder: 3, assignableInCourse: true },
  { id: 4, shortname: 'teacher', name: '', sortorder: 4, assignableInCourse: true },
  { id: 5, shortname: 'student', name: '', sortorder: 5, assignableInCourse: true },
  { id: 6, shortname: 'guest', name: '', sortorder: 6, assignableInCourse: false },
  { id: 7, shortname: 'user', name: '', sortorder: 7, assignableInCourse: false },
  { id: 8, shortname: 'frontpage', name: '', sortorder: 8, assignableInCourse: false },
];

/** The fields user_get_user_details() knows (user_get_default_fields()). */
export const defaultUserFields = [
  'id', 'username', 'fullname', 'firstname', 'lastname', 'email', 'address', 'phone1', 'phone2', 'department',
  'institution', 'interests', 'firstaccess', 'lastaccess', 'auth', 'confirmed', 'idnumber', 'lang', 'theme', 'timezone',
  'mailformat', 'description', 'descriptionformat', 'city', 'country', 'profileimageurlsmall', 'profileimageurl',
  'customfields', 'groups', 'roles', 'preferences', 'enrolledcourses', 'suspended', 'lastcourseaccess',
] as const;

export class MoodleSite {
  readonly users = new Map<number, MoodleUser>();
  readonly profileFields = new Map<string, ProfileField>();
  /** $CFG->showuseridentity: the fields shown to identify users; Moodle's default is `email`. */
  showuseridentity: readonly string[] = ['email'];
  readonly courses = new Map<number, Course>();
  readonly enrolInstances = new Map<number, EnrolInstance>();
  readonly userEnrolments = new Map<number, UserEnrolment>();
  roleAssignments: RoleAssignment[] = [];
  readonly roles = new Map<number, Role>(standardRoles.map((role) => [role.id, role]));
  readonly tokens = new Map<string, ServiceToken>();
  private nextId = { user: 3, course: 2, enrol: 1, userEnrolment: 1 };

  constructor(
    readonly config: SiteConfig,
    readonly now: () => number,
    readonly wwwroot: () => string,
  ) {
    const time = this.unixNow();
    // A new site has the guest user (id 1) and the admin (id 2); the site course (id 1) is the front page.
    this.users.set(GUEST_ID, this.blankUser({ id: GUEST_ID, username: 'guest', firstname: 'Guest user', lastname: ' ', email: 'root@localhost', timecreated: 0 }));
    this.users.set(ADMIN_ID, this.blankUser({ id: ADMIN_ID, username: 'admin', firstname: 'Admin', lastname: 'User', email: 'admin@example.com', timecreated: time }));
    this.courses.set(SITEID, { id: SITEID, shortname: 'moodle', fullname: config.siteName, category: 0, format: 'site', idnumber: '', summary: '', visible: 1, startdate: 0, enddate: 0, timecreated: time, timemodified: time });
  }

  unixNow(): number {
    return Math.floor(this.now() / 1000);
  }

  blankUser(fields: Partial<MoodleUser> & Pick<MoodleUser, 'id' | 'username' | 'firstname' | 'lastname' | 'email'>): MoodleUser {
    const time = fields.timecreated ?? this.unixNow();
    return {
      auth: 'manual',
      confirmed: true,
      deleted: false,
      suspended: false,
      password: '',
      idnumber: '',
      department: '',
      institution: '',
      phone1: '',
      phone2: '',
      address: '',
      city: '',
      country: '',
      lang: 'en',
      timezone: '99',
      description: '',
      mailformat: 1,
      maildisplay: 2,
      firstaccess: 0,
      lastaccess: 0,
      timemodified: time,
      middlename: '',
      alternatename: '',
      firstnamephonetic: '',
      lastnamephonetic: '',
      profile: new Map(),
      preferences: new Map(),
      ...fields,
      timecreated: time,
    };
  }

  newUserId(): number {
    return this.nextId.user++;
  }

  /** A user row that is not deleted. */
  liveUser(id: number): MoodleUser | undefined {
    const user = this.users.get(id);
    return user && !user.deleted ? user : undefined;
  }

  isSiteAdmin(userid: number): boolean {
    return userid === ADMIN_ID;
  }

  addCourse(input: { shortname: string; fullname: string; idnumber?: string; visible?: boolean }): Course {
    const time = this.unixNow();
    const course: Course = {
      id: this.nextId.course++,
      shortname: input.shortname,
      fullname: input.fullname,
      category: 1,
      format: 'topics',
      idnumber: input.idnumber ?? '',
      summary: '',
      visible: input.visible === false ? 0 : 1,
      startdate: time,
      enddate: 0,
      timecreated: time,
      timemodified: time,
    };
    this.courses.set(course.id, course);
    // A new course gets the default enrolment methods: manual, guest and self (enrol_plugins_enabled); the fake
    // adds manual only, and others on request.
    this.addEnrolInstance(course.id, 'manual');
    return course;
  }

  addEnrolInstance(courseid: number, enrol: string, status: 0 | 1 = 0): EnrolInstance {
    const instance: EnrolInstance = { id: this.nextId.enrol++, courseid, enrol, status };
    this.enrolInstances.set(instance.id, instance);
    return instance;
  }

  instancesOf(courseid: number): EnrolInstance[] {
    return [...this.enrolInstances.values()].filter((instance) => instance.courseid === courseid);
  }

  /** enrol_plugin::enrol_user(): a new enrolment, or an existing one's dates and status updated; then the role. */
  enrolUser(instance: EnrolInstance, userid: number, roleid: number | null, timestart: number, timeend: number, status: 0 | 1 | null): void {
    const time = this.unixNow();
    const existing = [...this.userEnrolments.values()].find((ue) => ue.enrolid === instance.id && ue.userid === userid);
    if (existing) {
      if (existing.timestart !== timestart || existing.timeend !== timeend || (status !== null && existing.status !== status)) {
        existing.timestart = timestart;
        existing.timeend = timeend;
        if (status !== null) existing.status = status;
        existing.timemodified = time;
      }
    } else {
      const ue: UserEnrolment = { id: this.nextId.userEnrolment++, enrolid: instance.id, userid, status: status ?? 0, timestart, timeend, timecreated: time, timemodified: time };
      this.userEnrolments.set(ue.id, ue);
    }
    if (roleid) this.assignRole(instance.courseid, userid, roleid, instance.enrol === 'manual' ? '' : `enrol_${instance.enrol}`, instance.enrol === 'manual' ? 0 : instance.id);
  }

  /** enrol_plugin::unenrol_user(): removes the enrolment; the last enrolment in a course takes every course role with it. */
  unenrolUser(instance: EnrolInstance, userid: number): void {
    const ue = [...this.userEnrolments.values()].find((candidate) => candidate.enrolid === instance.id && candidate.userid === userid);
    if (!ue) return;
    this.userEnrolments.delete(ue.id);
    const stillEnrolled = this.enrolmentsOf(instance.courseid, userid).length > 0;
    this.roleAssignments = this.roleAssignments.filter((assignment) => {
      if (assignment.courseid !== instance.courseid || assignment.userid !== userid) return true;
      if (!stillEnrolled) return false;
      return !(assignment.component === `enrol_${instance.enrol}` && assignment.itemid === instance.id);
    });
  }

  assignRole(courseid: number, userid: number, roleid: number, component: string, itemid: number): void {
    const exists = this.roleAssignments.some((a) => a.courseid === courseid && a.userid === userid && a.roleid === roleid && a.component === component && a.itemid === itemid);
    if (!exists) this.roleAssignments.push({ courseid, userid, roleid, component, itemid });
  }

  /** The user's enrolments in a course, through any of its instances. */
  enrolmentsOf(courseid: number, userid: number): UserEnrolment[] {
    const instances = new Set(this.instancesOf(courseid).map((instance) => instance.id));
    return [...this.userEnrolments.values()].filter((ue) => ue.userid === userid && instances.has(ue.enrolid));
  }

  /** An active enrolment: active status in an enabled instance, within its dates (get_enrolled_join()'s onlyactive). */
  isActive(ue: UserEnrolment): boolean {
    const instance = this.enrolInstances.get(ue.enrolid);
    const now = this.unixNow();
    return ue.status === 0 && instance?.status === 0 && ue.timestart < now && (ue.timeend === 0 || ue.timeend > now);
  }

  /**
   * get_enrolled_sql(): the users enrolled in a course (by any method, in any state unless narrowed), never deleted
   * ones; on the front page every user is "enrolled".
   */
  enrolledUsers(courseid: number, filter: 'all' | 'active' | 'suspended'): MoodleUser[] {
    const live = [...this.users.values()].filter((user) => !user.deleted);
    if (courseid === SITEID) return live;
    return live.filter((user) => {
      const enrolments = this.enrolmentsOf(courseid, user.id);
      if (enrolments.length === 0) return false;
      if (filter === 'all') return true;
      const active = enrolments.some((ue) => this.isActive(ue));
      return filter === 'active' ? active : !active;
    });
  }

  /** get_user_roles() in a course context, by sort order. */
  courseRoles(courseid: number, userid: number): Role[] {
    const ids = new Set(this.roleAssignments.filter((a) => a.courseid === courseid && a.userid === userid).map((a) => a.roleid));
    return [...ids].map((id) => this.roles.get(id) as Role).sort((a, b) => a.sortorder - b.sortorder);
  }

  /** Which of a user's details the viewer may see, by user_get_user_details()'s rules (see userDetails). */
  private visibility(user: MoodleUser, viewer: ServiceToken): Record<string, boolean> {
    const own = viewer.userid === user.id;
    const identity = new Set(this.can(viewer, 'moodle/site:viewuseridentity') ? this.showuseridentity : []);
    const allDetails = own || this.can(viewer, 'moodle/user:viewalldetails');
    const hiddenDetails = this.can(viewer, 'moodle/user:viewhiddendetails');
    return {
      username: allDetails,
      firstname: this.can(viewer, 'moodle/site:viewfullnames'),
      lastname: this.can(viewer, 'moodle/site:viewfullnames'),
      auth: allDetails,
      email: own || viewer.capabilities === null || identity.has('email'),
      phone1: identity.has('phone1') || hiddenDetails,
      phone2: identity.has('phone2') || hiddenDetails,
      idnumber: identity.has('idnumber') || allDetails,
      institution: identity.has('institution') || allDetails,
      department: identity.has('department') || allDetails,
    };
  }

  /** Whether a token's user holds a capability (a site administrator holds them all). */
  can(token: ServiceToken, capability: string): boolean {
    return token.capabilities === null || token.capabilities.has(capability);
  }

  /**
   * user_get_user_details() (user/lib.php) as the token's user sees `user`, with `course` for a course profile (roles,
   * enrolled courses). Fields Moodle leaves out when empty are left out here too, and so are those the viewer may not
   * see: names without moodle/site:viewfullnames ("if ($isadmin or $canviewfullnames)"); the username, auth and (unless
   * identity fields) idnumber, institution and department without moodle/user:viewalldetails; phones unless identity
   * fields or with moodle/user:viewhiddendetails; the email unless an identity field. Identity fields need
   * moodle/site:viewuseridentity (\core_user\fields::get_identity_fields()).
   */
  userDetails(user: MoodleUser, viewer: ServiceToken, course: Course | null, userfields: readonly string[]): Record<string, unknown> | null {
    if (!this.can(viewer, 'moodle/user:viewdetails') && viewer.userid !== user.id) return null;
    const requested = new Set(userfields.length > 0 ? userfields : defaultUserFields);
    const visible = this.visibility(user, viewer);
    const fields = new Set([...requested].filter((name) => visible[name] !== false));
    fields.add('id');
    fields.add('fullname');
    const details: Record<string, unknown> = { id: user.id };
    if (fields.has('username')) details.username = user.username;
    if (fields.has('firstname')) details.firstname = user.firstname;
    if (fields.has('lastname')) details.lastname = user.lastname;
    details.fullname = `${user.firstname} ${user.lastname}`;
    if (fields.has('customfields')) {
      // Only visible, non-empty fields; the key is dropped when none has data. `type` is the field's datatype. A user
      // with no data for a field shows its default: profile_field_base::set_field() sets `$this->data =
      // $this->field->defaultdata`, and only saved user data replaces it (user/profile/lib.php).
      const custom = [...this.profileFields.values()]
        .map((field) => ({ field, data: user.profile.get(field.shortname) ?? field.defaultdata ?? '' }))
        .filter(({ data }) => data !== '')
        .map(({ field, data }) => ({ name: field.name, value: data, displayvalue: data, type: field.datatype, shortname: field.shortname }));
      if (custom.length > 0) details.customfields = custom;
    }
    const avatar = `${this.wwwroot()}/theme/image.php/boost/core/1/u/`;
    if (fields.has('profileimageurl')) details.profileimageurl = `${avatar}f1`;
    if (fields.has('profileimageurlsmall')) details.profileimageurlsmall = `${avatar}f2`;
    for (const name of ['address', 'phone1', 'phone2'] as const) if (user[name] !== '' && fields.has(name)) details[name] = user[name];
    if (fields.has('description')) {
      details.description = user.description;
      details.descriptionformat = 1;
    }
    for (const name of ['country', 'city', 'timezone'] as const) if (fields.has(name) && user[name] !== '') details[name] = user[name];
    if (fields.has('suspended')) details.suspended = user.suspended;
    if (fields.has('firstaccess')) details.firstaccess = user.firstaccess;
    if (fields.has('lastaccess')) details.lastaccess = user.lastaccess;
    if (fields.has('lastcourseaccess')) details.lastcourseaccess = 0;
    if (fields.has('email')) details.email = user.email;
    // "Isset because it's ok to have department 0": idnumber and institution only when not empty, department always.
    if (fields.has('idnumber') && user.idnumber !== '') details.idnumber = user.idnumber;
    if (fields.has('institution') && user.institution !== '') details.institution = user.institution;
    if (fields.has('department')) details.department = user.department;
    if (fields.has('roles') && course) {
      details.roles = this.courseRoles(course.id, user.id).map((role) => ({ roleid: role.id, name: role.name, shortname: role.shortname, sortorder: role.sortorder }));
    }
    if (fields.has('enrolledcourses')) {
      const courses = [...this.courses.values()].filter((candidate) => candidate.category !== 0 && this.enrolmentsOf(candidate.id, user.id).some((ue) => this.isActive(ue)));
      if (courses.length > 0) details.enrolledcourses = courses.map((candidate) => ({ id: candidate.id, fullname: candidate.fullname, shortname: candidate.shortname }));
    }
    if (fields.has('preferences') && viewer.userid === user.id) details.preferences = [...user.preferences].map(([name, value]) => ({ name, value }));
    for (const name of ['auth', 'confirmed', 'lang', 'mailformat'] as const) if (fields.has(name)) details[name] = user[name];
    return details;
  }
}
