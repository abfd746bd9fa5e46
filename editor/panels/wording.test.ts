import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../api/client';
import { settingOf } from './IssuesPanel';
import { describeSummary, foldQuietRuns, recordLabel } from './RunPanels';

const run = (id: string, summary: Partial<NonNullable<RunRecord['summary']>> | null, status = 'ok'): RunRecord => ({
  id,
  flowId: 'f',
  startedAt: '2026-12-03T12:00:00.000Z',
  finishedAt: null,
  status,
  summary: summary && { created: 0, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0, ...summary },
  error: null,
});

describe('the words the editor shows', () => {
  it('folds consecutive quiet passes, leaving a lone one as it is', () => {
    const runs = [run('1', {}), run('2', { echoes: 3 }), run('3', { created: 1 }), run('4', {}), run('5', {}, 'failed'), run('6', {}), run('7', {})];
    expect(foldQuietRuns(runs).map((item) => (item.kind === 'run' ? item.run.id : item.runs.map((each) => each.id).join('+')))).toEqual(['1+2', '3', '4', '5', '6+7']);
  });

  it('says what a pass did in words, naming only what happened', () => {
    expect(describeSummary(run('1', { created: 2, conflicts: 1, echoes: 1 }))).toBe('2 created · 1 conflict · 1 echo dropped');
    expect(describeSummary(run('1', {}))).toBe('nothing to write: every side in step');
  });

  it('names a record by its display name when it has one', () => {
    expect(recordLabel('Ada Lovelace', '17')).toBe('“Ada Lovelace” (17)');
    expect(recordLabel(null, '17')).toBe('record 17');
    expect(recordLabel(undefined, null)).toBe('a new record');
  });

  it('names the setting an issue path points at', () => {
    expect(settingOf('nodes[2].config.fields[1].direction')).toBe('fields › #2 › direction');
    expect(settingOf('nodes[0].config.detect.intervalMs')).toBe('detect › interval ms');
    expect(settingOf('edges[1].target')).toBe('target');
    expect(settingOf('')).toBe('');
  });
});
