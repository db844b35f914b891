/**
 * Pipe transports (asyncio's `_UnixReadPipeTransport` and
 * `_UnixWritePipeTransport`): one direction each, over a FIFO, a socket, a
 * tty or another character device. The transport owns its descriptor:
 * closing the transport closes it, after `connectionLost`.
 *
 * A read pipe reads into the loop's shared buffer and hands the protocol a
 * copy of exactly the bytes read (a BufferedProtocol reads into its own
 * buffer instead). A write pipe tries `write` at once and buffers only the
 * rest; it also watches its descriptor for readability, which on a pipe
 * means the reading end went away (the kernel reports POLLERR there).
 */

import { C, libc, native } from "./native.ts";
import { codeToErrno, OSError, ValueError } from "./errors.ts";
import { BaseTransport, computeWriteLimits, DEFAULT_HIGH_WATER } from "./transports.ts";
import { type AnyProtocol, checkProtocol, isBufferedProtocol } from "./protocols.ts";
import { WriteBuffer } from "./write_buffer.ts";
import { logger } from "./log.ts";
import { asBytes, asBytesList } from "./socket.ts";
import { deliverBuffered, deliverData, isRetry, MAX_READ, protocolBuffer, type TransportLoop } from "./selector_transports.ts";
import { fileobjToFd, type FileLike } from "./selector_events.ts";
import type { Future } from "./futures.ts";

/** Each `write()` after the pipe is gone from this many on logs a warning (asyncio's value). */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;

const EPIPE = codeToErrno("EPIPE");

const statBuf = new Uint8Array(new ArrayBuffer(C.STAT_SIZE));
const statView = new DataView(statBuf.buffer);

/** The file type bits (S_IFIFO, S_IFSOCK, ...) of an open descriptor. */
function fileType(fd: number): number {
  if (libc.fstat(fd, statBuf) < 0) throw OSError.fromErrno(native.errno(), `fstat(${fd})`);
  return statView.getUint32(C.STAT_MODE_OFFSET, true) & C.S_IFMT;
}

/**
 * Check that `fd` can be polled as a stream (a regular file is always
 * "ready" and cannot be watched meaningfully), then make it non-blocking.
 * Returns whether it is a socket.
 */
function preparePipe(fd: number): boolean {
  const type = fileType(fd);
  if (type !== C.S_IFIFO && type !== C.S_IFSOCK && type !== C.S_IFCHR) {
    throw new ValueError("Pipe transport is only for pipes, sockets and character devices");
  }
  const fl = libc.fcntl(fd, C.F_GETFL, 0);
  if (fl < 0) throw OSError.fromErrno(native.errno(), "fcntl(F_GETFL)");
  if (!(fl & C.O_NONBLOCK) && libc.fcntl(fd, C.F_SETFL, fl | C.O_NONBLOCK) < 0) {
    throw OSError.fromErrno(native.errno(), "fcntl(F_SETFL)");
  }
  return type === C.S_IFSOCK;
}

function resolveWaiter(waiter: Future<unknown> | null): void {
  if (waiter && !waiter.done()) waiter.setResult(undefined);
}

/**
 * What both pipe directions share: the descriptor, the protocol, teardown.
 * The transport owns the descriptor: it is closed after `connectionLost`.
 */
export abstract class PipeTransport extends BaseTransport {
  /** @internal */ _loop: TransportLoop;
  /** @internal */ _pipe: FileLike | null;
  /** @internal */ _fd: number;
  /** @internal */ _protocol: AnyProtocol;
  /** @internal */ _closing = false;
  /** @internal connectionLost is scheduled or done */ _lost = false;

  /** @internal pipe transports are made by `connectReadPipe`/`connectWritePipe` */
  constructor(loop: TransportLoop, pipe: FileLike, protocol: AnyProtocol, extra: Record<string, unknown>) {
    super(extra);
    this._extra.pipe = pipe;
    this._fd = fileobjToFd(pipe);
    this._loop = loop;
    this._pipe = pipe;
    this._protocol = protocol;
  }

  /** `<ReadPipeTransport fd=N open>`, for logs and debugging. */
  override toString(): string {
    const state = this._pipe === null ? "closed" : this._closing ? "closing" : "open";
    return `<${this.constructor.name} fd=${this._fd} ${state}>`;
  }

  /** Hand the pipe to another protocol; it receives all further callbacks. */
  override setProtocol(protocol: AnyProtocol): void {
    checkProtocol(protocol);
    this._protocol = protocol;
  }

  /** The protocol that currently receives the pipe's callbacks. */
  override getProtocol(): AnyProtocol {
    return this._protocol;
  }

  /** True once the pipe is closing: `close()`, EOF, or an error. */
  override isClosing(): boolean {
    return this._closing;
  }

  /** @internal the loop refuses addReader/addWriter on our descriptor while we live */
  _register(): void {
    this._loop._transports.set(this._fd, this);
  }

  /**
   * @internal An error that ends the pipe. OS errors (the other side went
   * away) are only logged in debug mode; anything else is a bug worth
   * reporting.
   */
  _fatalError(exc: unknown, message = "Fatal error on pipe transport"): void {
    if (exc instanceof OSError) {
      if (this._loop.getDebug()) logger.debug(`${this}: ${message}: ${exc}`);
    } else {
      this._loop.callExceptionHandler({ message, exception: exc, transport: this, protocol: this._protocol });
    }
    this._close(exc as Error);
  }

  /** @internal stop everything now; `connectionLost(exc)` follows in a callback */
  abstract _close(exc: Error | null): void;

  /** @internal schedule connectionLost once */
  _scheduleConnectionLost(exc: Error | null): void {
    if (this._lost) return;
    this._lost = true;
    this._loop._callSoon(this._callConnectionLost, [exc]);
  }

  /** @internal the loop closed under us: release the descriptor, with no callbacks (none can run) */
  _closeWithoutCallbacks(): void {
    this._closing = true;
    this._lost = true;
    this._releasePipe();
  }

  /** @internal the protocol hears of the loss first; the descriptor is closed after */
  _callConnectionLost = (exc: Error | null): void => {
    this._lost = true;
    try {
      this._protocol.connectionLost?.(exc);
    } finally {
      this._releasePipe();
    }
  };

  /** @internal close the descriptor (once) and forget it */
  _releasePipe(): void {
    const pipe = this._pipe;
    if (pipe === null) return;
    if (this._loop._transports.get(this._fd) === this) this._loop._transports.delete(this._fd);
    this._pipe = null;
    // An object that owns the descriptor (a Socket) closes it itself, so it knows.
    const owner = pipe as { close?: unknown };
    if (typeof pipe === "object" && typeof owner.close === "function") {
      owner.close();
    } else {
      libc.close(this._fd);
    }
  }
}

/**
 * The reading end of a pipe (or a socket, tty, character device) as a
 * transport: asyncio's read pipe transport, made by `connectReadPipe` and
 * by `subprocessExec` for the child's stdout and stderr.
 */
export class ReadPipeTransport extends PipeTransport {
  /** @internal */ _paused = false;
  /** @internal a reader is registered (from just after connectionMade until pause/close) */ _reading = false;
  /** @internal */ _readReady: () => void;

  /** @internal made by `connectReadPipe` */
  constructor(
    loop: TransportLoop,
    pipe: FileLike,
    protocol: AnyProtocol,
    waiter: Future<unknown> | null = null,
    extra: Record<string, unknown> = {},
  ) {
    super(loop, pipe, protocol, extra);
    preparePipe(this._fd);
    this._readReady = isBufferedProtocol(protocol) ? this._readReadyBuffered : this._readReadyData;
    this._register();
    // connectionMade first, then reading, then the waiter: data never precedes connectionMade.
    loop._callSoon((t: ReadPipeTransport) => t._protocol.connectionMade?.(t), [this]);
    loop._callSoon(() => {
      if (this.isReading()) this._startReading();
    }, []);
    if (waiter) loop._callSoon(resolveWaiter, [waiter]);
  }

  /** @internal */
  _startReading(): void {
    this._reading = true;
    this._loop._addReader(this._fd, this._readReady);
  }

  /** @internal */
  _stopReading(): void {
    this._reading = false;
    this._loop._removeReader(this._fd);
  }

  /**
   * Hand the pipe to another protocol. Switching between a Protocol and a
   * BufferedProtocol takes effect from the next read.
   */
  override setProtocol(protocol: AnyProtocol): void {
    super.setProtocol(protocol);
    const next = isBufferedProtocol(protocol) ? this._readReadyBuffered : this._readReadyData;
    if (next === this._readReady) return;
    this._readReady = next;
    // Reading already: re-register so the next read goes through the new path.
    if (this._reading) this._startReading();
  }

  /** True while the protocol receives data (not paused, not closing). */
  isReading(): boolean {
    return !this._paused && !this._closing;
  }

  /**
   * Stop reading until `resumeReading()`: the pipe fills and the writer
   * blocks, which is the flow control. A no-op when paused or closing.
   */
  pauseReading(): void {
    if (!this.isReading()) return;
    this._paused = true;
    this._stopReading();
    if (this._loop.getDebug()) logger.debug(`${this} pauses reading`);
  }

  /** Read again after `pauseReading()`. A no-op unless paused. */
  resumeReading(): void {
    if (this._closing || !this._paused) return;
    this._paused = false;
    this._startReading();
    if (this._loop.getDebug()) logger.debug(`${this} resumes reading`);
  }

  /** Stop reading; `connectionLost(null)` follows and the descriptor is closed. Idempotent. */
  override close(): void {
    if (!this._closing) this._close(null);
  }

  /** @internal */
  _close(exc: Error | null): void {
    this._closing = true;
    this._stopReading();
    this._scheduleConnectionLost(exc);
  }

  /** @internal */
  _readReadyData = (): void => {
    if (this._closing) return;
    const buf = this._loop._recvBuffer;
    const n = this._read(buf, MAX_READ);
    if (n > 0) deliverData(this, buf, n);
  };

  /** @internal */
  _readReadyBuffered = (): void => {
    if (this._closing) return;
    const buf = protocolBuffer(this);
    if (buf === null) return;
    const n = this._read(buf, buf.byteLength);
    if (n > 0) deliverBuffered(this, n);
  };

  /** @internal One read: the byte count, or 0 when there is nothing to deliver (EOF and errors handled). */
  _read(buf: Uint8Array, max: number): number {
    const n = libc.read(this._fd, buf, max);
    if (n > 0) return n;
    if (n === 0) {
      this._onEof();
      return 0;
    }
    const errno = native.errno();
    if (!isRetry(errno)) this._fatalError(OSError.fromErrno(errno), "Fatal read error on pipe transport");
    return 0;
  }

  /**
   * @internal The writer closed its end. A pipe has no half-close, so the
   * transport closes whatever `eofReceived` returns (asyncio ignores it too).
   */
  _onEof(): void {
    if (this._loop.getDebug()) logger.debug(`${this} was closed by peer`);
    this._closing = true;
    this._stopReading();
    this._loop._callSoon(this._callEofReceived, []);
    this._scheduleConnectionLost(null);
  }

  /** @internal */
  _callEofReceived = (): void => {
    try {
      this._protocol.eofReceived?.();
    } catch (exc) {
      this._loop.callExceptionHandler({
        message: "Fatal error: protocol.eofReceived() call failed.", exception: exc, transport: this, protocol: this._protocol,
      });
    }
  };
}

/**
 * The writing end of a pipe (or a socket, tty, character device) as a
 * transport: asyncio's write pipe transport, made by `connectWritePipe` and
 * by `subprocessExec` for the child's stdin.
 */
export class WritePipeTransport extends PipeTransport {
  /** @internal */ _buffer: WriteBuffer = new WriteBuffer();
  /** @internal writes dropped since the pipe was lost (for the warning) */ _connLost = 0;
  /** @internal */ _highWater = DEFAULT_HIGH_WATER;
  /** @internal */ _lowWater = DEFAULT_HIGH_WATER / 4;
  /** @internal */ _protocolPaused = false;

  /** @internal made by `connectWritePipe` */
  constructor(
    loop: TransportLoop,
    pipe: FileLike,
    protocol: AnyProtocol,
    waiter: Future<unknown> | null = null,
    extra: Record<string, unknown> = {},
  ) {
    super(loop, pipe, protocol, extra);
    preparePipe(this._fd);
    this._register();
    loop._callSoon((t: WritePipeTransport) => t._protocol.connectionMade?.(t), [this]);
    // Watch for readability from the start (after connectionMade): on the
    // writing end of a pipe it means the reader closed; on a socket, that
    // the peer shut down or sent something we will never read.
    loop._callSoon(() => {
      if (!this._closing) this._loop._addReader(this._fd, this._readReady);
    }, []);
    if (waiter) loop._callSoon(resolveWaiter, [waiter]);
  }

  /** Bytes buffered and not yet written to the pipe. */
  getWriteBufferSize(): number {
    return this._buffer.size;
  }

  /** The flow-control marks as `[low, high]` (asyncio's order). */
  getWriteBufferLimits(): [number, number] {
    return [this._lowWater, this._highWater];
  }

  /**
   * Set the flow-control marks: `pauseWriting()` above `high`,
   * `resumeWriting()` at or below `low` (with only one given, the other
   * follows: high = 4 × low, low = high / 4; neither: 64 KiB high).
   */
  setWriteBufferLimits(high?: number | null, low?: number | null): void {
    [this._highWater, this._lowWater] = computeWriteLimits(high, low);
    this._maybePauseProtocol();
  }

  /** @internal the reading end went away */
  _readReady = (): void => {
    if (this._loop.getDebug()) logger.info(`${this} was closed by peer`);
    // Data still waiting can never arrive: say so. With nothing pending it is a normal end.
    if (this._buffer.size > 0) this._close(OSError.fromErrno(EPIPE));
    else this._close(null);
  };

  /**
   * Write `data` (any ArrayBufferView): at once when the pipe takes it, the
   * rest buffered, with the protocol paused above the high-water mark. After
   * `close()`/`writeEof()` or once the pipe is lost, data is dropped (from
   * the 5th such call on, with a warning), as asyncio does.
   */
  write(data: ArrayBufferView): void {
    let bytes = asBytes(data);
    if (bytes.byteLength === 0) return;
    if (this._lost || this._closing) {
      if (this._connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) {
        logger.warning("pipe closed by peer or os.write(pipe, data) raised exception.");
      }
      this._connLost++;
      return;
    }
    if (this._buffer.size === 0) {
      const n = libc.write(this._fd, bytes, bytes.byteLength);
      if (n < 0) {
        const errno = native.errno();
        if (!isRetry(errno)) {
          // EPIPE lands here (the hosts ignore SIGPIPE): BrokenPipeError for connectionLost.
          this._connLost++;
          this._fatalError(OSError.fromErrno(errno), "Fatal write error on pipe transport");
          return;
        }
      } else if (n === bytes.byteLength) {
        return;
      } else {
        bytes = bytes.subarray(n);
      }
      this._loop._addWriter(this._fd, this._writeReady);
    }
    this._buffer.push(bytes);
    this._maybePauseProtocol();
  }

  /** Write each chunk of `list`, buffered together and written with as few calls as possible. */
  writelines(list: Iterable<ArrayBufferView>): void {
    const chunks = asBytesList(list);
    if (this._lost || this._closing) {
      for (const c of chunks) if (c.byteLength) this.write(c);
      return;
    }
    const wasEmpty = this._buffer.size === 0;
    for (const c of chunks) this._buffer.push(c);
    if (wasEmpty && this._buffer.size > 0) {
      this._writeReady();
      if (this._buffer.size > 0 && !this._lost) this._loop._addWriter(this._fd, this._writeReady);
    }
    this._maybePauseProtocol();
  }

  /** @internal the pipe is writable: write what is buffered */
  _writeReady = (): void => {
    if (this._lost) return;
    const pending = this._buffer.pending();
    const n = libc.write(this._fd, pending, pending.byteLength);
    if (n < 0) {
      const errno = native.errno();
      if (isRetry(errno)) return;
      this._connLost++;
      this._loop._removeWriter(this._fd);
      this._buffer.clear();
      this._fatalError(OSError.fromErrno(errno), "Fatal write error on pipe transport");
      return;
    }
    this._buffer.consume(n);
    // resumeWriting may write again (appending to the buffer): check it after.
    this._maybeResumeProtocol();
    if (this._buffer.size > 0) return;
    this._loop._removeWriter(this._fd);
    if (this._closing && !this._lost) {
      this._loop._removeReader(this._fd);
      this._lost = true;
      this._callConnectionLost(null);
    }
  };

  /** True: `writeEof()` is supported (it closes the pipe). */
  canWriteEof(): boolean {
    return true;
  }

  /**
   * A pipe's only way to signal EOF is to close: flush what is buffered,
   * then close the descriptor (`connectionLost(null)`).
   */
  writeEof(): void {
    if (this._closing) return;
    this._closing = true;
    if (this._buffer.size === 0) {
      this._loop._removeReader(this._fd);
      this._scheduleConnectionLost(null);
    }
  }

  /** Flush what is buffered, then close the pipe. Idempotent. */
  override close(): void {
    if (this._pipe !== null && !this._closing) this.writeEof();
  }

  /** Close at once, dropping buffered data; `connectionLost(null)` follows. */
  abort(): void {
    this._close(null);
  }

  /** @internal */
  _close(exc: Error | null): void {
    this._closing = true;
    if (this._buffer.size > 0) {
      this._loop._removeWriter(this._fd);
      this._buffer.clear();
    }
    this._loop._removeReader(this._fd);
    this._scheduleConnectionLost(exc);
  }

  /** @internal pause the protocol when the buffer goes strictly above the high-water mark */
  _maybePauseProtocol(): void {
    if (this._buffer.size <= this._highWater || this._protocolPaused) return;
    this._protocolPaused = true;
    try {
      this._protocol.pauseWriting?.();
    } catch (exc) {
      this._loop.callExceptionHandler({
        message: "protocol.pauseWriting() failed", exception: exc, transport: this, protocol: this._protocol,
      });
    }
  }

  /** @internal resume it once the buffer is at or below the low-water mark */
  _maybeResumeProtocol(): void {
    if (!this._protocolPaused || this._buffer.size > this._lowWater) return;
    this._protocolPaused = false;
    try {
      this._protocol.resumeWriting?.();
    } catch (exc) {
      this._loop.callExceptionHandler({
        message: "protocol.resumeWriting() failed", exception: exc, transport: this, protocol: this._protocol,
      });
    }
  }
}
