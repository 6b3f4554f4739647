/**
 * Cancelling jobs: one cancel command for many ids, retried a few times when the controller
 * is busy (a busy controller must not leave jobs queued), an exit code the driver says left
 * nothing to cancel counted as done, and every cancel under way remembered so `shutdown` can
 * wait for it (a master that exits right after `close()` leaves nothing queued).
 * @module
 */
import { backoffDelays, sleep, take } from '../util/backoff.js';
import type { SchedulerDriver } from './driver.js';
import { SchedulerError } from './errors.js';
import type { CommandRunner } from './runner.js';

const CANCEL_RETRIES = 3;
/** Longest the blocking cancel of an interrupted master may take. */
const SYNC_CANCEL_TIMEOUT_MS = 15_000;

/** The cancels of one manager. */
export class JobCanceller {
  readonly #driver: SchedulerDriver;
  readonly #runner: CommandRunner;
  readonly #underway = new Set<Promise<void>>();

  constructor(driver: SchedulerDriver, runner: CommandRunner) {
    this.#driver = driver;
    this.#runner = runner;
  }

  /**
   * Cancel these jobs or array tasks (retrying), and remember the cancel until it ends.
   * @throws SchedulerError when the cancel command keeps failing, with the command to run by hand
   */
  cancel(ids: readonly string[]): Promise<void> {
    const cancel = this.#cancel(ids);
    const tracked = cancel.then(
      () => undefined,
      () => undefined,
    );
    this.#underway.add(tracked);
    void tracked.then(() => this.#underway.delete(tracked));
    return cancel;
  }

  /** Resolves when every cancel started so far has ended (whatever its outcome). */
  settled(): Promise<void> {
    return Promise.all(this.#underway).then(() => undefined);
  }

  /** Cancel now, blocking, from a signal or exit handler; never throws. */
  cancelSync(ids: readonly string[]): void {
    if (ids.length === 0) return;
    try {
      this.#runner.runSync(this.#driver.name, this.#driver.cancel.command(ids), { timeoutMs: SYNC_CANCEL_TIMEOUT_MS });
    } catch {
      // Interrupted: the workers also leave when the master's connections close.
    }
  }

  async #cancel(ids: readonly string[]): Promise<void> {
    const argv = this.#driver.cancel.command(ids);
    const delays = [...take(backoffDelays({ initialMs: 500, maxMs: 4_000 }), CANCEL_RETRIES)];
    for (let attempt = 0; ; attempt++) {
      const output = await this.#runner.run(this.#driver.name, argv);
      if (output.exitCode === 0 || this.#driver.cancel.done?.(output)) return;
      const delay = delays[attempt];
      if (delay === undefined) {
        throw new SchedulerError(`${argv[0]} could not cancel ${ids.join(', ')}`, {
          ...output,
          scheduler: this.#driver.name,
          command: argv,
          attempts: attempt + 1,
          hint: `cancel them by hand (\`${argv.join(' ')}\`)`,
        });
      }
      await sleep(delay);
    }
  }
}
