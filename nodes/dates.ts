/**
 * Calendar dates and times read as instants, all in UTC: one reading for the transform node's date formats and for
 * connectors whose systems hold dates in a form of their own (HubSpot's date and datetime properties).
 */

/** ISO 8601 calendar date, optionally with a time (`T` or a space before it), a fraction and a zone. */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** Milliseconds since the epoch of ISO 8601 text, or null when it is none. Without an offset the time is UTC, never the server's local time. */
export function isoInstant(text: string): number | null {
  const match = ISO_DATE.exec(text.trim());
  if (!match) return null;
  const [, year, month, day, hour, minute, second, fraction, offset] = match;
  const millis = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  const local = utcMillis(Number(year), Number(month), Number(day), Number(hour ?? 0), Number(minute ?? 0), Number(second ?? 0), millis);
  return local === null ? null : local - offsetMinutes(offset) * 60_000;
}

function offsetMinutes(offset: string | undefined): number {
  if (offset === undefined || offset.toUpperCase() === 'Z') return 0;
  const digits = offset.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return offset.startsWith('-') ? -minutes : minutes;
}

/** The instant of a UTC calendar time, or null when a part is out of range (a 30 February, a 25th hour). */
export function utcMillis(year: number, month: number, day: number, hour: number, minute: number, second: number, millis: number): number | null {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
  // Date.UTC treats years below 100 as 19xx; setUTCFullYear does not.
  if (year < 100) date.setUTCFullYear(year, month - 1, day);
  return date.getUTCDate() === day ? date.getTime() : null;
}
