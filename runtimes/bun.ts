/**
 * Bun adapter: libc through bun:ffi. bun:ffi has no off-thread calls, so
 * waiting happens in a small worker blocked in poll(2) on a shared buffer;
 * it posts back when a descriptor is ready (see ThreadParker).
 */

import { libcPath, libcSymbols } from "../ffi/libc.ts";
import { osConstants } from "../ffi/os.ts";
import type { CType, HostWorker, Libc, Native } from "../ffi/types.ts";
import { ThreadParker } from "./thread_parker.ts";
import { webWorker } from "./web_worker.ts";

// deno-lint-ignore no-explicit-any
declare const Bun: any;
// deno-lint-ignore no-explicit-any
declare const process: any;

const bunType: Record<CType, string> = {
  i32: "i32", u32: "u32", i64: "i64", usize: "u64", ssize: "i32",
  buf: "ptr", ptr: "ptr", cstr: "cstring", void: "void",
};

const pollWorkerSource = (path: string) => `
import { dlopen } from "bun:ffi";
const lib = dlopen(${JSON.stringify(path)}, { poll: { args: ["ptr", "u64", "i32"], returns: "i32" } });
hostOnMessage(([buf, n]) => hostPost(lib.symbols.poll(buf, n, -1)));
`;

export async function createNative(): Promise<Native> {
  // A dynamic import keeps bundles that also serve Node free of bun:ffi.
  const { dlopen, read } = await import("bun:ffi" as string);
  const os = process.platform === "darwin" ? "darwin" : "linux";
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  const c = osConstants(os, arch);
  // deno-lint-ignore no-explicit-any
  const defs: Record<string, any> = {};
  const optional = new Set<string>();
  for (const [name, def] of Object.entries(libcSymbols)) {
    if ((def as { optional?: boolean }).optional) optional.add(name);
    defs[name] = { args: def.params.map((p) => bunType[p]), returns: bunType[def.result] };
  }
  defs[os === "darwin" ? "__error" : "__errno_location"] = { args: [], returns: "ptr" };
  // bun:ffi fails the whole dlopen on one missing symbol: drop absent optional ones first.
  let lib;
  for (;;) {
    try {
      lib = dlopen(libcPath[os], defs);
      break;
    } catch (e) {
      const missing = [...optional].find((n) => n in defs && String(e).includes(n));
      if (!missing) throw e;
      delete defs[missing];
    }
  }
  const s = lib.symbols;
  const libc = {} as Record<string, unknown>;
  for (const [name, def] of Object.entries(libcSymbols)) {
    const f = s[name];
    if (!f) libc[name] = null;
    else if (def.result === "cstr") libc[name] = (...a: unknown[]) => String(f(...a) ?? "");
    else libc[name] = f;
  }
  const bound = libc as Libc;
  const errnoFn = s.__errno_location ?? s.__error;
  let errnoPtr = 0;

  // One worker per parker (per loop): a worker blocked in poll serves one wait at a time.
  const poller = () => {
    let worker: HostWorker | null = null;
    let resolvePoll: ((r: number) => void) | null = null;
    return {
      poll: (buf: Uint8Array, nfds: number) =>
        new Promise<number>((resolve) => {
          worker ??= webWorker(pollWorkerSource(libcPath[os]), (r) => {
            const f = resolvePoll;
            resolvePoll = null;
            f?.(r as number);
          }, (e) => console.error("tsyncio: poll worker failed:", e));
          worker.ref(false); // the loop holds its own keep-alive while it runs
          resolvePoll = resolve;
          worker.postMessage([buf, nfds]);
        }),
      close: () => {
        worker?.terminate();
        worker = null;
      },
    };
  };

  return {
    runtime: "bun",
    os,
    arch,
    libc: bound,
    errno() {
      errnoPtr ||= errnoFn();
      return read.i32(errnoPtr, 0);
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
      new ThreadParker(bound, c, poller(), (n) => new Uint8Array(new SharedArrayBuffer(n))),
    startWorker(source, onMessage, onError): HostWorker {
      return webWorker(source, onMessage, onError);
    },
    cpuCount: () => navigator.hardwareConcurrency ?? 1,
  };
}
