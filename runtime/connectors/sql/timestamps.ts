/**
 * The runtime stamps `updatedAt` on every write. The stamp must sort among the values other programs write into the
 * same column — a poll cursor compares them with `>=` — so it copies the column's representation rather than imposing
 * ISO-8601: epoch milliseconds stay milliseconds, `2024-05-01 10:00:00` (SQLite's CURRENT_TIMESTAMP) keeps its space
 * separator, an offset suffix keeps its offset. Shared by the SQL connectors (sqlite, postgres), whose columns hold
 * time in any of these ways.
 */
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
