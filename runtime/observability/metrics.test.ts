import { describe, expect, it } from 'vitest';
import { RuntimeMetrics } from './metrics';

describe('RuntimeMetrics', () => {
  it('renders counters and histograms in the Prometheus text format, escaping label values', () => {
    const metrics = new RuntimeMetrics();
    metrics.recordsSynced.inc({ flow: 'a"b', op: 'created' }, 2);
    metrics.recordsSynced.inc({ op: 'created', flow: 'a"b' });
    metrics.passDuration.observe({ flow: 'x', reason: 'schedule' }, 0.03);
    const text = metrics.render();
    expect(text).toContain('syncline_records_synced_total{flow="a\\"b",op="created"} 3');
    expect(text).toContain('syncline_pass_duration_seconds_bucket{flow="x",reason="schedule",le="0.025"} 0');
    expect(text).toContain('syncline_pass_duration_seconds_bucket{flow="x",reason="schedule",le="0.05"} 1');
    expect(text).toContain('syncline_pass_duration_seconds_bucket{flow="x",reason="schedule",le="+Inf"} 1');
    expect(text).toContain('syncline_pass_duration_seconds_count{flow="x",reason="schedule"} 1');
  });
});
