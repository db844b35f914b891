/**
 * Future: a result that will be available later (asyncio's `Future`).
 *
 * Done callbacks are always scheduled on the loop with `callSoon`, never run
 * inline. A Future is awaitable from `async` code (`then`) and iterable from
 * generator coroutines (`const x = yield* fut`, Python's `yield from fut`).
 */

import { CancelledError, InvalidStateError, RuntimeError } from "./errors.ts";
import { formatValue } from "./format.ts";
import type { Callback } from "./handles.ts";
import { hooks } from "./running.ts";
import { noteAwaitWhileStopped } from "./not_running.ts";
import type { AsyncContext } from "../ffi/types.ts";

/**
 * What a task whose context a `then` call runs in is told (a Task; this
 * module cannot import tasks.ts, which imports it).
 * @internal
 */
export interface ContextTask {
  /** The code of the task awaits `fut`: asyncio's `_fut_waiter`. */
  _awaiting(fut: Future<unknown>): void;
  /**
   * `fut` settled and the awaiting code is about to resume: true when a
   * cancel request arrived meanwhile, so the await throws CancelledError
   * instead (as asyncio's `__step` does with `_must_cancel`).
   */
  _awaited(fut: Future<unknown>): boolean;
  /** The CancelledError to throw for such a request. */
  _makeCancelledError(): CancelledError;
  /** Take a kept cancel request, if there is one (the code awaits a future that is already done). */
  _takeCancelRequest(): boolean;
}

/**
 * The task context (the host's AsyncLocalStorage), set once a task made from
 * a coroutine function needs it; null until then, so programs that never
 * make one pay nothing for it.
 * @internal
 */
export const taskContext: { current: AsyncContext | null } = { current: null };

/**
 * What a Future needs of its loop: every event loop of this library is one.
 * A structural type rather than the loop class, because the loop module
 * imports this one.
 */
export interface FutureLoop {
  /** @internal */
  _callSoon(cb: Callback, args: unknown[], context?: unknown): unknown;
  /** Reports an exception nobody retrieved (asyncio's `loop.call_exception_handler`). */
  callExceptionHandler(context: Record<string, unknown>): void;
  /** Whether the loop is in debug mode (asyncio's `loop.get_debug`). */
  getDebug(): boolean;
  /** Whether the loop is closed (asyncio's `loop.is_closed`). */
  isClosed(): boolean;
  /** Whether the loop is running (asyncio's `loop.is_running`). */
  isRunning(): boolean;
  /** @internal Called when a promise continuation became ready, so the loop lets microtasks run. */
  _microtaskReady(): void;
  /** @internal Set for a continuation that needs no wake-up: the loop runs, or parks anyway. */
  _microtasks: boolean;
}

/** A settled promise whose reactions carry a done future's result to its awaiter. */
const RESOLVED: Promise<void> = Promise.resolve();

const PENDING = 0;
const CANCELLED = 1;
const FINISHED = 2;
const stateNames = ["PENDING", "CANCELLED", "FINISHED"];

// A Future whose exception nobody looked at is reported when it is collected.
const unretrieved = new FinalizationRegistry<{ loop: FutureLoop; exc: unknown; repr: string }>((held) => {
  held.loop.callExceptionHandler({
    message: `${held.repr.startsWith("<Task") ? "Task" : "Future"} exception was never retrieved`,
    exception: held.exc,
    future: held.repr,
  });
});

/**
 * A copy of an error (same class, message, stack and own fields) that does
 * not pin what its stack trace saw. Hosts keep the call sites of an error
 * alive with it (V8 until the stack is formatted, Deno for as long as the
 * error lives), and those hold the future: as a finalizer's held value, the
 * original would keep its own target alive forever.
 */
function detachError(exc: unknown): unknown {
  if (!(exc instanceof Error)) return exc;
  const copy = Object.create(Object.getPrototypeOf(exc));
  for (const key of Object.getOwnPropertyNames(exc)) {
    Object.defineProperty(copy, key, { value: (exc as unknown as Record<string, unknown>)[key], writable: true, configurable: true });
  }
  return copy;
}

/** The options of `new Future` (asyncio's `Future(*, loop=None)`). */
export interface FutureOptions {
  /** The loop the future belongs to (default: `getEventLoop()`). */
  loop?: FutureLoop;
}

/**
 * A result that will be available later (asyncio's `Future`). Await it from
 * `async` code, or `yield*` it in a generator coroutine; its done callbacks
 * run on the loop, never inline, so `setResult` never runs user code.
 *
 * @example
 * ```ts
 * import { Future, getRunningLoop, run } from "tsyncio";
 * await run(async () => {
 *   const fut = new Future<string>();
 *   fut.addDoneCallback((f) => console.log("callback saw", f.result()));
 *   getRunningLoop().callLater(0.01, () => fut.setResult("ready"));
 *   console.log(await fut); // "ready"
 * });
 * ```
 */
export class Future<T = unknown> implements PromiseLike<T> {
  /** @internal */ _state = PENDING;
  /** @internal */ _result: T | undefined = undefined;
  /** @internal */ _exception: unknown = undefined;
  /** @internal */ _loop: FutureLoop;
  /** @internal */ _callbacks: Callback[] | null = null;
  /** @internal */ _contexts: unknown[] | null = null;
  /** @internal */ _cancelMessage: string | undefined = undefined;
  /** @internal */ _cancelledExc: CancelledError | null = null;
  /** @internal */ _logTraceback = false;
  /**
   * @internal the result of a body run as part of the awaiting task
   * (`timeout()`, `lock.use()`): awaiting it does not make it the task's
   * waiter, so a cancel reaches the await inside the body instead
   */
  _transparent = false;
  /** @internal set while a Task waits on this future (Python's `_asyncio_future_blocking`) */
  _asyncioFutureBlocking = false;

  /**
   * A pending future on `options.loop` (default: `getEventLoop()`). As in
   * asyncio, `loop.createFuture()` is the preferred spelling: it leaves the
   * loop free to choose the Future class.
   */
  constructor(options: FutureOptions = {}) {
    this._loop = options.loop ?? hooks.getEventLoop();
  }

  /** The loop this future is bound to. */
  getLoop(): FutureLoop {
    return this._loop;
  }

  /** Cancel the future and schedule its callbacks; false if it was already done. */
  cancel(msg?: string): boolean {
    this._logTraceback = false;
    if (this._state !== PENDING) return false;
    this._state = CANCELLED;
    this._cancelMessage = msg;
    this._scheduleCallbacks();
    return true;
  }

  /** Whether the future was cancelled (asyncio's `Future.cancelled`). */
  cancelled(): boolean {
    return this._state === CANCELLED;
  }

  /** Whether the future has a result, an exception, or was cancelled (asyncio's `Future.done`). */
  done(): boolean {
    return this._state !== PENDING;
  }

  /**
   * The result. Throws CancelledError if cancelled, InvalidStateError if not
   * done yet, and the exception if one was set.
   */
  result(): T {
    if (this._state === CANCELLED) throw this._makeCancelledError();
    if (this._state !== FINISHED) throw new InvalidStateError("Result is not ready.");
    this._retrieved();
    if (this._exception !== undefined) throw this._exception;
    return this._result as T;
  }

  /** The exception set on the future, or null. Throws like `result()` when there is none yet. */
  exception(): unknown {
    if (this._state === CANCELLED) throw this._makeCancelledError();
    if (this._state !== FINISHED) throw new InvalidStateError("Exception is not set.");
    this._retrieved();
    return this._exception === undefined ? null : this._exception;
  }

  /** Call `fn(future)` (through `callSoon`) once the future is done. */
  addDoneCallback(fn: (fut: this) => unknown, options: { context?: unknown } = {}): void {
    if (typeof fn !== "function") throw new TypeError(`addDoneCallback() needs a function, got ${formatValue(fn)}`);
    if (this._state !== PENDING) {
      this._loop._callSoon(fn, [this], options.context);
      return;
    }
    this._addCallback(fn, options.context);
  }

  /** Remove every registration of `fn`; returns how many were removed. */
  removeDoneCallback(fn: (fut: this) => unknown): number {
    const cbs = this._callbacks;
    if (!cbs) return 0;
    let removed = 0;
    for (let i = cbs.length - 1; i >= 0; i--) {
      if (cbs[i] === fn) {
        cbs.splice(i, 1);
        this._contexts?.splice(i, 1);
        removed++;
      }
    }
    return removed;
  }

  /** Mark the future done with a result. InvalidStateError if it is done already. */
  setResult(result: T): void {
    if (this._state !== PENDING) throw this._invalidState();
    this._result = result;
    this._state = FINISHED;
    this._scheduleCallbacks();
  }

  /** Mark the future done with an exception (an error, or an error class to instantiate). */
  setException(exception: unknown): void {
    if (this._state !== PENDING) throw this._invalidState();
    if (typeof exception === "function") exception = new (exception as new () => unknown)();
    if (exception === undefined || exception === null) {
      throw new TypeError("setException() needs an exception, got " + String(exception));
    }
    if (exception instanceof CancelledError) {
      // As asyncio 3.8+: a CancelledError is not an ordinary exception result.
      throw new TypeError("CancelledError cannot be set as an exception: use cancel()");
    }
    this._exception = exception;
    this._state = FINISHED;
    this._scheduleCallbacks();
    this._logTraceback = true;
    unretrieved.register(this, { loop: this._loop, exc: detachError(exception), repr: this.toString() }, this);
  }

  /** Awaitable from async code: resolves with the result, rejects with the exception. */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    // Awaited from a task's code: that task now waits on this future, so
    // cancelling the task cancels it (asyncio's `_fut_waiter`).
    let waiter: ContextTask | undefined;
    let cancelNow = false;
    if (this._state === PENDING && !this._loop.isRunning()) noteAwaitWhileStopped(this);
    if (taskContext.current !== null && !this._transparent) {
      waiter = taskContext.current.getStore() as ContextTask | undefined;
      if (waiter === (this as unknown)) waiter = undefined;
      else if (waiter !== undefined) {
        // A JavaScript await always suspends, even on a done future: a
        // cancel request kept for the task is delivered here either way.
        if (this._state === PENDING) waiter._awaiting(this);
        else cancelNow = waiter._takeCancelRequest();
      }
    }
    if (cancelNow) return Promise.reject(waiter!._makeCancelledError()).then(onFulfilled, onRejected);
    if (this._state !== PENDING) {
      // The continuation is one microtask away: the loop must not spin
      // before it runs. A parked loop need not wake for it.
      this._loop._microtasks = true;
      if (this._state === FINISHED && this._exception === undefined && typeof onFulfilled === "function") {
        // One promise per await, not two (each costs a promise hook on Node).
        const result = this._result as T;
        return RESOLVED.then(() => onFulfilled(result));
      }
      return this._settledPromise().then(onFulfilled, onRejected);
    }
    // Pending: one promise, settled from the done callback by calling the
    // reactions directly (for `await`, V8's resume functions). A promise
    // settled first and chained after would cost a second promise and a
    // second microtask hop per await.
    return new Promise<R1 | R2>((resolve, reject) => {
      this._addCallback(() => {
        try {
          if (waiter?._awaited(this)) {
            this._retrieved();
            const err = waiter._makeCancelledError();
            if (typeof onRejected === "function") resolve(onRejected(err));
            else reject(err);
          } else if (this._state === FINISHED && this._exception === undefined) {
            if (typeof onFulfilled === "function") resolve(onFulfilled(this._result as T));
            else resolve(this._result as unknown as R1);
          } else {
            const err = this._state === CANCELLED ? this._makeCancelledError() : this._exception;
            this._retrieved();
            if (typeof onRejected === "function") resolve(onRejected(err));
            else reject(err);
          }
        } catch (e) {
          reject(e);
        }
        this._loop._microtaskReady();
      });
    });
  }

  /** @internal a promise settled as this done future is */
  _settledPromise(): Promise<T> {
    if (this._state === FINISHED && this._exception === undefined) return Promise.resolve(this._result as T);
    const err = this._state === CANCELLED ? this._makeCancelledError() : this._exception;
    this._retrieved();
    return Promise.reject(err);
  }

  /** As `Promise.prototype.catch`, so a Future can stand where a promise is expected. */
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onRejected);
  }

  /** As `Promise.prototype.finally`, so a Future can stand where a promise is expected. */
  finally(onFinally?: (() => void) | null): Promise<T> {
    return Promise.resolve(this).finally(onFinally);
  }

  /** `yield* fut` inside a generator coroutine waits for it and returns its result. */
  *[Symbol.iterator](): Generator<Future<T>, T, unknown> {
    if (this._state === PENDING) {
      this._asyncioFutureBlocking = true;
      yield this;
    }
    if (this._state === PENDING) throw new RuntimeError("yield* was not used with a future inside a Task");
    return this.result();
  }

  /** A debugging description: the class, the state and the result or exception. */
  toString(): string {
    return `<${this.constructor.name} ${this._stateInfo()}>`;
  }

  /** @internal */
  _stateInfo(): string {
    const state = stateNames[this._state].toLowerCase();
    if (this._state !== FINISHED) return state;
    return this._exception !== undefined
      ? `${state} exception=${String(this._exception)}`
      : `${state} result=${formatValue(this._result)}`;
  }

  /** @internal */
  _makeCancelledError(): CancelledError {
    if (this._cancelledExc) return this._cancelledExc;
    return (this._cancelledExc = new CancelledError(this._cancelMessage ?? ""));
  }

  /** @internal */
  _addCallback(fn: Callback, context?: unknown): void {
    (this._callbacks ??= []).push(fn);
    if (context !== undefined || this._contexts) {
      (this._contexts ??= new Array(this._callbacks.length - 1).fill(undefined)).push(context);
    }
  }

  /** @internal */
  _scheduleCallbacks(): void {
    const cbs = this._callbacks;
    if (!cbs) return;
    const ctx = this._contexts;
    this._callbacks = null;
    this._contexts = null;
    const args = [this];
    for (let i = 0; i < cbs.length; i++) this._loop._callSoon(cbs[i], args, ctx ? ctx[i] : undefined);
  }

  /** @internal */
  _retrieved(): void {
    if (this._logTraceback) {
      this._logTraceback = false;
      unretrieved.unregister(this);
    }
  }

  /** @internal */
  _invalidState(): InvalidStateError {
    return new InvalidStateError(`invalid state: ${stateNames[this._state]}: ${this}`);
  }
}

/** True for an asyncio-style future (this library's Future or Task). */
export function isFuture(obj: unknown): obj is Future {
  return obj instanceof Future;
}
