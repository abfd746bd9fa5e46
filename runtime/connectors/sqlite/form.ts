/** The `sqlite` connection as a person fills it in (docs/connectors.md, `sqlite`); beside the checks in index.ts. */
import type { ConnectionForm } from '../../../nodes/trigger/connectionForm';

export const sqliteConnectionForm: ConnectionForm = {
  fields: [
    {
      key: 'file',
      label: 'Database file',
      kind: 'text',
      required: true,
      placeholder: 'crm.db',
      help: 'A SQLite file; a relative path is read from the flow file’s folder.',
    },
    {
      key: 'journalMode',
      label: 'Journal mode',
      kind: 'select',
      advanced: true,
      options: [
        { value: 'wal', label: 'WAL: polls and other programs’ writes do not wait on each other' },
        { value: 'delete', label: 'delete (SQLite’s default rollback journal)' },
        { value: 'truncate', label: 'truncate' },
        { value: 'persist', label: 'persist' },
      ],
      help: 'Switches the database file to this mode on open; left unset, the file keeps the mode its owner chose.',
    },
    {
      key: 'busyTimeoutMs',
      label: 'Busy timeout (ms)',
      kind: 'number',
      advanced: true,
      default: 5000,
      min: 0,
      step: 1000,
      help: 'How long a write waits for another program’s lock.',
    },
  ],
};
