import { ConnectorError, type WriteOp, type WriteResult } from '../connectors/types';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseMs: number;
  /** A wait longer than this (a far Retry-After) is left to the next pass instead of blocking this one. */
  maxWaitMs: number;
}

/** Exponential backoff with full jitter, or the system's own Retry-After when it gave one (SPEC §7). */
export function backoffMs(policy: RetryPolicy, attempt: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const ceiling = Math.min(policy.maxWaitMs, policy.baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a batch of writes, retrying the ops that failed in a retryable way until they succeed or the tries run out.
 * A batch that throws a ConnectorError counts as every op failing as it says; any other error is rethrown.
 */
export async function withRetries(policy: RetryPolicy, ops: readonly WriteOp[], write: (ops: readonly WriteOp[]) => Promise<WriteResult[]>): Promise<WriteResult[]> {
  const results: WriteResult[] = new Array(ops.length);
  let pending = ops.map((_, index) => index);
  for (let attempt = 0; attempt < policy.attempts && pending.length > 0; attempt++) {
    let outcomes: WriteResult[];
    try {
      outcomes = await write(pending.map((index) => ops[index] as WriteOp));
    } catch (error) {
      // Only a connector's own error says the batch did not happen; anything else may have written part of it,
      // so it ends the pass and the write-ahead journal sorts it out on the next one.
      if (!(error instanceof ConnectorError)) throw error;
      const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
      const maybe = error.mayHaveApplied ? { mayHaveApplied: true } : {};
      outcomes = pending.map(() => ({ ok: false, reason: 'failed', message: error.message, retryable: error.retryable, ...(retryAfterMs === undefined ? {} : { retryAfterMs }), ...maybe }));
    }
    const again: number[] = [];
    let wait = 0;
    pending.forEach((opIndex, index) => {
      const outcome = outcomes[index] ?? { ok: false, reason: 'failed', message: 'the connector returned no result for this write', retryable: false };
      results[opIndex] = outcome;
      if (!outcome.ok && outcome.reason === 'failed' && outcome.retryable) {
        const delay = backoffMs(policy, attempt, outcome.retryAfterMs);
        if (delay <= policy.maxWaitMs) {
          again.push(opIndex);
          wait = Math.max(wait, delay);
        }
      }
    });
    pending = again;
    if (pending.length > 0 && attempt + 1 < policy.attempts) await sleep(wait);
  }
  return results;
}
