import { ConnectorError, RateLimitedError, type WriteOp, type WriteResult, failedWrite } from '../types';
import { ZendeskCredentialsError } from './client';

/**
 * Applies ops one by one (Zendesk's bulk endpoints answer with a job to poll, not a result per record), one result per
 * op. A failure of one op does not stop the others, except where every further request would fail the same way: a
 * rate limit longer than the pass waits (the rest fail retryable, with when to come back) and refused credentials.
 * Ops already applied keep their results: an exception here would make the engine think none of them happened.
 */
export async function writeEach(ops: readonly WriteOp[], writeOne: (op: WriteOp) => Promise<WriteResult>, now: () => number): Promise<WriteResult[]> {
  const results: WriteResult[] = [];
  let rest: WriteResult | null = null;
  for (const op of ops) {
    if (rest) {
      results.push(rest);
      continue;
    }
    try {
      results.push(await writeOne(op));
    } catch (caught) {
      if (caught instanceof RateLimitedError) {
        rest = { ok: false, reason: 'failed', message: caught.message, retryable: true, retryAfterMs: Math.max(0, caught.resumeAt.getTime() - now()) };
        results.push(rest);
      } else if (caught instanceof ZendeskCredentialsError) {
        rest = { ok: false, reason: 'failed', message: caught.message, retryable: false };
        results.push(rest);
      } else if (caught instanceof ConnectorError) {
        results.push(failedWrite(caught));
      } else {
        throw caught;
      }
    }
  }
  return results;
}

/** A record id as Zendesk has them: a positive whole number. Anything else names no record. */
export function zendeskId(id: string): number | null {
  if (!/^[1-9]\d{0,15}$/.test(id)) return null;
  const number = Number(id);
  return Number.isSafeInteger(number) ? number : null;
}

/** A failed write that retrying cannot fix. */
export function refused(message: string): WriteResult {
  return { ok: false, reason: 'failed', message, retryable: false };
}

/** Whole numbers, as Zendesk ids are; numeric text is accepted, as flows often carry ids as text. */
export function idValue(value: unknown): number | null | undefined {
  if (value === null) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^\d{1,16}$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  return undefined;
}

/** Tags as Zendesk keeps them: a set of words, read sorted so that order never counts as a change. */
export function readTags(value: unknown): string[] {
  return Array.isArray(value) ? [...new Set(value.map(String))].sort() : [];
}

/** Tags to write: a list, or words separated by spaces or commas, as Zendesk itself accepts them. */
export function writeTags(value: unknown): string[] | undefined {
  if (value === null) return [];
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((tag) => tag !== '');
  if (Array.isArray(value) && value.every((tag) => typeof tag === 'string' || typeof tag === 'number')) return value.map(String);
  return undefined;
}
