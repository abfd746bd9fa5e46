import type { FlowDocument } from '../../nodes';
import type { TriggerConfig } from '../../nodes/trigger/schema';

export interface CredentialReference {
  name: string;
  /** Where the flow names it, e.g. `nodes[0].config.detect.secret`. */
  path: string;
}

function collect(value: unknown, path: string, into: CredentialReference[]): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => collect(item, `${path}[${index}]`, into));
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && typeof record.credential === 'string') {
    into.push({ name: record.credential, path });
    return;
  }
  for (const key of keys) collect(record[key], `${path}.${key}`, into);
}

/**
 * Every stored credential a flow's triggers name (`{"credential": ...}` in a connection, a webhook secret). A webhook
 * secret the system itself makes and the runtime stores when it registers the webhook (`secretMadeBySystem`) is not
 * one a person must store first.
 */
export function credentialReferences(document: FlowDocument, options: { secretMadeBySystem?: (config: TriggerConfig) => boolean } = {}): CredentialReference[] {
  const found: CredentialReference[] = [];
  document.nodes.forEach((node, index) => {
    if (node.type !== 'trigger') return;
    collect(node.config.connection, `nodes[${index}].config.connection`, found);
    if (node.config.detect.mode === 'webhook' && !options.secretMadeBySystem?.(node.config)) {
      found.push({ name: node.config.detect.secret.credential, path: `nodes[${index}].config.detect.secret` });
    }
  });
  return found;
}

/** A webhook trigger whose system makes the signing secret the runtime keeps in `credential`. */
export interface SystemSecretHolder {
  flowId: string;
  nodeId: string;
  credential: string;
  /** Where the flow names the credential. */
  path: string;
}

/** The webhook triggers of a flow whose signing secret their system makes (`secretMadeBySystem`), by credential. */
export function systemSecretHolders(flowId: string, document: FlowDocument, secretMadeBySystem: (config: TriggerConfig) => boolean): SystemSecretHolder[] {
  return document.nodes.flatMap((node, index) =>
    node.type === 'trigger' && node.config.detect.mode === 'webhook' && secretMadeBySystem(node.config)
      ? [{ flowId, nodeId: node.id, credential: node.config.detect.secret.credential, path: `nodes[${index}].config.detect.secret` }]
      : [],
  );
}

/**
 * Two webhooks whose systems make their signing secrets (Zendesk, BambooHR: one secret per webhook) cannot keep
 * them in one credential: the runtime stores each one it registers there, and the last would overwrite the other,
 * whose deliveries would all be refused (401). The first of the flow's holders that shares its credential with
 * another trigger of the flow or of `others`, and that other trigger; null when none does.
 */
export function sharedSystemSecret(holders: readonly SystemSecretHolder[], others: readonly SystemSecretHolder[]): { holder: SystemSecretHolder; other: SystemSecretHolder } | null {
  for (const [index, holder] of holders.entries()) {
    const other = [...holders.slice(0, index), ...holders.slice(index + 1), ...others].find((candidate) => candidate.credential === holder.credential);
    if (other) return { holder, other };
  }
  return null;
}
