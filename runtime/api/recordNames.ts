import type { FlowDocument } from '../../nodes';
import { recordDisplayName } from '../../nodes/trigger/display';
import { defaultExpressionLimits, type FlowRecord } from '../../nodes/types';
import { entityRecords, type EntityRecords } from '../db/overviewQueries';
import type { Db } from '../db/queries';
import { compileFlow, type CompiledTrigger } from '../engine/graph';
import { projectOut } from '../engine/projection';

/** Past this many records in one answer, the rest are shown by id: naming one may run the flow's expressions. */
const MAX_NAMED = 500;

/**
 * Names records to a person, as SPEC §3's trigger `display` says: a linked record is named by its entity's golden
 * record projected out to a trigger that sets `display` (that field, on that side), else by the golden record's first
 * of name, title, subject, email. The caller says which triggers the record was seen on (a run log row's trigger, a
 * conflict's sides): those are tried first, then the other triggers of their part; never a trigger of another part,
 * whose golden records are in another vocabulary.
 */
export class RecordNamer {
  private readonly triggers = new Map<string, CompiledTrigger>();
  /** Per trigger, the triggers of its connected part: the sides that share its entities' golden records. */
  private readonly partOf = new Map<string, readonly string[]>();

  constructor(
    private readonly db: Db,
    document: FlowDocument | null,
  ) {
    if (!document) return;
    try {
      for (const part of compileFlow(document).parts) {
        const sides = part.triggers.map((trigger) => trigger.nodeId);
        for (const trigger of part.triggers) {
          this.triggers.set(trigger.nodeId, trigger);
          this.partOf.set(trigger.nodeId, sides);
        }
      }
    } catch {
      // A flow that does not compile names its records by their golden record only.
    }
  }

  /** A name for each entity that has one, by entity id; `sides` lists, per entity, the triggers it was seen on. */
  async names(requests: readonly { entityId: string; sides: readonly string[] }[]): Promise<Map<string, string>> {
    const wanted = requests.slice(0, MAX_NAMED);
    const records = await entityRecords(
      this.db,
      wanted.map((request) => request.entityId),
    );
    const names = new Map<string, string>();
    for (const { entityId, sides } of wanted) {
      const found = records.get(entityId);
      if (!found || names.has(entityId)) continue;
      const record = this.namingRecord(found, sides);
      const name = (await this.throughDisplayField(record, sides)) ?? recordDisplayName(record);
      if (name !== null) names.set(entityId, name);
    }
    return names;
  }

  /**
   * The golden record, with what it lacks taken from the sides' shadows: a field waiting on a manual conflict (a
   * name spelled two ways) is absent from the golden record, and still names the record on each side.
   */
  private namingRecord(found: EntityRecords, sides: readonly string[]): FlowRecord {
    const record: FlowRecord = { ...found.golden };
    for (const side of [...this.candidates(sides), ...found.shadows.keys()]) {
      for (const [field, value] of Object.entries(found.shadows.get(side) ?? {})) {
        if (record[field] === undefined || record[field] === null) record[field] = value;
      }
    }
    return record;
  }

  /** The sides given first, then the other triggers of their part, in document order. */
  private candidates(sides: readonly string[]): string[] {
    const ordered = new Set(sides);
    for (const side of sides) for (const other of this.partOf.get(side) ?? []) ordered.add(other);
    return [...ordered];
  }

  private async throughDisplayField(golden: FlowRecord, sides: readonly string[]): Promise<string | null> {
    for (const side of this.candidates(sides)) {
      const trigger = this.triggers.get(side);
      const display = trigger?.config.display;
      if (!trigger || display === undefined) continue;
      const projected = await projectOut(trigger, golden, defaultExpressionLimits);
      if (projected.kind !== 'pass') continue;
      const name = recordDisplayName(projected.record, display);
      if (name !== null) return name;
    }
    return null;
  }
}
