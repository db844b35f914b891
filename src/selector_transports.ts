/**
 * Socket transports over a selector loop (asyncio's `_SelectorTransport`,
 * `_SelectorSocketTransport` and `_SelectorDatagramTransport`).
 *
 * The kernel's view, per message: a readable socket costs one `recv` into the
 * loop's reusable buffer (plus one copy of exactly the bytes read, which the
 * protocol may keep; a BufferedProtocol gets no copy at all). A write tries
 * `send` at once and buffers only what the kernel did not take.
 */

import { C, libc, native } from "./native.ts";
import { codeToErrno, OSError, RuntimeError, ValueError } from "./errors.ts";
import { BaseTransport, computeWriteLimits, DEFAULT_HIGH_WATER } from "./transports.ts";
import { type AnyProtocol, checkProtocol, isBufferedProtocol } from "./protocols.ts";
import { WriteBuffer } from "./write_buffer.ts";
import { logger } from "./log.ts";
import { asBytes, asBytesList, type Socket } from "./socket.ts";
import type { Future } from "./futures.ts";
import type { Handle, Callback } from "./handles.ts";

/** Each `write()` after the connection is lost from this many on logs a warning (asyncio's value). */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;
/** Bytes asked of the kernel per read (asyncio's max_size). */
export const MAX_READ = 256 * 1024;

const EAGAIN = codeToErrno("EAGAIN");
const EWOULDBLOCK = codeToErrno("EWOULDBLOCK") || EAGAIN;
const EINTR = codeToErrno("EINTR");

/** Would-block or interrupted: try again when the selector says so. */
export function isRetry(errno: number): boolean {
  return errno === EAGAIN || errno === EWOULDBLOCK || errno === EINTR;
}

/** What the shared read helpers need of a transport (socket or pipe). */
export interface ReadingTransport {
  _protocol: AnyProtocol;
  _fatalError(exc: unknown, message?: string): void;
}

/** A BufferedProtocol's buffer for the next read; null once a failure is handled. */
export function protocolBuffer(t: ReadingTransport): Uint8Array | null {
  try {
    const buf = asBytes(t._protocol.getBuffer!(-1), "getBuffer() result");
    if (buf.byteLength === 0) throw new RuntimeError("getBuffer() returned an empty buffer");
    return buf;
  } catch (exc) {
    t._fatalError(exc, "Fatal error: protocol.getBuffer() call failed.");
    return null;
  }
}

/** Hand `n` bytes read into `buf` to a Protocol (a fresh copy it may keep). */
export function deliverData(t: ReadingTransport, buf: Uint8Array, n: number): void {
  try {
    t._protocol.dataReceived!(buf.slice(0, n));
  } catch (exc) {
    t._fatalError(exc, "Fatal error: protocol.dataReceived() call failed.");
  }
}

/** Tell a BufferedProtocol that `n` bytes landed in its buffer. */
export function deliverBuffered(t: ReadingTransport, n: number): void {
  try {
    t._protocol.bufferUpdated!(n);
  } catch (exc) {
    t._fatalError(exc, "Fatal error: protocol.bufferUpdated() call failed.");
  }
}

/** What a transport needs of its loop. */
export interface TransportLoop {
  _addReader(fd: number, cb: Callback, ...args: unknown[]): Handle;
  _removeReader(fd: number): boolean;
  _addWriter(fd: number, cb: Callback, ...args: unknown[]): Handle;
  _removeWriter(fd: number): boolean;
  _callSoon(cb: Callback, args: unknown[]): Handle;
  callExceptionHandler(context: Record<string, unknown>): void;
  getDebug(): boolean;
  _transports: Map<number, BaseTransport>;
  /** One receive buffer per loop, reused by every transport (reads are synchronous). */
  _recvBuffer: Uint8Array;
}

/** What a server does with the transports it accepted. */
export interface TransportServer {
  _attach(t: BaseTransport): void;
  _detach(t: BaseTransport): void;
}

function resolveWaiter(waiter: Future<unknown> | null | undefined): void {
  if (waiter && !waiter.cancelled() && !waiter.done()) waiter.setResult(undefined);
}

/**
 * State and teardown shared by stream and datagram socket transports
 * (asyncio's `_SelectorTransport`). The transport owns its socket: it is
 * closed after `connectionLost`.
 */
export abstract class SelectorTransport extends BaseTransport {
  /** @internal */ _loop: TransportLoop;
  /** @internal */ _sock: Socket | null;
  /** @internal */ _fd: number;
  /** @internal */ _protocol: AnyProtocol;
  /** @internal */ _protocolConnected = false;
  /** @internal */ _server: TransportServer | null;
  /** @internal */ _buffer: WriteBuffer = new WriteBuffer();
  /** @internal */ _connLost = 0;
  /** @internal */ _closing = false;
  /** @internal */ _paused = false;
  /** @internal */ _highWater = DEFAULT_HIGH_WATER;
  /** @internal */ _lowWater = DEFAULT_HIGH_WATER / 4;
  /** @internal */ _protocolPaused = false;

  /** @internal socket transports are made by the loop */
  constructor(loop: TransportLoop, sock: Socket, protocol: AnyProtocol, extra: Record<string, unknown>, server: TransportServer | null) {
    super(extra);
    this._extra.socket = sock;
    if (!("sockname" in this._extra)) this._extra.sockname = tryAddress(() => sock.getsockname());
    if (!("peername" in this._extra)) this._extra.peername = tryAddress(() => sock.getpeername());
    this._loop = loop;
    this._sock = sock;
    this._fd = sock.fileno();
    this._protocol = protocol;
    this._server = server;
    server?._attach(this);
    loop._transports.set(this._fd, this);
  }

  /** `<SelectorSocketTransport fd=N open>`, for logs and debugging. */
  override toString(): string {
    const state = this._sock === null ? "closed" : this._closing ? "closing" : "open";
    return `<${this.constructor.name} fd=${this._fd} ${state}>`;
  }

  /** Hand the connection to another protocol; it receives all further callbacks, `connectionLost` included. */
  override setProtocol(protocol: AnyProtocol): void {
    checkProtocol(protocol);
    this._protocol = protocol;
    this._protocolConnected = true;
  }

  /** The protocol that currently receives the transport's callbacks. */
  override getProtocol(): AnyProtocol {
    return this._protocol;
  }

  /** True once the transport is closing: `close()`, `abort()`, EOF, or an error. */
  override isClosing(): boolean {
    return this._closing;
  }

  /** True while the protocol receives data (not paused, not closing). */
  isReading(): boolean {
    return !this._closing && !this._paused;
  }

  /**
   * Stop reading until `resumeReading()`: the socket is no longer watched,
   * so the kernel's buffer fills and TCP slows the peer down. A no-op when
   * paused or closing.
   */
  pauseReading(): void {
    if (this._closing || this._paused) return;
    this._paused = true;
    this._loop._removeReader(this._fd);
    if (this._loop.getDebug()) logger.debug(`${this} pauses reading`);
  }

  /** Read again after `pauseReading()`. A no-op unless paused. */
  resumeReading(): void {
    if (this._closing || !this._paused) return;
    this._paused = false;
    this._addReader();
    if (this._loop.getDebug()) logger.debug(`${this} resumes reading`);
  }

  /**
   * Stop reading now, flush what is buffered, then call `connectionLost(null)`
   * and close the socket. Idempotent.
   */
  override close(): void {
    if (this._closing) return;
    this._closing = true;
    this._loop._removeReader(this._fd);
    if (this._buffer.size === 0) {
      this._connLost++;
      this._loop._removeWriter(this._fd);
      this._loop._callSoon(this._callConnectionLost, [null]);
    }
  }

  /** Close at once, dropping buffered data; `connectionLost(null)` follows. */
  abort(): void {
    this._forceClose(null);
  }

  /** Bytes buffered and not yet handed to the kernel. */
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

  /** @internal */
  abstract _addReader(): void;

  /** @internal pause the protocol when the buffer goes strictly above the high-water mark */
  _maybePauseProtocol(): void {
    if (this.getWriteBufferSize() <= this._highWater || this._protocolPaused) return;
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
    if (!this._protocolPaused || this.getWriteBufferSize() > this._lowWater) return;
    this._protocolPaused = false;
    try {
      this._protocol.resumeWriting?.();
    } catch (exc) {
      this._loop.callExceptionHandler({
        message: "protocol.resumeWriting() failed", exception: exc, transport: this, protocol: this._protocol,
      });
    }
  }

  /**
   * @internal An error that ends the connection. OS errors (a reset, a
   * broken pipe) are the peer's doing and only logged in debug mode; anything
   * else is a bug worth reporting.
   */
  _fatalError(exc: unknown, message = "Fatal error on transport"): void {
    if (exc instanceof OSError) {
      if (this._loop.getDebug()) logger.debug(`${this}: ${message}: ${exc}`);
    } else {
      this._loop.callExceptionHandler({ message, exception: exc, transport: this, protocol: this._protocol });
    }
    this._forceClose(exc as Error);
  }

  /** @internal */
  _forceClose(exc: Error | null): void {
    if (this._connLost) return;
    if (this._buffer.size) {
      this._buffer.clear();
      this._loop._removeWriter(this._fd);
    }
    if (!this._closing) {
      this._closing = true;
      this._loop._removeReader(this._fd);
    }
    this._connLost++;
    this._loop._callSoon(this._callConnectionLost, [exc]);
  }

  /** @internal the protocol hears of the loss first; the socket is closed after */
  _callConnectionLost = (exc: Error | null): void => {
    try {
      if (this._protocolConnected) this._protocol.connectionLost?.(exc);
    } finally {
      this._loop._transports.delete(this._fd);
      this._sock?.close();
      this._sock = null;
      const server = this._server;
      this._server = null;
      server?._detach(this);
    }
  };

  /** @internal a write after the connection is gone is dropped; from the 5th on, logged */
  _writeAfterLoss(): void {
    if (this._connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) logger.warning("socket.send() raised exception.");
    this._connLost++;
  }
}

/**
 * A TCP or UNIX stream connection (asyncio's `_SelectorSocketTransport`):
 * the {@linkcode Transport} that `createConnection` and `createServer` make
 * for plain (non-TLS) sockets.
 */
export class SelectorSocketTransport extends SelectorTransport {
  /** @internal */ _eof = false;
  /** @internal */ _readReady: () => void;
  /** @internal */ _emptyWaiter: Future<void> | null = null;

  /** @internal made by `createConnection`, `createServer` and friends */
  constructor(
    loop: TransportLoop,
    sock: Socket,
    protocol: AnyProtocol,
    waiter: Future<unknown> | null = null,
    extra: Record<string, unknown> = {},
    server: TransportServer | null = null,
  ) {
    super(loop, sock, protocol, extra, server);
    this._readReady = this._readReadyData;
    this.setProtocol(protocol);
    // Small messages should leave at once (asyncio sets TCP_NODELAY on every TCP transport).
    if ((sock.family === C.AF_INET || sock.family === C.AF_INET6) && sock.type === C.SOCK_STREAM) {
      try {
        sock.setsockopt(C.IPPROTO_TCP, C.TCP_NODELAY, 1);
      } catch { /* not a TCP socket after all */ }
    }
    // connectionMade first, then reading, then the waiter: data never precedes connectionMade.
    loop._callSoon((t: SelectorSocketTransport) => t._protocol.connectionMade?.(t), [this]);
    loop._callSoon(() => {
      if (!this._closing && !this._paused) this._addReader();
    }, []);
    if (waiter) loop._callSoon(resolveWaiter, [waiter]);
  }

  /**
   * Hand the connection to another protocol. Switching between a Protocol
   * and a BufferedProtocol takes effect from the next read.
   */
  override setProtocol(protocol: AnyProtocol): void {
    checkProtocol(protocol);
    this._readReady = isBufferedProtocol(protocol) ? this._readReadyBuffered : this._readReadyData;
    super.setProtocol(protocol);
    // A switch while reading takes effect now: re-register with the new reader.
    if (this._sock && !this._closing && !this._paused && this._loop._transports.get(this._fd) === this) {
      // Only if a reader is registered already (after connectionMade).
      if (this._reading) this._addReader();
    }
  }

  /** @internal */ _reading = false;

  /** @internal */
  _addReader(): void {
    this._reading = true;
    this._loop._addReader(this._fd, this._readReady);
  }

  /** Stop reading until `resumeReading()` (see {@linkcode SelectorTransport.pauseReading}). */
  override pauseReading(): void {
    super.pauseReading();
    this._reading = false;
  }

  /** @internal */
  _readReadyData = (): void => {
    if (this._connLost) return;
    const buf = this._loop._recvBuffer;
    const n = this._recv(buf);
    if (n > 0) deliverData(this, buf, n);
  };

  /** @internal */
  _readReadyBuffered = (): void => {
    if (this._connLost) return;
    const buf = protocolBuffer(this);
    if (buf === null) return;
    const n = this._recv(buf);
    if (n > 0) deliverBuffered(this, n);
  };

  /**
   * @internal One recv into `buf`: the byte count, or 0 when there is
   * nothing to deliver (would block, EOF handled, or a fatal error handled).
   */
  _recv(buf: Uint8Array): number {
    const n = libc.recv(this._fd, buf, buf.byteLength, 0);
    if (n > 0) return n;
    if (n === 0) {
      this._readReadyOnEof();
      return 0;
    }
    const errno = native.errno();
    if (!isRetry(errno)) this._fatalError(OSError.fromErrno(errno), "Fatal read error on socket transport");
    return 0;
  }

  /** @internal the peer sent EOF: the protocol decides between half-close and close */
  _readReadyOnEof(): void {
    if (this._loop.getDebug()) logger.debug(`${this} received EOF`);
    let keepOpen: unknown;
    try {
      keepOpen = this._protocol.eofReceived?.();
    } catch (exc) {
      this._fatalError(exc, "Fatal error: protocol.eofReceived() call failed.");
      return;
    }
    if (keepOpen) {
      // Half-closed: no more reading, writing goes on.
      this._loop._removeReader(this._fd);
      this._reading = false;
    } else {
      this.close();
    }
  }

  /**
   * Send `data` (any ArrayBufferView). It is sent at once when possible;
   * the rest is buffered and the protocol paused above the high-water mark.
   */
  write(data: ArrayBufferView): void {
    const bytes = asBytes(data);
    if (this._eof) throw new RuntimeError("Cannot call write() after writeEof()");
    if (this._emptyWaiter !== null) throw new RuntimeError("unable to write; sendfile is in progress");
    if (bytes.byteLength === 0) return;
    if (this._connLost) {
      this._writeAfterLoss();
      return;
    }
    let rest = bytes;
    if (this._buffer.size === 0) {
      const n = libc.send(this._fd, bytes, bytes.byteLength, C.MSG_NOSIGNAL);
      if (n < 0) {
        const errno = native.errno();
        if (!isRetry(errno)) {
          this._fatalError(OSError.fromErrno(errno), "Fatal write error on socket transport");
          return;
        }
      } else {
        if (n === bytes.byteLength) return;
        rest = bytes.subarray(n);
      }
      this._loop._addWriter(this._fd, this._writeReady);
    }
    this._buffer.push(rest);
    this._maybePauseProtocol();
  }

  /** Write each chunk of `list` (buffered together, sent with as few calls as possible). */
  writelines(list: Iterable<ArrayBufferView>): void {
    if (this._eof) throw new RuntimeError("Cannot call writelines() after writeEof()");
    if (this._emptyWaiter !== null) throw new RuntimeError("unable to writelines; sendfile is in progress");
    const chunks = asBytesList(list);
    if (this._connLost) {
      if (chunks.some((c) => c.byteLength)) this._writeAfterLoss();
      return;
    }
    const wasEmpty = this._buffer.size === 0;
    for (const c of chunks) this._buffer.push(c);
    if (wasEmpty && this._buffer.size > 0) {
      this._writeReady();
      if (this._buffer.size > 0 && !this._connLost) this._loop._addWriter(this._fd, this._writeReady);
    }
    this._maybePauseProtocol();
  }

  /** @internal the socket is writable: send what is buffered */
  _writeReady = (): void => {
    if (this._connLost) return;
    const pending = this._buffer.pending();
    const n = libc.send(this._fd, pending, pending.byteLength, C.MSG_NOSIGNAL);
    if (n < 0) {
      const errno = native.errno();
      if (isRetry(errno)) return;
      this._loop._removeWriter(this._fd);
      this._buffer.clear();
      const exc = OSError.fromErrno(errno);
      this._fatalError(exc, "Fatal write error on socket transport");
      if (this._emptyWaiter) this._emptyWaiter.setException(exc);
      return;
    }
    if (n > 0) this._buffer.consume(n);
    this._maybeResumeProtocol();
    if (this._buffer.size > 0) return;
    this._loop._removeWriter(this._fd);
    if (this._emptyWaiter) this._emptyWaiter.setResult(undefined);
    if (this._closing) this._callConnectionLost(null);
    else if (this._eof) this._sock!.shutdown(C.SHUT_WR);
  };

  /** True: a socket can half-close (`writeEof()`). */
  canWriteEof(): boolean {
    return true;
  }

  /** Half-close: flush the buffer, then shut down the writing side (SHUT_WR). */
  writeEof(): void {
    if (this._closing || this._eof) return;
    this._eof = true;
    if (this._buffer.size === 0) this._sock!.shutdown(C.SHUT_WR);
  }

  /**
   * Stop reading now, flush what is buffered, then call `connectionLost(null)`
   * and close the socket. Idempotent.
   */
  override close(): void {
    super.close();
    this._reading = false;
  }

  /** @internal resolves when the write buffer is empty (sendfile waits on it) */
  _makeEmptyWaiter(fut: Future<void>): Future<void> {
    if (this._emptyWaiter !== null) throw new RuntimeError("Empty waiter is already set");
    this._emptyWaiter = fut;
    if (this._buffer.size === 0) fut.setResult(undefined);
    return fut;
  }

  /** @internal */
  _resetEmptyWaiter(): void {
    this._emptyWaiter = null;
  }
}

/**
 * A UDP or UNIX datagram endpoint (asyncio's `_SelectorDatagramTransport`):
 * the {@linkcode DatagramTransport} that `createDatagramEndpoint` makes.
 */
export class SelectorDatagramTransport extends SelectorTransport {
  /** @internal */ _address: unknown;
  /** @internal queued datagrams: [data, address] */ _queue: [Uint8Array, unknown][] = [];
  /** @internal */ _queued = 0;

  /** @internal made by `createDatagramEndpoint` */
  constructor(
    loop: TransportLoop,
    sock: Socket,
    protocol: AnyProtocol,
    address: unknown = null,
    waiter: Future<unknown> | null = null,
    extra: Record<string, unknown> = {},
  ) {
    super(loop, sock, protocol, extra, null);
    this._address = address;
    this.setProtocol(protocol);
    loop._callSoon((t: SelectorDatagramTransport) => t._protocol.connectionMade?.(t), [this]);
    loop._callSoon(() => {
      if (!this._closing && !this._paused) this._addReader();
    }, []);
    if (waiter) loop._callSoon(resolveWaiter, [waiter]);
  }

  /** @internal */
  _addReader(): void {
    this._loop._addReader(this._fd, this._readReady);
  }

  /** Bytes waiting to be sent (each datagram counts its size plus 8, as asyncio). */
  override getWriteBufferSize(): number {
    return this._queued;
  }

  /** @internal */
  _readReady = (): void => {
    if (this._connLost) return;
    let data: Uint8Array, addr: unknown;
    try {
      [data, addr] = this._sock!.recvfrom(MAX_READ) as [Uint8Array, unknown];
    } catch (exc) {
      if (exc instanceof OSError) {
        if (isRetry(exc.errno)) return;
        this._protocol.errorReceived?.(exc);
        return;
      }
      this._fatalError(exc, "Fatal read error on datagram transport");
      return;
    }
    this._protocol.datagramReceived?.(data, addr);
  };

  /**
   * Send one datagram (empty ones too, as asyncio 3.13). `addr` defaults to
   * the connected peer; a different one on a connected endpoint is a ValueError.
   */
  sendto(data: ArrayBufferView, addr: unknown = null): void {
    const bytes = asBytes(data);
    if (this._address !== null && addr !== null && !sameAddress(addr, this._address)) {
      throw new ValueError(`Invalid address: must be null or ${JSON.stringify(this._address)}`);
    }
    if (addr === null) addr = this._address;
    if (this._connLost && this._address !== null) {
      this._writeAfterLoss();
      return;
    }
    if (this._queue.length === 0) {
      try {
        if (this._extra.peername !== null && this._extra.peername !== undefined) this._sock!.send(bytes);
        else this._sock!.sendto(bytes, addr);
        return;
      } catch (exc) {
        if (exc instanceof OSError) {
          if (!isRetry(exc.errno)) {
            this._protocol.errorReceived?.(exc);
            return;
          }
          this._loop._addWriter(this._fd, this._sendtoReady);
        } else {
          this._fatalError(exc, "Fatal write error on datagram transport");
          return;
        }
      }
    }
    this._queue.push([bytes.slice(), addr]);
    this._queued += bytes.byteLength + 8;
    this._maybePauseProtocol();
  }

  /** @internal */
  _sendtoReady = (): void => {
    while (this._queue.length) {
      const [data, addr] = this._queue[0];
      try {
        if (this._extra.peername !== null && this._extra.peername !== undefined) this._sock!.send(data);
        else this._sock!.sendto(data, addr);
      } catch (exc) {
        if (exc instanceof OSError) {
          if (isRetry(exc.errno)) return;
          this._queue.shift();
          this._queued -= data.byteLength + 8;
          this._protocol.errorReceived?.(exc);
          continue;
        }
        this._fatalError(exc, "Fatal write error on datagram transport");
        return;
      }
      this._queue.shift();
      this._queued -= data.byteLength + 8;
    }
    this._maybeResumeProtocol();
    this._loop._removeWriter(this._fd);
    if (this._closing) this._callConnectionLost(null);
  };

  /**
   * Stop receiving, send the queued datagrams, then call
   * `connectionLost(null)` and close the socket. Idempotent.
   */
  override close(): void {
    if (this._closing) return;
    this._closing = true;
    this._loop._removeReader(this._fd);
    if (this._queue.length === 0) {
      this._connLost++;
      this._loop._removeWriter(this._fd);
      this._loop._callSoon(this._callConnectionLost, [null]);
    }
  }

  /** @internal */
  override _forceClose(exc: Error | null): void {
    this._queue = [];
    this._queued = 0;
    super._forceClose(exc);
  }
}

function tryAddress(fn: () => unknown): unknown {
  try {
    return fn();
  } catch {
    return null;
  }
}

function sameAddress(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length >= 2 && a[0] === b[0] && a[1] === b[1];
  return a === b;
}
