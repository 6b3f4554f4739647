/**
 * The SSH driver, declared: a `ProcessDriver` (no queue) that starts one `ssh host …
 * cm-worker` per worker, round robin over the hosts, and stops a worker ssh left behind with
 * `ssh host kill PID`. Everything else — the secret file, the worker environment, failing a
 * launch with ssh's stderr, rolling back, `rmprocs`, `close`, Ctrl-C — is core's machinery.
 * @module
 */
import { fileURLToPath } from 'node:url';
import type { ProcessDriver } from '@cm/core/driver';
import { z } from 'zod';

/** The SSH driver's settings (not scheduler flags: ssh has no queue to pass them to). */
export const sshSettingsSchema = z.object({
  /** Hosts to start workers on, round robin (`['node1', 'user@node2']`). */
  hosts: z.array(z.string().regex(/^[^\s-][^\s]*$/, 'must be a host name, without spaces or a leading dash')).min(1, 'name at least one host'),
  /** The ssh command and its options, e.g. `['ssh', '-i', '~/.ssh/cluster', '-p', '2222']`. */
  ssh: z.array(z.string().min(1)).min(1).default(['ssh', '-o', 'BatchMode=yes']),
});
export type SshSettings = z.output<typeof sshSettingsSchema>;

/** The line the remote shell prints before it becomes the worker, naming its pid (for `stop`). */
export const REMOTE_PID = /^cm-ssh: remote pid (\d+)$/m;

/**
 * The forwarder (src/forward.ts, built to dist/forward.js): runs ssh with the worker's
 * environment on the remote line. Named through `../dist/` so the path is the built file
 * both from dist/ and from src/ (tests run the sources).
 */
const forwarder = fileURLToPath(new URL('../dist/forward.js', import.meta.url));

/** ssh's stderr, in words a user can act on. */
export function sshHint(stderr: string): string | undefined {
  if (/Permission denied/.test(stderr)) return 'ssh could not log in with a key: add your public key to the host\'s authorized_keys, or name the key with `ssh: ["ssh", "-i", "<key>"]`';
  if (/Could not resolve hostname|Connection refused|timed out|No route to host/.test(stderr)) return 'the host cannot be reached over ssh: check the name in `hosts` and that sshd runs there';
  if (/Host key verification failed/.test(stderr)) return 'the host key is unknown: connect once by hand (`ssh <host> true`) to accept it';
  if (/No such file or directory/.test(stderr)) return 'node or cm-worker is not at the same path on the host: install Node.js and your project there (a shared filesystem does it)';
  return undefined;
}

/** The driver for these settings: the hosts and ssh options are in its commands. */
export function sshDriver(settings: SshSettings): ProcessDriver {
  const [ssh, ...sshOptions] = settings.ssh as [string, ...string[]];
  const hostOf = (index: number) => settings.hosts[index % settings.hosts.length]!;
  return {
    name: 'ssh',
    processes: {
      per: 'worker',
      // Placement is round robin, decided here; printing it through the runner gives each
      // worker's command and its `stop` the same host.
      place: {
        command: (np) => ['printf', '%s\\n', ...Array.from({ length: np }, (_, i) => hostOf(i))],
        parse: (output, np) => {
          const hosts = output.stdout.split('\n').filter(Boolean);
          return hosts.length === np ? hosts : { error: `expected ${np} hosts, got ${hosts.length}` };
        },
      },
      command: ({ place, extraFlags, worker }) => [process.execPath, forwarder, ssh, ...sshOptions, ...extraFlags, place!, '--', ...worker],
      // Ending the local ssh does not end the remote worker (no terminal, no SIGHUP): kill it there.
      stop: ({ place, pid }) => [ssh, ...sshOptions, place!, 'kill', String(pid)],
      remotePid: REMOTE_PID,
      taskIndexVars: [],
      jobIdVars: [],
      hint: sshHint,
    },
  };
}
