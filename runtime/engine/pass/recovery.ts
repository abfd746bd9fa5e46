/**
 * Crash recovery (SPEC §5, §6). A pass journals every intended write before it makes it and commits the
 * links after. A process that dies in between leaves, for each create, a pending journal entry and perhaps a record
 * on the side that nothing links to. Creating again would duplicate it; so before a pass plans any write, each such
 * record is found among the changes the pass staged (the dead pass never saved its cursors, so every side lists
 * them again) and adopted by the entity it was made for. Updates are recovered alike: a record that carries the tag of
 * a pending update is taken to be in sync as of that write.
 */
import type { FlowRecord } from '../../../nodes/types';
import type { Connector } from '../../connectors/types';
import { completeJournal, entitiesById, journalByTags, linksByRecord, pendingCreates } from '../../db/queries';
import type { EntityRow, JournalRow } from '../../db/schema';
import type { CompiledPart, CompiledTrigger } from '../graph';
import { projectIn, projectOut } from '../projection';
import { listingHeldAll } from '../snapshot';
import type { ChangeStaging, StagedChange } from '../staging';
import { writtenContentHash } from '../values';
import type { EngineContext } from './context';
import { LinkChanges, linkRow } from './linkChanges';
import { DEFAULT_PAGE_SIZE, type EntityWork, type PassState, type SideWork } from './passState';
import { entitySideKey } from '../../util/keys';

/** A create journaled by a pass that never committed it. */
export interface InterruptedCreate {
  tag: string;
  nodeId: string;
  entityId: string;
  /** The journal's hash of what was to be written (`writtenContentHash`). */
  hash: string;
  /** The entity's match values, when the conflict node matches on fields. */
  matchKey: string | null;
}

/** A staged record that no link claims: what might be the record an interrupted create made. */
export interface OrphanCandidate {
  nodeId: string;
  recordId: string;
  tag: string | null;
  /** `writtenContentHash` of the record's fields as read. */
  contentHash: string;
  matchKey: string | null;
}

/**
 * Which record each interrupted create made, by journal tag. The evidence, strongest first, each round claiming
 * records before the next looks: the record carries the create's tag (sides that store tags); it holds exactly what
 * was written, with the entity's match values where it has some (the write itself is the marker on sides that store
 * nothing of ours); it alone on its side has the entity's match values. A create with more than one candidate at
 * its strongest evidence is left unmatched rather than guessed: linking by match values reports that ambiguity.
 */
export function matchInterruptedCreates(creates: readonly InterruptedCreate[], candidates: readonly OrphanCandidate[]): Map<string, OrphanCandidate> {
  const matched = new Map<string, OrphanCandidate>();
  const claimed = new Set<OrphanCandidate>();
  const open = () => creates.filter((create) => !matched.has(create.tag));
  const rounds: Array<(create: InterruptedCreate, candidate: OrphanCandidate) => boolean> = [
    (create, candidate) => candidate.tag === create.tag,
    (create, candidate) => candidate.tag === null && candidate.contentHash === create.hash && (create.matchKey === null || candidate.matchKey === create.matchKey),
    (create, candidate) => candidate.tag === null && create.matchKey !== null && candidate.matchKey === create.matchKey,
  ];
  for (const fits of rounds) {
    const found = new Map<InterruptedCreate, OrphanCandidate[]>();
    for (const create of open()) {
      found.set(
        create,
        candidates.filter((candidate) => candidate.nodeId === create.nodeId && !claimed.has(candidate) && fits(create, candidate)),
      );
    }
    // A record that fits two creates is the evidence of neither.
    const fitsMany = new Set<OrphanCandidate>();
    const seen = new Set<OrphanCandidate>();
    for (const list of found.values()) for (const candidate of list) (seen.has(candidate) ? fitsMany : seen).add(candidate);
    for (const [create, list] of found) {
      const only = list.length === 1 ? (list[0] as OrphanCandidate) : null;
      if (!only || fitsMany.has(only)) continue;
      matched.set(create.tag, only);
      claimed.add(only);
    }
  }
  return matched;
}

/**
 * Adopts what dead passes created: before anything is planned, each record an interrupted create made is linked to
 * its entity and its journal entry completed. Its shadow is what the create sent: the side was in sync as of that
 * write, so only what changed on it since (an edit after the crash) counts as its change, and a golden record that a
 * later interrupted pass moved on is not mistaken for the side's edit. A create that made nothing, on a side this
 * pass listed, is forgotten and its entity merged again, which creates it once (its entry goes when that merge is
 * done); on a side not listed, or listed whole by a listing that passed records by (snapshot.ts, listingHeldAll), it
 * stays pending and blocks a second create.
 */
export async function adoptInterruptedCreates(
  ctx: Pick<EngineContext, 'db' | 'now' | 'limits' | 'logger'>,
  part: CompiledPart,
  connectors: Map<string, Connector>,
  staging: ChangeStaging,
  pass: PassState,
): Promise<void> {
  // A pass running beside this one owns its pending entries; a dry run changes nothing.
  if (pass.dryRun || pass.overlapped) return;
  const rows = await pendingCreates(ctx.db, pass.flowId, part.triggers.map((trigger) => trigger.nodeId));
  if (rows.length === 0) return;
  const entities = new Map((await entitiesById(ctx.db, [...new Set(rows.map((row) => row.entity_id))])).map((row) => [row.id, row]));
  const creates: InterruptedCreate[] = rows.map((row) => ({ tag: row.tag, nodeId: row.node_id, entityId: row.entity_id, hash: row.hash, matchKey: entities.get(row.entity_id)?.match_key ?? null }));
  const adopted = matchInterruptedCreates(creates, await orphanCandidates(ctx, staging, pass, new Set(creates.map((create) => create.nodeId))));
  const stamp = ctx.now().toISOString();
  const completed: JournalRow[] = [];
  const linkChanges = new LinkChanges(pass.flowId);
  for (const row of rows) {
    const found = adopted.get(row.tag);
    const entity = entities.get(row.entity_id);
    if (found && entity && !entity.deleted) {
      const trigger = part.triggers.find((candidate) => candidate.nodeId === row.node_id) as CompiledTrigger;
      linkChanges.save(linkRow(pass, row.node_id, found.recordId, row.entity_id, await sentShadow(ctx, trigger, row), null, stamp));
      completed.push({ ...row, status: 'done', record_id: found.recordId, written: null });
      pass.record(row.node_id, found.recordId, row.entity_id, 'adopted', [], 'created by an interrupted pass: adopted, not created again');
    } else {
      await settleUnadopted(connectors, pass, row, entity);
    }
  }
  await ctx.db.transaction().execute(async (tx) => {
    await linkChanges.apply(tx, null);
    await completeJournal(tx, completed);
  });
  if (completed.length > 0) ctx.logger?.warn({ flowId: pass.flowId, adopted: completed.length }, 'adopted records created by an interrupted pass');
}

/** The staged records of these sides that no link claims: what an interrupted create may have made. */
async function orphanCandidates(ctx: Pick<EngineContext, 'db'>, staging: ChangeStaging, pass: PassState, sides: ReadonlySet<string>): Promise<OrphanCandidate[]> {
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
    const linked = new Set((await linksByRecord(ctx.db, pass.flowId, nodeId, mine.map((change) => change.recordId))).map((link) => link.record_id));
    for (const change of mine) {
      if (linked.has(change.recordId)) continue;
      candidates.push({ nodeId, recordId: change.recordId, tag: change.record.tag, contentHash: writtenContentHash(change.record.fields), matchKey: change.matchKey });
    }
  }
  return candidates;
}

/** What an adopted record's shadow starts as: what its create sent, projected in (null for entries that kept nothing). */
async function sentShadow(ctx: Pick<EngineContext, 'limits'>, trigger: CompiledTrigger, row: JournalRow): Promise<FlowRecord | null> {
  const sent = row.written === null ? null : await projectIn(trigger, JSON.parse(row.written) as FlowRecord, ctx.limits);
  return sent?.kind === 'pass' ? sent.record : null;
}

/** An interrupted create with no record found: forgotten and merged again when it surely made nothing, else held. */
async function settleUnadopted(connectors: Map<string, Connector>, pass: PassState, row: JournalRow, entity: EntityRow | undefined): Promise<void> {
  if (!entity || (pass.listed.has(row.node_id) && (await listedAll(connectors, pass, row.node_id)))) {
    // Nothing was made (or its entity is gone): the create is planned afresh if it is still wanted. The entry stays
    // until that is done (forgottenCreates): the wish to merge again lives only in this pass's memory.
    pass.forgottenCreates.push(row.tag);
    if (entity) pass.revisit.add(row.entity_id);
  } else {
    pass.unsettledCreates.add(entitySideKey(row.entity_id, row.node_id));
  }
}

/** Whether this pass's listing of a side held every record there: a listing by version does (snapshot.ts). */
async function listedAll(connectors: Map<string, Connector>, pass: PassState, nodeId: string): Promise<boolean> {
  const whole = pass.wholeListings.get(nodeId);
  return !whole || (await listingHeldAll(connectors.get(nodeId) as Connector, whole));
}

/**
 * A pass that died after writing to a side but before committing left that side's shadow behind what it holds:
 * the record carries the tag of a pending journal entry, which holds what was written. The side is taken to be in
 * sync as of that write; only what changed on the side since counts as its own change (otherwise the interrupted
 * write would be mistaken for a newer edit and win).
 */
export async function adoptInterruptedWrites(ctx: Pick<EngineContext, 'db' | 'limits'>, work: EntityWork[]): Promise<void> {
  const candidates = new Map<string, { item: EntityWork; side: SideWork }>();
  for (const item of work) {
    for (const side of item.sides.values()) {
      if (side.staged && side.link && !side.newlyLinked && side.record?.tag && !side.record.deleted) candidates.set(side.record.tag, { item, side });
    }
  }
  if (candidates.size === 0) return;
  for (const row of await journalByTags(ctx.db, [...candidates.keys()])) {
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
      const out = await projectOut(side.trigger, item.golden, ctx.limits);
      if (out.kind !== 'pass') continue;
      sent = out.record;
    }
    const written = await projectIn(side.trigger, sent, ctx.limits);
    if (written.kind === 'pass') side.shadow = { ...(side.shadow ?? {}), ...written.record };
  }
}
