import type { ConflictPolicy } from '../../nodes/conflict/schema';
import type { FlowRecord } from '../../nodes/types';
import type { Version } from '../connectors/types';
import type { ProvenanceRule } from './types';
import { sameValue } from './values';

/** One side of an entity as the merge sees it, in the conflict node's vocabulary. */
export interface MergeSide {
  nodeId: string;
  /** The side's current record projected in; null when the side holds no record for this entity. */
  projection: FlowRecord | null;
  /** The side's record as last known in sync; null when the side was just linked (SPEC §5.4). */
  shadow: FlowRecord | null;
  version: Version | null;
}

export interface MergeInput {
  golden: FlowRecord;
  /** In the order of the triggers in the document: the tie-breaker of last-write-wins. */
  sides: MergeSide[];
  policy: ConflictPolicy;
  fieldPolicies: Record<string, ConflictPolicy>;
  /** Fields with an open manual conflict: the golden value stays and nothing is written until it is resolved. */
  heldFields: ReadonlySet<string>;
  /** The entity is new in this merge: a field only one side brings is its first sync from that side. */
  firstSync?: boolean;
}

/**
 * Which rule decided a field's golden value, in the words a person uses (the record inspector shows them): one side
 * changed it (`only change`), several changed it to the same value (`agreement`), last-write-wins picked a side
 * (`latest write`), a policy preferring a side picked it (`prefer`), or the entity was created from this side
 * (`first sync`).
 */
export type MergeRule = Exclude<ProvenanceRule, 'manual resolution'>;

/** A field the `manual` policy (or a held field) could not decide: base and every side's value. */
export interface FieldConflict {
  field: string;
  base: unknown;
  sides: Record<string, unknown>;
}

export interface MergeResult {
  golden: FlowRecord;
  conflicts: FieldConflict[];
  /** Fields whose golden value changed, with the side that won each and the rule that made it win. */
  changes: Array<{ field: string; from: unknown; to: unknown; winner: string; rule: MergeRule }>;
}

/**
 * Field-level three-way merge (SPEC §5.4): per field, the sides that changed it against their shadow; agreement
 * wins, disagreement goes to the field's policy. Pure: no I/O, no clock.
 */
export function mergeEntity(input: MergeInput): MergeResult {
  const golden: FlowRecord = { ...input.golden };
  const conflicts: FieldConflict[] = [];
  const changes: MergeResult['changes'] = [];

  const fields = new Set<string>(Object.keys(input.golden));
  for (const side of input.sides) if (side.projection) for (const field of Object.keys(side.projection)) fields.add(field);

  for (const field of fields) {
    const base = input.golden[field];
    const changers = input.sides.filter((side) => sideChanged(side, field, input.golden));
    if (input.heldFields.has(field)) {
      if (changers.length > 0) conflicts.push({ field, base, sides: sideValues(input.sides, field) });
      continue;
    }
    if (changers.length === 0) continue;
    const first = changers[0] as MergeSide;
    const firstValue = (first.projection as FlowRecord)[field];
    let winner = first;
    let rule: MergeRule = changers.length === 1 ? (input.firstSync ? 'first sync' : 'only change') : 'agreement';
    if (!changers.every((side) => sameValue((side.projection as FlowRecord)[field], firstValue))) {
      const decided = decide(input.fieldPolicies[field] ?? input.policy, changers);
      if (!decided) {
        conflicts.push({ field, base, sides: sideValues(input.sides, field) });
        continue;
      }
      ({ winner, rule } = decided);
    }
    const value = (winner.projection as FlowRecord)[field];
    if (!(field in input.golden) || !sameValue(value, base)) {
      golden[field] = value;
      changes.push({ field, from: base, to: value, winner: winner.nodeId, rule });
    }
  }
  return { golden, conflicts, changes };
}

function sideChanged(side: MergeSide, field: string, golden: FlowRecord): boolean {
  if (!side.projection || !(field in side.projection)) return false;
  const value = side.projection[field];
  if (side.shadow === null) return !(field in golden) || !sameValue(value, golden[field]);
  return !(field in side.shadow) || !sameValue(value, side.shadow[field]);
}

function sideValues(sides: MergeSide[], field: string): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const side of sides) if (side.projection && field in side.projection) values[side.nodeId] = side.projection[field];
  return values;
}

interface Decision {
  winner: MergeSide;
  rule: MergeRule;
}

/** The policy's pick among sides that changed a field to different values; null for `manual`. */
function decide(policy: ConflictPolicy, changers: MergeSide[]): Decision | null {
  if (policy === 'manual') return null;
  if (typeof policy === 'object') {
    const preferred = changers.find((side) => side.nodeId === policy.prefer);
    if (preferred) return { winner: preferred, rule: 'prefer' };
  }
  return { winner: latestWrite(changers), rule: 'latest write' };
}

/** The side with the latest `updatedAt`; ties and sides without one fall back to document order. */
function latestWrite(changers: MergeSide[]): MergeSide {
  let best = changers[0] as MergeSide;
  let bestTime = versionTime(best.version);
  for (const side of changers.slice(1)) {
    const time = versionTime(side.version);
    if (time !== null && (bestTime === null || time > bestTime)) {
      best = side;
      bestTime = time;
    }
  }
  return best;
}

/** A version as milliseconds, so ISO text on one side and epoch numbers on another compare. */
export function versionTime(version: Version | null): number | null {
  if (version === null) return null;
  if (typeof version === 'number') return version;
  const parsed = Date.parse(version);
  if (!Number.isNaN(parsed)) return parsed;
  const numeric = Number(version);
  return Number.isNaN(numeric) ? null : numeric;
}
