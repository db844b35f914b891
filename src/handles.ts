/**
 * Handle and TimerHandle: a callback with its arguments, scheduled on a loop
 * (asyncio's `events.Handle` / `events.TimerHandle`).
 */

import { formatCallback } from "./format.ts";

/**
 * A callback the loop calls with the arguments it was scheduled with
 * (`callSoon(cb, ...args)`, `addReader(fd, cb, ...args)`, ...); what it
 * returns is ignored.
 */
// `never[]`, not `unknown[]`: a callback typed `(n: number) => void` must be
// accepted, and `any` must not reach a consumer's code.
export type Callback = (...args: never[]) => unknown;

/** What a handle needs of its loop (kept narrow to avoid an import cycle). */
export interface HandleLoop {
  callExceptionHandler(context: Record<string, unknown>): void;
  _timerHandleCancelled(h: TimerHandle): void;
  getDebug(): boolean;
}

/**
 * A callback scheduled by `callSoon`, `addReader` and friends (asyncio's
 * `events.Handle`): keep it to cancel the call.
 */
export class Handle {
  /** @internal */ _callback: Callback | null;
  /** @internal */ _args: unknown[] | null;
  /** @internal */ _loop: HandleLoop;
  /** @internal */ _cancelled = false;
  /** @internal */ _context: unknown;
  /** @internal */ _repr: string | null = null;

  /** @internal handles are made by the loop's scheduling methods */
  constructor(callback: Callback, args: unknown[], loop: HandleLoop, context?: unknown) {
    this._callback = callback;
    this._args = args;
    this._loop = loop;
    this._context = context;
  }

  /** Cancel the callback; a no-op once it ran or was cancelled. */
  cancel(): void {
    if (this._cancelled) return;
    this._cancelled = true;
    if (this._loop.getDebug()) this._repr = this.toString();
    this._callback = null;
    this._args = null;
  }

  /** True when the callback was cancelled. */
  cancelled(): boolean {
    return this._cancelled;
  }

  /** The context given when the callback was scheduled. */
  getContext(): unknown {
    return this._context;
  }

  /**
   * Run the callback; an exception goes to the loop's exception handler.
   * Returns what the callback returned (debug mode inspects it).
   * @internal
   */
  _run(): unknown {
    const cb = this._callback!;
    const args = this._args!;
    try {
      return args.length === 0 ? cb() : cb(...(args as never[]));
    } catch (exc) {
      this._loop.callExceptionHandler({
        message: `Exception in callback ${formatCallback(cb, args)}`,
        exception: exc,
        handle: this,
      });
      return undefined;
    }
  }

  /** `<Handle callback(args)>`, for logs and debugging. */
  toString(): string {
    if (this._repr) return this._repr;
    const parts = [this.constructor.name];
    if (this._cancelled) parts.push("cancelled");
    if (this._callback) parts.push(formatCallback(this._callback, this._args ?? []));
    return `<${parts.join(" ")}>`;
  }
}

let timerSeq = 0;

/** A callback scheduled for a point in time by `callLater`/`callAt` (asyncio's `events.TimerHandle`). */
export class TimerHandle extends Handle {
  /** @internal */ _when: number;
  /** @internal tie-breaker: equal deadlines run in scheduling order */ _seq: number;
  /** @internal */ _scheduled = false;

  /** @internal timer handles are made by `callLater`/`callAt` */
  constructor(when: number, callback: Callback, args: unknown[], loop: HandleLoop, context?: unknown) {
    super(callback, args, loop, context);
    this._when = when;
    this._seq = timerSeq++;
  }

  /** The absolute time (in `loop.time()` seconds) the callback is due. */
  when(): number {
    return this._when;
  }

  /** Cancel the callback; the loop drops cancelled timers lazily, in bulk once they are many. */
  override cancel(): void {
    if (!this._cancelled) this._loop._timerHandleCancelled(this);
    super.cancel();
  }

  /** `<TimerHandle callback(args) when=...>`, for logs and debugging. */
  override toString(): string {
    const s = super.toString();
    return `${s.slice(0, -1)} when=${this._when.toFixed(3)}>`;
  }
}
