/**
 * The running loop of this thread, and a late-bound `getEventLoop` so that
 * futures and tasks can find a default loop without importing the policy
 * module (which imports them).
 */

import { RuntimeError } from "./errors.ts";

// deno-lint-ignore no-explicit-any
type AnyLoop = any;

let running: AnyLoop | null = null;

/** @internal */
export function _setRunningLoop(loop: AnyLoop | null): void {
  running = loop;
}

/** The running loop, or null (asyncio's `_get_running_loop`). */
export function _getRunningLoop(): AnyLoop | null {
  return running;
}

/** The loop that is running now; throws RuntimeError when none is. */
export function getRunningLoop(): AnyLoop {
  if (running === null) throw new RuntimeError("no running event loop");
  return running;
}

/** @internal filled in by events.ts */
export const hooks: { getEventLoop: () => AnyLoop } = {
  getEventLoop: () => {
    throw new RuntimeError("tsyncio: the event loop policy module is not loaded");
  },
};
