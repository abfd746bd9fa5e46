/**
 * A token bucket per API connection. APIs count requests per credential, not per trigger, so every connector that
 * talks to the same origin with the same credential draws from one bucket.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private requestsPerSecond: number,
    private burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Takes the newest settings: the flow may have been edited since the bucket was made. */
  configure(requestsPerSecond: number, burst: number): void {
    this.refill();
    this.requestsPerSecond = requestsPerSecond;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  /** Resolves when a request may start; callers are served in the order they asked. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.waitForToken(signal));
    // A waiter that gives up must not stall the ones behind it.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async waitForToken(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const waitMs = ((1 - this.tokens) / this.requestsPerSecond) * 1000;
      await sleep(Math.max(1, Math.ceil(waitMs)), signal);
    }
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.requestsPerSecond);
    this.updatedAt = now;
  }
}

const buckets = new Map<string, TokenBucket>();

/** The shared bucket for one API connection (origin and credential), made or reconfigured with these settings. */
export function sharedBucket(key: string, requestsPerSecond: number, burst: number): TokenBucket {
  let bucket = buckets.get(key);
  if (bucket) bucket.configure(requestsPerSecond, burst);
  else {
    bucket = new TokenBucket(requestsPerSecond, burst);
    buckets.set(key, bucket);
  }
  return bucket;
}

/** Waits, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
