/**
 * Obtaining the event loop, and event loop policies (asyncio's `events.py`).
 */

import { RuntimeError } from "./errors.ts";
import type { EventLoopOptions } from "./selector_events.ts";
import { EventLoop } from "./unix_events.ts";
import { BaseEventLoop } from "./base_events.ts";
import { _getRunningLoop, getRunningLoop, hooks } from "./running.ts";
import { formatValue } from "./format.ts";

export { getRunningLoop };

/**
 * The interface of a policy (asyncio's `AbstractEventLoopPolicy`): which
 * loop is current, and how to make one. Extend it and install it with
 * `setEventLoopPolicy` to change what `getEventLoop`/`newEventLoop` return;
 * every method here throws RuntimeError until overridden.
 */
export class AbstractEventLoopPolicy {
  /** The current loop: what `getEventLoop()` returns when no loop is running. */
  getEventLoop(): EventLoop {
    throw new RuntimeError("AbstractEventLoopPolicy.getEventLoop() is abstract");
  }
  /** Make `loop` the current loop (null: none). */
  setEventLoop(_loop: EventLoop | null): void {
    throw new RuntimeError("AbstractEventLoopPolicy.setEventLoop() is abstract");
  }
  /** A new loop, not made current: what `newEventLoop()` returns. */
  newEventLoop(): EventLoop {
    throw new RuntimeError("AbstractEventLoopPolicy.newEventLoop() is abstract");
  }
}

/**
 * The default policy: one current loop, created on first use unless
 * `setEventLoop(null)` was called explicitly.
 */
export class DefaultEventLoopPolicy extends AbstractEventLoopPolicy {
  #loop: EventLoop | null = null;
  #setCalled = false;

  /** The current loop, created on first use; RuntimeError after `setEventLoop(null)`. */
  override getEventLoop(): EventLoop {
    if (this.#loop === null && !this.#setCalled) this.setEventLoop(this.newEventLoop());
    if (this.#loop === null) {
      throw new RuntimeError("There is no current event loop: call setEventLoop(newEventLoop()) first");
    }
    return this.#loop;
  }

  /** Make `loop` current; null means no current loop, and none is created on demand. */
  override setEventLoop(loop: EventLoop | null): void {
    if (loop !== null && !(loop instanceof BaseEventLoop)) {
      throw new TypeError(`loop must be an event loop or null, got ${formatValue(loop)}`);
    }
    this.#setCalled = true;
    this.#loop = loop;
  }

  /** A new EventLoop (`{ selector: "poll" }` forces the poll selector). */
  override newEventLoop(options?: EventLoopOptions): EventLoop {
    return new EventLoop(options);
  }
}

let policy: AbstractEventLoopPolicy | null = null;

/** The installed policy (asyncio's `get_event_loop_policy`); a DefaultEventLoopPolicy unless one was set. */
export function getEventLoopPolicy(): AbstractEventLoopPolicy {
  return (policy ??= new DefaultEventLoopPolicy());
}

/** Install a policy (asyncio's `set_event_loop_policy`); null restores the default one. */
export function setEventLoopPolicy(p: AbstractEventLoopPolicy | null): void {
  if (p !== null && !(p instanceof AbstractEventLoopPolicy)) {
    throw new TypeError(`policy must be an AbstractEventLoopPolicy or null, got ${formatValue(p)}`);
  }
  policy = p;
}

/**
 * The running loop; otherwise the policy's current loop, created on first
 * use (asyncio's `get_event_loop`).
 */
export function getEventLoop(): EventLoop {
  return _getRunningLoop() ?? getEventLoopPolicy().getEventLoop();
}

/**
 * Make `loop` the current loop of the policy (asyncio's `set_event_loop`):
 * what `getEventLoop()` returns outside a running loop. null: none.
 */
export function setEventLoop(loop: EventLoop | null): void {
  getEventLoopPolicy().setEventLoop(loop);
}

/**
 * A new loop from the current policy (asyncio's `new_event_loop`); it is not
 * made current. `{ selector: "poll" }` forces the poll selector (the
 * default policy only).
 */
export function newEventLoop(options?: EventLoopOptions): EventLoop {
  const p = getEventLoopPolicy();
  return p instanceof DefaultEventLoopPolicy ? p.newEventLoop(options) : p.newEventLoop();
}

hooks.getEventLoop = getEventLoop;
