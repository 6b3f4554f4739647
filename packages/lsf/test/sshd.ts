/**
 * A real OpenSSH server on loopback for the login-node test: Debian's `/usr/sbin/sshd` run
 * in the foreground with a config, host key and authorized key of its own in a temp dir (the
 * machine's sshd, if any, is not touched), and a client key for the current user. Gated like
 * the Slurm tests: skipped locally with a message when openssh-server is not installed,
 * failing under CI=true.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type ResultPromise, execa } from 'execa';

export const SSHD = '/usr/sbin/sshd';
const HOW = 'install it with `apt-get install -y openssh-server` (Debian), which CI does in .ci/run';

/** Whether sshd is installed; throws under CI when it is not. */
export function sshdIsInstalled(): boolean {
  if (existsSync(SSHD) && existsSync('/usr/bin/ssh') && existsSync('/usr/bin/ssh-keygen')) return true;
  if (process.env.CI === 'true') throw new Error(`${SSHD} (openssh-server) or the ssh client is missing: CI must ${HOW}`);
  console.warn(`[@cm/lsf] skipping the sshCommand test with a real sshd: openssh-server is not installed; ${HOW}`);
  return false;
}

export interface LoopbackSshd {
  /** The temp dir holding keys, config and logs (0700). */
  dir: string;
  port: number;
  /** Client options that reach this sshd as the current user with the fresh key, never asking anything. */
  clientArgs: string[];
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Start sshd on a free loopback port; resolves once a key login succeeds (bounded). */
export async function startLoopbackSshd(): Promise<LoopbackSshd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cm-lsf-sshd-'));
  const key = (name: string) => execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `cm-lsf-test-${name}`, '-f', path.join(dir, name)]);
  await Promise.all([key('host_key'), key('client_key')]);
  await execa('cp', [path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys')]);
  // sshd refuses to start without its privilege separation directory (root only creates it).
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const user = os.userInfo().username;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${path.join(dir, 'host_key')}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
        'AuthenticationMethods publickey',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        // The keys live under /tmp, which is world-writable: sshd's ownership checks would refuse them.
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        `AllowUsers ${user}`,
        'LogLevel ERROR',
        // bash sources ~/.bashrc for ssh commands only at shell level 1; the user's interactive
        // rc (prompts, pyenv hooks…) is not what a scheduler command needs, nor this test.
        'SetEnv SHLVL=1',
        '',
      ].join('\n'),
    );
    const daemon: ResultPromise = execa(SSHD, ['-D', '-e', '-f', config], { reject: false, stdin: 'ignore', buffer: true });
    const clientArgs = [
      '-i',
      path.join(dir, 'client_key'),
      '-p',
      String(port),
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'ConnectTimeout=5',
      `${user}@127.0.0.1`,
    ];
    const stop = async () => {
      daemon.kill('SIGTERM');
      await daemon;
      rmSync(dir, { recursive: true, force: true });
    };
    const deadline = Date.now() + 10_000;
    let last = '';
    while (Date.now() < deadline && daemon.exitCode === null) {
      const probe = await execa('ssh', [...clientArgs, 'true'], { reject: false, timeout: 8_000 });
      if (probe.exitCode === 0) return { dir, port, clientArgs, stop };
      last = String(probe.stderr);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const ended = daemon.exitCode !== null;
    daemon.kill('SIGTERM');
    const result = await daemon;
    // Another process took the port between freePort() and sshd's bind: try another one.
    if (ended && /Address already in use/.test(String(result.stderr)) && attempt < 5) continue;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`sshd on 127.0.0.1:${port} did not accept a key login: ${String(result.stderr).trim() || last.trim()}`);
  }
}
