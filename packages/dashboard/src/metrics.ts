/**
 * `/metrics`: a cluster snapshot in the Prometheus text exposition format (version 0.0.4), so
 * a site's Prometheus can scrape the master. Every number comes from `cluster.snapshot()`.
 * @module
 */
import type { ClusterSnapshot } from '@cm/core';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Loss reasons always exported (at 0 until one happens), so rate() works from the first scrape. */
const LOSS_REASONS = ['connection-closed', 'heartbeat-timeout', 'protocol-error', 'scheduler'];

type Labels = Record<string, string | number>;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

class Exposition {
  readonly #lines: string[] = [];

  metric(name: string, type: 'gauge' | 'counter' | 'summary', help: string, samples: Array<[Labels, number, string?]>): void {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value, suffix] of samples) {
      const entries = Object.entries(labels);
      const text = entries.length === 0 ? '' : `{${entries.map(([key, v]) => `${key}="${escapeLabel(String(v))}"`).join(',')}}`;
      this.#lines.push(`${name}${suffix ?? ''}${text} ${formatValue(value)}`);
    }
  }

  toString(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

export function renderMetrics(snapshot: ClusterSnapshot): string {
  const out = new Exposition();
  const { counts, totals } = snapshot;
  out.metric(
    'cm_workers',
    'gauge',
    'Workers by state (joining: started, not joined yet; lost: lost workers still listed by the snapshot).',
    Object.entries(counts).map(([state, n]) => [{ state }, n]),
  );
  out.metric('cm_calls_done_total', 'counter', 'Calls answered by workers (a pmap batch counts once).', [[{}, totals.callsDone]]);
  out.metric('cm_calls_in_flight', 'gauge', 'Calls sent and not yet answered.', [[{}, totals.callsInFlight]]);
  const reasons = [...new Set([...LOSS_REASONS, ...Object.keys(totals.losses)])];
  out.metric(
    'cm_worker_losses_total',
    'counter',
    'Workers lost (went away unasked), by reason.',
    reasons.map((reason) => [{ reason }, totals.losses[reason] ?? 0]),
  );
  out.metric('cm_pmap_items_done_total', 'counter', 'pmap items finished.', [[{}, totals.pmapItemsDone]]);
  out.metric('cm_pmaps_running', 'gauge', 'pmaps running now.', [[{}, snapshot.pmaps.filter((pmap) => !pmap.ended).length]]);
  const pools = snapshot.pools.filter((pool) => !pool.stopped);
  const poolLabels = (pool: ClusterSnapshot['pools'][number]) => ({ pool: pool.id, manager: pool.manager });
  out.metric(
    'cm_pool_workers',
    'gauge',
    'Workers of a running adaptive pool: capacity (joined), ending (near walltime), pending (launched, not joined), target (what it aims at).',
    pools.flatMap((pool) => (['workers', 'ending', 'pending', 'target'] as const).map((kind): [Labels, number] => [{ ...poolLabels(pool), kind: kind === 'workers' ? 'capacity' : kind }, pool[kind]])),
  );
  out.metric(
    'cm_pool_paused',
    'gauge',
    '1 while a running adaptive pool has paused its growth (a refused submission, repeated launch failures).',
    pools.map((pool) => [poolLabels(pool), pool.paused === null ? 0 : 1]),
  );
  out.metric('cm_submissions_total', 'counter', 'Scheduler jobs submitted.', [[{}, totals.submissions]]);
  out.metric('cm_queue_wait_seconds', 'summary', 'Time from a launch start to each worker joining (queue wait plus start-up).', [
    [{}, totals.queueWaitMsSum / 1000, '_sum'],
    [{}, totals.joins, '_count'],
  ]);
  out.metric('cm_peers_rejected_total', 'counter', 'Peers that failed the handshake.', [[{}, totals.peersRejected]]);
  out.metric('cm_cluster_closed', 'gauge', '1 once the cluster was closed.', [[{}, snapshot.closed ? 1 : 0]]);
  const reporting = snapshot.workers.filter((worker) => worker.state !== 'lost' && worker.cpuPercent !== null);
  out.metric(
    'cm_worker_cpu_percent',
    'gauge',
    'CPU use of a worker in percent of one core, as it last reported.',
    reporting.map((worker) => [{ worker: worker.id, host: worker.host }, worker.cpuPercent ?? 0]),
  );
  out.metric(
    'cm_worker_rss_bytes',
    'gauge',
    'Resident set size of a worker, as it last reported.',
    reporting.map((worker) => [{ worker: worker.id, host: worker.host }, worker.rssBytes ?? 0]),
  );
  return out.toString();
}
