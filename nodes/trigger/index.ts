import type { NodeDefinition } from '../types';
import { triggerConfigSchema, triggerTypeVersion } from './schema';

/** A poll interval as a person reads it; one the schema refuses (negative, too short, not a number) is said to be so. */
export function describeInterval(ms: unknown): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 100) return 'interval not valid';
  const round = (value: number) => Number(value.toFixed(1));
  if (ms < 1000) return `every ${Math.round(ms)} ms`;
  if (ms < 60_000) return `every ${round(ms / 1000)}s`;
  if (ms < 3_600_000) return `every ${round(ms / 60_000)} min`;
  return `every ${round(ms / 3_600_000)} h`;
}

export const trigger = {
  type: 'trigger',
  typeVersion: triggerTypeVersion,
  migrations: [],
  title: 'Trigger',
  description: 'One collection of one connected system: where changes come from and where writes go.',
  schema: triggerConfigSchema,
  defaults: () => ({ connector: 'sqlite', connection: { file: '' }, collection: '', key: 'id', detect: { mode: 'poll', intervalMs: 5000 } }),
  summarize: (config) => `${config.connector} · ${config.collection} · ${config.detect.mode === 'poll' ? describeInterval(config.detect.intervalMs) : config.detect.mode}`,
  behaviour: null,
} satisfies NodeDefinition<typeof triggerConfigSchema>;
