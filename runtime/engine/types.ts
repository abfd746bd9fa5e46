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
}

/** What a dry run would write on one side, field by field. */
export interface PlannedSide {
  nodeId: string;
  creates: Array<{ id: null; fields: FieldChange[] }>;
  updates: Array<{ id: string; fields: FieldChange[] }>;
  deletes: Array<{ id: string }>;
}

export interface DryRunReport {
  summary: PassSummary;
  sides: PlannedSide[];
}

export type ConflictKind = 'field' | 'match' | 'delete' | 'mass-delete' | 'breaker';
export type ConflictStatus = 'open' | 'resolved' | 'applied';

export interface ConflictView {
  id: string;
  flowId: string;
  entityId: string | null;
  kind: ConflictKind;
  field: string | null;
  base: unknown;
  /** Trigger node id → that side's value (a field conflict), or what each side holds for the other kinds. */
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
  pageSize?: number;
  onProgress?(progress: PassProgress): void;
}

export interface PassResult {
  runId: string | null;
  status: RunStatus;
  summary: PassSummary;
  error: string | null;
  /**
   * When a system's rate limit stopped the pass (status `stopped`): the time it said to come back (ISO-8601). The
   * scheduler polls again no earlier, and the webhook worker keeps the batch's events until then.
   */
  resumeAt?: string;
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
