/**
 * `cm doctor <driver> [options]`: one tiny job, watched step by step — submitted, queued,
 * started, connected, authenticated, round trip, cancelled — with the time of each, or the
 * step that failed and what to try. The first thing to run on a new cluster.
 * @module
 */
import { Cluster } from '../cluster/cluster.js';
import { LaunchError, UsageError } from '../errors.js';
import type { ClusterManager } from '../manager/types.js';
import { describeInterfaces } from '../util/address.js';
import { type Command, DRIVER_HELP, EXIT, driverOf, managerOf } from './command.js';
import { type DoctorStep, STEPS, StepLog } from './steps.js';

/** The scheduler's word for a state as queued or running, when the manager's driver declares its states. */
function stateKind(manager: ClusterManager, state: string | undefined): string | undefined {
  const driver = (manager as { driver?: { status?: { states?: Record<string, string> } } }).driver;
  return state === undefined ? undefined : driver?.status?.states?.[state];
}

/** What to try when `step` is the one that failed. */
function hint(step: DoctorStep, log: StepLog, address: string | undefined, driver: string): string {
  switch (step) {
    case 'submitted':
      return 'the scheduler did not take the job: read its answer above, fix the option it names, or check the site defaults with `cm config ' + driver + '`';
    case 'queued':
    case 'started':
      return `the job never started${log.lastState ? ` (last state ${log.lastState})` : ''}: pick a partition or queue with free nodes, or allow longer with --timeout`;
    case 'connected':
      return `the compute node cannot reach ${address ?? 'this address'}: try --interface <name> (here: ${describeInterfaces()}) or --advertise-host <a name the nodes resolve>; a firewall may need --port <low>-<high>`;
    case 'authenticated':
      return `a worker dialed but failed the handshake${log.rejection ? ` (${log.rejection})` : ''}: the secret file must reach the node (logDir on a filesystem the nodes share), and the worker's @cm/core must have this major version`;
    case 'round trip':
      return 'the worker joined but did not answer a call: it may be overloaded, or its node killed it (see the job log)';
    case 'cancelled':
      return "the job was not cancelled: cancel it by hand with the scheduler's cancel command";
  }
}

function parsePort(text: string | boolean | undefined): number | [number, number] | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!match) throw new UsageError(`--port must be a port or a range low-high, got ${JSON.stringify(text)}`, 'port');
  return match[2] ? [Number(match[1]), Number(match[2])] : Number(match[1]);
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'submit one tiny job and report each step it takes, or where it failed',
  options: {
    json: { type: 'boolean' },
    timeout: { type: 'string' },
    interface: { type: 'string' },
    host: { type: 'string' },
    'advertise-host': { type: 'string' },
    port: { type: 'string' },
  },
  help: `Usage: cm doctor <driver> [--timeout S] [--interface IF | --host ADDR] [--advertise-host NAME] [--port P] [--json] [driver options]

Submits one job of one worker and reports each step with its time: submitted, queued,
started, connected, authenticated, round trip, cancelled. When a step fails it says which,
what the scheduler or worker said, and what to try. Exit code 0 when every step passed.

  --timeout S          seconds to wait for the worker to join (default 120)
  --interface IF       listen on this interface's address (ib0, eth1…)
  --host ADDR          listen on this address
  --advertise-host N   the address the worker dials, when it differs (NAT, a resolvable name)
  --port P             the port (or range low-high) to listen on
  --json               print {"ok", "steps": [{"step", "ok", "ms", "detail"}], "hint"}

${DRIVER_HELP}

Example: cm doctor slurm --partition debug --interface ib0`,
  async run(line, io) {
    const loaded = await driverOf(line, io, 'doctor');
    const timeoutSeconds = line.own.timeout === undefined ? 120 : Number(line.own.timeout);
    if (!(timeoutSeconds > 0)) throw new UsageError(`--timeout must be a number of seconds > 0, got ${JSON.stringify(line.own.timeout)}`, 'timeout');
    // Its steps are the display: the launch's own progress line only with --progress.
    const manager = managerOf(loaded, { ...line, own: { ...line.own, np: undefined }, driverOptions: { progress: 'none', ...line.driverOptions } }, 1);
    const stderrLines: string[] = [];
    const cluster = new Cluster({
      host: line.own.host as string | undefined,
      interface: line.own.interface as string | undefined,
      advertiseHost: line.own['advertise-host'] as string | undefined,
      port: parsePort(line.own.port),
      logLevel: 'error',
      onOutput: (_id, stream, text) => {
        if (stream === 'stderr') stderrLines.push(text);
      },
    });
    const log = new StepLog(line.own.json ? () => {} : (text) => io.out(text));
    let address: string | undefined;
    let failure: unknown;
    try {
      if (!manager.listen) {
        const listening = await cluster.listen({ network: manager.needsRoutableAddress ?? false });
        address = `${listening.host}:${listening.port}`;
      }
      cluster.on('launch-progress', (progress) => {
        if (progress.jobIds?.length) log.pass('submitted', `job ${progress.jobIds.join(', ')}`);
        log.lastState = progress.state ? `${progress.state}${progress.reason ? ` (${progress.reason})` : ''}` : log.lastState;
        const kind = stateKind(manager, progress.state);
        if (kind === 'queued') log.pass('queued', log.lastState);
        if (kind === 'running') {
          log.pass('queued', 'no wait');
          log.pass('started', log.lastState);
        }
      });
      cluster.on('peer-rejected', (rejection) => {
        log.pass('connected', `from ${rejection.remoteAddress}`);
        log.rejection = rejection.reason;
      });
      cluster.on('worker-joined', (worker) => {
        log.pass('submitted', 'started as a command (no queue)');
        log.pass('queued', 'no queue');
        log.pass('started', worker.host ? `on ${worker.host}` : undefined);
        log.pass('connected', address ? `to ${address}` : undefined);
        log.pass('authenticated', `worker ${worker.id}`);
      });
      const [id] = await cluster.addprocs(manager, { timeoutMs: timeoutSeconds * 1000 });
      const reply = await cluster.remotecallFetch({ worker: id!, timeoutMs: 30_000 }, () => `${process.version} pid ${process.pid}`);
      log.pass('round trip', `node ${reply}`);
    } catch (error) {
      failure = error;
    }
    const jobs = (manager as { jobIds?: () => string[] }).jobIds;
    try {
      await cluster.close();
      const left = jobs?.call(manager) ?? [];
      if (left.length) throw new Error(`job ${left.join(', ')} may still be queued or running`);
      if (!failure) log.pass('cancelled', 'worker removed, nothing left queued');
    } catch (error) {
      failure ??= error;
    }
    if (!failure) {
      if (line.own.json) io.out(`${JSON.stringify({ ok: true, driver: manager.name, steps: log.steps })}\n`);
      else io.out(`cm doctor: ${manager.name} works (${log.totalMs()} ms)\n`);
      return EXIT.ok;
    }
    const failed = STEPS.find((step) => !log.passed(step))!;
    const said = failure instanceof LaunchError || failure instanceof UsageError ? failure.message : String((failure as Error).message ?? failure);
    const tail = stderrLines.length && !said.includes(stderrLines.at(-1)!) ? `\n--- the worker's stderr ---\n${stderrLines.slice(-10).join('\n')}` : '';
    const advice = hint(failed, log, address, line.positionals[0]!);
    log.fail(failed, said + tail);
    if (line.own.json) io.out(`${JSON.stringify({ ok: false, driver: manager.name, failedStep: failed, steps: log.steps, error: said, hint: advice })}\n`);
    else io.err(`cm doctor: ${failed} failed — ${advice}\n`);
    return EXIT.failed;
  },
};
