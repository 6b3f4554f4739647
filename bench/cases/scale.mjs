// N simulated workers (protocol clients in one separate process) joining one master and
// staying alive on heartbeats: time to register all, master memory per worker, master CPU
// spent on heartbeats. Run once per N, each in a fresh master process, so figures do not mix.
import { execa } from 'execa';

const here = new URL('.', import.meta.url).pathname;
const TARGET_WORKERS = 20_000;
/** File descriptors the master and the simulator each need besides one per worker. */
const SPARE_DESCRIPTORS = 100;

/** The open-files hard limit of this shell (each of the master and the simulator holds one socket per worker). */
async function openFilesLimit() {
  const { stdout } = await execa('sh', ['-c', 'ulimit -Hn']);
  return stdout.trim() === 'unlimited' ? Infinity : Number(stdout.trim());
}

export async function scale() {
  // 20,000 workers, or as many as the open-files limit lets one process hold (20,000 here, and
  // only root with CAP_SYS_RESOURCE may raise it).
  const top = Math.min(TARGET_WORKERS, (await openFilesLimit()) - SPARE_DESCRIPTORS);
  const sizes = [100, 1_000, 5_000, top];
  const rows = [];
  const perWorkerRegistration = [];
  for (const n of sizes) {
    const run = await execa('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$@"', 'sh', process.execPath, '--expose-gc', `${here}scale-master.mjs`, String(n)], { timeout: 300_000 });
    const figures = JSON.parse(run.stdout.trim().split('\n').pop());
    perWorkerRegistration.push(figures.registerSeconds / n);
    const targeted = n === top;
    rows.push(
      { what: `master scale N=${n}`, measure: 'register all (s)', cm: figures.registerSeconds, target: targeted ? '<= 5 s' : '', pass: targeted ? figures.registerSeconds <= 5 : undefined },
      { what: `master scale N=${n}`, measure: '  master CPU while registering (s)', cm: figures.registerCpuSeconds },
      { what: `master scale N=${n}`, measure: "  simulated workers' CPU to join, same 2 cores (s)", cm: figures.simulatorCpuSeconds },
      {
        what: `master scale N=${n}`,
        measure: 'master memory per worker (KB)',
        cm: figures.bytesPerWorker / 1024,
        target: targeted ? '<= 20 KB' : '<= 100 KB',
        pass: figures.bytesPerWorker / 1024 <= (targeted ? 20 : 100),
      },
      {
        what: `master scale N=${n}`,
        measure: 'heartbeat CPU (% of one core)',
        cm: figures.heartbeatCpuPercent,
        target: targeted ? '<= 5%' : '',
        pass: targeted ? figures.heartbeatCpuPercent <= 5 : undefined,
      },
      { what: `master scale N=${n}`, measure: '  heartbeat interval at this size (s)', cm: figures.heartbeatSeconds },
      { what: `master scale N=${n}`, measure: '  a hung worker is lost after (s)', cm: figures.timeoutSeconds },
    );
  }
  // Linear: registration time per worker at the largest N within 2x of the smallest.
  const growth = perWorkerRegistration.at(-1) / perWorkerRegistration[0];
  rows.push({ what: 'master scale', measure: `registration time per worker, N=${sizes.at(-1)} vs N=${sizes[0]} (x)`, cm: growth, target: 'linear (<= 2x)', pass: growth <= 2 });
  return rows;
}
