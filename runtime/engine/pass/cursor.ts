/** Where each side's listing resumes (SPEC §7), and how a listing moves it on. */
import type { SourceRecord } from '../../connectors/types';
import { compareVersions, sameVersion } from '../../connectors/versions';
import type { StoredCursor } from '../../db/cursorQueries';

export { loadCursor, saveCursor } from '../../db/cursorQueries';

/** A side's cursor while a pass moves it on. */
export interface CursorState extends StoredCursor {
  /** `seen` as a set, while a pass advances the cursor. */
  seenIndex?: Set<string>;
}

/** Keeps the greatest version listed and the ids seen at exactly that version (SPEC §7). */
export function advanceCursor(cursor: CursorState, record: SourceRecord): void {
  if (record.version === null) return;
  if (cursor.since === null || compareVersions(record.version, cursor.since) > 0) {
    cursor.since = record.version;
    cursor.seen = [record.id];
    cursor.seenIndex = new Set(cursor.seen);
  } else if (sameVersion(record.version, cursor.since)) {
    // A bulk import can give a million records one version: the set keeps this linear.
    cursor.seenIndex ??= new Set(cursor.seen);
    if (!cursor.seenIndex.has(record.id)) {
      cursor.seen.push(record.id);
      cursor.seenIndex.add(record.id);
    }
  }
}

/** Whether a record listed now is one the cursor was left at: same version, and seen there already. */
export function seenAtCursor(cursor: StoredCursor, seen: ReadonlySet<string>, record: SourceRecord): boolean {
  return record.version !== null && sameVersion(record.version, cursor.since) && seen.has(record.id);
}
