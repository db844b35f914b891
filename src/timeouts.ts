/**
 * `timeout()` and `timeoutAt()`: asyncio's `asyncio.timeout` context manager,
 * as a call with a body (`async with timeout(1):` becomes
 * `await timeout(1, async (cm) => ...)`).
 *
 * Expiry cancels the task that called `timeout()`; the body runs inside that
 * task (see `runInTask`), so the cancel lands on the await the body is
 * blocked in. When the body then ends with that CancelledError, and no other
 * cancel request arrived meanwhile, it becomes a TimeoutError.
 */

import { CancelledError, RuntimeError, TimeoutError, ValueError } from "./errors.ts";
import { formatValue } from "./format.ts";
import { Future as FutureClass, type Future } from "./futures.ts";
import { type BaseEventLoop, ensureFutureOn } from "./base_events.ts";
import { type Awaitable, checkAwaitable } from "./coroutines.ts";
import { getEventLoop } from "./events.ts";
import type { TimerHandle } from "./handles.ts";
import { getRunningLoop } from "./running.ts";
import { checkBody, currentTask, runBodyWith, runInTask, type Task, type TaskLoop } from "./tasks.ts";

const CREATED = "created";
const ENTERED = "active";
const EXPIRING = "expiring";
const EXPIRED = "expired";
const EXITED = "finished";
type State = typeof CREATED | typeof ENTERED | typeof EXPIRING | typeof EXPIRED | typeof EXITED;

/** What a Timeout needs of the loop. */
interface TimeoutLoop extends TaskLoop {
  time(): number;
  callAt(when: number, cb: () => void): TimerHandle;
  callSoon(cb: () => void): { cancel(): void };
}

/** Check a deadline or delay: a number (not NaN) or null. */
function checkWhen(value: unknown, what: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "number") throw new TypeError(`${what} must be a number of seconds or null, got ${formatValue(value)}`);
  if (Number.isNaN(value)) throw new ValueError(`${what} must not be NaN`);
  return value;
}

/**
 * The deadline of a `timeout()` block (asyncio's `Timeout`), handed to the
 * body: read it with `when()`, move it with `reschedule()`, and ask
 * `expired()` whether it fired.
 */
export class Timeout {
  #state: State = CREATED;
  #when: number | null;
  #handle: { cancel(): void } | null = null;
  #task: Task<unknown> | null = null;
  #cancelling = 0;
  #loop: TimeoutLoop | null = null;

  /**
   * A deadline not yet armed (asyncio's `Timeout(when)`). `timeout()` and
   * `timeoutAt()` make the one a body receives and arm it when the block
   * starts; there is no `async with` to enter one made here.
   *
   * @param when the deadline on the loop's clock (`loop.time()`, seconds), or null for none
   */
  constructor(when: number | null) {
    this.#when = checkWhen(when, "when");
  }

  /** The deadline on the loop's clock, or null when there is none. */
  when(): number | null {
    return this.#when;
  }

  /**
   * Move the deadline (null: no deadline). A deadline already past expires
   * at once. Only while the block runs: RuntimeError before or after.
   */
  reschedule(when: number | null): void {
    if (this.#state !== ENTERED) {
      if (this.#state === CREATED) throw new RuntimeError("Timeout has not been entered");
      throw new RuntimeError(`Cannot change state of ${this.#state} Timeout`);
    }
    this.#when = checkWhen(when, "when");
    this.#handle?.cancel();
    this.#handle = null;
    if (this.#when === null) return;
    const loop = this.#loop!;
    this.#handle = this.#when <= loop.time() ? loop.callSoon(this.#onTimeout) : loop.callAt(this.#when, this.#onTimeout);
  }

  /** Whether the deadline passed and the block was cancelled for it. */
  expired(): boolean {
    return this.#state === EXPIRING || this.#state === EXPIRED;
  }

  /** asyncio's repr. */
  toString(): string {
    const when = this.#state === ENTERED ? ` when=${this.#when}` : "";
    return `<Timeout [${this.#state}]${when}>`;
  }

  /** @internal the block starts (asyncio's `__aenter__`) */
  _enter(loop: TimeoutLoop): void {
    if (this.#state !== CREATED) throw new RuntimeError("Timeout has already been entered");
    const task = currentTask(loop);
    if (task === null) throw new RuntimeError("Timeout should be used inside a task");
    this.#loop = loop;
    this.#task = task;
    this.#state = ENTERED;
    this.#cancelling = task.cancelling();
    this.reschedule(this.#when);
  }

  /**
   * @internal the block ended, with `exc` when it threw (asyncio's
   * `__aexit__`): returns the error to throw instead, or `exc` itself
   */
  _exit(threw: boolean, exc: unknown): unknown {
    this.#handle?.cancel();
    this.#handle = null;
    if (this.#state === EXPIRING) {
      this.#state = EXPIRED;
      // Only our own cancel request ends here; a newer one from outside
      // keeps propagating as CancelledError.
      if (this.#task!.uncancel() <= this.#cancelling && threw) {
        if (exc instanceof CancelledError) {
          const err = new TimeoutError();
          Object.defineProperty(err, "cause", { value: exc, writable: true, configurable: true });
          return err;
        }
      }
    } else if (this.#state === ENTERED) {
      this.#state = EXITED;
    }
    return exc;
  }

  #onTimeout = (): void => {
    this.#task!.cancel();
    this.#state = EXPIRING;
    this.#handle = null;
  };
}

/**
 * Run `body` with a deadline `delay` seconds from now (asyncio's
 * `async with asyncio.timeout(delay)`); null means no deadline, a negative
 * delay means now. When the deadline passes, the await the body is blocked
 * in is cancelled and the result rejects with `TimeoutError`. Must be called
 * from a task (RuntimeError otherwise), and runs the body in that task.
 *
 * @param delay seconds, or null
 * @param body `async (cm) => ...` (or a `function*`); `cm` is the {@link Timeout}
 * @returns a Future of the body's result
 * @example
 * ```ts
 * import { run, sleep, timeout, TimeoutError } from "tsyncio";
 * await run(async () => {
 *   try {
 *     await timeout(0.1, async () => { await sleep(10); });
 *   } catch (e) {
 *     if (e instanceof TimeoutError) console.log("timed out");
 *   }
 * });
 * ```
 */
export function timeout<T>(delay: number | null, body: (cm: Timeout) => T | PromiseLike<T> | Generator<unknown, T, unknown>): Future<T> {
  const d = checkWhen(delay, "delay");
  checkBody(body, "timeout()");
  const loop = getRunningLoop() as TimeoutLoop;
  return enterTimeout(loop, new Timeout(d === null ? null : loop.time() + d), body);
}

/**
 * Like {@link timeout}, with an absolute deadline on the loop's clock
 * (`loop.time()`): asyncio's `timeout_at`.
 *
 * @example
 * ```ts
 * import { getRunningLoop, run, sleep, timeoutAt } from "tsyncio";
 * await run(async () => {
 *   const loop = getRunningLoop();
 *   await timeoutAt(loop.time() + 1, async (cm) => { await sleep(0.01); console.log(cm.expired()); });
 * });
 * ```
 */
export function timeoutAt<T>(when: number | null, body: (cm: Timeout) => T | PromiseLike<T> | Generator<unknown, T, unknown>): Future<T> {
  const w = checkWhen(when, "when");
  checkBody(body, "timeoutAt()");
  return enterTimeout(getRunningLoop() as TimeoutLoop, new Timeout(w), body);
}

function enterTimeout<T>(loop: TimeoutLoop, cm: Timeout, body: (cm: Timeout) => unknown): Future<T> {
  cm._enter(loop);
  return runBodyWith<Timeout, T>(loop, body, cm, (threw, exc) => {
    const err = cm._exit(threw, exc);
    if (threw) throw err;
  });
}

/**
 * Wait for `aw` at most `timeout` seconds (asyncio's `wait_for`, 3.12+
 * semantics): when the time is up, `aw` is cancelled, waited for, and the
 * result rejects with `TimeoutError`; if `aw` ignores the cancellation and
 * finishes, its result wins. `timeout` null waits for ever; 0 or less
 * cancels at once unless `aw` is already done. Called outside a task, it
 * runs in a task of its own.
 *
 * @param aw a Future, a Task, a coroutine or a coroutine function
 * @param timeout seconds, or null
 * @example
 * ```ts
 * import { run, sleep, waitFor } from "tsyncio";
 * await run(async () => {
 *   console.log(await waitFor(sleep(0.01, "fast"), 1));       // "fast"
 *   await waitFor(sleep(10), 0.05).catch((e) => console.log((e as Error).name)); // "TimeoutError"
 * });
 * ```
 */
export function waitFor<T>(aw: Awaitable<T>, timeout: number | null): Future<T> {
  const t = checkWhen(timeout, "timeout");
  checkAwaitable(aw, "waitFor()");
  const loop = getEventLoop() as unknown as TimeoutLoop & BaseEventLoop;
  if (!loop.isRunning() || currentTask(loop) === null) return loop.createTask(() => waitFor<T>(aw, t));
  const fut = ensureFutureOn(aw as Future<T>, loop);
  if (t !== null && t <= 0) {
    return runInTask(loop, async () => {
      if (fut.done()) return fut.result();
      await cancelAndWait(loop, fut);
      try {
        return fut.result();
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        const err = new TimeoutError();
        Object.defineProperty(err, "cause", { value: e, writable: true, configurable: true });
        throw err;
      }
    });
  }
  return enterTimeout(loop, new Timeout(t === null ? null : loop.time() + t), () => fut);
}

/** Cancel `fut` and wait until it is done, whatever it does with the request. */
async function cancelAndWait(loop: TaskLoop, fut: Future<unknown>): Promise<void> {
  const waiter = new FutureClass<void>({ loop });
  const done = () => {
    if (!waiter.done()) waiter.setResult(undefined);
  };
  fut.addDoneCallback(done);
  try {
    fut.cancel();
    await waiter;
  } finally {
    fut.removeDoneCallback(done);
  }
}
