/**
 * `serveDashboard(cluster)`: a small read-only HTTP server on the master. `/` is the page,
 * `/events` pushes snapshots and chart points over Server-Sent Events, `/api/snapshot` is the
 * snapshot as JSON, `/metrics` is for Prometheus. Every request needs the token; nothing can
 * be changed through it.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { Cluster, ClusterSnapshot } from '@cm/core';
import { type Asset, loadAssets, loadPage } from './assets.js';
import { History } from './history.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import { type DashboardOptions, isLoopback, parseDashboardOptions } from './options.js';
import { newToken, requestToken, sameToken } from './token.js';

/** What the dashboard reads of a cluster: its snapshots and its events (a `Cluster` is one). */
export type ObservedCluster = Pick<Cluster, 'snapshot' | 'on' | 'off'>;

/** A running dashboard. */
export interface Dashboard extends AsyncDisposable {
  /** The page's address, token included: whoever has it can read the dashboard. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly token: string;
  /** Stop serving: open pages show "dashboard stopped". The cluster is not touched. */
  close(): Promise<void>;
}

/** Events after which open pages get a snapshot at once rather than at the next sample. */
const PUSH_ON = ['worker-joined', 'worker-lost', 'worker-removed', 'launch-progress', 'pmap-progress', 'peer-rejected'] as const;
/** Event-driven pushes are coalesced to at most one per this many ms. */
const PUSH_COALESCE_MS = 200;
/** A comment line keeps idle SSE connections from being cut by proxies. */
const SSE_KEEPALIVE_MS = 15_000;

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-store',
} as const;

/**
 * Serve a live dashboard of `cluster`: workers, jobs by state, throughput and busy-worker
 * charts, pmap progress, recent events; `/metrics` for Prometheus and `/api/snapshot` as JSON.
 * Listens on 127.0.0.1 unless `host` is given; every request needs the random token in the
 * printed URL.
 * @example
 * ```ts
 * const dashboard = await serveDashboard(cluster); // prints dashboard: http://127.0.0.1:…/?token=…
 * // … later
 * await dashboard.close();
 * ```
 * @throws TypeError for invalid options; the listen error (e.g. EADDRINUSE) when the port is taken
 */
export async function serveDashboard(cluster: ObservedCluster, options: DashboardOptions = {}): Promise<Dashboard> {
  const opts = parseDashboardOptions(options);
  if (typeof cluster?.snapshot !== 'function') throw new TypeError('serveDashboard: the first argument must be a Cluster from @cm/core 0.1 or later (it has no snapshot())');
  const token = opts.token ?? newToken();
  const [assets, page] = await Promise.all([loadAssets(), loadPage()]);
  const history = new History(opts.historyMinutes * 60_000);
  const clients = new Set<ServerResponse>();
  let latest: ClusterSnapshot = cluster.snapshot();
  let closedSent = false;

  const broadcast = (event: string, data: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of clients) client.write(frame);
  };
  const pushSnapshot = () => {
    latest = cluster.snapshot();
    broadcast('snapshot', latest);
    if (latest.closed && !closedSent) {
      closedSent = true;
      broadcast('closed', { at: latest.takenAt });
    }
  };

  history.add(latest);
  const sampler = setInterval(() => {
    latest = cluster.snapshot();
    broadcast('sample', history.add(latest));
    pushSnapshot();
  }, opts.sampleMs).unref();

  let pending: NodeJS.Timeout | undefined;
  const schedulePush = () => {
    pending ??= setTimeout(() => {
      pending = undefined;
      pushSnapshot();
    }, PUSH_COALESCE_MS).unref();
  };
  for (const event of PUSH_ON) cluster.on(event, schedulePush);

  const keepalive = setInterval(() => {
    for (const client of clients) client.write(': keepalive\n\n');
  }, SSE_KEEPALIVE_MS).unref();

  const serve = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
    if (!sameToken(requestToken(request, url), token)) {
      return reply(response, 403, 'text/plain; charset=utf-8', '403: this dashboard needs the token from its URL (printed by serveDashboard when it started).\n');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return reply(response, 405, 'text/plain; charset=utf-8', '405: the dashboard is read-only; only GET and HEAD are served.\n');
    }
    switch (url.pathname) {
      case '/':
        return reply(response, 200, 'text/html; charset=utf-8', page(token));
      case '/api/snapshot':
        return reply(response, 200, 'application/json; charset=utf-8', JSON.stringify(cluster.snapshot()));
      case '/metrics':
        return reply(response, 200, METRICS_CONTENT_TYPE, renderMetrics(cluster.snapshot()));
      case '/events':
        return openStream(request, response);
      default: {
        const asset: Asset | undefined = url.pathname.startsWith('/assets/') ? assets.get(url.pathname.slice('/assets/'.length)) : undefined;
        if (asset) return reply(response, 200, asset.type, asset.body);
        return reply(response, 404, 'text/plain; charset=utf-8', `404: nothing at ${url.pathname}; the dashboard serves /, /api/snapshot, /metrics and /events.\n`);
      }
    }
  };

  const openStream = (request: IncomingMessage, response: ServerResponse) => {
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    if (request.method === 'HEAD') return response.end();
    // A new page gets the recent past at once, then live updates.
    latest = cluster.snapshot();
    response.write(`retry: 2000\nevent: history\ndata: ${JSON.stringify(history.all())}\n\nevent: snapshot\ndata: ${JSON.stringify(latest)}\n\n`);
    if (latest.closed) response.write(`event: closed\ndata: ${JSON.stringify({ at: latest.takenAt })}\n\n`);
    clients.add(response);
    request.on('close', () => clients.delete(response));
  };

  const server = createServer(serve);
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.unref();
  const { port } = server.address() as AddressInfo;
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? os.hostname() : opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${shownHost}:${port}/?token=${token}`;
  if (opts.print === true) process.stderr.write(`dashboard: ${url}${isLoopback(opts.host) ? '' : ' (reachable from other machines; keep the token secret)'}\n`);
  else if (typeof opts.print === 'function') opts.print(url);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(sampler);
      clearInterval(keepalive);
      clearTimeout(pending);
      for (const event of PUSH_ON) cluster.off(event, schedulePush);
      broadcast('stopped', { at: Date.now() });
      for (const client of clients) client.end();
      clients.clear();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
    })();
    return closing;
  };
  return { url, host: opts.host, port, token, close, [Symbol.asyncDispose]: close };
}

function reply(response: ServerResponse, status: number, type: string, body: string | Buffer): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': bytes.length });
  response.end(response.req.method === 'HEAD' ? undefined : bytes);
}
