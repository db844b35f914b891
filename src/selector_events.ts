/**
 * SelectorEventLoop: the loop over a readiness selector (epoll or poll).
 * Adds descriptor watching (`addReader`/`addWriter`) to BaseEventLoop.
 */

import { BaseEventLoop } from "./base_events.ts";
import { type BaseSelector, EVENT_READ, EVENT_WRITE, makeSelector, type SelectorName } from "./selectors.ts";
import { Handle, type Callback } from "./handles.ts";
import { RuntimeError, ValueError } from "./errors.ts";
import { formatValue } from "./format.ts";
import type { BaseTransport } from "./transports.ts";
import { isRetry, MAX_READ } from "./selector_transports.ts";
import { OSError } from "./errors.ts";
import type { Future } from "./futures.ts";
import { asBytes, Socket } from "./socket.ts";
import { SignalHandlers } from "./unix_signals.ts";

/** A socket operation made progress but is not finished: wait and call it again. */
const AGAIN = Symbol("again");

/** asyncio refuses blocking sockets in the sock_* methods: they would stall the loop. */
export function checkNonBlocking(sock: Socket): void {
  if (!(sock instanceof Socket)) throw new TypeError(`sock must be a Socket, got ${formatValue(sock)}`);
  if (sock.getblocking()) throw new ValueError("the socket must be non-blocking");
}

/** A descriptor: a number, or any object with `fileno()` (Socket, a pipe). */
export type FileLike = number | { fileno(): number };

type Watch = [reader: Handle | null, writer: Handle | null];

/** Options of `newEventLoop` and the loop constructors. */
export interface EventLoopOptions {
  /** Force a selector ("epoll" or "poll"); the default is the best for this OS. */
  selector?: SelectorName;
}

/** Turn a descriptor or an object with `fileno()` into a descriptor number. */
export function fileobjToFd(fileobj: FileLike): number {
  let fd: unknown = fileobj;
  if (typeof fileobj === "object" && fileobj !== null && typeof fileobj.fileno === "function") {
    fd = fileobj.fileno();
  }
  if (typeof fd !== "number" || !Number.isInteger(fd)) {
    throw new TypeError(`a file descriptor (an integer or an object with fileno()) was expected, got ${formatValue(fileobj)}`);
  }
  if (fd < 0 || fd > 0x7fffffff) throw new ValueError(`Invalid file descriptor: ${fd}`);
  return fd;
}

/**
 * The loop over a readiness selector (asyncio's `SelectorEventLoop`):
 * BaseEventLoop plus descriptor watching, the `sock*` socket operations and
 * signal handlers. Use {@linkcode EventLoop} (from `newEventLoop()`), which
 * adds networking, pipes and subprocesses; this class is the layer below.
 */
export class SelectorEventLoop extends BaseEventLoop {
  /** @internal */ _selector: BaseSelector<Watch>;
  /** @internal descriptor → the live transport that owns it */
  _transports: Map<number, BaseTransport> = new Map();
  /** @internal */ #recvBuffer: Uint8Array | null = null;

  /** @internal one receive buffer for every transport of this loop (reads are synchronous) */
  get _recvBuffer(): Uint8Array {
    return (this.#recvBuffer ??= new Uint8Array(new ArrayBuffer(MAX_READ)));
  }

  /** A new loop, not made current; `options.selector` forces epoll or poll. */
  constructor(options: EventLoopOptions = {}) {
    super();
    this._selector = makeSelector<Watch>(options.selector);
  }

  /** @internal */ _signalHandlers: SignalHandlers = new SignalHandlers(this);

  /**
   * Call `callback(...args)` on the loop whenever signal `sig` (a number or a
   * name such as "SIGINT") arrives; replaces an earlier handler. RuntimeError
   * for signals that cannot be caught, ValueError for unknown ones. The
   * callback runs as a loop callback, not inside the signal, so it may do
   * anything (asyncio's `loop.add_signal_handler`).
   *
   * @example
   * ```ts
   * import { newEventLoop } from "tsyncio";
   *
   * const loop = newEventLoop();
   * loop.addSignalHandler("SIGINT", () => {
   *   console.log("interrupted: shutting down");
   *   loop.stop();
   * });
   * await loop.runForever();
   * loop.close(); // also removes the handler
   * ```
   */
  addSignalHandler(sig: number | string, callback: Callback, ...args: unknown[]): void {
    this._signalHandlers.add(sig, callback, args);
  }

  /** Remove the handler for `sig` (the default behaviour comes back); false if none. */
  removeSignalHandler(sig: number | string): boolean {
    return this._signalHandlers.remove(sig);
  }

  /** Closing the loop also removes its signal handlers. */
  override close(): void {
    super.close();
    this._signalHandlers.clear();
  }

  /** Which selector this loop uses: "epoll" or "poll". */
  get selectorName(): string {
    return this._selector.name;
  }

  /**
   * Call `callback(...args)` whenever `fd` is readable (asyncio's
   * `loop.add_reader`): any pollable descriptor, as a number or an object
   * with `fileno()`. Replaces an earlier reader of the same descriptor; a
   * descriptor a transport owns is a RuntimeError. Watching is
   * level-triggered: while data is left unread, the callback is called again
   * on every iteration, until `removeReader(fd)`. The loop never closes the
   * descriptor.
   *
   * @example
   * ```ts
   * import { newEventLoop, socketpair } from "tsyncio";
   *
   * const loop = newEventLoop();
   * const [rsock, wsock] = socketpair();
   * rsock.setblocking(false);
   * loop.addReader(rsock, () => {
   *   console.log(new TextDecoder().decode(rsock.recv(100)));
   *   loop.removeReader(rsock);
   *   loop.stop();
   * });
   * wsock.send(new TextEncoder().encode("ping"));
   * await loop.runForever();
   * rsock.close();
   * wsock.close();
   * loop.close();
   * ```
   */
  addReader(fd: FileLike, callback: Callback, ...args: unknown[]): Handle {
    this._checkClosed();
    this._checkCallback(callback, "addReader");
    const n = fileobjToFd(fd);
    this._ensureFdNoTransport(n);
    return this._addWatch(n, EVENT_READ, new Handle(callback, args, this));
  }

  /** Stop watching `fd` for reading; true if a reader was registered. */
  removeReader(fd: FileLike): boolean {
    if (this._closed) return false;
    const n = fileobjToFd(fd);
    this._ensureFdNoTransport(n);
    return this._removeWatch(n, EVENT_READ);
  }

  /** Call `callback(...args)` whenever `fd` is writable. Replaces an earlier writer. */
  addWriter(fd: FileLike, callback: Callback, ...args: unknown[]): Handle {
    this._checkClosed();
    this._checkCallback(callback, "addWriter");
    const n = fileobjToFd(fd);
    this._ensureFdNoTransport(n);
    return this._addWatch(n, EVENT_WRITE, new Handle(callback, args, this));
  }

  /** Stop watching `fd` for writing; true if a writer was registered. */
  removeWriter(fd: FileLike): boolean {
    if (this._closed) return false;
    const n = fileobjToFd(fd);
    this._ensureFdNoTransport(n);
    return this._removeWatch(n, EVENT_WRITE);
  }

  /** @internal watching a transport's descriptor behind its back breaks it (asyncio refuses too) */
  _ensureFdNoTransport(fd: number): void {
    const t = this._transports.get(fd);
    if (t && !t.isClosing()) {
      throw new RuntimeError(`File descriptor ${fd} is used by transport ${t}`);
    }
  }

  /** @internal addReader without the guards, for transports and socket operations */
  _addReader(fd: number, callback: Callback, ...args: unknown[]): Handle {
    this._checkClosed();
    return this._addWatch(fd, EVENT_READ, new Handle(callback, args, this));
  }

  /** @internal */
  _removeReader(fd: number): boolean {
    return this._removeWatch(fd, EVENT_READ);
  }

  /** @internal */
  _addWriter(fd: number, callback: Callback, ...args: unknown[]): Handle {
    this._checkClosed();
    return this._addWatch(fd, EVENT_WRITE, new Handle(callback, args, this));
  }

  /** @internal */
  _removeWriter(fd: number): boolean {
    return this._removeWatch(fd, EVENT_WRITE);
  }

  /** @internal */
  _addWatch(fd: number, event: number, handle: Handle): Handle {
    const sel = this._selector;
    const key = sel.get(fd);
    if (!key) {
      sel.register(fd, event, event === EVENT_READ ? [handle, null] : [null, handle]);
    } else {
      const [reader, writer] = key.data;
      const old = event === EVENT_READ ? reader : writer;
      sel.modify(fd, key.events | event, event === EVENT_READ ? [handle, writer] : [reader, handle]);
      old?.cancel();
    }
    if (this._waiting) this._wake(); // re-park on the new set
    return handle;
  }

  /** @internal */
  _removeWatch(fd: number, event: number): boolean {
    if (this._closed) return false;
    const sel = this._selector;
    const key = sel.get(fd);
    if (!key) return false;
    let [reader, writer] = key.data;
    const old = event === EVENT_READ ? reader : writer;
    if (event === EVENT_READ) reader = null;
    else writer = null;
    const mask = key.events & ~event;
    if (mask === 0) sel.unregister(fd);
    else sel.modify(fd, mask, [reader, writer]);
    if (old) {
      old.cancel();
      return true;
    }
    return false;
  }

  // ---- Low-level socket operations (asyncio's sock_*) ----
  // Each tries the call at once; on would-block it waits for readiness and
  // retries. Cancelling the returned Future stops watching and consumes
  // nothing. A blocking socket is refused with ValueError, as in asyncio.

  /** @internal run `attempt` now, and again each time `fd` is ready, until it settles */
  _sockOp<T>(sock: Socket, event: number, attempt: () => T | typeof AGAIN): Future<T> {
    const fut = this.createFuture<T>();
    const run = (): boolean => {
      try {
        const r = attempt();
        if (r === AGAIN) return false;
        fut.setResult(r as T);
      } catch (e) {
        if (e instanceof OSError && isRetry(e.errno)) return false;
        fut.setException(e);
      }
      return true;
    };
    try {
      checkNonBlocking(sock);
    } catch (e) {
      fut.setException(e);
      return fut;
    }
    if (run()) return fut;
    const fd = sock.fileno();
    this._ensureFdNoTransport(fd);
    const cb = () => {
      if (!fut.done()) run();
    };
    const h = event === EVENT_READ ? this._addReader(fd, cb) : this._addWriter(fd, cb);
    fut.addDoneCallback(() => {
      // A later operation on the same descriptor may have replaced our watcher.
      if (!h.cancelled()) this._removeWatch(fd, event);
    });
    return fut;
  }

  /** Receive up to `nbytes` bytes from a non-blocking socket. */
  sockRecv(sock: Socket, nbytes: number): Future<Uint8Array> {
    return this._sockOp(sock, EVENT_READ, () => sock.recv(nbytes));
  }

  /** Receive into `buf`; resolves with the number of bytes. */
  sockRecvInto(sock: Socket, buf: ArrayBufferView): Future<number> {
    return this._sockOp(sock, EVENT_READ, () => sock.recvInto(buf));
  }

  /** Receive a datagram of up to `bufsize` bytes: [data, address]. */
  sockRecvfrom(sock: Socket, bufsize: number): Future<[Uint8Array, unknown]> {
    return this._sockOp(sock, EVENT_READ, () => sock.recvfrom(bufsize) as [Uint8Array, unknown]);
  }

  /** Receive a datagram into `buf`: [nbytes, address]. */
  sockRecvfromInto(sock: Socket, buf: ArrayBufferView, nbytes = 0): Future<[number, unknown]> {
    return this._sockOp(sock, EVENT_READ, () => sock.recvfromInto(buf, nbytes) as [number, unknown]);
  }

  /** Send all of `data`, waiting for the socket to drain as needed. */
  sockSendall(sock: Socket, data: ArrayBufferView): Future<void> {
    let rest: Uint8Array;
    try {
      rest = asBytes(data);
    } catch (e) {
      const f = this.createFuture<void>();
      f.setException(e);
      return f;
    }
    return this._sockOp(sock, EVENT_WRITE, () => {
      while (rest.byteLength > 0) {
        const n = sock.send(rest);
        rest = rest.subarray(n);
        if (rest.byteLength > 0 && n === 0) return AGAIN;
      }
      return undefined;
    });
  }

  /** Send one datagram to `address`; resolves with the bytes sent. */
  sockSendto(sock: Socket, data: ArrayBufferView, address: unknown): Future<number> {
    return this._sockOp(sock, EVENT_WRITE, () => sock.sendto(data, address));
  }

  /** Accept a connection: [socket (non-blocking), address]. */
  sockAccept(sock: Socket): Future<[Socket, unknown]> {
    return this._sockOp(sock, EVENT_READ, () => {
      const [conn, addr] = sock.accept() as [Socket, unknown];
      conn.setblocking(false);
      return [conn, addr] as [Socket, unknown];
    });
  }

  /** @internal */
  protected _processIo(): void {
    const sel = this._selector;
    if (sel.count === 0) return;
    const n = sel.select();
    const ready = this._ready;
    for (let i = 0; i < n; i++) {
      const key = sel.get(sel.readyFds[i]);
      if (!key) continue;
      const mask = sel.readyEvents[i] & key.events;
      const [reader, writer] = key.data;
      if (mask & EVENT_READ && reader !== null && !reader._cancelled) ready.push(reader);
      if (mask & EVENT_WRITE && writer !== null && !writer._cancelled) ready.push(writer);
    }
  }

  /** @internal */
  protected _hasIo(): boolean {
    return this._selector.count > 0;
  }


  /** @internal */
  protected _parkIo(cb: () => void): void {
    this._selector.park(cb);
  }

  /** @internal */
  protected _unparkIo(release: boolean): void {
    this._selector.unpark(release);
  }

  /** @internal */
  protected _closeIo(): void {
    for (const key of this._selector._keys.values()) {
      key.data[0]?.cancel();
      key.data[1]?.cancel();
    }
    this._selector.close();
  }
}
