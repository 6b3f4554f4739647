// Error guards: they recognise @cm's errors by a registered brand, so they hold across copies
// of @cm/core (a driver's and a program's), follow subclassing, and refuse look-alikes.
import { describe, expect, it } from 'vitest';
import {
  FrameTooLargeError,
  LaunchError,
  ProtocolError,
  RemoteError,
  SchedulerError,
  UsageError,
  WorkerLostError,
  isFrameTooLargeError,
  isLaunchError,
  isProtocolError,
  isRemoteError,
  isSchedulerError,
  isUsageError,
  isWorkerLostError,
} from '../src/index.js';

describe('error guards', () => {
  it('recognise each class and its subclasses, and keep `name` on the prototype', () => {
    const scheduler = new SchedulerError('sbatch refused the job', { scheduler: 'slurm', command: ['sbatch'], exitCode: 1 });
    expect(isSchedulerError(scheduler)).toBe(true);
    expect(isLaunchError(scheduler)).toBe(true);
    expect(isLaunchError(new LaunchError('x', { manager: 'local' }))).toBe(true);
    expect(isSchedulerError(new LaunchError('x', { manager: 'local' }))).toBe(false);
    const tooLarge = new FrameTooLargeError('too big', 10, 5);
    expect(isFrameTooLargeError(tooLarge) && isProtocolError(tooLarge)).toBe(true);
    expect(isProtocolError(new ProtocolError('bad'))).toBe(true);
    expect(isUsageError(new UsageError('bad option', 'x'))).toBe(true);
    expect(isWorkerLostError(new WorkerLostError(2, 'vm', { reason: 'connection-closed' }))).toBe(true);
    expect(isRemoteError(new RemoteError(2, 'vm', { name: 'TypeError', message: 'x' }))).toBe(true);
    expect(scheduler.name).toBe('SchedulerError');
    expect(Object.hasOwn(scheduler, 'name')).toBe(false);
    expect(String(new UsageError('bad option'))).toBe('UsageError: bad option');
  });

  it('refuse look-alikes: a plain error with the same name, other values', () => {
    const fake = Object.assign(new Error('x'), { name: 'WorkerLostError' });
    expect(isWorkerLostError(fake)).toBe(false);
    for (const value of [undefined, null, 'WorkerLostError', 42, {}]) expect(isWorkerLostError(value)).toBe(false);
  });

  it('work across copies of @cm/core: the brand is a registered symbol, not a class identity', () => {
    const kinds = Symbol.for('@cm/core.errorKinds');
    const fromAnotherCopy = Object.assign(Object.create(Error.prototype) as Error, { [kinds]: ['LaunchError', 'SchedulerError'] });
    expect(isSchedulerError(fromAnotherCopy)).toBe(true);
    expect(isLaunchError(fromAnotherCopy)).toBe(true);
    expect(isUsageError(fromAnotherCopy)).toBe(false);
  });
});
