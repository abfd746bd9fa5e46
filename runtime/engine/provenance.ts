/**
 * Where each value of a golden record came from ("why did my change disappear?"): per field, the side and the pass that
 * last set it, the value before and after, when, and the rule that decided it. Kept as one JSON text per entity
 * (`entities.provenance`), written with the golden record; a field's entry is replaced each time its golden value
 * changes, so it always describes the value the golden record holds. Pure: the caller gives the time and the run.
 *
 * Stored compactly, since a pass writes it for every record it syncs (the first sync of 50,000 records wrote 45 MB more
 * state, and took a fifth longer, with an object per field): who set values once per change (`by`: side, run, rule,
 * time), and per field which of those set it and the value before, when it had one. The value after is not stored: it
 * is the golden record's, which only changes with its field's entry. A new entity's fields are not listed either: every
 * golden field not in `fields` was set when the entity was made, by `by[rest]` (a field enters the golden record
 * only through a change, which lists it), so a first sync stores the same few bytes however many fields it brings.
 */
import type { FlowRecord } from '../../nodes/types';
import type { MergeResult } from './merge';
import type { FieldProvenance, ProvenanceRule } from './types';

/** Where each field's golden value came from, by field. */
export type Provenance = Record<string, FieldProvenance>;

type SetBy = [side: string | null, runId: string | null, rule: ProvenanceRule, at: string, conflictId?: string];

/**
 * As stored: who set values, and per field the entry of `by` that set it, then its value before if it had one; `rest`:
 * the entry that set every golden field not in `fields`.
 */
interface Stored {
  by: SetBy[];
  /** Left out when empty, as a first sync's are. */
  fields: Record<string, [by: number] | [by: number, before: unknown]>;
  rest?: number;
}

/** The stored text, read; text that is not provenance (a state file edited by hand) reads as none. */
function parse(text: string | null): Stored {
  if (text === null) return { by: [], fields: {} };
  try {
    const value = JSON.parse(text) as Partial<Stored> | null;
    const fields = value?.fields ?? {};
    if (value && Array.isArray(value.by) && typeof fields === 'object' && fields !== null && !Array.isArray(fields)) return { ...value, by: value.by, fields };
  } catch {
    // Read as none: the golden record is what counts, and provenance fills again as fields change.
  }
  return { by: [], fields: {} };
}

/** The text to store: the entries of `by` no field names any more are dropped, so it never grows past its fields. */
function stored(provenance: Stored): string {
  const kept = new Map<number, number>();
  const by: SetBy[] = [];
  const keep = (index: number): number | undefined => {
    let next = kept.get(index);
    const entry = provenance.by[index];
    if (next === undefined && entry) {
      next = by.push(entry) - 1;
      kept.set(index, next);
    }
    return next;
  };
  const fields: Stored['fields'] = {};
  for (const [field, [index, ...before]] of Object.entries(provenance.fields)) {
    const next = keep(index);
    if (next !== undefined) fields[field] = [next, ...before] as Stored['fields'][string];
  }
  const rest = provenance.rest === undefined ? undefined : keep(provenance.rest);
  return JSON.stringify(rest === undefined ? { by, fields } : { by, fields, rest });
}

/** An entity's provenance, field by field; `golden` is its golden record, whose values are the values after. */
export function readProvenance(text: string | null, golden: FlowRecord): Provenance {
  const { by, fields, rest } = parse(text);
  const provenance: Provenance = {};
  const entry = (field: string, index: unknown, before: unknown[]) => {
    const setBy = typeof index === 'number' ? by[index] : undefined;
    if (!Array.isArray(setBy)) return;
    const [side, runId, rule, at, conflictId] = setBy;
    provenance[field] = { side, runId, ...(before.length > 0 ? { before: before[0] } : {}), after: golden[field], rule, at, ...(conflictId ? { conflictId } : {}) };
  };
  for (const [field, listed] of Object.entries(fields)) if (Array.isArray(listed)) entry(field, listed[0], listed.slice(1));
  if (rest !== undefined) for (const field of Object.keys(golden)) if (!Object.hasOwn(fields, field)) entry(field, rest, []);
  return provenance;
}

/** The runs that set an entity's values (its record's history worth showing). */
export function provenanceRunIds(text: string | null): string[] {
  return [...new Set(parse(text).by.flatMap((setBy) => (Array.isArray(setBy) && typeof setBy[1] === 'string' ? [setBy[1]] : [])))];
}

/**
 * The provenance once a merge has changed fields of the golden record. `created`: the merge made the entity, so its
 * changes are all its fields (an entity stored before provenance was kept has none either, but has fields of its own).
 */
export function provenanceAfterMerge(text: string | null, changes: MergeResult['changes'], pass: { runId: string | null; at: string }, created = false): string {
  const provenance = created ? { by: [], fields: {} } : parse(text);
  // Fields set by the same side under the same rule share one entry: a first sync stores one for the whole record.
  const entries = new Map<string, number>();
  const setFields: string[][] = [];
  for (const { field, from, winner, rule } of changes) {
    const key = `${winner}\u0000${rule}`;
    let index = entries.get(key);
    if (index === undefined) {
      index = provenance.by.push([winner, pass.runId, rule, pass.at]) - 1;
      entries.set(key, index);
      setFields.push([]);
    }
    if (created) (setFields[index] as string[]).push(field);
    else provenance.fields[field] = from === undefined ? [index] : [index, from];
  }
  if (!created) return stored(provenance);
  // The entry that set most of a new entity's fields is `rest`, and its fields go unlisted.
  let rest = 0;
  setFields.forEach((fields, index) => {
    if (fields.length > (setFields[rest] as string[]).length) rest = index;
  });
  setFields.forEach((fields, index) => {
    if (index !== rest) for (const field of fields) provenance.fields[field] = [index];
  });
  return JSON.stringify(provenance.by.length === 0 ? provenance : Object.keys(provenance.fields).length === 0 ? { by: provenance.by, rest } : { ...provenance, rest });
}

/**
 * The provenance once a person resolved a field conflict: the side they kept (`side`), or a value they typed (`side`
 * null). The pass that writes it out finds the golden record already holding it, so this entry stays.
 */
export function provenanceAfterResolution(
  text: string | null,
  resolution: { field: string; before: unknown; side: string | null; conflictId: string; at: string },
): string {
  const provenance = parse(text);
  const { field, before, side, conflictId, at } = resolution;
  const index = provenance.by.push([side, null, 'manual resolution', at, conflictId]) - 1;
  provenance.fields[field] = before === undefined ? [index] : [index, before];
  return stored(provenance);
}
