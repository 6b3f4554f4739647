// @ts-check
/**
 * `qsub` for both PBS dialects: reads the script (file, stdin, or `-- exe args`), merges
 * `#PBS` directives under the command-line options, checks queue and resources the way the
 * server does (refusing with its text and pbs_errno & 0xFF), and hands the job to the engine
 * to run as the MOM would: a login shell started in $HOME with the PBS environment, output
 * delivered at the end to `<name>.o<seq>` or the `-o`/`-e` paths.
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJob, nextJobId, readConfig, readJob, runCommand, takeInjection, taskRecords } from '../engine.mjs';
import { PBSE, USAGE, connectionFailure, dialectOf } from './dialect.mjs';
import { exitStatus, parseWalltime } from './model.mjs';
import { UsageError, directives, getopt, parseArray, parseResources, parseVariables } from './options.mjs';
import { buildResources } from './resources.mjs';

/** @typedef {import('./dialect.mjs').Dialect} Dialect */

class Refusal extends Error {
  /** @param {number} errno @param {string} stderr */
  constructor(errno, stderr) {
    super(stderr);
    this.errno = errno;
  }
}

/** @param {Dialect} d @param {number} errno @param {string} [detail] text after the message (PBS Pro) or MSG= (Torque) */
const refuse = (d, errno, detail) => new Refusal(errno, d.submitError(/** @type {string} */ (d.texts[errno]), detail));

/** @param {'pbspro' | 'torque'} name */
export function main(name) {
  const dialect = dialectOf(name);
  return runCommand('qsub', async (ctx) => {
    const config = readConfig(ctx.dir);
    if (ctx.argv.includes('--version') && (dialect.name === 'torque' || ctx.argv.length === 1)) {
      const v = dialect.version(config);
      ctx.out(v.stdout);
      ctx.err(v.stderr);
      return 0;
    }
    try {
      return await submit(ctx, dialect, config);
    } catch (error) {
      if (error instanceof UsageError) {
        ctx.err(dialect.name === 'torque' ? `[${error.message}]\n\n${USAGE.qsub.torque}` : `${error.message}\n${USAGE.qsub.pbspro}`);
        return 2;
      }
      if (error instanceof Refusal) {
        ctx.err(error.message);
        return error.errno & 0xff;
      }
      throw error;
    }
  });
}

/** @param {import('../engine.mjs').CommandContext} ctx @param {Dialect} dialect @param {any} config */
async function submit(ctx, dialect, config) {
  const cli = getopt(ctx.argv, dialect.qsubOptions, 'qsub');
  let script = '';
  let scriptName = 'STDIN';
  /** @type {string[] | null} */
  let executable = null;
  if (cli.dashdash && dialect.name === 'pbspro') {
    if (cli.operands.length === 0) throw new UsageError('qsub: no executable given after --');
    executable = cli.operands;
    scriptName = path.basename(/** @type {string} */ (executable[0]));
  } else if (cli.operands.length > 0) {
    const file = /** @type {string} */ (cli.operands[0]);
    try {
      script = fs.readFileSync(file, 'utf8');
    } catch {
      throw new Refusal(1, `qsub: script file:: No such file or directory\n`);
    }
    scriptName = path.basename(file);
    ctx.note({ script, scriptFile: path.resolve(file) });
  } else {
    script = ctx.readStdin();
  }
  if (script.includes('\r\n')) throw new Refusal(1, 'qsub: script contains cr, lf\n');
  const prefixOption = cli.options.filter(([f]) => f === 'C').at(-1)?.[1];
  const prefix = prefixOption ?? process.env.PBS_DPREFIX ?? '#PBS';
  /** @type {[string, string][]} */
  const fromScript = [];
  for (const words of executable ? [] : directives(script, prefix)) {
    try {
      fromScript.push(...getopt(words, dialect.qsubOptions, 'qsub').options);
    } catch {
      throw new Refusal(1, `qsub: directive error: ${prefix} ${words.join(' ')}\n`);
    }
  }
  // Command-line options override directives: apply directives first, then the command line.
  const opts = collect([...fromScript, ...cli.options], cli.options, dialect);

  const injected = takeInjection(ctx.dir, 'qsub', 'submit');
  if (injected) throw injectedFailure(injected, dialect, config);
  if (opts.interactive) throw new Refusal(1, 'qsub: interactive jobs (-I) cannot be run by this simulator\n');

  const [queueName = '', atServer] = (opts.queue ?? '').split('@');
  const queue = queueName || config.defaultQueue;
  if (!config.queues.includes(queue) || (atServer && atServer !== config.server)) {
    throw refuse(dialect, PBSE.UNKQUE, dialect.name === 'torque' ? 'requested queue not found' : undefined);
  }
  const array = opts.array === undefined ? null : parseArray(opts.array, dialect.arrayOption);
  if (array === undefined) throw new UsageError(`qsub: illegal -${dialect.arrayOption} value`);
  if (array && dialect.name === 'pbspro' && opts.rerunnable === 'n') throw new Refusal(1, 'qsub:  cannot submit non-rerunable Array Job\n');
  const resources = buildResources(opts.resources, dialect, config);
  if ('error' in resources) throw refuse(dialect, resources.error, resources.detail);
  const limits = config.queueLimits?.[queue] ?? {};
  if (limits.maxWalltime !== undefined && (resources.walltimeSeconds ?? 0) > (parseWalltime(String(limits.maxWalltime)) ?? Infinity)) {
    throw refuse(dialect, PBSE.EXCQRESC, dialect.name === 'torque' ? 'cannot satisfy queue max walltime requirement' : undefined);
  }
  if (config.maxQueued !== undefined && countQueued(ctx.dir) >= config.maxQueued) throw refuse(dialect, PBSE.MAXQUED);

  const seq = nextJobId(ctx.dir, config.firstJobId ?? 1);
  const server = config.server;
  const jobId = array ? `${seq}[].${server}` : `${seq}.${server}`;
  const user = os.userInfo();
  const host = os.hostname();
  const cwd = process.cwd();
  const jobName = opts.name ?? scriptName;
  const jobDir = path.join(ctx.dir, 'jobs', String(seq));
  fs.mkdirSync(jobDir, { recursive: true });

  const variables = submitVariables(dialect, opts, queue, host, cwd, user);
  const outputPath = outputFile(opts.output, cwd, host, dialect.defaultOutputName(jobName, seq, null, 'o'));
  const errorPath = outputFile(opts.error, cwd, host, dialect.defaultOutputName(jobName, seq, null, 'e'));
  const join = opts.join ?? 'n';
  const keep = opts.keep ?? 'n';
  const shell = opts.shell ?? user.shell ?? '/bin/sh';
  // The execution host's home of the job's user: jobs start there and their login shell reads its profile.
  const home = config.home ?? user.homedir;
  const workdir = dialect.name === 'torque' && opts.initDir ? path.resolve(cwd, opts.initDir) : home;
  const nodefile = path.join(jobDir, 'nodefile');
  fs.writeFileSync(nodefile, `${host}\n`.repeat(Math.max(1, Number(resources.list.ncpus ?? 1))));
  const scriptFile = path.join(jobDir, `${seq}.${server}.SC`);
  fs.writeFileSync(scriptFile, executable ? `${executable.map(shellQuote).join(' ')}\n` : script, { mode: 0o755 });
  // OpenPBS (SHELL_INVOKE) writes the script's path on the login shell's stdin; Torque feeds the script itself.
  const stdinFile = path.join(jobDir, 'stdin');
  fs.writeFileSync(stdinFile, `${scriptFile.replace(/[[\]]/g, '\\$&')}\n`);

  /** @param {number | null} index */
  const env = (index) => jobEnvironment({ dialect, config, seq, server, index, jobName, queue, variables, home, user, shell, nodefile, resources, account: opts.account, dir: ctx.dir, workdir });
  /** Where one task's stream goes (svr_jobfunc.c default names; Torque appends `-<index>` to the template's path). @param {string | undefined} given @param {string} hostPath @param {number | null} index @param {'o' | 'e'} stream */
  const taskSink = (given, hostPath, index, stream) => {
    const file = hostPath.slice(hostPath.indexOf(':') + 1);
    if (index === null) return file;
    if (dialect.name === 'torque') return `${file}-${index}`;
    if (given === undefined || isDirectory(given, cwd)) return path.join(path.dirname(file), dialect.defaultOutputName(jobName, seq, index, stream));
    return file.replaceAll('^array_index^', String(index));
  };
  /** @param {number | null} index @returns {Partial<import('../engine.mjs').SpawnSpec>} */
  const sinks = (index) => {
    const keepDirect = keep.includes('d');
    const out = keep.includes('o') && !keepDirect ? path.join(home, dialect.defaultOutputName(jobName, seq, index, 'o')) : taskSink(opts.output, outputPath, index, 'o');
    const err = keep.includes('e') && !keepDirect ? path.join(home, dialect.defaultOutputName(jobName, seq, index, 'e')) : taskSink(opts.error, errorPath, index, 'e');
    const delivery = keep === 'n' ? 'end' : 'direct';
    if (join === 'oe') return { stdout: { path: out }, stderr: 'stdout', delivery };
    if (join === 'eo') return { stdout: { path: err }, stderr: 'stdout', delivery };
    return { stdout: { path: out }, stderr: { path: err }, delivery };
  };
  const indices = array ? array.indices : [null];
  const killDelayMs = (config.killDelaySeconds ?? 10) * 1000;
  const job = createJob(ctx.dir, {
    id: seq,
    kind: dialect.name,
    hold: opts.hold,
    maxRunning: array?.maxRunning,
    walltimeMs: resources.walltimeSeconds ? resources.walltimeSeconds * 1000 : undefined,
    kill: { signals: ['SIGTERM'], graceMs: killDelayMs },
    spawn: { argv: [shell], argv0: `-${path.basename(shell)}`, cwd: workdir, env: env(null), stdin: dialect.name === 'torque' && !executable ? scriptFile : stdinFile, ...sinks(null) },
    tasks: indices.map((index) => (index === null ? { index } : { index, env: env(index), ...sinks(index) })),
    onTaskEnd: { module: fileURLToPath(new URL('./hooks.mjs', import.meta.url)), export: 'onTaskEnd' },
    meta: {
      dialect: dialect.name,
      seq,
      name: jobName,
      owner: `${user.username}@${host}`,
      user: user.username,
      group: groupName(user.gid),
      queue,
      account: opts.account,
      project: dialect.name === 'pbspro' ? (opts.project ?? '_pbs_project_default') : undefined,
      resources: resources.list,
      walltimeSeconds: resources.walltimeSeconds,
      array: array ? { request: array.request, indices: array.indices } : null,
      outputPath,
      errorPath,
      join,
      keep,
      mailPoints: opts.mail ?? 'a',
      priority: opts.priority ?? '0',
      rerunnable: opts.rerunnable !== 'n',
      variables,
      submitArgs: ctx.argv.join(' '),
      submitHost: host,
      initWorkDir: workdir,
      ctime: Math.floor(Date.now() / 1000),
      home,
      execHost: host,
      jobId,
    },
  });
  ctx.note({ jobId });
  if (!opts.quiet) ctx.out(`${jobId}\n`);
  if (opts.block) return blockUntilDone(ctx.dir, job.id, dialect);
  return 0;
}

/** Collect options in order (later wins), the way qsub sets attributes. @param {[string, string][]} all @param {[string, string][]} _cli @param {Dialect} dialect */
function collect(all, _cli, dialect) {
  /** @type {Record<string, any>} */
  const o = { resources: /** @type {[string, string][]} */ ([]), variables: /** @type {string[]} */ ([]), exportAll: false, hold: false, quiet: false, block: false, interactive: false };
  for (const [flag, value] of all) {
    switch (flag) {
      case 'N':
        o.name = value;
        break;
      case 'q':
        o.queue = value;
        break;
      case 'A':
        o.account = value;
        break;
      case 'P':
        o.project = value;
        break;
      case 'o':
        o.output = value;
        break;
      case 'e':
        o.error = value;
        break;
      case 'j':
        if (!['oe', 'eo', 'n'].includes(value)) throw new UsageError('qsub: illegal -j value');
        o.join = value;
        break;
      case 'k':
        o.keep = value;
        break;
      case 'm':
        o.mail = value;
        break;
      case 'p':
        o.priority = value;
        break;
      case 'r':
        o.rerunnable = value;
        break;
      case 'S':
        o.shell = value.split(',')[0]?.split('@')[0];
        break;
      case 'h':
        o.hold = true;
        break;
      case 'z':
        o.quiet = true;
        break;
      case 'V':
        o.exportAll = true;
        break;
      case 'I':
        o.interactive = true;
        break;
      case 'v':
        o.variables.push(value);
        break;
      case 'd':
        o.initDir = value;
        break;
      case 'J':
      case 't':
        if (flag === dialect.arrayOption) o.array = value;
        break;
      case 'l': {
        const pairs = parseResources(value);
        if (!pairs) throw new UsageError('qsub: illegal -l value');
        o.resources.push(...pairs);
        break;
      }
      case 'W':
        for (const item of value.split(',')) {
          const [key, val = ''] = item.split('=');
          if (key === 'block') o.block = val.toLowerCase() === 'true';
          else if (!key || !val) throw new UsageError('qsub: illegal -W value');
        }
        break;
      default:
        break; // accepted and recorded in Submit_arguments only (-a -c -m -M -u -X -f -G ...)
    }
  }
  return o;
}

/** @param {import('../engine.mjs').Rule} rule @param {Dialect} dialect @param {any} config */
function injectedFailure(rule, dialect, config) {
  if (rule.kind === 'refuse') {
    const errno = rule.errno ?? PBSE.EXCQRESC;
    if (rule.message) return new Refusal(errno, dialect.submitError(rule.message, rule.detail));
    return refuse(dialect, errno, rule.detail);
  }
  const error = rule.error ?? 'connection';
  if (error === 'credential') return refuse(dialect, PBSE.BADCRED);
  if (error === 'protocol') return refuse(dialect, PBSE.PROTOCOL);
  const failure = connectionFailure(dialect, 'qsub', config.server);
  return new Refusal(failure.exit, failure.stderr);
}

/** PBS_O_* as qsub sends them (Variable_List), then -v, or everything with -V. */
function submitVariables(
  /** @type {Dialect} */ dialect,
  /** @type {any} */ opts,
  /** @type {string} */ queue,
  /** @type {string} */ host,
  /** @type {string} */ cwd,
  /** @type {os.UserInfo<string>} */ user,
) {
  const env = process.env;
  /** @type {Record<string, string>} */
  const o = {
    PBS_O_HOME: env.HOME ?? user.homedir,
    PBS_O_LANG: env.LANG ?? 'C',
    PBS_O_LOGNAME: env.LOGNAME ?? user.username,
    PBS_O_PATH: env.PATH ?? '',
    PBS_O_MAIL: env.MAIL ?? `/var/mail/${user.username}`,
    PBS_O_SHELL: env.SHELL ?? user.shell ?? '/bin/sh',
    PBS_O_WORKDIR: cwd,
    PBS_O_SYSTEM: os.type(),
  };
  /** @type {Record<string, string>} */
  const exported = {};
  if (opts.exportAll) for (const [k, v] of Object.entries(env)) if (v !== undefined && !k.startsWith('PBS_O_')) exported[k] = v;
  for (const list of opts.variables) for (const [k, v] of parseVariables(list, env)) exported[k] = v;
  if (dialect.name === 'torque') return { PBS_O_QUEUE: queue, ...o, ...exported, PBS_O_HOST: host, PBS_O_SERVER: host };
  return { ...o, ...exported, PBS_O_QUEUE: queue, PBS_O_HOST: host };
}

/** The environment the MOM gives the job (start_exec.c / Torque job_func.c). */
function jobEnvironment(/** @type {any} */ a) {
  const { dialect, config, seq, server, index, jobName, queue, variables, home, user, shell, nodefile, resources, account, dir, workdir } = a;
  const ncpus = String(resources.list.ncpus ?? 1);
  const id = index === null ? `${seq}.${server}` : `${seq}[${index}].${server}`;
  /** @type {Record<string, string>} */
  // start_exec.c order: the MOM's own environment (pbs_environment), then Variable_List, then the
  // variables the MOM computes, which replace any passed in with the job (HOME, LOGNAME, SHELL, USER...).
  const env = { PATH: '/bin:/usr/bin', ...variables, HOME: home, LOGNAME: user.username, SHELL: shell, USER: user.username };
  env.PBS_JOBNAME = index === null || dialect.name === 'pbspro' ? jobName : dialect.subjobName(jobName, index);
  env.PBS_JOBID = id;
  env.PBS_QUEUE = queue;
  env.PBS_NODEFILE = nodefile;
  env.PBS_ENVIRONMENT = 'PBS_BATCH';
  env.PBS_TASKNUM = '1';
  env.PBS_NODENUM = '0';
  env.PBS_MOMPORT = '15003';
  if (dialect.name === 'pbspro') {
    const tmp = path.join(dir, 'tmp', `pbs.${id}`);
    fs.mkdirSync(tmp, { recursive: true });
    Object.assign(env, { ENVIRONMENT: 'BATCH', PBS_JOBDIR: home, PBS_JOBCOOKIE: seq.toString(16).toUpperCase().padStart(32, '0'), TMPDIR: tmp, NCPUS: ncpus, OMP_NUM_THREADS: ncpus });
    if (account) env.PBS_ACCOUNT = account;
    if (index !== null) Object.assign(env, { PBS_ARRAY_INDEX: String(index), PBS_ARRAY_ID: `${seq}[].${server}` });
  } else {
    const nodes = Number(resources.nodeCount ?? 1);
    Object.assign(env, {
      PBS_VNODENUM: '0',
      PBS_NUM_NODES: String(nodes),
      PBS_NUM_PPN: String(resources.ppn ?? 1),
      PBS_NP: ncpus,
      PBS_VERSION: `TORQUE-${config.version}`,
      PBS_GPUFILE: `${nodefile}gpu`,
      PBS_MICFILE: `${nodefile}mic`,
    });
    if (resources.walltimeSeconds) env.PBS_WALLTIME = String(resources.walltimeSeconds);
    if (workdir !== home) env.PBS_O_INITDIR = workdir;
    if (index !== null) env.PBS_ARRAYID = String(index);
  }
  return env;
}

/** `-o`/`-e` → `host:/abs/path` (a directory gets the default name inside it). */
function outputFile(/** @type {string | undefined} */ given, /** @type {string} */ cwd, /** @type {string} */ host, /** @type {string} */ defaultName) {
  if (given === undefined) return `${host}:${path.join(cwd, defaultName)}`;
  const file = given.includes(':') ? given.slice(given.indexOf(':') + 1) : given;
  const abs = path.resolve(cwd, file);
  return `${host}:${isDirectory(given, cwd) ? path.join(abs, defaultName) : abs}`;
}

const isDirectory = (/** @type {string} */ given, /** @type {string} */ cwd) => {
  const file = given.includes(':') ? given.slice(given.indexOf(':') + 1) : given;
  return file.endsWith('/') || fs.statSync(path.resolve(cwd, file), { throwIfNoEntry: false })?.isDirectory() === true;
};

const shellQuote = (/** @type {string} */ word) => `'${word.replaceAll("'", `'\\''`)}'`;

/** @param {number} gid */
function groupName(gid) {
  try {
    const line = fs
      .readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(gid));
    return line?.split(':')[0] ?? String(gid);
  } catch {
    return String(gid);
  }
}

/** @param {string} dir */
function countQueued(dir) {
  const jobsRoot = path.join(dir, 'jobs');
  if (!fs.existsSync(jobsRoot)) return 0;
  let n = 0;
  for (const name of fs.readdirSync(jobsRoot)) {
    const job = readJob(dir, Number(name));
    if (job && taskRecords(dir, job).some((r) => r.state !== 'ended')) n++;
  }
  return n;
}

/** `-W block=true`: wait for the job to end and exit with its exit status. @param {string} dir @param {number} id @param {Dialect} dialect */
async function blockUntilDone(dir, id, dialect) {
  const deadline = Date.now() + 7 * 24 * 3600 * 1000;
  while (Date.now() < deadline) {
    const job = readJob(dir, id);
    const records = job ? taskRecords(dir, job) : [];
    if (records.every((r) => r.state === 'ended')) {
      const statuses = records.map((r) => exitStatus(r, dialect));
      return statuses.some((s) => s === undefined) ? 3 : (statuses.find((s) => s !== 0) ?? 0);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return 0;
}
