import { createHmac, timingSafeEqual } from 'node:crypto';

/** The `X-Syncline-Signature` value for a body: `sha256=<hex HMAC-SHA256>`. */
export function signBody(secret: string, body: Uint8Array | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Checks a signature header against the raw body in constant time; false for a missing or malformed header. */
export function verifySignature(secret: string, body: Uint8Array, header: string | undefined): boolean {
  if (!header) return false;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'));
}
