/**
 * The task context of every host: node:async_hooks' AsyncLocalStorage,
 * which Node, Bun and Deno all provide and all carry across awaits of
 * thenables, foreign promises and host timers (checked on Node 20, Bun 1.4
 * and Deno 2.9).
 */

import { AsyncLocalStorage } from "node:async_hooks";
import type { AsyncContext } from "../ffi/types.ts";

let context: AsyncContext | null = null;

/** The one process-wide task context, made on first use. */
export function asyncContext(): AsyncContext {
  return (context ??= new AsyncLocalStorage<unknown>());
}
