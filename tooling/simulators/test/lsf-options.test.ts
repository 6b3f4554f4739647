// Unit tests of bsub's option/directive reading and LSF's output formats (no processes).
import { describe, expect, it } from 'vitest';
import { type JobView, formatFields, formatJson, formatTable, jobReport, parseFormatSpec } from '../lsf/format.mjs';
import { commandLineOf, directiveWords, mergeOptions, outputPath, parseArraySpec, parseBsubArgs, readScript, resourceRequirementError, runLimitSeconds } from '../lsf/options.mjs';

const view = (over: Record<string, unknown> = {}): JobView => ({
  jobId: 321,
  index: 0,
  name: 'job',
  user: 'alice',
  queue: 'normal',
  fromHost: 'login1',
  execHosts: ['node1'],
  stat: 'RUN',
  exitCode: null,
  termReason: null,
  submitTime: new Date(2026, 10, 19, 13, 22).getTime(),
  startTime: null,
  finishTime: null,
  command: 'sleep 1',
  cwd: '/w',
  slots: 1,
  projectName: 'default',
  ...over,
});

describe('bsub options', () => {
  it('stops at the first word that is not an option and keeps the command as given', () => {
    expect(parseBsubArgs(['-J', 'w', '-n', '4', 'julia', '-e', 'x'])).toEqual({ options: { J: 'w', n: '4' }, command: ['julia', '-e', 'x'] });
    expect(parseBsubArgs(['-H', '-oo', 'o.txt'])).toEqual({ options: { H: true, oo: 'o.txt' }, command: [] });
  });
  it('refuses unknown options and options missing their value the way getopt words it', () => {
    expect(parseBsubArgs(['-Y', 'x'])).toEqual({ error: 'bsub: illegal option -- Y' });
    expect(parseBsubArgs(['-q'])).toEqual({ error: 'bsub: option requires an argument -- q' });
  });
  it('reads #BSUB directives anywhere in the script, with and without a space, quotes grouping', () => {
    const script = '#!/bin/bash\n#BSUB -J "my job"\n#BSUB-q short\n# BSUB -n 2 # two slots\necho hi\n#BSUB -o out.%J\n#BSUB no dash ignored\n';
    const { directives, hasCommand } = readScript(script);
    expect(directives).toEqual(['-J', 'my job', '-q', 'short', '-n', '2', '-o', 'out.%J']);
    expect(hasCommand).toBe(true);
    expect(readScript('#!/bin/sh\n#BSUB -J x\n\n').hasCommand).toBe(false);
    expect(directiveWords('#BSUB -R "span[hosts=1]"')).toEqual(['-R', 'span[hosts=1]']);
  });
  it('joins continued directive lines', () => {
    expect(readScript('#BSUB -J a \\\n -q short\necho\n').directives).toEqual(['-J', 'a', '-q', 'short']);
  });
  it('lets the command line win over directives, -oo replacing a directive -o', () => {
    expect(mergeOptions({ q: 'long', oo: 'b' }, { q: 'short', o: 'a', J: 'n' })).toEqual({ J: 'n', q: 'long', oo: 'b' });
  });
  it('quotes command words holding blanks as CopyCommand does', () => {
    expect(commandLineOf(['echo', 'a b', 'say "hi" x', '$HOME y'])).toBe(`echo "a b" 'say "hi" x' '$HOME y'`);
  });
  it('expands array specs with ranges, steps, lists and a running limit', () => {
    expect(parseArraySpec('w[1-10:3,15]%2')).toEqual({ name: 'w', indices: [1, 4, 7, 10, 15], limit: 2, steps: { 1: 3, 4: 3, 7: 3, 10: 3, 15: 1 } });
    expect(parseArraySpec('plain')).toBeNull();
    expect(parseArraySpec('w[0-3]')).toEqual({ error: 'Job array index error' });
    expect(parseArraySpec('w[1-2000]')).toEqual({ error: 'Job array index too large' });
    expect(parseArraySpec('w[1-3')).toEqual({ error: 'Bad job name' });
  });
  it('reads run limits, output names and resource strings like LSF', () => {
    expect(runLimitSeconds('1:30')).toBe(5400);
    expect(runLimitSeconds('10')).toBe(600);
    expect(runLimitSeconds('x')).toBeNull();
    expect(outputPath('o.%J.%I', 12, 3, 'out')).toBe('o.12.3');
    expect(outputPath('logs/', 12, 0, 'err')).toBe('logs/12.err');
    expect(resourceRequirementError('select[mem>100] span[hosts=1]')).toBeNull();
    expect(resourceRequirementError('select[mem>100')).toBe('Bad resource requirement syntax');
    expect(resourceRequirementError('select[a] select[b]')).toBe('Error near "select" : duplicate section');
  });
});

describe('bjobs formats', () => {
  it('prints -o fields with a delimiter, `-` for empty values, and an upper-case header', () => {
    const spec = parseFormatSpec("jobid stat exec_host delimiter='^'");
    if ('error' in spec) throw new Error(spec.error);
    expect(formatFields([view({ jobId: 11 }), view({ jobId: 22, stat: 'PEND', execHosts: [] })], spec, false)).toEqual(['11^RUN^node1', '22^PEND^-']);
    expect(formatFields([view()], spec, true)[0]).toBe('JOBID^STAT^EXEC_HOST');
  });
  it('separates bare fields with one blank and pads fields given a width', () => {
    const bare = parseFormatSpec('jobid stat');
    const sized = parseFormatSpec('jobid: stat:-6');
    if ('error' in bare || 'error' in sized) throw new Error('spec');
    expect(formatFields([view({ jobId: 11 })], bare, false)).toEqual(['11 RUN']);
    expect(formatFields([view({ jobId: 11 })], sized, false)).toEqual(['11         RUN']);
    expect(parseFormatSpec('jobid bogus')).toEqual({ error: 'bogus: Illegal field name.' });
  });
  it('prints -json in IBM layout with string values and "" for empty ones', () => {
    const spec = parseFormatSpec('jobid jobindex stat exit_code');
    if ('error' in spec) throw new Error(spec.error);
    expect(formatJson([view()], spec)).toBe(
      '{\n  "COMMAND":"bjobs",\n  "JOBS":1,\n  "RECORDS":[\n    {\n      "JOBID":"321",\n      "JOBINDEX":"0",\n      "STAT":"RUN",\n      "EXIT_CODE":""\n    }\n  ]\n}\n',
    );
    expect(JSON.parse(formatJson([view({ stat: 'EXIT', exitCode: 3 }), view()], spec)).RECORDS[0].EXIT_CODE).toBe('3');
  });
  it('prints the default table with OpenLava column widths', () => {
    const lines = formatTable([view({ jobId: 5183028, user: 'pluskal', fromHost: 'it-c01b14', execHosts: ['it-c01b11', 'it-c01b12'], name: 'snakejob.sh' })], { wide: false, displayEnh: false });
    expect(lines[0]).toBe('JOBID   USER    STAT  QUEUE      FROM_HOST   EXEC_HOST   JOB_NAME   SUBMIT_TIME');
    expect(lines[1]).toBe('5183028 pluskal RUN   normal     it-c01b14   it-c01b11   *akejob.sh Nov 19 13:22');
    expect(lines[2]).toBe(`${' '.repeat(45)}it-c01b12`);
  });
  it('writes a job report ending with the output, the stderr pointer and the exit reason', () => {
    const text = jobReport(view({ stat: 'EXIT', exitCode: 140, termReason: 'TERM_RUNLIMIT', startTime: 1, finishTime: 2 }), { home: '/h', cluster: 'c', errorFile: 'e.txt', output: 'out\n' });
    expect(text).toContain('Subject: Job 321: <job> in cluster <c> Exited\n');
    expect(text).toContain('\nTERM_RUNLIMIT: job killed after reaching LSF run time limit.\nExited with exit code 140.\n');
    expect(text).toContain('The output (if any) follows:\n\nout\n\n\nPS:\n\nRead file <e.txt> for stderr output of this job.\n');
  });
});
