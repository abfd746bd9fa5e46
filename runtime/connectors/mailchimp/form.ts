/**
 * The `mailchimp` connection as a person fills it in (docs/connectors/mailchimp.md), beside config.ts's schema: the
 * key or token from the stored credentials, then the audience from those the account has (lists.ts lists them).
 */
import type { ConnectionForm } from '../../../nodes/trigger/connectionForm';

export const mailchimpConnectionForm: ConnectionForm = {
  fields: [
    {
      key: 'auth.credential',
      label: 'Mailchimp API key or OAuth token',
      kind: 'credential',
      credentialKinds: ['token', 'basic', 'oauth2'],
      required: true,
      help: 'A stored credential holding an API key (Profile › Extras › API keys; it ends in -us19 or the like) or an OAuth access token.',
    },
    {
      key: 'server',
      label: 'Data center',
      kind: 'text',
      placeholder: 'us19',
      help: 'Needed with an OAuth token only: an API key names its own (the part after the dash).',
    },
    {
      key: 'list',
      label: 'Audience',
      kind: 'lookup',
      dependsOn: ['auth.credential', 'server', 'baseUrl'],
      required: true,
      placeholder: 'a1b2c3d4e5',
      help: 'The audience whose members sync, from those the account has.',
    },
    {
      key: 'statusIfNew',
      label: 'Status of a member the sync creates',
      kind: 'select',
      default: 'subscribed',
      options: [
        { value: 'subscribed', label: 'subscribed: receives campaigns' },
        { value: 'pending', label: 'pending: Mailchimp emails a confirmation first' },
        { value: 'unsubscribed', label: 'unsubscribed' },
        { value: 'transactional', label: 'transactional: no marketing email' },
      ],
      help: 'Used when the flow writes no status. Only subscribe people who agreed to receive your email.',
    },
    {
      key: 'maxWaitSeconds',
      label: 'Longest rate-limit wait within a pass (s)',
      kind: 'number',
      default: 60,
      min: 0,
      max: 3600,
      advanced: true,
      help: 'A limit that lasts longer stops the pass cleanly; the next pass goes on.',
    },
    {
      key: 'baseUrl',
      label: 'API address',
      kind: 'text',
      placeholder: 'https://us19.api.mailchimp.com',
      advanced: true,
      help: 'Instead of the data center: another address for the API (a proxy, a test’s fake).',
    },
  ],
};
