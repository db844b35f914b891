/**
 * asyncio's streams: StreamReader, StreamWriter, StreamReaderProtocol and
 * the helpers that make them (openConnection, startServer and their UNIX
 * twins), plus WHATWG stream views of both ends.
 *
 * A read is asyncio's coroutine folded into one future: the reader tries it
 * at once and again whenever data, EOF or an error arrives, and the bytes it
 * takes are the future's result. asyncio consumes the buffer only when the
 * reading coroutine resumes, so a task cancelled after the data arrived
 * loses nothing; here the read future is a lock-style Waiter (locks.ts),
 * which learns whether the awaiting code took the bytes, and a read that
 * was woken but never resumed puts them back at the front of the buffer.
 */

import { codeToErrno, ConnectionResetError, IncompleteReadError, LimitOverrunError, NotImplementedError, RuntimeError, ValueError } from "./errors.ts";
import { formatValue } from "./format.ts";
import type { Future } from "./futures.ts";
import { checkInteger, type LockLoop, rejected, removeFrom, Waiter, type WaiterOutcome, type WaiterOwner } from "./locks.ts";
import { BaseProtocol } from "./protocols.ts";
import { _getRunningLoop, getRunningLoop, hooks } from "./running.ts";
import { asBytes } from "./socket.ts";
import type { Server } from "./server.ts";
import type { ConnectionOptions, ServerOptions, UnixServerOptions } from "./net_events.ts";
import type { SSLContext, SSLSession } from "./ssl.ts";
import type { Task } from "./tasks.ts";
import type { Transport } from "./transports.ts";
import type { EventLoop } from "./unix_events.ts";
import { ByteBuffer } from "./byte_buffer.ts";

type G<T> = Generator<unknown, T, unknown>;

/** asyncio's `_DEFAULT_LIMIT`: 64 KiB. */
const DEFAULT_LIMIT = 64 * 1024;
const EMPTY = new Uint8Array(0);
const NEWLINE = new Uint8Array([10]);
/** A read step's answer when the buffer cannot satisfy it yet. */
const WAIT: unique symbol = Symbol("wait");
/**
 * A step's answer, when run from a feed, that it would fail only for want of
 * data still to come in this iteration (a line over the limit): asyncio's
 * coroutine would look at the buffer in the next iteration, with every
 * chunk fed by then, so the step runs again then.
 */
const LATER: unique symbol = Symbol("later");
type Step = (waking: boolean) => Uint8Array | typeof WAIT | typeof LATER;

/** What a StreamReader pauses and resumes: a read transport, or the pump of `fromReadable`. */
interface ReaderSource {
  pauseReading(): void;
  resumeReading(): void;
  close?(): void;
}

/** The options of `new StreamReader()`. */
export interface StreamReaderOptions {
  /** The buffer limit in bytes (default 64 KiB): what `readline`/`readuntil` may return, and the point at which reading pauses (twice this). */
  limit?: number;
  /** The loop (default: the running loop, else the current one). */
  loop?: EventLoop;
}

/** A read waiting for data. */
interface PendingRead {
  waiter: Waiter<Uint8Array>;
  step: Step;
  /** a run of the step is scheduled for the next iteration (it answered LATER) */
  later: boolean;
  /** the most bytes this read takes whole, straight from a feed into an empty buffer (read(n)); 0 for the others */
  direct: number;
}

function loopFor(loop: EventLoop | undefined): EventLoop {
  if (loop !== undefined && loop !== null) return loop;
  return _getRunningLoop() ?? hooks.getEventLoop();
}

function checkLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (typeof limit !== "number" || Number.isNaN(limit)) throw new TypeError(`limit must be a number, got ${formatValue(limit)}`);
  if (limit <= 0) throw new ValueError("Limit cannot be <= 0");
  return limit;
}

/**
 * Buffered bytes from a connection, read with asyncio's coroutines
 * (asyncio's `StreamReader`). Each read method returns a Future; at most one
 * read may wait for data at a time.
 *
 * @example
 * ```ts
 * import { openConnection, run } from "tsyncio";
 * await run(async () => {
 *   const [reader, writer] = await openConnection("example.com", 80);
 *   writer.write(new TextEncoder().encode("HEAD / HTTP/1.0\r\n\r\n"));
 *   for await (const line of reader) console.log(new TextDecoder().decode(line).trimEnd());
 *   writer.close();
 *   await writer.waitClosed();
 * });
 * ```
 */
export class StreamReader implements WaiterOwner {
  /** @internal */ _limit: number;
  /** @internal */ _loop: EventLoop;
  /** @internal */ _buffer: ByteBuffer = new ByteBuffer();
  /** @internal */ _eof = false;
  /** @internal */ _exception: Error | null = null;
  /** @internal */ _transport: ReaderSource | null = null;
  /** @internal */ _paused = false;
  /** @internal the read waiting for data */
  _pending: PendingRead | null = null;
  /** @internal a read woken with bytes its code has not taken yet */
  _handed: Waiter<Uint8Array> | null = null;
  /** @internal */ _readable: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;

  /** A reader with an empty buffer; `limit` defaults to 64 KiB, `loop` to the running loop. */
  constructor(options: StreamReaderOptions = {}) {
    if (options === null || typeof options !== "object") throw new TypeError(`StreamReader options must be an object, got ${formatValue(options)}`);
    this._limit = checkLimit(options.limit);
    this._loop = loopFor(options.loop);
  }

  /**
   * A `StreamReader` fed by any WHATWG `ReadableStream<Uint8Array>` (a
   * `fetch` body, a host file stream), so asyncio parsing code runs over it.
   * The stream is read only as fast as the reader is consumed (it stops
   * pulling above twice the limit); its error becomes the reader's
   * `exception()`.
   *
   * @example
   * ```ts
   * import { run, StreamReader } from "tsyncio";
   * await run(async () => {
   *   const body = new Response("a\nb\n").body!;
   *   const reader = StreamReader.fromReadable(body);
   *   for await (const line of reader) console.log(line.length);
   * });
   * ```
   */
  static fromReadable(stream: ReadableStream<Uint8Array>, options: StreamReaderOptions = {}): StreamReader {
    if (stream === null || typeof stream !== "object" || typeof (stream as { getReader?: unknown }).getReader !== "function") {
      throw new TypeError(`fromReadable() needs a ReadableStream, got ${formatValue(stream)}`);
    }
    const reader = new StreamReader(options);
    const source = stream.getReader();
    let paused = false, pumping = false, finished = false;
    const stop = (): void => {
      if (finished) return;
      finished = true;
      source.cancel().catch(() => {});
      // As a closed connection feeds EOF: a read waiting on the source ends.
      if (!reader._eof && !reader._loop.isClosed()) reader.feedEof();
    };
    const pump = async (): Promise<void> => {
      if (pumping || finished) return;
      pumping = true;
      try {
        while (!paused && !finished) {
          const { done, value } = await source.read();
          if (finished) break;
          if (reader._loop.isClosed()) {
            stop();
            break;
          }
          if (done) {
            finished = true;
            reader.feedEof();
            break;
          }
          reader.feedData(asBytes(value, "a chunk of the ReadableStream"));
        }
      } catch (e) {
        if (!finished) {
          finished = true;
          if (!reader._loop.isClosed()) reader.setException(e instanceof Error ? e : new Error(String(e)));
          source.cancel(e).catch(() => {});
        }
      } finally {
        pumping = false;
      }
    };
    reader.setTransport({
      pauseReading: () => void (paused = true),
      resumeReading: () => {
        paused = false;
        void pump();
      },
      close: stop,
    });
    void pump();
    return reader;
  }

  /** @internal */
  toString(): string {
    const info = ["StreamReader"];
    if (this._buffer.length) info.push(`${this._buffer.length} bytes`);
    if (this._eof) info.push("eof");
    if (this._limit !== DEFAULT_LIMIT) info.push(`limit=${this._limit}`);
    if (this._pending) info.push("waiter");
    if (this._exception) info.push(`exception=${formatValue(this._exception)}`);
    if (this._transport) info.push(`transport=${formatValue(this._transport)}`);
    if (this._paused) info.push("paused");
    return `<${info.join(" ")}>`;
  }

  /** The error the stream ended with, or null. */
  exception(): Error | null {
    return this._exception;
  }

  /** End the stream with `exc`: the waiting read and every later one fail with it. */
  setException(exc: Error): void {
    this._exception = exc;
    const p = this._pending;
    if (p !== null) {
      this._pending = null;
      if (!p.waiter.done()) p.waiter._fail(exc);
    }
  }

  /** Attach the transport that feeds this reader (once). */
  setTransport(transport: { pauseReading(): void; resumeReading(): void; close?(): void }): void {
    if (this._transport !== null) throw new RuntimeError("Transport already set");
    this._transport = transport;
  }

  /** No more data will come. */
  feedEof(): void {
    this._eof = true;
    this._wakeup();
  }

  /** True once EOF was fed and the buffer is empty. */
  atEof(): boolean {
    return this._eof && this._buffer.length === 0;
  }

  /** Add bytes to the buffer (a protocol's `dataReceived`). */
  feedData(data: ArrayBufferView): void {
    const bytes = asBytes(data);
    if (this._eof) throw new RuntimeError("feedData() after feedEof()");
    if (bytes.length === 0) return;
    this._buffer.push(bytes);
    this._fed();
  }

  /** @internal bytes went into the buffer: wake the waiting read, pause reading above twice the limit */
  _fed(): void {
    this._wakeup();
    // A read still waiting would resume the transport at once (asyncio's _wait_for_data): no pause then.
    if (this._transport !== null && !this._paused && this._pending === null && this._buffer.length > 2 * this._limit) {
      try {
        this._transport.pauseReading();
        this._paused = true;
      } catch (e) {
        // A transport that cannot pause: buffer everything, and stop asking.
        if (!(e instanceof NotImplementedError)) throw e;
        this._transport = null;
      }
    }
  }

  /**
   * @internal feedData for bytes nobody else holds (a transport's fresh
   * copy): a read(n) waiting on an empty buffer takes them as they are,
   * without a copy in and a copy out.
   */
  _feedOwned(data: Uint8Array): void {
    const p = this._pending;
    if (
      p !== null && p.direct >= data.length && data.length > 0 && this._buffer.length === 0 && this._handed === null &&
      this._exception === null && !this._eof && !p.waiter.done()
    ) {
      this._pending = null;
      this._hand(p.waiter, data);
      return;
    }
    if (this._buffer.length === 0 && data.length > 0 && !this._eof) {
      // Kept as it is: a read of all of it later hands it on without a copy.
      this._buffer.adopt(data);
      this._fed();
      return;
    }
    this.feedData(data);
  }

  /**
   * Up to `n` bytes; with `n` < 0 (the default), everything up to EOF. An
   * empty result means EOF.
   */
  read(n = -1): Future<Uint8Array> {
    checkInteger(n, "n");
    // asyncio's read(0) neither waits nor minds a read that does.
    if (n === 0) return this._now(EMPTY);
    if (n > 0) {
      return this._op(() => {
        this._raiseIfFailed();
        if (this._buffer.length === 0) return this._eof ? EMPTY : WAIT;
        const data = this._buffer.take(n);
        this._maybeResumeTransport();
        return data;
      }, n);
    }
    // Nothing is taken before EOF, so a read() cancelled on the way loses
    // nothing (asyncio's loses the blocks it read). A waiting read keeps
    // the transport reading (feedData does not pause under it).
    return this._op(() => {
      this._raiseIfFailed();
      if (!this._eof) return WAIT;
      const data = this._buffer.take(this._buffer.length);
      this._maybeResumeTransport();
      return data;
    });
  }

  /**
   * One line, `\n` included; at EOF what is left (maybe empty). A line
   * longer than the limit is dropped and reported as `ValueError`.
   */
  readline(): Future<Uint8Array> {
    const until = this._untilStep([NEWLINE]);
    return this._op((waking) => {
      try {
        return until(waking);
      } catch (e) {
        if (e instanceof IncompleteReadError) return e.partial;
        if (e instanceof LimitOverrunError) {
          if (this._buffer.startsWith(NEWLINE, e.consumed)) this._buffer.skip(e.consumed + NEWLINE.length);
          else this._buffer.clear();
          this._maybeResumeTransport();
          throw new ValueError(e.message);
        }
        throw e;
      }
    });
  }

  /**
   * Bytes up to and including `separator` (default `\n`); with an array of
   * separators, up to the one whose match ends first. At EOF without a
   * match: `IncompleteReadError` carrying what was left. No match within
   * the limit: `LimitOverrunError`, and the data stays in the buffer.
   */
  readuntil(separator: ArrayBufferView | ArrayBufferView[] = NEWLINE): Future<Uint8Array> {
    let seps: Uint8Array[];
    if (Array.isArray(separator)) {
      if (separator.length === 0) throw new ValueError("Separator should contain at least one element");
      seps = separator.map((s) => asBytes(s, "separator"));
    } else {
      seps = [asBytes(separator, "separator")];
    }
    if (seps.some((s) => s.length === 0)) throw new ValueError("Separator should be at least one-byte string");
    return this._op(this._untilStep(seps));
  }

  /** Exactly `n` bytes; `IncompleteReadError` (with what was read) when EOF comes first. */
  readexactly(n: number): Future<Uint8Array> {
    checkInteger(n, "n");
    if (n < 0) throw new ValueError("readexactly size can not be less than zero");
    if (n === 0) return this._now(EMPTY);
    return this._op(() => {
      this._raiseIfFailed();
      if (this._buffer.length >= n) {
        const data = this._buffer.take(n);
        this._maybeResumeTransport();
        return data;
      }
      if (this._eof) throw new IncompleteReadError(this._buffer.take(this._buffer.length), n);
      return WAIT;
    });
  }

  /** The lines of the stream, until EOF (asyncio's `async for line in reader`). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const line = await this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }

  /**
   * A WHATWG `ReadableStream` over this reader: it pulls with `read()`, so
   * the transport pauses while nobody reads; it ends at EOF and errors with
   * the reader's exception. `cancel()` closes the transport.
   */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    if (this._readable !== null) return this._readable;
    // Typed over ArrayBuffer (what read() returns: fresh copies), so that it
    // pipes into the host's transforms (CompressionStream, TextDecoderStream),
    // whose writable side takes BufferSource.
    this._readable = new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        const data = await this.read(this._limit);
        if (data.length === 0) controller.close();
        else controller.enqueue(data as Uint8Array<ArrayBuffer>);
      },
      cancel: () => {
        this._transport?.close?.();
      },
    }, { highWaterMark: 0 });
    return this._readable;
  }

  /** @internal throws the stream's exception; returns undefined */
  _raiseIfFailed(): undefined {
    if (this._exception !== null) throw this._exception;
    return undefined;
  }

  /** @internal the step of readuntil: finds the earliest-ending separator (asyncio 3.13) */
  _untilStep(seps: Uint8Array[]): Step {
    let minLen = Infinity, maxLen = 0;
    for (const s of seps) {
      if (s.length < minLen) minLen = s.length;
      if (s.length > maxLen) maxLen = s.length;
    }
    let offset = 0;
    return (waking) => {
      this._raiseIfFailed();
      const buf = this._buffer;
      const buflen = buf.length;
      if (buflen - offset >= minLen) {
        let matchStart = -1, matchEnd = -1;
        for (const sep of seps) {
          const i = buf.indexOf(sep, offset);
          if (i >= 0 && (matchEnd < 0 || i + sep.length < matchEnd)) {
            matchStart = i;
            matchEnd = i + sep.length;
          }
        }
        if (matchEnd >= 0) {
          if (matchStart > this._limit) throw new LimitOverrunError("Separator is found, but chunk is longer than limit", matchStart);
          const chunk = buf.take(matchEnd);
          this._maybeResumeTransport();
          return chunk;
        }
        // Next time, search only where a separator could now begin.
        offset = Math.max(0, buflen + 1 - maxLen);
        if (offset > this._limit) {
          // More of the line may come in this iteration: asyncio decides (and drops) with all of it.
          if (waking) return LATER;
          throw new LimitOverrunError("Separator is not found, and chunk exceed the limit", offset);
        }
      }
      if (this._eof) throw new IncompleteReadError(buf.take(buflen), null);
      return WAIT;
    };
  }

  /** @internal run a read step now, or park it until data, EOF or an error comes */
  _op(step: Step, direct = 0): Future<Uint8Array> {
    const loop = this._loop as unknown as LockLoop;
    const p = this._pending;
    if (p !== null) {
      // A read cancelled a moment ago leaves only when its cancellation settles.
      if (!p.waiter.done()) {
        return rejected(new RuntimeError("a read was called while another read of this StreamReader is already waiting for incoming data"), loop);
      }
      this._pending = null;
    }
    const waiter = new Waiter<Uint8Array>(loop, this, "read");
    if (this._handed === null) {
      let r: Uint8Array | typeof WAIT | typeof LATER;
      try {
        r = step(false);
      } catch (e) {
        waiter._fail(e);
        return waiter;
      }
      if (r !== WAIT && r !== LATER) {
        this._hand(waiter, r);
        return waiter;
      }
    }
    this._pending = { waiter, step, later: false, direct };
    // Waiting while paused would never end (a readexactly larger than the buffer's pause point).
    if (this._paused) {
      this._paused = false;
      this._transport!.resumeReading();
    }
    return waiter;
  }

  /** @internal give the bytes to the read */
  _hand(waiter: Waiter<Uint8Array>, data: Uint8Array): void {
    if (data.length > 0) {
      waiter._item = data;
      this._handed = waiter;
    }
    waiter._wake(data);
  }

  /** @internal a read that neither waits nor minds a waiting one (read(0), readexactly(0)) */
  _now(data: Uint8Array): Future<Uint8Array> {
    const loop = this._loop as unknown as LockLoop;
    if (this._exception !== null) return rejected(this._exception, loop);
    const f = loop.createFuture<Uint8Array>();
    f.setResult(data);
    return f;
  }

  /** @internal data, EOF or a settled read: try the waiting read again */
  _wakeup(waking = true): void {
    const p = this._pending;
    if (p === null || this._handed !== null) return;
    if (p.waiter.done()) {
      this._pending = null;
      return;
    }
    let r: Uint8Array | typeof WAIT | typeof LATER;
    try {
      r = p.step(waking);
    } catch (e) {
      this._pending = null;
      p.waiter._fail(e);
      return;
    }
    if (r === WAIT) return;
    if (r === LATER) {
      if (!p.later) {
        p.later = true;
        this._loop.callSoon(() => {
          p.later = false;
          if (this._pending === p) this._wakeup(false);
        });
      }
      return;
    }
    this._pending = null;
    this._hand(p.waiter, r);
  }

  /** @internal the Waiter's owner hook: the code took its bytes, or never resumed */
  _waiterDone(w: Waiter<unknown>, outcome: WaiterOutcome): void {
    if (outcome === "cancelled") {
      if (this._pending?.waiter === w) this._pending = null;
      return;
    }
    if (this._handed === w) this._handed = null;
    const data = w._item as Uint8Array | undefined;
    w._item = undefined;
    if (outcome === "abandoned" && data !== undefined) this._buffer.unshift(data);
    this._wakeup();
  }

  /** @internal */
  _maybeResumeTransport(): void {
    if (this._paused && this._buffer.length <= this._limit) {
      this._paused = false;
      this._transport!.resumeReading();
    }
  }
}

/**
 * Write flow control for a StreamWriter (asyncio's `FlowControlMixin`):
 * `pauseWriting`/`resumeWriting` from the transport decide when `drain()`
 * waits. StreamReaderProtocol and the subprocess streams' protocol extend it.
 */
export class FlowControlMixin extends BaseProtocol {
  /** @internal */ _loop: EventLoop;
  /** @internal */ _paused = false;
  /** @internal */ _drainWaiters: Future<void>[] = [];
  /** @internal */ _connectionLost = false;

  /** Flow control for the protocol of `loop` (default: the running loop). */
  constructor(loop?: EventLoop) {
    super();
    this._loop = loopFor(loop);
  }

  /** The transport's buffer went over its high-water mark: `drain()` waits from now on. */
  override pauseWriting(): void {
    this._paused = true;
  }

  /** The transport's buffer went down to its low-water mark: waiting `drain()` calls return. */
  override resumeWriting(): void {
    this._paused = false;
    for (const w of this._drainWaiters) if (!w.done()) w.setResult(undefined);
  }

  /** The connection is lost: waiting `drain()` calls end (with `exc` if it ended with one). */
  override connectionLost(exc: Error | null): void {
    this._connectionLost = true;
    if (!this._paused) return;
    for (const w of this._drainWaiters) {
      if (w.done()) continue;
      if (exc === null) w.setResult(undefined);
      else w.setException(exc);
    }
  }

  /** @internal asyncio's `_drain_helper`; null when nothing needs waiting */
  _drainHelper(): Future<void> | null {
    if (this._connectionLost) return rejected(new ConnectionResetError(codeToErrno("ECONNRESET"), undefined, "Connection lost"), this._loop as unknown as LockLoop);
    if (!this._paused) return null;
    const w = this._loop.createFuture<void>();
    this._drainWaiters.push(w);
    w.addDoneCallback(() => removeFrom(this._drainWaiters, w));
    return w;
  }

  /** @internal the future `writer.waitClosed()` follows */
  _getCloseWaiter(_writer: StreamWriter): Future<void> {
    throw new NotImplementedError("_getCloseWaiter");
  }
}

/** What `startServer` calls for each connection; it may return a coroutine, which runs as a task. */
export type ClientConnectedCallback = (reader: StreamReader, writer: StreamWriter) => unknown;

/**
 * The protocol between a transport and a StreamReader/StreamWriter pair
 * (asyncio's `StreamReaderProtocol`). With `clientConnectedCb` (a
 * server's), each connection calls it with a fresh reader and writer,
 * inside a task of its own.
 */
export class StreamReaderProtocol extends FlowControlMixin {
  /** @internal */ _streamReader: StreamReader | null;
  /** @internal */ _streamWriter: StreamWriter | null = null;
  /** @internal */ _clientConnectedCb: ClientConnectedCallback | null;
  /** @internal */ _task: Task<unknown> | null = null;
  /** @internal */ _transport: Transport | null = null;
  /** @internal */ _overSsl = false;
  /** @internal */ _closed: Future<void>;

  /** A protocol feeding `streamReader`; with `clientConnectedCb`, a server's (it makes each connection's writer and calls back). */
  constructor(streamReader: StreamReader | null, clientConnectedCb: ClientConnectedCallback | null = null, loop?: EventLoop) {
    if (streamReader !== null && !(streamReader instanceof StreamReader)) {
      throw new TypeError(`streamReader must be a StreamReader or null, got ${formatValue(streamReader)}`);
    }
    if (clientConnectedCb !== null && clientConnectedCb !== undefined && typeof clientConnectedCb !== "function") {
      throw new TypeError(`clientConnectedCb must be a function, got ${formatValue(clientConnectedCb)}`);
    }
    super(loop ?? streamReader?._loop);
    this._streamReader = streamReader;
    this._clientConnectedCb = clientConnectedCb ?? null;
    this._closed = quietFuture(this._loop);
  }

  /** Attach the transport to the reader; on a server, call `clientConnectedCb` in a task of its own. */
  override connectionMade(transport: Transport): void {
    this._transport = transport;
    const reader = this._streamReader;
    reader?.setTransport(transport);
    this._overSsl = transport.getExtraInfo("sslcontext") !== null;
    const cb = this._clientConnectedCb;
    if (cb === null) return;
    const writer = new StreamWriter(transport, this, reader, this._loop);
    this._streamWriter = writer;
    const task = this._loop.createTask(() => cb(reader!, writer));
    task.addDoneCallback((t) => {
      if (t.cancelled()) {
        transport.close();
        return;
      }
      const exc = t.exception();
      if (exc !== null) {
        this._loop.callExceptionHandler({ message: "Unhandled exception in client_connected_cb", exception: exc, transport });
        transport.close();
      }
    });
    this._task = task;
  }

  /** Feed EOF (or the error) to the reader and settle `waitClosed()`. */
  override connectionLost(exc: Error | null): void {
    const reader = this._streamReader;
    if (reader !== null) {
      if (exc === null) reader.feedEof();
      else reader.setException(exc);
    }
    settle(this._closed, exc);
    super.connectionLost(exc);
    this._streamWriter = null;
    this._task = null;
    this._transport = null;
  }

  /** Feed the bytes to the reader. */
  dataReceived(data: Uint8Array): void {
    this._streamReader?._feedOwned(data);
  }

  /** Feed EOF to the reader; keep the connection half-open, except over TLS. */
  eofReceived(): boolean {
    this._streamReader?.feedEof();
    // Over TLS the transport closes anyway (a half-close is not TLS's).
    return !this._overSsl;
  }

  /** @internal the transport changed under the streams (startTls) */
  _replaceTransport(transport: Transport): void {
    this._transport = transport;
    this._overSsl = transport.getExtraInfo("sslcontext") !== null;
  }

  /** @internal */
  override _getCloseWaiter(_writer: StreamWriter): Future<void> {
    return this._closed;
  }
}

/** @internal a future whose error nobody has to retrieve (waiting for a close is optional) */
export function quietFuture(loop: EventLoop): Future<void> {
  const f = loop.createFuture<void>();
  f.addDoneCallback(() => void (f.cancelled() || f.exception()));
  return f;
}

/** @internal settle a close future with the connection's end, once */
export function settle(f: Future<void>, exc: Error | null): void {
  if (f.done()) return;
  if (exc === null) f.setResult(undefined);
  else f.setException(exc);
}

/**
 * The writing end of a connection (asyncio's `StreamWriter`): `write()`
 * buffers at once; `await drain()` waits while the transport's buffer is
 * above its high-water mark.
 */
export class StreamWriter {
  /** @internal */ _transport: Transport;
  /** @internal */ _protocol: FlowControlMixin;
  /** @internal */ _reader: StreamReader | null;
  /** @internal */ _loop: EventLoop;
  /** @internal a done future: what drain() returns when nothing needs waiting */
  _complete: Future<void>;
  /** @internal */ _writable: WritableStream<Uint8Array> | null = null;

  /** A writer over `transport`, waiting on `protocol` for flow control (made by openConnection and startServer). */
  constructor(transport: Transport, protocol: FlowControlMixin, reader: StreamReader | null, loop: EventLoop) {
    if (!(protocol instanceof FlowControlMixin)) throw new TypeError(`protocol must be a StreamReaderProtocol, got ${formatValue(protocol)}`);
    this._transport = transport;
    this._protocol = protocol;
    this._reader = reader;
    this._loop = loop;
    this._complete = loop.createFuture<void>();
    this._complete.setResult(undefined);
  }

  /** @internal */
  toString(): string {
    return `<StreamWriter transport=${formatValue(this._transport)}${this._reader ? ` reader=${this._reader}` : ""}>`;
  }

  /** The transport underneath (the TLS one after `startTls`). */
  get transport(): Transport {
    return this._transport;
  }

  /** Queue `data` for sending (it is copied or sent at once); follow with `await drain()`. */
  write(data: ArrayBufferView): void {
    this._transport.write(data);
  }

  /** Queue each buffer of `data` in order. */
  writelines(data: Iterable<ArrayBufferView>): void {
    this._transport.writelines(data);
  }

  /** Close the write side once the buffer is sent (a half-close). */
  writeEof(): void {
    this._transport.writeEof();
  }

  /** False over TLS and for transports that cannot half-close. */
  canWriteEof(): boolean {
    return this._transport.canWriteEof();
  }

  /** Close the connection once the buffer is sent. */
  close(): void {
    this._transport.close();
  }

  /** True once the connection is closed or closing. */
  isClosing(): boolean {
    return this._transport.isClosing();
  }

  /** Resolves when the connection is lost; rejects with its error if it ended with one. */
  waitClosed(): Future<void> {
    const closed = this._protocol._getCloseWaiter(this);
    const f = this._loop.createFuture<void>();
    // A fresh future each time: cancelling one wait must not cancel the others.
    const copy = (): void => {
      if (f.done()) return;
      if (closed.cancelled()) f.cancel();
      else if (closed.exception() !== null) f.setException(closed.exception());
      else f.setResult(undefined);
    };
    if (closed.done()) copy();
    else {
      closed.addDoneCallback(copy);
      f.addDoneCallback(() => closed.removeDoneCallback(copy));
    }
    return f;
  }

  /** Transport information, as `transport.getExtraInfo()`. */
  getExtraInfo(name: string, defaultValue: unknown = null): unknown {
    return this._transport.getExtraInfo(name, defaultValue);
  }

  /**
   * Wait until the write buffer is at or below its low-water mark. Fails
   * with the connection's error, and with `ConnectionResetError` once the
   * connection is lost.
   */
  drain(): Future<void> {
    const exc = this._reader?.exception() ?? null;
    if (exc !== null) return rejected(exc, this._loop as unknown as LockLoop);
    if (this._transport.isClosing()) {
      // Give connectionLost a chance to run first, so that a write/drain loop sees the error.
      const f = this._loop.createFuture<void>();
      this._loop.callSoon(() => {
        if (f.done()) return;
        const w = this._protocol._drainHelper();
        if (w === null) f.setResult(undefined);
        else chainFuture(w, f);
      });
      return f;
    }
    return this._protocol._drainHelper() ?? this._complete;
  }

  /**
   * Upgrade the connection to TLS (asyncio's `start_tls`): the server side
   * when this writer came from `startServer`. Reads and writes go through
   * TLS afterwards.
   */
  startTls(sslContext: SSLContext, options: { serverHostname?: string | null; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null } = {}): Future<void> {
    if (options === null || typeof options !== "object") throw new TypeError(`startTls options must be an object, got ${formatValue(options)}`);
    const self = this;
    const protocol = this._protocol;
    if (!(protocol instanceof StreamReaderProtocol)) throw new RuntimeError("startTls() needs a connection's StreamWriter");
    // Stop reading now: asyncio's start_tls pauses the socket within the
    // caller's step, and the peer's first TLS bytes (its ClientHello, sent
    // as soon as it has our go-ahead) must reach the TLS layer, not this
    // StreamReader, in the iterations before the upgrade task runs.
    const raw = this._transport;
    const wasReading = raw.isReading();
    if (wasReading) raw.pauseReading();
    let upgraded = false;
    const task = this._loop.createTask((function* (): G<void> {
      yield* self.drain();
      const transport = yield* self._loop.startTls(raw, protocol, sslContext, {
        serverSide: protocol._clientConnectedCb !== null,
        serverHostname: options.serverHostname ?? null,
        sslHandshakeTimeout: options.sslHandshakeTimeout,
        sslShutdownTimeout: options.sslShutdownTimeout,
      });
      upgraded = true;
      self._transport = transport;
      protocol._replaceTransport(transport);
      const reader = self._reader;
      if (reader !== null && reader._transport !== null) {
        // Pausing must now pause the TLS layer's reading, not the raw socket's.
        reader._transport = transport;
        if (reader._paused) transport.pauseReading();
      }
    })());
    // Not upgraded (a bad argument, a lost connection, cancelled even before it ran): read as before.
    task.addDoneCallback(() => {
      if (!upgraded && wasReading && self._transport === raw && !raw.isClosing()) raw.resumeReading();
    });
    return task;
  }

  /**
   * A WHATWG `WritableStream` over this writer: each chunk is `write()`
   * then `drain()`, so its backpressure is the transport's. `close()`
   * closes the writer and waits for `waitClosed()`; `abort()` aborts the
   * transport.
   */
  get writable(): WritableStream<Uint8Array> {
    if (this._writable !== null) return this._writable;
    this._writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        this.write(chunk);
        return this.drain();
      },
      close: () => {
        this.close();
        return this.waitClosed();
      },
      abort: () => {
        this._transport.abort();
      },
    }, { highWaterMark: 1 });
    return this._writable;
  }

  /** `await using writer`: close, and wait until closed. */
  [Symbol.asyncDispose](): Future<void> {
    this.close();
    return this.waitClosed();
  }
}

/** @internal settle `to` as `from` settles */
function chainFuture<T>(from: Future<T>, to: Future<T>): void {
  from.addDoneCallback(() => {
    if (to.done()) return;
    if (from.cancelled()) to.cancel();
    else if (from.exception() !== null) to.setException(from.exception());
    else to.setResult(from.result());
  });
}

/** The options of `openConnection`: `limit`, and those of `createConnection`. */
export interface OpenConnectionOptions extends ConnectionOptions {
  /** The StreamReader's limit (default 64 KiB). */
  limit?: number;
}

/** The options of `startServer`: `limit`, and those of `createServer`. */
export interface StartServerOptions extends ServerOptions {
  /** Each StreamReader's limit (default 64 KiB). */
  limit?: number;
}

/** The options of `openUnixConnection`. */
export interface OpenUnixConnectionOptions {
  /** The StreamReader's limit (default 64 KiB). */
  limit?: number;
  /** See `createUnixConnection`. */
  ssl?: unknown;
  /** See `createUnixConnection`. */
  sock?: unknown;
  /** See `createUnixConnection`. */
  serverHostname?: string | null;
  /** See `createUnixConnection`. */
  sslHandshakeTimeout?: number | null;
  /** See `createUnixConnection`. */
  sslShutdownTimeout?: number | null;
  /** See `createConnection`. */
  sslSession?: SSLSession | null;
}

/** The options of `startUnixServer`: `limit`, and those of `createUnixServer`. */
export interface StartUnixServerOptions extends UnixServerOptions {
  /** Each StreamReader's limit (default 64 KiB). */
  limit?: number;
}

function splitLimit<O extends { limit?: number }>(options: O, what: string): [number, Omit<O, "limit">] {
  if (options === null || typeof options !== "object") throw new TypeError(`${what} options must be an object, got ${formatValue(options)}`);
  const { limit, ...rest } = options;
  return [checkLimit(limit), rest];
}

function checkCallback(cb: unknown): void {
  if (typeof cb !== "function") throw new TypeError(`clientConnectedCb must be a function, got ${formatValue(cb)}`);
}

/** Connect with `connect`, then wrap the transport in a reader and writer. */
function openWith(loop: EventLoop, limit: number, connect: (factory: () => StreamReaderProtocol) => Future<[Transport, unknown]>): Future<[StreamReader, StreamWriter]> {
  const reader = new StreamReader({ limit, loop });
  const protocol = new StreamReaderProtocol(reader, null, loop);
  const connecting = connect(() => protocol);
  return loop.createTask((function* (): G<[StreamReader, StreamWriter]> {
    const [transport] = yield* connecting;
    return [reader, new StreamWriter(transport, protocol, reader, loop)];
  })());
}

/**
 * Connect to `host`:`port` and return a reader and a writer (asyncio's
 * `open_connection`). Options: `limit`, and every option of
 * `loop.createConnection` (`ssl`, `localAddr`, `happyEyeballsDelay`, ...).
 *
 * @example
 * ```ts
 * import { openConnection, run } from "tsyncio";
 * await run(async () => {
 *   const [reader, writer] = await openConnection("127.0.0.1", 8888);
 *   writer.write(new TextEncoder().encode("hello\n"));
 *   await writer.drain();
 *   console.log(new TextDecoder().decode(await reader.readline()));
 *   writer.close();
 *   await writer.waitClosed();
 * });
 * ```
 */
export function openConnection(host: string | null = null, port: number | string | null = null, options: OpenConnectionOptions = {}): Future<[StreamReader, StreamWriter]> {
  const loop = getRunningLoop();
  const [limit, rest] = splitLimit(options, "openConnection()");
  return openWith(loop, limit, (factory) => loop.createConnection(factory, host, port, rest));
}

/** Like `openConnection`, over a UNIX socket at `path` (asyncio's `open_unix_connection`). */
export function openUnixConnection(path: string | null = null, options: OpenUnixConnectionOptions = {}): Future<[StreamReader, StreamWriter]> {
  const loop = getRunningLoop();
  const [limit, rest] = splitLimit(options, "openUnixConnection()");
  return openWith(loop, limit, (factory) => loop.createUnixConnection(factory, path, rest as Parameters<EventLoop["createUnixConnection"]>[2]));
}

/**
 * Listen on `host`:`port`; each connection calls `clientConnectedCb(reader,
 * writer)` inside a task of its own (asyncio's `start_server`). A callback
 * that fails is reported to the loop's exception handler and its
 * connection closed. Options: `limit`, and every option of
 * `loop.createServer`.
 *
 * @example
 * ```ts
 * import { run, startServer } from "tsyncio";
 * await run(async () => {
 *   const server = await startServer(async (reader, writer) => {
 *     for await (const line of reader) writer.write(line); // echo each line
 *     writer.close();
 *     await writer.waitClosed();
 *   }, "127.0.0.1", 8888);
 *   await server.serveForever();
 * });
 * ```
 */
export function startServer(clientConnectedCb: ClientConnectedCallback, host: string | string[] | null = null, port: number | string | null = null, options: StartServerOptions = {}): Future<Server> {
  checkCallback(clientConnectedCb);
  const loop = getRunningLoop();
  const [limit, rest] = splitLimit(options, "startServer()");
  return loop.createServer(() => new StreamReaderProtocol(new StreamReader({ limit, loop }), clientConnectedCb, loop), host, port, rest);
}

/** Like `startServer`, on a UNIX socket at `path` (asyncio's `start_unix_server`). */
export function startUnixServer(clientConnectedCb: ClientConnectedCallback, path: string | null = null, options: StartUnixServerOptions = {}): Future<Server> {
  checkCallback(clientConnectedCb);
  const loop = getRunningLoop();
  const [limit, rest] = splitLimit(options, "startUnixServer()");
  return loop.createUnixServer(() => new StreamReaderProtocol(new StreamReader({ limit, loop }), clientConnectedCb, loop), path, rest);
}

