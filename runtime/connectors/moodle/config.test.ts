import { afterEach, describe, expect, it } from 'vitest';
import { applyFieldChange, connectionFormSchema, initialConnection } from '../../../nodes/trigger/connectionForm';
import type { MoodleFake } from '../../../test/fakes/moodle/server';
import { connectorRegistry } from '../index';
import type { ConnectorType } from '../types';
import { checkMoodleConnection, parseMoodleConnection } from './config';
import { access, connectionFor, resolveToken, startFake } from './fakeSite';
import { moodleConnectionForm } from './form';

const valid = { baseUrl: 'https://learn.example.com', auth: { credential: 'moodle-token' } };
const moodle = (connectorRegistry as Record<string, ConnectorType>).moodle as ConnectorType;

describe('the moodle connection', () => {
  it('accepts a site and a token, with defaults for the rest', () => {
    expect(checkMoodleConnection(valid)).toEqual([]);
    expect(parseMoodleConnection({ ...valid, baseUrl: 'https://learn.example.com/moodle/' })).toEqual({
      baseUrl: 'https://learn.example.com/moodle',
      credential: 'moodle-token',
      courses: [],
      enrolment: 'per-enrolment',
      roleId: 5,
      userDeletes: 'suspend',
      enrolmentDeletes: 'unenrol',
      profileFields: [],
    });
  });

  it('takes courses and profile fields as a list or as the text a form field holds', () => {
    expect(parseMoodleConnection({ ...valid, courses: '15, 12', profileFields: 'costcentre,site' })).toMatchObject({ courses: [12, 15], profileFields: ['costcentre', 'site'] });
    expect(parseMoodleConnection({ ...valid, courses: [15, '12'] }).courses).toEqual([12, 15]);
  });

  it.each([
    [{ ...valid, baseUrl: undefined }, 'baseUrl', 'is required'],
    [{ ...valid, baseUrl: 'https://learn.example.com/webservice/rest/server.php' }, 'baseUrl', "must be the site's address only: https://learn.example.com"],
    [{ ...valid, baseUrl: 'learn.example.com' }, 'baseUrl', 'http or https address'],
    [{ ...valid, auth: { credential: '' } }, 'auth.credential', 'must name a stored credential'],
    [{ ...valid, auth: { credential: 'x', token: 'secret' } }, 'auth.token', 'known options: credential'],
    [{ ...valid, courses: 'twelve' }, 'courses', 'must list course ids'],
    [{ ...valid, courses: [12, 12] }, 'courses', 'lists a course twice'],
    [{ ...valid, enrolment: 'per-course' }, 'enrolment', 'must be one of per-enrolment, one-per-user'],
    [{ ...valid, roleId: 'student' }, 'roleId', 'must be the id of a role'],
    [{ ...valid, userDeletes: 'remove' }, 'userDeletes', 'must be one of suspend, refuse, delete'],
    [{ ...valid, enrolmentDeletes: 'delete' }, 'enrolmentDeletes', 'must be one of unenrol, suspend, refuse'],
    [{ ...valid, profileFields: ['cost centre'] }, 'profileFields', 'custom profile field shortnames'],
    [{ ...valid, subdomain: 'acme' }, 'subdomain', 'known options: baseUrl, auth, courses, enrolment, roleId, userDeletes, enrolmentDeletes, profileFields'],
  ])('names the problem with %j at its path', (connection, path, message) => {
    const problems = checkMoodleConnection(connection as Record<string, unknown>);
    expect(problems.map((problem) => problem.path.join('.'))).toEqual([path]);
    expect(problems[0]?.message).toContain(message);
  });
});

describe('the moodle connection form', () => {
  it('is well formed and covers exactly the options the checks know', () => {
    expect(connectionFormSchema.parse(moodleConnectionForm)).toEqual(moodleConnectionForm);
    expect(moodle.connectionForm).toBe(moodleConnectionForm);
    const known = /known options: (.+)$/.exec(checkMoodleConnection({ ...valid, unknown_option: 1 }).at(-1)?.message ?? '')?.[1]?.split(', ') ?? [];
    const auth = /known options: (.+)$/.exec(checkMoodleConnection({ ...valid, auth: { credential: 'x', unknown_option: 1 } }).at(-1)?.message ?? '')?.[1]?.split(', ') ?? [];
    const keys = [...known.filter((key) => key !== 'auth'), ...auth.map((key) => `auth.${key}`)].sort();
    expect(moodleConnectionForm.fields.map((field) => field.key).sort()).toEqual(keys);
  });

  it('fills in to a connection the checks accept, every fixed choice included', () => {
    expect(initialConnection(moodleConnectionForm)).toEqual({ baseUrl: '', auth: { credential: '' } });
    // The course lookup takes several: ticked courses are written as a list of ids.
    const filled = (
      [
        ['baseUrl', 'https://learn.example.com'],
        ['auth.credential', 'moodle-token'],
        ['courses', ['15', '12']],
        ['profileFields', 'costcentre, site'],
      ] as Array<[string, unknown]>
    ).reduce((connection, [key, value]) => applyFieldChange(moodleConnectionForm, connection, key, value), initialConnection(moodleConnectionForm));
    expect(parseMoodleConnection(filled).courses).toEqual([12, 15]);
    expect(checkMoodleConnection(filled)).toEqual([]);
    for (const field of moodleConnectionForm.fields) {
      if (field.kind !== 'select') continue;
      expect(field.options.map((option) => option.value)).toContain(field.default);
      for (const option of field.options) expect(checkMoodleConnection(applyFieldChange(moodleConnectionForm, filled, field.key, option.value)), `${field.key} = ${option.value}`).toEqual([]);
    }
  });
});

describe('the course lookup and the editor’s description', () => {
  let fake: MoodleFake | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it('lists the courses the token sees, without the front page, before courses are chosen', async () => {
    fake = await startFake();
    const safety = fake.seedCourse({ shortname: 'SAFE101', fullname: 'Safety at work' });
    const running = fake;
    const context = { connection: connectionFor(running), baseDir: '/', resolveCredential: (name: string) => resolveToken(running, name), access };
    expect(await moodle.connectionOptions?.(context, 'courses')).toEqual({
      options: [{ value: String(safety.id), label: 'Safety at work', description: `SAFE101, id ${safety.id}` }],
      complete: true,
    });
    // A half-filled connection is enough: only the site and its token are needed to list.
    expect((await moodle.connectionOptions?.({ ...context, connection: { ...context.connection, courses: 'not yet' } }, 'courses'))?.options).toHaveLength(1);
    await expect(moodle.connectionOptions?.(context, 'roleId') ?? Promise.resolve()).rejects.toThrow('lists choices for courses only');
  });

  it('describes both collections without asking the site, custom profile fields included', async () => {
    const collections = await moodle.describeConnection?.({ connection: { ...valid, profileFields: ['costcentre'] }, baseDir: '/', resolveCredential: async () => 'unused', access });
    expect(collections?.map((collection) => collection.name)).toEqual(['users', 'enrolments']);
    expect(collections?.[0]?.fields.at(-1)).toEqual({ name: 'customfields.costcentre', type: 'string', nullable: true });
    expect(collections?.[1]?.fields.map((field) => field.name)).toEqual(['userid', 'courseid', 'username', 'email', 'roles', 'suspended']);
  });
});
