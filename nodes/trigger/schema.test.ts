import { describe, expect, it } from 'vitest';
import { triggerConfigSchema } from './schema';

const base = { connector: 'sqlite', connection: { file: 'crm.db' }, collection: 'leads', key: 'id' };

describe('trigger keys', () => {
  it('is left out by default, so documents that never chose stay as they were', () => {
    const parsed = triggerConfigSchema.parse(base);
    expect(parsed.keys).toBeUndefined();
    expect(Object.hasOwn(parsed, 'keys')).toBe(false);
  });

  it('takes own and shared', () => {
    expect(triggerConfigSchema.parse({ ...base, keys: 'own' }).keys).toBe('own');
    expect(triggerConfigSchema.parse({ ...base, keys: 'shared' }).keys).toBe('shared');
  });

  it('refuses anything else, saying what it may be', () => {
    for (const keys of ['same', 'SHARED', true, null]) {
      const result = triggerConfigSchema.safeParse({ ...base, keys });
      expect(result.success).toBe(false);
      expect(result.error?.issues).toEqual([expect.objectContaining({ path: ['keys'], message: 'must be one of own, shared' })]);
    }
  });
});
