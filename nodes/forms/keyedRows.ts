import { useEffect, useState } from 'react';

/** One entry of an object a form edits as a list of rows: the name it is kept under, and its value. */
export type KeyedRow = readonly [name: string, value: unknown];

/** The object the rows stand for, or null while two rows have the same name (writing it would drop one of them). */
export function objectOfRows(rows: readonly KeyedRow[]): Record<string, unknown> | null {
  return new Set(rows.map(([name]) => name)).size === rows.length ? Object.fromEntries(rows) : null;
}

/** A row before row `index` has its name: the later of two rows with one name is the one marked. */
export const repeatsName = (rows: readonly KeyedRow[], index: number): boolean => rows.slice(0, index).some(([name]) => name === rows[index]?.[0]);

/** The message beside a row whose name another row has; `what` names the rows ("override"). */
export const repeatedNameMessage = (what: string): string => `another ${what} already names this field: the ${what}s are saved once each names its own field`;

/** The first of `field`, `field2`, `field3`… no row has, for a row just added. */
export function freeRowName(rows: readonly KeyedRow[]): string {
  let name = 'field';
  for (let n = 2; rows.some(([existing]) => existing === name); n += 1) name = `field${n}`;
  return name;
}

/**
 * An object's entries as rows a form edits in place, in their order. The object is written only while the names are
 * distinct: a name typed on the way to another ("name" on the way to "name_full") must not replace the entry that has
 * it, nor unmount the row being typed in. Until the names are distinct again, the rows are the form's own.
 */
export function useKeyedRows(object: Record<string, unknown>, write: (next: Record<string, unknown>) => void) {
  const [rows, setRows] = useState<readonly KeyedRow[]>(() => Object.entries(object));
  const written = JSON.stringify(object);
  useEffect(() => {
    // Follow the document when it changes from elsewhere (undo, import), not while the rows stand for it.
    setRows((current) => (JSON.stringify(objectOfRows(current)) === written ? current : Object.entries(JSON.parse(written) as Record<string, unknown>)));
  }, [written]);
  const update = (next: readonly KeyedRow[]) => {
    setRows(next);
    const distinct = objectOfRows(next);
    if (distinct) write(distinct);
  };
  return { rows, update };
}
