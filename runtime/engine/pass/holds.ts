/**
 * Rate-limit holds. A system that refuses a pass by its rate limit says when to come back; until then, calling it
 * again only spends budget on refusals (and some systems, GitHub among them, may block an integration that keeps
 * calling). So the triggers of a part stopped by a rate limit are held in the state (trigger_status), and the passes
 * nobody asked for at that moment (a poll, a webhook batch) leave that part alone until the hold ends, while the
 * flow's other parts sync as usual. A pass a person runs (run now, a resolution, the CLI) calls the system at once:
 * that is how a limit lifted early (a new token, a higher plan) is noticed without waiting.
 */
import type { CompiledPart } from '../graph';
import type { ChangeHint, PassOptions } from '../types';

/**
 * The longest a hold lasts, however late the system said to come back: the part calls its system again after a
 * minute at most, so a limit lifted early is noticed within a minute, at the cost of one refused request.
 */
export const RATE_LIMIT_RECHECK_MS = 60_000;

export interface Hold {
  /** ISO-8601. */
  until: string;
  /** The part's error when its system refused: what the system said, for a person. */
  reason: string;
}

/** Whether this pass leaves held parts alone: only passes nobody asked for at that moment do. */
export function honoursHolds(options: Pick<PassOptions, 'reason' | 'dryRun'>): boolean {
  return !options.dryRun && (options.reason === 'schedule' || options.reason === 'webhook');
}

/** The hold on one of the part's triggers that has not ended at `now` (the latest, if several), or null. */
export function holdOn(part: CompiledPart, holds: ReadonlyMap<string, Hold>, now: Date): Hold | null {
  let found: Hold | null = null;
  for (const trigger of part.triggers) {
    const hold = holds.get(trigger.nodeId);
    if (hold && Date.parse(hold.until) > now.getTime() && (found === null || hold.until > found.until)) found = hold;
  }
  return found;
}

/** The hold a rate limit that asked to come back at `resumeAt` puts on a part, at `now`. */
export function holdFor(resumeAt: string, reason: string, now: Date): Hold {
  const recheck = new Date(now.getTime() + RATE_LIMIT_RECHECK_MS).toISOString();
  return { until: resumeAt < recheck ? resumeAt : recheck, reason };
}

/** What a pass that leaves a held part alone says of it. */
export function heldMessage(hold: Hold): string {
  return `${hold.reason} (its system is not called again before ${hold.until}; a pass run by hand calls it at once)`;
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
