/**
 * Batching writes for Moodle's array-taking functions. `core_user_create_users`, `enrol_manual_enrol_users` and
 * `enrol_manual_unenrol_users` run in one transaction and throw at the first bad record: the whole call fails and
 * nothing is applied, and on a production site the answer does not even say which record it was (the detail is in
 * debuginfo, shown only while debugging). `core_user_update_users` fails whole only for malformed parameters. So a
 * refused batch is halved and each half sent again until every refused record stands alone: n records with one bad
 * cost about 2·log2(n) extra calls, and every good record is still written.
 */
import { MoodleAccessError, MoodleCallError, inputVars, type WsParam } from './client';
import { ConnectorError, type WriteResult } from '../types';

/** PHP's default `max_input_vars` is 1000 (Moodle asks for 5000, not every site has it); the rest covers wstoken & co. */
const maxVarsPerCall = 900;
const maxItemsPerCall = 100;

/**
 * Sends `items` through `send` in as few calls as PHP's input budget allows; a batch Moodle refuses for its input is
 * halved until the refused item stands alone, and that item gets `refused(item, error)`. Other errors propagate.
 */
export async function sendIsolating<T, R>(
  items: readonly T[],
  paramsOf: (item: T) => WsParam,
  send: (batch: readonly T[]) => Promise<R[]>,
  refused: (item: T, error: MoodleCallError) => R,
): Promise<R[]> {
  const results: R[] = [];
  for (const batch of inputBudgetBatches(items, paramsOf)) results.push(...(await isolate(batch, send, refused)));
  return results;
}

async function isolate<T, R>(items: readonly T[], send: (batch: readonly T[]) => Promise<R[]>, refused: (item: T, error: MoodleCallError) => R): Promise<R[]> {
  try {
    return await send(items);
  } catch (caught) {
    if (!(caught instanceof MoodleCallError)) throw caught;
    if (items.length === 1) return [refused(items[0] as T, caught)];
    const middle = Math.ceil(items.length / 2);
    return [...(await isolate(items.slice(0, middle), send, refused)), ...(await isolate(items.slice(middle), send, refused))];
  }
}

/** Consecutive items, at most {@link maxItemsPerCall} and {@link maxVarsPerCall} input variables per call. */
export function inputBudgetBatches<T>(items: readonly T[], paramsOf: (item: T) => WsParam): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let vars = 0;
  for (const item of items) {
    const cost = inputVars(paramsOf(item));
    if (current.length > 0 && (current.length >= maxItemsPerCall || vars + cost > maxVarsPerCall)) {
      batches.push(current);
      current = [];
      vars = 0;
    }
    current.push(item);
    vars += cost;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Consecutive ops grouped into runs of one kind, each id at most once per run: a run may go out as one batch and still
 * keep the order the engine gave (a later op on the same record starts a new run).
 */
export function runsOf<T extends { kind: string }>(ops: readonly T[], idOf: (op: T) => string | null): Array<{ kind: T['kind']; indexes: number[] }> {
  const runs: Array<{ kind: T['kind']; indexes: number[]; ids: Set<string> }> = [];
  ops.forEach((op, index) => {
    const id = idOf(op);
    const current = runs.at(-1);
    if (current && current.kind === op.kind && (id === null || !current.ids.has(id))) {
      current.indexes.push(index);
      if (id !== null) current.ids.add(id);
    } else {
      runs.push({ kind: op.kind, indexes: [index], ids: new Set(id === null ? [] : [id]) });
    }
  });
  return runs.map(({ kind, indexes }) => ({ kind, indexes }));
}

/** A failed write that retrying cannot fix. */
export function refusedResult(message: string): WriteResult {
  return { ok: false, reason: 'failed', message, retryable: false };
}

/** The result for every op of a batch that could not be sent, from the error that stopped it. */
export function failedResult(error: unknown, kind: 'create' | 'other'): WriteResult {
  if (!(error instanceof ConnectorError)) throw error;
  // A create that got no answer may have been made: sending it again would make a second account. The engine keeps it
  // journaled, and the next pass adopts the account if it lists it.
  if (kind === 'create') return { ok: false, reason: 'failed', message: error.message, retryable: false, ...(error.mayHaveApplied ? { mayHaveApplied: true } : {}) };
  return { ok: false, reason: 'failed', message: error.message, retryable: error.retryable };
}

/**
 * What one `write()` learned about the site: once Moodle refuses the token itself (MoodleAccessError), every later op
 * of the call fails with that, unsent. Other failures (no answer) fail the ops of their batch.
 */
export class WriteSession {
  stopped: MoodleAccessError | null = null;

  guard<T>(kind: 'create' | 'other', send: (batch: readonly T[]) => Promise<WriteResult[]>): (batch: readonly T[]) => Promise<WriteResult[]> {
    return async (batch) => {
      const stopped = this.stopped;
      if (stopped) return batch.map(() => failedResult(stopped, kind));
      try {
        return await send(batch);
      } catch (caught) {
        if (caught instanceof MoodleCallError) throw caught;
        if (caught instanceof MoodleAccessError) this.stopped = caught;
        return batch.map(() => failedResult(caught, kind));
      }
    };
  }
}

/** Moodle's reason for refusing one record; production sites give only a generic sentence, so the usual causes are named. */
export function explainRefusal(error: MoodleCallError): string {
  const said = `${error.exception} (${error.errorcode}): ${error.moodleMessage}`;
  if (error.debuginfo) return `${said} — ${error.debuginfo}`;
  if (error.errorcode === 'invalidparameter') {
    return `${said} — the site's debugging is off, so Moodle does not say which value; the usual causes are a username or email another account has, an email Moodle does not accept, an empty name, or text with HTML tags`;
  }
  return said;
}
