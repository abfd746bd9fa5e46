/**
 * Crash recovery (SPEC §5, §6). A pass journals each page's intended writes (one `write_ahead` row) before it makes
 * them and commits the links after, deleting the row. A process that dies in between leaves the row: the marker of an
 * interrupted page, holding for each create a pending entry, and perhaps a record on the side that nothing links to.
 * Creating again would duplicate it; so before a pass plans any write, the page's promised links are restored and
 * each such record is found among the changes the pass staged (the dead pass never saved its cursors, so every side
 * lists them again) and adopted by the entity it was made for. Updates are recovered alike: a record that carries the
 * tag of a pending update is taken to be in sync as of that write. What is settled is trimmed from the row at the end
 * of the part; what is not stays for a later pass.
 */
import type { FlowRecord } from '../../../nodes/types';
import type { Connector } from '../../connectors/types';
import { entitiesById, linksByRecord, upsertLinks } from '../../db/queries';
import type { EntityRow, LinkRow } from '../../db/schema';
import { rewriteWriteAhead, writeAheadPages, type PendingWrite, type WriteAheadPage } from '../../db/writeAheadQueries';
import type { CompiledPart, CompiledTrigger } from '../graph';
import { projectIn, projectOut } from '../projection';
import { listingHeldAll } from '../snapshot';
import type { ChangeStaging, StagedChange } from '../staging';
import { writtenContentHash } from '../values';
import type { EngineContext } from './context';
import { LinkChanges, linkRow } from './linkChanges';
import { DEFAULT_PAGE_SIZE, type EntityWork, type PassState } from './passState';
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
  // A pass running beside this one owns its pages; a dry run changes nothing.
  if (pass.dryRun || pass.overlapped || !pass.interrupted) return;
  const sides = new Set(part.triggers.map((trigger) => trigger.nodeId));
  await restorePromisedLinks(ctx, pass, sides);
  const rows = pass.interrupted.writes().filter((write) => write.recordId === null && sides.has(write.nodeId));
  if (rows.length === 0) return;
  const entities = new Map((await entitiesById(ctx.db, [...new Set(rows.map((row) => row.entityId))])).map((row) => [row.id, row]));
  const creates: InterruptedCreate[] = rows.map((row) => ({ tag: row.tag, nodeId: row.nodeId, entityId: row.entityId, hash: row.hash, matchKey: entities.get(row.entityId)?.match_key ?? null }));
  const adopted = matchInterruptedCreates(creates, await orphanCandidates(ctx, staging, pass, new Set(creates.map((create) => create.nodeId))));
  const stamp = ctx.now().toISOString();
  const linkChanges = new LinkChanges(pass.flowId);
  for (const row of rows) {
    const found = adopted.get(row.tag);
    const entity = entities.get(row.entityId);
    if (found && entity && !entity.deleted) {
      const trigger = part.triggers.find((candidate) => candidate.nodeId === row.nodeId) as CompiledTrigger;
      // The record holds what the create sent: its echo is recognised as the create's, as if the pass had committed.
      linkChanges.save(linkRow(pass, row.nodeId, found.recordId, row.entityId, await sentShadow(ctx, trigger, row), null, stamp, { tag: row.tag, hash: row.hash }));
      pass.interrupted.settle(row.tag);
      pass.record(row.nodeId, found.recordId, row.entityId, 'adopted', [], 'created by an interrupted pass: adopted, not created again');
    } else {
      await settleUnadopted(connectors, pass, row, entity);
    }
  }
  await ctx.db.transaction().execute(async (tx) => linkChanges.apply(tx, null));
  const count = rows.filter((row) => adopted.has(row.tag)).length;
  if (count > 0) ctx.logger?.warn({ flowId: pass.flowId, adopted: count }, 'adopted records created by an interrupted pass');
}

/**
 * The links interrupted pages made before writing (PendingLink), on these sides, where no link is: a record linked
 * then is merged as just linked, never created a second time. Neither these nor the adopted records' links are counted
 * as live links gained (PassState.linkDelta): they are made before the part's survey, which counts what is there, as
 * nothing learned before the interrupted pass holds any longer (its run voids it, sideKnowledge.ts).
 */
async function restorePromisedLinks(ctx: Pick<EngineContext, 'db' | 'now'>, pass: PassState, sides: ReadonlySet<string>): Promise<void> {
  const promised = (pass.interrupted as InterruptedPages).links().filter((link) => sides.has(link.nodeId));
  if (promised.length === 0) return;
  const stamp = ctx.now().toISOString();
  const missing: LinkRow[] = [];
  for (const nodeId of sides) {
    const mine = promised.filter((link) => link.nodeId === nodeId);
    const existing = new Set((await linksByRecord(ctx.db, pass.flowId, nodeId, mine.map((link) => link.recordId))).map((link) => link.record_id));
    const seen = new Set<string>();
    for (const link of mine) {
      if (existing.has(link.recordId) || seen.has(link.recordId)) continue;
      seen.add(link.recordId);
      missing.push({ ...linkRow(pass, nodeId, link.recordId, link.entityId, null, null, stamp), version: link.version });
    }
  }
  await ctx.db.transaction().execute((tx) => upsertLinks(tx, missing));
  for (const nodeId of sides) (pass.interrupted as InterruptedPages).restored.add(nodeId);
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
async function sentShadow(ctx: Pick<EngineContext, 'limits'>, trigger: CompiledTrigger, row: PendingWrite): Promise<FlowRecord | null> {
  const sent = row.written === null ? null : await projectIn(trigger, row.written, ctx.limits);
  return sent?.kind === 'pass' ? sent.record : null;
}

/** An interrupted create with no record found: forgotten and merged again when it surely made nothing, else held. */
async function settleUnadopted(connectors: Map<string, Connector>, pass: PassState, row: PendingWrite, entity: EntityRow | undefined): Promise<void> {
  if (!entity || (pass.listed.has(row.nodeId) && (await listedAll(connectors, pass, row.nodeId)))) {
    // Nothing was made (or its entity is gone): the create is planned afresh if it is still wanted. The entry stays
    // until that is done (settled when the part ends): the wish to merge again lives only in this pass's memory.
    (pass.interrupted as InterruptedPages).settle(row.tag);
    if (entity) pass.revisit.add(row.entityId);
  } else {
    pass.unsettledCreates.add(entitySideKey(row.entityId, row.nodeId));
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
export async function adoptInterruptedWrites(ctx: Pick<EngineContext, 'limits'>, work: EntityWork[], pass: PassState): Promise<void> {
  const updates = pass.interrupted?.updatesByTag();
  if (!updates || updates.size === 0) return;
  for (const item of work) {
    for (const side of item.sides.values()) {
      if (!side.staged || !side.link || side.newlyLinked || !side.record?.tag || side.record.deleted) continue;
      const row = updates.get(side.record.tag);
      if (!row || row.nodeId !== side.trigger.nodeId || row.entityId !== item.id) continue;
      // What was written back then, not the side's later edits: those must still count as its changes. The entry
      // keeps what it wrote; the golden record stands in for entries from before it did, though a later pass that
      // also died may have moved it on since.
      let sent: FlowRecord;
      if (row.written !== null) {
        sent = row.written;
      } else {
        const out = await projectOut(side.trigger, item.golden, ctx.limits);
        if (out.kind !== 'pass') continue;
        sent = out.record;
      }
      const written = await projectIn(side.trigger, sent, ctx.limits);
      if (written.kind === 'pass') side.shadow = { ...(side.shadow ?? {}), ...written.record };
      pass.interrupted?.settle(row.tag);
    }
  }
}

/**
 * The journal rows that passes before this one left (write_ahead), read when a part begins; what the part settles is
 * trimmed from them when it ends (trimInterruptedPages).
 */
export class InterruptedPages {
  /** Tags of entries this pass settled: adopted, forgotten and merged again, or taken as the side's state. */
  private readonly settled = new Set<string>();
  /** Sides whose promised links are restored: the rows need not carry them any longer. */
  readonly restored = new Set<string>();
  private updates: Map<string, PendingWrite> | null = null;

  constructor(private readonly pages: WriteAheadPage[]) {}

  writes(): PendingWrite[] {
    return this.pages.flatMap((page) => page.writes);
  }

  links(): WriteAheadPage['links'] {
    return this.pages.flatMap((page) => page.links);
  }

  /** The pending updates by tag, as a listed record carrying one is looked up. */
  updatesByTag(): Map<string, PendingWrite> {
    this.updates ??= new Map(this.writes().filter((write) => write.recordId !== null).map((write) => [write.tag, write]));
    return this.updates;
  }

  settle(tag: string): void {
    this.settled.add(tag);
  }

  /**
   * The pages as they stand once this pass is done with `sides`: without the entries it settled, without updates to
   * sides it listed (their records were listed again since: one that did not carry the tag no longer holds that
   * write), and without the links it restored. Only pages that changed are returned.
   */
  trimmed(sides: ReadonlySet<string>, listed: ReadonlySet<string>): WriteAheadPage[] {
    const changed: WriteAheadPage[] = [];
    for (const page of this.pages) {
      const writes = page.writes.filter((write) => {
        if (!sides.has(write.nodeId)) return true;
        if (this.settled.has(write.tag)) return false;
        return write.recordId === null || !listed.has(write.nodeId);
      });
      const links = page.links.filter((link) => !(sides.has(link.nodeId) && this.restored.has(link.nodeId)));
      if (writes.length !== page.writes.length || links.length !== page.links.length) changed.push({ ...page, writes, links });
    }
    return changed;
  }
}

/** Reads what interrupted passes left in the journal, for one part of this pass; null when nothing is there. */
export async function readInterruptedPages(ctx: Pick<EngineContext, 'db'>, pass: PassState): Promise<InterruptedPages | null> {
  const pages = await writeAheadPages(ctx.db, pass.flowId);
  return pages.length === 0 ? null : new InterruptedPages(pages);
}

/** Trims from the journal what this part settled (InterruptedPages.trimmed); a dry run or overlapped pass keeps it all. */
export async function trimInterruptedPages(ctx: Pick<EngineContext, 'db'>, part: CompiledPart, pass: PassState): Promise<void> {
  if (!pass.interrupted || pass.dryRun || pass.overlapped) return;
  const sides = new Set(part.triggers.map((trigger) => trigger.nodeId));
  const changed = pass.interrupted.trimmed(sides, pass.listed);
  await ctx.db.transaction().execute(async (tx) => {
    for (const page of changed) await rewriteWriteAhead(tx, page);
  });
}
