/**
 * The running loop of this thread, and a late-bound `getEventLoop` so that
 * futures and tasks can find a default loop without importing the policy
 * module (which imports them).
 */

import type { BaseEventLoop } from "./base_events.ts";
import { RuntimeError } from "./errors.ts";
// Type-only: the loop classes import this module, so a value import would be a cycle.
import type { EventLoop } from "./unix_events.ts";

let running: EventLoop | null = null;

/** @internal */
export function _setRunningLoop(loop: BaseEventLoop | null): void {
  // Typed as the platform loop, as getEventLoop() is: every loop the
  // policies make is one; a bare SelectorEventLoop run by hand is the exception.
  running = loop as EventLoop | null;
}

/** The running loop, or null (asyncio's `_get_running_loop`). */
export function _getRunningLoop(): EventLoop | null {
  return running;
}

/** The loop that is running now; throws RuntimeError when none is. */
export function getRunningLoop(): EventLoop {
  if (running === null) throw new RuntimeError("no running event loop");
  return running;
}

/** @internal filled in by events.ts */
export const hooks: { getEventLoop: () => EventLoop } = {
  getEventLoop: () => {
    throw new RuntimeError("tsyncio: the event loop policy module is not loaded");
  },
};
