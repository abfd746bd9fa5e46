import { describe, expect, it } from 'vitest';
import { defaultExpressionLimits } from '../types';
import { transformBehaviour } from './behaviour';
import { previewExpressionOp } from './preview';
import { transformConfigSchema } from './schema';

/** The transform node of one expression op, run as a pass runs it. */
function runForward(op: { forward: string; target: string; backward?: unknown }, record: Record<string, unknown>) {
  const config = transformConfigSchema.parse({ ops: [{ op: 'expression', ...op }] });
  return transformBehaviour.forward(record, config, { nodeId: 'names', limits: defaultExpressionLimits });
}

describe('previewExpressionOp', () => {
  it('stops a range that would hang the tab, with the words the runtime fails the record with', async () => {
    const op = { forward: '[1..1e7]', target: 'numbers' };
    const preview = await previewExpressionOp({ ...op, backward: null }, { name: 'Ada' });
    expect(preview).toEqual({ forward: { error: 'expression built a list of more than 100000 items' }, backward: null, lossy: [] });
    await expect(runForward(op, { name: 'Ada' })).rejects.toThrow(/: expression built a list of more than 100000 items$/);
  });

  it('stops a recursion without end at the runtime time limit', async () => {
    const preview = await previewExpressionOp({ forward: '($count := function($n) { $count($n + 1) }; $count(0))', target: 'n', backward: null }, {});
    expect(preview.forward).toEqual({ error: `expression ran longer than ${defaultExpressionLimits.timeoutMs} ms; check it for a loop or recursion that never ends` });
  });

  it('shows the value a pass writes, and the fields backward does not give back as they were', async () => {
    const op = { forward: '$uppercase(name)', target: 'shout', backward: { name: '$lowercase(shout)', email: 'email' } };
    const sample = { name: 'Ada', email: 'ada@example.org' };
    const preview = await previewExpressionOp(op, sample);
    const passed = await runForward(op, sample);
    expect(passed).toMatchObject({ kind: 'pass' });
    expect(preview.forward).toEqual({ value: passed.kind === 'pass' ? passed.record.shout : undefined });
    expect(preview.backward).toEqual({ name: { value: 'ada' }, email: { value: 'ada@example.org' } });
    expect(preview.lossy).toEqual([{ field: 'name', before: 'Ada', after: 'ada' }]);
  });
});
