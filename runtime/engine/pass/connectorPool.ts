/**
 * Connectors kept open between passes, by connection (see Connector.stillCurrent): opening a SQLite file, reading its
 * tables and preparing statements cost a webhook-sized pass about a quarter of its time.
 */
import { folderAccess, type ConnectorAccess } from '../../connectors/access';
import { givenKeysRefusal } from '../../connectors/givenKeys';
import { ConnectorError, type Connector, type ConnectorType } from '../../connectors/types';
import type { ResolvedAuth } from '../../credentials/types';
import type { CompiledTrigger } from '../graph';
import { triggerError } from './passErrors';

/** How long a connector kept between passes stays open unused. */
const CONNECTOR_IDLE_MS = 30_000;

/** What opening a connector takes: the registry, credentials and what connectors may reach (see EngineDeps). */
export interface ConnectorSources {
  connectors: Record<string, ConnectorType>;
  resolveCredential?(name: string): Promise<string>;
  resolveAuth?(name: string): Promise<ResolvedAuth>;
  access?: ConnectorAccess;
}

/** Which kept connectors a trigger may take: the same connector, connection and collection settings, same folder. */
function connectionKey(trigger: CompiledTrigger, baseDir: string): string {
  return JSON.stringify([baseDir, trigger.config]);
}

/** Opens connectors for passes and keeps the ones that can serve the next pass (see the top of this file). */
export class ConnectorPool {
  private readonly idle = new Map<string, Array<{ connector: Connector; timer: NodeJS.Timeout }>>();
  private closed = false;

  constructor(private readonly sources: ConnectorSources) {}

  /** The connectors of one pass, opened from this pool and handed back to it when the pass ends. */
  lease(baseDir: string): PassConnectors {
    return new PassConnectors(this, baseDir);
  }

  /** A connector kept from an earlier pass when it is still current, else a new one. */
  async open(trigger: CompiledTrigger, baseDir: string): Promise<{ connector: Connector; key: string }> {
    const key = connectionKey(trigger, baseDir);
    const kept = this.idle.get(key)?.pop();
    if (kept) {
      clearTimeout(kept.timer);
      if (await kept.connector.stillCurrent?.().catch(() => false)) return { connector: kept.connector, key };
      await kept.connector.close().catch(() => undefined);
    }
    const type = this.sources.connectors[trigger.config.connector];
    if (!type) {
      throw triggerError(trigger.nodeId, `unknown connector "${trigger.config.connector}"; known: ${Object.keys(this.sources.connectors).join(', ')}`);
    }
    try {
      const connector = await type.open({
        config: trigger.config,
        baseDir,
        resolveCredential: this.sources.resolveCredential ?? (async (name) => Promise.reject(new Error(`no credential store: cannot resolve "${name}"`))),
        ...(this.sources.resolveAuth ? { resolveAuth: this.sources.resolveAuth } : {}),
        access: this.sources.access ?? folderAccess(baseDir),
      });
      if (trigger.config.keys === 'shared' && !connector.capabilities.givenKeys) {
        // Validation refuses what the registry can tell; an opened connector may still deny given keys for its collection.
        await connector.close().catch(() => undefined);
        throw new ConnectorError(givenKeysRefusal(trigger.config.connector, this.sources.connectors, type.givenKeys ? trigger.config.collection : undefined));
      }
      return { connector, key };
    } catch (caught) {
      throw triggerError(trigger.nodeId, caught instanceof Error ? caught.message : String(caught), caught);
    }
  }

  /** Keeps a connector that can serve another pass for a while, or closes it. */
  async release(connector: Connector, key: string): Promise<void> {
    if (!connector.stillCurrent || this.closed) return connector.close();
    const idle = this.idle.get(key) ?? [];
    const entry = {
      connector,
      timer: setTimeout(() => {
        const at = idle.indexOf(entry);
        if (at >= 0) idle.splice(at, 1);
        if (idle.length === 0 && this.idle.get(key) === idle) this.idle.delete(key);
        void connector.close().catch(() => undefined);
      }, CONNECTOR_IDLE_MS),
    };
    // An idle connector must not keep the process alive.
    entry.timer.unref();
    idle.push(entry);
    this.idle.set(key, idle);
  }

  /** Closes the connectors kept between passes; passes started afterwards close theirs when they end. */
  async close(): Promise<void> {
    this.closed = true;
    const idle = [...this.idle.values()].flat();
    this.idle.clear();
    for (const entry of idle) clearTimeout(entry.timer);
    await Promise.allSettled(idle.map((entry) => entry.connector.close()));
  }
}

/** The connectors one pass opened, by trigger. */
export class PassConnectors {
  readonly byNode = new Map<string, Connector>();
  private readonly opened = new Map<Connector, string>();

  constructor(
    private readonly pool: ConnectorPool,
    private readonly baseDir: string,
  ) {}

  async open(trigger: CompiledTrigger): Promise<Connector> {
    const { connector, key } = await this.pool.open(trigger, this.baseDir);
    this.byNode.set(trigger.nodeId, connector);
    this.opened.set(connector, key);
    return connector;
  }

  /** Ends the pass's hold on its connectors: kept for the next pass after a pass that ran, else closed. */
  async settle(passRan: boolean): Promise<void> {
    // After a failure a connector may be in any state: only one that served a pass that ran is kept for the next.
    await Promise.allSettled([...this.opened].map(([connector, key]) => (passRan ? this.pool.release(connector, key) : connector.close())));
  }
}
