import { randomBytes } from 'node:crypto';

/**
 * Ids the engine makes by the hundred thousand: entity ids and write ids. Both start with the time, so rows keyed by
 * them are appended near the end of their index instead of landing on a random page of it: on a large state file a
 * random key costs a page read and a page rewritten into the WAL per insert, an ascending one almost nothing.
 * Randomness is drawn from a pool, one call into the system's generator per few hundred ids.
 */
class RandomPool {
  private pool = Buffer.alloc(0);
  private offset = 0;

  take(bytes: number): Buffer {
    if (this.offset + bytes > this.pool.length) {
      this.pool = randomBytes(4096);
      this.offset = 0;
    }
    const slice = this.pool.subarray(this.offset, this.offset + bytes);
    this.offset += bytes;
    return slice;
  }
}

const pool = new RandomPool();

/** A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. */
export function timeOrderedUuid(now = Date.now()): string {
  const bytes = Buffer.from(pool.take(16));
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The id part of a write's tag: the time in hex (so ids sort by time as text), then 72 random bits in base64url. */
export function writeId(now = Date.now()): string {
  return `${now.toString(16).padStart(12, '0')}${pool.take(9).toString('base64url')}`;
}

/** What every tag of a flow's writes starts with: `syncline:<flow id>:`, then the write id (SPEC §6). */
export function writeTagPrefix(flowId: string): string {
  return `syncline:${flowId}:`;
}
