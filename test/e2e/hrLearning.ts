/**
 * What the "HR ↔ learning" end-to-end test and its browser check share: the template
 * (test/fixtures/flows/bamboohr-moodle.flow.json) pointed at the fakes, the BambooHR and Moodle fakes started as a
 * `syncline serve` process needs them, the Moodle courses the template's departments map to, and the credentials a
 * person stores before importing it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBambooHrFake, type BambooHrFake } from '../fakes/bamboohr/server';
import { startMoodleFake, type MoodleFake } from '../fakes/moodle/server';
import type { Course } from '../fakes/moodle/site';
import { SystemClock } from './harness';

export const flowId = 'bamboohr-moodle';

export interface FlowJson {
  id: string;
  name: string;
  nodes: Array<{ id: string; type: string; config: Record<string, unknown> & { connection?: Record<string, unknown> } }>;
}

export const template = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'flows', `${flowId}.flow.json`), 'utf8')) as FlowJson;

/** The credentials a person stores (docs/templates/hr-learning.md); BambooHR's webhook key is stored by the runtime. */
export const credentials = { bamboohrKey: 'bamboohr-key', bamboohrWebhookKey: 'bamboohr-webhook-key', moodleToken: 'moodle-token' } as const;

/** The template's departments and the course id each maps to (the `department-course` mapping's values). */
export const departmentCourses: ReadonlyArray<{ department: string; courseid: number }> = (() => {
  const mapping = template.nodes.find((node) => node.id === 'department-course')?.config as { fields: Array<{ right: string; values?: Array<{ left: string; right: number }> }> } | undefined;
  const values = mapping?.fields.find((pair) => pair.right === 'courseid')?.values;
  if (!values) throw new Error('the bamboohr-moodle template has no department value map in department-course');
  return values.map((pair) => ({ department: pair.left, courseid: pair.right }));
})();

export interface HrLearningFakes {
  bamboohr: BambooHrFake;
  /** BambooHR's clock, following real time (webhook timestamps are checked against the runtime's clock). */
  bamboohrClock: SystemClock;
  moodle: MoodleFake;
  /** The Moodle course standing for each department's course of the template, by department. */
  courses: Map<string, Course>;
  close(): Promise<void>;
}

/**
 * Both fakes, and a course on the Moodle site for each department of the template. BambooHR accepts webhook URLs on
 * plain http, as the runtime under test is reached without TLS.
 */
export async function startFakes(options: { bamboohrChangedLagSeconds?: number } = {}): Promise<HrLearningFakes> {
  const bamboohrClock = new SystemClock();
  const bamboohr = await startBambooHrFake({ allowHttpWebhookTargets: true, clockStart: bamboohrClock.now(), changedLagSeconds: options.bamboohrChangedLagSeconds ?? 0 });
  const stopDriving = bamboohrClock.drive((now) => bamboohr.clock.set(now));
  const moodle = await startMoodleFake({ siteName: 'Acme Learning' });
  const courses = new Map(departmentCourses.map(({ department }) => [department, moodle.seedCourse({ shortname: `${department.toUpperCase()}-101`, fullname: `${department} onboarding` })]));
  return {
    bamboohr,
    bamboohrClock,
    moodle,
    courses,
    close: async () => {
      stopDriving();
      await Promise.all([bamboohr.close(), moodle.close()]);
    },
  };
}

/**
 * The template with the fakes in place of acme.bamboohr.com and the Moodle site: BambooHR's `baseUrl` instead of its
 * subdomain, the site's address, and the site's course ids where the template has its example ids. `moodlePollMs`
 * replaces the Moodle triggers' poll interval.
 */
export function flowFor(fakes: HrLearningFakes, options: { moodlePollMs?: number } = {}): FlowJson {
  const flow = structuredClone(template);
  const courseId = (example: number): number => {
    const department = departmentCourses.find((entry) => entry.courseid === example)?.department;
    const course = department === undefined ? undefined : fakes.courses.get(department);
    if (!course) throw new Error(`the template's course ${example} belongs to no department`);
    return course.id;
  };
  for (const node of flow.nodes) {
    const config = node.config as Record<string, unknown> & { connection: Record<string, unknown>; detect: Record<string, unknown> };
    if (node.id === 'bamboohr') {
      const { subdomain: _publicAddress, ...connection } = config.connection;
      config.connection = { ...connection, baseUrl: fakes.bamboohr.url };
    }
    if (node.id === 'moodle-users' || node.id === 'moodle-enrolments') {
      config.connection = { ...config.connection, baseUrl: fakes.moodle.url };
      if (Array.isArray(config.connection.courses)) config.connection.courses = (config.connection.courses as number[]).map(courseId);
      if (options.moodlePollMs !== undefined) config.detect = { mode: 'poll', intervalMs: options.moodlePollMs };
    }
    if (node.id === 'department-course') {
      for (const pair of (config as unknown as { fields: Array<{ values?: Array<{ right: unknown }> }> }).fields) {
        for (const value of pair.values ?? []) value.right = courseId(value.right as number);
      }
    }
  }
  return flow;
}
