/**
 * The `github` connector's `connection` (docs/connectors/github.md): one zod schema is the source of its type, its
 * defaults and its messages. The token is named, never held: `auth: {"credential": NAME}` (SPEC §1).
 */
import { z } from 'zod';

/** GitHub's public REST address; GitHub Enterprise Server answers at `https://HOST/api/v3`. */
export const publicApiUrl = 'https://api.github.com';

// Owner: letters, digits and single hyphens (GitHub's rule for user and organization names). Repository: letters,
// digits, `.`, `-`, `_`, but not `.` or `..` alone.
const repoPattern = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}\/(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}$/;

export const githubConnectionSchema = z.strictObject({
  repo: z
    .string({ error: 'must name the repository as "owner/name", e.g. "octo-org/hello-world"' })
    .regex(repoPattern, 'must name the repository as "owner/name", e.g. "octo-org/hello-world" (as in its URL github.com/owner/name)'),
  auth: z.strictObject(
    { credential: z.string().min(1, 'must name a stored credential') },
    { error: 'must name the stored credential that holds the GitHub token, as {"credential": "<name>"}: a flow never holds a secret' },
  ),
  baseUrl: z
    .string({ error: 'must be the REST API address, e.g. https://github.example.com/api/v3 for GitHub Enterprise Server' })
    .refine((value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '' && url.search === '' && url.hash === '';
      } catch {
        return false;
      }
    }, 'must be an http(s) URL without user, password or query, e.g. https://github.example.com/api/v3 for GitHub Enterprise Server')
    .optional(),
  /** What a delete written to GitHub does: close the issue as not planned, or refuse (the REST API cannot delete issues). */
  deletes: z.enum(['close', 'refuse'], { error: 'must be "close" (a delete closes the issue as not planned) or "refuse" (deletes are never written)' }).default('close'),
  /**
   * The longest wait for a rate limit within a pass, in seconds. A limit that lifts sooner is waited out; a later one
   * stops the pass cleanly, and the next pass after the reset goes on.
   */
  maxWaitSeconds: z.number({ error: 'must be a number of seconds' }).int('must be a whole number of seconds').min(0).max(3600).default(60),
});

export type GitHubConnection = z.infer<typeof githubConnectionSchema>;

/** Checks a `github` connection; each problem names its path inside `connection`. */
export function checkGitHubConnection(connection: Record<string, unknown>): Array<{ path: (string | number)[]; message: string }> {
  const parsed = githubConnectionSchema.safeParse(connection);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({
    path: issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
    message:
      issue.code === 'unrecognized_keys'
        ? `${issue.message}; the github options are repo, auth, baseUrl, deletes, maxWaitSeconds (docs/connectors/github.md)`
        : issue.path.length === 1 && issue.code === 'invalid_type' && connection[String(issue.path[0])] === undefined
          ? missingMessage(issue.path[0])
          : issue.message,
  }));
}

function missingMessage(field: PropertyKey | undefined): string {
  switch (field) {
    case 'repo':
      return 'is required: the repository whose issues sync, as "owner/name", e.g. "octo-org/hello-world"';
    case 'auth':
      return 'is required: {"credential": "<name>"} naming the stored GitHub token (a fine-grained token with Issues read and write, or a classic token with the repo scope)';
    default:
      return 'is required';
  }
}

/** Parses a connection already checked by {@link checkGitHubConnection}. */
export function parseGitHubConnection(connection: Record<string, unknown>): GitHubConnection {
  return githubConnectionSchema.parse(connection);
}

/** `owner` and `repo` of `connection.repo`. */
export function splitRepo(fullName: string): { owner: string; repo: string } {
  const [owner = '', repo = ''] = fullName.split('/');
  return { owner, repo };
}
