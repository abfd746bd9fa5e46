/** What one pass holds while it runs: its tallies and log, and the entities and writes of the page at hand. */
import type { FlowRecord } from '../../../nodes/types';
import type { SourceRecord, WriteOp } from '../../connectors/types';
import type { EntityRow, LinkRow } from '../../db/schema';
import type { CompiledPart, CompiledTrigger } from '../graph';
import { timeOrderedUuid } from '../ids';
import type { SnapshotOutcome } from '../snapshot';
import type { FieldChange, PassSummary, PlannedSide, RecordOutcome, RunLogEntry } from '../types';
import type { CursorState } from './cursor';
import type { InterruptedPages } from './recovery';
import type { SideSurvey } from './sideKnowledge';
import { entitySideKey } from '../../util/keys';

/** Staged changes a pass merges per page, unless its options say otherwise. */
export const DEFAULT_PAGE_SIZE = 500;

/**
 * Staged changes a pass merges and commits per page when it holds more than {@link BULK_CHANGES} of them (an import),
 * unless its options say otherwise. A commit writes every state page its rows touched to the WAL, and a new entity's
 * match key lands on a random leaf of its index: importing 100,000 records in pages of 500 dirtied 0.86 leaves per
 * record and commit, in pages of 2,000 0.55, with a quarter of the commits (bench/engine.notes.md, fifth round). A
 * page's entities and journal row stay a few megabytes.
 */
export const BULK_PAGE_SIZE = 2000;

/** Staged changes beyond which a pass merges in pages of {@link BULK_PAGE_SIZE}: more than a poll or a webhook burst brings. */
export const BULK_CHANGES = 10_000;

/** How often one pass re-reads and re-merges an entity whose side changed between read and write. */
export const MAX_REMERGES = 3;

/** A pass stopped on purpose (the mass-delete guard): reported as `stopped`, not `failed`. */
export class PassStopped extends Error {}

/** One side of one entity during a pass. */
export interface SideWork {
  trigger: CompiledTrigger;
  link: LinkRow | null;
  /** Linked in this pass: it has no shadow yet (SPEC §5.4). */
  newlyLinked: boolean;
  record: SourceRecord | null;
  /** Whether `record` is known; false until the side is read. */
  read: boolean;
  /** The record came from this pass's listing or hints, not from reading the side for the merge. */
  staged: boolean;
  projection: FlowRecord | null;
  problem: string | null;
  /** Why a filter on its way in let the staged record go no further (skips.ts `filteredOut`); null when it passed. */
  filteredOut: string | null;
  shadow: FlowRecord | null;
}

/** One entity during a pass: its row (null until first saved), golden record and sides. */
export interface EntityWork {
  id: string;
  row: EntityRow | null;
  golden: FlowRecord;
  /** Where each golden value came from, as stored (provenance.ts); parsed only when a merge changes a field. */
  provenance: string | null;
  matchKey: string | null;
  sides: Map<string, SideWork>;
  remerges: number;
}

/** A write the pass means to make to one side of one entity. */
export interface PlannedWrite {
  entity: EntityWork;
  side: SideWork;
  op: WriteOp;
  /** The side's fields after the write, for its shadow and the journal hash. */
  after: FlowRecord;
  changes: FieldChange[];
}

/** An entity of the part with every side unlinked and unread: a new one, or one whose row is given. */
export function newEntityWork(part: CompiledPart, key: string | null, row: EntityRow | null = null): EntityWork {
  const sides = new Map<string, SideWork>();
  for (const trigger of part.triggers) {
    sides.set(trigger.nodeId, { trigger, link: null, newlyLinked: false, record: null, read: false, staged: false, projection: null, problem: null, filteredOut: null, shadow: null });
  }
  return {
    id: row?.id ?? timeOrderedUuid(),
    row,
    golden: row ? (JSON.parse(row.golden) as FlowRecord) : {},
    provenance: row?.provenance ?? null,
    matchKey: key,
    sides,
    remerges: 0,
  };
}

/**
 * The side that gives its key to a create on `side` (`keys: "shared"`, SPEC §3): the first other side, in document
 * order, that shares keys too and holds a live record of the entity; null when the create takes the side's own key.
 */
export function keyGiver(item: EntityWork, side: SideWork): SideWork | null {
  if (side.trigger.config.keys !== 'shared') return null;
  for (const other of item.sides.values()) {
    if (other === side || other.trigger.config.keys !== 'shared') continue;
    if (other.record && !other.record.deleted && !other.link?.deleted) return other;
  }
  return null;
}

/** How a pass finds the open key conflict of an entity on a side. */
export function keyConflictKey(entityId: string, nodeId: string): string {
  return entitySideKey(entityId, nodeId);
}

/** Everything one pass accumulates before it is committed. */
export class PassState {
  readonly summary: PassSummary = { created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 };
  readonly log: RunLogEntry[] = [];
  readonly planned = new Map<string, PlannedSide>();
  readonly failedRecords = new Set<string>();
  readonly revisit = new Set<string>();
  /** Per side: what this pass learns about links and unlinked records, for the next pass's delete scan. */
  readonly surveys = new Map<string, SideSurvey>();
  /**
   * Whether the flow may have failing records: some were listed when the pass began, or the pass failed one. Only a
   * pass files them, so until then a successful write has nothing to clear.
   */
  mayHaveFailing = false;
  /** Another pass of the same flow ran at the same time in this engine: what either learned is unreliable. */
  overlapped = false;
  /**
   * Live links gained (or lost) per side of the part being synced, counted from its survey on while the part is small
   * (sideKnowledge.ts); null when they are not. Each part starts without one (beginPart): a map left by an earlier
   * part would take counts its own survey already holds.
   */
  linkDelta: Map<string, number> | null = null;
  /** Mass-delete approvals (conflict ids) the part being synced acted on, each letting one side's deletes through. */
  readonly approvalsInPart = new Set<string>();
  /** Approvals used by parts that finished: done with, whatever becomes of the rest of the pass. */
  readonly approvalsUsed = new Set<string>();
  /** Cursors of the parts whose changes were all processed, committed with the run's end. */
  readonly cursors = new Map<string, CursorState>();
  /** Sides whose changes this pass listed since their cursor: a record a dead pass wrote there is among them. */
  readonly listed = new Set<string>();
  /**
   * Entity and side (entitySideKey) of creates a dead pass may have made that this pass cannot tell (it did not
   * list the side): nothing is created there until a pass that lists the side settles it.
   */
  readonly unsettledCreates = new Set<string>();
  /** Sides listed whole (snapshot.ts): their links keep a hash of the shadow, which their listing is compared by. */
  readonly listedWhole = new Set<string>();
  /** What this pass's whole listings found, by side (snapshot.ts). */
  readonly wholeListings = new Map<string, SnapshotOutcome>();
  /**
   * What interrupted passes left in the journal, read as each part begins (recovery.ts); null when nothing. Entries
   * are trimmed when the part ends, so a pass that dies first leaves them for the next to settle.
   */
  interrupted: InterruptedPages | null = null;
  /**
   * Open key conflicts of the flow (a create's shared key held by another record), by {@link keyConflictKey}: their
   * entities are merged again on every pass, and the conflict closes once the record is created.
   */
  readonly keyConflicts = new Map<string, string>();
  constructor(
    readonly flowId: string,
    readonly runId: string | null,
    readonly dryRun: boolean,
    readonly now: () => Date,
  ) {}

  /** A part of the flow begins: what is counted or used per part starts afresh. */
  beginPart(): void {
    this.linkDelta = null;
    this.approvalsInPart.clear();
  }

  /** The part being synced finished: the approvals it acted on are used up. */
  finishPart(): void {
    for (const id of this.approvalsInPart) this.approvalsUsed.add(id);
  }

  record(nodeId: string, recordId: string | null, entityId: string | null, outcome: RecordOutcome, fields: FieldChange[] = [], message: string | null = null): void {
    this.log.push({ nodeId, recordId, entityId, outcome, fields, message, at: this.now().toISOString() });
  }

  /**
   * A change of a record on `nodeId` this pass does not carry, and why in a person's words (skips.ts): a `skipped` line
   * of the run's log, and in a dry run the same reason in its plan.
   */
  skip(nodeId: string, recordId: string | null, entityId: string | null, reason: string, fields: FieldChange[] = []): void {
    this.record(nodeId, recordId, entityId, 'skipped', fields, reason);
    if (this.dryRun) this.plannedFor(nodeId).skipped.push({ id: recordId, reason });
  }

  plannedFor(nodeId: string): PlannedSide {
    let side = this.planned.get(nodeId);
    if (!side) {
      side = { nodeId, creates: [], updates: [], deletes: [], skipped: [] };
      this.planned.set(nodeId, side);
    }
    return side;
  }
}

/** Passes running now, per flow: passes that overlap cannot tell whose link changes they counted. */
export class RunningPasses {
  private readonly byFlow = new Map<string, Set<PassState>>();

  /** Registers a pass: it and every pass of its flow already running overlap. */
  begin(pass: PassState): void {
    const running = this.byFlow.get(pass.flowId) ?? new Set<PassState>();
    this.byFlow.set(pass.flowId, running);
    for (const other of running) other.overlapped = true;
    pass.overlapped = running.size > 0;
    running.add(pass);
  }

  end(pass: PassState): void {
    const running = this.byFlow.get(pass.flowId);
    if (!running) return;
    running.delete(pass);
    if (running.size === 0) this.byFlow.delete(pass.flowId);
  }

  /** The flow's links changed outside its passes: what the ones running now are learning no longer holds. */
  overlapAll(flowId: string): void {
    for (const pass of this.byFlow.get(flowId) ?? []) pass.overlapped = true;
  }
}
