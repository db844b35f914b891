/**
 * Picks the adapter for the host at import time. The only module that asks
 * which runtime this is; everything else receives a {@link Native}.
 */

import type { Native } from "../ffi/types.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

/** Which host runs us, or null when it is none we support. */
export function detectRuntime(): "deno" | "bun" | "node" | null {
  if (typeof g.Deno?.dlopen === "function") return "deno";
  if (typeof g.Bun?.version === "string") return "bun";
  if (typeof g.process?.versions?.node === "string") return "node";
  return null;
}

async function load(): Promise<Native> {
  const rt = detectRuntime();
  switch (rt) {
    case "deno":
      return await (await import("./deno.ts")).createNative();
    case "bun":
      return await (await import("./bun.ts")).createNative();
    case "node":
      return await (await import("./node.ts")).createNative();
    default:
      throw new Error(
        "tsyncio: unsupported JavaScript runtime (needs Deno with --allow-ffi, Bun, or Node with koffi)",
      );
  }
}

/** The host adapter, ready when this module has loaded. */
export const native: Native = await load();
