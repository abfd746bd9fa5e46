import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { AccessRefusedError, HostAccess } from '../connectors/access';
import { accessRefusalOf, guardedFetch, HostPolicy } from '../connectors/network';

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

/** How long setting a URL waits for its name to resolve before it lets the delivery's own check decide. */
const lookupWaitMs = 5000;

/**
 * Why every delivery to `url` would be refused by the host policy, or null: asked when the URL is set, so that a
 * person learns it then and not from a log at the first alert. The same HostPolicy decides as at connect time, an
 * address in the URL as it is and a name by every address it resolves to; a name that does not resolve (yet) is no
 * refusal. Each delivery is checked again as it connects: a name may resolve elsewhere by then.
 */
export async function alertUrlRefusal(hosts: HostAccess, url: string): Promise<AccessRefusedError | null> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
  const policy = new HostPolicy(hosts);
  if (isIP(host) !== 0) return policy.refusal(host, port, host);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), lookupWaitMs);
    policy.lookupFor(host, port)(host, { all: true }, (error) => {
      clearTimeout(timer);
      resolve(accessRefusalOf(error));
    });
  });
}

/** A failed delivery's reason, with what it was caused by (`fetch failed` says nothing of a refused connection). */
function deliveryError(error: unknown): string {
  const messages: string[] = [];
  for (let current: unknown = error; current !== undefined && messages.length < 3; current = current instanceof Error ? current.cause : undefined) {
    const message = current instanceof Error ? current.message : String(current);
    if (message !== '' && !messages.includes(message)) messages.push(message);
  }
  return messages.join(': ');
}

/** Sends alerts without waiting for them; a failed delivery is logged and kept as its flow's last error. */
export class AlertNotifier {
  private readonly inFlight = new Set<Promise<void>>();
  /** Per flow, the last delivery's failure and the URL it went to; none once a delivery succeeds. This process's only. */
  private readonly failures = new Map<string, { url: string; at: string; message: string }>();

  constructor(
    private readonly logger: Logger,
    private readonly send: AlertSender,
  ) {}

  notify(url: string, notice: AlertNotice): void {
    const delivery = this.send(url, notice)
      .then(() => {
        if (this.failures.get(notice.flowId)?.url === url) this.failures.delete(notice.flowId);
        this.logger.info({ flowId: notice.flowId, runId: notice.runId, kind: notice.kind }, 'alert sent');
      })
      .catch((error: unknown) => {
        this.failures.set(notice.flowId, { url, at: new Date().toISOString(), message: deliveryError(error) });
        this.logger.warn({ flowId: notice.flowId, runId: notice.runId, kind: notice.kind, err: String(error) }, 'alert could not be delivered');
      })
      .finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
  }

  /** Forgets a removed flow's failure: a flow made later under its id starts without one. */
  forget(flowId: string): void {
    this.failures.delete(flowId);
  }

  /** Why the last delivery of the flow's alerts to `url` failed, or null when it did not (or none was tried). */
  lastError(flowId: string, url: string | null): { at: string; message: string } | null {
    const failure = this.failures.get(flowId);
    return failure && failure.url === url ? { at: failure.at, message: failure.message } : null;
  }

  /** Waits for alerts already sent (for a clean shutdown and for tests). */
  async settle(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}
