/** The `postgres` connection as a person fills it in (docs/connectors.md, `postgres`); beside connection.ts's schema. */
import type { ConnectionForm } from '../../../nodes/trigger/connectionForm';

export const postgresConnectionForm: ConnectionForm = {
  fields: [
    {
      key: 'credential',
      label: 'Connection URL credential',
      kind: 'credential',
      credentialKinds: ['token'],
      help: 'A stored credential holding the whole postgres:// URL, password included. Or give a URL without a password below.',
    },
    {
      key: 'url',
      label: 'Connection URL',
      kind: 'text',
      placeholder: 'postgres://app@127.0.0.1:5432/crm',
      help: 'Without a password: a URL that needs one goes into a stored credential above.',
    },
    {
      key: 'ssl',
      label: 'TLS',
      kind: 'select',
      options: [
        { value: 'require', label: 'require: TLS, certificate checked' },
        { value: 'no-verify', label: 'no-verify: TLS, certificate not checked' },
        { value: 'disable', label: 'disable: no TLS' },
      ],
      help: 'Unset: as the URL’s sslmode parameter says (no TLS without one).',
    },
    {
      key: 'notify',
      label: 'Report changes through LISTEN/NOTIFY',
      kind: 'boolean',
      default: false,
      help: 'Installs a trigger on the table so changes arrive at once instead of at the next poll.',
    },
    { key: 'poolSize', label: 'Pool size', kind: 'number', advanced: true, default: 4, min: 1, max: 100, help: 'Connections per open trigger.' },
    { key: 'connectTimeoutMs', label: 'Connect timeout (ms)', kind: 'number', advanced: true, default: 10_000, min: 100, max: 600_000, step: 1000 },
    {
      key: 'statementTimeoutMs',
      label: 'Statement timeout (ms)',
      kind: 'number',
      advanced: true,
      default: 60_000,
      min: 0,
      max: 86_400_000,
      step: 1000,
      help: '0: no limit.',
    },
  ],
};
