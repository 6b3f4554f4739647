// N simulated workers (protocol clients in one separate process) joining one master and
// staying alive on heartbeats: time to register all, master memory per worker, master CPU
// spent on heartbeats. Run once per N, each in a fresh master process, so figures do not mix.
import { execa } from 'execa';

const here = new URL('.', import.meta.url).pathname;
export const SCALE_SIZES = [100, 1_000, 5_000];

export async function scale() {
  const rows = [];
  const perWorkerRegistration = [];
  for (const n of SCALE_SIZES) {
    const run = await execa(process.execPath, ['--expose-gc', `${here}scale-master.mjs`, String(n)], { timeout: 120_000 });
    const figures = JSON.parse(run.stdout.trim().split('\n').pop());
    perWorkerRegistration.push(figures.registerSeconds / n);
    rows.push(
      { what: `master scale N=${n}`, measure: 'register all (s)', cm: figures.registerSeconds, target: n === 5_000 ? '<= 5 s' : '', pass: n === 5_000 ? figures.registerSeconds <= 5 : undefined },
      { what: `master scale N=${n}`, measure: 'master memory per worker (KB)', cm: figures.bytesPerWorker / 1024, target: '<= 100 KB', pass: figures.bytesPerWorker / 1024 <= 100 },
      {
        what: `master scale N=${n}`,
        measure: 'heartbeat CPU (% of one core)',
        cm: figures.heartbeatCpuPercent,
        target: n === 5_000 ? '<= 5%' : '',
        pass: n === 5_000 ? figures.heartbeatCpuPercent <= 5 : undefined,
      },
    );
  }
  // Linear: registration time per worker at the largest N within 2x of the smallest.
  const growth = perWorkerRegistration.at(-1) / perWorkerRegistration[0];
  rows.push({ what: 'master scale', measure: `registration time per worker, N=${SCALE_SIZES.at(-1)} vs N=${SCALE_SIZES[0]} (x)`, cm: growth, target: 'linear (<= 2x)', pass: growth <= 2 });
  return rows;
}
