/**
 * Picks the adapter for the host at import time. The only module that asks
 * which runtime this is; everything else receives a {@link Native}.
 */

import type { Native } from "../ffi/types.ts";

/**
 * Which host runs us (judged from `globals`, by default the real ones), or
 * null when it is none we support.
 */
// deno-lint-ignore no-explicit-any
export function detectRuntime(globals: any = globalThis): "deno" | "bun" | "node" | null {
  if (typeof globals.Deno?.dlopen === "function") return "deno";
  if (typeof globals.Bun?.version === "string") return "bun";
  if (typeof globals.process?.versions?.node === "string") return "node";
  return null;
}

/** The adapter for runtime `rt`; a clear error for anything else. */
export async function loadNative(rt: string | null): Promise<Native> {
  switch (rt) {
    case "deno":
      return await (await import("./deno.ts")).createNative();
    case "bun":
      return await (await import("./bun.ts")).createNative();
    case "node":
      return await (await import("./node.ts")).createNative();
    default:
      throw Object.assign(
        new Error(
          `tsyncio: unsupported JavaScript runtime${rt ? ` "${rt}"` : ""}: ` +
            "run it on Deno (with --allow-ffi), Bun, or Node with koffi installed",
        ),
        { name: "RuntimeError" },
      );
  }
}

/** The host adapter, ready when this module has loaded. */
export const native: Native = await loadNative(detectRuntime());
