import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { fail } from './errors';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The shortest API token Syncline accepts. A generated token has 32 characters. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Why `token` cannot guard the API, or null when it can. A short token is guessed, and one with a space never
 * matches, since the `Authorization: Bearer` header ends the token at the first space. `source` names where the
 * token came from, e.g. `SYNCLINE_TOKEN`.
 */
export function tokenProblem(token: string, source: string): string | null {
  if (/\s/.test(token)) return `${source} contains a space or line break, which a Bearer header cannot carry: use letters, digits and punctuation only`;
  const length = [...token].length;
  if (length < MIN_TOKEN_LENGTH) {
    return `${source} is ${length} character${length === 1 ? '' : 's'} long; an API token needs at least ${MIN_TOKEN_LENGTH}, so that it cannot be guessed: use a longer one (e.g. from \`openssl rand -base64 24\`)`;
  }
  return null;
}

/** `token` itself; throws with `tokenProblem`'s words when it cannot guard the API. */
export function strongToken(token: string, source: string): string {
  const problem = tokenProblem(token, source);
  if (problem) throw new Error(problem);
  return token;
}

/** Requires `Authorization: Bearer <token>` (SPEC §10); throws for a token that `tokenProblem` refuses. */
export function requireToken(token: string): MiddlewareHandler {
  const expected = digest(strongToken(token, 'the API token'));
  return async (c, next) => {
    // CORS preflights carry no credentials by design; the cors middleware answers them.
    if (c.req.method === 'OPTIONS') return next();
    const header = c.req.header('authorization');
    if (!header) {
      return fail(c, 401, 'unauthorized', 'missing token: send the header Authorization: Bearer <token> (syncline serve prints it)');
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match || !timingSafeEqual(expected, digest(match[1]!))) {
      return fail(c, 401, 'unauthorized', 'wrong token: use the token syncline serve printed (or SYNCLINE_TOKEN)');
    }
    await next();
  };
}
