import type { Logger } from 'pino';
import type { TriggerConfig } from '../../nodes/trigger/schema';
import type { ConnectorAccess } from '../connectors/access';
import type { ConnectorType, ConnectorWebhook } from '../connectors/types';
import type { StateDb } from '../db/index';
import { forgetWebhookRemoval, noteWebhookRemoval, pendingWebhookRemovals } from '../db/webhookRemovalQueries';
import type { FlowCatalog } from '../flows/flowCatalog';
import { flowNodeKey } from '../util/keys';

const MIN_RETRY_MS = 1000;
const MAX_RETRY_MS = 10 * 60_000;

/** One webhook trigger whose system is told where to send its events. */
interface Registration {
  flowId: string;
  nodeId: string;
  url: string;
  config: TriggerConfig;
  /** The trigger's config as JSON: a changed trigger (another repository, another secret) registers anew. */
  fingerprint: string;
  /** Whether the system has confirmed it; false while registering or waiting to retry. */
  registered: boolean;
  /** What the system's connector said a person should know about the hook as registered. */
  notes: string[];
  retryTimer: NodeJS.Timeout | null;
  retryMs: number;
  closed: boolean;
}

type Hold = () => Promise<() => Promise<void>>;

/** What a trigger's registration looks like from the outside, for its status (api/schemas.ts webhookStatusSchema). */
export interface RegistrationStatus {
  url: string;
  registered: boolean;
  /** Why the last try failed; it is being tried again. */
  error: string | null;
  notes: string[];
}

/**
 * Keeps each system's webhooks in step with the flows (issue: "the runtime registers the webhook when a flow is
 * deployed and removes it on pause or delete"): for every deployed flow's webhook trigger whose connector can
 * register one, the system is asked to send to `<publicUrl>/hooks/<flow>/<trigger>`; a paused, changed or removed
 * trigger's hook is removed. Without a public URL (the runtime on a laptop, out of the systems' reach) nothing is
 * registered: webhook triggers are then set up by hand, and polling still catches up. Shutting down removes nothing:
 * the hooks wait for the next start, and the systems retry what they could not deliver meanwhile. A removal the
 * system has not confirmed is kept in the state (`webhook_removals`) and tried again after a restart: a removed
 * flow's trigger is nowhere else, and its system would send to the runtime for good.
 */
export class WebhookRegistrations {
  private readonly registrations = new Map<string, Registration>();
  private readonly errors = new Map<string, string>();
  /** Removals that failed, waiting to be tried again. */
  private readonly removals = new Set<NodeJS.Timeout>();
  /** Per trigger, the latest removal being noted in the state: clearing one waits for it, or the note would outlive it. */
  private readonly noting = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly deps: {
      /** Where removals still to be made are kept across restarts. */
      db: StateDb;
      catalog: FlowCatalog;
      connectors: Readonly<Record<string, ConnectorType>>;
      /** Where the systems reach this runtime (`serve --public-url`); null: nothing is registered. */
      publicUrl: string | null;
      baseDir: string;
      resolveCredential(name: string): Promise<string>;
      /** Stores a signing secret a system made (`ConnectorWebhook.generatesSecret`) under the trigger's secret name. */
      storeSecret(name: string, secret: string): Promise<void>;
      access: ConnectorAccess;
      logger: Logger;
      /**
       * In a cluster, holds the trigger's registration lock across processes until the returned release is called
       * (Cluster.lockTrigger): every process keeps the same hooks in step, and each must find the hook another made.
       */
      lockTrigger?(flowId: string, nodeId: string): Promise<() => Promise<void>>;
    },
  ) {}

  /** Per trigger, the end of its last register or unregister: the next starts after it. */
  private readonly inTurn = new Map<string, Promise<void>>();

  /** Whether this runtime registers webhooks at all: only with a public URL the systems can reach. */
  get registering(): boolean {
    return this.deps.publicUrl !== null;
  }

  /** Registers, re-registers or removes a flow's hooks to match its stored state. */
  sync(flowId: string): void {
    const entry = this.deps.catalog.get(flowId);
    const wanted = new Map<string, TriggerConfig>();
    if (this.deps.publicUrl && entry?.deployed && entry.document) {
      for (const node of entry.document.nodes) {
        if (node.type === 'trigger' && node.config.detect.mode === 'webhook' && this.webhookOf(node.config)?.register) wanted.set(node.id, node.config);
      }
    }
    for (const registration of this.ofFlow(flowId)) {
      const config = wanted.get(registration.nodeId);
      if (config && JSON.stringify(config) === registration.fingerprint) {
        wanted.delete(registration.nodeId);
        continue;
      }
      this.remove(registration);
    }
    for (const [nodeId, config] of wanted) this.add(flowId, nodeId, config);
  }

  /**
   * A credential was stored anew (credentials are replaced by removing and storing them): the hooks whose signing
   * secret it holds are registered again, so the system signs with the new one (GitHub's `config.secret`, the
   * secret in Mailchimp's URL). Until then every delivery would be refused. A secret the system makes is its own.
   */
  credentialStored(name: string): void {
    for (const registration of this.registrations.values()) {
      const { detect } = registration.config;
      if (detect.mode !== 'webhook' || detect.secret.credential !== name || this.webhookOf(registration.config)?.generatesSecret) continue;
      if (registration.retryTimer) clearTimeout(registration.retryTimer);
      registration.retryTimer = null;
      registration.registered = false;
      this.whenTurn(registration, (hold) => this.register(registration, hold));
    }
  }

  /** The flow is being removed: its hooks are removed. */
  stop(flowId: string): void {
    for (const registration of this.ofFlow(flowId)) this.remove(registration);
  }

  /** Shutting down: retries stop; hooks stay registered for the next start. */
  stopAll(): void {
    this.stopped = true;
    for (const registration of this.registrations.values()) {
      registration.closed = true;
      if (registration.retryTimer) clearTimeout(registration.retryTimer);
    }
    this.registrations.clear();
    for (const timer of this.removals) clearTimeout(timer);
    this.removals.clear();
  }

  /**
   * Starting (again), once the deployed flows have registered (`sync`): the removals the last process noted and did
   * not finish are tried again. One whose URL a trigger has taken again is dropped, as that trigger's registration
   * finds and keeps the hook.
   */
  async start(): Promise<void> {
    this.stopped = false;
    for (const pending of await pendingWebhookRemovals(this.deps.db)) {
      const log = this.deps.logger.child({ flowId: pending.flowId, nodeId: pending.nodeId });
      const key = flowNodeKey(pending.flowId, pending.nodeId);
      if (this.registrations.get(key)?.url === pending.url) {
        await this.forget(pending);
        continue;
      }
      const config = parseConfig(pending.config);
      if (!config || !this.webhookOf(config)?.unregister) {
        log.warn({ url: pending.url }, 'a webhook left to remove names no system that can remove it; remove it by hand');
        await this.forget(pending);
        continue;
      }
      const registration: Registration = { ...pending, config, fingerprint: pending.config, registered: false, notes: [], retryTimer: null, retryMs: MIN_RETRY_MS, closed: true };
      this.whenTurn(registration, (hold) => this.unregister(registration, hold, MIN_RETRY_MS, true));
    }
  }

  status(flowId: string, nodeId: string): RegistrationStatus | null {
    const key = flowNodeKey(flowId, nodeId);
    const registration = this.registrations.get(key);
    if (!registration) return null;
    return { url: registration.url, registered: registration.registered, error: this.errors.get(key) ?? null, notes: registration.notes };
  }

  private webhookOf(config: TriggerConfig): ConnectorWebhook | undefined {
    return Object.hasOwn(this.deps.connectors, config.connector) ? this.deps.connectors[config.connector]?.webhook : undefined;
  }

  private ofFlow(flowId: string): Registration[] {
    return [...this.registrations.values()].filter((registration) => registration.flowId === flowId);
  }

  private context(config: TriggerConfig) {
    return { config, baseDir: this.deps.baseDir, resolveCredential: this.deps.resolveCredential, access: this.deps.access };
  }

  private add(flowId: string, nodeId: string, config: TriggerConfig): void {
    const url = `${(this.deps.publicUrl as string).replace(/\/+$/, '')}/hooks/${encodeURIComponent(flowId)}/${encodeURIComponent(nodeId)}`;
    const registration: Registration = { flowId, nodeId, url, config, fingerprint: JSON.stringify(config), registered: false, notes: [], retryTimer: null, retryMs: MIN_RETRY_MS, closed: false };
    this.registrations.set(flowNodeKey(flowId, nodeId), registration);
    this.whenTurn(registration, (hold) => this.register(registration, hold));
  }

  /**
   * Runs a trigger's register or unregister once the one before it has ended, holding the trigger's cluster lock when
   * there is one. Both find the system's hook by its URL, which a trigger keeps when its config changes: an unregister
   * of the old config still under way as the new one registers would find and delete the hook just made. Across
   * processes, each one lists the system's hooks only after the last one's hook is made, and finds it.
   */
  private whenTurn(registration: Registration, work: (hold: Hold) => Promise<void>): void {
    const key = flowNodeKey(registration.flowId, registration.nodeId);
    const hold = async () => (await this.deps.lockTrigger?.(registration.flowId, registration.nodeId)) ?? (async () => {});
    // Each work catches and reports its own errors, so the chain never breaks.
    const turn = (this.inTurn.get(key) ?? Promise.resolve()).then(() => work(hold));
    this.inTurn.set(key, turn);
    void turn.then(() => {
      if (this.inTurn.get(key) === turn) this.inTurn.delete(key);
    });
  }

  private async register(registration: Registration, hold: Hold): Promise<void> {
    const key = flowNodeKey(registration.flowId, registration.nodeId);
    const log = this.deps.logger.child({ flowId: registration.flowId, nodeId: registration.nodeId });
    let release: (() => Promise<void>) | null = null;
    try {
      if (registration.closed) return;
      release = await hold();
      const detect = registration.config.detect as Extract<TriggerConfig['detect'], { mode: 'webhook' }>;
      const webhook = this.webhookOf(registration.config);
      const name = detect.secret.credential;
      const secret = webhook?.generatesSecret ? await this.deps.resolveCredential(name).catch(() => null) : await this.deps.resolveCredential(name);
      const answer = await webhook?.register?.(this.context(registration.config), { url: registration.url, secret });
      if (registration.closed) return;
      if (webhook?.generatesSecret) {
        if (!answer?.secret) throw new Error(`the ${registration.config.connector} webhook was registered but no signing secret came back`);
        // Deliveries are checked against the stored secret: until it is stored they are refused (503) and retried.
        if (answer.secret !== secret) await this.deps.storeSecret(name, answer.secret);
        log.info({ credential: name }, 'stored the signing secret the system made for its webhook');
      }
      registration.registered = true;
      registration.notes = answer?.notes ?? [];
      for (const note of registration.notes) log.warn({ url: registration.url }, note);
      this.errors.delete(key);
      // A removal of this URL noted earlier (a pause, then a deploy) would delete the hook this trigger now uses.
      await this.forget(registration);
      log.info({ url: registration.url }, 'webhook registered with the system');
    } catch (error) {
      if (registration.closed) return;
      const message = error instanceof Error ? error.message : String(error);
      this.errors.set(key, message);
      log.warn({ err: message, retryInMs: registration.retryMs }, 'could not register the webhook; retrying');
      registration.retryTimer = setTimeout(() => {
        registration.retryTimer = null;
        if (!registration.closed) this.whenTurn(registration, (again) => this.register(registration, again));
      }, registration.retryMs);
      registration.retryTimer.unref();
      registration.retryMs = Math.min(registration.retryMs * 2, MAX_RETRY_MS);
    } finally {
      await release?.().catch((error: unknown) => log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not release the trigger lock'));
    }
  }

  private remove(registration: Registration): void {
    registration.closed = true;
    if (registration.retryTimer) clearTimeout(registration.retryTimer);
    const key = flowNodeKey(registration.flowId, registration.nodeId);
    this.registrations.delete(key);
    this.errors.delete(key);
    // Noted at once, not when its turn comes: a stop while an earlier register of the trigger still runs keeps it.
    const noted = noteWebhookRemoval(this.deps.db, { ...registration, config: registration.fingerprint }, new Date().toISOString()).catch((error: unknown) =>
      this.deps.logger.warn({ err: String(error), url: registration.url }, 'could not note the webhook removal in the state; a restart will not retry it'),
    );
    this.noting.set(key, noted);
    void noted.then(() => {
      if (this.noting.get(key) === noted) this.noting.delete(key);
    });
    this.whenTurn(registration, (hold) => this.unregister(registration, hold, MIN_RETRY_MS, false));
  }

  private async forget(removal: { flowId: string; nodeId: string; url: string }): Promise<void> {
    await this.noting.get(flowNodeKey(removal.flowId, removal.nodeId));
    await forgetWebhookRemoval(this.deps.db, removal).catch((error: unknown) =>
      this.deps.logger.warn({ err: String(error), url: removal.url }, 'could not clear a finished webhook removal from the state'),
    );
  }

  /**
   * Removes a hook from its system; a failure is tried again, later and later, for as long as this process runs and
   * no trigger has taken the hook's URL since (a retry landing after its registration, on the same system, would
   * delete the hook just made), and after a restart. Meanwhile the system keeps sending to a trigger that is gone or
   * paused, and those deliveries are refused (404, 409).
   */
  private async unregister(registration: Registration, hold: Hold, retryMs: number, retry: boolean): Promise<void> {
    const key = flowNodeKey(registration.flowId, registration.nodeId);
    const log = this.deps.logger.child({ flowId: registration.flowId, nodeId: registration.nodeId });
    if (retry && (this.stopped || this.registrations.get(key)?.url === registration.url)) return;
    let release: (() => Promise<void>) | null = null;
    try {
      release = await hold();
      await this.webhookOf(registration.config)?.unregister?.(this.context(registration.config), registration.url);
      log.info({ url: registration.url }, 'webhook removed from the system');
      await this.forget(registration);
    } catch (error) {
      log.warn({ err: error instanceof Error ? error.message : String(error), url: registration.url, retryInMs: retryMs }, 'could not remove the webhook from the system; retrying');
      const timer = setTimeout(() => {
        this.removals.delete(timer);
        this.whenTurn(registration, (again) => this.unregister(registration, again, Math.min(retryMs * 2, MAX_RETRY_MS), true));
      }, retryMs);
      timer.unref();
      this.removals.add(timer);
    } finally {
      await release?.().catch(() => undefined);
    }
  }
}

/**
 * A trigger config kept with a removal, or null when the state holds something else. Checked only for what a removal
 * uses (the connector, then the connector's own reading of it), not against today's trigger schema: a removal noted
 * by an earlier release must still be made after an upgrade.
 */
function parseConfig(text: string): TriggerConfig | null {
  try {
    const config = JSON.parse(text) as TriggerConfig | null;
    return config && typeof config === 'object' && typeof config.connector === 'string' ? config : null;
  } catch {
    return null;
  }
}
