import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { fail } from './errors';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Requires `Authorization: Bearer <token>` (SPEC §10). */
export function requireToken(token: string): MiddlewareHandler {
  const expected = digest(token);
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
