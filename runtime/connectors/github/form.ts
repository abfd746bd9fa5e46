/**
 * The `github` connection as a person fills it in (docs/connectors/github.md, Options), beside config.ts's schema: the
 * token from the stored credentials, then the repository from those the token can see (repositories.ts lists them).
 */
import type { ConnectionForm } from '../../../nodes/trigger/connectionForm';

export const githubConnectionForm: ConnectionForm = {
  fields: [
    {
      key: 'auth.credential',
      label: 'GitHub token',
      kind: 'credential',
      credentialKinds: ['token', 'oauth2'],
      required: true,
      help: 'A stored credential holding a fine-grained token with Issues read and write, or a classic token with the repo scope.',
    },
    {
      key: 'baseUrl',
      label: 'API address',
      kind: 'text',
      placeholder: 'https://api.github.com',
      help: 'Only for GitHub Enterprise Server: https://HOST/api/v3.',
    },
    {
      key: 'repo',
      label: 'Repository',
      kind: 'lookup',
      dependsOn: ['auth.credential', 'baseUrl'],
      required: true,
      placeholder: 'owner/name',
      help: 'The repository whose issues sync, from those the token can see.',
    },
    {
      key: 'deletes',
      label: 'A delete written to GitHub',
      kind: 'select',
      default: 'close',
      options: [
        { value: 'close', label: 'closes the issue as not planned' },
        { value: 'refuse', label: 'is refused: deletes are never written' },
      ],
      help: 'The REST API cannot delete issues.',
    },
    {
      key: 'maxWaitSeconds',
      label: 'Longest rate-limit wait within a pass (s)',
      kind: 'number',
      default: 60,
      min: 0,
      max: 3600,
      advanced: true,
      help: 'A limit that lifts later stops the pass cleanly; the next pass after the reset goes on.',
    },
  ],
};
