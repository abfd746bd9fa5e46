/** The sync engine: `new SyncEngine(deps)` interprets flow documents (SPEC §5–§7). No HTTP here. */
export { SyncEngine, type EngineDeps, type EngineLogger } from './engine';
export { noSuchConflict } from './pass/conflicts';
export type { RetryPolicy } from './retry';
export * from './types';
