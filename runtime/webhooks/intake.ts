import type { InboxDb } from '../db/inbox';
import { storeDeliveries, type IncomingDelivery } from '../db/webhookQueries';

interface Waiting {
  delivery: IncomingDelivery;
  resolve(fresh: boolean): void;
  reject(error: unknown): void;
}

/**
 * Stores webhook events durably in the inbox before they are acknowledged, committing the deliveries that arrive
 * together in one transaction: each request waits for the flush that holds its events, so a 202 always means "on
 * disk" while a burst of requests costs one commit instead of one each.
 */
export class WebhookIntake {
  private queue: Waiting[] = [];
  private scheduled = false;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly inbox: InboxDb,
    /** Told which flows have new events once they are committed. */
    private readonly onStored: (flowIds: Set<string>) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Resolves once the delivery is committed: true when stored, false when its delivery id was seen before. */
  submit(delivery: IncomingDelivery): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ delivery, resolve, reject });
      this.schedule();
    });
  }

  /** Waits for every submitted delivery to be committed (before shutting down). */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // setImmediate lets every request already read from the sockets join this flush.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    let done!: () => void;
    this.flushing = new Promise<void>((resolve) => (done = resolve));
    const flows = new Set<string>();
    try {
      const fresh = await storeDeliveries(
        this.inbox,
        batch.map((waiting) => waiting.delivery),
        this.now().toISOString(),
      );
      batch.forEach((waiting, index) => {
        if (fresh[index] && waiting.delivery.events.length > 0) flows.add(waiting.delivery.flowId);
        waiting.resolve(fresh[index] ?? false);
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    } finally {
      this.flushing = null;
      done();
      if (this.queue.length > 0) this.schedule();
    }
    if (flows.size > 0) this.onStored(flows);
  }
}
