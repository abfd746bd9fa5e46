import { peekPath } from '../paths';
import type { FlowRecord } from '../types';

/** The fields that name a record to a person when a trigger sets no `display` (SPEC §3), in the order tried. */
export const DEFAULT_DISPLAY_FIELDS = ['name', 'title', 'subject', 'email'] as const;

/** A value as a record's name: text or a number, trimmed, or null when it names nothing. */
function nameOf(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

/**
 * What names `record` to a person: its `display` field when given and set, else the first of
 * {@link DEFAULT_DISPLAY_FIELDS} it holds; null when none does (the record is then shown by its id).
 */
export function recordDisplayName(record: FlowRecord, display?: string): string | null {
  if (display !== undefined) {
    const named = nameOf(peekPath(record, display));
    if (named !== null) return named;
  }
  for (const field of DEFAULT_DISPLAY_FIELDS) {
    const named = nameOf(peekPath(record, field));
    if (named !== null) return named;
  }
  return null;
}
