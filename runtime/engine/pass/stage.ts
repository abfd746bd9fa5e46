/**
 * Staging: what changed on each side since the last pass (its listing since the cursor, a whole listing, webhook
 * hints, the records that failed before), projected into the conflict node's vocabulary and kept in the pass's
 * staging until their entities are merged. The runtime's own writes and records exactly as the last pass left them
 * are dropped here, before they cost a merge.
 */
import type { FlowRecord } from '../../../nodes/types';
import type { Connector, SourceRecord } from '../../connectors/types';
import { resolvedConflictEntityIds } from '../../db/conflictQueries';
import { failingOfFlow } from '../../db/failingQueries';
import { linksByRecord, sideHasLinks } from '../../db/queries';
import type { LinkRow } from '../../db/schema';
import type { CompiledPart, CompiledTrigger } from '../graph';
import { projectIn, type Projection } from '../projection';
import { hardDeletesFrom, hintsMayCreate, listsWhole, stageSnapshot } from '../snapshot';
import type { ChangeStaging, StagedProjection } from '../staging';
import type { ChangeHint, PassOptions } from '../types';
import { matchKey, sameValue } from '../values';
import type { EngineContext } from './context';
import { advanceCursor, loadCursor, seenAtCursor, type CursorState } from './cursor';
import { openKeyConflicts } from './conflicts';
import { countWrittenEchoes, dropTaggedEchoes, isOwnTag } from './echoes';
import { sameStoredVersion } from './linkChanges';
import { triggerError } from './passErrors';
import type { PassState } from './passState';
import { filteredOut } from './skips';
import { allSettledOrThrow } from '../../util/promises';

type StageContext = Pick<EngineContext, 'db' | 'limits'>;
type StagedEntry = { record: SourceRecord } & StagedProjection;

/** Lists every trigger since its cursor, drops echoes, projects the rest in and stages them; returns the cursors moved on. */
export async function stageChanges(
  ctx: StageContext & Pick<EngineContext, 'logger'>,
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
      if (!options.hints) await stageWhole(ctx, part, trigger, connector, staging, pass, pageSize, options);
      continue;
    }
    cursors.set(trigger.nodeId, await stageSinceCursor(ctx, part, trigger, connector, staging, pass, pageSize, options));
    pass.listed.add(trigger.nodeId);
  }
  return cursors;
}

/** Lists one side from its cursor to its end and stages what changed; returns where the next pass resumes. */
async function stageSinceCursor(
  ctx: StageContext,
  part: CompiledPart,
  trigger: CompiledTrigger,
  connector: Connector,
  staging: ChangeStaging,
  pass: PassState,
  pageSize: number,
  options: PassOptions,
): Promise<CursorState> {
  const cursor = await loadCursor(ctx.db, pass.flowId, trigger.nodeId);
  const seenAtStart = new Set(cursor.seen);
  let position = { since: connector.capabilities.incremental ? cursor.since : null, afterId: null as string | null };
  const next: CursorState = { since: cursor.since, seen: [...cursor.seen] };
  // A side with no link yet (its first import) has no echo and nothing unchanged to drop: no page asks for its links.
  // This pass links nothing while it stages; a link another pass commits meanwhile costs a merge that changes nothing.
  const linked = await sideHasLinks(ctx.db, pass.flowId, trigger.nodeId);
  let read = 0;
  for (;;) {
    let page;
    try {
      page = await connector.listSince(position, pageSize);
    } catch (caught) {
      throw triggerError(trigger.nodeId, `cannot list changes: ${caught instanceof Error ? caught.message : String(caught)}`, caught);
    }
    // A record seen at the cursor's exact version is dropped unread (SPEC §7), except from systems whose versions
    // are coarse and whose feeds are re-read with a lookback: there a person's edit in the same second as the
    // runtime's write has the same version, and only the comparison with the shadow tells it apart.
    const fresh = connector.capabilities.lookbackMs ? page.records : page.records.filter((record) => !seenAtCursor(cursor, seenAtStart, record));
    await stageRecords(ctx, part, trigger, fresh, staging, pass, { dropUnchanged: true, linked });
    for (const record of page.records) advanceCursor(next, record);
    read += page.records.length;
    options.onProgress?.({ nodeId: trigger.nodeId, read, written: 0 });
    if (!page.next) break;
    position = page.next;
  }
  return next;
}

/**
 * A side without a change feed (or without an incremental listing) is listed whole, and only the records that differ
 * from their shadows are staged; the listing finds its hard deletes too (snapshot.ts).
 */
async function stageWhole(
  ctx: StageContext & Pick<EngineContext, 'logger'>,
  part: CompiledPart,
  trigger: CompiledTrigger,
  connector: Connector,
  staging: ChangeStaging,
  pass: PassState,
  pageSize: number,
  options: PassOptions,
): Promise<void> {
  const nodeId = trigger.nodeId;
  const outcome = await stageSnapshot({
    db: ctx.db,
    flowId: pass.flowId,
    nodeId,
    connector,
    staging,
    pageSize,
    dryRun: pass.dryRun,
    findDeletes: hardDeletesFrom(connector.capabilities, trigger.config) === 'listing',
    project: (record) => stagedProjection(ctx, part, trigger, record),
    echo: (recordId, entityId) => {
      pass.summary.echoes++;
      pass.record(nodeId, recordId, entityId, 'echo', [], 'own write, equal to its shadow');
    },
    progress: (read) => options.onProgress?.({ nodeId, read, written: 0 }),
  });
  pass.listed.add(nodeId);
  pass.wholeListings.set(nodeId, outcome);
  ctx.logger?.info({ flowId: pass.flowId, runId: pass.runId, nodeId, ...outcome }, 'listed whole');
}

/** In a hint pass, lists the sides listed whole that it left out, when it may create records there (snapshot.ts). */
export async function listWholeBeforeCreating(
  ctx: StageContext & Pick<EngineContext, 'logger'>,
  part: CompiledPart,
  connectors: Map<string, Connector>,
  staging: ChangeStaging,
  pass: PassState,
  pageSize: number,
  options: PassOptions,
): Promise<void> {
  const unlisted = part.triggers.filter((trigger) => pass.listedWhole.has(trigger.nodeId) && !pass.listed.has(trigger.nodeId));
  const nodeIds = unlisted.map((trigger) => trigger.nodeId);
  if (!(await hintsMayCreate(ctx.db, pass.flowId, staging, part.conflict.match, nodeIds, pass.revisit))) return;
  for (const trigger of unlisted) await stageWhole(ctx, part, trigger, connectors.get(trigger.nodeId) as Connector, staging, pass, pageSize, options);
}

/** Stages records of one side after dropping the runtime's own writes (SPEC §6, tags). */
async function stageRecords(
  ctx: StageContext,
  part: CompiledPart,
  trigger: CompiledTrigger,
  records: SourceRecord[],
  staging: ChangeStaging,
  pass: PassState,
  /** `linked: false`: the side has no link at all, so there is nothing to look up. */
  options: { dropUnchanged: boolean; linked?: boolean },
): Promise<void> {
  if (records.length === 0) return;
  // One read of the page's links serves both checks: the tagged echoes and the records as their links left them.
  const wanted = options.linked === false ? [] : options.dropUnchanged ? records : records.filter((record) => isOwnTag(pass, record));
  const links = new Map<string, LinkRow>();
  if (wanted.length > 0) for (const link of await linksByRecord(ctx.db, pass.flowId, trigger.nodeId, wanted.map((record) => record.id))) links.set(link.record_id, link);
  let entries: StagedEntry[] = [];
  for (const record of dropTaggedEchoes(pass, trigger.nodeId, records, links)) {
    const staged = stagedProjection(ctx, part, trigger, record);
    entries.push({ record, ...(staged instanceof Promise ? await staged : staged) });
  }
  if (options.dropUnchanged) entries = dropUnchanged(trigger, entries, pass, links);
  staging.add(trigger.nodeId, entries);
}

/**
 * Drops listed records that are exactly as the last pass left them: the same version as their link and a projection
 * equal to its shadow. Merging such a record changes nothing, and on a side that cannot store tags every record the
 * runtime writes comes back like this once (an untagged echo, SPEC §6): recognising it here spares it the entity
 * load, the read of the other sides and the merge. Records retried after a failure are never dropped this way.
 */
function dropUnchanged(trigger: CompiledTrigger, entries: StagedEntry[], pass: PassState, links: ReadonlyMap<string, LinkRow>): StagedEntry[] {
  const unchanged = new Map<StagedEntry, LinkRow>();
  for (const entry of entries) {
    if (entry.record.deleted || entry.record.version === null || entry.projection === null) continue;
    const link = links.get(entry.record.id);
    if (!link || link.deleted || link.shadow === null || !sameStoredVersion(link.version, entry.record.version)) continue;
    if (sameValue(JSON.parse(link.shadow) as FlowRecord, entry.projection)) unchanged.set(entry, link);
  }
  if (unchanged.size === 0) return entries;
  countWrittenEchoes(pass, trigger.nodeId, [...unchanged].map(([entry, link]) => ({ record: entry.record, link })));
  return entries.filter((entry) => !unchanged.has(entry));
}

/** A record projected into the conflict node's vocabulary, as staging keeps it; synchronous while the path is (no promise per record). */
function stagedProjection(ctx: Pick<EngineContext, 'limits'>, part: CompiledPart, trigger: CompiledTrigger, record: SourceRecord): StagedProjection | Promise<StagedProjection> {
  if (record.deleted) return { projection: null, problem: null, dropped: false, matchKey: null };
  const projection = projectIn(trigger, record.fields, ctx.limits);
  return projection instanceof Promise ? projection.then((settled) => stagedFrom(part, settled)) : stagedFrom(part, projection);
}

function stagedFrom(part: CompiledPart, projection: Projection): StagedProjection {
  if (projection.kind === 'pass') return { projection: projection.record, problem: null, dropped: false, matchKey: matchKey(projection.record, part.conflict.match) };
  // A dropped record's `problem` is why, in the words the run log gives it (it is no failure: nothing retries it).
  if (projection.kind === 'drop') return { projection: null, problem: filteredOut(projection.by), dropped: true, matchKey: null };
  return { projection: null, problem: `node "${projection.error.nodeId}": ${projection.error.message}`, dropped: false, matchKey: null };
}

/**
 * Webhook hints: read each hinted record now, so late or reordered deliveries cannot bring back old values. A record
 * this pass has just listed and staged is not read again: every hint was received before the pass began, so the
 * listing already saw the change it stands for.
 */
export async function stageHints(ctx: StageContext, part: CompiledPart, connectors: Map<string, Connector>, staging: ChangeStaging, pass: PassState, hints: ChangeHint[]): Promise<void> {
  const reads = part.triggers
    .map((trigger) => ({ trigger, ids: [...new Set(hints.filter((hint) => hint.nodeId === trigger.nodeId && !staging.get(trigger.nodeId, hint.recordId)).map((hint) => hint.recordId))] }))
    .filter(({ ids }) => ids.length > 0);
  // Every side's hinted records at once (separate systems, as a page's reads: link.ts readUnreadSides), staged in the
  // document's order.
  const founds = await allSettledOrThrow(reads.map(({ trigger, ids }) => (connectors.get(trigger.nodeId) as Connector).getMany(ids)));
  for (const [index, { trigger, ids }] of reads.entries()) {
    const found = founds[index] as Map<string, SourceRecord>;
    const records = ids.map((id) => found.get(id) ?? { id, version: null, tag: null, deleted: true, fields: {} });
    await stageRecords(ctx, part, trigger, records, staging, pass, { dropUnchanged: true });
  }
}

/**
 * Records that failed before are read again on every pass (SPEC §7); failing entities are revisited, and so are
 * entities whose create waits for a key to be freed (a key conflict).
 */
export async function stageRetries(ctx: StageContext, part: CompiledPart, connectors: Map<string, Connector>, staging: ChangeStaging, pass: PassState): Promise<void> {
  const failing = await failingOfFlow(ctx.db, pass.flowId);
  if (failing.length > 0) pass.mayHaveFailing = true;
  for (const entityId of await resolvedConflictEntityIds(ctx.db, pass.flowId)) pass.revisit.add(entityId);
  await openKeyConflicts(ctx.db, pass);
  for (const trigger of part.triggers) {
    const ids: string[] = [];
    for (const row of failing) {
      if (row.node_id !== trigger.nodeId) continue;
      if (row.entity_id) pass.revisit.add(row.entity_id);
      else if (!staging.get(trigger.nodeId, row.record_id)) ids.push(row.record_id);
    }
    if (ids.length === 0) continue;
    const found = await (connectors.get(trigger.nodeId) as Connector).getMany(ids);
    await stageRecords(ctx, part, trigger, [...found.values()], staging, pass, { dropUnchanged: false });
  }
}
