import { sql, type RawBuilder } from 'kysely';
import { ValueList } from './dialect';

/** Whatever runs a raw statement: a state or inbox handle, or a transaction of either. */
type Executor = Parameters<RawBuilder<unknown>['execute']>[0];

/**
 * A list for `in`, bound as one parameter: the statement is the same for any number of values, so the connection
 * prepares it once (db/statementCache.ts). With `in (?, ?, …)` every length was a statement of its own, compiled anew
 * by SQLite on most passes. SQLite reads it as a JSON array and still looks each value up in the index (`SEARCH …
 * USING INDEX`, LIST SUBQUERY); PostgreSQL as an array (dialect.ts `ValueList`).
 */
export function oneOf<T extends string | number>(values: readonly T[]): RawBuilder<T> {
  return sql<T>`${new ValueList(values)}`;
}

/** Lets the other connection to the file (the pass worker, or the server's intake) take the write lock. */
export function pauseForOtherWriters(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 2));
}

/**
 * Runs a delete that removes at most `chunkRows` rows, again and again until a run removes fewer, with a pause between
 * runs. Each statement holds the file's write lock for milliseconds instead of one statement holding it (and this
 * thread) for as long as a large delete takes. Returns how many rows went.
 */
export async function deleteInChunks(db: Executor, statement: RawBuilder<unknown>, chunkRows: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await statement.execute(db);
    const count = Number(result.numAffectedRows ?? 0);
    deleted += count;
    if (count < chunkRows) return deleted;
    await pauseForOtherWriters();
  }
}
