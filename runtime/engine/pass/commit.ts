/**
 * Committing a page (SPEC §6): first the write-ahead (golden records, and one journal row holding the page's intended
 * writes and the records it links, in one transaction), then the writes, side by side, then one transaction that
 * records what they did: links saved with their shadows and the write each record got, failures filed, the run's log
 * appended, the page's journal row deleted. A process that dies between the two leaves that row for the next pass's
 * recovery (recovery.ts).
 */
import type { FlowRecord } from '../../../nodes/types';
import { ConnectorError, RateLimitedError, type Connector, type SourceRecord, type Version, type WriteResult } from '../../connectors/types';
import { sameVersion } from '../../connectors/versions';
import { clearFailing, insertMany, saveEntityRows, type Db } from '../../db/queries';
import { appendRunLog } from '../../db/runQueries';
import type { EntityRow, LinkRow } from '../../db/schema';
import { appendWriteAhead, rewriteWriteAhead, type PendingLink, type PendingWrite } from '../../db/writeAheadQueries';
import { writeId } from '../ids';
import { projectIn } from '../projection';
import { withRetries } from '../retry';
import { sameValue, sameWrittenContent, writtenContentHash } from '../values';
import { closeSettledKeyConflicts, failRecord, fileBreaker, fileDeleteConflict, fileFieldConflict, fileKeyConflict, keyHolders, type KeySide } from './conflicts';
import type { EngineContext } from './context';
import { LinkChanges, linkRow, sameStoredVersion } from './linkChanges';
import { MAX_REMERGES, type EntityWork, type PassState, type PlannedWrite, type SideWork } from './passState';
import { deleteMeaning, type PagePlan } from './plan';
import { groupInto } from '../../util/collections';
import { allSettledOrThrow } from '../../util/promises';
import { sideRecordKey } from '../../util/keys';

type CommitContext = Pick<EngineContext, 'db' | 'now' | 'limits' | 'retry' | 'afterSideWrites'>;

/** Journals, makes and commits a planned page's writes (see the top of this file). */
export async function commitPage(ctx: CommitContext, connectors: Map<string, Connector>, work: EntityWork[], plan: PagePlan, pass: PassState): Promise<void> {
  const journal = await writeAhead(ctx, connectors, plan, pass);
  const sent = new Map<PlannedWrite, FlowRecord>();
  for (const write of plan.writes) sent.set(write, write.after);
  const results = await executeWrites(ctx, connectors, plan.writes);
  await readBackCreated(connectors, plan.writes, results);
  const holders = await keyHolders(ctx, connectors, results);
  await ctx.db.transaction().execute(async (tx) => {
    const stamp = ctx.now().toISOString();
    // What happens to each link, in the order it was decided; a later decision about the same link replaces an
    // earlier one, as running the statements one by one would.
    const linkChanges = new LinkChanges(pass.flowId);
    // The links the write-ahead promised, first: any later decision about the same link replaces it.
    for (const link of journal.links) linkChanges.save({ ...linkRow(pass, link.nodeId, link.recordId, link.entityId, null, null, stamp), version: link.version });
    const outcome = new WriteOutcomes(tx, connectors, pass, holders);
    for (const write of plan.writes) await outcome.settle(write, results.get(write) as WriteResult, journal.writes.get(write), sent.get(write) as FlowRecord, linkChanges);
    // A create whose outcome is unknown stays journaled, as if the pass had died there: the next pass adopts what it
    // made, if anything (recovery.ts), instead of creating it a second time. The rest of the page is settled.
    await rewriteWriteAhead(tx, { page: journal.page, flowId: pass.flowId, createdAt: journal.createdAt, writes: createsOfUnknownOutcome(plan.writes, results, journal), links: [] });
    // Only once a pass has failing records is there anything to clear (PassState.mayHaveFailing).
    if (pass.mayHaveFailing) await clearRecovered(tx, pass, work, plan, outcome.cleared);
    // Shadows: what each side now holds, projected in. Sides not written keep the projection just read.
    for (const entry of outcome.shadows) {
      const projected = projectIn(entry.side.trigger, entry.after, ctx.limits);
      const projection = projected instanceof Promise ? await projected : projected;
      linkChanges.save(linkRow(pass, entry.side.trigger.nodeId, entry.recordId, entry.entity.id, projection.kind === 'pass' ? projection.record : null, entry.version, stamp, entry.written));
    }
    const written = new Set(outcome.shadows.map((entry) => entry.side));
    if (pass.keyConflicts.size > 0) await closeSettledKeyConflicts(tx, pass, work, written, plan.deletedEntities);
    for (const item of work) {
      if (plan.skipped.has(item) || plan.breakerTripped.has(item)) continue;
      for (const side of item.sides.values()) if (!written.has(side)) saveUnwrittenLink(linkChanges, pass, plan, item, side, stamp);
    }
    await linkChanges.apply(tx, pass.linkDelta);
    await appendRunLog(tx, pass.runId as string, pass.log.splice(0));
  });
}

/** What a page's write-ahead journaled: its row's id, the entry of each create and update, the links it promised. */
interface Journaled {
  page: string;
  createdAt: string;
  writes: Map<PlannedWrite, PendingWrite>;
  links: PendingLink[];
}

/** Write-ahead: golden records, and the page's journal row (intended writes, records linked), before any write. */
async function writeAhead(ctx: Pick<EngineContext, 'db' | 'now'>, connectors: Map<string, Connector>, plan: PagePlan, pass: PassState): Promise<Journaled> {
  const stamp = ctx.now().toISOString();
  const journaled: Journaled = { page: writeId(), createdAt: stamp, writes: new Map(), links: [] };
  const rows = entityRows(plan, pass, stamp);
  for (const row of rows.links) journaled.links.push({ nodeId: row.node_id, recordId: row.record_id, entityId: row.entity_id, version: row.version });
  for (const write of plan.writes) {
    if (write.op.kind === 'delete') continue;
    journaled.writes.set(write, pendingWrite(connectors, write, write.op.tag, write.op.kind === 'update' ? write.op.id : null));
  }
  await ctx.db.transaction().execute(async (tx) => {
    await insertMany(tx, 'entities', rows.created);
    await saveEntityRows(tx, rows.saved);
    await appendWriteAhead(tx, { page: journaled.page, flowId: pass.flowId, createdAt: stamp, writes: [...journaled.writes.values()], links: journaled.links });
    for (const item of plan.breakerTripped) await fileBreaker(tx, pass, item);
    for (const item of plan.deleteConflicts) await fileDeleteConflict(tx, pass, item);
    for (const { entity, conflict } of plan.newConflicts) await fileFieldConflict(tx, pass, entity, conflict);
  });
  return journaled;
}

/** The journal entries of the page's creates that failed in a way that may have made the record all the same. */
function createsOfUnknownOutcome(writes: readonly PlannedWrite[], results: ReadonlyMap<PlannedWrite, WriteResult>, journal: Journaled): PendingWrite[] {
  const entries: PendingWrite[] = [];
  for (const write of writes) {
    const result = results.get(write);
    const entry = journal.writes.get(write);
    if (write.op.kind === 'create' && entry && result && !result.ok && result.reason === 'failed' && result.mayHaveApplied) entries.push(entry);
  }
  return entries;
}

/** The entity rows a page changes (new ones are given their row), and the links of the records it newly linked. */
function entityRows(plan: PagePlan, pass: PassState, stamp: string): { created: EntityRow[]; saved: EntityRow[]; links: LinkRow[] } {
  const created: EntityRow[] = [];
  const saved: EntityRow[] = [];
  const links: LinkRow[] = [];
  const save = (item: EntityWork, deleted: boolean) => {
    const golden = JSON.stringify(item.golden);
    // Where its values came from goes in the same row, so keeping it costs no statement and no row of its own.
    const provenance = item.provenance;
    if (item.row) {
      saved.push({ ...item.row, golden, provenance, deleted: deleted ? 1 : 0, updated_at: stamp });
      return;
    }
    const row = { id: item.id, flow_id: pass.flowId, golden, provenance, match_key: item.matchKey, breaker_window_start: stamp, breaker_writes: 0, quarantined: 0, created_at: stamp, updated_at: stamp, sides: '{}' };
    created.push({ ...row, deleted: deleted ? 1 : 0 });
    item.row = { ...row, deleted: 0 };
  };
  const updated = new Set<EntityWork>();
  for (const item of plan.entityUpdates) {
    if (plan.skipped.has(item)) continue;
    updated.add(item);
    save(item, plan.deletedEntities.has(item));
    // Newly linked records are linked (in the page's journal row) before anything is written, without a shadow: if
    // the process dies mid-write, the next pass finds them linked and merges them as just linked instead of creating
    // twice.
    for (const side of item.sides.values()) {
      if (side.newlyLinked && side.record && !side.link) links.push(linkRow(pass, side.trigger.nodeId, side.record.id, item.id, null, side.record.version, stamp));
    }
  }
  for (const item of plan.deletedEntities) if (!updated.has(item)) save(item, true);
  return { created, saved, links };
}

/** The journal entry of a create or update (PendingWrite). */
function pendingWrite(connectors: Map<string, Connector>, write: PlannedWrite, tag: string, recordId: string | null): PendingWrite {
  return {
    tag,
    nodeId: write.side.trigger.nodeId,
    entityId: write.entity.id,
    recordId,
    hash: writtenContentHash(write.after),
    // What an interrupted write left is measured against what it sent: an update is found by its tag (only on
    // sides that store one, adoptInterruptedWrites), a create on any side (adoptInterruptedCreates).
    written: write.op.kind === 'create' || (connectors.get(write.side.trigger.nodeId) as Connector).capabilities.tags ? write.after : null,
  };
}

/**
 * Makes the writes, each side's in one batch (retried as the retry policy says), all sides at once: they are separate
 * systems (a connector per trigger), so a page of a hub costs its slowest side's round trips, not their sum. The page's
 * journal row already holds every write, so a crash leaves whatever subset landed to recovery, as it would one side's
 * half-made batch. Waits for every side before it throws a side's error: nothing of the pass is still writing when it
 * ends.
 */
async function executeWrites(ctx: Pick<EngineContext, 'retry' | 'afterSideWrites'>, connectors: Map<string, Connector>, writes: PlannedWrite[]): Promise<Map<PlannedWrite, WriteResult>> {
  const results = new Map<PlannedWrite, WriteResult>();
  const bySide = new Map<string, PlannedWrite[]>();
  for (const write of writes) groupInto(bySide, write.side.trigger.nodeId, write);
  await allSettledOrThrow(
    [...bySide].map(async ([nodeId, sideWrites]) => {
      const connector = connectors.get(nodeId) as Connector;
      const outcomes = await withRetries(ctx.retry, sideWrites.map((write) => write.op), (ops) => connector.write(ops));
      sideWrites.forEach((write, index) => results.set(write, outcomes[index] as WriteResult));
      ctx.afterSideWrites?.(nodeId);
    }),
  );
  return results;
}

/**
 * A created record holds what the system filled in besides what was written (defaults, nulls): its shadow and its
 * echo must be what the system will report. A connector that returns the stored record with the create
 * (`createdRecords`) has told it already; the others' creates are read back.
 */
async function readBackCreated(connectors: Map<string, Connector>, writes: PlannedWrite[], results: Map<PlannedWrite, WriteResult>): Promise<void> {
  const bySide = new Map<string, Map<string, PlannedWrite>>();
  for (const write of writes) {
    const result = results.get(write);
    if (write.op.kind !== 'create' || !result?.ok) continue;
    if (result.record && (connectors.get(write.side.trigger.nodeId) as Connector).capabilities.createdRecords) {
      if (!result.record.deleted) write.after = result.record.fields;
      continue;
    }
    const created = bySide.get(write.side.trigger.nodeId) ?? new Map<string, PlannedWrite>();
    created.set(result.id, write);
    bySide.set(write.side.trigger.nodeId, created);
  }
  // Every side at once, as the writes went.
  const sides = [...bySide];
  const founds = await Promise.allSettled(sides.map(([nodeId, created]) => (connectors.get(nodeId) as Connector).getMany([...created.keys()])));
  for (const [index, [, created]] of sides.entries()) {
    const outcome = founds[index] as PromiseSettledResult<Map<string, SourceRecord>>;
    if (outcome.status === 'rejected') {
      // The creates are made: a system that refuses the read (its rate limit reached, a network failure) must not
      // keep them from being counted, logged and linked. They keep what was sent as their shadow; what the system
      // filled in besides comes back with the next listing, as a change of that side.
      if (outcome.reason instanceof ConnectorError || outcome.reason instanceof RateLimitedError) continue;
      throw outcome.reason;
    }
    const found = outcome.value;
    for (const [id, write] of created) {
      const record = found.get(id);
      const result = results.get(write) as Extract<WriteResult, { ok: true }>;
      // Only the record as created: one a person edited since (a later version) keeps that edit as its own change.
      if (record && !record.deleted && (result.version === null || record.version === null || sameVersion(record.version, result.version))) write.after = record.fields;
    }
  }
}

/** What the writes of a page did, gathered for one commit. */
class WriteOutcomes {
  /** Per side: records (or `entity:<id>`) no longer failing. */
  readonly cleared = new Map<string, string[]>();
  /** The records written, each with the write it got (its tag and the hash of what it now holds), for their links. */
  readonly shadows: Array<{ side: SideWork; entity: EntityWork; recordId: string; after: FlowRecord; version: Version | null; written: { tag: string; hash: string } }> = [];

  constructor(
    private readonly tx: Db,
    private readonly connectors: Map<string, Connector>,
    private readonly pass: PassState,
    /** The records holding the keys of creates that came back `taken` (conflicts.ts keyHolders). */
    private readonly keyHolders: Map<PlannedWrite, KeySide>,
  ) {}

  /**
   * Counts, logs and records the outcome of one write (`sent`: what it was to write, before any read back); a side
   * that changed meanwhile is merged again (SPEC §5.5). Writes that made nothing need no word to the journal: the
   * page's row goes with the commit.
   */
  async settle(write: PlannedWrite, result: WriteResult, pending: PendingWrite | undefined, sent: FlowRecord, linkChanges: LinkChanges): Promise<void> {
    const { pass } = this;
    const nodeId = write.side.trigger.nodeId;
    const recordId = write.op.kind === 'create' ? null : write.op.id;
    if (result.ok) {
      if (write.op.kind === 'delete') {
        pass.summary.deleted++;
        pass.record(nodeId, recordId, write.entity.id, 'deleted');
        // A closed or archived record is still listed: its tombstone link keeps it from coming back as new.
        if (deleteMeaning(this.connectors.get(nodeId) as Connector) === 'remove') linkChanges.remove(nodeId, write.op.id);
        else linkChanges.tombstone(nodeId, write.op.id);
      } else {
        this.written(pass, write, result, pending as PendingWrite, sent);
      }
      if (pass.mayHaveFailing) this.clear(nodeId, recordId ?? `entity:${write.entity.id}`, `entity:${write.entity.id}`);
      // Linked with what it holds (read back): the entity's revisit on the next pass writes the difference.
      if (result.incomplete !== undefined) await failRecord(this.tx, pass, nodeId, result.id, write.entity.id, `${write.op.kind} incomplete: ${result.incomplete}`);
    } else if (result.reason === 'taken') {
      // Nothing was written: the key belongs to another record there until a person frees it.
      await fileKeyConflict(this.tx, pass, write, this.keyHolders.get(write));
    } else if (result.reason === 'changed' && write.entity.remerges < MAX_REMERGES) {
      // The side changed between our read and our write: read it again and merge again (SPEC §5.5).
      pass.revisit.add(write.entity.id);
      write.side.read = false;
    } else {
      const message = result.reason === 'failed' ? result.message : result.reason === 'changed' ? 'the record kept changing during the pass' : 'the record no longer exists';
      await failRecord(this.tx, pass, nodeId, recordId ?? `entity:${write.entity.id}`, write.entity.id, `${write.op.kind} failed: ${message}`);
    }
  }

  /** A create or update made: counted and logged, its side's shadow and the write it got to be saved on its link. */
  private written(pass: PassState, write: PlannedWrite, result: Extract<WriteResult, { ok: true }>, pending: PendingWrite, sent: FlowRecord): void {
    const nodeId = write.side.trigger.nodeId;
    if (write.op.kind === 'create') pass.summary.created++;
    else pass.summary.updated++;
    pass.record(nodeId, result.id, write.entity.id, write.op.kind === 'create' ? 'created' : 'updated', write.changes);
    // The hash taken before the write still holds unless the created record, read back, holds something else.
    const hash = sent === write.after || sameWrittenContent(sent, write.after) ? pending.hash : writtenContentHash(write.after);
    this.shadows.push({ side: write.side, entity: write.entity, recordId: result.id, after: write.after, version: result.version, written: { tag: pending.tag, hash } });
  }

  private clear(nodeId: string, ...ids: string[]): void {
    for (const id of ids) groupInto(this.cleared, nodeId, id);
  }
}

/** A record that failed before and went through this time is no longer failing. */
async function clearRecovered(tx: Db, pass: PassState, work: EntityWork[], plan: PagePlan, cleared: Map<string, string[]>): Promise<void> {
  for (const item of work) {
    if (plan.skipped.has(item) || plan.breakerTripped.has(item)) continue;
    for (const side of item.sides.values()) {
      if (!side.record) continue;
      const nodeId = side.trigger.nodeId;
      // A create that failed is filed under its entity: a record there now (adopted from a create whose answer was
      // lost, or linked by match) settles it, unless this pass failed that side again.
      const entityKey = `entity:${item.id}`;
      if (!side.record.deleted && !pass.failedRecords.has(sideRecordKey(nodeId, entityKey))) groupInto(cleared, nodeId, entityKey);
      if (!side.staged || pass.failedRecords.has(sideRecordKey(nodeId, side.record.id))) continue;
      groupInto(cleared, nodeId, side.record.id);
    }
  }
  for (const [nodeId, ids] of cleared) await clearFailing(tx, pass.flowId, nodeId, ids);
}

/** The link of a side this page did not write: retired, unlinked, or synced as read (unless it is as its link says). */
function saveUnwrittenLink(linkChanges: LinkChanges, pass: PassState, plan: PagePlan, item: EntityWork, side: SideWork, stamp: string): void {
  if (!side.link && !side.newlyLinked) return;
  if (plan.retired.has(side) && side.record) {
    linkChanges.save({ ...linkRow(pass, side.trigger.nodeId, side.record.id, item.id, side.projection, side.record.version, stamp), deleted: 1 });
    return;
  }
  if (plan.unlinkDeleted.has(side)) {
    if (plan.deletedEntities.has(item)) linkChanges.remove(side.trigger.nodeId, side.link?.record_id ?? '');
    else linkChanges.tombstone(side.trigger.nodeId, side.link?.record_id ?? '');
    return;
  }
  if (!side.record || side.record.deleted || !side.projection) return;
  const unchanged = side.link && side.shadow && sameValue(side.shadow, side.projection) && sameStoredVersion(side.link.version, side.record.version);
  if (unchanged && !side.newlyLinked) return;
  linkChanges.save(linkRow(pass, side.trigger.nodeId, side.record.id, item.id, side.projection, side.record.version, stamp));
}
