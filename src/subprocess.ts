/**
 * asyncio's `subprocess` module: `createSubprocessExec`,
 * `createSubprocessShell` and `Process`, a child whose pipes are streams.
 */

import type { UnixSubprocessTransport } from "./base_subprocess.ts";
import { BrokenPipeError, ConnectionResetError, ValueError } from "./errors.ts";
import { formatValue } from "./format.ts";
import type { Future } from "./futures.ts";
import { getRunningLoop } from "./running.ts";
import { asBytes } from "./socket.ts";
import { checkSpawnRequest, type SubprocessOptions } from "./spawn.ts";
import { FlowControlMixin, quietFuture, settle, StreamReader, StreamWriter } from "./streams.ts";
import { gather } from "./tasks.ts";
import type { Transport } from "./transports.ts";
import type { EventLoop } from "./unix_events.ts";

type G<T> = Generator<unknown, T, unknown>;

/**
 * The options of `createSubprocessExec` and `createSubprocessShell`: those
 * of `loop.subprocessExec`, except that `stdin`, `stdout` and `stderr`
 * default to null (inherit this process's), as in asyncio, and `limit`
 * sets the StreamReaders' limit.
 */
export interface CreateSubprocessOptions extends SubprocessOptions {
  /** The limit of the stdout and stderr StreamReaders (default 64 KiB). */
  limit?: number;
}

/**
 * The protocol behind a Process (asyncio's `SubprocessStreamProtocol`): the
 * child's stdout and stderr feed StreamReaders, its stdin is a StreamWriter.
 * @internal
 */
export class SubprocessStreamProtocol extends FlowControlMixin {
  /** @internal */ _limit: number;
  stdin: StreamWriter | null = null;
  stdout: StreamReader | null = null;
  stderr: StreamReader | null = null;
  /** @internal */ _transport: UnixSubprocessTransport | null = null;
  /** @internal */ _processExited = false;
  /** @internal */ _pipeFds: number[] = [];
  /** @internal */ _stdinClosed: Future<void>;
  /** @internal settled by the transport's connectionLost: the child was reaped and every pipe is closed */
  _finished: Future<void>;

  constructor(limit: number | undefined, loop: EventLoop) {
    super(loop);
    // Validates the limit before anything is spawned.
    this._limit = new StreamReader({ limit, loop })._limit;
    this._stdinClosed = quietFuture(loop);
    this._finished = quietFuture(loop);
  }

  override connectionMade(transport: UnixSubprocessTransport): void {
    this._transport = transport;
    for (const fd of [1, 2]) {
      const pipe = transport.getPipeTransport(fd);
      if (pipe === null) continue;
      const reader = new StreamReader({ limit: this._limit, loop: this._loop });
      reader.setTransport(pipe as unknown as Transport);
      if (fd === 1) this.stdout = reader;
      else this.stderr = reader;
      this._pipeFds.push(fd);
    }
    const stdin = transport.getPipeTransport(0);
    if (stdin !== null) this.stdin = new StreamWriter(stdin as unknown as Transport, this, null, this._loop);
  }

  pipeDataReceived(fd: number, data: Uint8Array): void {
    (fd === 1 ? this.stdout : fd === 2 ? this.stderr : null)?._feedOwned(data);
  }

  pipeConnectionLost(fd: number, exc: Error | null): void {
    if (fd === 0) {
      this.stdin?.close();
      super.connectionLost(exc);
      settle(this._stdinClosed, exc);
      return;
    }
    const reader = fd === 1 ? this.stdout : fd === 2 ? this.stderr : null;
    if (reader !== null) {
      if (exc === null) reader.feedEof();
      else reader.setException(exc);
    }
    const i = this._pipeFds.indexOf(fd);
    if (i >= 0) this._pipeFds.splice(i, 1);
    this._maybeCloseTransport();
  }

  /** The transport's end: the child was reaped and every pipe is closed. */
  override connectionLost(exc: Error | null): void {
    super.connectionLost(exc);
    settle(this._finished, null);
  }

  processExited(): void {
    this._processExited = true;
    this._maybeCloseTransport();
  }

  /** @internal */
  _maybeCloseTransport(): void {
    if (this._pipeFds.length === 0 && this._processExited && this._transport !== null) {
      this._transport.close();
      this._transport = null;
    }
  }

  /** @internal */
  override _getCloseWaiter(_writer: StreamWriter): Future<void> {
    return this._stdinClosed;
  }
}

/**
 * A child process started by `createSubprocessExec` or
 * `createSubprocessShell` (asyncio's `Process`). `await using` kills it if
 * it still runs, and waits for it.
 *
 * @example
 * ```ts
 * import { createSubprocessExec, PIPE, run } from "tsyncio";
 * await run(async () => {
 *   const p = await createSubprocessExec("sort", { stdin: PIPE, stdout: PIPE });
 *   const [out] = await p.communicate(new TextEncoder().encode("b\na\n"));
 *   console.log(new TextDecoder().decode(out!), p.returncode); // "a\nb\n" 0
 * });
 * ```
 */
export class Process {
  /** @internal */ _transport: UnixSubprocessTransport;
  /** @internal */ _protocol: SubprocessStreamProtocol;
  /** @internal */ _loop: EventLoop;
  /** The child's stdin, when it is a pipe. */
  readonly stdin: StreamWriter | null;
  /** The child's stdout, when it is a pipe. */
  readonly stdout: StreamReader | null;
  /** The child's stderr, when it is a pipe. */
  readonly stderr: StreamReader | null;
  /** The child's process id. */
  readonly pid: number;

  /** @internal made by createSubprocessExec/Shell */
  constructor(transport: UnixSubprocessTransport, protocol: SubprocessStreamProtocol, loop: EventLoop) {
    this._transport = transport;
    this._protocol = protocol;
    this._loop = loop;
    this.stdin = protocol.stdin;
    this.stdout = protocol.stdout;
    this.stderr = protocol.stderr;
    this.pid = transport.getPid();
  }

  /** @internal */
  toString(): string {
    return `<Process ${this.pid}>`;
  }

  /** The exit status once the child has been reaped (`-signum` if a signal ended it), else null. */
  get returncode(): number | null {
    return this._transport.getReturncode();
  }

  /** Wait for the child to exit; resolves with its return code. */
  wait(): Future<number> {
    return this._transport._wait();
  }

  /** Send signal `sig` (a number or a name such as "SIGUSR1"). */
  sendSignal(sig: number | string): void {
    this._transport.sendSignal(sig);
  }

  /** SIGTERM. */
  terminate(): void {
    this._transport.terminate();
  }

  /** SIGKILL. */
  kill(): void {
    this._transport.kill();
  }

  /**
   * Write `input` to stdin and close it, read stdout and stderr to EOF, and
   * wait for the child to exit. Resolves with `[stdout, stderr]` (null for
   * a stream that is not a pipe). The reading and writing run together, so
   * a child with much output cannot deadlock against its input.
   */
  communicate(input: ArrayBufferView | null = null): Future<[Uint8Array | null, Uint8Array | null]> {
    const data = input === null || input === undefined ? null : asBytes(input, "input");
    const self = this;
    return this._loop.createTask((function* (): G<[Uint8Array | null, Uint8Array | null]> {
      const [, out, err] = yield* gather(self._feedStdin(data), self._readStream(1), self._readStream(2));
      yield* self.wait();
      return [out, err];
    })());
  }

  /**
   * `await using`: kill the child if it still runs, wait for it, and close
   * its pipes (what was read into the stream buffers stays readable).
   */
  [Symbol.asyncDispose](): Future<void> {
    if (this.returncode === null) {
      try {
        this.kill();
      } catch {
        // Already gone, and not reaped yet: wait() below sees it.
      }
    }
    const self = this;
    return this._loop.createTask((function* (): G<void> {
      yield* self.wait();
      // A pipe nobody read to EOF (its reader may be paused) would stay open for good.
      self._transport.close();
      yield* self._protocol._finished;
    })());
  }

  /** @internal */
  *_feedStdin(input: Uint8Array | null): G<null> {
    const stdin = this.stdin;
    if (stdin === null) return null;
    try {
      if (input !== null) stdin.write(input);
      yield* stdin.drain();
    } catch (e) {
      // The child may exit without reading its input, as asyncio lets it.
      if (!(e instanceof BrokenPipeError) && !(e instanceof ConnectionResetError)) throw e;
    }
    stdin.close();
    return null;
  }

  /** @internal */
  *_readStream(fd: 1 | 2): G<Uint8Array | null> {
    const stream = fd === 1 ? this.stdout : this.stderr;
    if (stream === null) return null;
    const output = yield* stream.read();
    this._transport.getPipeTransport(fd)?.close();
    return output;
  }
}

function splitOptions(options: CreateSubprocessOptions, what: string): [number | undefined, SubprocessOptions] {
  if (options === null || typeof options !== "object") throw new TypeError(`${what} options must be an object, got ${formatValue(options)}`);
  const { limit, ...rest } = options;
  // The options are checked now and used again when the task spawns: a one-shot iterable must not run dry.
  const passFds = rest.passFds as unknown;
  if (passFds !== null && typeof passFds === "object" && typeof (passFds as Iterable<number>)[Symbol.iterator] === "function") {
    rest.passFds = [...(passFds as Iterable<number>)];
  }
  // asyncio's defaults: the child shares this process's standard streams.
  return [limit, { ...rest, stdin: rest.stdin ?? null, stdout: rest.stdout ?? null, stderr: rest.stderr ?? null }];
}

/**
 * The task that spawns the child and makes its Process. The child is
 * spawned by the task, not before it (a task cancelled before it ran spawns
 * nothing, as asyncio's coroutine); a cancellation that comes once the
 * child was started kills it and waits until it is reaped and its pipes are
 * closed, since nobody else could.
 */
function makeProcess(
  loop: EventLoop,
  limit: number | undefined,
  start: (factory: () => SubprocessStreamProtocol) => Future<[UnixSubprocessTransport, unknown]>,
): Future<Process> {
  const protocol = new SubprocessStreamProtocol(limit, loop);
  return loop.createTask((function* (): G<Process> {
    const starting = start(() => protocol);
    let transport: UnixSubprocessTransport;
    try {
      [transport] = yield* starting;
    } catch (e) {
      if (starting.done() && !starting.cancelled() && starting.exception() === null) {
        // Started, but this task was cancelled before it could hand the child over.
        starting.result()[0].close();
        yield* protocol._finished;
      }
      throw e;
    }
    return new Process(transport, protocol, loop);
  })());
}

/**
 * Run `program` with `args` (asyncio's `create_subprocess_exec`). A last
 * argument that is an object holds the options: `stdin`, `stdout`,
 * `stderr` (PIPE, DEVNULL, STDOUT, a descriptor, or null to inherit: the
 * default), `limit`, `cwd`, `env`, and the rest of `loop.subprocessExec`'s.
 *
 * @example
 * ```ts
 * import { createSubprocessExec, PIPE, run } from "tsyncio";
 * await run(async () => {
 *   const p = await createSubprocessExec("ls", "-1", "/", { stdout: PIPE });
 *   for await (const line of p.stdout!) console.log(new TextDecoder().decode(line).trimEnd());
 *   console.log("exit", await p.wait());
 * });
 * ```
 */
export function createSubprocessExec(program: string, ...args: string[] | [...string[], CreateSubprocessOptions]): Future<Process> {
  let options: CreateSubprocessOptions = {};
  const last = args[args.length - 1];
  if (last !== null && typeof last === "object") {
    options = last;
    args = args.slice(0, -1) as string[];
  }
  const loop = getRunningLoop();
  const [limit, rest] = splitOptions(options, "createSubprocessExec()");
  const argv = [program, ...(args as string[])];
  // Bad arguments fail here, at the call; the child is spawned by the task.
  checkSpawnRequest(argv, rest);
  return makeProcess(loop, limit, (factory) => loop.subprocessExec(factory, argv, rest));
}

/**
 * Run `cmd` with the shell, `/bin/sh -c cmd` (asyncio's
 * `create_subprocess_shell`); options as `createSubprocessExec`.
 */
export function createSubprocessShell(cmd: string, options: CreateSubprocessOptions = {}): Future<Process> {
  const loop = getRunningLoop();
  const [limit, rest] = splitOptions(options, "createSubprocessShell()");
  if (typeof cmd !== "string") throw new ValueError(`cmd must be a string, not ${formatValue(cmd)}`);
  checkSpawnRequest(["/bin/sh", "-c", cmd], rest);
  return makeProcess(loop, limit, (factory) => loop.subprocessShell(factory, cmd, rest));
}
