/**
 * Rate-limit holds. A system that refuses a pass by its rate limit says when to come back; until then, calling it
 * again only spends budget on refusals (and some systems, GitHub among them, may block an integration that keeps
 * calling). So the triggers of a part stopped by a rate limit are held in the state (trigger_status), and the passes
 * nobody asked for at that moment (a poll, a webhook batch) leave that part alone until the hold ends, while the
 * flow's other parts sync as usual. A pass a person runs (run now, a resolution, the CLI) calls the system at once:
 * that is how a limit lifted early (a new token, a higher plan) is noticed without waiting.
 */
import type { TriggerHold } from '../../db/statusQueries';
import type { CompiledPart } from '../graph';
import type { ChangeHint, PassOptions } from '../types';

/**
 * The longest a hold lasts, however late the system said to come back: the part calls its system again after a
 * minute at most, so a limit lifted early is noticed within a minute, at the cost of one refused request.
 */
export const RATE_LIMIT_RECHECK_MS = 60_000;

export type Hold = TriggerHold;

/** Whether this pass leaves held parts alone: only passes nobody asked for at that moment do. */
export function honoursHolds(options: Pick<PassOptions, 'reason' | 'dryRun'>): boolean {
  return !options.dryRun && (options.reason === 'schedule' || options.reason === 'webhook');
}

/** Until when a hold keeps its part alone: the system's word, a minute at most from the refusal. */
export function heldUntil(hold: Hold): string {
  const recheck = new Date(Date.parse(hold.since) + RATE_LIMIT_RECHECK_MS).toISOString();
  return hold.until < recheck ? hold.until : recheck;
}

/** The hold that keeps the part alone at `now` (the one that lasts longest, if several), or null. */
export function holdOn(part: CompiledPart, holds: ReadonlyMap<string, Hold>, now: Date): Hold | null {
  let found: Hold | null = null;
  for (const trigger of part.triggers) {
    const hold = holds.get(trigger.nodeId);
    if (hold && Date.parse(heldUntil(hold)) > now.getTime() && (found === null || heldUntil(hold) > heldUntil(found))) found = hold;
  }
  return found;
}

/** Whether a refusal of the part at `now` is a limit an earlier pass already met and reported: the system's time is not up. */
export function sameLimit(part: CompiledPart, holds: ReadonlyMap<string, Hold>, now: Date): boolean {
  return part.triggers.some((trigger) => {
    const hold = holds.get(trigger.nodeId);
    return hold !== undefined && Date.parse(hold.until) > now.getTime();
  });
}

/** What a pass that leaves a held part alone says of it. */
export function heldMessage(hold: Hold): string {
  return `${hold.reason} (its system is not called again before ${heldUntil(hold)}; a pass run by hand calls it at once)`;
}

/** Whether a webhook batch hints at records of this part: a held part with none loses nothing by being left alone. */
export function hintsFor(part: CompiledPart, hints: readonly ChangeHint[]): boolean {
  return hints.some((hint) => part.triggers.some((trigger) => trigger.nodeId === hint.nodeId));
}

/**
 * How long a loop of polls (the scheduler, `syncline run` without --once) waits before its next poll, the last having
 * started `elapsedMs` ago: the rest of the interval; or, when every part of the flow waits for a rate limit
 * (PassResult.idleUntil), until the first of them may call again, a minute at a time (see RATE_LIMIT_RECHECK_MS).
 */
export function nextPollIn(intervalMs: number, elapsedMs: number, idleUntil: string | undefined, now: number): { delayMs: number; waitsForLimit: boolean } {
  const delayMs = Math.max(0, intervalMs - elapsedMs);
  const idleMs = idleUntil === undefined ? 0 : Date.parse(idleUntil) - now;
  if (idleMs <= delayMs) return { delayMs, waitsForLimit: false };
  return { delayMs: Math.min(idleMs, Math.max(intervalMs, RATE_LIMIT_RECHECK_MS)), waitsForLimit: true };
}
