/**
 * Seeing hard deletes takes a full scan of a side (SPEC §7), which on a large side costs more than the changes a pass
 * syncs. The scan can be skipped when counts prove nothing linked is gone: if every record present on a side is
 * linked, except the ones this pass lists, then `present = live links − gone + listed unlinked`, so `gone` is zero
 * exactly when the side holds `live links + listed unlinked` records. "Every present record is linked" is what a pass
 * learns (a scan that finds no stray record, or a previous such pass, and every record it listed ending up linked) and
 * hands to the next pass, along with the exact number of live links. It is kept in the state (`flow_knowledge`), so
 * the next pass may run in another process; a pass of the flow that overlapped it, a changed flow or a resolved
 * conflict voids it, and the next pass scans (deleteScan.ts). Of a pass whose part stopped or failed, only the parts
 * that finished hand on what they learned of their own sides.
 */
import { createHash } from 'node:crypto';
import type { FlowDocument } from '../../../nodes/index';
import type { Connector } from '../../connectors/types';
import { runRecordedSince, saveKnowledge, storedKnowledge } from '../../db/knowledgeQueries';
import { countLiveLinks, liveLinkedIds, type Db } from '../../db/queries';
import type { CompiledPart } from '../graph';
import { hardDeletesFrom } from '../snapshot';
import type { ChangeStaging } from '../staging';
import type { EngineContext } from './context';
import type { PassState } from './passState';

/** What a pass hands on about one side: see the top of this file. */
export interface SideKnowledge {
  liveLinks: number | null;
  /** Every record present on the side is linked (live), as far as the last pass could tell. */
  clean: boolean;
  /**
   * The side's `removalMark()` when that was last known to hold (deleteScan.ts); absent in knowledge kept before
   * marks, null when the connector gives none.
   */
  mark?: string | null;
}

/** What a pass learned about every side of its flow, and what it holds for. */
export interface FlowKnowledge {
  runId: string;
  startedAt: string;
  /** The flow's nodes and edges when it was learned: see {@link flowFingerprint}. */
  fingerprint: string;
  sides: Map<string, SideKnowledge>;
}

/** What one pass finds out about one side, to decide on its delete scan and to hand on as {@link SideKnowledge}. */
export interface SideSurvey {
  /** Live links at the start of the pass, when known. */
  liveLinks: number | null;
  /** Records this pass listed that were present and not linked (live) when listed; null when too many to track. */
  unlinkedListed: string[] | null;
  /** Whether every present record not listed by this pass was linked when the pass began. */
  cleanBefore: boolean;
  /**
   * The side's removal mark as of the last check that found nothing linked gone (the previous pass's, until this pass
   * checks): equal marks since then mean nothing left the side (deleteScan.ts).
   */
  mark: string | null;
}

/** Passes that list more records than this learn nothing for the next one (tracking them would cost more than a scan). */
const SURVEY_LIMIT = 20_000;

/** What knowledge is learned for: a changed flow makes it void. */
export function flowFingerprint(flow: FlowDocument): string {
  return createHash('sha256').update(JSON.stringify([flow.nodes, flow.edges])).digest('base64url');
}

/** What the previous pass of this flow learned (in this process or another), if nothing changed since. */
export async function validKnowledge(db: Db, flowId: string, fingerprint: string, runId: string | null): Promise<Map<string, SideKnowledge> | null> {
  const row = await storedKnowledge(db, flowId);
  if (!row || row.fingerprint !== fingerprint) return null;
  // Any other pass of the flow since (another process on the same state) may have linked or unlinked records.
  return (await runRecordedSince(db, flowId, row.run_id, runId)) === false ? parseSides(row.sides) : null;
}

function parseSides(sides: string): Map<string, SideKnowledge> {
  return new Map(Object.entries(JSON.parse(sides) as Record<string, SideKnowledge>));
}

/** Keeps what a pass learned for the next pass of its flow, whichever process runs it (every `run --once` is a new one). */
export async function keepKnowledge(db: Db, flowId: string, knowledge: FlowKnowledge): Promise<void> {
  const sides = JSON.stringify(Object.fromEntries(knowledge.sides));
  await saveKnowledge(db, { flow_id: flowId, run_id: knowledge.runId, started_at: knowledge.startedAt, fingerprint: knowledge.fingerprint, sides });
}

/**
 * Before the delete scan: each side's live links (from the previous pass when it knew them), and the records this
 * pass listed that are not linked yet. Link changes are counted from here on while the pass is small enough.
 */
export async function surveySides(
  ctx: Pick<EngineContext, 'db'>,
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
    if (liveLinks === null && scanning) liveLinks = await countLiveLinks(ctx.db, pass.flowId, trigger.nodeId);
    const present = staging.presentIdsOf(trigger.nodeId, SURVEY_LIMIT + 1);
    let unlinkedListed: string[] | null = null;
    if (present.length <= SURVEY_LIMIT) {
      const live = await liveLinkedIds(ctx.db, pass.flowId, trigger.nodeId, present);
      unlinkedListed = present.filter((id) => !live.has(id));
    } else {
      small = false;
    }
    pass.surveys.set(trigger.nodeId, { liveLinks, unlinkedListed, cleanBefore: before?.clean ?? false, mark: before?.mark ?? null });
  }
  // A small pass counts the links it makes and removes; a large one counts the side's links once it is done.
  if (small && !pass.dryRun) pass.linkDelta = new Map(part.triggers.map((trigger) => [trigger.nodeId, 0]));
}

/** What the next pass may take as known about each side (see {@link SideKnowledge}). */
export async function learnedAbout(ctx: Pick<EngineContext, 'db'>, part: CompiledPart, pass: PassState): Promise<Map<string, SideKnowledge>> {
  const learned = new Map<string, SideKnowledge>();
  for (const trigger of part.triggers) {
    const survey = pass.surveys.get(trigger.nodeId);
    if (!survey) continue;
    const delta = pass.linkDelta?.get(trigger.nodeId);
    let liveLinks: number | null = null;
    if (survey.liveLinks !== null && delta !== undefined) liveLinks = survey.liveLinks + delta;
    else if (!pass.dryRun) liveLinks = await countLiveLinks(ctx.db, pass.flowId, trigger.nodeId);
    let clean = survey.cleanBefore && survey.unlinkedListed !== null;
    if (clean && survey.unlinkedListed && survey.unlinkedListed.length > 0) {
      // Every record it listed unlinked must have ended up linked; one the flow filtered out or failed stays stray.
      const ids = [...new Set(survey.unlinkedListed)];
      clean = (await liveLinkedIds(ctx.db, pass.flowId, trigger.nodeId, ids)).size === ids.length;
    }
    learned.set(trigger.nodeId, { liveLinks, clean, mark: survey.mark });
  }
  return learned;
}
