/**
 * The `zendesk` connection as a person fills it in (docs/connectors/zendesk.md), beside config.ts's checks: which
 * account, whose credential, and names for the account's custom ticket fields.
 */
import type { ConnectionForm } from '../../../nodes/trigger/connectionForm';

export const zendeskConnectionForm: ConnectionForm = {
  fields: [
    {
      key: 'subdomain',
      label: 'Subdomain',
      kind: 'text',
      placeholder: 'acme',
      help: 'The account: acme for https://acme.zendesk.com.',
    },
    {
      key: 'auth.type',
      label: 'Credential kind',
      kind: 'select',
      default: 'token',
      options: [
        { value: 'token', label: 'API token, with the email of its user' },
        { value: 'bearer', label: 'OAuth access token' },
      ],
    },
    {
      key: 'auth.credential',
      label: 'Zendesk credential',
      kind: 'credential',
      credentialKinds: ['token', 'oauth2'],
      required: true,
      help: 'The stored credential holding the API token or OAuth access token.',
    },
    {
      key: 'email',
      label: 'Email of the token’s user',
      kind: 'text',
      required: true,
      placeholder: 'agent@example.com',
      when: { key: 'auth.type', is: ['token'] },
    },
    {
      key: 'customFields',
      label: 'Custom ticket fields',
      kind: 'keyValue',
      keyLabel: 'Name in the flow',
      valueLabel: 'Ticket field id',
      valueKind: 'number',
      help: 'Admin Center › Objects and rules › Tickets › Fields lists each field’s id.',
    },
    {
      key: 'userRoles',
      label: 'Roles of the users listed',
      kind: 'multiselect',
      options: [
        { value: 'end-user', label: 'End users' },
        { value: 'agent', label: 'Agents' },
        { value: 'admin', label: 'Admins' },
      ],
      help: 'For the users collection; none ticked: every user.',
    },
    {
      key: 'baseUrl',
      label: 'API address',
      kind: 'text',
      placeholder: 'https://acme.zendesk.com',
      advanced: true,
      help: 'Instead of the subdomain: another address for the API (a proxy, a test’s fake).',
    },
  ],
};
