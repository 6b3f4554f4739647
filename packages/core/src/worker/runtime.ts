/**
 * The worker runtime behind the `cm-worker` bin: dial the master, authenticate, report who
 * we are, run calls, forward output, heartbeat, and exit when the master is gone.
 * @module
 */
import { readFileSync, statSync, writeSync } from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import { FRAME_TOO_LARGE, FrameTooLargeError, describeThrown, serializeError } from '../errors.js';
import { FramedConnection } from '../protocol/connection.js';
import { FrameType } from '../protocol/frame.js';
import { HANDSHAKE_MAX_FRAME_BYTES, type WorkerIdentity, joinMaster } from '../protocol/handshake.js';
import {
  type CallMessage,
  type DefineMessage,
  type EncodedPayload,
  type MapFailure,
  type MapOutcome,
  type ResultMessage,
  decodeCall,
  decodeCancel,
  decodeMessage,
  encodeMessage,
  encodeResult,
  messageId,
} from '../protocol/messages.js';
import { encodeItemResult } from '../protocol/item-call.js';
import { type TransportSecurity, connect } from '../protocol/transport.js';
import { backoffDelays, sleep } from '../util/backoff.js';
import { debug, formatMs } from '../util/debug.js';
import { callSlots, cancelCall, endCall, installWorkerGlobals, isCancelled } from './call-context.js';
import { WORKER_ENV, firstSetVariable, readWorkerEnv } from './env.js';
import { type DirectPeers, startDirectPeers } from './direct-peers.js';
import { FunctionTable, explainInlineError } from './functions.js';
import { myid, setMyid } from './identity.js';
import { installPeerGlobals } from './peer-globals.js';
import { peerClient } from './peer-client.js';
import { captureOutput } from './output.js';
import { decodeSecret } from './secret.js';
import { MasterHeartbeat } from './heartbeat.js';
import { Watchdog } from './watchdog.js';

/** Exit codes, so a launcher can tell why a worker stopped. */
export const WorkerExit = {
  /** The master asked us to stop. */
  Shutdown: 0,
  /** An uncaught exception (in user code or the runtime). */
  Crashed: 1,
  /** Bad environment or configuration: nothing was attempted. */
  Config: 2,
  /** Could not reach or authenticate with the master. */
  Connect: 3,
  /** The master went away (socket closed or heartbeats stopped). */
  MasterLost: 4,
} as const;

const HANDSHAKE_TIMEOUT_MS = 15_000;
/** A call that ran this long has its result written at once (a write costs a few µs: under a tenth of it). */
const PROMPT_RESULT_MS = 0.1;
const RETRYABLE_CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND']);
const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;

class WorkerStartError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Read the secret from CM_SECRET or CM_SECRET_FILE, and remove it from the environment user code sees. */
function readSecret(env: NodeJS.ProcessEnv, config: { secret?: string | undefined; file?: string | undefined }): Buffer {
  delete env[WORKER_ENV.secret];
  const decode = (text: string, source: string) => {
    try {
      return decodeSecret(text, source);
    } catch (error) {
      throw new WorkerStartError((error as Error).message, WorkerExit.Config);
    }
  };
  if (config.secret) return decode(config.secret, WORKER_ENV.secret);
  if (config.file) {
    const mode = statSync(config.file).mode;
    if (mode & 0o077) {
      throw new WorkerStartError(`${WORKER_ENV.secretFile} ${config.file} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`, WorkerExit.Config);
    }
    return decode(readFileSync(config.file, 'utf8'), `${WORKER_ENV.secretFile} ${config.file}`);
  }
  throw new WorkerStartError(`neither ${WORKER_ENV.secret} nor ${WORKER_ENV.secretFile} is set: the worker cannot authenticate`, WorkerExit.Config);
}

async function connectWithRetry(host: string, port: number, security: TransportSecurity, timeoutMs: number): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (const delay of backoffDelays({ initialMs: 100, maxMs: 2_000 })) {
    try {
      return await connect(host, port, security);
    } catch (error) {
      lastError = error;
      // Only "not there yet" is worth waiting for; a refused TLS handshake will not change.
      if (!RETRYABLE_CONNECT_ERRORS.has((error as NodeJS.ErrnoException).code ?? '')) break;
    }
    if (Date.now() + delay > deadline) break;
    await sleep(delay);
  }
  // OpenSSL's messages carry source paths; its `reason` says what happened ("sslv3 alert bad record mac").
  const reason = (lastError as { reason?: string }).reason ?? (lastError as Error).message;
  throw new WorkerStartError(
    RETRYABLE_CONNECT_ERRORS.has((lastError as NodeJS.ErrnoException).code ?? '')
      ? `could not reach the master at ${host}:${port} within ${timeoutMs} ms: ${reason}`
      : `could not connect to the master at ${host}:${port}: ${reason}${security.encrypt ? ' (with encryption on, this means the worker does not hold the cluster secret)' : ''}`,
    WorkerExit.Connect,
  );
}

/** Start the worker from environment variables; resolves to the exit code once the session ends. */
export async function runWorker(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = readWorkerEnv(env);
  if (!parsed.ok) {
    throw new WorkerStartError(
      `cm-worker was started without valid connection settings: ${parsed.problems.join('; ')}. Workers are started by a ClusterManager, which sets these variables.`,
      WorkerExit.Config,
    );
  }
  const config = parsed.value;
  const secret = readSecret(env, { secret: config.secret, file: config.secretFile });
  const schedulerIndex = firstSetVariable(env, config.taskIndexVars, (v) => /^\d+$/.test(v));
  const taskIndex = config.taskIndex ?? (schedulerIndex === undefined ? undefined : Number(schedulerIndex) - Number(config.taskIndexBase ?? 0));
  const identity: WorkerIdentity = {
    launchId: config.launchId,
    taskIndex: taskIndex === undefined ? null : Number(taskIndex),
    jobId: firstSetVariable(env, config.jobIdVars) ?? null,
    host: os.hostname(),
    pid: process.pid,
    cpus: os.availableParallelism(),
    nodeVersion: process.version,
    endsAt: config.endsAt ?? null,
  };

  // Running before any user code can block the event loop it needs to boot (watchdog.ts).
  const watchdog = new Watchdog();
  const host = config.masterHost;
  const port = config.masterPort;
  const security = { encrypt: config.tls === '1', secret };
  const dialled = performance.now();
  const socket = await connectWithRetry(host, port, security, config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  debug(() => `worker ${process.pid} connected to the master at ${host}:${port}${security.encrypt ? ' (TLS)' : ''} in ${formatMs(performance.now() - dialled)}`);
  const conn = new FramedConnection(socket, HANDSHAKE_MAX_FRAME_BYTES);
  let welcome;
  const shaking = performance.now();
  try {
    welcome = await joinMaster(conn, secret, identity, { timeoutMs: HANDSHAKE_TIMEOUT_MS });
  } catch (error) {
    conn.destroy();
    throw new WorkerStartError(`handshake with the master at ${host}:${port} failed: ${(error as Error).message}`, WorkerExit.Connect);
  }
  debug(() => `worker ${process.pid} admitted as worker ${welcome.workerId} (protocol ${welcome.version.major}.${welcome.version.minor}) in ${formatMs(performance.now() - shaking)}`);
  conn.maxFrameBytes = welcome.maxFrameBytes;
  setMyid(welcome.workerId);
  // Calls that arrived meanwhile wait unread until serve() takes them.
  await watchdog.ready;
  return serve(conn, welcome, config.teeOutput === '1', watchdog, security);
}

function serve(
  conn: FramedConnection,
  settings: { heartbeatMs: number; timeoutMs: number; version: { minor: number } },
  tee: boolean,
  watchdog: Watchdog,
  security: TransportSecurity,
): Promise<number> {
  const functions = new FunctionTable();
  // Calls this worker makes itself (peer-api.ts) go through the master on this connection.
  const peers = peerClient();
  peers.attach(conn, settings.version.minor);
  installPeerGlobals();
  /** Direct connections to and from other workers, once the master asks for them (`topology: 'all_to_all'`). */
  let direct: DirectPeers | undefined;
  /** Calls that went asynchronous and have not answered yet: the ones a Cancel can reach. */
  const running = new Set<number>();
  installWorkerGlobals();
  const sendOutput = (stream: 'stdout' | 'stderr', lines: string[]) => {
    try {
      conn.send(FrameType.Output, encodeMessage({ stream, lines }));
    } catch (error) {
      // A line longer than a frame may be: say so rather than make the user's write throw.
      conn.send(FrameType.Output, encodeMessage({ stream, lines: [`cm-worker: ${lines.length} line(s) of output dropped: ${(error as Error).message}`] }));
    }
  };
  const output = captureOutput(sendOutput, { tee });
  const heartbeat = new MasterHeartbeat(conn, watchdog, settings);
  let shuttingDown = false;
  let crashed = false;
  // A promise some user code left rejected and unhandled would end the process (Node's
  // default), taking every call on this worker with it. Report it on stderr, which reaches
  // the master as `From worker N: …`, and keep serving.
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`cm-worker: unhandled promise rejection in user code: ${describeThrown(reason)}\n`);
  });
  // An exception thrown outside any call (a timer, an event handler) leaves the process in an
  // unknown state, so the worker still exits — but says why, both to the master and to its own
  // stderr (the launcher's or the job's log), so the WorkerLostError can be explained.
  process.once('uncaughtException', (error) => {
    const message = `cm-worker: uncaught exception in user code, exiting: ${describeThrown(error)}\n`;
    process.stderr.write(message); // forwarded (and, with tee, also written locally)
    if (!tee) writeSync(2, message);
    crashed = true;
    conn.end();
    setTimeout(() => process.exit(WorkerExit.Crashed), 200).unref();
  });

  /** The Result sent instead of one that cannot be encoded or is too large for a frame. */
  const unsendable = (id: number, error: unknown): EncodedPayload => {
    const problem = new TypeError(`the function's result cannot be sent to the master: ${(error as Error).message}`);
    // pmap splits a batch whose results were too large for one frame: tell it this is why.
    const code = error instanceof FrameTooLargeError ? FRAME_TOO_LARGE : undefined;
    return encodeResult({ id, ok: false, error: { ...serializeError(problem), code } });
  };

  const sendResult = (result: ResultMessage) => {
    let payload: EncodedPayload;
    try {
      payload = encodeResult(result);
      conn.assertFits(payload, 'the result');
    } catch (error) {
      payload = unsendable(result.id, error);
    }
    conn.send(FrameType.Result, payload);
  };

  const fail = (id: number, error: unknown) => sendResult({ id, ok: false, error: serializeError(explainInlineError(error)) });

  /**
   * Results of calls read together go out in one write at the end of the tick, but not behind
   * long work: the result of a call that ran this long goes now, before the calls read with it run.
   */
  const promptly = (startedAt: number) => {
    if (performance.now() - startedAt >= PROMPT_RESULT_MS) conn.flush();
  };

  /** Answer a call: a one-item map call (1.2+) in its compact form with its time, others as a plain Result. */
  const answer = (call: CallMessage, startedAt: number, threw: boolean, value: unknown) => {
    if (call.mode !== 'item') {
      if (threw) fail(call.id, value);
      else sendResult({ id: call.id, ok: true, value });
      return promptly(startedAt);
    }
    let payload: EncodedPayload;
    try {
      payload = encodeItemResult(call.id, threw, threw ? serializeError(explainInlineError(value)) : value, performance.now() - startedAt);
      conn.assertFits(payload, 'the result');
    } catch (error) {
      payload = unsendable(call.id, error);
    }
    conn.send(FrameType.Result, payload);
    promptly(startedAt);
  };

  /** The common case — a defined, synchronous function — answers without a detour through promises. */
  const runCallNow = (call: CallMessage): boolean => {
    let fn;
    try {
      fn = functions.resolve(call.fnId);
    } catch (error) {
      fail(call.id, error);
      return true;
    }
    if (call.mode === 'map' || fn instanceof Promise) return false;
    const startedAt = performance.now();
    let value;
    callSlots.current = call.id;
    try {
      value = fn(...call.args);
    } catch (error) {
      callSlots.current = undefined;
      endCall(call.id);
      answer(call, startedAt, true, error);
      return true;
    }
    callSlots.current = undefined;
    if (value instanceof Promise) {
      running.add(call.id);
      value.then(
        (resolved) => settle(call.id) && answer(call, startedAt, false, resolved),
        (error: unknown) => settle(call.id) && answer(call, startedAt, true, error),
      );
    } else {
      endCall(call.id);
      answer(call, startedAt, false, value);
    }
    return true;
  };

  /** A call that went asynchronous has settled: forget it. Always true (so it chains with `&&`). */
  const settle = (id: number): true => {
    running.delete(id);
    endCall(id);
    return true;
  };

  /** Run `fn(...args)` with the call's slot set for its synchronous start (see call-context.ts). */
  const start = (id: number, fn: (...args: unknown[]) => unknown, args: unknown[]): unknown => {
    callSlots.current = id;
    try {
      return fn(...args);
    } finally {
      callSlots.current = undefined;
    }
  };

  const runCall = async (call: CallMessage) => {
    const { id } = call;
    running.add(id);
    try {
      let fn = functions.resolve(call.fnId);
      if (fn instanceof Promise) fn = await fn;
      if (call.mode !== 'map') {
        const startedAt = performance.now();
        let value: unknown;
        try {
          value = start(id, fn, call.args);
          if (value instanceof Promise) value = await value;
        } catch (error) {
          if (call.mode === 'call') throw error;
          return answer(call, startedAt, true, error);
        }
        return answer(call, startedAt, false, value);
      }
      const started = performance.now();
      const values: unknown[] = new Array(call.args.length);
      const failures: MapFailure[] = [];
      for (let i = 0; i < call.args.length; i++) {
        // A cancelled batch (pmap aborted) stops between items; its result is discarded anyway.
        if (isCancelled(id)) throw callSlots.cancelled.get(id);
        try {
          let value = start(id, fn, [call.args[i]]);
          if (value instanceof Promise) value = await value;
          values[i] = value;
        } catch (error) {
          failures.push([i, serializeError(explainInlineError(error))]);
        }
      }
      sendResult({ id, ok: true, value: { values, failures, elapsedMs: performance.now() - started } satisfies MapOutcome });
      promptly(started);
    } catch (error) {
      fail(id, error);
    } finally {
      settle(id);
    }
  };

  const receiveCancel = (payload: Buffer) => {
    const { id, reason } = decodeCancel(payload);
    // A call that already answered is not running: nothing to abandon (its result is discarded).
    if (!running.has(id)) return;
    debug(() => `call ${id} cancelled by the master: ${reason.name}: ${reason.message}`);
    cancelCall(id, new DOMException(reason.message, reason.name));
  };

  const receiveCall = (payload: Buffer) => {
    let call: CallMessage;
    try {
      call = decodeCall(payload);
    } catch (error) {
      // The call fails, not the connection: its id is outside the undecodable part.
      sendResult({ id: messageId(payload), ok: false, error: serializeError(error) });
      return;
    }
    if (!runCallNow(call)) void runCall(call);
  };

  conn.onFrame(({ type, payload }) => {
    switch (type) {
      case FrameType.Call:
        receiveCall(payload);
        return;
      case FrameType.Define:
        functions.define(decodeMessage<DefineMessage>(payload, 'function definition'));
        return;
      case FrameType.Cancel:
        receiveCancel(payload);
        return;
      case FrameType.Heartbeat:
        heartbeat.received(payload);
        return;
      case FrameType.Reply:
      case FrameType.Peers:
        peers.receive(type, payload);
        return;
      case FrameType.Direct:
        direct ??= startDirectPeers({ master: conn, self: myid(), secret: security.secret, security, functions, settings, owner: peers });
        return;
      case FrameType.Shutdown:
        shuttingDown = true;
        output.restore();
        conn.end();
        return;
      default:
        conn.destroy(new Error(`unexpected frame type 0x${type.toString(16)} from the master`));
    }
  });

  heartbeat.start();

  return new Promise((resolve) => {
    conn.onClose((error) => {
      heartbeat.stop();
      watchdog.stop();
      output.restore();
      if (shuttingDown) return resolve(WorkerExit.Shutdown);
      if (crashed) return resolve(WorkerExit.Crashed);
      process.stderr.write(`cm-worker ${process.pid}: the master is gone${error ? ` (${error.message})` : ''}; exiting\n`);
      resolve(WorkerExit.MasterLost);
    });
  });
}

export { WorkerStartError };
