import type { ExpressionLimits } from '../../../nodes/types';
import type { StateDb } from '../../db/index';
import type { RetryPolicy } from '../retry';

/** Where the engine reports: pino's shape (`logger.child({ component: 'engine' })`). */
export interface EngineLogger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

/**
 * What the steps of a pass take from the engine. Each step names the pieces it uses (`Pick<EngineContext, 'db'>`), so
 * its signature says what it may touch.
 */
export interface EngineContext {
  readonly db: StateDb;
  readonly now: () => Date;
  readonly limits: ExpressionLimits;
  readonly retry: RetryPolicy;
  readonly logger: EngineLogger | undefined;
  /** Staged changes a pass keeps in memory before it moves them to a temporary file (EngineDeps). */
  readonly stagingMemoryLimit: number | undefined;
  /** Called after each batch of writes to a side, before the pass commits it (EngineDeps.afterSideWrites). */
  readonly afterSideWrites: ((nodeId: string) => void) | undefined;
}
