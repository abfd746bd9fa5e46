import { isNodeType, nodeRegistry } from '../../nodes';
import type { NodeDefinition } from '../../nodes/types';

/**
 * The one-line summary a canvas node shows. A config that does not validate yet is summarised as far as it can
 * be, and never breaks the canvas: a half-filled form is the normal state while someone is building a flow.
 */
export function summarizeNode(type: string, config: unknown): string {
  if (!isNodeType(type)) return `unknown node type "${type}"`;
  const definition = nodeRegistry[type] as NodeDefinition;
  const parsed = definition.schema.safeParse(config);
  if (parsed.success) {
    try {
      return definition.summarize(parsed.data);
    } catch {
      // fall through to the best-effort summary
    }
  }
  try {
    // Fill what is missing from the defaults, so e.g. a trigger without a collection still shows its connector.
    const merged = { ...(definition.defaults() as object), ...(typeof config === 'object' && config !== null ? config : {}) };
    // Empty settings leave gaps like "sqlite ·  · every 5s"; close them.
    const text = definition.summarize(merged).replace(/( · )\s*·\s*/g, '$1').replace(/\s*·\s*$/, '');
    if (text && !text.includes('undefined')) return text;
  } catch {
    // fall through
  }
  return 'not configured yet';
}
