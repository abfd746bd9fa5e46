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
