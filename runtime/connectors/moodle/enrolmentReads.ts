/**
 * Reading who is enrolled in the courses of `connection.courses`, for both shapes of the enrolments collection
 * (enrolments.ts: a record per enrolment; userEnrolments.ts: a record per user). Per course, participants come from
 * `core_enrol_get_enrolled_users` by user id (participants.ts), and the status from one `onlysuspended` listing per
 * course, which the enrolled-users answer does not carry: a user is `suspended` in a course when none of their
 * enrolments there is active (suspended, outside its dates, or through a disabled method).
 */
import type { MoodleClient } from './client';
import { CourseParticipants, type Participant } from './participants';
import { assertVisible, text } from './shape';

export const enrolmentReadFunctions = ['core_enrol_get_enrolled_users'] as const;
const participantFields = 'id,username,email,roles';
/** Rows per request when a whole course is read (getMany, checks after writes). */
const coursePage = 500;

/** One user in one course, as read. */
export interface CourseEnrolment {
  courseid: number;
  userid: number;
  username: string | null;
  email: string | null;
  /** Role shortnames in the course, in Moodle's order. */
  roles: string[];
  /** The same roles by id: a status change enrols again with one the user holds. */
  roleIds: number[];
  suspended: boolean;
}

/** The reads of one connector: participants and statuses per course, cached for the length of one listing. */
export class EnrolmentReads {
  private readonly participants = new Map<number, CourseParticipants>();
  /** Per course, the users whose enrolment is not active, read once per listing of the course. */
  private readonly inactive = new Map<number, Set<number>>();

  constructor(private readonly client: MoodleClient) {}

  /** A listing of this course starts: its statuses are read again when first needed. */
  restart(course: number): void {
    this.inactive.delete(course);
  }

  /** Up to `count` of the course's enrolments with user ids above `afterId`, ascending; `end` when none are left. */
  async after(course: number, afterId: number | null, count: number): Promise<{ enrolments: CourseEnrolment[]; end: boolean }> {
    const page = await this.courseParticipants(course).after(afterId, count);
    const inactive = await this.inactiveIn(course);
    return { enrolments: page.participants.map((participant) => toCourseEnrolment(course, participant, inactive)), end: page.end || page.participants.length === 0 };
  }

  /** The enrolments Moodle holds now in these courses, of these users only: each course read whole, once. */
  async current(wanted: ReadonlyMap<number, ReadonlySet<number>>): Promise<CourseEnrolment[]> {
    const found: CourseEnrolment[] = [];
    for (const [course, users] of wanted) {
      if (users.size === 0) continue;
      this.restart(course);
      const inactive = await this.inactiveIn(course);
      for await (const page of this.courseParticipants(course).all(coursePage)) {
        for (const participant of page) if (users.has(participant.id)) found.push(toCourseEnrolment(course, participant, inactive));
      }
    }
    return found;
  }

  private courseParticipants(course: number): CourseParticipants {
    let participants = this.participants.get(course);
    if (!participants) {
      participants = new CourseParticipants(this.client, course, { userfields: participantFields });
      this.participants.set(course, participants);
    }
    return participants;
  }

  private async inactiveIn(course: number): Promise<Set<number>> {
    let inactive = this.inactive.get(course);
    if (!inactive) {
      inactive = new Set();
      for await (const page of new CourseParticipants(this.client, course, { userfields: 'id', onlysuspended: true }).all(coursePage)) {
        for (const participant of page) inactive.add(participant.id);
      }
      this.inactive.set(course, inactive);
    }
    return inactive;
  }
}

function toCourseEnrolment(course: number, participant: Participant, inactive: ReadonlySet<number>): CourseEnrolment {
  const roles = Array.isArray(participant.roles) ? (participant.roles as Array<{ roleid?: unknown; shortname?: unknown }>) : [];
  assertVisible(participant, ['username', 'email']);
  return {
    courseid: course,
    userid: participant.id,
    username: text(participant.username),
    email: text(participant.email),
    roles: roles.map((role) => String(role.shortname)),
    roleIds: roles.map((role) => Number(role.roleid)),
    suspended: inactive.has(participant.id),
  };
}
