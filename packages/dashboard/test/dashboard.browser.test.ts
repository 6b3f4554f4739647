/**
 * The page in a real headless Chromium (Debian's, driven by playwright-core; no browser is
 * downloaded): 3 local workers show up, a pmap moves its bar and the charts gain points, a
 * SIGKILLed worker turns red with its reason, the closed cluster is said so, and the page
 * loads nothing from anywhere else. Screenshots of each state go to test-output/.
 * Skips locally with a message when /usr/bin/chromium is missing; fails under CI=true.
 * @module
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster, LocalManager } from '@cm/core';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, serveDashboard } from '../src/index.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
  console.warn(`dashboard browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
const LOST_BOUND_MS = 10_000;

describe.skipIf(!haveChromium)('the dashboard page in Chromium', () => {
  let cluster: Cluster;
  let dashboard: Dashboard;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const foreignRequests: string[] = [];

  beforeAll(async () => {
    await mkdir(OUTPUT, { recursive: true });
    cluster = new Cluster({ heartbeat: { intervalMs: 250, timeoutMs: 10_000 }, onOutput: () => {}, logLevel: 'error' });
    await cluster.addprocs(new LocalManager(3));
    dashboard = await serveDashboard(cluster, { print: false, sampleMs: 250 });
    profile = await mkdtemp(path.join(os.tmpdir(), 'cm-dashboard-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    const origin = new URL(dashboard.url).origin;
    page.on('request', (request) => {
      if (!request.url().startsWith(`${origin}/`)) foreignRequests.push(request.url());
    });
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(dashboard.url);
  });

  afterAll(async () => {
    await context?.close();
    await cluster?.close();
    await dashboard?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('shows the 3 workers, live', async () => {
    await page.waitForFunction(() => document.querySelectorAll('#workers tbody tr[data-state="idle"]').length === 3, undefined, { timeout: 20_000 });
    await expect.poll(() => page.textContent('[data-testid=status]')).toBe('live');
    const ids = await page.$$eval('#workers tbody tr', (rows) => rows.map((row) => Number((row as HTMLElement).dataset.workerId)));
    expect(ids.sort()).toEqual(cluster.workers().sort());
    // CPU and memory come from the workers' heartbeats.
    await page.waitForFunction(() => [...document.querySelectorAll('#workers tbody tr')].every((row) => /MiB/.test(row.children[11]?.textContent ?? '')), undefined, { timeout: 10_000 });
    await page.screenshot({ path: path.join(OUTPUT, '1-workers.png'), fullPage: true });
  });

  it('moves the pmap progress bar and adds points to the charts', async () => {
    const pointsBefore = Number(await page.getAttribute('[data-testid=chart-throughput]', 'data-points'));
    // Record every value the bar shows while the map runs.
    await page.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { seen: number[] }).seen = seen;
      new MutationObserver(() => {
        const bar = document.querySelector('[data-testid=pmap-bar]');
        const value = Number(bar?.getAttribute('aria-valuenow'));
        if (bar && seen.at(-1) !== value) seen.push(value);
      }).observe(document.getElementById('pmaps')!, { subtree: true, childList: true, attributes: true });
    });
    const total = 600;
    let shot = false;
    const mapping = cluster.pmap(
      (x: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x), 8)),
      Array.from({ length: total }, (_, i) => i),
      { batchSize: 1 },
    );
    await page.waitForFunction((n) => (window as unknown as { seen: number[] }).seen.some((v) => v > 0 && v < n), total, { timeout: 30_000 });
    await page.screenshot({ path: path.join(OUTPUT, '2-pmap-running.png'), fullPage: true }).then(() => (shot = true));
    await mapping;
    await page.waitForFunction((n) => (window as unknown as { seen: number[] }).seen.at(-1) === n, total, { timeout: 10_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: number[] }).seen);
    // It moved: values in between, never backwards, ending at the total.
    expect(seen.filter((v) => v > 0 && v < total).length).toBeGreaterThan(0);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(await page.textContent('.pmap')).toContain(`${total}/${total} (100%)`);
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=chart-throughput]')?.getAttribute('data-points')) > n, pointsBefore, { timeout: 10_000 });
    // The chart is drawn (uPlot's canvas), and the throughput series saw the map's items.
    expect(await page.locator('[data-testid=chart-throughput] canvas').count()).toBe(1);
    expect(shot).toBe(true);
  });

  it('turns a SIGKILLed worker lost, in red, with its reason', async () => {
    const victim = cluster.workers()[1]!;
    const killedAt = Date.now();
    process.kill(cluster.worker(victim).pid, 'SIGKILL');
    const row = page.locator(`#workers tr[data-worker-id="${victim}"][data-state="lost"]`);
    // Lost at once (the connection closed); the launcher's verdict follows within a second.
    await row.waitFor({ timeout: LOST_BOUND_MS });
    await expect.poll(() => row.locator('[data-testid=loss]').textContent(), { timeout: LOST_BOUND_MS }).toContain('killed by SIGKILL');
    expect(Date.now() - killedAt).toBeLessThan(LOST_BOUND_MS);
    // Read the colour in the page in one step: the table is re-rendered on every update, so a
    // cell found by one call may be detached (computed style '') by the next.
    const color = await page.evaluate((id) => {
      const cell = document.querySelector(`#workers tr[data-worker-id="${id}"][data-state="lost"] td`);
      return cell ? getComputedStyle(cell).color : 'no lost row';
    }, victim);
    expect(color).toBe('rgb(196, 37, 28)');
    expect(await page.locator('#workers tbody tr:not(.lost)').count()).toBe(2);
    await page.screenshot({ path: path.join(OUTPUT, '3-worker-lost.png'), fullPage: true });
  });

  it('sorts the workers table by a column, both ways', async () => {
    const pidCells = () => page.$$eval('#workers tbody tr', (rows) => rows.map((row) => Number(row.children[2]?.textContent)));
    await page.click('#workers th[data-key=pid]');
    const ascending = await pidCells();
    expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
    await page.click('#workers th[data-key=pid]');
    const descending = await pidCells();
    expect(descending).toEqual([...ascending].reverse());
    expect(await page.getAttribute('#workers th[data-key=pid]', 'aria-sort')).toBe('descending');
  });

  it('refuses a request without the token (403)', async () => {
    const other = await context.newPage();
    const response = await other.goto(dashboard.url.slice(0, dashboard.url.indexOf('?')));
    expect(response?.status()).toBe(403);
    expect(await other.textContent('body')).toContain('needs the token');
    await other.close();
  });

  it('shows an adaptive pool with its bounds, then stopped', async () => {
    // No work and a minimum of 0: the pool launches nothing, so the workers above stay as they are.
    const pool = cluster.adapt(new LocalManager(1), { minimum: 0, maximum: 3, intervalMs: 100 });
    const card = page.locator('#pools .pool[data-pool-id="1"]');
    await card.waitFor({ timeout: 10_000 });
    expect(await card.locator('.head').textContent()).toContain('pool 1 (local)0 workers · 0 pending · target 0 (0–3)');
    expect(await card.locator('.head .chip').last().textContent()).toBe('adapting');
    await pool.stop();
    await expect.poll(() => card.locator('.head .chip').last().textContent(), { timeout: 10_000 }).toBe('stopped');
    await page.screenshot({ path: path.join(OUTPUT, '4-pool-stopped.png'), fullPage: true });
  });

  it('keeps the page when the cluster closes, and says "cluster closed"', async () => {
    await cluster.close();
    await expect.poll(() => page.textContent('[data-testid=status]'), { timeout: 10_000 }).toBe('cluster closed');
    // The last state stays on the page.
    expect(await page.locator('#workers tbody tr.lost').count()).toBe(1);
    await page.screenshot({ path: path.join(OUTPUT, '5-cluster-closed.png'), fullPage: true });
  });

  it('loaded nothing from elsewhere and broke no content security rule', () => {
    expect(foreignRequests).toEqual([]);
    expect(problems).toEqual([]);
  });
});
