/**
 * The contract between the shared core (`src/`) and one host runtime
 * (`runtimes/`). The core never touches `Deno`, `Bun`, `process` or `koffi`;
 * it sees only a {@link Native}. Adding a runtime means adding one file in
 * `runtimes/` that returns this shape.
 *
 * Conventions every adapter keeps:
 * - libc functions are called with plain numbers and `Uint8Array`s (a
 *   `Uint8Array` argument is passed as a pointer to its first byte); they
 *   return a number (`-1` on failure, then `errno()` says why). `ssize_t`
 *   results are narrowed to 32 bits: we never move 2 GiB in one call.
 * - Out-buffers handed to libc are views of an explicit `ArrayBuffer`
 *   (bun:ffi relocates small GC-heap arrays; FFI-NOTES.md §2).
 * - Nothing here blocks the JavaScript thread except the libc calls the
 *   caller chose to make blocking.
 */

import type { LibcSymbols } from "./libc.ts";

/** Neutral C types used by the symbol table. */
export type CType =
  | "i32" // int
  | "u32" // unsigned int
  | "i64" // long, off_t
  | "usize" // size_t, nfds_t (passed full width)
  | "ssize" // ssize_t result, narrowed to 32 bits
  | "buf" // pointer to JavaScript memory (Uint8Array), or null for NULL
  | "ptr" // raw pointer returned by C (a Pointer token), or null for NULL
  | "cstr" // const char * result, returned as a JavaScript string
  | "void";

export interface SymbolDef {
  /** Parameter types, in order. */
  readonly params: readonly CType[];
  readonly result: CType;
  /** Missing on some systems: the adapter binds `null` instead of failing. */
  readonly optional?: boolean;
  /**
   * Bound only on this OS (`null` elsewhere): for symbols whose prototype
   * differs between systems under the same name (Linux and macOS `sendfile`).
   */
  readonly os?: "linux" | "darwin";
  /**
   * May block for long (name resolution): besides the ordinary synchronous
   * binding, the adapter can run it on another thread through
   * {@link Native.callBlocking}. Such symbols take only numbers, `buf` and
   * `ptr` arguments and return an integer.
   */
  readonly blocking?: boolean;
}

/** The names of the symbols marked `blocking: true` in the libc table. */
export type BlockingSymbol = {
  [K in keyof LibcSymbols]: LibcSymbols[K] extends { blocking: true } ? K : never;
}[keyof LibcSymbols];

declare const pointerBrand: unique symbol;

/**
 * A raw pointer that C handed back (a `ptr` result, or one read from memory
 * with {@link Native.readPointer} / {@link Native.pointerFromBuffer}). It is
 * opaque to the core: pass it back to C as a `ptr` argument, test it with
 * {@link Native.isNull}, read through it with the `read*` methods. Each
 * adapter uses its host's own representation (Deno: `PointerObject | null`;
 * Bun: a number, 0 for NULL; koffi 3: a BigInt, or `null` for NULL), so
 * never compare, add to or print one.
 */
export type Pointer = { readonly [pointerBrand]: true };

/** A bound symbol table: one function per symbol (or null when optional and absent). */
export type Bound<T extends Record<string, SymbolDef>> = {
  // deno-lint-ignore no-explicit-any
  [K in keyof T]: T[K] extends { optional: true } ? ((...args: any[]) => any) | null
    // deno-lint-ignore no-explicit-any
    : (...args: any[]) => any;
};

/** The bound libc table. */
export type Libc = Bound<LibcSymbols>;

/**
 * A JavaScript function C can call through a function pointer (made with
 * {@link Native.makeCallback}). Only synchronous calls on the JavaScript
 * thread are supported: C may call it while the core is inside an FFI call
 * (OpenSSL's ALPN selection during `SSL_do_handshake`), never from another
 * thread. Keep it alive while C may call it; `close()` frees it.
 */
export interface NativeCallback {
  /** The C function pointer, to pass as a `ptr` argument. */
  readonly pointer: Pointer;
  close(): void;
}

/**
 * Parks until one of a set of descriptors is ready, without holding the
 * JavaScript thread. Made by {@link Native.createParker}; one per selector.
 *
 * `park(pollfds, nfds, cb)`: `pollfds` is an array of `struct pollfd`
 * (8 bytes each); `cb` is called once, on the JavaScript thread, some time
 * after one of them became ready or after `unpark()`... never while the
 * caller is inside `park`. A parker may return spuriously: the caller always
 * re-harvests with a zero-timeout poll. `dedicated` says the set is one
 * private descriptor (an epoll fd) that the adapter may watch any way it likes.
 *
 * `unpark()`: the caller no longer waits. Cheap parkers stop at once; parkers
 * that block a thread leave it parked (the next `park` reuses it) unless
 * `release` is true, which frees the thread so the process can exit.
 */
export interface Parker {
  park(pollfds: Uint8Array, nfds: number, cb: () => void, dedicated?: boolean): void;
  unpark(release: boolean): void;
  close(): void;
}

/** A worker thread running inline source (see {@link Native.startWorker}). */
export interface HostWorker {
  postMessage(msg: unknown): void;
  /** Keep (true) or stop keeping (false) the process alive for this worker. */
  ref(on: boolean): void;
  terminate(): void;
}

/**
 * One async context variable (the host's `AsyncLocalStorage`): a value that
 * follows a function into every continuation of the async work it starts.
 * The core keeps the current task in it (see {@link Native.asyncContext}).
 */
export interface AsyncContext {
  /** Call `fn` with the context set to `store`; continuations it starts see `store` too. */
  run<R>(store: unknown, fn: () => R): R;
  /** The value set by the innermost enclosing `run`, or undefined. */
  getStore(): unknown;
}

export interface Native {
  readonly runtime: "node" | "bun" | "deno";
  readonly os: "linux" | "darwin";
  readonly arch: "x64" | "arm64";
  readonly libc: Libc;
  /** errno of the last failed libc call made on this thread. */
  errno(): number;
  /** Monotonic milliseconds (a cheap clock; the core anchors it to CLOCK_MONOTONIC). */
  now(): number;
  /** Run `cb` in a later macrotask, after pending promise continuations. */
  macrotask(cb: () => void): void;
  /** A host timer; `ref=false` lets the process exit while it is pending. */
  setTimer(cb: () => void, ms: number): unknown;
  clearTimer(t: unknown): void;
  /** Hold the process alive until the returned function is called. */
  keepAlive(): () => void;
  createParker(): Parker;
  /**
   * Start a worker thread running `source`, a script that may use
   * `hostPost(msg)` and `hostOnMessage(fn)` (the adapter defines both) and
   * dynamic `import()`. `onMessage` receives what the worker posts;
   * `onError` receives an uncaught error from it.
   */
  startWorker(source: string, onMessage: (msg: unknown) => void, onError: (err: unknown) => void): HostWorker;
  /** Number of CPUs available to this process. */
  cpuCount(): number;
  /**
   * The task context: one process-wide {@link AsyncContext}, made on the first
   * call (on Node, merely making one costs nothing; running code in it turns
   * promise tracking on, so the core asks only once a task needs it).
   */
  asyncContext(): AsyncContext;
  /**
   * Call `cb` once when the host may be about to give up on the main
   * module: on Node when its event loop drains ('beforeExit'; an unsettled
   * top-level await then exits with status 13), elsewhere after `ms` of a
   * timer that does not keep the process alive (Bun never exits with an
   * unsettled top-level await; Deno exits only after such timers ran).
   */
  onHostIdle(cb: () => void, ms: number): void;

  // ---- other libraries ----

  /**
   * Open the first of `paths` (dlopen names or absolute paths) that loads
   * and has every non-optional symbol of `symbols`, and bind the table the
   * way `libc` is bound; null when none does (the caller decides whether
   * that is an error: libssl is only needed once TLS is used).
   *
   * The library's own calls resolve inside itself and its dependencies
   * first (RTLD_DEEPBIND on Node): the Node binary exports its statically
   * linked OpenSSL, which would otherwise interpose on libssl's calls into
   * libcrypto, so errors would land in Node's error queue, not ours.
   */
  loadLibrary<T extends Record<string, SymbolDef>>(paths: readonly string[], symbols: T): Bound<T> | null;
  /**
   * A C function pointer that calls `fn` (see {@link NativeCallback}).
   * Parameters typed `ptr` arrive as {@link Pointer}s, integers as numbers;
   * `result` is an integer type or `void`.
   */
  makeCallback(params: readonly CType[], result: CType, fn: (...args: never[]) => number | void): NativeCallback;
  /**
   * Listen for a signal ("SIGINT") through the host's own signal API: a libc
   * handler cannot call into JavaScript, and signalfd loses the race with the
   * host's other threads (FFI-NOTES.md §5). Throws when the host refuses the
   * signal (SIGKILL, SIGSTOP, ...). A listener does not keep the process alive.
   */
  addSignalListener(name: string, fn: () => void): void;
  removeSignalListener(name: string, fn: () => void): void;

  // ---- off-thread calls ----

  /**
   * Call the libc symbol `name` (marked `blocking: true` in the table) on
   * another thread and resolve with its integer result; the JavaScript
   * thread keeps running. `errno` of the call is lost (it belongs to the
   * other thread): use symbols that return their error code (getaddrinfo).
   * The process stays alive while a call is pending.
   *
   * Buffer arguments must not be touched until the promise settles. Allocate
   * them with {@link allocShared}: on hosts whose off-thread calls run in a
   * worker (Bun) only shared memory is seen by both sides; any other
   * `Uint8Array` is copied there and back, which works but costs two copies.
   * Deno: a `nonblocking` twin of the symbol on Deno's blocking pool;
   * Node: koffi's `fn.async` on libuv's thread pool; Bun: one worker that
   * runs the calls one after another.
   */
  callBlocking(name: BlockingSymbol, ...args: unknown[]): Promise<number>;
  /** `n` zeroed bytes for {@link callBlocking} arguments (SharedArrayBuffer-backed where that matters). */
  allocShared(n: number): Uint8Array;

  // ---- foreign memory ----

  /** A copy of `len` bytes at `ptr + offset` (memory owned by C). */
  readBytes(ptr: Pointer, offset: number, len: number): Uint8Array;
  /** The pointer stored at `ptr + offset` (a `void *` field of a C struct). */
  readPointer(ptr: Pointer, offset: number): Pointer;
  /** The NUL-terminated UTF-8 string at `ptr + offset`. */
  readCString(ptr: Pointer, offset?: number): string;
  /** Whether `ptr` is NULL. */
  isNull(ptr: Pointer): boolean;
  /** The pointer stored (native-endian) in `buf` at `offset`: the out-value of a `T **` parameter. */
  pointerFromBuffer(buf: Uint8Array, offset: number): Pointer;
  /**
   * The address of `buf`'s first byte, for building C structs that point
   * into JavaScript memory (`struct iovec` for writev). Valid only while
   * `buf` is alive and only for a call made synchronously afterwards; `buf`
   * must be a view of an explicit `ArrayBuffer` (bun:ffi may move small
   * GC-heap arrays: FFI-NOTES.md §2).
   */
  addressOf(buf: Uint8Array): bigint;
}
