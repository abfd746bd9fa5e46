/**
 * Time as the systems at the other end keep it, in one place for every connector.
 *
 * The runtime stamps `updatedAt` on every write to a SQL table or a JSON API that leaves it to the client. The stamp
 * must sort among the values other programs write into the same column — a poll cursor compares them with `>=` — so it
 * copies the column's representation rather than imposing ISO-8601: epoch milliseconds stay milliseconds,
 * `2024-05-01 10:00:00` (SQLite's CURRENT_TIMESTAMP) keeps its space separator, an offset suffix keeps its offset.
 *
 * The SaaS systems give whole-second ISO-8601 times, which their connectors keep as versions in one format
 * (`isoVersion`), so that text order is time order.
 */
import type { Version } from './types';
import { compareVersions } from './versions';

export type TimestampFormat =
  | { kind: 'epochMs' }
  | { kind: 'epochSeconds'; fractional: boolean }
  | { kind: 'text'; separator: 'T' | ' '; fractionDigits: number; zoneSuffix: string; offsetMinutes: number };

/** What an empty text column gets: JavaScript's own ISO-8601, which every parser reads. */
export const isoTextFormat: TimestampFormat = { kind: 'text', separator: 'T', fractionDigits: 3, zoneSuffix: 'Z', offsetMinutes: 0 };

// Values below this are epoch seconds: as milliseconds they would all fall in early 1973.
const smallestEpochMs = 1e11;

const isoPattern = /^(\d{4}-\d{2}-\d{2})([T ])(\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Works out how a column stores time from its newest value, or, for an empty column, from its declared type. */
export function detectTimestampFormat(sample: unknown, declaredType: string): TimestampFormat {
  const declared = declaredType.toUpperCase();
  const declaredReal = /REAL|FLOA|DOUB/.test(declared);
  if (typeof sample === 'bigint') sample = Number(sample);
  if (typeof sample === 'string' && /^\d+(\.\d+)?$/.test(sample.trim())) sample = Number(sample.trim());
  if (typeof sample === 'number' && Number.isFinite(sample)) {
    if (Math.abs(sample) >= smallestEpochMs) return { kind: 'epochMs' };
    return { kind: 'epochSeconds', fractional: !Number.isInteger(sample) || declaredReal };
  }
  if (typeof sample === 'string') {
    const match = isoPattern.exec(sample.trim());
    if (match) {
      const zone = match[5] ?? '';
      return {
        kind: 'text',
        separator: match[2] === ' ' ? ' ' : 'T',
        // Never coarser than milliseconds: "10:00:00.250" still sorts between "10:00:00" and "10:00:01".
        fractionDigits: Math.max(3, match[4]?.length ?? 0),
        zoneSuffix: zone,
        offsetMinutes: parseOffsetMinutes(zone),
      };
    }
    return isoTextFormat;
  }
  if (declared.includes('INT') || declaredReal) return { kind: 'epochMs' };
  return isoTextFormat;
}

function parseOffsetMinutes(zone: string): number {
  const match = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (!match) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? 0);
  return match[1] === '-' ? -minutes : minutes;
}

/** The smallest step the format can tell apart, so successive stamps stay distinct once formatted. */
export function resolutionMs(format: TimestampFormat): number {
  return format.kind === 'epochSeconds' && !format.fractional ? 1000 : 1;
}

/** Renders epoch milliseconds in the column's representation. */
export function formatTimestamp(epochMs: number, format: TimestampFormat): string | number {
  switch (format.kind) {
    case 'epochMs':
      return epochMs;
    case 'epochSeconds':
      return format.fractional ? epochMs / 1000 : Math.floor(epochMs / 1000);
    case 'text': {
      const shifted = new Date(epochMs + format.offsetMinutes * 60_000).toISOString();
      const fraction = shifted.slice(20, 23).padEnd(format.fractionDigits, '0');
      return `${shifted.slice(0, 10)}${format.separator}${shifted.slice(11, 19)}.${fraction}${format.zoneSuffix}`;
    }
  }
}

/** Reads a stored stamp back to epoch milliseconds in the column's representation; null when it is not one. */
export function parseTimestampMs(value: unknown, format: TimestampFormat): number | null {
  if (typeof value === 'bigint') value = Number(value);
  if (typeof value === 'string' && format.kind !== 'text' && /^\d+(\.\d+)?$/.test(value.trim())) value = Number(value.trim());
  if (typeof value === 'number' && Number.isFinite(value)) return format.kind === 'epochSeconds' ? value * 1000 : value;
  if (typeof value !== 'string') return null;
  const match = isoPattern.exec(value.trim());
  if (!match) return null;
  const parsed = Date.parse(`${match[1]}T${match[3]}${match[4] ? `.${match[4].slice(0, 3)}` : ''}${match[5] ?? 'Z'}`);
  return Number.isNaN(parsed) ? null : parsed;
}

const lastStampByResolution = new Map<number, number>();

/**
 * The current time, strictly later than any stamp this process handed out before at the same resolution. Two writes
 * in one millisecond would otherwise share a version, and a poll that drops records already seen at that version
 * would drop the second change.
 */
export function nextStampMs(resolution = 1, now = Date.now()): number {
  const last = lastStampByResolution.get(resolution) ?? -Infinity;
  let stamp = Math.floor(now / resolution) * resolution;
  if (stamp <= last) stamp = last + resolution;
  lastStampByResolution.set(resolution, stamp);
  return stamp;
}

/** A day in milliseconds: the step of a column that keeps dates alone. */
export const dayMs = 86_400_000;

/**
 * How finely the stamps a column holds tell edits apart, judged from one of them, when coarser than a millisecond: a
 * day for a bare date, a minute, a second (SQLite's CURRENT_TIMESTAMP, epoch seconds), a part of one for a short
 * fraction; null when finer, or for no stamp. Two edits of one record within that step share a version, which a
 * connector declares as its `lookbackMs` so the engine compares such records with their shadow instead of dropping
 * them as seen at the cursor.
 */
export function coarseStampMs(sample: unknown, format: TimestampFormat): number | null {
  if (format.kind === 'epochSeconds') return format.fractional ? null : 1000;
  if (format.kind !== 'text' || typeof sample !== 'string') return null;
  const match = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.(\d+))?)?)?/.exec(sample.trim());
  if (!match) return null;
  const [whole, fraction] = match;
  if (whole.length === 10) return dayMs;
  if (whole.length === 16) return 60_000;
  if (fraction === undefined) return 1000;
  return fraction.length < 3 ? 10 ** (3 - fraction.length) : null;
}

/** `2024-01-01T12:00:00Z`: an instant rounded down to the second, as the SaaS APIs write their times and take `since`. */
export function isoSeconds(date: Date | number): string {
  const ms = typeof date === 'number' ? date : date.getTime();
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * A system's timestamp as a version in `isoSeconds` form, or null when it is none. Takes any ISO-8601 text, offsets
 * written `+0000` as well (BambooHR's), which `Date.parse` does not read.
 */
export function isoVersion(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  const time = Date.parse(withColonOffset(value));
  return Number.isFinite(time) ? isoSeconds(time) : null;
}

/**
 * ISO-8601 text as a key whose text order is time order: UTC, every field fixed-width, the fraction to nanoseconds.
 * Null for text that is not such a time. APIs do not keep one width: Go's RFC3339Nano trims trailing zeros
 * ("…:00.12Z" before "…:00.123Z") and Python's isoformat() drops a zero fraction ("…:00Z" before "…:00.000001Z"),
 * and as text both pairs sort the wrong way round.
 */
export function timeOrderKey(value: string): string | null {
  const match = isoPattern.exec(value.trim());
  if (!match) return null;
  const seconds = Date.parse(withColonOffset(`${match[1]}T${match[3]}${match[5] ?? 'Z'}`));
  if (Number.isNaN(seconds)) return null;
  return `${new Date(seconds).toISOString().slice(0, 19)}.${(match[4] ?? '').slice(0, 9).padEnd(9, '0')}Z`;
}

/** `+0530` and `+05` as `+05:30` and `+05:00`: the only offsets `Date.parse` reads. */
function withColonOffset(text: string): string {
  return text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2').replace(/([T:]\d{2}[+-]\d{2})$/, '$1:00');
}

/**
 * `compareVersions`, but two ISO-8601 texts compare by the time they stand for. For connectors that read versions a
 * system formats as it likes (the http connector); the SQL connectors list in their database's own order, which for
 * text is `compareVersions`'s.
 */
export function compareTimeVersions(a: Version | null, b: Version | null): number {
  if (typeof a === 'string' && typeof b === 'string') {
    const keyA = timeOrderKey(a);
    const keyB = timeOrderKey(b);
    if (keyA !== null && keyB !== null) return keyA < keyB ? -1 : keyA > keyB ? 1 : 0;
  }
  return compareVersions(a, b);
}
