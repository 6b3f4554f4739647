/**
 * cm-ssh-driver: an example third-party @cm driver — workers on hosts over ssh. It uses only
 * the published shape of @cm/core: `@cm/core/driver` here, `@cm/core/testing` in its tests.
 * @packageDocumentation
 */
import type { CmDriver } from '@cm/core/driver';
import { sshSettingsSchema } from './driver.js';
import { SSHManager, type SshOptions } from './ssh-manager.js';

export { SSHManager, type SshOptions } from './ssh-manager.js';
export { sshDriver, sshSettingsSchema, sshHint, REMOTE_PID, type SshSettings } from './driver.js';

/** For the `cm` command line: `cm doctor cm-ssh-driver --hosts '["node1"]'`. */
export const cmDriver: CmDriver = {
  name: 'ssh',
  description: 'workers on hosts over ssh (an example third-party driver)',
  optionsSchema: sshSettingsSchema,
  create: (np, options) => new SSHManager(np ?? 1, options as unknown as SshOptions),
};
