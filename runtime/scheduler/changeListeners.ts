import type { Logger } from 'pino';
import type { TriggerConfig } from '../../nodes/trigger/schema';
import type { ConnectorAccess } from '../connectors/access';
import { openConnector } from '../connectors/index';
import { canSubscribe, type TableChange } from '../connectors/postgres/index';
import type { ConnectorType } from '../connectors/types';
import type { IncomingDelivery, IncomingEvent } from '../db/webhookQueries';
import { writeTagPrefix } from '../engine/ids';
import type { FlowCatalog } from '../flows/flowCatalog';
import { FlowPausedError, UnknownFlowError, type FlowRunner } from '../passes/runner';
import { flowNodeKey } from '../util/keys';

const MIN_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;
/** How often a process whose trigger another process listens for tries to take over (it may have died). */
const STANDBY_MS = 2000;

/** One trigger's subscription to its system's change notifications. */
interface Listener {
  flowId: string;
  nodeId: string;
  config: TriggerConfig;
  /** The trigger's config as JSON: a flow replaced with another table or connection listens anew. */
  fingerprint: string;
  /** Set once the trigger should no longer listen (paused, removed, changed, shutting down); never unset. */
  closed: boolean;
  /** Stops the live subscription; null while opening, waiting for a retry, or closed. */
  unsubscribe: (() => Promise<void>) | null;
  opening: Promise<void> | null;
  retryTimer: NodeJS.Timeout | null;
  retryMs: number;
  /** Changes heard since the last hand-over to the intake, in the order the system sent them. */
  heard: IncomingEvent[];
  /** In a cluster, the release of this process's claim to listen for the trigger; null while it holds none. */
  claim: (() => Promise<void>) | null;
  /** Another process of the cluster listens for the trigger: this one tries again every STANDBY_MS. */
  standingBy: boolean;
}

/** Where heard changes go: the webhook intake, so they take the webhook worker's path to a pass. */
export interface HintSink {
  submit(delivery: IncomingDelivery): Promise<boolean>;
}

/** A trigger asks for real-time changes with `notify: true` in its connection (the postgres connector's LISTEN/NOTIFY). */
export function wantsChangeNotifications(config: TriggerConfig): boolean {
  return config.connection['notify'] === true;
}

/**
 * Keeps one subscription per deployed flow and trigger that asks for change notifications, and hands each change to
 * the webhook intake as a hint. From there it is a webhook event like any other: the worker merges a burst into one
 * pass, keeps the order of a record's events, and runs one pass per flow at a time through the runner.
 *
 * A notification is only sent while someone listens, so every time a subscription starts (deploy, restart, a lost
 * connection) a catch-up pass reads what changed while nobody was listening. Opening the connector installs the
 * table's notify trigger when it is missing; a failure to open or a lost connection is retried with backoff.
 */
export class ChangeListeners {
  private readonly listeners = new Map<string, Listener>();
  private readonly submitting = new Set<Promise<unknown>>();
  private flushScheduled = false;

  constructor(
    private readonly deps: {
      catalog: FlowCatalog;
      runner: FlowRunner;
      sink: HintSink;
      connectors: Readonly<Record<string, ConnectorType>>;
      /** Relative connection paths in stored flows resolve against this folder (the data folder). */
      baseDir: string;
      resolveCredential(name: string): Promise<string>;
      access: ConnectorAccess;
      logger: Logger;
      /**
       * In a cluster, claims the right to listen for a trigger (Cluster.claimListening): its release, or null while
       * another process listens. Without it, this process listens for every trigger.
       */
      claimListening?(flowId: string, nodeId: string): Promise<(() => Promise<void>) | null>;
    },
  ) {}

  /** Starts, restarts or stops a flow's subscriptions to match its stored state (deployed, triggers asking for them). */
  sync(flowId: string): void {
    const entry = this.deps.catalog.get(flowId);
    const wanted = new Map<string, TriggerConfig>();
    if (entry?.deployed && entry.document) {
      for (const node of entry.document.nodes) {
        if (node.type === 'trigger' && wantsChangeNotifications(node.config)) wanted.set(node.id, node.config);
      }
    }
    for (const listener of this.ofFlow(flowId)) {
      const config = wanted.get(listener.nodeId);
      if (config && JSON.stringify(config) === listener.fingerprint) wanted.delete(listener.nodeId);
      else void this.close(listener);
    }
    for (const [nodeId, config] of wanted) {
      const listener: Listener = {
        flowId,
        nodeId,
        config,
        fingerprint: JSON.stringify(config),
        closed: false,
        unsubscribe: null,
        opening: null,
        retryTimer: null,
        retryMs: 0,
        heard: [],
        claim: null,
        standingBy: false,
      };
      this.listeners.set(flowNodeKey(flowId, nodeId), listener);
      this.open(listener);
    }
  }

  /** Stops a flow's subscriptions (paused or removed); resolves once they no longer listen. */
  async stop(flowId: string): Promise<void> {
    await Promise.all(this.ofFlow(flowId).map((listener) => this.close(listener)));
  }

  /** Stops every subscription and waits for the changes already heard to be stored (before shutting down). */
  async stopAll(): Promise<void> {
    this.flush();
    await Promise.all([...this.listeners.values()].map((listener) => this.close(listener)));
    await Promise.all([...this.submitting]);
  }

  /** The triggers listening right now, as `flowId/nodeId` (for status and tests). */
  listening(): string[] {
    return [...this.listeners.values()].filter((listener) => listener.unsubscribe !== null).map((listener) => `${listener.flowId}/${listener.nodeId}`);
  }

  /** The triggers another process of the cluster listens for, as `flowId/nodeId`. */
  standingBy(): string[] {
    return [...this.listeners.values()].filter((listener) => listener.standingBy && !listener.closed).map((listener) => `${listener.flowId}/${listener.nodeId}`);
  }

  /** Resolves once no subscription is being opened (for tests). */
  async settled(): Promise<void> {
    for (;;) {
      const opening = [...this.listeners.values()].map((listener) => listener.opening).filter((promise) => promise !== null);
      if (opening.length === 0) return;
      await Promise.all(opening);
    }
  }

  private ofFlow(flowId: string): Listener[] {
    return [...this.listeners.values()].filter((listener) => listener.flowId === flowId);
  }

  private open(listener: Listener): void {
    const opening = this.subscribe(listener).finally(() => {
      if (listener.opening === opening) listener.opening = null;
    });
    listener.opening = opening;
  }

  private async subscribe(listener: Listener): Promise<void> {
    const { flowId, nodeId } = listener;
    const log = this.deps.logger.child({ flowId, nodeId });
    let connector;
    try {
      // One process of a cluster listens for a trigger; the others stand by, to take over if it dies.
      if (this.deps.claimListening && !listener.claim) {
        listener.claim = await this.deps.claimListening(flowId, nodeId);
        listener.standingBy = listener.claim === null;
        if (!listener.claim) return this.standBy(listener);
        if (!listener.closed) log.info('this process listens for the trigger in the cluster');
      }
      if (listener.closed) return;
      connector = await openConnector(
        { config: listener.config, baseDir: this.deps.baseDir, resolveCredential: this.deps.resolveCredential, access: this.deps.access },
        this.deps.connectors,
      );
      if (!canSubscribe(connector)) {
        log.warn({ connector: listener.config.connector }, 'the trigger asks for notify, but its connector cannot report changes as they happen; it is polled only');
        return;
      }
      // The subscription listens on a connection of its own, so the connector's pool is closed once it is in place.
      let live: (() => Promise<void>) | null = null;
      const unsubscribe = await connector.subscribe(
        (change) => this.hear(listener, change),
        (error) => {
          if (live) this.lose(listener, live, error);
        },
      );
      live = unsubscribe;
      if (listener.closed) {
        await unsubscribe();
        return;
      }
      listener.unsubscribe = unsubscribe;
      listener.retryMs = 0;
      log.info('listening for changes');
      this.catchUp(flowId);
    } catch (error) {
      if (listener.closed) return;
      log.warn({ err: error instanceof Error ? error.message : String(error) }, 'cannot listen for changes; retrying');
      // Another process may reach the system where this one cannot.
      await this.releaseClaim(listener);
      this.retry(listener);
    } finally {
      await connector?.close().catch(() => undefined);
      if (listener.closed) await this.releaseClaim(listener);
    }
  }

  private standBy(listener: Listener): void {
    this.openAfter(listener, STANDBY_MS);
  }

  private async releaseClaim(listener: Listener): Promise<void> {
    const release = listener.claim;
    listener.claim = null;
    await release?.().catch((error: unknown) =>
      this.deps.logger.warn({ flowId: listener.flowId, nodeId: listener.nodeId, err: error instanceof Error ? error.message : String(error) }, 'could not give up the claim to listen'),
    );
  }

  private lose(listener: Listener, unsubscribe: () => Promise<void>, error: Error): void {
    // Only the live subscription's loss counts: a late error of one already replaced or stopped is not news.
    if (listener.closed || listener.unsubscribe !== unsubscribe) return;
    listener.unsubscribe = null;
    void unsubscribe();
    this.deps.logger.warn({ flowId: listener.flowId, nodeId: listener.nodeId, err: error.message }, 'lost the connection that listens for changes; listening again');
    void this.releaseClaim(listener).then(() => this.retry(listener));
  }

  private retry(listener: Listener): void {
    if (listener.closed) return;
    listener.retryMs = Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, listener.retryMs * 2));
    this.openAfter(listener, listener.retryMs);
  }

  /** Tries to listen again after `delayMs`, unless the trigger stops listening meanwhile. */
  private openAfter(listener: Listener, delayMs: number): void {
    if (listener.closed) return;
    listener.retryTimer = setTimeout(() => {
      listener.retryTimer = null;
      if (!listener.closed) this.open(listener);
    }, delayMs);
    listener.retryTimer.unref();
  }

  private async close(listener: Listener): Promise<void> {
    listener.closed = true;
    listener.heard = [];
    const key = flowNodeKey(listener.flowId, listener.nodeId);
    if (this.listeners.get(key) === listener) this.listeners.delete(key);
    if (listener.retryTimer) clearTimeout(listener.retryTimer);
    listener.retryTimer = null;
    if (listener.opening) await listener.opening;
    const unsubscribe = listener.unsubscribe;
    listener.unsubscribe = null;
    await unsubscribe?.().catch((error: unknown) =>
      this.deps.logger.warn({ flowId: listener.flowId, nodeId: listener.nodeId, err: String(error) }, 'could not stop listening cleanly'),
    );
    await this.releaseClaim(listener);
  }

  private hear(listener: Listener, change: TableChange): void {
    if (listener.closed) return;
    // This flow's own write coming back: its echo, which a pass would read only to drop (SPEC §6).
    if (change.tag?.startsWith(writeTagPrefix(listener.flowId))) return;
    listener.heard.push({ recordId: change.id, type: change.type });
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // The notifications of one transaction arrive together: handed over in one delivery, stored in one commit.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const listener of this.listeners.values()) {
      if (listener.closed || listener.heard.length === 0) continue;
      const events = listener.heard;
      listener.heard = [];
      const { flowId, nodeId } = listener;
      const submitted = this.deps.sink.submit({ flowId, nodeId, deliveryId: null, events }).then(
        () => undefined,
        (error: unknown) => {
          // Not stored, so no pass will come of these hints: a full pass reads what they pointed at.
          this.deps.logger.error({ flowId, nodeId, err: error instanceof Error ? error.message : String(error) }, 'changes heard could not be stored; running a full pass');
          this.catchUp(flowId);
        },
      );
      this.submitting.add(submitted);
      void submitted.finally(() => this.submitting.delete(submitted));
    }
  }

  private catchUp(flowId: string): void {
    this.deps.runner.runPass(flowId, { reason: 'schedule', requireDeployed: true }).catch((error: unknown) => {
      if (error instanceof FlowPausedError || error instanceof UnknownFlowError) return;
      this.deps.logger.error({ flowId, err: error }, 'catch-up pass could not start');
    });
  }
}
