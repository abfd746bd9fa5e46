/**
 * Waits for every promise, then gives their values in order, or throws the first rejection (in the order given).
 * Unlike `Promise.all` it does not return while others are still running: work started beside a failed piece (a
 * write to another system, say) has ended, one way or the other, when the caller goes on.
 */
export async function allSettledOrThrow<T>(promises: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const values: T[] = [];
  for (const outcome of settled) {
    if (outcome.status === 'rejected') throw outcome.reason;
    values.push(outcome.value);
  }
  return values;
}
