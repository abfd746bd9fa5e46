import { defaultExpressionLimits, type ExpressionLimits } from '../../nodes/types';
import type { FlowDocument } from '../../nodes/index';
import type { ConnectorAccess } from '../connectors/access';
import type { ConnectorType } from '../connectors/types';
import type { ResolvedAuth } from '../credentials/types';
import { listConflicts } from '../db/conflictQueries';
import { listFailing, resetFailingAttempts } from '../db/failingQueries';
import type { StateDb } from '../db/index';
import { getRun, listRuns } from '../db/runQueries';
import { resolveConflict } from './pass/conflicts';
import { ConnectorPool } from './pass/connectorPool';
import type { EngineContext, EngineLogger } from './pass/context';
import { forgetFlow, forgetKnowledge } from './pass/forget';
import { RunningPasses } from './pass/passState';
import { runPass } from './pass/runPass';
import type { RetryPolicy } from './retry';
import type { ConflictResolution, ConflictStatus, ConflictView, FailingRecordView, PassOptions, PassResult, RunLogEntry, RunView } from './types';

export type { EngineLogger } from './pass/context';

/** What a SyncEngine is built from: the state, the connector registry, credentials, and settings tests change. */
export interface EngineDeps {
  db: StateDb;
  connectors: Record<string, ConnectorType>;
  resolveCredential?(name: string): Promise<string>;
  /** A stored credential by its kind (ConnectorContext.resolveAuth); connectors without it read `resolveCredential`. */
  resolveAuth?(name: string): Promise<ResolvedAuth>;
  /** What connectors may reach (the operator's settings); without one, files in the pass's folder and no private host. */
  access?: ConnectorAccess;
  logger?: EngineLogger;
  now?(): Date;
  limits?: ExpressionLimits;
  retry?: RetryPolicy;
  /** Staged changes a pass keeps in memory before it moves them to a temporary file (tests set 0 to use the file). */
  stagingMemoryLimit?: number;
  /** Rows deleted per statement when a flow is forgotten (tests set a small one). */
  forgetChunk?: number;
  /**
   * Called after each batch of writes to a side, before the pass commits what it wrote: where crash tests stop the
   * process (`syncline run` kills itself there when SYNCLINE_TEST_KILL_AFTER_WRITES is set).
   */
  afterSideWrites?(nodeId: string): void;
}

/** Rows deleted per statement when a flow's state is forgotten. */
const FORGET_CHUNK = 5000;

/**
 * Interprets flow documents: each pass reads the changes of every trigger, links records into entities, merges
 * them field by field into golden records and writes the result out to every side (SPEC §5–§7). The steps of a pass
 * live in `pass/`, one module for each thing it decides; this class holds what outlives a pass: the connectors kept
 * between passes and the passes running now.
 */
export class SyncEngine {
  private readonly ctx: EngineContext;
  private readonly pool: ConnectorPool;
  private readonly running = new RunningPasses();

  constructor(private readonly deps: EngineDeps) {
    this.ctx = {
      db: deps.db,
      now: deps.now ?? (() => new Date()),
      limits: deps.limits ?? defaultExpressionLimits,
      retry: deps.retry ?? { attempts: 4, baseMs: 200, maxWaitMs: 30_000 },
      logger: deps.logger,
      stagingMemoryLimit: deps.stagingMemoryLimit,
      afterSideWrites: deps.afterSideWrites,
    };
    this.pool = new ConnectorPool(deps);
  }

  /** One pass over every trigger of the flow (or over the hinted records only); a dry run writes nothing anywhere. */
  runPass(flow: FlowDocument, options: PassOptions): Promise<PassResult> {
    return runPass(this.ctx, this.pool, this.running, flow, options);
  }

  /** Closes the connectors kept between passes; passes started afterwards close theirs when they end. */
  close(): Promise<void> {
    return this.pool.close();
  }

  /**
   * Resolves an open conflict: a field takes the chosen side's value or the given value, and the next pass writes
   * it out. A delete conflict takes `{side}`: the deleting side deletes everywhere, any other side restores.
   */
  resolveConflict(conflictId: string, resolution: ConflictResolution): Promise<ConflictView> {
    return resolveConflict(this.ctx, (flowId) => forgetKnowledge(this.ctx.db, this.running, flowId), conflictId, resolution);
  }

  /**
   * Starts the failing records' count afresh. Every pass retries them anyway (SPEC §7); this is for a person who
   * fixed the cause and wants the list to show only what fails from now on.
   */
  retryFailing(flowId: string): Promise<void> {
    return resetFailingAttempts(this.ctx.db, flowId);
  }

  /** Drops all of a flow's state: links, golden records, cursors, journal, runs, conflicts (pass/forget.ts). */
  forgetFlow(flowId: string): Promise<void> {
    return forgetFlow(this.ctx.db, this.running, flowId, this.deps.forgetChunk ?? FORGET_CHUNK);
  }

  /** @deprecated the API moves to runtime/db/runQueries.ts `listRuns` */
  listRuns(flowId: string, limit = 50): Promise<RunView[]> {
    return listRuns(this.ctx.db, flowId, limit);
  }

  /** @deprecated the API moves to runtime/db/runQueries.ts `getRun` */
  getRun(runId: string): Promise<{ run: RunView; log: RunLogEntry[] } | null> {
    return getRun(this.ctx.db, runId);
  }

  /** @deprecated the API moves to runtime/db/conflictQueries.ts `listConflicts` */
  listConflicts(filter: { flowId?: string; status?: ConflictStatus }): Promise<ConflictView[]> {
    return listConflicts(this.ctx.db, filter);
  }

  /** @deprecated the API moves to runtime/db/failingQueries.ts `listFailing` */
  listFailing(flowId: string): Promise<FailingRecordView[]> {
    return listFailing(this.ctx.db, flowId);
  }
}
