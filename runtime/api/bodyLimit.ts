import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { fail } from './errors';

/**
 * Refuses bodies over `maxSize` bytes with 413. A request that declares its length is judged by the header alone
 * (Node's parser never delivers more than Content-Length), which keeps @hono/node-server's fast body path: hono's
 * own bodyLimit reads `req.raw.body` and so turns every request into a web stream. A chunked body, whose length is
 * unknown up front, is counted as it streams by hono's bodyLimit.
 */
export function limitBody(maxSize: number): MiddlewareHandler {
  const tooLarge = (c: Context) => fail(c, 413, 'payload_too_large', `the body is over ${maxSize} bytes`);
  const streaming = bodyLimit({ maxSize, onError: tooLarge });
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.method === 'OPTIONS') return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number(declared) > maxSize ? tooLarge(c) : next();
    }
    return streaming(c, next);
  };
}
