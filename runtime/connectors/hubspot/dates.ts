/**
 * HubSpot's `date` and `datetime` property values in the one form HubSpot answers with, so what the connector writes is
 * what it reads back. Properties guide, "Add values to date and datetime properties", and the API FAQ, "How should I
 * format timestamps for HubSpot's APIs?": the APIs take ISO 8601 text or epoch milliseconds, and respond with ISO 8601 —
 * a date as "YYYY-MM-DD (e.g. 2020-02-29)", a date and time as "YYYY-MM-DDThh:mm:ss.sTZD (e.g.
 * 2020-02-29T03:30:17.000Z). All times are represented in UTC, so the values will always use the UTC designator 'Z.'"
 * A date "must be set to midnight UTC for the date… If you try to set a value that is not midnight UTC, you will receive
 * an error."
 *
 * Text without a zone is taken as UTC ("Values must be represented in UTC time", Properties guide), as the transform
 * node's dateFormat takes it.
 */
import { isoInstant } from '../../../nodes/dates';

const dayMs = 86_400_000;

/** Milliseconds since 1970 of ISO 8601 text or of epoch milliseconds (as a number or digits), or null. */
function instantOf(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (/^-?\d{1,16}$/.test(text)) return Number(text);
  return isoInstant(text);
}

/** ISO text of an instant, or null past what ISO 8601 text and HubSpot's four-digit years hold. */
function isoOf(ms: number): string | null {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 0 || date.getUTCFullYear() > 9999) return null;
  return date.toISOString();
}

/**
 * A flow's value for a `date` or `datetime` property as HubSpot will hold and return it: a datetime in UTC with
 * milliseconds and `Z`, a date as YYYY-MM-DD. `problem` says why the value is none: text that is no date, or a date
 * at a time of day other than midnight UTC, which HubSpot refuses.
 */
export function hubspotTime(type: 'date' | 'datetime', value: unknown): { text: string } | { problem: string } {
  const ms = instantOf(value);
  const iso = ms === null ? null : isoOf(ms);
  if (ms === null || iso === null) {
    return { problem: type === 'date' ? 'is not a date: write it as YYYY-MM-DD (ISO 8601), or as milliseconds since 1970 at midnight UTC' : 'is not a date and time: write it as ISO 8601 (2024-06-03T10:00:00Z, in any zone) or as milliseconds since 1970' };
  }
  if (type === 'datetime') return { text: iso };
  if (((ms % dayMs) + dayMs) % dayMs !== 0) {
    return { problem: `is ${iso.slice(11, 23)} UTC on ${iso.slice(0, 10)}, not midnight UTC: HubSpot keeps a date without a time of day, so write the date alone, as YYYY-MM-DD` };
  }
  return { text: iso.slice(0, 10) };
}

/**
 * HubSpot's text for a `date` or `datetime` property in the form {@link hubspotTime} writes, so a value read compares
 * equal to the same value written. HubSpot answers in that form already (the guide above); epoch milliseconds, which
 * a public client recorded for a line item's date (airbytehq/airbyte#10576, "1653696000000"), and ISO text in another
 * zone read the same. Text that is no such value (set before the property became a date) is kept as it is.
 */
export function readTime(type: 'date' | 'datetime', text: string): string {
  const read = hubspotTime(type, text);
  return 'text' in read ? read.text : text;
}
