/**
 * Linking: which entity each staged change belongs to. A linked record joins its entity; an unlinked one joins the
 * entity with its match values, or starts a new one, unless that would mean guessing (an ambiguous match, filed as a
 * conflict). Then every side an entity has that brought no change is read as it is now (SPEC §5.1).
 */
import type { Connector, SourceRecord } from '../../connectors/types';
import { linksOfSides } from '../../db/entitySides';
import { entitiesById, entitiesByMatchKey, linksByRecord } from '../../db/queries';
import type { EntityRow, LinkRow } from '../../db/schema';
import type { FlowRecord } from '../../../nodes/types';
import type { CompiledPart, CompiledTrigger } from '../graph';
import { projectIn, type Projection } from '../projection';
import type { ChangeStaging, StagedChange } from '../staging';
import { failRecord, fileMatchConflict } from './conflicts';
import type { EngineContext } from './context';
import { newEntityWork, type EntityWork, type PassState, type SideWork } from './passState';
import { sideRecordKey } from '../../util/keys';
import { groupInto } from '../../util/collections';
import { allSettledOrThrow } from '../../util/promises';

type LinkContext = Pick<EngineContext, 'db'>;

/**
 * How the pages of a pass are linked. `firstImport`: the flow had no entity (so no link) when its pages began. Then no
 * record of a page is linked and no entity holds its match values, so the page asks the state for neither: a page
 * takes every pending change sharing a match key with its own (placeUnlinked), so no later page brings a key, or a
 * record, that an earlier page linked. The state this leaves is the state the lookups would have left
 * (test/engine/first-import.test.ts).
 */
export interface PassLinking {
  firstImport: boolean;
}

/** The entities a page of staged changes makes up, each with the staged changes of all its sides. */
export async function buildWork(ctx: LinkContext, part: CompiledPart, page: StagedChange[], staging: ChangeStaging, pass: PassState, passLinking: PassLinking = { firstImport: false }): Promise<EntityWork[]> {
  const linking = new PageLinking(ctx, part, staging, pass, passLinking.firstImport);
  await linking.joinLinked(page);
  await linking.placeUnlinked(page);
  // Changes pulled in from later pages are merged now, not again when their page comes.
  staging.markDone([...linking.taken]);
  return linking.work;
}

/** One page's linking: which staged changes are spoken for, and the entities they joined so far. */
class PageLinking {
  /** Staged changes attached to an entity (or settled otherwise), by seq. */
  readonly taken = new Set<number>();
  readonly work: EntityWork[] = [];
  private readonly byEntity = new Map<string, EntityWork>();
  /** The links of the page's records, by side and record (sideRecordKey). */
  private readonly linkOf = new Map<string, LinkRow>();

  constructor(
    private readonly ctx: LinkContext,
    private readonly part: CompiledPart,
    private readonly staging: ChangeStaging,
    private readonly pass: PassState,
    /** Nothing is linked and no entity exists yet (PassLinking): the state has nothing to tell. */
    private readonly firstImport: boolean,
  ) {}

  /** Linked records join their entity, with the staged changes of the entity's other sides, so one merge sees them all. */
  async joinLinked(page: StagedChange[]): Promise<void> {
    if (this.firstImport) return;
    for (const trigger of this.part.triggers) {
      const ids = page.filter((change) => change.nodeId === trigger.nodeId).map((change) => change.recordId);
      for (const link of await linksByRecord(this.ctx.db, this.pass.flowId, trigger.nodeId, ids)) this.linkOf.set(sideRecordKey(link.node_id, link.record_id), link);
    }
    const linkedEntityIds = [...new Set([...this.linkOf.values()].map((link) => link.entity_id))];
    const linked = await loadEntities(this.ctx, this.part, linkedEntityIds);
    const stagedOf = new Map<string, Map<string, StagedChange>>();
    for (const trigger of this.part.triggers) {
      const ids: string[] = [];
      for (const item of linked) {
        const link = item.sides.get(trigger.nodeId)?.link;
        if (link) ids.push(link.record_id);
      }
      stagedOf.set(trigger.nodeId, this.staging.getMany(trigger.nodeId, ids));
    }
    for (const item of linked) {
      this.add(item);
      for (const side of item.sides.values()) {
        if (!side.link) continue;
        const staged = stagedOf.get(side.trigger.nodeId)?.get(side.link.record_id);
        if (staged) attachStaged(side, staged, this.taken);
      }
    }
  }

  /** Every change of the page not taken yet: settled, or placed in its entity by link or by match values. */
  async placeUnlinked(page: StagedChange[]): Promise<void> {
    // Only an unlinked record is placed by its match values: a linked one stays with its entity whatever they say now,
    // so its key is looked up neither among the pending changes nor among the entities (an incremental pass, whose
    // changes are all linked, asks for none).
    const unlinkedKeys = page.filter((change) => change.matchKey !== null && !this.linkOf.has(sideRecordKey(change.nodeId, change.recordId))).map((change) => change.matchKey as string);
    const keys = [...new Set(unlinkedKeys)];
    // Every pending change sharing a match key with this page, fetched at once; `taken` says which are spoken for.
    const groups = this.staging.byMatchKeys(unlinkedKeys, page);
    const entitiesByKey = new Map<string, EntityRow[]>();
    for (const row of this.firstImport ? [] : await entitiesByMatchKey(this.ctx.db, this.pass.flowId, keys)) {
      if (linksInPart(this.part, row).length > 0) groupInto(entitiesByKey, row.match_key as string, row);
    }
    for (const change of page) {
      if (this.taken.has(change.seq)) continue;
      const link = this.linkOf.get(sideRecordKey(change.nodeId, change.recordId));
      if (link) {
        const side = this.byEntity.get(link.entity_id)?.sides.get(change.nodeId);
        if (side) attachStaged(side, change, this.taken);
        continue;
      }
      if (await this.settled(change)) continue;
      const group = change.matchKey ? (groups.get(change.matchKey) ?? []).filter((other) => !this.taken.has(other.seq)) : [change];
      if (!group.some((other) => other.seq === change.seq)) group.unshift(change);
      await this.placeGroup(change, group, change.matchKey ? (entitiesByKey.get(change.matchKey) ?? []) : []);
    }
  }

  /** Settles a change that links nothing: a delete or a filtered record of an unlinked record, or a failed projection. */
  private async settled(change: StagedChange): Promise<boolean> {
    const linksNothing = change.record.deleted || change.dropped;
    const problem = linksNothing ? null : change.problem;
    if (!linksNothing && !problem) return false;
    this.taken.add(change.seq);
    this.staging.markDone([change.seq]);
    if (problem) await failRecord(this.ctx.db, this.pass, change.nodeId, change.recordId, null, problem);
    // A side listed whole stages its filtered-out records on every pass: only a change since a cursor is told of.
    else if (change.dropped && !this.pass.listedWhole.has(change.nodeId)) this.pass.skip(change.nodeId, change.recordId, null, change.problem as string);
    return true;
  }

  /** Links a group of unlinked records with the same match values to their entity, new or existing, or files why not. */
  private async placeGroup(change: StagedChange, group: StagedChange[], existing: EntityRow[]): Promise<void> {
    const why = await ambiguity(this.part, group, existing, (id) => this.entity(id));
    if (why) {
      for (const other of group) this.taken.add(other.seq);
      this.staging.markDone(group.map((other) => other.seq));
      await fileMatchConflict(this.ctx.db, this.pass, change.matchKey as string, group, existing, why);
      return;
    }
    const target = existing[0];
    let item = target ? await this.entity(target.id) : undefined;
    if (item && !this.byEntity.has(item.id)) this.add(item);
    if (!item) {
      item = newEntityWork(this.part, change.matchKey);
      this.add(item);
    }
    for (const other of group) {
      const side = item.sides.get(other.nodeId) as SideWork;
      side.newlyLinked = true;
      attachStaged(side, other, this.taken);
    }
  }

  /** An entity of this page, or loaded from the state (not added to the page). */
  private async entity(id: string): Promise<EntityWork | undefined> {
    return this.byEntity.get(id) ?? (await loadEntities(this.ctx, this.part, [id]))[0];
  }

  private add(item: EntityWork): void {
    this.byEntity.set(item.id, item);
    this.work.push(item);
  }
}

/** Why a match group cannot be linked without guessing, or null when it can. */
async function ambiguity(
  part: CompiledPart,
  group: StagedChange[],
  existing: EntityRow[],
  entity: (id: string) => Promise<EntityWork | undefined>,
): Promise<string | null> {
  if (existing.length > 1) return `${existing.length} linked entities already have these match values`;
  for (const trigger of part.triggers) {
    const mine = group.filter((change) => change.nodeId === trigger.nodeId);
    if (mine.length > 1) return `${mine.length} records on "${trigger.nodeId}" have the same match values (${mine.map((change) => change.recordId).join(', ')})`;
  }
  const target = existing[0];
  if (!target) return null;
  const item = await entity(target.id);
  for (const change of group) {
    const side = item?.sides.get(change.nodeId);
    if (side?.link && side.link.record_id !== change.recordId) {
      return `record ${change.recordId} on "${change.nodeId}" matches an entity already linked there to record ${side.link.record_id}`;
    }
  }
  return null;
}

/**
 * Entities of this part with their golden record and every side's link (records not read yet). An id of an entity of
 * another part, or of none (see {@link linksInPart}), loads nothing.
 */
export async function loadEntities(ctx: LinkContext, part: CompiledPart, entityIds: readonly string[]): Promise<EntityWork[]> {
  if (entityIds.length === 0) return [];
  const work: EntityWork[] = [];
  for (const row of await entitiesById(ctx.db, entityIds)) {
    // The entity's row holds its links' state: one read gives the entity and every side's link.
    const links = linksInPart(part, row);
    if (links.length === 0) continue;
    const item = newEntityWork(part, row.match_key, row);
    for (const link of links) {
      const side = item.sides.get(link.node_id) as SideWork;
      side.link = link;
      side.shadow = link.shadow === null ? null : (JSON.parse(link.shadow) as FlowRecord);
    }
    work.push(item);
  }
  return work;
}

/**
 * The links an entity's row holds on this part's sides, tombstones included. A flow of several parts (SPEC §4) keeps
 * all their entities in one table, and what names entities flow-wide (match values, resolved and key conflicts to
 * revisit) may name another part's: an entity with no link here is not this part's to merge, or the records of one
 * pair of systems would join, and be written to, another pair's.
 */
function linksInPart(part: CompiledPart, row: EntityRow): LinkRow[] {
  return linksOfSides(row).filter((link) => part.triggers.some((trigger) => trigger.nodeId === link.node_id));
}

function attachStaged(side: SideWork, change: StagedChange, taken: Set<number>): void {
  taken.add(change.seq);
  side.read = true;
  side.staged = true;
  side.record = change.record;
  side.projection = change.projection;
  side.problem = change.dropped ? null : change.problem;
  side.filteredOut = change.dropped ? change.problem : null;
}

/** Reads the current record of every linked side that has no staged change (SPEC §5.1). */
export async function readUnreadSides(ctx: Pick<EngineContext, 'limits'>, part: CompiledPart, connectors: Map<string, Connector>, work: EntityWork[]): Promise<void> {
  const reads: Array<{ trigger: CompiledTrigger; wanted: Map<string, SideWork> }> = [];
  for (const trigger of part.triggers) {
    const wanted = new Map<string, SideWork>();
    for (const item of work) {
      const side = item.sides.get(trigger.nodeId) as SideWork;
      if (!side.read && side.link && !side.link.deleted) wanted.set(side.link.record_id, side);
    }
    if (wanted.size > 0) reads.push({ trigger, wanted });
  }
  // Every side at once, as the writes go (commit.ts executeWrites): separate systems, so a page waits for its slowest
  // read rather than their sum. The records are then projected side by side in the document's order, as before.
  const founds = await allSettledOrThrow(reads.map(({ trigger, wanted }) => (connectors.get(trigger.nodeId) as Connector).getMany([...wanted.keys()])));
  for (const [index, { trigger, wanted }] of reads.entries()) {
    const found = founds[index] as Map<string, SourceRecord>;
    for (const [id, side] of wanted) {
      side.read = true;
      side.record = found.get(id) ?? null;
      if (side.record && !side.record.deleted) setProjection(side, await projectIn(trigger, side.record.fields, ctx.limits));
    }
  }
  for (const item of work) for (const side of item.sides.values()) if (!side.link && !side.newlyLinked) side.read = true;
}

function setProjection(side: SideWork, projection: Projection): void {
  if (projection.kind === 'pass') side.projection = projection.record;
  else if (projection.kind === 'error') side.problem = `node "${projection.error.nodeId}": ${projection.error.message}`;
  else side.projection = null;
}
