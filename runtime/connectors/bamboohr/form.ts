/**
 * The `bamboohr` connection as a person fills it in (docs/connectors/bamboohr.md), beside config.ts's checks: which
 * company, the API key, and the employee fields to sync, offered from the company's own field list (List Fields).
 */
import type { ConnectionForm } from '../../../nodes/trigger/connectionForm';
import { defaultFields } from './config';

export const bambooHrConnectionForm: ConnectionForm = {
  fields: [
    {
      key: 'subdomain',
      label: 'Company subdomain',
      kind: 'text',
      placeholder: 'acme',
      help: 'The company: acme for https://acme.bamboohr.com.',
    },
    {
      key: 'auth.credential',
      label: 'BambooHR API key',
      kind: 'credential',
      credentialKinds: ['token', 'basic'],
      required: true,
      help: 'A stored credential holding an API key (BambooHR: your name › API Keys). The key acts with its user’s access level.',
    },
    {
      key: 'fields',
      label: 'Employee fields',
      kind: 'lookup',
      dependsOn: ['subdomain', 'baseUrl', 'auth.credential'],
      placeholder: defaultFields.join(','),
      help: 'The fields to sync, by API name, separated by commas; the company’s fields are suggested. Empty: the fields shown as the example.',
    },
    {
      key: 'maxWaitSeconds',
      label: 'Longest throttling wait within a pass (s)',
      kind: 'number',
      default: 60,
      min: 0,
      max: 3600,
      advanced: true,
      help: 'BambooHR says when to come back (Retry-After); a longer wait stops the pass cleanly and the next pass goes on.',
    },
    {
      key: 'baseUrl',
      label: 'API address',
      kind: 'text',
      placeholder: 'https://acme.bamboohr.com',
      advanced: true,
      help: 'Instead of the subdomain: another address for the API (a proxy, a test’s fake).',
    },
  ],
};
