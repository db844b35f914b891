/**
 * Task: a Future that drives a coroutine (asyncio's `Task`).
 *
 * A generator coroutine is stepped with `next`/`throw` like asyncio's
 * `__step`: each `yield* future` suspends the task until the future is done,
 * and `cancel()` throws CancelledError into the generator at that point, so
 * its `finally` blocks run. A task over a native promise cannot interrupt the
 * promise: its `cancel()` cancels the task's own result and aborts
 * `task.signal`, which the promise's code may watch.
 */

import { CancelledError, InvalidStateError, RuntimeError } from "./errors.ts";
import { formatValue } from "./format.ts";
import { Future, type FutureLoop } from "./futures.ts";
import { type Coroutine, type GeneratorCoroutine, isGeneratorCoroutine, isPromiseLike } from "./coroutines.ts";
import { getRunningLoop, hooks } from "./running.ts";
import type { Callback } from "./handles.ts";

/** What a Task needs of its loop, beyond a Future's. */
export interface TaskLoop extends FutureLoop {
  _tasks: Set<WeakRef<Task<unknown>>>;
  _currentTask: Task<unknown> | null;
  createTask<T>(coro: Coroutine<T>, options?: TaskOptions): Task<T>;
}

export interface TaskOptions {
  name?: string;
  context?: unknown;
}

let taskCounter = 0;

// Debug mode: a task collected while still pending never finished its work.
const pendingTasks = new FinalizationRegistry<{ loop: TaskLoop; repr: string }>((held) => {
  held.loop.callExceptionHandler({ message: "Task was destroyed but it is pending!", task: held.repr });
});

export class Task<T = unknown> extends Future<T> {
  /** @internal */ _coro: Coroutine<T>;
  /** @internal */ _gen: GeneratorCoroutine<T> | null;
  /** @internal */ _name: string;
  /** @internal */ _context: unknown;
  /** @internal */ _mustCancel = false;
  /** @internal */ _futWaiter: Future<unknown> | null = null;
  /** @internal */ _numCancelsRequested = 0;
  /** @internal */ _sendValue: unknown = undefined;
  /** @internal */ _abort: AbortController | null = null;
  /** @internal the loop's weak reference to this task (tasks nobody holds may be collected, as in asyncio) */
  _weak: WeakRef<Task<unknown>>;
  declare _loop: TaskLoop;

  constructor(coro: Coroutine<T>, options: TaskOptions & { loop?: TaskLoop } = {}) {
    super({ loop: options.loop ?? hooks.getEventLoop() });
    if (isGeneratorCoroutine(coro)) {
      this._gen = coro as GeneratorCoroutine<T>;
    } else if (isPromiseLike(coro)) {
      this._gen = null;
    } else {
      throw new TypeError(`a coroutine was expected, got ${formatValue(coro)}`);
    }
    this._coro = coro;
    this._name = options.name !== undefined ? String(options.name) : `Task-${++taskCounter}`;
    this._context = options.context;
    this._weak = new WeakRef(this as Task<unknown>);
    this._loop._tasks.add(this._weak);
    if (this._loop.getDebug()) pendingTasks.register(this, { loop: this._loop, repr: this.toString() }, this);
    if (this._gen) this._loop._callSoon(this._step, [], this._context);
    else (coro as PromiseLike<T>).then(this._promiseResolved, this._promiseRejected);
  }

  /** The coroutine this task runs. */
  getCoro(): Coroutine<T> {
    return this._coro;
  }

  getName(): string {
    return this._name;
  }

  setName(value: unknown): void {
    this._name = String(value);
  }

  getContext(): unknown {
    return this._context;
  }

  /**
   * Aborted when cancellation is requested: the way for a promise coroutine
   * (which the task cannot interrupt) to learn that it should stop.
   */
  get signal(): AbortSignal {
    if (this._abort === null) {
      this._abort = new AbortController();
      if (this._numCancelsRequested > 0 || this.cancelled()) this._abort.abort(this._makeCancelledError());
    }
    return this._abort.signal;
  }

  override setResult(_result: T): never {
    throw new RuntimeError("Task does not support setResult()");
  }

  override setException(_exception: unknown): never {
    throw new RuntimeError("Task does not support setException()");
  }

  /**
   * Request cancellation. A generator task gets CancelledError thrown in at
   * its current `yield*` on the next step; a promise task is cancelled at
   * once and its `signal` aborted. Returns false if the task is done.
   */
  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    this._numCancelsRequested++;
    this._abort?.abort(new CancelledError(msg ?? ""));
    if (this._gen === null) {
      this._logTraceback = false;
      return super.cancel(msg);
    }
    if (this._futWaiter !== null && this._futWaiter.cancel(msg)) {
      // The waiter's callback (_wakeup) throws CancelledError into the coroutine.
      return true;
    }
    this._mustCancel = true;
    this._cancelMessage = msg;
    return true;
  }

  /** How many cancellation requests are pending (`cancel()` minus `uncancel()`). */
  cancelling(): number {
    return this._numCancelsRequested;
  }

  /** Decrement the pending cancellation count; returns the new count. */
  uncancel(): number {
    if (this._numCancelsRequested > 0) {
      this._numCancelsRequested--;
      if (this._numCancelsRequested === 0) this._mustCancel = false;
    }
    return this._numCancelsRequested;
  }

  override toString(): string {
    const waiter = this._futWaiter ? ` wait_for=${this._futWaiter}` : "";
    return `<Task ${this._stateInfo()} name=${JSON.stringify(this._name)}${waiter}>`;
  }

  /** @internal */
  _finish(): void {
    this._loop._tasks.delete(this._weak);
    pendingTasks.unregister(this);
  }

  /** @internal */
  _resolve(value: T): void {
    Future.prototype.setResult.call(this, value);
    this._finish();
  }

  /** @internal */
  _reject(exc: unknown): void {
    if (exc === undefined || exc === null) exc = new RuntimeError(`coroutine threw ${String(exc)}`);
    Future.prototype.setException.call(this, exc);
    this._finish();
  }

  /** @internal */
  _cancelSelf(msg?: string): void {
    Future.prototype.cancel.call(this, msg);
    this._finish();
  }

  /** @internal one step of the generator: asyncio's `Task.__step` */
  _step = (exc?: unknown): void => {
    if (this.done()) {
      throw new InvalidStateError(`_step(): already done: ${this}`);
    }
    if (this._mustCancel) {
      if (!(exc instanceof CancelledError)) exc = this._makeCancelledError();
      this._mustCancel = false;
    }
    this._futWaiter = null;
    const loop = this._loop;
    const prev = loop._currentTask;
    loop._currentTask = this as Task<unknown>;
    const gen = this._gen!;
    let r: IteratorResult<unknown, T>;
    try {
      if (exc === undefined) {
        const v = this._sendValue;
        this._sendValue = undefined;
        r = gen.next(v);
      } else {
        r = gen.throw(exc);
      }
    } catch (e) {
      loop._currentTask = prev;
      if (e instanceof CancelledError) this._cancelSelf(e.message || this._cancelMessage);
      else this._reject(e);
      return;
    }
    loop._currentTask = prev;
    if (r.done) {
      if (this._mustCancel) {
        // Cancellation was requested while the coroutine finished its last step.
        this._mustCancel = false;
        this._cancelSelf(this._cancelMessage);
      } else {
        this._resolve(r.value);
      }
      return;
    }
    this._await(r.value);
  };

  /** @internal what the generator yielded decides when the next step runs */
  _await(v: unknown): void {
    const loop = this._loop;
    if (v instanceof Future) {
      if (v._asyncioFutureBlocking) {
        if (v._loop !== loop) {
          loop._callSoon(this._step, [new RuntimeError(`Task ${this} got Future ${v} attached to a different loop`)]);
          return;
        }
        if (v === (this as unknown)) {
          loop._callSoon(this._step, [new RuntimeError(`Task cannot await on itself: ${this}`)]);
          return;
        }
        v._asyncioFutureBlocking = false;
        v.addDoneCallback(this._wakeup as Callback, { context: this._context });
        this._futWaiter = v;
        if (this._mustCancel && v.cancel(this._cancelMessage)) this._mustCancel = false;
        return;
      }
      loop._callSoon(this._step, [
        new RuntimeError(`yield was used instead of yield* in task ${this} with ${v}`),
      ]);
      return;
    }
    if (v === undefined) {
      // A bare `yield`: let other callbacks run, as `await sleep(0)` does.
      loop._callSoon(this._step, [], this._context);
      return;
    }
    if (isPromiseLike(v)) {
      // Convenience beyond asyncio: `const x = yield promise` waits for a
      // native promise and sends its value back (rejections are thrown in).
      const waiter = new Future<unknown>({ loop });
      v.then((x) => {
        if (!waiter.done()) waiter.setResult(x);
      }, (e) => {
        if (!waiter.done()) waiter.setException(e ?? new RuntimeError("promise rejected"));
      });
      waiter.addDoneCallback((f: Future<unknown>) => {
        if (!f.cancelled() && f.exception() === null) this._sendValue = f.result();
        this._wakeup(f);
      });
      this._futWaiter = waiter;
      if (this._mustCancel && waiter.cancel(this._cancelMessage)) this._mustCancel = false;
      return;
    }
    loop._callSoon(this._step, [new RuntimeError(`Task got bad yield: ${formatValue(v)}`)]);
  }

  /** @internal the awaited future is done: step with its outcome */
  _wakeup = (fut: Future<unknown>): void => {
    let exc: unknown;
    try {
      fut.result();
    } catch (e) {
      exc = e;
    }
    if (exc === undefined) this._step();
    else this._step(exc);
  };

  /** @internal */
  // Typed `unknown`, not T: a function-typed field taking T would make
  // Task<T> invariant (a Task<void> would not be a Task<unknown>).
  _promiseResolved = (value: unknown): void => {
    if (!this.done()) this._resolve(value as T);
  };

  /** @internal */
  _promiseRejected = (exc: unknown): void => {
    if (this.done()) return;
    if (exc instanceof CancelledError) this._cancelSelf(exc.message);
    else this._reject(exc);
  };
}

/** The task running now on `loop` (default: the running loop), or null. */
export function currentTask(loop?: TaskLoop): Task<unknown> | null {
  const l = loop ?? (getRunningLoop() as TaskLoop);
  return l._currentTask;
}

/** The tasks of `loop` (default: the running loop) that are not done yet. */
export function allTasks(loop?: TaskLoop): Set<Task<unknown>> {
  const l = loop ?? (getRunningLoop() as TaskLoop);
  const out = new Set<Task<unknown>>();
  for (const ref of l._tasks) {
    const t = ref.deref();
    if (t && !t.done()) out.add(t);
  }
  return out;
}
