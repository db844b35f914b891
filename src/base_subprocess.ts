/**
 * The subprocess transport (asyncio's `base_subprocess.py`): a child process
 * and pipe transports for the streams it was given pipes for.
 *
 * The protocol hears, in asyncio's order: `connectionMade` once every pipe
 * is connected; then `pipeDataReceived(fd, data)`, `pipeConnectionLost(fd,
 * exc)` and `processExited()` as they happen (anything that happened before
 * `connectionMade` is held back and delivered right after it); and
 * `connectionLost(null)` last, once the process has exited and every pipe is
 * closed.
 */

import { C, libc, native } from "./native.ts";
import { codeToErrno, OSError } from "./errors.ts";
import { BaseTransport, type SubprocessTransport } from "./transports.ts";
import { type AnyProtocol, checkProtocol } from "./protocols.ts";
import { ReadPipeTransport, WritePipeTransport } from "./unix_pipes.ts";
import type { TransportLoop } from "./selector_transports.ts";
import type { Callback } from "./handles.ts";
import type { Future } from "./futures.ts";
import { logger } from "./log.ts";
import { signalNumber } from "./unix_signals.ts";
import type { Spawned } from "./spawn.ts";

const ESRCH = codeToErrno("ESRCH");

/** What the subprocess transport needs of its loop. */
export interface SubprocessLoop extends TransportLoop {
  createFuture<T>(): Future<T>;
  isClosed(): boolean;
  /** Reap `pid` now if it has exited (its exit is reported first); false while it runs. */
  _reapChild(pid: number): boolean;
}

/** What a subprocess protocol may implement (all optional on plain objects). */
interface SubprocessProtocolLike extends AnyProtocol {
  pipeDataReceived?(fd: number, data: Uint8Array): void;
  pipeConnectionLost?(fd: number, exc: Error | null): void;
  processExited?(): void;
}

/** The "subprocess" extra info: the child's pid and, once known, its return code. */
export interface SubprocessInfo {
  /** The child's process id. */
  readonly pid: number;
  /** The argv the child was started with. */
  readonly args: readonly string[];
  /** The exit code, -N if signal N ended the child, or null while it runs (read live). */
  readonly returncode: number | null;
}

/** The protocol of one pipe, forwarding to the subprocess transport (asyncio's `*SubprocessPipeProto`). */
class PipeProtocol implements AnyProtocol {
  connected = false;
  disconnected = false;
  pipe!: ReadPipeTransport | WritePipeTransport;
  constructor(readonly proc: UnixSubprocessTransport, readonly fd: number) {}
  connectionMade(): void {
    this.connected = true;
  }
  connectionLost(exc: Error | null): void {
    this.disconnected = true;
    this.proc._pipeConnectionLost(this.fd, exc);
  }
  dataReceived(data: Uint8Array): void {
    this.proc._pipeDataReceived(this.fd, data);
  }
  eofReceived(): void {}
  // The stdin pipe's flow control is the subprocess protocol's.
  pauseWriting(): void {
    this.proc._protocol.pauseWriting?.();
  }
  resumeWriting(): void {
    this.proc._protocol.resumeWriting?.();
  }
}

/**
 * A child process, as the transport asyncio's `subprocess_exec` returns (its
 * `_UnixSubprocessTransport`): the {@linkcode SubprocessTransport} of
 * `subprocessExec`/`subprocessShell`.
 */
export class UnixSubprocessTransport extends BaseTransport implements SubprocessTransport {
  /** @internal */ _loop: SubprocessLoop;
  /** @internal */ _protocol: SubprocessProtocolLike;
  /** @internal */ _pid: number;
  /** @internal */ _returncode: number | null = null;
  /** @internal fd (0, 1, 2) → its pipe's protocol */ _pipes: Map<number, PipeProtocol> = new Map();
  /** @internal our pipe ends not yet owned by a pipe transport */ _rawFds: [number, number][] = [];
  /** @internal calls held back until connectionMade */ _pendingCalls: [Callback, unknown[]][] | null = [];
  /** @internal */ _pipesConnected = false;
  /** @internal */ _finished = false;
  /** @internal */ _closed = false;
  /** @internal connectionLost ran: the process is gone for good */ _done = false;
  /** @internal */ _exitWaiters: Future<number>[] | null = [];

  /** @internal made by `subprocessExec`/`subprocessShell` */
  constructor(loop: SubprocessLoop, protocol: AnyProtocol, spawned: Spawned, args: readonly string[], extra: Record<string, unknown> = {}) {
    super(extra);
    this._loop = loop;
    this._protocol = protocol as SubprocessProtocolLike;
    this._pid = spawned.pid;
    for (const [fd, end] of [[0, spawned.stdin], [1, spawned.stdout], [2, spawned.stderr]] as const) {
      if (end !== null) this._rawFds.push([fd, end]);
    }
    const self = this;
    const info: SubprocessInfo = {
      pid: spawned.pid,
      args: Object.freeze([...args]),
      get returncode() {
        return self._returncode;
      },
    };
    this._extra.subprocess = info;
  }

  /** `<UnixSubprocessTransport pid=N running>`, for logs and debugging. */
  override toString(): string {
    const state = this._closed ? " closed" : this._returncode !== null ? ` returncode=${this._returncode}` : " running";
    return `<${this.constructor.name} pid=${this._pid}${state}>`;
  }

  /** Hand the child to another protocol; calls not yet made go to it. */
  override setProtocol(protocol: AnyProtocol): void {
    checkProtocol(protocol);
    this._protocol = protocol as SubprocessProtocolLike;
  }

  /** The protocol that currently receives the child's callbacks. */
  override getProtocol(): AnyProtocol {
    return this._protocol;
  }

  /** True once `close()` was called. */
  override isClosing(): boolean {
    return this._closed;
  }

  /**
   * Close the pipes, and kill the child (SIGKILL) if it still runs; its exit
   * is still reported (`processExited`, then `connectionLost`) once it is
   * reaped. Idempotent.
   */
  override close(): void {
    if (this._closed) return;
    this._closed = true;
    for (const p of this._pipes.values()) {
      // A closed loop runs no more callbacks: just release the descriptor.
      if (this._loop.isClosed()) p.pipe._closeWithoutCallbacks();
      else p.pipe.close();
    }
    for (const [, fd] of this._rawFds) libc.close(fd);
    this._rawFds = [];
    // Reap first if it exited already: a reaped pid may belong to someone else by now.
    if (!this._done && this._returncode === null && !this._loop._reapChild(this._pid)) {
      if (this._loop.getDebug()) logger.warning(`Close running child process: kill ${this}`);
      if (libc.kill(this._pid, C.signals.SIGKILL) < 0) {
        const errno = native.errno();
        // Gone, or a setuid program we may not signal: nothing more to do, as asyncio.
        if (errno !== ESRCH && errno !== codeToErrno("EPERM")) logger.warning(`kill(${this._pid}) failed: errno ${errno}`);
      }
    }
  }

  /** The child's process id. */
  getPid(): number {
    return this._pid;
  }

  /** The exit code, -N if signal N killed it, or null while it runs. */
  getReturncode(): number | null {
    return this._returncode;
  }

  /** The transport of the child's stdin (0), stdout (1) or stderr (2) pipe; null without one. */
  getPipeTransport(fd: number): ReadPipeTransport | WritePipeTransport | null {
    return this._pipes.get(fd)?.pipe ?? null;
  }

  /**
   * Send signal `sig` (a number or a name such as "SIGTERM"). A no-op once
   * the child was reaped (its pid may be reused); ProcessLookupError after
   * the transport finished (connectionLost), as asyncio. Signal 0 sends
   * nothing: kill(2)'s existence check, as Python's `send_signal(0)`.
   */
  sendSignal(sig: number | string): void {
    const num = sig === 0 ? 0 : signalNumber(sig);
    if (this._done) throw OSError.fromErrno(ESRCH);
    if (this._returncode !== null) return;
    if (libc.kill(this._pid, num) < 0) {
      const errno = native.errno();
      if (errno !== ESRCH) throw OSError.fromErrno(errno, `kill(${this._pid}, ${num})`);
    }
  }

  /** Ask the child to stop (SIGTERM). */
  terminate(): void {
    this.sendSignal(C.signals.SIGTERM);
  }

  /** Kill the child (SIGKILL). */
  kill(): void {
    this.sendSignal(C.signals.SIGKILL);
  }

  /**
   * @internal Wrap our pipe ends in pipe transports and wait until they are
   * connected; then `connectionMade`, then whatever happened meanwhile.
   */
  *_connectPipes(): Generator<unknown, void, unknown> {
    const waiters: Future<void>[] = [];
    while (this._rawFds.length > 0) {
      const [fd, end] = this._rawFds[0];
      const waiter = this._loop.createFuture<void>();
      const proto = new PipeProtocol(this, fd);
      proto.pipe = fd === 0
        ? new WritePipeTransport(this._loop, end, proto, waiter)
        : new ReadPipeTransport(this._loop, end, proto, waiter);
      this._rawFds.shift();
      this._pipes.set(fd, proto);
      waiters.push(waiter);
    }
    for (const w of waiters) yield* w;
    this._loop._callSoon(this._callConnectionMade, []);
    for (const [cb, args] of this._pendingCalls!) this._loop._callSoon(cb, args);
    this._pendingCalls = null;
    this._pipesConnected = true;
  }

  /** @internal resolves with the return code once the child has been reaped */
  _wait(): Future<number> {
    const f = this._loop.createFuture<number>();
    if (this._returncode !== null) f.setResult(this._returncode);
    else this._exitWaiters!.push(f);
    return f;
  }

  /** @internal hold a protocol call back until connectionMade, or schedule it */
  _call(cb: Callback, ...args: unknown[]): void {
    if (this._pendingCalls !== null) this._pendingCalls.push([cb, args]);
    else this._loop._callSoon(cb, args);
  }

  /** @internal */
  _pipeDataReceived(fd: number, data: Uint8Array): void {
    this._call(this._callPipeDataReceived, fd, data);
  }

  /** @internal */
  _pipeConnectionLost(fd: number, exc: Error | null): void {
    this._call(this._callPipeConnectionLost, fd, exc);
    this._tryFinish();
  }

  /** @internal the child watcher reaped the child */
  _processExited(returncode: number): void {
    if (this._returncode !== null) return;
    this._returncode = returncode;
    // A loop that closed meanwhile runs nothing more: just remember the code.
    if (this._loop.isClosed()) return;
    if (this._loop.getDebug()) logger.info(`${this} exited with return code ${returncode}`);
    this._call(this._callProcessExited);
    this._tryFinish();
    for (const w of this._exitWaiters!) if (!w.done()) w.setResult(returncode);
    this._exitWaiters = null;
  }

  /** @internal connectionLost once the child has exited and every pipe is closed */
  _tryFinish(): void {
    if (this._finished || this._returncode === null) return;
    for (const p of this._pipes.values()) if (!p.disconnected) return;
    this._finished = true;
    this._call(this._callConnectionLost, null);
  }

  // The protocol is looked up at call time: setProtocol() may have replaced it.
  /** @internal */ _callConnectionMade = (): void => void this._protocol.connectionMade?.(this);
  /** @internal */ _callPipeDataReceived = (fd: number, data: Uint8Array): void => void this._protocol.pipeDataReceived?.(fd, data);
  /** @internal */ _callPipeConnectionLost = (fd: number, exc: Error | null): void => void this._protocol.pipeConnectionLost?.(fd, exc);
  /** @internal */ _callProcessExited = (): void => void this._protocol.processExited?.();
  /** @internal */
  _callConnectionLost = (exc: Error | null): void => {
    this._done = true;
    this._protocol.connectionLost?.(exc);
  };
}
