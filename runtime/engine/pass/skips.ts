/**
 * Why a change is not carried where a person might expect it, in the words a run's log and a dry run give them: a
 * trigger that may not create, update or delete there, a filter that let the record go no further, the breaker, a
 * field waiting on an open conflict. A pass says so only where a change was not carried, never of records in step.
 */
import { writePermissionLabels } from '../../../nodes/trigger/schema';
import type { CompiledTrigger } from '../graph';
import type { SideWork } from './passState';

export type WriteKind = keyof typeof writePermissionLabels;

const done: Record<WriteKind, string> = { create: 'created', update: 'updated', delete: 'deleted' };

/** The trigger does not allow this kind of write (its `write` setting, "The flow may" in its form). */
export function permissionOff(kind: WriteKind, trigger: CompiledTrigger): string {
  return `not ${done[kind]} in "${trigger.name}": "${writePermissionLabels[kind]}" is off for that trigger`;
}

/** A filter on the way out to `trigger` let the golden record go no further. */
export function filteredOnTheWayOut(kind: WriteKind, trigger: CompiledTrigger, filter: string): string {
  return `not ${done[kind]} in "${trigger.name}": filtered out by "${filter}"`;
}

/** A filter on the record's way in let it go no further: nothing of it reaches the other sides. */
export function filteredOut(filter: string): string {
  return `filtered out by "${filter}": not synced to the other sides`;
}

export const QUARANTINED = 'not synced: the breaker quarantined this record (written too often); release it in the conflicts inbox';

/** A field held by an open manual conflict: a side changed it again, and it is written nowhere until the conflict is resolved. */
export function waitsOnConflict(field: string): string {
  return `"${field}" not written: it waits on an open conflict`;
}

/**
 * The side whose record a skip is told of, when another side is not written: the record that brought the change (staged
 * in this pass), else any side holding the entity's record, else the unwritten side itself.
 */
export function sourceOf(sides: Iterable<SideWork>, unwritten: SideWork): SideWork {
  let holding: SideWork | null = null;
  for (const side of sides) {
    if (side === unwritten || !side.record || side.record.deleted) continue;
    if (side.staged) return side;
    holding ??= side;
  }
  return holding ?? unwritten;
}
