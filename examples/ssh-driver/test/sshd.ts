/**
 * A real OpenSSH server on loopback for the tests: Debian's `/usr/sbin/sshd` in the
 * foreground with a host key, config and authorized key of its own in a temp dir (the
 * machine's sshd, if any, is untouched), accepting only key logins of the current user.
 * Skipped locally with a message when openssh-server is missing; under CI=true that fails.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type ResultPromise, execa } from 'execa';

const SSHD = '/usr/sbin/sshd';
const HOW = 'install it with `apt-get install -y openssh-server openssh-client` (Debian), as .ci/run does';

/** Whether sshd and the client are installed; throws under CI when they are not. */
export function sshdIsInstalled(): boolean {
  if (existsSync(SSHD) && existsSync('/usr/bin/ssh') && existsSync('/usr/bin/ssh-keygen')) return true;
  if (process.env.CI === 'true') throw new Error(`${SSHD} (openssh-server) or the ssh client is missing: CI must ${HOW}`);
  console.warn(`[cm-ssh-driver] skipping the tests with a real sshd: openssh-server is not installed; ${HOW}`);
  return false;
}

export interface LoopbackSshd {
  /** The ssh command that logs in to it with the test's key, never asking anything. */
  ssh: string[];
  /** The host to name in `hosts`. */
  host: string;
  port: number;
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

/** Start sshd on a free loopback port; resolves once a key login succeeds (bounded: 5 ports, 10 s each). */
export async function startLoopbackSshd(): Promise<LoopbackSshd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cm-ssh-driver-sshd-'));
  const key = (name: string) => execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `cm-ssh-driver-${name}`, '-f', path.join(dir, name)]);
  await Promise.all([key('host_key'), key('client_key')]);
  await execa('cp', [path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys')]);
  // sshd refuses to start without its privilege separation directory.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const user = os.userInfo().username;
  for (let attempt = 1; attempt <= 5; attempt++) {
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
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        // The keys are under /tmp (world-writable): sshd's ownership checks would refuse them.
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        `AllowUsers ${user}`,
        'LogLevel ERROR',
        'SetEnv SHLVL=1',
        '',
      ].join('\n'),
    );
    const daemon: ResultPromise = execa(SSHD, ['-D', '-e', '-f', config], { reject: false, stdin: 'ignore', buffer: true });
    const ssh = [
      'ssh',
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
      '-l',
      user,
    ];
    const stop = async () => {
      daemon.kill('SIGTERM');
      await daemon;
      rmSync(dir, { recursive: true, force: true });
    };
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && daemon.exitCode === null) {
      const probe = await execa(ssh[0]!, [...ssh.slice(1), '127.0.0.1', 'true'], { reject: false, timeout: 8_000 });
      if (probe.exitCode === 0) return { ssh, host: '127.0.0.1', port, stop };
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    daemon.kill('SIGTERM');
    const result = await daemon;
    if (/Address already in use/.test(String(result.stderr)) && attempt < 5) continue;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`sshd on 127.0.0.1:${port} did not accept a key login: ${String(result.stderr).trim()}`);
  }
  throw new Error('sshd: no free loopback port after 5 attempts');
}
