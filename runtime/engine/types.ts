/** The engine's public shapes: what a pass reports, logs and files. The API and the CLI speak these. */

/** SPEC §8: the summary `run --once` prints and `POST /api/flows/:id/run` returns. */
export interface PassSummary {
  created: number;
  updated: number;
  deleted: number;
  echoes: number;
  conflicts: number;
  failed: number;
}

export type RunStatus = 'running' | 'ok' | 'failed' | 'stopped';
export type RunReason = 'manual' | 'schedule' | 'webhook' | 'cli';

export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}

/** `adopted`: a record an interrupted pass created, linked by crash recovery instead of created again. */
export type RecordOutcome = 'created' | 'updated' | 'deleted' | 'echo' | 'conflict' | 'failed' | 'skipped' | 'adopted';

/** One line of a run's per-record log. */
export interface RunLogEntry {
  nodeId: string;
  recordId: string | null;
  entityId: string | null;
  outcome: RecordOutcome;
  fields: FieldChange[];
  message: string | null;
  at: string;
}

export interface RunView {
  id: string;
  flowId: string;
  startedAt: string;
  finishedAt: string | null;
  status: RunStatus;
  reason: RunReason;
  dryRun: boolean;
  summary: PassSummary | null;
  error: string | null;
  /** The cluster member that ran it (host:pid); null for a single process's runs. */
  process: string | null;
}

/**
 * What a dry run would write on one side, field by field, and the changes of this side's records it would not carry
 * (`skipped`: the record, and why in a person's words; the same line a run's log gets).
 */
export interface PlannedSide {
  nodeId: string;
  creates: Array<{ id: null; fields: FieldChange[] }>;
  updates: Array<{ id: string; fields: FieldChange[] }>;
  deletes: Array<{ id: string }>;
  skipped: Array<{ id: string | null; reason: string }>;
}

/**
 * The rule that set a field's golden value, in the words a person uses: a merge rule (merge.ts `MergeRule`), or a
 * person resolving a conflict (`manual resolution`).
 */
export type ProvenanceRule = 'only change' | 'agreement' | 'latest write' | 'prefer' | 'first sync' | 'manual resolution';

/** Where a field's golden value came from: kept per entity and field (runtime/engine/provenance.ts), shown by the record inspector. */
export interface FieldProvenance {
  /** The trigger whose value it is (for `prefer`, the side preferred); null for a value a person typed to resolve a conflict. */
  side: string | null;
  /** The pass that set it; null when a person's resolution did. */
  runId: string | null;
  /** The golden value before; absent when the field had none. */
  before?: unknown;
  after: unknown;
  rule: ProvenanceRule;
  at: string;
  /** The conflict whose resolution set it (`manual resolution`). */
  conflictId?: string;
}

export interface DryRunReport {
  summary: PassSummary;
  sides: PlannedSide[];
}

/** `key`: a create onto a side sharing keys (`keys: "shared"`) found its key held there by another record. */
export type ConflictKind = 'field' | 'match' | 'delete' | 'mass-delete' | 'breaker' | 'key';
export type ConflictStatus = 'open' | 'resolved' | 'applied';

export interface ConflictView {
  id: string;
  flowId: string;
  entityId: string | null;
  kind: ConflictKind;
  /** The field of a field conflict; the match values of a match conflict; the side where the key is held, of a key conflict. */
  field: string | null;
  base: unknown;
  /**
   * Trigger node id → that side's value (a field conflict), or what each side holds for the other kinds; for a key
   * conflict `{ key, record }` of the side holding the key and of the side the key comes from.
   */
  sides: Record<string, unknown>;
  status: ConflictStatus;
  resolution: ConflictResolution | null;
  createdAt: string;
  resolvedAt: string | null;
}

/** Pick one side's value, or give the value (SPEC §10). */
export type ConflictResolution = { side: string } | { value: unknown };

export interface FailingRecordView {
  flowId: string;
  nodeId: string;
  recordId: string;
  entityId: string | null;
  error: string;
  attempts: number;
  firstFailedAt: string;
  lastFailedAt: string;
}

/** A webhook's hint that a record changed or was deleted; the engine reads the record itself (SPEC §5.1). */
export interface ChangeHint {
  nodeId: string;
  recordId: string;
  type: 'upsert' | 'delete';
}

/** Progress of a long pass, for a terminal or a log. */
export interface PassProgress {
  nodeId: string;
  read: number;
  written: number;
}

export interface PassOptions {
  /** Relative connection paths resolve against this folder. */
  baseDir: string;
  reason?: RunReason;
  dryRun?: boolean;
  /** Process only these hinted records (a webhook burst) instead of polling every trigger. */
  hints?: ChangeHint[];
  /** Records per listing page and staged changes per merged page (by default 500; 2,000 merged in an import: pass/passState.ts). */
  pageSize?: number;
  onProgress?(progress: PassProgress): void;
  /** The cluster member running the pass, recorded on its run (runs.process). */
  process?: string;
}

export interface PassResult {
  runId: string | null;
  status: RunStatus;
  summary: PassSummary;
  error: string | null;
  /**
   * When a system's rate limit stopped the pass (status `stopped`), or a part was left alone while an earlier one's
   * hold lasts (pass/holds.ts): when to come back (ISO-8601), the latest of the parts'. The webhook worker keeps the
   * events of `heldTriggers` until then.
   */
  resumeAt?: string;
  /**
   * With `resumeAt`: the triggers of the parts a rate limit stopped or held in this pass, whose hinted records were
   * not read. The webhook worker keeps those triggers' events; the other parts' events were synced.
   */
  heldTriggers?: string[];
  /**
   * When every part of the flow waits for a rate limit: no pass syncs anything before this time (ISO-8601), the first
   * of theirs. The scheduler polls again no earlier; while any part can sync, it polls at the flow's interval.
   */
  idleUntil?: string;
  /**
   * The pass stopped only for rate limits an earlier pass already reported: parts left alone while held, or refused
   * again before the time their system gave. An alert would say nothing new.
   */
  repeatedLimit?: boolean;
  /** Present for dry runs. */
  planned?: PlannedSide[];
}

/** Thrown for caller mistakes the API maps to 4xx (unknown conflict id, bad resolution). */
export class EngineInputError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'EngineInputError';
    this.code = code;
  }
}
