/**
 * How a pass words the errors that end it. A run keeps them as one text (`runs.error`), which a person reads in the
 * run history, and which the canvas reads back to put a problem on the trigger whose system could not be reached: so
 * the words are made and read here, and nowhere else.
 *
 * - A trigger's system that could not be opened or listed: `trigger "<node id>": <what it said>`.
 * - In a flow of several parts (SPEC §4), each part that ended early: `part "<conflict node id>": <its error>`, and the
 *   parts' errors one after the other, separated by `; `. A flow of one part keeps its error as it is.
 */

/** An error naming the trigger whose system failed, with what the system said as its cause. */
export function triggerError(nodeId: string, detail: string, cause?: unknown): Error {
  return new Error(`trigger "${nodeId}": ${detail}`, cause === undefined ? undefined : { cause });
}

/** A part's error as the pass reports it: named when the flow has other parts. */
export function partError(partName: string | null, message: string): string {
  return partName === null ? message : `part "${partName}": ${message}`;
}

/** The error of a pass whose parts ended early with these errors (each from `partError`). */
export function passError(partErrors: readonly string[]): string | null {
  return partErrors.length > 0 ? partErrors.join('; ') : null;
}

const TRIGGER_ERROR = /^trigger "([^"]+)": ([\s\S]+)$/;
const PART_ERROR = /^part "[^"]+": /;
/** Where the next part's error begins, in the error of a flow of several parts. */
const NEXT_PART = /; (?=part "[^"]+": )/;

/**
 * The triggers whose systems a pass could not use, by node id, with what each said: at most one per part. Any other
 * failure (the state, a write) is not a system out of reach and names no trigger.
 */
export function unreachableTriggers(error: string): Map<string, string> {
  const found = new Map<string, string>();
  // Only an error that begins with a part's name is split: a single part's message may hold `; part "` itself.
  const errors = PART_ERROR.test(error) ? error.split(NEXT_PART).map((one) => one.replace(PART_ERROR, '')) : [error];
  for (const one of errors) {
    const match = TRIGGER_ERROR.exec(one);
    if (match && !found.has(match[1] as string)) found.set(match[1] as string, match[2] as string);
  }
  return found;
}
