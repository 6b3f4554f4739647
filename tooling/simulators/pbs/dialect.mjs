// @ts-check
/**
 * What differs between PBS Pro/OpenPBS and Torque, in one place: error texts and how each
 * command prints them, array option and environment names, default output file names,
 * `--version`, exit statuses of killed jobs. Everything else in pbs/ is shared, the way
 * Parsl's PBS Pro provider only overrides its Torque one. Sources: pbs.md (OpenPBS cd7ab5e,
 * Torque 34ff845), quoted where a text comes from.
 * @module
 */

/** pbs_errno values (pbs_error.h, same numbers in both code bases). */
export const PBSE = Object.freeze({
  UNKJOBID: 15001,
  PERM: 15007,
  SYSTEM: 15010,
  BADATVAL: 15014,
  BADSTATE: 15016,
  UNKQUE: 15018,
  BADCRED: 15019,
  PROTOCOL: 15031,
  UNKRESC: 15035,
  EXCQRESC: 15036,
  MAXQUED: 15046,
  BADNODESPEC: 15089,
  HISTJOBID: 15139,
  JOBHISTNOTSET: 15140,
  NOHISTARRAYSUBJOB: 15159,
});

/** @typedef {'pbspro' | 'torque'} DialectName */

/**
 * @typedef {object} Dialect
 * @property {DialectName} name
 * @property {Record<number, string>} texts pbs_errno → message (pbs_messages.c / pbs_error_db.h)
 * @property {(text: string, detail?: string) => string} submitError stderr line for a server refusal (PBS Pro: detail appended verbatim; Torque: as ` MSG=<detail>`)
 * @property {'J' | 't'} arrayOption
 * @property {string} qsubOptions getopt string of qsub
 * @property {(config: any) => { stdout: string, stderr: string }} version `--version` output
 * @property {(name: string, seq: number, index: number | null, stream: 'o' | 'e') => string} defaultOutputName
 * @property {(name: string, index: number) => string} subjobName Job_Name of a subjob
 * @property {number} walltimeExitStatus Exit_status of a job killed for walltime
 * @property {string} exitStatusAttribute `Exit_status` (PBS Pro) / `exit_status` (Torque)
 * @property {boolean} history finished jobs are history (F, needs -x) rather than C (Torque)
 * @property {(errno: number) => { lines: string, exit: number }} cannotConnect a "server down" failure
 */

const common = {
  [PBSE.UNKJOBID]: 'Unknown Job Id',
  [PBSE.PERM]: 'Unauthorized Request ',
  [PBSE.SYSTEM]: 'System error: ',
  [PBSE.BADATVAL]: 'Illegal attribute or resource value',
  [PBSE.BADSTATE]: 'Request invalid for state of job',
  [PBSE.UNKQUE]: 'Unknown queue',
  [PBSE.BADCRED]: 'Invalid credential',
  [PBSE.PROTOCOL]: 'Batch protocol error',
  [PBSE.UNKRESC]: 'Unknown resource',
  [PBSE.EXCQRESC]: 'Job violates queue and/or server resource limits',
  [PBSE.MAXQUED]: 'Maximum number of jobs already in queue',
  [PBSE.BADNODESPEC]: 'node(s) specification error',
  [PBSE.HISTJOBID]: 'Job has finished',
  // pbs_messages.c msg_job_history_notset.
  [PBSE.JOBHISTNOTSET]: 'PBS is not configured to maintain job history',
  [PBSE.NOHISTARRAYSUBJOB]: 'Request invalid for finished array subjob',
};

/** @type {Dialect} */
export const pbspro = {
  name: 'pbspro',
  texts: common,
  // qsub.c: `fprintf(stderr, "qsub: %s\n", errmsg)`; the server's errmsg may carry a suffix (`detail`, verbatim).
  submitError: (text, detail) => `qsub: ${text}${detail ?? ''}\n`,
  arrayOption: 'J',
  qsubOptions: 'a:A:c:C:e:fhIj:J:k:l:m:M:N:o:p:P:q:r:R:S:u:v:VW:XzG',
  // pbs_version.h.in PRINT_VERSION_AND_EXIT: stdout `pbs_version = %s`.
  version: (config) => ({ stdout: `pbs_version = ${config.version}\n`, stderr: '' }),
  // svr_jobfunc.c: `<name>.o<seq>`, arrays `<name>.o<seq>.^array_index^` → `.3` per subjob.
  defaultOutputName: (name, seq, index, stream) => `${name}.${stream}${seq}${index === null ? '' : `.${index}`}`,
  subjobName: (name) => name,
  walltimeExitStatus: -29, // job.h JOB_EXEC_KILL_WALLTIME
  exitStatusAttribute: 'Exit_status',
  history: true,
  // cnt2server.c perror + `cannot connect to server %s (errno=%d)`; exit pbs_errno & 0xFF.
  cannotConnect: (errno) => ({ lines: 'Connection refused\n', exit: errno & 0xff }),
};

/** @type {Dialect} */
export const torque = {
  name: 'torque',
  texts: {
    ...common,
    [PBSE.UNKJOBID]: 'Unknown Job Id Error', // pbs_error_db.h
    15004: 'Invalid request', // PBSE_IVALREQ
    [PBSE.BADATVAL]: 'Illegal attribute or resource value for',
    [PBSE.UNKRESC]: 'Unknown resource type ',
    [PBSE.EXCQRESC]: 'Job exceeds queue resource limits',
    [PBSE.SYSTEM]: ' System error: ',
  },
  // qsub_functions.c: `qsub: submit error (%s)` where the server text carries ` MSG=<detail>`.
  submitError: (text, detail) => `qsub: submit error (${text}${detail ? ` MSG=${detail}` : ''})\n`,
  arrayOption: 't',
  qsubOptions: 'a:A:b:c:C:d:D:e:fF:hIj:k:l:L:m:M:nN:o:p:P:q:r:S:t:T:u:v:Vw:W:XxzE',
  // qstat.c / qsub_functions.c: `fprintf(stderr, "Version: %s\nCommit: %s\n", ...)`, exit 0.
  version: (config) => ({ stdout: '', stderr: `Version: ${config.version}\nCommit: ${config.commit ?? ''}\n` }),
  // svr_jobfunc.c default_std: `<name>.o<seq>` and `<name>.o<seq>-<index>` for array subjobs.
  defaultOutputName: (name, seq, index, stream) => `${name}.${stream}${seq}${index === null ? '' : `-${index}`}`,
  subjobName: (name, index) => `${name}-${index}`,
  walltimeExitStatus: -11, // pbs_job.h JOB_EXEC_OVERLIMIT_WT
  exitStatusAttribute: 'exit_status',
  history: false,
  cannotConnect: () => ({ lines: '', exit: 111 }),
};

/** @param {string} name @returns {Dialect} */
export function dialectOf(name) {
  if (name === 'pbspro') return pbspro;
  if (name === 'torque') return torque;
  throw new Error(`unknown PBS dialect '${name}'`);
}

/**
 * The "server down" failure of a command, as that dialect prints it (pbs.md §1/§3).
 * @param {Dialect} dialect @param {string} command @param {string} server
 */
export function connectionFailure(dialect, command, server) {
  if (dialect.name === 'torque') {
    return { stderr: `${command}: cannot connect to server ${server} (errno=111) Connection refused\n`, exit: 111 };
  }
  const { lines } = dialect.cannotConnect(PBSE.SYSTEM);
  // qstat exits 255 here (pbs.md §3); qsub/qdel exit with pbs_errno & 0xFF.
  return { stderr: `${lines}${command}: cannot connect to server ${server} (errno=${PBSE.SYSTEM})\n`, exit: command === 'qstat' ? 255 : PBSE.SYSTEM & 0xff };
}

/** Usage texts (qsub_sup.c, qstat.c, qdel.c); printed with exit 2. */
export const USAGE = {
  qsub: {
    pbspro:
      'usage: qsub [-a date_time] [-A account_string] [-c interval]\n' +
      '\t[-C directive_prefix] [-e path] [-f ] [-h ] [-I [-X]] [-j oe|eo] [-J X-Y[:Z]]\n' +
      '\t[-k keep] [-l resource_list] [-m mail_options] [-M user_list]\n' +
      '\t[-N jobname] [-o path] [-p priority] [-P project] [-q queue] [-r y|n]\n' +
      '\t[-R o|e|oe] [-S path] [-u user_list] [-W otherattributes=value...]\n' +
      '\t[-v variable_list] [-V ] [-z] [script | -- command [arg1 ...]]\n' +
      '       qsub --version\n',
    // qsub_functions.c print_qsub_usage_exit: `[%s]\n\n%s%s\n` (the error message first).
    torque:
      'usage: qsub [-a date_time] [-A account_string] [-b secs]\n' +
      '    [-c [ none | { enabled | periodic | shutdown |\n' +
      '    depth=<int> | dir=<path> | interval=<minutes>}... ]\n' +
      '    [-C directive_prefix] [-d path] [-D path]\n' +
      '    [-e path] [-h] [-I] [-j oe|eo|n] [-k {oe}] [-K <kill delay seconds>] \n' +
      '    [-l resource_list] [-m n|{abe}] [-M user_list] [-N jobname] [-o path] \n' +
      '    [-p priority] [-P proxy_user [-J <jobid]] [-q queue] [-r y|n] \n' +
      '    [-S path] [-t number_to_submit] [-T type]  [-u user_list] [-w] path\n' +
      '    [-W additional_attributes] [-v variable_list] [-V ] [-x] [-X] [-z] [script]\n\n',
  },
  qstat: {
    pbspro:
      'usage: \n' +
      'qstat [-f] [-J] [-p] [-t] [-x] [-E] [-F format | -w] [-D delim] [ job_identifier... | destination... ]\n' +
      'qstat [-a|-i|-r|-H|-T] [-J] [-t] [-u user] [-n] [-s] [-G|-M] [-1] [-w]\n' +
      '\t[ job_identifier... | destination... ]\n' +
      'qstat -Q [-f] [-F format] [-D delim] [ destination... ]\n' +
      'qstat -q [-G|-M] [ destination... ]\n' +
      'qstat -B [-f] [-F format] [-D delim] [ server_name... ]\n' +
      'qstat --version\n',
    torque:
      'usage: \n' +
      '                          qstat [-f [-1]] [-W site_specific] [-x] [ job_identifier... | destination... ]\n' +
      '                          qstat [-a|-i|-r|-e] [-u user] [-n [-1]] [-s] [-t] [-G|-M] [-R] [job_id... | destination...]\n' +
      '                          qstat -Q [-f [-1]] [-W site_specific] [ destination... ]\n' +
      '                          qstat -q [-G|-M] [ destination... ]\n' +
      '                          qstat -B [-f [-1]] [-W site_specific] [ server_name... ]\n' +
      '                          qstat -t\n',
  },
  qdel: {
    pbspro: 'usage:\n\tqdel [-W force|suppress_email=X] [-x] job_identifier...\n\tqdel --version\n',
    torque: "usage: qdel [{ -a | -c | -p | -t | -W delay | -m message}] [-b retry_seconds] [<JOBID>[<JOBID>]|'all'|'ALL']...\n       -a -c, -m, -p, -t, and -W are mutually exclusive\n",
  },
};
