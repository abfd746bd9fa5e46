import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { FlowDocument } from '../../nodes/index';
import type { ConflictConfig } from '../../nodes/conflict/schema';
import { defaultExpressionLimits, type ExpressionLimits, type FlowRecord } from '../../nodes/types';
import { folderAccess, type ConnectorAccess } from '../connectors/access';
import { RateLimitedError, type Connector, type ConnectorType, type DeleteMeaning, type SourceRecord, type Version, type WriteOp, type WriteResult } from '../connectors/types';
import { compareVersions, sameVersion } from '../connectors/versions';
import type { ResolvedAuth } from '../credentials/types';
import { deleteInChunks } from '../db/bulk';
import type { StateDb } from '../db/index';
import {
  chunked,
  clearFailing,
  completeJournal,
  countLiveLinks,
  deleteJournalTags,
  deleteLinks,
  deleteOlderJournal,
  entitiesById,
  entitiesByMatchKey,
  insertMany,
  journalByRecord,
  journalByTags,
  linksByEntity,
  linksByRecord,
  liveLinkedIds,
  pendingCreates,
  markLinksDeleted,
  saveEntityRows,
  upsertLinks,
  type Db,
} from '../db/queries';
import type { ConflictRow, EntityRow, JournalRow, LinkRow } from '../db/schema';
import { recordTriggerPass } from '../db/statusQueries';
import { compileFlow, type CompiledPart, type CompiledTrigger } from './graph';
import { timeOrderedUuid, writeId } from './ids';
import { mergeEntity, type FieldConflict } from './merge';
import { projectIn, projectOut, type Projection } from './projection';
import { matchInterruptedCreates, type InterruptedCreate, type OrphanCandidate } from './recovery';
import { withRetries, type RetryPolicy } from './retry';
import { hardDeletesFrom, hintsMayCreate, listingHeldAll, listsWhole, shadowHash, stageSnapshot, type SnapshotOutcome } from './snapshot';
import { ChangeStaging, type StagedChange, type StagedProjection } from './staging';
import {
  EngineInputError,
  type ChangeHint,
  type ConflictResolution,
  type ConflictStatus,
  type ConflictView,
  type FailingRecordView,
  type FieldChange,
  type PassOptions,
  type PassResult,
  type PassSummary,
  type PlannedSide,
  type RecordOutcome,
  type RunLogEntry,
  type RunView,
} from './types';
import { diffLeaves, isPlainObject, matchKey, mergeLeaves, sameValue, sameWrittenContent, writtenContentHash } from './values';

export interface EngineLogger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

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

const DEFAULT_PAGE_SIZE = 500;
/** Rows deleted per statement when a flow's state is forgotten. */
const FORGET_CHUNK = 5000;

/** How long a connector kept between passes stays open unused. */
const CONNECTOR_IDLE_MS = 30_000;

/** Which kept connectors a trigger may take: the same connector, connection and collection settings, same folder. */
function connectionKey(trigger: CompiledTrigger, baseDir: string): string {
  return JSON.stringify([baseDir, trigger.config]);
}
/** How often one pass re-reads and re-merges an entity whose side changed between read and write. */
const MAX_REMERGES = 3;

/** A pass stopped on purpose (the mass-delete guard): reported as `stopped`, not `failed`. */
class PassStopped extends Error {}

/** One side of one entity during a pass. */
interface SideWork {
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
  shadow: FlowRecord | null;
}

interface EntityWork {
  id: string;
  row: EntityRow | null;
  golden: FlowRecord;
  matchKey: string | null;
  sides: Map<string, SideWork>;
  remerges: number;
}

interface PlannedWrite {
  entity: EntityWork;
  side: SideWork;
  op: WriteOp;
  /** The side's fields after the write, for its shadow and the journal hash. */
  after: FlowRecord;
  changes: FieldChange[];
}

/** Everything one pass accumulates before it is committed. */
class PassState {
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
  /** Live links gained (or lost) per side in this pass, while they are counted; null when they are not. */
  linkDelta: Map<string, number> | null = null;
  /** Cursors of the parts whose changes were all processed, committed with the run's end. */
  readonly cursors = new Map<string, CursorState>();
  /** Sides whose changes this pass listed since their cursor: a record a dead pass wrote there is among them. */
  readonly listed = new Set<string>();
  /**
   * Entity and side (`entity\u0000node`) of creates a dead pass may have made that this pass cannot tell (it did not
   * list the side): nothing is created there until a pass that lists the side settles it.
   */
  readonly unsettledCreates = new Set<string>();
  /** Sides listed whole (snapshot.ts): their links keep a hash of the shadow, which their listing is compared by. */
  readonly listedWhole = new Set<string>();
  /** What this pass's whole listings found, by side (snapshot.ts). */
  readonly wholeListings = new Map<string, SnapshotOutcome>();
  /**
   * Journal tags of interrupted creates that made nothing, whose entities this pass merges again: dropped once that
   * merge is done, so a pass that dies first leaves them for the next to settle instead of stranding the entity.
   */
  readonly forgottenCreates: string[] = [];
  constructor(
    readonly flowId: string,
    readonly runId: string | null,
    readonly dryRun: boolean,
    readonly now: () => Date,
  ) {}

  record(nodeId: string, recordId: string | null, entityId: string | null, outcome: RecordOutcome, fields: FieldChange[] = [], message: string | null = null): void {
    this.log.push({ nodeId, recordId, entityId, outcome, fields, message, at: this.now().toISOString() });
  }

  plannedFor(nodeId: string): PlannedSide {
    let side = this.planned.get(nodeId);
    if (!side) {
      side = { nodeId, creates: [], updates: [], deletes: [] };
      this.planned.set(nodeId, side);
    }
    return side;
  }
}

/**
 * Seeing hard deletes takes a full scan of a side (SPEC §7), which on a large side costs more than the changes a pass
 * syncs. The scan can be skipped when counts prove nothing linked is gone: if every record present on a side is
 * linked, except the ones this pass lists, then `present = live links − gone + listed unlinked`, so `gone` is zero
 * exactly when the side holds `live links + listed unlinked` records. "Every present record is linked" is what a pass
 * learns (a scan that finds no stray record, or a previous such pass, and every record it listed ending up linked) and
 * hands to the next pass, along with the exact number of live links. It is kept in the state (`flow_knowledge`), so
 * the next pass may run in another process; a pass of the flow that overlapped it or did not finish cleanly, a changed
 * flow or a resolved conflict voids it, and the next pass scans.
 */
interface SideKnowledge {
  liveLinks: number | null;
  /** Every record present on the side is linked (live), as far as the last pass could tell. */
  clean: boolean;
}

interface FlowKnowledge {
  runId: string;
  startedAt: string;
  fingerprint: string;
  sides: Map<string, SideKnowledge>;
}

/** What one pass finds out about one side, to decide on its delete scan and to hand on as {@link SideKnowledge}. */
interface SideSurvey {
  /** Live links at the start of the pass, when known. */
  liveLinks: number | null;
  /** Records this pass listed that were present and not linked (live) when listed; null when too many to track. */
  unlinkedListed: string[] | null;
  /** Whether every present record not listed by this pass was linked when the pass began. */
  cleanBefore: boolean;
}

/** Passes that list more records than this learn nothing for the next one (tracking them would cost more than a scan). */
const SURVEY_LIMIT = 20_000;

/**
 * Interprets flow documents: each pass reads the changes of every trigger, links records into entities, merges
 * them field by field into golden records and writes the result out to every side (SPEC §5–§7).
 */
export class SyncEngine {
  private readonly db: StateDb;
  private readonly now: () => Date;
  private readonly limits: ExpressionLimits;
  private readonly retry: RetryPolicy;
  /**
   * Connectors kept open between passes, by connection (see Connector.stillCurrent): opening a SQLite file, reading
   * its tables and preparing statements cost a webhook-sized pass about a quarter of its time.
   */
  private readonly idleConnectors = new Map<string, Array<{ connector: Connector; timer: NodeJS.Timeout }>>();
  private closed = false;
  /** Passes running now, per flow: passes that overlap cannot tell whose link changes they counted. */
  private readonly running = new Map<string, Set<PassState>>();

  constructor(private readonly deps: EngineDeps) {
    this.db = deps.db;
    this.now = deps.now ?? (() => new Date());
    this.limits = deps.limits ?? defaultExpressionLimits;
    this.retry = deps.retry ?? { attempts: 4, baseMs: 200, maxWaitMs: 30_000 };
  }

  /** One pass over every trigger of the flow (or over the hinted records only); a dry run writes nothing anywhere. */
  async runPass(flow: FlowDocument, options: PassOptions): Promise<PassResult> {
    const dryRun = options.dryRun ?? false;
    const runId = dryRun ? null : randomUUID();
    const pass = new PassState(flow.id, runId, dryRun, this.now);
    const startedAt = this.now().toISOString();
    const fingerprint = createHash('sha256').update(JSON.stringify([flow.nodes, flow.edges])).digest('base64url');
    const running = this.running.get(flow.id) ?? new Set<PassState>();
    this.running.set(flow.id, running);
    for (const other of running) other.overlapped = true;
    pass.overlapped = running.size > 0;
    running.add(pass);
    const known = pass.overlapped ? null : await this.validKnowledge(flow.id, fingerprint, runId);
    if (runId) {
      await this.db
        .insertInto('runs')
        .values({ id: runId, flow_id: flow.id, started_at: startedAt, finished_at: null, status: 'running', reason: options.reason ?? 'manual', dry_run: 0, summary: null, error: null })
        .execute();
    }
    const connectors = new Map<string, Connector>();
    const opened = new Map<Connector, string>();
    let status: PassResult['status'] = 'ok';
    let error: string | null = null;
    let resumeAt: string | null = null;
    const learned = new Map<string, SideKnowledge>();
    try {
      const compiled = compileFlow(flow);
      for (const part of compiled.parts) {
        for (const trigger of part.triggers) {
          const key = connectionKey(trigger, options.baseDir);
          const connector = await this.open(trigger, options.baseDir, key);
          connectors.set(trigger.nodeId, connector);
          opened.set(connector, key);
          if (listsWhole(connector.capabilities)) pass.listedWhole.add(trigger.nodeId);
        }
        for (const [nodeId, side] of await this.syncPart(part, connectors, pass, options, known)) learned.set(nodeId, side);
      }
    } catch (caught) {
      // A rate limit is the system asking to come back later, not a failure: the pass stops with its cursors unmoved.
      const limited = causeOf(caught, RateLimitedError);
      status = caught instanceof PassStopped || limited ? 'stopped' : 'failed';
      error = caught instanceof Error ? caught.message : String(caught);
      resumeAt = limited?.resumeAt.toISOString() ?? null;
      this.deps.logger?.[status === 'stopped' ? 'warn' : 'error']({ flowId: flow.id, runId, err: error }, `pass ${status}`);
    } finally {
      // After a failure a connector may be in any state: only one that served a pass that ran is kept for the next.
      await Promise.allSettled([...opened].map(([connector, key]) => (status === 'ok' ? this.release(connector, key) : connector.close())));
    }
    const learnedNow = runId && status === 'ok' && !pass.overlapped ? { runId, startedAt, fingerprint, sides: learned } : null;
    if (runId) {
      // One transaction ends the run: each commit costs the next pass of the flow, which waits for this one.
      await this.db.transaction().execute(async (tx) => {
        const finishedAt = this.now().toISOString();
        for (const [nodeId, cursor] of pass.cursors) await saveCursor(tx, pass.flowId, nodeId, cursor, this.now());
        if (status === 'ok') {
          // Every resolution this pass found has been written out.
          await tx
            .updateTable('conflicts')
            .set({ status: 'applied' })
            .where('flow_id', '=', pass.flowId)
            .where('status', '=', 'resolved')
            .where('kind', 'in', ['field', 'mass-delete', 'breaker', 'delete'])
            .execute();
        }
        if (status !== 'failed') await recordTriggerPass(tx, flow.id, flow.nodes.filter((node) => node.type === 'trigger').map((node) => node.id), finishedAt);
        await flushLog(tx, runId, pass.log);
        await tx
          .updateTable('runs')
          .set({ finished_at: finishedAt, status, summary: JSON.stringify(pass.summary), error })
          .where('id', '=', runId)
          .execute();
        // Kept in the state, so the next pass can use it whichever process runs it (every `run --once` is a new one).
        if (learnedNow) {
          const row = { run_id: runId, started_at: startedAt, fingerprint, sides: JSON.stringify(Object.fromEntries(learned)) };
          await tx
            .insertInto('flow_knowledge')
            .values({ flow_id: flow.id, ...row })
            .onConflict((oc) => oc.column('flow_id').doUpdateSet(row))
            .execute();
        } else {
          await tx.deleteFrom('flow_knowledge').where('flow_id', '=', flow.id).execute();
        }
      });
    }
    running.delete(pass);
    if (running.size === 0) this.running.delete(flow.id);
    // A pass that began while this one was finishing may count links differently: nothing learned is kept.
    if (learnedNow && pass.overlapped) await this.forgetKnowledge(flow.id);
    this.deps.logger?.info({ flowId: flow.id, runId, status, ...pass.summary }, 'pass finished');
    return { runId, status, summary: pass.summary, error, ...(resumeAt ? { resumeAt } : {}), ...(dryRun ? { planned: [...pass.planned.values()] } : {}) };
  }

  /** Links of the flow change outside a pass: what passes learned (or are learning) about them no longer holds. */
  private async forgetKnowledge(flowId: string): Promise<void> {
    for (const pass of this.running.get(flowId) ?? []) pass.overlapped = true;
    await this.db.deleteFrom('flow_knowledge').where('flow_id', '=', flowId).execute();
  }

  /** What the previous pass of this flow learned (in this process or another), if nothing changed since. */
  private async validKnowledge(flowId: string, fingerprint: string, runId: string | null): Promise<Map<string, SideKnowledge> | null> {
    const known = await this.storedKnowledge(flowId);
    if (!known || known.fingerprint !== fingerprint) return null;
    // Any other pass of the flow since (another process on the same state) may have linked or unlinked records.
    // "Since" goes by the order the runs were recorded in (rowid), not by their start times: passes a millisecond
    // long share start times, and one that ended before the knowing pass began counted as one after it.
    const knowing = await this.db.selectFrom('runs').select(sql<number>`rowid`.as('seq')).where('id', '=', known.runId).executeTakeFirst();
    if (!knowing) return null;
    const others = await this.db
      .selectFrom('runs')
      .select(['id'])
      .where(sql`rowid`, '>', knowing.seq)
      .where('flow_id', '=', flowId)
      .where('id', '!=', runId ?? '')
      .limit(1)
      .execute();
    return others.length === 0 ? known.sides : null;
  }

  private async storedKnowledge(flowId: string): Promise<FlowKnowledge | null> {
    const row = await this.db.selectFrom('flow_knowledge').selectAll().where('flow_id', '=', flowId).executeTakeFirst();
    if (!row) return null;
    const sides = new Map(Object.entries(JSON.parse(row.sides) as Record<string, SideKnowledge>));
    return { runId: row.run_id, startedAt: row.started_at, fingerprint: row.fingerprint, sides };
  }

  /** A connector kept from an earlier pass when it is still current, else a new one. */
  private async open(trigger: CompiledTrigger, baseDir: string, key: string): Promise<Connector> {
    const kept = this.idleConnectors.get(key)?.pop();
    if (kept) {
      clearTimeout(kept.timer);
      if (await kept.connector.stillCurrent?.().catch(() => false)) return kept.connector;
      await kept.connector.close().catch(() => undefined);
    }
    const type = this.deps.connectors[trigger.config.connector];
    if (!type) {
      throw new Error(`trigger "${trigger.nodeId}": unknown connector "${trigger.config.connector}"; known: ${Object.keys(this.deps.connectors).join(', ')}`);
    }
    try {
      return await type.open({
        config: trigger.config,
        baseDir,
        resolveCredential: this.deps.resolveCredential ?? (async (name) => Promise.reject(new Error(`no credential store: cannot resolve "${name}"`))),
        ...(this.deps.resolveAuth ? { resolveAuth: this.deps.resolveAuth } : {}),
        access: this.deps.access ?? folderAccess(baseDir),
      });
    } catch (caught) {
      throw new Error(`trigger "${trigger.nodeId}": ${caught instanceof Error ? caught.message : String(caught)}`, { cause: caught });
    }
  }

  /** Keeps a connector that can serve another pass for a while, or closes it. */
  private async release(connector: Connector, key: string): Promise<void> {
    if (!connector.stillCurrent || this.closed) return connector.close();
    const idle = this.idleConnectors.get(key) ?? [];
    const entry = {
      connector,
      timer: setTimeout(() => {
        const at = idle.indexOf(entry);
        if (at >= 0) idle.splice(at, 1);
        if (idle.length === 0 && this.idleConnectors.get(key) === idle) this.idleConnectors.delete(key);
        void connector.close().catch(() => undefined);
      }, CONNECTOR_IDLE_MS),
    };
    // An idle connector must not keep the process alive.
    entry.timer.unref();
    idle.push(entry);
    this.idleConnectors.set(key, idle);
  }

  /** Closes the connectors kept between passes; passes started afterwards close theirs when they end. */
  async close(): Promise<void> {
    this.closed = true;
    const idle = [...this.idleConnectors.values()].flat();
    this.idleConnectors.clear();
    for (const entry of idle) clearTimeout(entry.timer);
    await Promise.allSettled(idle.map((entry) => entry.connector.close()));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // One connected part: stage every change, then merge entity by entity in pages.

  private async syncPart(
    part: CompiledPart,
    connectors: Map<string, Connector>,
    pass: PassState,
    options: PassOptions,
    known: Map<string, SideKnowledge> | null,
  ): Promise<Map<string, SideKnowledge>> {
    const staging = new ChangeStaging(this.deps.stagingMemoryLimit);
    try {
      const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
      // A hint pass still lists every side that can list incrementally (cheap with an index): creating a record
      // on a side whose unlisted changes might hold the same entity would make a duplicate.
      const cursors = await this.stageChanges(part, connectors, staging, pass, pageSize, options);
      if (options.hints) await this.stageHints(part, connectors, staging, pass, options.hints);
      await this.stageRetries(part, connectors, staging, pass);
      if (options.hints) await this.listWholeBeforeCreating(part, connectors, staging, pass, pageSize, options);
      await this.adoptInterruptedCreates(part, connectors, staging, pass);
      await this.surveySides(part, connectors, staging, pass, known, !options.hints);
      if (!options.hints) await this.stageHardDeletes(part, connectors, staging, pass, pageSize);
      await this.guardMassDeletes(part, staging, pass);

      const held = await this.heldFields(pass.flowId);
      let afterSeq = 0;
      for (;;) {
        const page = staging.page(afterSeq, pageSize);
        if (page.length === 0) break;
        afterSeq = (page[page.length - 1] as StagedChange).seq;
        const work = await this.buildWork(part, page, staging, pass);
        await this.process(part, connectors, work, held, pass);
        options.onProgress?.({ nodeId: part.conflictNodeId, read: afterSeq, written: pass.summary.created + pass.summary.updated + pass.summary.deleted });
      }
      // Entities to look at again although no side reported a change: resolved conflicts, failing writes, lost races.
      for (let round = 0; round <= MAX_REMERGES && pass.revisit.size > 0; round++) {
        const ids = [...pass.revisit];
        pass.revisit.clear();
        for (const chunk of chunked(ids, pageSize)) {
          const work = await this.loadEntities(part, chunk);
          for (const item of work) item.remerges = round + 1;
          await this.process(part, connectors, work, held, pass);
        }
      }
      await deleteJournalTags(this.db, pass.forgottenCreates.splice(0));
      // Saved when the run ends, in its last transaction: a crash before then lists these changes again, which finds
      // them synced (their links were committed page by page) and writes nothing.
      for (const [nodeId, cursor] of cursors) pass.cursors.set(nodeId, cursor);
      return await this.learnedAbout(part, pass);
    } finally {
      staging.close();
    }
  }

  /**
   * Before the delete scan: each side's live links (from the previous pass when it knew them), and the records this
   * pass listed that are not linked yet. Link changes are counted from here on while the pass is small enough.
   */
  private async surveySides(
    part: CompiledPart,
    connectors: Map<string, Connector>,
    staging: ChangeStaging,
    pass: PassState,
    known: Map<string, SideKnowledge> | null,
    scanning: boolean,
  ): Promise<void> {
    let small = true;
    for (const trigger of part.triggers) {
      const connector = connectors.get(trigger.nodeId) as Connector;
      // Only sides whose hard deletes are found by a scan have one to skip.
      if (hardDeletesFrom(connector.capabilities, trigger.config) !== 'scan') continue;
      const before = known?.get(trigger.nodeId);
      let liveLinks = before?.liveLinks ?? null;
      if (liveLinks === null && scanning) liveLinks = await countLiveLinks(this.db, pass.flowId, trigger.nodeId);
      const present = staging.presentIdsOf(trigger.nodeId, SURVEY_LIMIT + 1);
      let unlinkedListed: string[] | null = null;
      if (present.length <= SURVEY_LIMIT) {
        const live = await liveLinkedIds(this.db, pass.flowId, trigger.nodeId, present);
        unlinkedListed = present.filter((id) => !live.has(id));
      } else {
        small = false;
      }
      pass.surveys.set(trigger.nodeId, { liveLinks, unlinkedListed, cleanBefore: before?.clean ?? false });
    }
    // A small pass counts the links it makes and removes; a large one counts the side's links once it is done.
    if (small && !pass.dryRun) pass.linkDelta = new Map(part.triggers.map((trigger) => [trigger.nodeId, 0]));
  }

  /** What the next pass may take as known about each side (see {@link SideKnowledge}). */
  private async learnedAbout(part: CompiledPart, pass: PassState): Promise<Map<string, SideKnowledge>> {
    const learned = new Map<string, SideKnowledge>();
    for (const trigger of part.triggers) {
      const survey = pass.surveys.get(trigger.nodeId);
      if (!survey) continue;
      const delta = pass.linkDelta?.get(trigger.nodeId);
      let liveLinks: number | null = null;
      if (survey.liveLinks !== null && delta !== undefined) liveLinks = survey.liveLinks + delta;
      else if (!pass.dryRun) liveLinks = await countLiveLinks(this.db, pass.flowId, trigger.nodeId);
      let clean = survey.cleanBefore && survey.unlinkedListed !== null;
      if (clean && survey.unlinkedListed && survey.unlinkedListed.length > 0) {
        // Every record it listed unlinked must have ended up linked; one the flow filtered out or failed stays stray.
        const ids = [...new Set(survey.unlinkedListed)];
        clean = (await liveLinkedIds(this.db, pass.flowId, trigger.nodeId, ids)).size === ids.length;
      }
      learned.set(trigger.nodeId, { liveLinks, clean });
    }
    return learned;
  }

  /** Lists every trigger since its cursor, drops echoes, projects the rest in and stages them. */
  private async stageChanges(
    part: CompiledPart,
    connectors: Map<string, Connector>,
    staging: ChangeStaging,
    pass: PassState,
    pageSize: number,
    options: PassOptions,
  ): Promise<Map<string, CursorState>> {
    const cursors = new Map<string, CursorState>();
    for (const trigger of part.triggers) {
      const connector = connectors.get(trigger.nodeId) as Connector;
      if (listsWhole(connector.capabilities)) {
        // A hint pass lists such a side only when it may create records there (listWholeBeforeCreating).
        if (!options.hints) await this.stageWhole(part, trigger, connector, staging, pass, pageSize, options);
        continue;
      }
      const cursor = await loadCursor(this.db, pass.flowId, trigger.nodeId);
      const seenAtStart = new Set(cursor.seen);
      let position = { since: connector.capabilities.incremental ? cursor.since : null, afterId: null as string | null };
      const next: CursorState = { since: cursor.since, seen: [...cursor.seen] };
      let read = 0;
      for (;;) {
        let page;
        try {
          page = await connector.listSince(position, pageSize);
        } catch (caught) {
          throw new Error(`trigger "${trigger.nodeId}": cannot list changes: ${caught instanceof Error ? caught.message : String(caught)}`, { cause: caught });
        }
        // A record seen at the cursor's exact version is dropped unread (SPEC §7), except from systems whose versions
        // are coarse and whose feeds are re-read with a lookback: there a person's edit in the same second as the
        // runtime's write has the same version, and only the comparison with the shadow tells it apart.
        const fresh = connector.capabilities.lookbackMs
          ? page.records
          : page.records.filter((record) => !(record.version !== null && sameVersion(record.version, cursor.since) && seenAtStart.has(record.id)));
        await this.stageRecords(part, trigger, fresh, staging, pass, { dropUnchanged: true });
        for (const record of page.records) advanceCursor(next, record);
        read += page.records.length;
        options.onProgress?.({ nodeId: trigger.nodeId, read, written: 0 });
        if (!page.next) break;
        position = page.next;
      }
      cursors.set(trigger.nodeId, next);
      pass.listed.add(trigger.nodeId);
    }
    return cursors;
  }

  /**
   * A side without a change feed (or without an incremental listing) is listed whole, and only the records that differ
   * from their shadows are staged; the listing finds its hard deletes too (snapshot.ts).
   */
  private async stageWhole(part: CompiledPart, trigger: CompiledTrigger, connector: Connector, staging: ChangeStaging, pass: PassState, pageSize: number, options: PassOptions): Promise<void> {
    const nodeId = trigger.nodeId;
    const outcome = await stageSnapshot({
      db: this.db,
      flowId: pass.flowId,
      nodeId,
      connector,
      staging,
      pageSize,
      dryRun: pass.dryRun,
      findDeletes: hardDeletesFrom(connector.capabilities, trigger.config) === 'listing',
      project: (record) => this.stagedProjection(part, trigger, record),
      echo: (recordId, entityId) => {
        pass.summary.echoes++;
        pass.record(nodeId, recordId, entityId, 'echo', [], 'own write, equal to its shadow');
      },
      progress: (read) => options.onProgress?.({ nodeId, read, written: 0 }),
    });
    pass.listed.add(nodeId);
    pass.wholeListings.set(nodeId, outcome);
    this.deps.logger?.info({ flowId: pass.flowId, runId: pass.runId, nodeId, ...outcome }, 'listed whole');
  }

  /** In a hint pass, lists the sides listed whole that it left out, when it may create records there (snapshot.ts). */
  private async listWholeBeforeCreating(part: CompiledPart, connectors: Map<string, Connector>, staging: ChangeStaging, pass: PassState, pageSize: number, options: PassOptions): Promise<void> {
    const unlisted = part.triggers.filter((trigger) => pass.listedWhole.has(trigger.nodeId) && !pass.listed.has(trigger.nodeId));
    const nodeIds = unlisted.map((trigger) => trigger.nodeId);
    if (!(await hintsMayCreate(this.db, pass.flowId, staging, part.conflict.match, nodeIds, pass.revisit))) return;
    for (const trigger of unlisted) await this.stageWhole(part, trigger, connectors.get(trigger.nodeId) as Connector, staging, pass, pageSize, options);
  }

  /** Stages records of one side after dropping the runtime's own writes (SPEC §6, tags). */
  private async stageRecords(
    part: CompiledPart,
    trigger: CompiledTrigger,
    records: SourceRecord[],
    staging: ChangeStaging,
    pass: PassState,
    options: { dropUnchanged: boolean },
  ): Promise<void> {
    if (records.length === 0) return;
    const tags = records.map((record) => record.tag).filter((tag): tag is string => tag !== null && tag.startsWith(`syncline:${pass.flowId}:`));
    const journal = new Map((await journalByTags(this.db, tags)).map((row) => [row.tag, row]));
    let entries: Array<{ record: SourceRecord } & StagedProjection> = [];
    for (const record of records) {
      const written = record.tag ? journal.get(record.tag) : undefined;
      if (written && written.status === 'done' && written.node_id === trigger.nodeId && !record.deleted && written.hash === writtenContentHash(record.fields)) {
        pass.summary.echoes++;
        pass.record(trigger.nodeId, record.id, written.entity_id, 'echo', [], `own write ${record.tag}`);
        continue;
      }
      const staged = this.stagedProjection(part, trigger, record);
      entries.push({ record, ...(staged instanceof Promise ? await staged : staged) });
    }
    if (options.dropUnchanged) entries = await this.dropUnchanged(trigger, entries, pass);
    staging.add(trigger.nodeId, entries);
  }

  /**
   * Drops listed records that are exactly as the last pass left them: the same version as their link and a projection
   * equal to its shadow. Merging such a record changes nothing, and on a side that cannot store tags every record the
   * runtime writes comes back like this once (an untagged echo, SPEC §6): recognising it here spares it the entity
   * load, the read of the other sides and the merge. Records retried after a failure are never dropped this way.
   */
  private async dropUnchanged(
    trigger: CompiledTrigger,
    entries: Array<{ record: SourceRecord } & StagedProjection>,
    pass: PassState,
  ): Promise<Array<{ record: SourceRecord } & StagedProjection>> {
    const candidates = entries.filter((entry) => !entry.record.deleted && entry.record.version !== null && entry.projection !== null);
    if (candidates.length === 0) return entries;
    const links = new Map<string, LinkRow>();
    for (const link of await linksByRecord(this.db, pass.flowId, trigger.nodeId, candidates.map((entry) => entry.record.id))) links.set(link.record_id, link);
    const unchanged = new Set<{ record: SourceRecord } & StagedProjection>();
    for (const entry of candidates) {
      const link = links.get(entry.record.id);
      if (!link || link.deleted || link.shadow === null || link.version !== JSON.stringify(entry.record.version)) continue;
      if (sameValue(JSON.parse(link.shadow) as FlowRecord, entry.projection)) unchanged.add(entry);
    }
    if (unchanged.size === 0) return entries;
    await this.countJournaledEchoes(pass, trigger.nodeId, [...unchanged].map((entry) => entry.record));
    return entries.filter((entry) => !unchanged.has(entry));
  }

  /**
   * Of these records, equal to their shadows, the ones holding exactly what the runtime last wrote to them are its
   * own writes come back: counted and logged as echoes (SPEC §6). For sides that cannot store a tag.
   */
  private async countJournaledEchoes(pass: PassState, nodeId: string, records: readonly SourceRecord[]): Promise<void> {
    const byId = new Map(records.map((record) => [record.id, record]));
    for (const row of await journalByRecord(this.db, pass.flowId, nodeId, [...byId.keys()])) {
      const record = byId.get(row.record_id as string);
      if (record && row.hash === writtenContentHash(record.fields)) {
        pass.summary.echoes++;
        pass.record(nodeId, record.id, row.entity_id, 'echo', [], 'own write, equal to its shadow');
      }
    }
  }

  // Synchronous while the path is (built-in ops only): no promise per record.
  private stagedProjection(part: CompiledPart, trigger: CompiledTrigger, record: SourceRecord): StagedProjection | Promise<StagedProjection> {
    if (record.deleted) return { projection: null, problem: null, dropped: false, matchKey: null };
    const projection = projectIn(trigger, record.fields, this.limits);
    return projection instanceof Promise ? projection.then((settled) => stagedFrom(part, settled)) : stagedFrom(part, projection);
  }

  /**
   * Webhook hints: read each hinted record now, so late or reordered deliveries cannot bring back old values. A record
   * this pass has just listed and staged is not read again: every hint was received before the pass began, so the
   * listing already saw the change it stands for.
   */
  private async stageHints(part: CompiledPart, connectors: Map<string, Connector>, staging: ChangeStaging, pass: PassState, hints: ChangeHint[]): Promise<void> {
    for (const trigger of part.triggers) {
      const ids = [...new Set(hints.filter((hint) => hint.nodeId === trigger.nodeId && !staging.get(trigger.nodeId, hint.recordId)).map((hint) => hint.recordId))];
      if (ids.length === 0) continue;
      const connector = connectors.get(trigger.nodeId) as Connector;
      const found = await connector.getMany(ids);
      const records = ids.map((id) => found.get(id) ?? { id, version: null, tag: null, deleted: true, fields: {} });
      await this.stageRecords(part, trigger, records, staging, pass, { dropUnchanged: true });
    }
  }

  /** Records that failed before are read again on every pass (SPEC §7); failing entities are revisited. */
  private async stageRetries(part: CompiledPart, connectors: Map<string, Connector>, staging: ChangeStaging, pass: PassState): Promise<void> {
    const failing = await this.db.selectFrom('failing_records').selectAll().where('flow_id', '=', pass.flowId).execute();
    if (failing.length > 0) pass.mayHaveFailing = true;
    const resolved = await this.db
      .selectFrom('conflicts')
      .select(['entity_id'])
      .where('flow_id', '=', pass.flowId)
      .where('status', '=', 'resolved')
      .where('entity_id', 'is not', null)
      .execute();
    for (const row of resolved) pass.revisit.add(row.entity_id as string);
    for (const trigger of part.triggers) {
      const ids: string[] = [];
      for (const row of failing) {
        if (row.node_id !== trigger.nodeId) continue;
        if (row.entity_id) pass.revisit.add(row.entity_id);
        else if (!staging.get(trigger.nodeId, row.record_id)) ids.push(row.record_id);
      }
      if (ids.length === 0) continue;
      const found = await (connectors.get(trigger.nodeId) as Connector).getMany(ids);
      await this.stageRecords(part, trigger, [...found.values()], staging, pass, { dropUnchanged: false });
    }
  }

  /**
   * A full scan per side finds the linked records that are gone (hard deletes, SPEC §7), unless counting the side's
   * records proves that none is (see {@link SideKnowledge}).
   */
  private async stageHardDeletes(part: CompiledPart, connectors: Map<string, Connector>, staging: ChangeStaging, pass: PassState, pageSize: number): Promise<void> {
    for (const trigger of part.triggers) {
      const connector = connectors.get(trigger.nodeId) as Connector;
      if (hardDeletesFrom(connector.capabilities, trigger.config) !== 'scan') continue;
      const survey = pass.surveys.get(trigger.nodeId) as SideSurvey;
      const linked = survey.liveLinks ?? 0;
      if (linked === 0) {
        // Nothing linked, nothing to lose; the side is clean after this pass if the pass listed all of it.
        survey.cleanBefore = survey.unlinkedListed !== null && connector.count !== undefined && (await connector.count()) === survey.unlinkedListed.length;
        continue;
      }
      if (survey.cleanBefore && survey.unlinkedListed && connector.count && (await connector.count()) === linked + survey.unlinkedListed.length) continue;
      let scanned = 0;
      for await (const ids of connector.scanIds(pageSize * 4)) {
        staging.addScanned(trigger.nodeId, ids);
        scanned += ids.length;
      }
      let after = '';
      let missing = 0;
      let linkedNow = 0;
      for (;;) {
        const links = await this.db
          .selectFrom('links')
          .select(['record_id'])
          .where('flow_id', '=', pass.flowId)
          .where('node_id', '=', trigger.nodeId)
          .where('deleted', '=', 0)
          .where('record_id', '>', after)
          .orderBy('record_id')
          .limit(pageSize * 4)
          .execute();
        if (links.length === 0) break;
        after = (links[links.length - 1] as { record_id: string }).record_id;
        linkedNow += links.length;
        const notScanned = staging.missingFromScan(trigger.nodeId, links.map((link) => link.record_id));
        missing += notScanned.length;
        const gone = notScanned.filter((id) => !staging.get(trigger.nodeId, id));
        staging.add(
          trigger.nodeId,
          gone.map((id) => ({ record: { id, version: null, tag: null, deleted: true, fields: {} }, projection: null, problem: null, dropped: false, matchKey: null })),
        );
      }
      // The scan counted the live links afresh; what the previous pass handed on should agree.
      survey.liveLinks = linkedNow;
      // Present but not linked: fine if each was listed by this pass (it is being linked now), a stray otherwise.
      const stray = scanned - (linkedNow - missing);
      const listedPresent = survey.unlinkedListed === null ? null : survey.unlinkedListed.length - staging.missingFromScan(trigger.nodeId, survey.unlinkedListed).length;
      if (stray === 0) {
        // Every record present was linked: whatever this pass listed unlinked is gone already.
        survey.unlinkedListed = [];
        survey.cleanBefore = true;
      } else {
        survey.cleanBefore = stray === listedPresent;
      }
    }
  }

  /** Stops the pass for review when it would delete more than the configured share of a side's linked records. */
  private async guardMassDeletes(part: CompiledPart, staging: ChangeStaging, pass: PassState): Promise<void> {
    if (part.conflict.deletes !== 'propagate') return;
    const { maxShare, minCount } = part.conflict.massDelete;
    // Cheap first: fewer deletes of any kind than the guard's minimum cannot trip it.
    if (staging.countPendingDeletes() < minCount) return;
    const approved = await this.db
      .selectFrom('conflicts')
      .select(['id'])
      .where('flow_id', '=', pass.flowId)
      .where('kind', '=', 'mass-delete')
      .where('status', '=', 'resolved')
      .executeTakeFirst();
    if (approved) return;
    for (const trigger of part.triggers) {
      // Only a linked record can be deleted elsewhere: a hint or soft delete of a record never linked deletes nothing.
      const deleting = (await liveLinkedIds(this.db, pass.flowId, trigger.nodeId, staging.pendingDeleteIdsOf(trigger.nodeId))).size;
      if (deleting < minCount) continue;
      const count = await countLiveLinks(this.db, pass.flowId, trigger.nodeId);
      if (count > 0 && deleting > maxShare * count) {
        const message = `this pass would delete ${deleting} of the ${count} records linked on "${trigger.nodeId}" (more than ${Math.round(maxShare * 100)}%): stopped for review; resolve the mass-delete conflict to let it proceed`;
        if (!pass.dryRun) {
          const open = await this.db.selectFrom('conflicts').select(['id']).where('flow_id', '=', pass.flowId).where('kind', '=', 'mass-delete').where('status', '=', 'open').executeTakeFirst();
          if (!open) {
            await this.db.insertInto('conflicts').values(newConflict(pass, null, 'mass-delete', null, null, { [trigger.nodeId]: { deleting, linked: count } })).execute();
            pass.summary.conflicts++;
          }
        }
        throw new PassStopped(message);
      }
    }
  }

  /** Fields held by open manual conflicts, per entity. */
  private async heldFields(flowId: string): Promise<Map<string, Set<string>>> {
    const rows = await this.db
      .selectFrom('conflicts')
      .select(['entity_id', 'field'])
      .where('flow_id', '=', flowId)
      .where('status', '=', 'open')
      .where('kind', '=', 'field')
      .execute();
    const held = new Map<string, Set<string>>();
    for (const row of rows) {
      if (!row.entity_id || !row.field) continue;
      const fields = held.get(row.entity_id) ?? new Set<string>();
      fields.add(row.field);
      held.set(row.entity_id, fields);
    }
    return held;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Turning staged changes into entities to merge.

  private async buildWork(part: CompiledPart, page: StagedChange[], staging: ChangeStaging, pass: PassState): Promise<EntityWork[]> {
    const taken = new Set<number>();
    const byEntity = new Map<string, EntityWork>();
    const work: EntityWork[] = [];

    // Linked records join their entity.
    const linkOf = new Map<string, LinkRow>();
    for (const trigger of part.triggers) {
      const ids = page.filter((change) => change.nodeId === trigger.nodeId).map((change) => change.recordId);
      for (const link of await linksByRecord(this.db, pass.flowId, trigger.nodeId, ids)) linkOf.set(`${link.node_id}\u0000${link.record_id}`, link);
    }
    const linkedEntityIds = [...new Set([...linkOf.values()].map((link) => link.entity_id))];
    const linked = await this.loadEntities(part, linkedEntityIds);
    // Pull in the staged changes of the entities' other sides, so one merge sees them all.
    const stagedOf = new Map<string, Map<string, StagedChange>>();
    for (const trigger of part.triggers) {
      const ids: string[] = [];
      for (const item of linked) {
        const link = item.sides.get(trigger.nodeId)?.link;
        if (link) ids.push(link.record_id);
      }
      stagedOf.set(trigger.nodeId, staging.getMany(trigger.nodeId, ids));
    }
    for (const item of linked) {
      byEntity.set(item.id, item);
      work.push(item);
      for (const side of item.sides.values()) {
        if (!side.link) continue;
        const staged = stagedOf.get(side.trigger.nodeId)?.get(side.link.record_id);
        if (staged) attachStaged(item, side, staged, taken);
      }
    }

    const keys = [...new Set(page.map((change) => change.matchKey).filter((key): key is string => key !== null))];
    // Every pending change sharing a match key with this page, fetched at once; `taken` says which are spoken for.
    const groups = staging.byMatchKeys(
      page.filter((change) => change.matchKey !== null && !linkOf.has(`${change.nodeId}\u0000${change.recordId}`)).map((change) => change.matchKey as string),
      page,
    );
    const entitiesByKey = new Map<string, EntityRow[]>();
    for (const row of await entitiesByMatchKey(this.db, pass.flowId, keys)) {
      const list = entitiesByKey.get(row.match_key as string) ?? [];
      list.push(row);
      entitiesByKey.set(row.match_key as string, list);
    }

    for (const change of page) {
      if (taken.has(change.seq)) continue;
      const link = linkOf.get(`${change.nodeId}\u0000${change.recordId}`);
      if (link) {
        const item = byEntity.get(link.entity_id);
        const side = item?.sides.get(change.nodeId);
        if (item && side) attachStaged(item, side, change, taken);
        continue;
      }
      if (change.record.deleted || change.dropped) {
        taken.add(change.seq);
        staging.markDone([change.seq]);
        continue;
      }
      if (change.problem) {
        taken.add(change.seq);
        staging.markDone([change.seq]);
        await this.failRecord(pass, change.nodeId, change.recordId, null, change.problem);
        continue;
      }
      const group = change.matchKey ? (groups.get(change.matchKey) ?? []).filter((other) => !taken.has(other.seq)) : [change];
      if (!group.some((other) => other.seq === change.seq)) group.unshift(change);
      const existing = change.matchKey ? (entitiesByKey.get(change.matchKey) ?? []) : [];
      const ambiguity = await this.ambiguity(part, group, existing, byEntity);
      if (ambiguity) {
        for (const other of group) taken.add(other.seq);
        staging.markDone(group.map((other) => other.seq));
        await this.fileMatchConflict(pass, change.matchKey as string, group, existing, ambiguity);
        continue;
      }
      let item: EntityWork | undefined;
      const target = existing[0];
      if (target) {
        item = byEntity.get(target.id) ?? (await this.loadEntities(part, [target.id]))[0];
        if (item && !byEntity.has(item.id)) {
          byEntity.set(item.id, item);
          work.push(item);
        }
      }
      if (!item) {
        item = newEntityWork(part, change.matchKey);
        byEntity.set(item.id, item);
        work.push(item);
      }
      for (const other of group) {
        const side = item.sides.get(other.nodeId) as SideWork;
        side.newlyLinked = true;
        attachStaged(item, side, other, taken);
      }
    }
    // Changes pulled in from later pages are merged now, not again when their page comes.
    staging.markDone([...taken]);
    return work;
  }

  /** Why a match group cannot be linked without guessing, or null when it can. */
  private async ambiguity(part: CompiledPart, group: StagedChange[], existing: EntityRow[], byEntity: Map<string, EntityWork>): Promise<string | null> {
    if (existing.length > 1) return `${existing.length} linked entities already have these match values`;
    for (const trigger of part.triggers) {
      const mine = group.filter((change) => change.nodeId === trigger.nodeId);
      if (mine.length > 1) return `${mine.length} records on "${trigger.nodeId}" have the same match values (${mine.map((change) => change.recordId).join(', ')})`;
    }
    const target = existing[0];
    if (!target) return null;
    const item = byEntity.get(target.id) ?? (await this.loadEntities(part, [target.id]))[0];
    for (const change of group) {
      const side = item?.sides.get(change.nodeId);
      if (side?.link && side.link.record_id !== change.recordId) {
        return `record ${change.recordId} on "${change.nodeId}" matches an entity already linked there to record ${side.link.record_id}`;
      }
    }
    return null;
  }

  private async fileMatchConflict(pass: PassState, key: string, group: StagedChange[], existing: EntityRow[], why: string): Promise<void> {
    const sides: Record<string, unknown> = {};
    for (const change of group) {
      const list = (sides[change.nodeId] as string[] | undefined) ?? [];
      list.push(change.recordId);
      sides[change.nodeId] = list;
    }
    if (existing.length) sides.entities = existing.map((row) => row.id);
    for (const change of group) pass.record(change.nodeId, change.recordId, null, 'conflict', [], `match not unique: ${why}`);
    if (pass.dryRun) return;
    const open = await this.db.selectFrom('conflicts').select(['id']).where('flow_id', '=', pass.flowId).where('kind', '=', 'match').where('field', '=', key).where('status', '=', 'open').executeTakeFirst();
    if (open) {
      await this.db.updateTable('conflicts').set({ sides: JSON.stringify(sides) }).where('id', '=', open.id).execute();
    } else {
      await this.db.insertInto('conflicts').values(newConflict(pass, null, 'match', key, why, sides)).execute();
      pass.summary.conflicts++;
    }
  }

  /** Entities with their golden record and every side's link (records not read yet). */
  private async loadEntities(part: CompiledPart, entityIds: readonly string[]): Promise<EntityWork[]> {
    if (entityIds.length === 0) return [];
    const rows = await entitiesById(this.db, entityIds);
    const links = await linksByEntity(this.db, entityIds);
    const linksByEntityId = new Map<string, LinkRow[]>();
    for (const link of links) {
      const list = linksByEntityId.get(link.entity_id) ?? [];
      list.push(link);
      linksByEntityId.set(link.entity_id, list);
    }
    return rows.map((row) => {
      const item = newEntityWork(part, row.match_key, row);
      for (const link of linksByEntityId.get(row.id) ?? []) {
        const side = item.sides.get(link.node_id);
        if (!side) continue;
        side.link = link;
        side.shadow = link.shadow === null ? null : (JSON.parse(link.shadow) as FlowRecord);
      }
      return item;
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Merging and writing a page of entities.

  private async process(part: CompiledPart, connectors: Map<string, Connector>, work: EntityWork[], held: Map<string, Set<string>>, pass: PassState): Promise<void> {
    if (work.length === 0) return;
    await this.readUnreadSides(part, connectors, work);
    await this.adoptInterruptedWrites(work);
    await this.countUntaggedEchoes(part, work, pass);

    const writes: PlannedWrite[] = [];
    const entityUpdates: EntityWork[] = [];
    const newConflicts: Array<{ entity: EntityWork; conflict: FieldConflict }> = [];
    const deleteConflicts: EntityWork[] = [];
    const skipped = new Set<EntityWork>();
    const deletedEntities = new Set<EntityWork>();
    const unlinkDeleted = new Set<SideWork>();
    /** Sides whose record stays on its system after its entity was deleted (closed, archived, or not deletable). */
    const retired = new Set<SideWork>();

    for (const item of work) {
      if (item.row?.quarantined) {
        skipped.add(item);
        continue;
      }
      const problem = [...item.sides.values()].find((side) => side.problem);
      if (problem) {
        await this.failRecord(pass, problem.trigger.nodeId, problem.link?.record_id ?? problem.record?.id ?? item.id, item.row ? item.id : null, problem.problem as string);
        skipped.add(item);
        continue;
      }
      const gone = [...item.sides.values()].filter((side) => side.link && !side.link.deleted && side.read && (!side.record || side.record.deleted));
      const policy = part.conflict.deletes;
      if (gone.length > 0 && item.row && !item.row.deleted && policy === 'review') {
        deleteConflicts.push(item);
        skipped.add(item);
        continue;
      }
      // A deleted entity stays deleted: whatever is still linked to it (a delete that failed, a record created just
      // before a crash) is deleted too, and nothing is recreated.
      if (item.row?.deleted || (gone.length > 0 && policy === 'propagate')) {
        deletedEntities.add(item);
        for (const side of item.sides.values()) {
          if (gone.includes(side) || side.link?.deleted || !(side.link || side.newlyLinked) || !side.record || side.record.deleted) continue;
          if (!side.trigger.config.write.delete) continue;
          if (deleteMeaning(connectors.get(side.trigger.nodeId) as Connector) === 'cannot') {
            // Never planned, so never retried: the record stays, out of the sync, and nothing recreates the entity.
            pass.record(side.trigger.nodeId, side.record.id, item.id, 'skipped', [], `"${side.trigger.nodeId}" cannot delete records: it keeps this one, no longer synced`);
            retired.add(side);
            continue;
          }
          writes.push({ entity: item, side, op: { kind: 'delete', id: side.record.id, expectedVersion: side.record.version }, after: {}, changes: [] });
        }
        for (const side of gone) unlinkDeleted.add(side);
        continue;
      }
      // `ignore`: the side keeps a tombstone link, so the entity is never recreated there.
      for (const side of gone) unlinkDeleted.add(side);

      const merged = mergeEntity({
        golden: item.golden,
        sides: part.triggers.map((trigger) => {
          const side = item.sides.get(trigger.nodeId) as SideWork;
          const live = side.record && !side.record.deleted && !(side.link?.deleted) ? side.projection : null;
          return { nodeId: trigger.nodeId, projection: live, shadow: side.newlyLinked ? null : side.shadow, version: side.record?.version ?? null };
        }),
        policy: part.conflict.policy,
        fieldPolicies: part.conflict.fields,
        heldFields: held.get(item.id) ?? new Set(),
      });
      for (const conflict of merged.conflicts) newConflicts.push({ entity: item, conflict });
      const goldenChanged = !sameValue(merged.golden, item.golden) || !item.row;
      item.golden = merged.golden;
      if (goldenChanged || [...item.sides.values()].some((side) => side.newlyLinked)) entityUpdates.push(item);

      const heldHere = new Set([...(held.get(item.id) ?? []), ...merged.conflicts.map((conflict) => conflict.field)]);
      for (const side of item.sides.values()) {
        if (!side.link && !side.newlyLinked && pass.unsettledCreates.has(`${item.id}\u0000${side.trigger.nodeId}`)) continue;
        const plan = this.planWrite(pass.flowId, item, side, heldHere);
        const planned = plan instanceof Promise ? await plan : plan;
        if (planned === 'failed') {
          skipped.add(item);
          // The change that led here is what gets retried: fail the records this pass read for the entity, so the
          // next pass reads them again (a new entity has no row of its own to revisit yet).
          for (const source of item.sides.values()) {
            if (!source.staged || !source.record) continue;
            await this.failRecord(pass, source.trigger.nodeId, source.record.id, item.row ? item.id : null, `cannot be written to "${side.trigger.nodeId}": ${side.problem ?? 'projection failed'}`);
          }
          break;
        }
        if (planned) writes.push(wholeObjectsUnlessPartial(planned, connectors.get(side.trigger.nodeId) as Connector));
      }
    }

    // The breaker: an entity written too often within its window is quarantined instead of written again.
    const breakerTripped = this.applyBreaker(part.conflict, writes, pass);
    const liveWrites = writes.filter((write) => !breakerTripped.has(write.entity) && !skipped.has(write.entity));

    if (pass.dryRun) {
      for (const write of liveWrites) recordPlanned(pass, write);
      return;
    }

    // Write-ahead: golden records, links of the records read and the journal of intended writes, before any write.
    const tags = new Map<PlannedWrite, JournalRow>();
    await this.db.transaction().execute(async (tx) => {
      const stamp = this.now().toISOString();
      const newEntities: EntityRow[] = [];
      const savedEntities: EntityRow[] = [];
      const newLinks: LinkRow[] = [];
      const saveEntityRow = (item: EntityWork, deleted: boolean) => {
        const golden = JSON.stringify(item.golden);
        if (item.row) {
          savedEntities.push({ ...item.row, golden, deleted: deleted ? 1 : 0, updated_at: stamp });
          return;
        }
        newEntities.push({ id: item.id, flow_id: pass.flowId, golden, match_key: item.matchKey, deleted: deleted ? 1 : 0, breaker_window_start: stamp, breaker_writes: 0, quarantined: 0, created_at: stamp, updated_at: stamp });
        item.row = { id: item.id, flow_id: pass.flowId, golden, match_key: item.matchKey, deleted: 0, breaker_window_start: stamp, breaker_writes: 0, quarantined: 0, created_at: stamp, updated_at: stamp };
      };
      const updated = new Set<EntityWork>();
      for (const item of entityUpdates) {
        if (skipped.has(item)) continue;
        updated.add(item);
        saveEntityRow(item, deletedEntities.has(item));
        // Newly linked records are linked before anything is written, without a shadow: if the process dies
        // mid-write, the next pass finds them linked and merges them as just linked instead of creating twice.
        for (const side of item.sides.values()) {
          if (side.newlyLinked && side.record && !side.link) newLinks.push(linkRow(pass, side.trigger.nodeId, side.record.id, item.id, null, side.record.version, stamp));
        }
      }
      for (const item of deletedEntities) if (!updated.has(item)) saveEntityRow(item, true);
      await insertMany(tx, 'entities', newEntities);
      await saveEntityRows(tx, savedEntities);
      const linkChanges = new LinkChanges(pass.flowId);
      for (const row of newLinks) linkChanges.save(row);
      await linkChanges.apply(tx, pass.linkDelta);
      const journal: JournalRow[] = [];
      for (const write of liveWrites) {
        if (write.op.kind === 'delete') continue;
        const row = {
          tag: write.op.tag,
          flow_id: pass.flowId,
          node_id: write.side.trigger.nodeId,
          entity_id: write.entity.id,
          record_id: write.op.kind === 'update' ? write.op.id : null,
          hash: writtenContentHash(write.after),
          status: 'pending',
          created_at: stamp,
          // What an interrupted write left is measured against what it sent: an update is found by its tag (only on
          // sides that store one, adoptInterruptedWrites), a create on any side (adoptInterruptedCreates).
          written: write.op.kind === 'create' || (connectors.get(write.side.trigger.nodeId) as Connector).capabilities.tags ? JSON.stringify(write.after) : null,
        };
        tags.set(write, row);
        journal.push(row);
      }
      await insertMany(tx, 'write_journal', journal);
      for (const item of breakerTripped) await this.fileBreaker(tx, pass, item);
      for (const item of deleteConflicts) await this.fileDeleteConflict(tx, pass, item);
      for (const { entity, conflict } of newConflicts) await this.fileFieldConflict(tx, pass, entity, conflict);
    });
    const afterWritten = new Map<PlannedWrite, FlowRecord>();
    for (const write of liveWrites) afterWritten.set(write, write.after);

    const results = await this.executeWrites(connectors, liveWrites);
    await this.readBackCreated(connectors, liveWrites, results);

    await this.db.transaction().execute(async (tx) => {
      const stamp = this.now().toISOString();
      // What happens to each link, in the order it was decided; a later decision about the same link replaces an
      // earlier one, as running the statements one by one would.
      const linkChanges = new LinkChanges(pass.flowId);
      const completed: JournalRow[] = [];
      const completedBySide = new Map<string, Map<string, string>>();
      const dropTags: string[] = [];
      const cleared = new Map<string, string[]>();
      const shadows: Array<{ side: SideWork; entity: EntityWork; recordId: string; after: FlowRecord; version: Version | null }> = [];
      for (const write of liveWrites) {
        const result = results.get(write) as WriteResult;
        const nodeId = write.side.trigger.nodeId;
        const recordId = write.op.kind === 'create' ? null : write.op.id;
        const journal = tags.get(write);
        if (result.ok) {
          if (write.op.kind === 'delete') {
            pass.summary.deleted++;
            pass.record(nodeId, recordId, write.entity.id, 'deleted');
            // A closed or archived record is still listed: its tombstone link keeps it from coming back as new.
            if (deleteMeaning(connectors.get(nodeId) as Connector) === 'remove') linkChanges.remove(nodeId, write.op.id);
            else linkChanges.tombstone(nodeId, write.op.id);
          } else {
            if (write.op.kind === 'create') pass.summary.created++;
            else pass.summary.updated++;
            pass.record(nodeId, result.id, write.entity.id, write.op.kind === 'create' ? 'created' : 'updated', write.changes);
            const row = journal as JournalRow;
            // The hash taken before the write still holds unless the created record, read back, holds something else.
            const before = afterWritten.get(write) as FlowRecord;
            const hash = before === write.after || sameWrittenContent(before, write.after) ? row.hash : writtenContentHash(write.after);
            completed.push({ ...row, status: 'done', record_id: result.id, hash, written: null });
            const bySide = completedBySide.get(nodeId) ?? new Map<string, string>();
            bySide.set(result.id, row.tag);
            completedBySide.set(nodeId, bySide);
            shadows.push({ side: write.side, entity: write.entity, recordId: result.id, after: write.after, version: result.version });
          }
          if (pass.mayHaveFailing) {
            const ids = cleared.get(nodeId) ?? [];
            ids.push(recordId ?? `entity:${write.entity.id}`, `entity:${write.entity.id}`);
            cleared.set(nodeId, ids);
          }
        } else if (result.reason === 'changed' && write.entity.remerges < MAX_REMERGES) {
          // The side changed between our read and our write: read it again and merge again (SPEC §5.5).
          pass.revisit.add(write.entity.id);
          write.side.read = false;
          if (journal) dropTags.push(journal.tag);
        } else {
          const message = result.reason === 'failed' ? result.message : result.reason === 'changed' ? 'the record kept changing during the pass' : 'the record no longer exists';
          if (journal) dropTags.push(journal.tag);
          await this.failRecord(pass, nodeId, recordId ?? `entity:${write.entity.id}`, write.entity.id, `${write.op.kind} failed: ${message}`, tx);
        }
      }
      await completeJournal(tx, completed);
      for (const [nodeId, bySide] of completedBySide) await deleteOlderJournal(tx, pass.flowId, nodeId, [...bySide.keys()], new Set(bySide.values()));
      await deleteJournalTags(tx, dropTags);
      if (pass.mayHaveFailing) {
        // A record that failed before and went through this time is no longer failing.
        for (const item of work) {
          if (skipped.has(item) || breakerTripped.has(item)) continue;
          for (const side of item.sides.values()) {
            if (!side.staged || !side.record || pass.failedRecords.has(`${side.trigger.nodeId}\u0000${side.record.id}`)) continue;
            const ids = cleared.get(side.trigger.nodeId) ?? [];
            ids.push(side.record.id);
            cleared.set(side.trigger.nodeId, ids);
          }
        }
      }
      for (const [nodeId, ids] of cleared) await clearFailing(tx, pass.flowId, nodeId, ids);

      // Shadows: what each side now holds, projected in. Sides not written keep the projection just read.
      const written = new Set(shadows.map((entry) => entry.side));
      for (const entry of shadows) {
        const projected = projectIn(entry.side.trigger, entry.after, this.limits);
        const projection = projected instanceof Promise ? await projected : projected;
        linkChanges.save(linkRow(pass, entry.side.trigger.nodeId, entry.recordId, entry.entity.id, projection.kind === 'pass' ? projection.record : null, entry.version, stamp));
      }
      for (const item of work) {
        if (skipped.has(item) || breakerTripped.has(item)) continue;
        for (const side of item.sides.values()) {
          if (written.has(side) || !side.link && !side.newlyLinked) continue;
          if (retired.has(side) && side.record) {
            linkChanges.save({ ...linkRow(pass, side.trigger.nodeId, side.record.id, item.id, side.projection, side.record.version, stamp), deleted: 1 });
            continue;
          }
          if (unlinkDeleted.has(side)) {
            if (deletedEntities.has(item)) linkChanges.remove(side.trigger.nodeId, side.link?.record_id ?? '');
            else linkChanges.tombstone(side.trigger.nodeId, side.link?.record_id ?? '');
            continue;
          }
          if (!side.record || side.record.deleted || !side.projection) continue;
          const unchanged = side.link && side.shadow && sameValue(side.shadow, side.projection) && sameVersionOrNull(side.link.version, side.record.version);
          if (unchanged && !side.newlyLinked) continue;
          linkChanges.save(linkRow(pass, side.trigger.nodeId, side.record.id, item.id, side.projection, side.record.version, stamp));
        }
      }
      await linkChanges.apply(tx, pass.linkDelta);
      await flushLog(tx, pass.runId as string, pass.log.splice(0));
    });
  }

  /**
   * Adopts what dead passes created (see recovery.ts): before anything is planned, each record an interrupted create
   * made is linked to its entity and its journal entry completed. Its shadow is what the create sent: the side was in
   * sync as of that write, so only what changed on it since (an edit after the crash) counts as its change, and a
   * golden record that a later interrupted pass moved on is not mistaken for the side's edit. A create that made nothing, on a side this pass listed, is forgotten and its entity
   * merged again, which creates it once (its entry goes when that merge is done); on a side not listed, or listed
   * whole by a listing that passed records by (snapshot.ts, listingHeldAll), it stays pending and blocks a second create.
   */
  private async adoptInterruptedCreates(part: CompiledPart, connectors: Map<string, Connector>, staging: ChangeStaging, pass: PassState): Promise<void> {
    // A pass running beside this one owns its pending entries; a dry run changes nothing.
    if (pass.dryRun || pass.overlapped) return;
    const rows = await pendingCreates(this.db, pass.flowId, part.triggers.map((trigger) => trigger.nodeId));
    if (rows.length === 0) return;
    const entities = new Map((await entitiesById(this.db, [...new Set(rows.map((row) => row.entity_id))])).map((row) => [row.id, row]));
    const creates: InterruptedCreate[] = rows.map((row) => ({ tag: row.tag, nodeId: row.node_id, entityId: row.entity_id, hash: row.hash, matchKey: entities.get(row.entity_id)?.match_key ?? null }));
    const sides = new Set(creates.map((create) => create.nodeId));
    const staged: StagedChange[] = [];
    for (let afterSeq = 0; ; ) {
      const page = staging.page(afterSeq, DEFAULT_PAGE_SIZE);
      if (page.length === 0) break;
      afterSeq = (page.at(-1) as StagedChange).seq;
      for (const change of page) if (sides.has(change.nodeId) && !change.record.deleted) staged.push(change);
    }
    const candidates: OrphanCandidate[] = [];
    for (const nodeId of sides) {
      const mine = staged.filter((change) => change.nodeId === nodeId);
      const linked = new Set((await linksByRecord(this.db, pass.flowId, nodeId, mine.map((change) => change.recordId))).map((link) => link.record_id));
      for (const change of mine) {
        if (linked.has(change.recordId)) continue;
        candidates.push({ nodeId, recordId: change.recordId, tag: change.record.tag, contentHash: writtenContentHash(change.record.fields), matchKey: change.matchKey });
      }
    }
    const adopted = matchInterruptedCreates(creates, candidates);
    const stamp = this.now().toISOString();
    const completed: JournalRow[] = [];
    const linkChanges = new LinkChanges(pass.flowId);
    for (const row of rows) {
      const found = adopted.get(row.tag);
      const entity = entities.get(row.entity_id);
      if (found && entity && !entity.deleted) {
        const trigger = part.triggers.find((candidate) => candidate.nodeId === row.node_id) as CompiledTrigger;
        const sent = row.written === null ? null : await projectIn(trigger, JSON.parse(row.written) as FlowRecord, this.limits);
        linkChanges.save(linkRow(pass, row.node_id, found.recordId, row.entity_id, sent?.kind === 'pass' ? sent.record : null, null, stamp));
        completed.push({ ...row, status: 'done', record_id: found.recordId, written: null });
        pass.record(row.node_id, found.recordId, row.entity_id, 'adopted', [], 'created by an interrupted pass: adopted, not created again');
      } else if (!entity || (pass.listed.has(row.node_id) && (await this.listingHeldAll(connectors, pass, row.node_id)))) {
        // Nothing was made (or its entity is gone): the create is planned afresh if it is still wanted. The entry stays
        // until that is done (forgottenCreates): the wish to merge again lives only in this pass's memory.
        pass.forgottenCreates.push(row.tag);
        if (entity) pass.revisit.add(row.entity_id);
      } else {
        pass.unsettledCreates.add(`${row.entity_id}\u0000${row.node_id}`);
      }
    }
    await this.db.transaction().execute(async (tx) => {
      await linkChanges.apply(tx, null);
      await completeJournal(tx, completed);
    });
    if (completed.length > 0) this.deps.logger?.warn({ flowId: pass.flowId, adopted: completed.length }, 'adopted records created by an interrupted pass');
  }

  /** Whether this pass's listing of a side held every record there: a listing by version does (snapshot.ts). */
  private async listingHeldAll(connectors: Map<string, Connector>, pass: PassState, nodeId: string): Promise<boolean> {
    const whole = pass.wholeListings.get(nodeId);
    return !whole || (await listingHeldAll(connectors.get(nodeId) as Connector, whole));
  }

  /**
   * On sides that cannot store a tag, the runtime's own write comes back as a change equal to the shadow. The
   * shadow already makes it harmless (SPEC §6); the journal's hash of what was written tells that it is an echo.
   */
  private async countUntaggedEchoes(part: CompiledPart, work: EntityWork[], pass: PassState): Promise<void> {
    for (const trigger of part.triggers) {
      const candidates: SourceRecord[] = [];
      for (const item of work) {
        const side = item.sides.get(trigger.nodeId) as SideWork;
        if (side.staged && side.link && side.record && !side.record.deleted && side.shadow && side.projection && sameValue(side.shadow, side.projection)) {
          candidates.push(side.record);
        }
      }
      if (candidates.length > 0) await this.countJournaledEchoes(pass, trigger.nodeId, candidates);
    }
  }

  /**
   * A pass that died after writing to a side but before committing left that side's shadow behind what it holds:
   * the record carries the tag of a pending journal entry, which holds what was written. The side is taken to be in
   * sync as of that write; only what changed on the side since counts as its own change (otherwise the interrupted
   * write would be mistaken for a newer edit and win).
   */
  private async adoptInterruptedWrites(work: EntityWork[]): Promise<void> {
    const candidates = new Map<string, { item: EntityWork; side: SideWork }>();
    for (const item of work) {
      for (const side of item.sides.values()) {
        if (side.staged && side.link && !side.newlyLinked && side.record?.tag && !side.record.deleted) candidates.set(side.record.tag, { item, side });
      }
    }
    if (candidates.size === 0) return;
    for (const row of await journalByTags(this.db, [...candidates.keys()])) {
      const found = candidates.get(row.tag);
      if (!found || row.status !== 'pending' || row.node_id !== found.side.trigger.nodeId || row.entity_id !== found.item.id) continue;
      const { item, side } = found;
      // What was written back then, not the side's later edits: those must still count as its changes. The entry
      // keeps what it wrote; the golden record stands in for entries from before it did, though a later pass that
      // also died may have moved it on since.
      let sent: FlowRecord;
      if (row.written !== null) {
        sent = JSON.parse(row.written) as FlowRecord;
      } else {
        const out = await projectOut(side.trigger, item.golden, this.limits);
        if (out.kind !== 'pass') continue;
        sent = out.record;
      }
      const written = await projectIn(side.trigger, sent, this.limits);
      if (written.kind === 'pass') side.shadow = { ...(side.shadow ?? {}), ...written.record };
    }
  }

  /** Reads the current record of every linked side that has no staged change (SPEC §5.1). */
  private async readUnreadSides(part: CompiledPart, connectors: Map<string, Connector>, work: EntityWork[]): Promise<void> {
    for (const trigger of part.triggers) {
      const wanted = new Map<string, SideWork>();
      for (const item of work) {
        const side = item.sides.get(trigger.nodeId) as SideWork;
        if (!side.read && side.link && !side.link.deleted) wanted.set(side.link.record_id, side);
      }
      if (wanted.size === 0) continue;
      const connector = connectors.get(trigger.nodeId) as Connector;
      const found = await connector.getMany([...wanted.keys()]);
      for (const [id, side] of wanted) {
        side.read = true;
        side.record = found.get(id) ?? null;
        if (side.record && !side.record.deleted) setProjection(side, await projectIn(trigger, side.record.fields, this.limits));
      }
    }
    for (const item of work) for (const side of item.sides.values()) if (!side.link && !side.newlyLinked) side.read = true;
  }

  /** The write that brings one side in line with the golden record, if any; 'failed' when the record cannot be projected out. */
  private planWrite(flowId: string, item: EntityWork, side: SideWork, held: ReadonlySet<string>): PlannedWrite | null | 'failed' | Promise<PlannedWrite | null | 'failed'> {
    const permissions = side.trigger.config.write;
    if (side.link?.deleted) return null;
    const exists = side.record !== null && !side.record.deleted;
    if (!exists && side.link) return null;
    if (!exists && !permissions.create) return null;
    if (exists && !permissions.update) return null;
    // A held field (an open manual conflict) is written nowhere (SPEC §5.4): each side is given its own value of it,
    // in the conflict node's vocabulary, so whatever the side's fields derive from it come out as they are.
    let target = item.golden;
    if (exists && held.size > 0 && side.projection) {
      target = { ...item.golden };
      for (const field of held) if (Object.hasOwn(side.projection, field)) target[field] = side.projection[field];
    }
    const out = projectOut(side.trigger, target, this.limits);
    return out instanceof Promise ? out.then((settled) => this.planFrom(flowId, item, side, exists, settled)) : this.planFrom(flowId, item, side, exists, out);
  }

  private planFrom(flowId: string, item: EntityWork, side: SideWork, exists: boolean, out: Projection): PlannedWrite | null | 'failed' {
    if (out.kind === 'drop') return null;
    if (out.kind === 'error') {
      side.problem = `node "${out.error.nodeId}": ${out.error.message}`;
      return 'failed';
    }
    const current = exists ? (side.record as SourceRecord).fields : {};
    // Leaf by leaf: a nested object sends only the leaves that differ, and keys the system keeps that the flow does
    // not map are no difference. The connector merges the partial object into the record (SPEC §3, mapping).
    const diff = diffLeaves(current, out.record);
    const fields = diff.fields;
    const changes: FieldChange[] = diff.changes.map((change) => ({ field: change.field, before: exists ? (change.before ?? null) : null, after: change.after }));
    if (exists && changes.length === 0) return null;
    if (!exists && Object.keys(fields).length === 0) return null;
    const writeTag = `syncline:${flowId}:${writeId()}`;
    const after = mergeLeaves(current, fields);
    if (!exists) return { entity: item, side, op: { kind: 'create', fields, tag: writeTag }, after, changes };
    const record = side.record as SourceRecord;
    return { entity: item, side, op: { kind: 'update', id: record.id, fields, tag: writeTag, expectedVersion: record.version }, after, changes };
  }

  private applyBreaker(config: ConflictConfig, writes: PlannedWrite[], pass: PassState): Set<EntityWork> {
    const tripped = new Set<EntityWork>();
    const now = this.now().getTime();
    const counted = new Set<EntityWork>();
    for (const write of writes) {
      const item = write.entity;
      if (!item.row || counted.has(item)) continue;
      counted.add(item);
      const windowStart = item.row.breaker_window_start ? Date.parse(item.row.breaker_window_start) : 0;
      const inWindow = now - windowStart < config.breaker.windowMs;
      const count = (inWindow ? item.row.breaker_writes : 0) + 1;
      item.row.breaker_writes = count;
      if (!inWindow) item.row.breaker_window_start = new Date(now).toISOString();
      if (count > config.breaker.maxWrites) {
        tripped.add(item);
        pass.record(write.side.trigger.nodeId, write.side.link?.record_id ?? null, item.id, 'conflict', [], `written ${count} times within ${config.breaker.windowMs} ms: quarantined (another automation may be fighting the sync)`);
      }
    }
    return tripped;
  }

  /**
   * A created record holds what the system filled in besides what was written (defaults, nulls): read it back, so
   * its shadow and its echo are what the system will report.
   */
  private async readBackCreated(connectors: Map<string, Connector>, writes: PlannedWrite[], results: Map<PlannedWrite, WriteResult>): Promise<void> {
    const bySide = new Map<string, Map<string, PlannedWrite>>();
    for (const write of writes) {
      const result = results.get(write);
      if (write.op.kind !== 'create' || !result?.ok) continue;
      const created = bySide.get(write.side.trigger.nodeId) ?? new Map<string, PlannedWrite>();
      created.set(result.id, write);
      bySide.set(write.side.trigger.nodeId, created);
    }
    for (const [nodeId, created] of bySide) {
      const found = await (connectors.get(nodeId) as Connector).getMany([...created.keys()]);
      for (const [id, write] of created) {
        const record = found.get(id);
        const result = results.get(write) as Extract<WriteResult, { ok: true }>;
        // Only the record as created: one a person edited since (a later version) keeps that edit as its own change.
        if (record && !record.deleted && (result.version === null || record.version === null || sameVersion(record.version, result.version))) write.after = record.fields;
      }
    }
  }

  private async executeWrites(connectors: Map<string, Connector>, writes: PlannedWrite[]): Promise<Map<PlannedWrite, WriteResult>> {
    const results = new Map<PlannedWrite, WriteResult>();
    const bySide = new Map<string, PlannedWrite[]>();
    for (const write of writes) {
      const list = bySide.get(write.side.trigger.nodeId) ?? [];
      list.push(write);
      bySide.set(write.side.trigger.nodeId, list);
    }
    for (const [nodeId, sideWrites] of bySide) {
      const connector = connectors.get(nodeId) as Connector;
      const outcomes = await withRetries(this.retry, sideWrites.map((write) => write.op), (ops) => connector.write(ops));
      sideWrites.forEach((write, index) => results.set(write, outcomes[index] as WriteResult));
      this.deps.afterSideWrites?.(nodeId);
    }
    return results;
  }

  private async failRecord(pass: PassState, nodeId: string, recordId: string, entityId: string | null, message: string, db: Db = this.db): Promise<void> {
    const key = `${nodeId}\u0000${recordId}`;
    if (!pass.failedRecords.has(key)) {
      pass.failedRecords.add(key);
      pass.summary.failed++;
    }
    pass.record(nodeId, recordId, entityId, 'failed', [], message);
    if (pass.dryRun) return;
    pass.mayHaveFailing = true;
    const now = this.now().toISOString();
    await db
      .insertInto('failing_records')
      .values({ flow_id: pass.flowId, node_id: nodeId, record_id: recordId, entity_id: entityId, error: message, attempts: 1, first_failed_at: now, last_failed_at: now })
      .onConflict((oc) =>
        oc.columns(['flow_id', 'node_id', 'record_id']).doUpdateSet((eb) => ({
          error: message,
          attempts: eb('failing_records.attempts', '+', 1),
          last_failed_at: now,
          entity_id: entityId,
        })),
      )
      .execute();
  }

  private async fileFieldConflict(tx: Db, pass: PassState, item: EntityWork, conflict: FieldConflict): Promise<void> {
    const open = await tx
      .selectFrom('conflicts')
      .select(['id'])
      .where('entity_id', '=', item.id)
      .where('kind', '=', 'field')
      .where('field', '=', conflict.field)
      .where('status', '=', 'open')
      .executeTakeFirst();
    for (const [nodeId, value] of Object.entries(conflict.sides)) {
      pass.record(nodeId, item.sides.get(nodeId)?.link?.record_id ?? null, item.id, 'conflict', [{ field: conflict.field, before: conflict.base ?? null, after: value }], 'held for manual resolution');
    }
    if (open) {
      await tx.updateTable('conflicts').set({ sides: JSON.stringify(conflict.sides) }).where('id', '=', open.id).execute();
      return;
    }
    await tx.insertInto('conflicts').values(newConflict(pass, item.id, 'field', conflict.field, conflict.base, conflict.sides)).execute();
    pass.summary.conflicts++;
  }

  private async fileDeleteConflict(tx: Db, pass: PassState, item: EntityWork): Promise<void> {
    const sides: Record<string, unknown> = {};
    for (const side of item.sides.values()) {
      if (!side.link) continue;
      sides[side.trigger.nodeId] = side.record && !side.record.deleted ? side.projection : null;
    }
    const open = await tx.selectFrom('conflicts').select(['id']).where('entity_id', '=', item.id).where('kind', '=', 'delete').where('status', '=', 'open').executeTakeFirst();
    for (const side of item.sides.values()) if (side.link && (!side.record || side.record.deleted)) pass.record(side.trigger.nodeId, side.link.record_id, item.id, 'conflict', [], 'deleted on this side: waiting for review');
    if (open) return;
    await tx.insertInto('conflicts').values(newConflict(pass, item.id, 'delete', null, item.golden, sides)).execute();
    pass.summary.conflicts++;
  }

  private async fileBreaker(tx: Db, pass: PassState, item: EntityWork): Promise<void> {
    await tx.updateTable('entities').set({ quarantined: 1 }).where('id', '=', item.id).execute();
    const sides: Record<string, unknown> = {};
    for (const side of item.sides.values()) if (side.projection) sides[side.trigger.nodeId] = side.projection;
    await tx.insertInto('conflicts').values(newConflict(pass, item.id, 'breaker', null, item.golden, sides)).execute();
    pass.summary.conflicts++;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // What the API reads and resolves.

  async listRuns(flowId: string, limit = 50): Promise<RunView[]> {
    const rows = await this.db.selectFrom('runs').selectAll().where('flow_id', '=', flowId).orderBy('started_at', 'desc').limit(limit).execute();
    return rows.map(runView);
  }

  async getRun(runId: string): Promise<{ run: RunView; log: RunLogEntry[] } | null> {
    const row = await this.db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
    if (!row) return null;
    const log = await this.db.selectFrom('run_log').selectAll().where('run_id', '=', runId).orderBy('id').execute();
    return {
      run: runView(row),
      log: log.map((entry) => ({
        nodeId: entry.node_id,
        recordId: entry.record_id,
        entityId: entry.entity_id,
        outcome: entry.outcome as RecordOutcome,
        fields: entry.fields ? (JSON.parse(entry.fields) as FieldChange[]) : [],
        message: entry.message,
        at: entry.at,
      })),
    };
  }

  async listConflicts(filter: { flowId?: string; status?: ConflictStatus }): Promise<ConflictView[]> {
    let query = this.db.selectFrom('conflicts').selectAll().orderBy('created_at');
    if (filter.flowId) query = query.where('flow_id', '=', filter.flowId);
    if (filter.status) query = query.where('status', '=', filter.status);
    return (await query.execute()).map(conflictView);
  }

  /**
   * Resolves an open conflict: a field takes the chosen side's value or the given value, and the next pass writes
   * it out. A delete conflict takes `{side}`: the deleting side deletes everywhere, any other side restores.
   */
  async resolveConflict(conflictId: string, resolution: ConflictResolution): Promise<ConflictView> {
    const row = await this.db.selectFrom('conflicts').selectAll().where('id', '=', conflictId).executeTakeFirst();
    if (!row) throw new EngineInputError('not_found', `no conflict "${conflictId}"`);
    if (row.status !== 'open') throw new EngineInputError('already_resolved', `conflict "${conflictId}" is already ${row.status}`);
    // Resolving may remove links: the next pass must count and scan afresh.
    await this.forgetKnowledge(row.flow_id);
    const sides = JSON.parse(row.sides) as Record<string, unknown>;
    if ('side' in resolution && !Object.hasOwn(sides, resolution.side)) {
      throw new EngineInputError('unknown_side', `side "${resolution.side}" is not part of this conflict; sides: ${Object.keys(sides).join(', ')}`);
    }
    await this.db.transaction().execute(async (tx) => {
      if (row.kind === 'field') {
        const value = 'side' in resolution ? sides[resolution.side] : resolution.value;
        const entity = await tx.selectFrom('entities').select(['golden']).where('id', '=', row.entity_id as string).executeTakeFirst();
        if (!entity) throw new EngineInputError('not_found', `the entity of conflict "${conflictId}" no longer exists`);
        const golden = JSON.parse(entity.golden) as FlowRecord;
        golden[row.field as string] = value;
        await tx.updateTable('entities').set({ golden: JSON.stringify(golden), updated_at: this.now().toISOString() }).where('id', '=', row.entity_id as string).execute();
      } else if (row.kind === 'delete') {
        if (!('side' in resolution)) throw new EngineInputError('bad_resolution', 'a delete conflict is resolved by picking a side: {"side": "<trigger id>"}');
        const deleting = sides[resolution.side] === null;
        if (deleting) {
          // Propagate: the next pass sees the entity's links on the deleting side gone and deletes the rest.
          await tx.deleteFrom('links').where('entity_id', '=', row.entity_id as string).where('node_id', '=', resolution.side).execute();
          await tx.updateTable('entities').set({ deleted: 1 }).where('id', '=', row.entity_id as string).execute();
        } else {
          // Restore: forget the links of the sides where the record is gone, so the next pass recreates it there.
          for (const [nodeId, value] of Object.entries(sides)) {
            if (value === null) await tx.deleteFrom('links').where('entity_id', '=', row.entity_id as string).where('node_id', '=', nodeId).execute();
          }
        }
      } else if (row.kind === 'breaker') {
        await tx.updateTable('entities').set({ quarantined: 0, breaker_writes: 0, breaker_window_start: null }).where('id', '=', row.entity_id as string).execute();
      } else if (row.kind === 'match') {
        throw new EngineInputError('not_resolvable', 'a match conflict is resolved by making the match values unique on each side; the next pass links the records');
      }
      await tx
        .updateTable('conflicts')
        .set({ status: 'resolved', resolution: JSON.stringify(resolution), resolved_at: this.now().toISOString() })
        .where('id', '=', conflictId)
        .execute();
    });
    if (row.kind === 'delete' && 'side' in resolution && sides[resolution.side] === null) {
      // The entity is marked deleted; the next pass removes what is still linked to it on the other sides.
      this.deps.logger?.info({ flowId: row.flow_id, entityId: row.entity_id }, 'delete approved; the next pass removes the record from the other sides');
    }
    const updated = await this.db.selectFrom('conflicts').selectAll().where('id', '=', conflictId).executeTakeFirstOrThrow();
    return conflictView(updated);
  }

  async listFailing(flowId: string): Promise<FailingRecordView[]> {
    const rows = await this.db.selectFrom('failing_records').selectAll().where('flow_id', '=', flowId).orderBy('last_failed_at', 'desc').execute();
    return rows.map((row) => ({
      flowId: row.flow_id,
      nodeId: row.node_id,
      recordId: row.record_id,
      entityId: row.entity_id,
      error: row.error,
      attempts: row.attempts,
      firstFailedAt: row.first_failed_at,
      lastFailedAt: row.last_failed_at,
    }));
  }

  /**
   * Starts the failing records' count afresh. Every pass retries them anyway (SPEC §7); this is for a person who
   * fixed the cause and wants the list to show only what fails from now on.
   */
  async retryFailing(flowId: string): Promise<void> {
    await this.db.updateTable('failing_records').set({ attempts: 0 }).where('flow_id', '=', flowId).execute();
  }

  /**
   * Drops all of a flow's state: links, golden records, cursors, journal, runs, conflicts. In bounded statements, each
   * its own commit: a million-record flow in one transaction would hold the state's write lock for seconds, and the
   * server's other connection (webhook intake, API writes) gives up waiting after five. Interrupted, it leaves part of
   * the state behind, and deleting the flow again finishes the job.
   */
  async forgetFlow(flowId: string): Promise<void> {
    await this.forgetKnowledge(flowId);
    const chunk = this.deps.forgetChunk ?? FORGET_CHUNK;
    const runIds = (await this.db.selectFrom('runs').select(['id']).where('flow_id', '=', flowId).execute()).map((row) => row.id);
    for (const runId of runIds) {
      await deleteInChunks(this.db, sql`delete from run_log where id in (select id from run_log where run_id = ${runId} limit ${chunk})`, chunk);
    }
    const keyed: Array<[table: string, key: string]> = [
      ['entities', 'id'],
      ['write_journal', 'tag'],
      ['runs', 'id'],
      ['conflicts', 'id'],
      ['failing_records', 'rowid'],
    ];
    for (const [table, key] of keyed) {
      await deleteInChunks(this.db, sql`delete from ${sql.table(table)} where ${sql.ref(key)} in (select ${sql.ref(key)} from ${sql.table(table)} where flow_id = ${flowId} limit ${chunk})`, chunk);
    }
    await deleteInChunks(
      this.db,
      sql`delete from links where flow_id = ${flowId} and (node_id, record_id) in (select node_id, record_id from links where flow_id = ${flowId} limit ${chunk})`,
      chunk,
    );
    await this.db.deleteFrom('cursors').where('flow_id', '=', flowId).execute();
  }
}

// -----------------------------------------------------------------------------------------------------------------

interface CursorState {
  since: Version | null;
  seen: string[];
  /** `seen` as a set, while a pass advances the cursor. */
  seenIndex?: Set<string>;
}

async function loadCursor(db: Db, flowId: string, nodeId: string): Promise<CursorState> {
  const row = await db.selectFrom('cursors').selectAll().where('flow_id', '=', flowId).where('node_id', '=', nodeId).executeTakeFirst();
  if (!row) return { since: null, seen: [] };
  return { since: row.since === null ? null : (JSON.parse(row.since) as Version), seen: JSON.parse(row.seen) as string[] };
}

async function saveCursor(db: Db, flowId: string, nodeId: string, cursor: CursorState, now: Date): Promise<void> {
  const values = { since: cursor.since === null ? null : JSON.stringify(cursor.since), seen: JSON.stringify(cursor.seen), updated_at: now.toISOString() };
  await db
    .insertInto('cursors')
    .values({ flow_id: flowId, node_id: nodeId, ...values })
    .onConflict((oc) => oc.columns(['flow_id', 'node_id']).doUpdateSet(values))
    .execute();
}

/** Keeps the greatest version listed and the ids seen at exactly that version (SPEC §7). */
function advanceCursor(cursor: CursorState, record: SourceRecord): void {
  if (record.version === null) return;
  if (cursor.since === null || compareVersions(record.version, cursor.since) > 0) {
    cursor.since = record.version;
    cursor.seen = [record.id];
    cursor.seenIndex = new Set(cursor.seen);
  } else if (sameVersion(record.version, cursor.since)) {
    // A bulk import can give a million records one version: the set keeps this linear.
    cursor.seenIndex ??= new Set(cursor.seen);
    if (!cursor.seenIndex.has(record.id)) {
      cursor.seen.push(record.id);
      cursor.seenIndex.add(record.id);
    }
  }
}

function sameVersionOrNull(stored: string | null, version: Version | null): boolean {
  return stored === (version === null ? null : JSON.stringify(version));
}

function newEntityWork(part: CompiledPart, key: string | null, row: EntityRow | null = null): EntityWork {
  const sides = new Map<string, SideWork>();
  for (const trigger of part.triggers) {
    sides.set(trigger.nodeId, { trigger, link: null, newlyLinked: false, record: null, read: false, staged: false, projection: null, problem: null, shadow: null });
  }
  return {
    id: row?.id ?? timeOrderedUuid(),
    row,
    golden: row ? (JSON.parse(row.golden) as FlowRecord) : {},
    matchKey: key,
    sides,
    remerges: 0,
  };
}

function stagedFrom(part: CompiledPart, projection: Projection): StagedProjection {
  if (projection.kind === 'pass') return { projection: projection.record, problem: null, dropped: false, matchKey: matchKey(projection.record, part.conflict.match) };
  if (projection.kind === 'drop') return { projection: null, problem: projection.reason, dropped: true, matchKey: null };
  return { projection: null, problem: `node "${projection.error.nodeId}": ${projection.error.message}`, dropped: false, matchKey: null };
}

function attachStaged(item: EntityWork, side: SideWork, change: StagedChange, taken: Set<number>): void {
  taken.add(change.seq);
  side.read = true;
  side.staged = true;
  side.record = change.record;
  side.projection = change.projection;
  side.problem = change.dropped ? null : change.problem;
}

function setProjection(side: SideWork, projection: Projection): void {
  if (projection.kind === 'pass') side.projection = projection.record;
  else if (projection.kind === 'error') side.problem = `node "${projection.error.nodeId}": ${projection.error.message}`;
  else side.projection = null;
}

/**
 * A write carries only the leaves of a nested object that differ. A system that merges a partial object (an API's
 * PATCH) gets just those; one that stores the object as one value (a JSON column) would lose the other keys, so it
 * gets the whole object as it holds it, with the leaves changed.
 */
function wholeObjectsUnlessPartial(write: PlannedWrite, connector: Connector): PlannedWrite {
  if (write.op.kind !== 'update' || connector.capabilities.partialObjects) return write;
  const current = write.side.record?.fields ?? {};
  let fields: FlowRecord | null = null;
  for (const [field, value] of Object.entries(write.op.fields)) {
    const held = current[field];
    if (!isPlainObject(value) || !isPlainObject(held)) continue;
    fields ??= { ...write.op.fields };
    fields[field] = mergeLeaves(held, value);
  }
  return fields ? { ...write, op: { ...write.op, fields } } : write;
}

function deleteMeaning(connector: Connector): DeleteMeaning {
  return connector.capabilities.deletes ?? 'remove';
}

/** Whether the error, or an error it wraps (`cause`), is of this kind. */
/** The first error of this kind in an error's chain of causes. */
function causeOf<T extends Error>(error: unknown, kind: new (...args: never[]) => T): T | null {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    if (current instanceof kind) return current;
    current = (current as Error).cause;
  }
  return null;
}

function linkRow(pass: PassState, nodeId: string, recordId: string, entityId: string, shadow: FlowRecord | null, version: Version | null, stamp: string): LinkRow {
  return {
    flow_id: pass.flowId,
    node_id: nodeId,
    record_id: recordId,
    entity_id: entityId,
    shadow: shadow === null ? null : JSON.stringify(shadow),
    // Taken where a listing will compare it (snapshot.ts); elsewhere it would be paid for on every write and never read.
    shadow_hash: shadow !== null && pass.listedWhole.has(nodeId) ? shadowHash(shadow) : null,
    version: version === null ? null : JSON.stringify(version),
    deleted: 0,
    updated_at: stamp,
  };
}

/**
 * The link changes of one commit, applied as a few statements instead of one per link. Each link keeps the outcome
 * of the last decision about it, which is what the decisions would leave if each ran as its own statement.
 */
type LinkChange = { nodeId: string; recordId: string; kind: 'save'; row: LinkRow } | { nodeId: string; recordId: string; kind: 'remove' | 'tombstone' };

class LinkChanges {
  private readonly changes = new Map<string, LinkChange>();
  constructor(private readonly flowId: string) {}

  save(row: LinkRow): void {
    this.set(row.node_id, row.record_id, { nodeId: row.node_id, recordId: row.record_id, kind: 'save', row });
  }

  remove(nodeId: string, recordId: string): void {
    this.set(nodeId, recordId, { nodeId, recordId, kind: 'remove' });
  }

  /** Marks the link deleted, keeping what else it says. */
  tombstone(nodeId: string, recordId: string): void {
    const key = `${nodeId}\u0000${recordId}`;
    const earlier = this.changes.get(key);
    // A tombstone over a saved row is that row, deleted; over a removed link there is nothing left to mark.
    if (earlier?.kind === 'save') this.set(nodeId, recordId, { ...earlier, row: { ...earlier.row, deleted: 1 } });
    else if (earlier?.kind !== 'remove') this.set(nodeId, recordId, { nodeId, recordId, kind: 'tombstone' });
  }

  private set(nodeId: string, recordId: string, change: LinkChange): void {
    const key = `${nodeId}\u0000${recordId}`;
    this.changes.delete(key);
    this.changes.set(key, change);
  }

  /** Applies the changes; with `delta`, first adds to it how many live links each side gains (or loses). */
  async apply(tx: Db, delta: Map<string, number> | null): Promise<void> {
    if (delta) await this.countLiveChanges(tx, delta);
    const removed = new Map<string, string[]>();
    const tombstoned = new Map<string, string[]>();
    const saved: LinkRow[] = [];
    for (const change of this.changes.values()) {
      if (change.kind === 'save') saved.push(change.row);
      else {
        const target = change.kind === 'remove' ? removed : tombstoned;
        const ids = target.get(change.nodeId) ?? [];
        ids.push(change.recordId);
        target.set(change.nodeId, ids);
      }
    }
    for (const [nodeId, ids] of removed) await deleteLinks(tx, this.flowId, nodeId, ids);
    for (const [nodeId, ids] of tombstoned) await markLinksDeleted(tx, this.flowId, nodeId, ids);
    await upsertLinks(tx, saved);
  }

  private async countLiveChanges(tx: Db, delta: Map<string, number>): Promise<void> {
    const byNode = new Map<string, LinkChange[]>();
    for (const change of this.changes.values()) {
      const list = byNode.get(change.nodeId) ?? [];
      list.push(change);
      byNode.set(change.nodeId, list);
    }
    for (const [nodeId, changes] of byNode) {
      const liveBefore = await liveLinkedIds(tx, this.flowId, nodeId, changes.map((change) => change.recordId));
      let gained = 0;
      for (const change of changes) {
        const wasLive = liveBefore.has(change.recordId);
        const isLive = change.kind === 'save' && change.row.deleted === 0;
        gained += Number(isLive) - Number(wasLive);
      }
      delta.set(nodeId, (delta.get(nodeId) ?? 0) + gained);
    }
  }
}

async function flushLog(tx: Db, runId: string, log: RunLogEntry[]): Promise<void> {
  await insertMany(
    tx,
    'run_log',
    log.map((entry) => ({
      id: null,
      run_id: runId,
      node_id: entry.nodeId,
      record_id: entry.recordId,
      entity_id: entry.entityId,
      outcome: entry.outcome,
      fields: entry.fields.length ? JSON.stringify(entry.fields) : null,
      message: entry.message,
      at: entry.at,
    })),
  );
}

function newConflict(pass: PassState, entityId: string | null, kind: string, field: string | null, base: unknown, sides: Record<string, unknown>) {
  return {
    id: randomUUID(),
    flow_id: pass.flowId,
    entity_id: entityId,
    kind,
    field,
    base: base === undefined ? null : JSON.stringify(base),
    sides: JSON.stringify(sides),
    status: 'open',
    resolution: null,
    created_at: pass.now().toISOString(),
    resolved_at: null,
  };
}

function recordPlanned(pass: PassState, write: PlannedWrite): void {
  const planned = pass.plannedFor(write.side.trigger.nodeId);
  if (write.op.kind === 'create') {
    planned.creates.push({ id: null, fields: write.changes });
    pass.summary.created++;
  } else if (write.op.kind === 'update') {
    planned.updates.push({ id: write.op.id, fields: write.changes });
    pass.summary.updated++;
  } else {
    planned.deletes.push({ id: write.op.id });
    pass.summary.deleted++;
  }
}

function runView(row: { id: string; flow_id: string; started_at: string; finished_at: string | null; status: string; reason: string; dry_run: number; summary: string | null; error: string | null }): RunView {
  return {
    id: row.id,
    flowId: row.flow_id,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: row.status as RunView['status'],
    reason: row.reason as RunView['reason'],
    dryRun: row.dry_run === 1,
    summary: row.summary ? (JSON.parse(row.summary) as PassSummary) : null,
    error: row.error,
  };
}

function conflictView(row: ConflictRow): ConflictView {
  return {
    id: row.id,
    flowId: row.flow_id,
    entityId: row.entity_id,
    kind: row.kind as ConflictView['kind'],
    field: row.field,
    base: row.base === null ? null : (JSON.parse(row.base) as unknown),
    sides: JSON.parse(row.sides) as Record<string, unknown>,
    status: row.status as ConflictStatus,
    resolution: row.resolution ? (JSON.parse(row.resolution) as ConflictResolution) : null,
    createdAt: row.created_at,
    resolvedAt: row.resolved_at,
  };
}
