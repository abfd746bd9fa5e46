/**
 * The `moodle` connection as a person fills it in (docs/connectors/moodle.md), beside config.ts's checks: the site and
 * its token, the courses whose enrolments sync (listed from the site), and what a delete means for each collection.
 */
import type { ConnectionForm } from '../../../nodes/trigger/connectionForm';

export const moodleConnectionForm: ConnectionForm = {
  fields: [
    {
      key: 'baseUrl',
      label: 'Site address',
      kind: 'text',
      required: true,
      placeholder: 'https://learn.example.com',
      help: 'The address people open Moodle at, without /webservice/rest/server.php.',
    },
    {
      key: 'auth.credential',
      label: 'Web-service token',
      kind: 'credential',
      credentialKinds: ['token'],
      required: true,
      help: 'A stored credential holding the token of an external service with the functions docs/connectors/moodle.md lists.',
    },
    {
      key: 'courses',
      label: 'Courses (enrolments)',
      kind: 'lookup',
      dependsOn: ['baseUrl', 'auth.credential'],
      multiple: true,
      placeholder: '12, 15',
      help: 'For the enrolments collection: the courses whose enrolments sync, ticked from the site\'s courses or added by id.',
    },
    {
      key: 'enrolment',
      label: 'Enrolment records',
      kind: 'select',
      default: 'per-enrolment',
      options: [
        { value: 'per-enrolment', label: 'one per person and course (key course:user)' },
        { value: 'one-per-user', label: 'one per person, in one of the courses: a changed course moves them (key: user id)' },
      ],
      help: 'For the enrolments collection. One per person suits a course per department: changing the course unenrols them from the old one.',
    },
    {
      key: 'userDeletes',
      label: 'A user deleted by the sync',
      kind: 'select',
      default: 'suspend',
      options: [
        { value: 'suspend', label: 'is suspended: cannot sign in, keeps enrolments and grades' },
        { value: 'refuse', label: 'is refused: the sync deletes no user' },
        { value: 'delete', label: 'is deleted in Moodle, with enrolments and grades' },
      ],
    },
    {
      key: 'enrolmentDeletes',
      label: 'An enrolment deleted by the sync',
      kind: 'select',
      default: 'unenrol',
      options: [
        { value: 'unenrol', label: 'is removed (unenrolled)' },
        { value: 'suspend', label: 'is suspended: kept, without access to the course' },
        { value: 'refuse', label: 'is refused: the sync unenrols no one' },
      ],
    },
    {
      key: 'roleId',
      label: 'Role of new enrolments',
      kind: 'number',
      default: 5,
      min: 1,
      step: 1,
      advanced: true,
      help: 'The id of a role assignable in courses; 5 is "student" on a standard site (Site administration > Users > Define roles).',
    },
    {
      key: 'profileFields',
      label: 'Custom profile fields',
      kind: 'text',
      placeholder: 'costcentre, site',
      advanced: true,
      help: 'Shortnames, separated by commas; each syncs as customfields.<shortname> (Site administration > Users > User profile fields).',
    },
  ],
};
