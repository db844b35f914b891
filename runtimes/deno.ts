/**
 * Deno adapter: libc through Deno.dlopen. Waiting uses a `nonblocking` poll
 * on Deno's blocking pool (it cannot be cancelled: see ThreadParker).
 */

import { libcPath, libcSymbols } from "../ffi/libc.ts";
import { osConstants } from "../ffi/os.ts";
import type { CType, HostWorker, Libc, Native } from "../ffi/types.ts";
import { ThreadParker } from "./thread_parker.ts";
import { webWorker } from "./web_worker.ts";

// deno-lint-ignore no-explicit-any
declare const Deno: any;

const denoType: Record<CType, string> = {
  i32: "i32", u32: "u32", i64: "i64", usize: "usize", ssize: "i32",
  buf: "buffer", ptr: "pointer", cstr: "pointer", void: "void",
};

export async function createNative(): Promise<Native> {
  const { setImmediate } = await import("node:timers");
  const os = Deno.build.os === "darwin" ? "darwin" : "linux";
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "x64";
  const c = osConstants(os, arch);
  // deno-lint-ignore no-explicit-any
  const defs: Record<string, any> = {};
  for (const [name, def] of Object.entries(libcSymbols)) {
    defs[name] = {
      parameters: def.params.map((p) => denoType[p]),
      result: denoType[def.result],
      optional: (def as { optional?: boolean }).optional ?? false,
    };
  }
  const errnoSym = os === "darwin" ? "__error" : "__errno_location";
  defs.__errno = { name: errnoSym, parameters: [], result: "pointer" };
  defs.__poll_nb = { name: "poll", parameters: ["buffer", "usize", "i32"], result: "i32", nonblocking: true };
  const lib = Deno.dlopen(libcPath[os], defs);
  const s = lib.symbols;
  const libc = {} as Record<string, unknown>;
  for (const [name, def] of Object.entries(libcSymbols)) {
    if (def.result === "cstr") {
      const f = s[name];
      libc[name] = (...a: unknown[]) => {
        const p = f(...a);
        return p === null ? "" : new Deno.UnsafePointerView(p).getCString();
      };
    } else {
      libc[name] = s[name] ?? null;
    }
  }
  const bound = libc as Libc;
  let errnoView: { getInt32(): number } | null = null;

  return {
    runtime: "deno",
    os,
    arch,
    libc: bound,
    errno() {
      // errno is thread-local but its address is fixed for this thread.
      errnoView ??= new Deno.UnsafePointerView(s.__errno());
      return errnoView!.getInt32();
    },
    now: () => performance.now(),
    macrotask: (cb) => void setImmediate(cb),
    setTimer: (cb, ms) => setTimeout(cb, ms),
    clearTimer: (t) => clearTimeout(t as number),
    keepAlive() {
      const t = setInterval(() => {}, 0x7fffffff);
      return () => clearInterval(t);
    },
    createParker: () =>
      new ThreadParker(bound, c, { poll: (buf, n) => s.__poll_nb(buf, n, -1) }, (n) => new Uint8Array(new ArrayBuffer(n))),
    startWorker(source, onMessage, onError): HostWorker {
      return webWorker(source, onMessage, onError);
    },
    cpuCount: () => navigator.hardwareConcurrency ?? 1,
  };
}
