/**
 * How HubSpot takes and keeps `date` and `datetime` property values. Properties guide, "Add values to date and
 * datetime properties" (developers.hubspot.com/docs/api-reference/crm-properties-v3/guide), and the API FAQ, "How
 * should I format timestamps for HubSpot's APIs?" (developers.hubspot.com/docs/api/faq):
 *
 * - "Time values are represented in ISO 8601 format in responses, but HubSpot APIs will accept either of two formats":
 *   ISO 8601 strings, or "UNIX-formatted timestamps in milliseconds".
 * - In responses a date is "the complete date format … YYYY-MM-DD (e.g. 2020-02-29)", a date and time
 *   "YYYY-MM-DDThh:mm:ss.sTZD (e.g. 2020-02-29T03:30:17.000Z). All times are represented in UTC, so the values will
 *   always use the UTC designator 'Z.'"
 * - "`date` properties store the date, not the time … If you use the UNIX timestamp format, you must use an EPOCH
 *   millisecond timestamp (i.e. the value must be set to midnight UTC for the date)"; "If you try to set a value that is
 *   not midnight UTC, you will receive an error" (FAQ).
 *
 * A date that is not midnight UTC is refused with INVALID_DATE, "<value> is at 13:1:0.0 UTC, not midnight!" (hours,
 * minutes, seconds, milliseconds unpadded), as clients recorded it: hull/hull-connectors hull-hubspot
 * `test/integration/spec-batch.js` ("1496643178000 is at 6:12:58.0 UTC, not midnight!", "INVALID_DATE");
 * hubspot-net/HubSpot.NET#98 ("1606768561954 is at 20:36:1.954 UTC, not midnight!"); and, inside a v3 batch's 400
 * "Property values were not valid: [{…\"message\":\"1786334400000 is at 4:0:0.0 UTC, not midnight!\",\"error\":
 * \"INVALID_DATE\"…}]", public integration notes. UNCONFIRMED: the wording for ISO text at a time of day and for text
 * that is no date at all, and whether a datetime without a zone is taken as UTC (the fake takes it so: "Values must be
 * represented in UTC time", Properties guide, type table).
 */
import type { PropertyProblem } from './responses';

/** ISO 8601 calendar date, optionally with a time and a zone: the forms the documentation shows, and their shortenings. */
const isoPattern = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

const dayMs = 86_400_000;

/** A date or datetime value as milliseconds since 1970 (UTC), or null when it is neither form HubSpot takes. */
function instantOf(text: string): number | null {
  if (/^-?\d+$/.test(text)) return Number(text);
  const match = isoPattern.exec(text);
  if (!match) return null;
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone = 'Z'] = match;
  const local = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second), Number(fraction.slice(0, 3).padEnd(3, '0'))));
  // Date.UTC reads years below 100 as 19xx, and rolls 2024-02-30 over to March: such a date is no date.
  if (Number(year) < 100) local.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  if (local.getUTCDate() !== Number(day) || local.getUTCMonth() !== Number(month) - 1 || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return null;
  return local.getTime() - offsetMs(zone);
}

function offsetMs(zone: string): number {
  if (zone === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return (zone.startsWith('-') ? -1 : 1) * minutes * 60_000;
}

/** The time of day of an instant as HubSpot's refusal writes it: hours, minutes, seconds and milliseconds unpadded. */
function timeOfDay(ms: number): string {
  const date = new Date(ms);
  return `${date.getUTCHours()}:${date.getUTCMinutes()}:${date.getUTCSeconds()}.${date.getUTCMilliseconds()}`;
}

/** The value a `date` or `datetime` property keeps of `text`, or the problem HubSpot names instead. */
export function storedTime(type: 'date' | 'datetime', name: string, text: string): { value: string } | { problem: PropertyProblem } {
  const ms = instantOf(text);
  if (ms === null || Number.isNaN(new Date(ms).getTime())) {
    return { problem: { name, error: 'INVALID_DATE', message: `${text} is not a valid ${type === 'date' ? 'date' : 'datetime'}` } }; // UNCONFIRMED wording
  }
  if (type === 'datetime') return { value: new Date(ms).toISOString() };
  if (((ms % dayMs) + dayMs) % dayMs !== 0) return { problem: { name, error: 'INVALID_DATE', message: `${text} is at ${timeOfDay(ms)} UTC, not midnight!` } };
  return { value: new Date(ms).toISOString().slice(0, 10) };
}
