import type { ClusterStatus } from './cluster';

/**
 * The cluster's gauges in the Prometheus text format, read from the state at each scrape (every member answers the
 * same figures, each with its own `process` label on the ones about itself). Null: the state did not answer, which
 * `syncline_cluster_up 0` says.
 */
export function renderClusterMetrics(status: ClusterStatus | null): string {
  const gauge = (name: string, help: string, samples: Array<[string, number]>) =>
    [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...samples.map(([labels, value]) => `${name}${labels} ${value}`)].join('\n');
  if (status === null) return `${gauge('syncline_cluster_up', 'Whether the state database answered this scrape.', [['', 0]])}\n`;
  const self = `{process="${escapeLabel(status.self.name)}"}`;
  const running = status.members.find((member) => member.id === status.self.id)?.running.length ?? 0;
  return (
    [
      gauge('syncline_cluster_up', 'Whether the state database answered this scrape.', [['', 1]]),
      gauge('syncline_cluster_processes', 'Live processes of this runtime (serve and worker).', [['', status.members.length]]),
      gauge('syncline_cluster_passes_running', 'Pass jobs this process is running.', [[self, running]]),
      gauge('syncline_queue_jobs', 'Pass jobs in the queue, by state.', [
        ['{state="waiting"}', status.queue.waiting],
        ['{state="active"}', status.queue.active],
      ]),
      gauge('syncline_queue_oldest_waiting_seconds', 'How long the oldest due pass job has waited (0: none waits).', [['', status.queue.oldestWaitingSeconds ?? 0]]),
    ].join('\n') + '\n'
  );
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
