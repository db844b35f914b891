/**
 * Server: the listening sockets of `createServer`/`createUnixServer` and the
 * connections accepted on them (asyncio's `Server`).
 */

import { CancelledError, RuntimeError } from "./errors.ts";
import type { Future } from "./futures.ts";
import type { Socket } from "./socket.ts";
import type { BaseTransport } from "./transports.ts";
// A type-only import: no run-time cycle with net_events.ts, which makes servers.
import type { NetEventLoop } from "./net_events.ts";

/**
 * The listening sockets of `createServer`/`createUnixServer` and the
 * connections accepted on them (asyncio's `Server`). Closing a server stops
 * listening but leaves accepted connections open: `waitClosed()` resolves
 * once they are gone too.
 *
 * @example
 * ```ts
 * import { newEventLoop, Protocol } from "tsyncio";
 *
 * const loop = newEventLoop();
 * const server = await loop.runUntilComplete(loop.createServer(() => new Protocol(), "127.0.0.1", 8080));
 * // Graceful shutdown on SIGTERM: stop accepting, then end the open connections.
 * loop.addSignalHandler("SIGTERM", () => {
 *   server.close();
 *   server.closeClients();
 * });
 * await loop.runUntilComplete(server.waitClosed());
 * loop.close();
 * ```
 */
export class Server {
  /** @internal */ _loop: NetEventLoop;
  /** @internal */ _sockets: Socket[] | null;
  /** @internal */ _activeCount = 0;
  /** @internal */ _waiters: Future<void>[] | null = [];
  /** @internal */ _clients: Set<BaseTransport> = new Set();
  /** @internal */ _protocolFactory: () => unknown;
  /** @internal */ _backlog: number;
  /** @internal */ _serving = false;
  /** @internal */ _servingForeverFut: Future<void> | null = null;
  /** @internal TLS for accepted connections (net_events.ts's TlsArgs), or null */
  _tls: unknown = null;
  /** @internal called once the listening sockets are closed (unlinks a UNIX path) */
  _onClose: (() => void) | null = null;

  /** @internal servers are made by `createServer`/`createUnixServer` */
  constructor(loop: NetEventLoop, sockets: Socket[], protocolFactory: () => unknown, backlog: number) {
    this._loop = loop;
    this._sockets = sockets;
    this._protocolFactory = protocolFactory;
    this._backlog = backlog;
  }

  /** `<Server sockets=...>`, for logs and debugging. */
  toString(): string {
    return `<Server sockets=${this._sockets ? this._sockets.map(String).join(",") : "(closed)"}>`;
  }

  /** @internal a connection was accepted */
  _attach(transport: BaseTransport): void {
    this._activeCount++;
    this._clients.add(transport);
  }

  /** @internal a connection ended */
  _detach(transport: BaseTransport): void {
    this._activeCount--;
    this._clients.delete(transport);
    if (this._activeCount === 0 && this._sockets === null) this._wakeup();
  }

  /** @internal */
  _wakeup(): void {
    const waiters = this._waiters;
    this._waiters = null;
    for (const w of waiters ?? []) if (!w.done()) w.setResult(undefined);
  }

  /** @internal */
  _startServing(): void {
    if (this._serving || this._sockets === null) return;
    this._serving = true;
    for (const sock of this._sockets) {
      sock.listen(this._backlog);
      this._loop._startServing(this, sock);
    }
  }

  /** The loop the server runs on. */
  getLoop(): NetEventLoop {
    return this._loop;
  }

  /** True while the server accepts connections (between `startServing()` and `close()`). */
  isServing(): boolean {
    return this._serving;
  }

  /** The listening sockets (a copy; empty once closed). */
  get sockets(): Socket[] {
    return this._sockets ? [...this._sockets] : [];
  }

  /**
   * Stop listening and close the listening sockets. Connections already
   * accepted stay open (see closeClients/abortClients); `waitClosed()`
   * resolves once they are gone too.
   */
  close(): void {
    const sockets = this._sockets;
    if (sockets === null) return;
    this._sockets = null;
    for (const sock of sockets) this._loop._stopServing(sock);
    this._serving = false;
    this._onClose?.();
    this._onClose = null;
    if (this._servingForeverFut && !this._servingForeverFut.done()) {
      this._servingForeverFut.cancel();
      this._servingForeverFut = null;
    }
    if (this._activeCount === 0) this._wakeup();
  }

  /** Close every accepted connection (flushing what they have buffered). */
  closeClients(): void {
    for (const t of [...this._clients]) t.close();
  }

  /** Abort every accepted connection (dropping what they have buffered). */
  abortClients(): void {
    for (const t of [...this._clients]) (t as BaseTransport & { abort(): void }).abort();
  }

  /** Start accepting (when created with startServing: false). */
  startServing(): Future<void> {
    this._startServing();
    const f = this._loop.createFuture<void>();
    // Let the accept watchers take effect in the next iteration, as asyncio's sleep(0).
    (this._loop as unknown as { _callSoon(cb: () => void, a: unknown[]): void })._callSoon(() => {
      if (!f.done()) f.setResult(undefined);
    }, []);
    return f;
  }

  /** Serve until cancelled; cancelling closes the server and waits for it. */
  serveForever(): Future<void> {
    if (this._servingForeverFut !== null) throw new RuntimeError(`server ${this} is already being awaited on serveForever()`);
    if (this._sockets === null) throw new RuntimeError(`server ${this} is closed`);
    this._startServing();
    const fut = this._loop.createFuture<void>();
    this._servingForeverFut = fut;
    const self = this;
    return this._loop.createTask((function* (): Generator<unknown, void, unknown> {
      try {
        yield* fut;
      } catch (e) {
        if (e instanceof CancelledError) {
          self.close();
          yield* self.waitClosed();
        }
        throw e;
      } finally {
        self._servingForeverFut = null;
      }
    })());
  }

  /** Resolves once the server is closed and every accepted connection has ended. */
  waitClosed(): Future<void> {
    const f = this._loop.createFuture<void>();
    if (this._waiters === null || (this._sockets === null && this._activeCount === 0)) f.setResult(undefined);
    else this._waiters.push(f);
    return f;
  }

  /** `await using server = ...`: close and wait. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve(this.waitClosed());
  }
}
