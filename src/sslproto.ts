/**
 * TLS as a protocol layered on a stream transport (asyncio's `sslproto.py`):
 * {@link SSLProtocol} is a BufferedProtocol on the raw transport; ciphertext
 * goes through an {@link SSLObject}'s memory BIOs; the application gets an
 * {@link SSLProtocolTransport}. The state machine is asyncio's:
 *
 * ```
 * UNWRAPPED → DO_HANDSHAKE → WRAPPED → FLUSHING → SHUTDOWN → UNWRAPPED
 * ```
 *
 * DO_HANDSHAKE: bytes from the peer drive `SSL_do_handshake` until it is
 * done (the application's `connectionMade` and the caller's waiter follow)
 * or fails or times out (`sslHandshakeTimeout`, 60 s). WRAPPED: records are
 * decrypted for the application, its writes encrypted. FLUSHING: closing:
 * read what is left. SHUTDOWN: close_notify sent, the peer's awaited (at
 * most `sslShutdownTimeout`, 30 s), then the raw transport is closed. A
 * peer that closes TCP without close_notify is a normal EOF here, as in
 * asyncio: the application sees `eofReceived` then `connectionLost(null)`.
 *
 * Buffers: the ciphertext read buffer, the plaintext read buffer and the
 * ciphertext drain buffer are shared by every connection of this thread.
 * Each is filled and consumed synchronously (a raw read is written into the
 * BIO at once; plaintext is copied for `dataReceived` at once; a raw
 * `write()` sends or copies before it returns), so nothing lives in them
 * between calls, and a thousand idle connections cost no megabytes.
 */

import {
  CancelledError,
  codeToErrno,
  ConnectionAbortedError,
  ConnectionResetError,
  OSError,
  RuntimeError,
  SSLCertVerificationError,
  TimeoutError,
  ValueError,
} from "./errors.ts";
import { type AnyProtocol, isBufferedProtocol } from "./protocols.ts";
import { BaseTransport, computeWriteLimits, notSupported } from "./transports.ts";
import { WriteBuffer } from "./write_buffer.ts";
import { logger } from "./log.ts";
import { asBytes } from "./socket.ts";
import { createDefaultContext, type SSLContext, type SSLObject, type SSLSession } from "./ssl.ts";
import type { Future } from "./futures.ts";
import type { Callback, Handle, TimerHandle } from "./handles.ts";

/** asyncio's defaults (constants.py). */
export const SSL_HANDSHAKE_TIMEOUT = 60;
export const SSL_SHUTDOWN_TIMEOUT = 30;
const FLOW_CONTROL_HIGH_WATER_SSL_READ = 256 * 1024;
const FLOW_CONTROL_HIGH_WATER_SSL_WRITE = 512 * 1024;
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;
/** Bytes asked of the raw transport per read, and plaintext gathered per `dataReceived`. */
const MAX_SIZE = 256 * 1024;

// Shared buffers (see the module comment for why sharing is safe), made
// with the first TLS connection: a program without TLS does not pay for them.
let sslInBuffer: Uint8Array, appInBuffer: Uint8Array, sslOutBuffer: Uint8Array;

const UNWRAPPED = 0, DO_HANDSHAKE = 1, WRAPPED = 2, FLUSHING = 3, SHUTDOWN = 4;
type State = 0 | 1 | 2 | 3 | 4;
const STATE_NAMES = ["UNWRAPPED", "DO_HANDSHAKE", "WRAPPED", "FLUSHING", "SHUTDOWN"];

/**
 * Where the application protocol is: INIT -connectionMade→ CON_MADE
 * [-eofReceived→ EOF] -connectionLost→ CON_LOST.
 */
const APP_INIT = 0, APP_CON_MADE = 1, APP_EOF = 2, APP_CON_LOST = 3;

/** What SSLProtocol needs of its loop. */
export interface SslLoop {
  _callSoon(cb: Callback, args: unknown[]): Handle;
  callLater(delay: number, cb: Callback, ...args: unknown[]): TimerHandle;
  callExceptionHandler(context: Record<string, unknown>): void;
  getDebug(): boolean;
  time(): number;
}

/** What SSLProtocol needs of the transport under it (a socket transport, or another TLS transport). */
export interface RawTransport {
  write(data: Uint8Array): void;
  close(): void;
  abort(): void;
  isClosing(): boolean;
  pauseReading(): void;
  resumeReading(): void;
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  _forceClose(exc: Error | null): void;
}

/** Check an `ssl*Timeout` argument: null/undefined for the default, else a positive number of seconds. */
export function checkSslTimeout(value: unknown, name: string): void {
  if (value === null || value === undefined) return;
  if (typeof value !== "number" || Number.isNaN(value)) throw new TypeError(`${name} must be a number of seconds, got ${String(value)}`);
  if (value <= 0) throw new ValueError(`${name} should be a positive number, got ${value}`);
}

/** The limits rule of computeWriteLimits with another default high-water mark. */
function flowControlLimits(high: number | null | undefined, low: number | null | undefined, defaultHigh: number): [number, number] {
  if ((high === null || high === undefined) && (low === null || low === undefined)) high = defaultHigh;
  return computeWriteLimits(high, low);
}

/**
 * The transport a TLS application talks to (asyncio's
 * `_SSLProtocolTransport`). Writes are encrypted and go to the raw
 * transport; `close()` sends close_notify after what is buffered;
 * `writeEof()` is not supported (TLS has no half-close); extra info
 * "sslcontext", "ssl_object", "peercert", "cipher", "compression", and
 * anything else from the raw transport ("peername", "socket", ...).
 */
export class SSLProtocolTransport extends BaseTransport {
  /** @internal */ _ssl: SSLProtocol;
  /** @internal */ _closed = false;

  /** @internal made by SSLProtocol for the application */
  constructor(ssl: SSLProtocol) {
    super({});
    this._ssl = ssl;
  }

  /** A short description for logs: whether the transport is closed. */
  override toString(): string {
    return `<SSLProtocolTransport ${this._closed ? "closed" : "open"}>`;
  }

  /**
   * TLS details ("sslcontext", "ssl_object", "peercert", "cipher",
   * "compression"), else the raw transport's extra info (asyncio's
   * `get_extra_info`).
   * @param defaultValue returned when `name` is unknown
   */
  override getExtraInfo(name: string, defaultValue: unknown = null): unknown {
    return this._ssl._getExtraInfo(name, defaultValue);
  }

  /** Switch the application protocol that receives decrypted data (asyncio's `set_protocol`). */
  override setProtocol(protocol: AnyProtocol): void {
    this._ssl._setAppProtocol(protocol);
  }

  /** The application protocol (asyncio's `get_protocol`). */
  override getProtocol(): AnyProtocol {
    return this._ssl._appProtocol;
  }

  /** True once `close()` or `abort()` was called, even while close_notify is still being exchanged. */
  override isClosing(): boolean {
    return this._closed;
  }

  /** Flush what is buffered, exchange close_notify, then close; `connectionLost(null)` follows. */
  override close(): void {
    if (this._closed) return;
    this._closed = true;
    this._ssl._startShutdown();
  }

  /** Close at once, dropping what is buffered; `connectionLost(null)` follows. */
  abort(): void {
    this._closed = true;
    this._ssl._abort(null);
  }

  /** @internal */
  _forceClose(exc: Error | null): void {
    this._closed = true;
    this._ssl._abort(exc);
  }

  /** False while the application paused reading (asyncio's `is_reading`). */
  isReading(): boolean {
    return !this._ssl._appReadingPaused;
  }

  /** Stop delivering data; the raw transport stops reading once 256 KiB of ciphertext wait. */
  pauseReading(): void {
    this._ssl._appReadingPaused = true;
  }

  /** Deliver data again, from the next loop iteration, beginning with what OpenSSL already holds (asyncio's `resume_reading`). */
  resumeReading(): void {
    this._ssl._resumeReading();
  }

  /** Write-side flow control: default high-water mark 512 KiB, counting plaintext waiting and ciphertext not yet handed on. */
  setWriteBufferLimits(high?: number | null, low?: number | null): void {
    [this._ssl._outgoingHigh, this._ssl._outgoingLow] = flowControlLimits(high, low, FLOW_CONTROL_HIGH_WATER_SSL_WRITE);
    this._ssl._controlAppWriting();
  }

  /** The write-side `[low, high]` water marks (asyncio's `get_write_buffer_limits`). */
  getWriteBufferLimits(): [number, number] {
    return [this._ssl._outgoingLow, this._ssl._outgoingHigh];
  }

  /** Bytes waiting to be written: plaintext not yet encrypted plus ciphertext not yet handed to the raw transport. */
  getWriteBufferSize(): number {
    return this._ssl._getWriteBufferSize();
  }

  /** Read-side flow control: ciphertext waiting in OpenSSL above which the raw transport stops reading (default 256 KiB). */
  setReadBufferLimits(high?: number | null, low?: number | null): void {
    [this._ssl._incomingHigh, this._ssl._incomingLow] = flowControlLimits(high, low, FLOW_CONTROL_HIGH_WATER_SSL_READ);
    this._ssl._controlSslReading();
  }

  /** The read-side `[low, high]` water marks (asyncio's `get_read_buffer_limits`). */
  getReadBufferLimits(): [number, number] {
    return [this._ssl._incomingLow, this._ssl._incomingHigh];
  }

  /** Ciphertext bytes received but not yet decrypted by OpenSSL (asyncio's `get_read_buffer_size`). */
  getReadBufferSize(): number {
    return this._ssl._sslObject._pendingIn();
  }

  /** Encrypt and send `data`; after close() it is dropped (logged from the 5th time). */
  write(data: ArrayBufferView): void {
    const bytes = asBytes(data);
    if (bytes.byteLength === 0) return;
    this._ssl._writeAppdata(bytes);
  }

  /** Write each buffer in turn, as `write()` would (asyncio's `writelines`). */
  writelines(list: Iterable<ArrayBufferView>): void {
    for (const d of Array.from(list, (d) => asBytes(d))) if (d.byteLength) this._ssl._writeAppdata(d);
  }

  /** TLS connections cannot half-close. */
  canWriteEof(): boolean {
    return false;
  }

  /** Always NotImplementedError: TLS has no half-close (close() sends close_notify). */
  writeEof(): void {
    notSupported("writeEof() (TLS has no half-close)");
  }
}

/**
 * The TLS layer: a BufferedProtocol on the raw transport that runs an
 * {@link SSLObject} and serves an {@link SSLProtocolTransport} to the
 * application protocol. `waiter` resolves once the handshake is done (or
 * rejects with why it failed).
 */
export class SSLProtocol implements AnyProtocol {
  /** @internal */ _loop: SslLoop;
  /** @internal */ _appProtocol!: AnyProtocol;
  /** @internal */ _appIsBuffered = false;
  /** @internal */ _appTransport: SSLProtocolTransport;
  /** @internal */ _transport: RawTransport | null = null;
  /** @internal */ _sslContext: SSLContext;
  /** @internal */ _sslObject: SSLObject;
  /** @internal */ _extra: Record<string, unknown>;
  /** @internal */ _serverSide: boolean;
  /** @internal */ _serverHostname: string | null;
  /** @internal plaintext the application wrote that OpenSSL has not taken yet */
  _backlog: WriteBuffer = new WriteBuffer();
  /** @internal */ _waiter: Future<void> | null;
  /** @internal */ _handshakeTimeout: number;
  /** @internal */ _shutdownTimeout: number;
  /** @internal */ _state: State = UNWRAPPED;
  /** @internal */ _connLost = 0;
  /** @internal */ _appState: number;
  /** @internal the raw transport asked us to stop writing */
  _sslWritingPaused = false;
  /** @internal */ _appReadingPaused = false;
  /** @internal we asked the raw transport to stop reading */
  _sslReadingPaused = false;
  /** @internal */ _appWritingPaused = false;
  /** @internal */ _eofReceived = false;
  /** @internal */ _incomingHigh = 0;
  /** @internal */ _incomingLow = 0;
  /** @internal */ _outgoingHigh = 0;
  /** @internal */ _outgoingLow = 0;
  /** @internal */ _handshakeStart: number | null = null;
  /** @internal */ _handshakeTimer: TimerHandle | null = null;
  /** @internal */ _shutdownTimer: TimerHandle | null = null;

  /**
   * `sslContext` null means a default client context (`ssl: true`), whose
   * hostname check is off when there is no `serverHostname`, as asyncio.
   * `callConnectionMade` false (startTls) means the application protocol is
   * connected already.
   */
  constructor(
    loop: SslLoop,
    appProtocol: AnyProtocol,
    sslContext: SSLContext | null,
    waiter: Future<void> | null,
    serverSide = false,
    serverHostname: string | null = null,
    options: {
      handshakeTimeout?: number | null;
      shutdownTimeout?: number | null;
      callConnectionMade?: boolean;
      /** A session to offer for resumption (clients): SSLObject.session before the handshake. */
      session?: SSLSession | null;
    } = {},
  ) {
    checkSslTimeout(options.handshakeTimeout, "sslHandshakeTimeout");
    checkSslTimeout(options.shutdownTimeout, "sslShutdownTimeout");
    if (sslContext === null) {
      if (serverSide) throw new ValueError("Server side SSL needs a valid SSLContext");
      sslContext = createDefaultContext();
      if (!serverHostname) sslContext.checkHostname = false;
    }
    if (sslInBuffer === undefined) {
      sslInBuffer = new Uint8Array(new ArrayBuffer(MAX_SIZE));
      appInBuffer = new Uint8Array(new ArrayBuffer(MAX_SIZE));
      sslOutBuffer = new Uint8Array(new ArrayBuffer(MAX_SIZE));
    }
    this._loop = loop;
    this._serverSide = serverSide;
    this._serverHostname = serverHostname && !serverSide ? serverHostname : null;
    this._sslContext = sslContext;
    this._extra = { sslcontext: sslContext };
    this._waiter = waiter;
    this._handshakeTimeout = options.handshakeTimeout ?? SSL_HANDSHAKE_TIMEOUT;
    this._shutdownTimeout = options.shutdownTimeout ?? SSL_SHUTDOWN_TIMEOUT;
    this._appState = options.callConnectionMade === false ? APP_CON_MADE : APP_INIT;
    this._sslObject = sslContext._wrap(serverSide, this._serverHostname);
    this._sslObject._postHandshakeRequested = () => {
      if (this._state === WRAPPED) this._processOutgoing();
    };
    if (options.session != null) {
      try {
        this._sslObject.session = options.session;
      } catch (e) {
        this._sslObject._free();
        throw e;
      }
    }
    this._setAppProtocol(appProtocol);
    this._appTransport = new SSLProtocolTransport(this);
    [this._incomingHigh, this._incomingLow] = flowControlLimits(null, null, FLOW_CONTROL_HIGH_WATER_SSL_READ);
    [this._outgoingHigh, this._outgoingLow] = flowControlLimits(null, null, FLOW_CONTROL_HIGH_WATER_SSL_WRITE);
  }

  toString(): string {
    return `<SSLProtocol ${STATE_NAMES[this._state]} ${this._serverSide ? "server" : "client"}>`;
  }

  /** @internal */
  _setAppProtocol(protocol: AnyProtocol): void {
    this._appProtocol = protocol;
    this._appIsBuffered = isBufferedProtocol(protocol);
  }

  /** @internal */
  _wakeupWaiter(exc: unknown = null): void {
    const w = this._waiter;
    if (w === null) return;
    this._waiter = null;
    if (w.cancelled() || w.done()) return;
    if (exc !== null) w.setException(exc);
    else w.setResult(undefined);
  }

  /** @internal */
  _getExtraInfo(name: string, defaultValue: unknown): unknown {
    if (name in this._extra) return this._extra[name];
    return this._transport !== null ? this._transport.getExtraInfo(name, defaultValue) : defaultValue;
  }

  /** @internal asyncio's allowed transitions; anything else is a bug */
  _setState(next: State): void {
    const from = this._state;
    const ok = next === UNWRAPPED ||
      (from === UNWRAPPED && next === DO_HANDSHAKE) ||
      (from === DO_HANDSHAKE && next === WRAPPED) ||
      (from === WRAPPED && next === FLUSHING) ||
      (from === FLUSHING && next === SHUTDOWN);
    if (!ok) throw new RuntimeError(`cannot switch state from ${STATE_NAMES[from]} to ${STATE_NAMES[next]}`);
    this._state = next;
  }

  // ---- the raw transport's protocol ----

  /** The raw connection is up: start the handshake. */
  connectionMade(transport: RawTransport): void {
    this._transport = transport;
    this._startHandshake();
  }

  /** The raw connection is gone: tell the application (if it was told of the connection) and free OpenSSL's state. */
  connectionLost(exc: Error | null): void {
    this._backlog.clear();
    this._connLost++;
    this._appTransport._closed = true;
    // (An abort() mid-handshake has set the state to UNWRAPPED already; the waiter still waits.)
    const handshaking = this._state === DO_HANDSHAKE || (this._waiter !== null && !this._waiter.done());
    if (!handshaking && (this._appState === APP_CON_MADE || this._appState === APP_EOF)) {
      this._appState = APP_CON_LOST;
      const app = this._appProtocol;
      this._loop._callSoon(() => app.connectionLost?.(exc), []);
    }
    this._setState(UNWRAPPED);
    this._transport = null;
    // A connection closed mid-handshake is no success, even when closed cleanly (asyncio
    // would resolve the waiter and hand out a dead transport).
    if (exc === null && handshaking) {
      exc = new ConnectionResetError(codeToErrno("ECONNRESET"), undefined, "Connection lost during the TLS handshake");
    }
    this._wakeupWaiter(exc);
    this._handshakeTimer?.cancel();
    this._handshakeTimer = null;
    this._shutdownTimer?.cancel();
    this._shutdownTimer = null;
    this._sslObject._free();
  }

  /** The raw transport reads straight into the shared ciphertext buffer. */
  getBuffer(_sizehint: number): Uint8Array {
    return sslInBuffer;
  }

  bufferUpdated(nbytes: number): void {
    if (this._state === UNWRAPPED) return; // failed or finished: nothing reads these bytes
    this._sslObject._feed(sslInBuffer, nbytes);
    switch (this._state) {
      case DO_HANDSHAKE:
        this._doHandshake();
        break;
      case WRAPPED:
        this._doRead();
        break;
      case FLUSHING:
        this._doFlush();
        break;
      case SHUTDOWN:
        this._doShutdown();
        break;
    }
  }

  /**
   * The peer closed its side of TCP. With or without a close_notify before
   * it, what was received is delivered, then the application's
   * `eofReceived`, then the connection closes. Returns true only to keep
   * the raw transport open while the application has paused reading.
   */
  eofReceived(): boolean | void {
    this._eofReceived = true;
    try {
      if (this._loop.getDebug()) logger.debug(`${this} received EOF`);
      switch (this._state) {
        case DO_HANDSHAKE:
          this._onHandshakeComplete(new ConnectionResetError(codeToErrno("ECONNRESET"), undefined, "Connection lost during the TLS handshake"));
          break;
        case WRAPPED:
          this._setState(FLUSHING);
          if (this._appReadingPaused) return true;
          this._doFlush();
          break;
        case FLUSHING:
          this._doWrite();
          this._setState(SHUTDOWN);
          this._doShutdown();
          break;
        case SHUTDOWN:
          this._doShutdown();
          break;
      }
    } catch (e) {
      this._transport?.close();
      throw e;
    }
  }

  /** The raw transport's buffer went over its high-water mark: keep ciphertext inside OpenSSL meanwhile. */
  pauseWriting(): void {
    this._sslWritingPaused = true;
  }

  resumeWriting(): void {
    this._sslWritingPaused = false;
    this._processOutgoing();
  }

  // ---- handshake ----

  /** @internal */
  _startHandshake(): void {
    if (this._loop.getDebug()) {
      logger.debug(`${this} starts SSL handshake`);
      this._handshakeStart = this._loop.time();
    }
    this._setState(DO_HANDSHAKE);
    this._handshakeTimer = this._loop.callLater(this._handshakeTimeout, () => this._checkHandshakeTimeout());
    this._doHandshake();
  }

  /** @internal */
  _checkHandshakeTimeout(): void {
    this._handshakeTimer = null;
    if (this._state !== DO_HANDSHAKE) return;
    const msg = `SSL handshake is taking longer than ${this._handshakeTimeout} seconds: aborting the connection`;
    this._fatalError(new ConnectionAbortedError(codeToErrno("ECONNABORTED"), undefined, msg));
  }

  /** @internal */
  _doHandshake(): void {
    let done: boolean;
    try {
      done = this._sslObject._handshake();
    } catch (e) {
      this._reportSniError();
      this._onHandshakeComplete(e as Error);
      return;
    }
    if (done) this._onHandshakeComplete(null);
    else this._processOutgoing();
  }

  /** @internal */
  _onHandshakeComplete(handshakeExc: Error | null): void {
    this._handshakeTimer?.cancel();
    this._handshakeTimer = null;
    const sslobj = this._sslObject;
    let peercert: unknown;
    try {
      if (handshakeExc !== null) throw handshakeExc;
      this._setState(WRAPPED);
      peercert = sslobj.getpeercert();
    } catch (exc) {
      // Whatever the handshake left for the peer (an alert saying why) still goes out.
      this._processOutgoing();
      this._setState(UNWRAPPED);
      const msg = exc instanceof SSLCertVerificationError ? "SSL handshake failed on verifying the certificate" : "SSL handshake failed";
      this._fatalError(exc, msg);
      this._wakeupWaiter(exc);
      return;
    }
    if (this._loop.getDebug() && this._handshakeStart !== null) {
      logger.debug(`${this}: SSL handshake took ${((this._loop.time() - this._handshakeStart) * 1e3).toFixed(1)} ms`);
    }
    this._extra.peercert = peercert;
    this._extra.cipher = sslobj.cipher();
    this._extra.compression = sslobj.compression();
    this._extra.ssl_object = sslobj;
    if (this._appState === APP_INIT) {
      this._appState = APP_CON_MADE;
      this._appProtocol.connectionMade?.(this._appTransport);
    }
    this._wakeupWaiter();
    this._doRead();
  }

  // ---- shutdown ----

  /** @internal the application closed its transport */
  _startShutdown(): void {
    if (this._state === FLUSHING || this._state === SHUTDOWN || this._state === UNWRAPPED) return;
    this._appTransport._closed = true;
    if (this._state === DO_HANDSHAKE) {
      this._abort(null);
      return;
    }
    this._setState(FLUSHING);
    this._shutdownTimer = this._loop.callLater(this._shutdownTimeout, () => this._checkShutdownTimeout());
    this._doFlush();
  }

  /** @internal */
  _checkShutdownTimeout(): void {
    this._shutdownTimer = null;
    if (this._state === FLUSHING || this._state === SHUTDOWN) {
      this._transport?._forceClose(new TimeoutError(undefined, undefined, "SSL shutdown timed out"));
    }
  }

  /** @internal deliver what is left to read, then start the closing handshake */
  _doFlush(): void {
    this._doRead();
    // Delivering may have ended the connection (the application aborted it).
    if (this._state !== FLUSHING) return;
    this._setState(SHUTDOWN);
    this._doShutdown();
  }

  /** @internal */
  _doShutdown(): void {
    try {
      // After the peer's EOF no close_notify can be exchanged any more.
      if (!this._eofReceived && !this._sslObject._shutdown()) {
        this._processOutgoing();
        return;
      }
    } catch (e) {
      this._onShutdownComplete(e as Error);
      return;
    }
    this._processOutgoing();
    this._callEofReceived();
    this._onShutdownComplete(null);
  }

  /** @internal */
  _onShutdownComplete(exc: Error | null): void {
    this._shutdownTimer?.cancel();
    this._shutdownTimer = null;
    if (exc !== null) {
      this._fatalError(exc);
      return;
    }
    const transport = this._transport;
    if (transport !== null) this._loop._callSoon(() => transport.close(), []);
  }

  /** @internal close the raw transport at once */
  _abort(exc: Error | null): void {
    this._setState(UNWRAPPED);
    this._transport?._forceClose(exc);
  }

  // ---- writing ----

  /** @internal the application wrote `data` */
  _writeAppdata(data: Uint8Array): void {
    if (this._state === FLUSHING || this._state === SHUTDOWN || this._state === UNWRAPPED) {
      if (this._connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) logger.warning("SSL connection is closed");
      this._connLost++;
      return;
    }
    try {
      if (this._state === WRAPPED && this._backlog.size === 0) {
        // The common case: encrypt straight from the caller's bytes, no copy.
        if (this._sslObject._write(data) < 0) this._backlog.push(data);
        this._processOutgoing();
      } else {
        // Kept for later: the caller may reuse its array once write() returns.
        this._backlog.push(data);
        if (this._state === WRAPPED) this._doWrite();
        else this._controlAppWriting();
      }
    } catch (e) {
      this._fatalError(e, "Fatal error on SSL protocol");
    }
  }

  /** @internal encrypt the backlog, then hand the ciphertext on */
  _doWrite(): void {
    while (this._backlog.size > 0) {
      const n = this._sslObject._write(this._backlog.pending());
      if (n < 0) break;
      this._backlog.consume(n);
    }
    this._processOutgoing();
  }

  /** @internal move ciphertext from OpenSSL to the raw transport, unless it asked us to wait */
  _processOutgoing(): void {
    const transport = this._transport;
    if (!this._sslWritingPaused && transport !== null) {
      for (let first = true;; first = false) {
        // After a fatal write error the raw transport is closing: stop feeding it.
        if (!first && transport.isClosing()) break;
        const n = this._sslObject._drainOut(sslOutBuffer);
        if (n <= 0) {
          // Drained: no ciphertext is left, which spares asking OpenSSL how much.
          this._controlAppWriting(0);
          return;
        }
        transport.write(sslOutBuffer.subarray(0, n));
        if (n < sslOutBuffer.byteLength) {
          // A memory BIO hands over all it has: less than asked for means it is empty now.
          this._controlAppWriting(0);
          return;
        }
        if (this._sslWritingPaused) break;
      }
    }
    this._controlAppWriting();
  }

  // ---- reading ----

  /** @internal decrypt what has arrived for the application */
  _doRead(): void {
    if (this._state !== WRAPPED && this._state !== FLUSHING) return;
    try {
      if (!this._appReadingPaused) {
        if (this._appIsBuffered) this._doReadBuffered();
        else this._doReadCopied();
      }
      // Reading may have produced records for the peer (key updates), and writes may have
      // waited for the handshake: send them even while the application pauses reading.
      if (this._backlog.size > 0) this._doWrite();
      else this._processOutgoing();
      this._controlSslReading();
    } catch (e) {
      this._reportSniError();
      this._fatalError(e, "Fatal error on SSL protocol");
    }
  }

  /**
   * @internal the context's sniCallback threw or returned a bad value
   * (inside OpenSSL, which aborted the handshake with an alert): hand the
   * exception to the loop's exception handler
   */
  _reportSniError(): void {
    const failed = this._sslObject._sniError;
    if (failed === null) return;
    this._sslObject._sniError = null;
    this._loop.callExceptionHandler({
      message: "Exception in the SSLContext's sniCallback: the TLS handshake was aborted",
      exception: failed.error,
      transport: this._transport,
      protocol: this,
    });
  }

  /** @internal into the application's own buffer, as full as the data allows */
  _doReadBuffered(): void {
    const hint = this._sslObject._pendingIn();
    const buf: Uint8Array = asBytes(this._appProtocol.getBuffer!(hint > 0 ? hint : -1), "getBuffer() result");
    const wants = buf.byteLength;
    if (wants === 0) throw new RuntimeError("getBuffer() returned an empty buffer");
    let offset = 0, eof = false;
    for (;;) {
      const n = this._sslObject._read(buf, offset, wants - offset);
      if (n > 0) {
        offset += n;
        if (offset < wants) continue;
        // Full: more may be waiting; read it in a later callback.
        this._loop._callSoon(() => this._doRead(), []);
      } else if (n === 0) {
        eof = true;
      }
      break;
    }
    if (offset > 0) this._appProtocol.bufferUpdated!(offset);
    if (eof) {
      this._callEofReceived();
      this._startShutdown();
    }
  }

  /** @internal into the shared buffer; the application gets one fresh copy of what was read */
  _doReadCopied(): void {
    let total = 0, eof = false;
    for (;;) {
      const n = this._sslObject._read(appInBuffer, total, appInBuffer.byteLength - total);
      if (n > 0) {
        total += n;
        if (total < appInBuffer.byteLength) {
          // OpenSSL decrypts a record at a time and reads no further ahead than that record: a
          // short read with nothing left in the input BIO means there is nothing more yet.
          if (this._sslObject._pendingIn() === 0) break;
          continue;
        }
        this._appProtocol.dataReceived?.(appInBuffer.slice(0, total));
        total = 0;
        // The application may have paused or closed while handling that.
        if (this._appReadingPaused || (this._state !== WRAPPED && this._state !== FLUSHING)) return;
        continue;
      }
      if (n === 0) eof = true;
      break;
    }
    if (total > 0) this._appProtocol.dataReceived?.(appInBuffer.slice(0, total));
    if (eof) {
      this._callEofReceived();
      this._startShutdown();
    }
  }

  /** @internal tell the application of the end of its data, once; TLS cannot half-close, so its answer is ignored */
  _callEofReceived(): void {
    if (this._appState !== APP_CON_MADE) return;
    this._appState = APP_EOF;
    try {
      const keepOpen = this._appProtocol.eofReceived?.();
      if (keepOpen) logger.warning("returning true from eofReceived() has no effect when using ssl");
    } catch (e) {
      this._fatalError(e, "Error calling eofReceived()");
    }
  }

  /** @internal */
  _resumeReading(): void {
    if (!this._appReadingPaused) return;
    this._appReadingPaused = false;
    this._loop._callSoon(() => {
      if (this._state === WRAPPED) this._doRead();
      else if (this._state === FLUSHING) this._doFlush();
      else if (this._state === SHUTDOWN) this._doShutdown();
    }, []);
  }

  // ---- flow control ----

  /** @internal plaintext not yet encrypted plus ciphertext not yet handed to the raw transport */
  _getWriteBufferSize(): number {
    return this._sslObject._pendingOut() + this._backlog.size;
  }

  /**
   * @internal pause the application when the write buffer goes strictly
   * over the high-water mark (the contract of every transport here; asyncio's
   * SSL transport pauses at the mark itself), resume at or below low-water
   */
  _controlAppWriting(pendingOut: number = this._sslObject._pendingOut()): void {
    const size = pendingOut + this._backlog.size;
    if (size > this._outgoingHigh && !this._appWritingPaused) {
      this._appWritingPaused = true;
      try {
        this._appProtocol.pauseWriting?.();
      } catch (exc) {
        this._loop.callExceptionHandler({
          message: "protocol.pauseWriting() failed", exception: exc, transport: this._appTransport, protocol: this,
        });
      }
    } else if (size <= this._outgoingLow && this._appWritingPaused) {
      this._appWritingPaused = false;
      try {
        this._appProtocol.resumeWriting?.();
      } catch (exc) {
        this._loop.callExceptionHandler({
          message: "protocol.resumeWriting() failed", exception: exc, transport: this._appTransport, protocol: this,
        });
      }
    }
  }

  /** @internal stop the raw transport reading while too much ciphertext waits for the application */
  _controlSslReading(): void {
    const transport = this._transport;
    if (transport === null) return;
    const size = this._sslObject._pendingIn();
    if (size >= this._incomingHigh && !this._sslReadingPaused) {
      this._sslReadingPaused = true;
      transport.pauseReading();
    } else if (size <= this._incomingLow && this._sslReadingPaused) {
      this._sslReadingPaused = false;
      transport.resumeReading();
    }
  }

  // ---- errors ----

  /**
   * @internal end the connection: OS errors and TLS errors (SSLError is an
   * OSError) are the peer's doing and only logged in debug mode; anything
   * else is a bug worth reporting
   */
  _fatalError(exc: unknown, message = "Fatal error on transport"): void {
    this._transport?._forceClose(exc as Error);
    if (exc instanceof OSError) {
      if (this._loop.getDebug()) logger.debug(`${this}: ${message}: ${exc}`);
    } else if (!(exc instanceof CancelledError)) {
      this._loop.callExceptionHandler({ message, exception: exc, transport: this._transport, protocol: this });
    }
  }
}
