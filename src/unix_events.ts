/**
 * UnixEventLoop: the loop of this platform (asyncio's `_UnixSelectorEventLoop`):
 * NetEventLoop plus pipe transports (`connectReadPipe`/`connectWritePipe`)
 * and child processes (`subprocessExec`/`subprocessShell`).
 *
 * Like NetEventLoop, every method that asyncio defines as a coroutine
 * returns a Future driven by a generator Task.
 */

import { NetEventLoop } from "./net_events.ts";
import type { FileLike } from "./selector_events.ts";
import type { Future } from "./futures.ts";
import { type AnyProtocol, checkProtocolFactory, makeProtocol, type ProtocolFactory } from "./protocols.ts";
import { formatValue } from "./format.ts";
import { ValueError } from "./errors.ts";
import { ReadPipeTransport, WritePipeTransport } from "./unix_pipes.ts";
import { UnixSubprocessTransport } from "./base_subprocess.ts";
import { ChildWatcher, reapOrphans } from "./child_watcher.ts";
import { checkSpawnRequest, spawnChild, type SpawnRequest, type SubprocessOptions } from "./spawn.ts";

type G<T> = Generator<unknown, T, unknown>;

function checkFactory(f: unknown): void {
  checkProtocolFactory(f);
}

/**
 * The loop of this platform (asyncio's `_UnixSelectorEventLoop`): every
 * layer below plus pipes and child processes. Exported as
 * {@linkcode EventLoop}, which is what `newEventLoop()` makes.
 */
export class UnixEventLoop extends NetEventLoop {
  /** @internal */ _childWatcher: ChildWatcher = new ChildWatcher(this);

  // ---- Pipes ----

  /**
   * Wrap the reading end of a pipe (a FIFO, socket, tty or character
   * device: a descriptor or an object with `fileno()`) in a transport; it
   * becomes non-blocking and the transport owns it. Resolves with
   * [transport, protocol]; a regular file is a ValueError (it is always
   * "readable", so watching it would spin). asyncio's `loop.connect_read_pipe`.
   *
   * @example
   * ```ts
   * import { newEventLoop } from "tsyncio";
   *
   * const loop = newEventLoop();
   * // Echo our stdin (a pipe or a tty) until EOF.
   * await loop.runUntilComplete(loop.connectReadPipe(() => ({
   *   dataReceived: (data: Uint8Array) => console.log(new TextDecoder().decode(data)),
   *   connectionLost: () => loop.stop(),
   * }), 0));
   * await loop.runForever();
   * loop.close();
   * ```
   */
  connectReadPipe(protocolFactory: ProtocolFactory, pipe: FileLike): Future<[ReadPipeTransport, AnyProtocol]> {
    return this._connectPipe(protocolFactory, (p, w) => new ReadPipeTransport(this, pipe, p, w));
  }

  /** Wrap the writing end of a pipe in a transport (as `connectReadPipe`); asyncio's `loop.connect_write_pipe`. */
  connectWritePipe(protocolFactory: ProtocolFactory, pipe: FileLike): Future<[WritePipeTransport, AnyProtocol]> {
    return this._connectPipe(protocolFactory, (p, w) => new WritePipeTransport(this, pipe, p, w));
  }

  /** @internal a protocol, its pipe transport, and the wait for connectionMade */
  _connectPipe<T extends { close(): void }>(
    protocolFactory: ProtocolFactory,
    make: (protocol: AnyProtocol, waiter: Future<void>) => T,
  ): Future<[T, AnyProtocol]> {
    this._checkClosed();
    checkFactory(protocolFactory);
    const self = this;
    return this.createTask((function* (): G<[T, AnyProtocol]> {
      const protocol = makeProtocol(protocolFactory);
      const waiter = self.createFuture<void>();
      const transport = make(protocol, waiter);
      try {
        yield* waiter;
      } catch (e) {
        transport.close();
        throw e;
      }
      return [transport, protocol];
    })());
  }

  // ---- Subprocesses ----

  /**
   * Run `argv[0]` (searched in PATH without a slash) with the arguments
   * `argv`, its streams wired by `options` (each PIPE by default):
   * resolves with [transport, protocol] once the pipes are connected. A
   * program or cwd that does not exist rejects with FileNotFoundError;
   * bad arguments throw TypeError/ValueError at once. asyncio's
   * `loop.subprocess_exec`.
   *
   * @example
   * ```ts
   * import { DEVNULL, newEventLoop } from "tsyncio";
   *
   * const loop = newEventLoop();
   * const done = loop.createFuture<void>();
   * const [transport] = await loop.runUntilComplete(loop.subprocessExec(() => ({
   *   pipeDataReceived: (fd: number, data: Uint8Array) => console.log(fd, new TextDecoder().decode(data)),
   *   connectionLost: () => done.setResult(undefined),
   * }), ["echo", "hello"], { stdin: DEVNULL }));
   * await loop.runUntilComplete(done);
   * console.log("exit code", transport.getReturncode());
   * transport.close();
   * loop.close();
   * ```
   */
  subprocessExec(protocolFactory: ProtocolFactory, argv: string[], options: SubprocessOptions = {}): Future<[UnixSubprocessTransport, AnyProtocol]> {
    this._checkClosed();
    checkFactory(protocolFactory);
    const req = checkSpawnRequest(argv, options);
    return this.createTask(this._makeSubprocessTransport(protocolFactory, req));
  }

  /**
   * Run `cmd` with the shell (`/bin/sh -c cmd`, or `options.executable -c
   * cmd`); otherwise as `subprocessExec`. `cmd` must be a string.
   * asyncio's `loop.subprocess_shell`.
   */
  subprocessShell(protocolFactory: ProtocolFactory, cmd: string, options: SubprocessOptions = {}): Future<[UnixSubprocessTransport, AnyProtocol]> {
    this._checkClosed();
    checkFactory(protocolFactory);
    if (typeof cmd !== "string") throw new ValueError(`cmd must be a string, not ${formatValue(cmd)}`);
    const req = checkSpawnRequest(["/bin/sh", "-c", cmd], options);
    return this.createTask(this._makeSubprocessTransport(protocolFactory, req));
  }

  /** @internal spawn, watch the child, connect its pipes; on failure kill it and wait for it */
  *_makeSubprocessTransport(factory: ProtocolFactory, req: SpawnRequest): G<[UnixSubprocessTransport, AnyProtocol]> {
    const protocol = makeProtocol(factory);
    // Children a closed loop left behind are reaped here at the latest.
    reapOrphans();
    const spawned = spawnChild(req);
    const transport = new UnixSubprocessTransport(this, protocol, spawned, req.argv);
    this._childWatcher.add(spawned.pid, (rc) => transport._processExited(rc));
    try {
      yield* transport._connectPipes();
    } catch (e) {
      transport.close();
      yield* transport._wait();
      throw e;
    }
    return [transport, protocol];
  }

  /** @internal reap `pid` now if it has exited (reporting its exit first); false while it runs */
  _reapChild(pid: number): boolean {
    return this._childWatcher.reap(pid);
  }

  /**
   * Closing the loop stops watching children: those that exited are reaped
   * now, the others as soon as another spawn or loop close finds them done.
   */
  override close(): void {
    const wasClosed = this.isClosed();
    super.close();
    if (!wasClosed) this._childWatcher.close();
  }
}

/** The event loop of this platform (asyncio 3.13's `asyncio.EventLoop`). */
export const EventLoop: typeof UnixEventLoop = UnixEventLoop;
/** The event loop of this platform (asyncio 3.13's `asyncio.EventLoop`): what `newEventLoop()` returns. */
export type EventLoop = UnixEventLoop;
