/**
 * `node forward.js ssh [options] host -- node cm-worker`: the local command of one worker.
 * ssh passes no environment to the remote command, so this puts the worker's `CM_*`
 * connection settings (and core's `MALLOC_*` tuning) on the remote command line as an
 * `env` prefix. The cluster secret is never among them: the machinery gives the worker only
 * `CM_SECRET_FILE`, the path of a 0600 file, which the host reads over the shared filesystem.
 * @module
 */
import { shellJoin } from '@cm/core/driver';
import { execa } from 'execa';

const FORWARDED = /^(CM_|MALLOC_)/;

const args = process.argv.slice(2);
const separator = args.indexOf('--');
if (separator < 2 || separator === args.length - 1) {
  process.stderr.write('cm-ssh forward: usage: forward.js ssh [options] host -- node cm-worker\n');
  process.exit(2);
}
const [ssh, ...sshArgs] = args.slice(0, separator) as [string, ...string[]];
const worker = args.slice(separator + 1);
const assignments = Object.entries(process.env)
  .filter(([name, value]) => FORWARDED.test(name) && name !== 'CM_SECRET' && value !== undefined)
  .map(([name, value]) => `${name}=${value!}`);
// The shell prints its pid, then becomes the worker (exec keeps the pid), so `stop` can kill it.
const remote = `echo "cm-ssh: remote pid $$" && exec env ${shellJoin(assignments)} ${shellJoin(worker)}`;
const session = execa(ssh, [...sshArgs, remote], { stdio: 'inherit', reject: false });
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => session.kill(signal));
const result = await session;
process.exit(result.exitCode ?? 1);
