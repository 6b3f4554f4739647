/**
 * The dashboard over plain HTTP: the token guards every path, nothing can be changed, the
 * headers keep the page to itself, and /metrics parses and agrees with /api/snapshot.
 * @module
 */
import { Cluster, type ClusterSnapshot, LocalManager } from '@cm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, renderMetrics, serveDashboard } from '../src/index.js';
import { parsePrometheus, sampleKey } from './prometheus.js';

const SECRET = 'dashboard-test-secret-dashboard-test-secret-0123456789';

let cluster: Cluster;
let dashboard: Dashboard;
let base: string;

beforeAll(async () => {
  cluster = new Cluster({ secret: Buffer.from(SECRET).toString('base64url'), heartbeat: { intervalMs: 200, timeoutMs: 10_000 }, onOutput: () => {} });
  await cluster.addprocs(new LocalManager(2));
  dashboard = await serveDashboard(cluster, { print: false, sampleMs: 200 });
  base = dashboard.url.slice(0, dashboard.url.indexOf('?'));
});

afterAll(async () => {
  await cluster?.close();
  await dashboard?.close();
});

const get = (path: string, init?: RequestInit) => fetch(`${base}${path}`, init);
const withToken = (path: string) => `${path}${path.includes('?') ? '&' : '?'}token=${dashboard.token}`;

describe('access', () => {
  it('listens on loopback by default, with a long random token in the URL', () => {
    expect(dashboard.host).toBe('127.0.0.1');
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
  });

  it.each(['', 'api/snapshot', 'metrics', 'events', 'assets/dashboard.js', 'nothing-here'])('refuses /%s without the token, or with a wrong one (403)', async (path) => {
    expect((await get(path)).status).toBe(403);
    expect((await get(`${path}?token=${dashboard.token.slice(0, -1)}`)).status).toBe(403);
    expect((await get(path, { headers: { authorization: 'Bearer not-the-token' } })).status).toBe(403);
  });

  it('takes the token as a bearer credential too (for Prometheus scrape configs)', async () => {
    const response = await get('metrics', { headers: { authorization: `Bearer ${dashboard.token}` } });
    expect(response.status).toBe(200);
  });

  it('is read-only: every other method is refused', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const response = await get(withToken('api/snapshot'), { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
  });

  it('sends a strict content security policy and keeps referrers and frames out', async () => {
    const response = await get(withToken(''));
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const page = await response.text();
    // Everything the page loads comes from the dashboard itself.
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('never shows the cluster secret or the environment', async () => {
    process.env.CM_DASHBOARD_TEST_VARIABLE = 'env-value-that-must-not-show';
    try {
      for (const path of ['', 'api/snapshot', 'metrics']) {
        const text = await (await get(withToken(path))).text();
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(Buffer.from(SECRET).toString('base64url'));
        expect(text).not.toContain('env-value-that-must-not-show');
      }
    } finally {
      delete process.env.CM_DASHBOARD_TEST_VARIABLE;
    }
  });

  it('refuses invalid options before listening, naming the option', async () => {
    await expect(serveDashboard(cluster, { port: 70_000 })).rejects.toThrow(/port/);
    await expect(serveDashboard(cluster, { token: 'short' })).rejects.toThrow(/token: must be at least 32 characters/);
    await expect(serveDashboard(cluster, { colour: 'red' } as never)).rejects.toThrow(/colour/);
  });
});

describe('/metrics', () => {
  it('parses as Prometheus text and its numbers are the snapshot’s', async () => {
    await cluster.pmap(
      (x: number) => x + 1,
      Array.from({ length: 500 }, (_, i) => i),
    );
    const [victim] = cluster.workers();
    const lost = new Promise((resolve) => cluster.once('worker-lost', resolve));
    process.kill(cluster.worker(victim!).pid, 'SIGKILL');
    await lost;
    // Nothing runs now, so the two reads see the same cluster.
    const metrics = parsePrometheus(await (await get(withToken('metrics'))).text());
    const snapshot = (await (await get(withToken('api/snapshot'))).json()) as ClusterSnapshot;
    expect(snapshot.version).toBe(1);
    expect(metrics.types.get('cm_workers')).toBe('gauge');
    expect(metrics.types.get('cm_calls_done_total')).toBe('counter');
    expect(metrics.types.get('cm_queue_wait_seconds')).toBe('summary');
    for (const state of ['joining', 'idle', 'busy', 'retiring', 'lost'] as const) {
      expect(metrics.samples.get(sampleKey('cm_workers', { state }))).toBe(snapshot.counts[state]);
    }
    expect(snapshot.counts).toMatchObject({ idle: 1, lost: 1 });
    expect(metrics.samples.get('cm_calls_done_total')).toBe(snapshot.totals.callsDone);
    expect(snapshot.totals.callsDone).toBeGreaterThan(0);
    expect(metrics.samples.get('cm_pmap_items_done_total')).toBe(500);
    expect(snapshot.totals.pmapItemsDone).toBe(500);
    expect(metrics.samples.get(sampleKey('cm_worker_losses_total', { reason: 'connection-closed' }))).toBe(1);
    expect(metrics.samples.get(sampleKey('cm_worker_losses_total', { reason: 'heartbeat-timeout' }))).toBe(0);
    expect(metrics.samples.get('cm_submissions_total')).toBe(snapshot.totals.submissions);
    expect(metrics.samples.get('cm_queue_wait_seconds_count')).toBe(2);
    expect(metrics.samples.get('cm_queue_wait_seconds_sum')).toBeCloseTo(snapshot.totals.queueWaitMsSum / 1000, 6);
    const live = snapshot.workers.find((worker) => worker.state === 'idle')!;
    expect(metrics.samples.get(sampleKey('cm_worker_rss_bytes', { worker: live.id, host: live.host }))).toBe(live.rssBytes);
    expect(live.rssBytes).toBeGreaterThan(1024 * 1024);
  });

  it('escapes label values so a host name cannot break a line', () => {
    const snapshot = { ...cluster.snapshot(), totals: { ...cluster.snapshot().totals, losses: { 'odd "reason"\nnext': 2 } } };
    const parsed = parsePrometheus(renderMetrics(snapshot));
    expect(parsed.samples.get(sampleKey('cm_worker_losses_total', { reason: 'odd "reason"\nnext' }))).toBe(2);
  });
});

describe('/metrics of adaptive pools', () => {
  it('gives each running pool its worker counts and paused flag, and drops stopped pools', () => {
    const pool = {
      id: 1,
      manager: 'slurm',
      startedAt: 0,
      minimum: 0,
      maximum: 8,
      demand: 40,
      workers: 3,
      ending: 1,
      pending: 2,
      target: 6,
      paused: null,
      stopped: false,
      launches: 2,
      cancelled: 0,
      retired: 0,
    };
    const snapshot: ClusterSnapshot = {
      ...cluster.snapshot(),
      pools: [pool, { ...pool, id: 2, manager: 'sge', paused: 'qsub refused the job: "no such queue"' }, { ...pool, id: 3, stopped: true }],
    };
    const parsed = parsePrometheus(renderMetrics(snapshot));
    expect(parsed.types.get('cm_pool_workers')).toBe('gauge');
    const figure = (id: number, manager: string, kind: string) => parsed.samples.get(sampleKey('cm_pool_workers', { pool: id, manager, kind }));
    expect([figure(1, 'slurm', 'capacity'), figure(1, 'slurm', 'ending'), figure(1, 'slurm', 'pending'), figure(1, 'slurm', 'target')]).toEqual([3, 1, 2, 6]);
    expect(parsed.samples.get(sampleKey('cm_pool_paused', { pool: 1, manager: 'slurm' }))).toBe(0);
    expect(parsed.samples.get(sampleKey('cm_pool_paused', { pool: 2, manager: 'sge' }))).toBe(1);
    expect(figure(3, 'slurm', 'target')).toBeUndefined();
  });
});

describe('/events', () => {
  it('streams the history and a snapshot at once, and says "stopped" when the dashboard closes', async () => {
    const extra = await serveDashboard(cluster, { print: false, sampleMs: 100 });
    const response = await fetch(extra.url.replace('/?', '/events?'));
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    const decoder = new TextDecoder();
    for (let reads = 0; reads < 50 && !text.includes('event: snapshot'); reads++) text += decoder.decode((await reader.read()).value);
    expect(text).toContain('event: history');
    expect(text).toContain('event: snapshot');
    await extra.close();
    for (let reads = 0; reads < 100; reads++) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    expect(text).toContain('event: stopped');
  });
});
