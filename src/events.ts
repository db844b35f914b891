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

/** The interface of a policy: which loop is current, and how to make one. */
export class AbstractEventLoopPolicy {
  getEventLoop(): EventLoop {
    throw new RuntimeError("AbstractEventLoopPolicy.getEventLoop() is abstract");
  }
  setEventLoop(_loop: EventLoop | null): void {
    throw new RuntimeError("AbstractEventLoopPolicy.setEventLoop() is abstract");
  }
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

  override getEventLoop(): EventLoop {
    if (this.#loop === null && !this.#setCalled) this.setEventLoop(this.newEventLoop());
    if (this.#loop === null) {
      throw new RuntimeError("There is no current event loop: call setEventLoop(newEventLoop()) first");
    }
    return this.#loop;
  }

  override setEventLoop(loop: EventLoop | null): void {
    if (loop !== null && !(loop instanceof BaseEventLoop)) {
      throw new TypeError(`loop must be an event loop or null, got ${formatValue(loop)}`);
    }
    this.#setCalled = true;
    this.#loop = loop;
  }

  override newEventLoop(options?: EventLoopOptions): EventLoop {
    return new EventLoop(options);
  }
}

let policy: AbstractEventLoopPolicy | null = null;

export function getEventLoopPolicy(): AbstractEventLoopPolicy {
  return (policy ??= new DefaultEventLoopPolicy());
}

/** Set the policy; null restores the default one. */
export function setEventLoopPolicy(p: AbstractEventLoopPolicy | null): void {
  if (p !== null && !(p instanceof AbstractEventLoopPolicy)) {
    throw new TypeError(`policy must be an AbstractEventLoopPolicy or null, got ${formatValue(p)}`);
  }
  policy = p;
}

/** The running loop; otherwise the policy's current loop (created on first use). */
export function getEventLoop(): EventLoop {
  return _getRunningLoop() ?? getEventLoopPolicy().getEventLoop();
}

export function setEventLoop(loop: EventLoop | null): void {
  getEventLoopPolicy().setEventLoop(loop);
}

/** A new loop from the current policy (`{ selector: "poll" }` forces the poll selector). */
export function newEventLoop(options?: EventLoopOptions): EventLoop {
  const p = getEventLoopPolicy();
  return p instanceof DefaultEventLoopPolicy ? p.newEventLoop(options) : p.newEventLoop();
}

hooks.getEventLoop = getEventLoop;
