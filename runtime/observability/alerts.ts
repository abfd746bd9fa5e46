import type { Logger } from 'pino';
import type { HostAccess } from '../connectors/access';
import { accessRefusalOf, guardedFetch } from '../connectors/network';

export type AlertKind = 'pass_failed' | 'pass_stopped' | 'conflicts_filed';

/** The JSON body POSTed to a flow's alert webhook. */
export interface AlertNotice {
  kind: AlertKind;
  flowId: string;
  runId: string | null;
  message: string;
  summary: unknown;
  at: string;
}

export type AlertSender = (url: string, notice: AlertNotice) => Promise<void>;

/**
 * POSTs the notice as JSON, giving up after five seconds so a slow receiver never holds up a pass. The URL is a flow's
 * setting, so it gets the connectors' host policy: no link-local or metadata address, no loopback or private host the
 * operator did not allow (the runtime's own API among them).
 */
export function alertSenderFor(hosts: HostAccess): AlertSender {
  const fetchGuarded = guardedFetch(hosts);
  return async (url, notice) => {
    const response = await fetchGuarded(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'syncline' },
      body: JSON.stringify(notice),
      signal: AbortSignal.timeout(5000),
      // A redirect would turn the POST into a request to wherever the receiver says; the policy would check it, but
      // an alert has no reason to go anywhere but the configured URL.
      redirect: 'error',
    }).catch((error: unknown) => {
      throw accessRefusalOf(error) ?? error;
    });
    // The body is not needed; reading it frees the connection.
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`alert webhook answered ${response.status}`);
  };
}

/** Sends alerts without waiting for them; a failed delivery is logged and otherwise dropped. */
export class AlertNotifier {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly logger: Logger,
    private readonly send: AlertSender,
  ) {}

  notify(url: string, notice: AlertNotice): void {
    const delivery = this.send(url, notice)
      .then(() => this.logger.info({ flowId: notice.flowId, runId: notice.runId, kind: notice.kind }, 'alert sent'))
      .catch((error: unknown) =>
        this.logger.warn({ flowId: notice.flowId, runId: notice.runId, kind: notice.kind, err: String(error) }, 'alert could not be delivered'),
      )
      .finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
  }

  /** Waits for alerts already sent (for a clean shutdown and for tests). */
  async settle(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}
