/**
 * Deterministic randomness for the fake: tie shuffling and delivery GUIDs repeat for a given seed, so a
 * failing test can be replayed exactly.
 */

import { seededRandom } from '../../../runtime/seededRandom';

/** A PRNG returning floats in [0, 1): the fake draws from runtime/seededRandom.ts. */
export type Random = ReturnType<typeof seededRandom>;

/** A stable pseudo-random number for (seed, key), independent of call order. */
export function hashToUnit(seed: number, key: number): number {
  return seededRandom((seed ^ Math.imul(key, 0x9e3779b1)) >>> 0)();
}

/** A version-4-shaped GUID drawn from `random`, as GitHub's X-GitHub-Delivery values look. */
export function randomGuid(random: Random): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** A copy of `items` in a shuffled order (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
