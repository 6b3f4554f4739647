/**
 * The steps `cm doctor` watches a job take, in order, and the record of when each passed.
 * @module
 */

/** Every step, in the order a launch takes them. */
export const STEPS = ['submitted', 'queued', 'started', 'connected', 'authenticated', 'round trip', 'cancelled'] as const;
export type DoctorStep = (typeof STEPS)[number];

/** One step's outcome: its time since the doctor started, ms. */
export interface StepRecord {
  step: DoctorStep;
  ok: boolean;
  ms: number;
  detail?: string | undefined;
}

/** Steps as they pass (each once, and every earlier one first), printed as they happen. */
export class StepLog {
  readonly steps: StepRecord[] = [];
  /** The job's last state as the scheduler spelt it, for hints. */
  lastState: string | undefined;
  /** Why a peer failed the handshake, if one did. */
  rejection: string | undefined;
  readonly #started = performance.now();
  readonly #print: (text: string) => void;

  constructor(print: (text: string) => void) {
    this.#print = print;
  }

  passed(step: DoctorStep): boolean {
    return this.steps.some((record) => record.step === step && record.ok);
  }

  totalMs(): number {
    return Math.round(performance.now() - this.#started);
  }

  /** Mark `step` passed (once); steps before it that were not seen pass with it. */
  pass(step: DoctorStep, detail?: string): void {
    if (this.passed(step)) return;
    for (const earlier of STEPS.slice(0, STEPS.indexOf(step))) {
      if (!this.passed(earlier)) this.#record({ step: earlier, ok: true, ms: this.totalMs(), detail: 'not reported separately' });
    }
    this.#record({ step, ok: true, ms: this.totalMs(), detail });
  }

  fail(step: DoctorStep, detail: string): void {
    this.#record({ step, ok: false, ms: this.totalMs(), detail });
  }

  #record(record: StepRecord): void {
    this.steps.push(record);
    const mark = record.ok ? 'ok  ' : 'FAIL';
    const time = `${(record.ms / 1000).toFixed(2)} s`.padStart(9);
    this.#print(`${mark} ${record.step.padEnd(13)} ${time}${record.detail ? `  ${record.detail}` : ''}\n`);
  }
}
