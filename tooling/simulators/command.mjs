// @ts-check
/**
 * The command side of the engine: every fake command's call is logged (argv, cwd, stdin
 * script, env names, exit, output) so tests can check what a driver submitted, and
 * `runCommand` wraps a bin's main so each front-end does this the same way. Re-exported by
 * engine.mjs, whose JSDoc describes the API.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { simDir } from './engine.mjs';

/**
 * Append one invocation. Environment values of CM_* variables are never written (they may
 * carry cluster secrets); their names are.
 * @param {string} dir
 * @param {{ command: string, argv: string[], cwd?: string, env?: NodeJS.ProcessEnv, stdin?: boolean, script?: string | null, exitCode?: number, stdout?: string, stderr?: string, [key: string]: any }} entry
 */
export function logCommand(dir, entry) {
  const { env = process.env, ...rest } = entry;
  const names = Object.keys(env).sort();
  const values = Object.fromEntries(names.filter((n) => !n.startsWith('CM_')).map((n) => [n, env[n] ?? '']));
  const line = JSON.stringify({ at: Date.now(), cwd: process.cwd(), stdin: false, script: null, ...rest, env: { names, values } });
  fs.appendFileSync(path.join(dir, 'log.jsonl'), `${line}\n`);
}

/** @param {string} dir @returns {any[]} */
export function readLog(dir) {
  const file = path.join(dir, 'log.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/**
 * @typedef {{ dir: string, argv: string[], out: (text: string) => void, err: (text: string) => void,
 *   readStdin: () => string, note: (fields: Record<string, unknown>) => void }} CommandContext
 */

/**
 * Run a bin's main: output is buffered and written at the end, the call is logged with its
 * exit status, and the process exits with main's return value (0..255).
 * @param {string} command @param {(ctx: CommandContext) => number | Promise<number>} main
 */
export async function runCommand(command, main) {
  const dir = simDir();
  let stdout = '';
  let stderr = '';
  /** @type {Record<string, unknown>} */
  const fields = {};
  /** @type {CommandContext} */
  const ctx = {
    dir,
    argv: process.argv.slice(2),
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    readStdin: () => {
      let text = '';
      try {
        text = fs.readFileSync(0, 'utf8');
      } catch {
        // no stdin (closed or a terminal): nothing was piped
      }
      fields.stdin = true;
      fields.script = text;
      return text;
    },
    note: (more) => void Object.assign(fields, more),
  };
  let exitCode;
  try {
    exitCode = await main(ctx);
  } catch (error) {
    stderr += `${command}: simulator internal error: ${error instanceof Error ? error.stack : String(error)}\n`;
    exitCode = 70;
  }
  logCommand(dir, { command, argv: ctx.argv, ...fields, exitCode, stdout, stderr });
  process.stdout.write(stdout);
  process.stderr.write(stderr);
  process.exitCode = exitCode & 0xff;
}
