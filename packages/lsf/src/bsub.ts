/**
 * bsub's options as @cm option keys: every option bsub takes (IBM Spectrum LSF 10.1 bsub
 * man page, "List of options for the bsub command"), how each key is spelled back on the
 * command line (`Jd`, `alloc_flags`, `XF`…), the short spellings of the typed options, and
 * the ones @cm sets itself or that cannot start a worker.
 * @module
 */
import { type Flag, type FlagValue, snakeCase } from '@cm/core/driver';

/**
 * Every bsub option of LSF 10.1 as a canonical key (camelCase; one-letter and mixed-case
 * names as bsub spells them). A key that is none of these is refused with the closest one.
 */
export const BSUB_OPTION_NAMES: readonly string[] = [
  ...'a ar B b C c D E e F f G g H h I i J K k L M m N n o P p Q q R r S s T t U u V v W w x'.split(' '),
  ...'Ep Ip Is ISp ISs Jd Lp Ne We Zs ix xf'.split(' '),
  ...'allocFlags app clusters cnCu cnMem coreIsolation csm cwd data datachk datagrp env eo eptl ext extsched freq gpu hl hostfile is jobaff json jsdl jsdlStrict lnMem lnSlots mig network nnodes notify oo outdir pack ptl rn rnc sla smt sp stage stepCgroup ti tty ul wa wt yaml'.split(
    ' ',
  ),
];

/** Keys whose bsub spelling is not the snake_case of the key. */
const SPELLINGS: Readonly<Record<string, string>> = {
  Ep: 'Ep',
  Ip: 'Ip',
  Is: 'Is',
  ISp: 'ISp',
  ISs: 'ISs',
  Jd: 'Jd',
  Lp: 'Lp',
  Ne: 'Ne',
  We: 'We',
  Zs: 'Zs',
  ix: 'IX',
  xf: 'XF',
};

/**
 * Short spellings, so a site default and a user's option meet under one key, and the keyword
 * names of ClusterManagers.jl's `addprocs_lsf` work as they are (`bsub_flags`, `ssh_cmd`,
 * `retry_delays`).
 */
export const LSF_ALIASES: Readonly<Record<string, string>> = {
  bsubFlags: 'submitFlags',
  sshCmd: 'sshCommand',
  retryDelays: 'submitRetryDelays',
  q: 'queue',
  W: 'walltime',
  M: 'memory',
  n: 'slots',
  P: 'project',
  R: 'resources',
  J: 'jobName',
};

/** Options @cm sets itself, or that would keep a worker from starting as a batch job. */
export const RESERVED_OPTIONS: Readonly<Record<string, string>> = {
  o: 'job logs go to `logDir`: set that instead',
  oo: 'job logs go to `logDir`: set that instead',
  e: 'job logs go to `logDir`: set that instead',
  eo: 'job logs go to `logDir`: set that instead',
  outdir: 'job logs go to `logDir`: set that instead',
  ...Object.fromEntries(['I', 'Ip', 'Is', 'ISp', 'ISs', 'ix', 'tty'].map((key) => [key, 'interactive jobs cannot start workers that run in the background: leave it out'])),
  K: 'bsub -K waits for the job to end, and the workers never end by themselves: leave it out',
  ...Object.fromEntries(['pack', 'json', 'yaml', 'jsdl', 'jsdlStrict'].map((key) => [key, '@cm submits its own job script on stdin: leave it out'])),
};

/**
 * One word of a `#BSUB` line: bare when it needs no quotes, else in double quotes as lsf.md
 * writes them (`#BSUB -J "cm[1-8]"`, `#BSUB -R "span[hosts=1]"`). bsub groups words with
 * quotes but knows no escapes (cmd.sub.c), so POSIX `'\''` would not survive.
 */
export function directiveWord(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return word.includes('"') && !word.includes("'") ? `'${word}'` : `"${word}"`;
}

/** One option as one bsub flag (`-q short`, `-x`, `-alloc_flags "smt4"`), or undefined for `false`. */
export function bsubFlag(key: string, value: FlagValue): Flag | undefined {
  if (value === false) return undefined;
  const name = key.length === 1 ? key : (SPELLINGS[key] ?? snakeCase(key));
  return value === true || value === '' ? [`-${name}`] : [`-${name}`, String(value)];
}
