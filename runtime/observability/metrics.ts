/**
 * A small Prometheus registry: counters and one histogram, rendered in the text exposition format. The runtime
 * needs only these, so a dependency (prom-client) would add more than it saves.
 */

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}="${String(labels[name]).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
    .join(',');
}

class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels, by = 1): void {
    if (by === 0) return;
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [key, value] of this.values) lines.push(`${this.name}${key ? `{${key}}` : ''} ${value}`);
    return lines.join('\n');
  }
}

class Histogram {
  private readonly series = new Map<string, { buckets: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: number[],
  ) {}
  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    this.bounds.forEach((bound, index) => {
      if (value <= bound) entry.buckets[index]! += 1;
    });
    entry.sum += value;
    entry.count += 1;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [key, entry] of this.series) {
      const prefix = key ? `${key},` : '';
      this.bounds.forEach((bound, index) => lines.push(`${this.name}_bucket{${prefix}le="${bound}"} ${entry.buckets[index]}`));
      lines.push(`${this.name}_bucket{${prefix}le="+Inf"} ${entry.count}`);
      lines.push(`${this.name}_sum${key ? `{${key}}` : ''} ${entry.sum}`);
      lines.push(`${this.name}_count${key ? `{${key}}` : ''} ${entry.count}`);
    }
    return lines.join('\n');
  }
}

/** The runtime's metrics, by flow. */
export class RuntimeMetrics {
  readonly recordsSynced = new Counter('syncline_records_synced_total', 'Records written to a side, by operation.');
  readonly echoesDropped = new Counter('syncline_echoes_dropped_total', "Changes dropped as the runtime's own writes.");
  readonly conflicts = new Counter('syncline_conflicts_total', 'Conflicts filed.');
  readonly failures = new Counter('syncline_record_failures_total', 'Records that could not be synced in a pass.');
  readonly passes = new Counter('syncline_passes_total', 'Passes run, by reason and status.');
  readonly webhookEvents = new Counter('syncline_webhook_events_total', 'Webhook events stored, and deliveries ignored as repeats.');
  readonly passDuration = new Histogram('syncline_pass_duration_seconds', 'How long a pass took.', [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
  ]);

  /** The Prometheus text exposition of every metric. */
  render(): string {
    return (
      [this.recordsSynced, this.echoesDropped, this.conflicts, this.failures, this.passes, this.webhookEvents, this.passDuration]
        .map((metric) => metric.render())
        .join('\n') + '\n'
    );
  }
}
