/**
 * @cm/dashboard: see a cluster at a glance. `serveDashboard(cluster)` serves a live page
 * (workers, jobs by state, throughput, pmap progress, losses with the scheduler's verdict),
 * `/metrics` for Prometheus and `/api/snapshot` as JSON, from the master process itself.
 * @module
 */
export { type Dashboard, type ObservedCluster, serveDashboard } from './server.js';
export { type DashboardOptions, dashboardOptionsSchema } from './options.js';
export { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
export type { Sample } from './history.js';
