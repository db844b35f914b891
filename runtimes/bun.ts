/**
 * Bun adapter: libc through bun:ffi. bun:ffi has no off-thread calls, so
 * waiting happens in a small worker blocked in poll(2) on a shared buffer;
 * it posts back when a descriptor is ready (see ThreadParker).
 */

import { libcPath, libcSymbols } from "../ffi/libc.ts";
import { osConstants } from "../ffi/os.ts";
import type { BlockingSymbol, Bound, CType, HostWorker, Libc, Native, NativeCallback, Pointer, SymbolDef } from "../ffi/types.ts";
import { ThreadParker } from "./thread_parker.ts";
import { asyncContext } from "./async_context.ts";
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

// The worker that runs blocking libc calls (bun:ffi has no async calls,
// oven-sh/bun#5490). Buffers arrive as views of SharedArrayBuffers, so C
// writes into the caller's memory; results go back by id, in order.
// deno-lint-ignore no-explicit-any
const blockingWorkerSource = (path: string, defs: Record<string, any>) => `
import { dlopen } from "bun:ffi";
const lib = dlopen(${JSON.stringify(path)}, ${JSON.stringify(defs)});
hostOnMessage((m) => {
  let r;
  try {
    r = lib.symbols[m.name](...m.args);
  } catch (e) {
    hostPost({ id: m.id, error: String(e && e.message || e) });
    return;
  }
  hostPost({ id: m.id, result: typeof r === "bigint" ? Number(r) : r });
});
`;

export async function createNative(): Promise<Native> {
  // A dynamic import keeps bundles that also serve Node free of bun:ffi.
  const { dlopen, read, ptr: bunPtr, toArrayBuffer, CString, JSCallback } = await import("bun:ffi" as string);
  const os = process.platform === "darwin" ? "darwin" : "linux";
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  const c = osConstants(os, arch);
  // deno-lint-ignore no-explicit-any
  const defs: Record<string, any> = {};
  const optional = new Set<string>();
  // deno-lint-ignore no-explicit-any
  const blockingDefs: Record<string, any> = {};
  for (const [name, d] of Object.entries(libcSymbols)) {
    const def = d as SymbolDef;
    if (def.os && def.os !== os) continue;
    if (def.optional) optional.add(name);
    defs[name] = { args: def.params.map((p) => bunType[p]), returns: bunType[def.result] };
    if (def.blocking) blockingDefs[name] = defs[name];
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

  // Blocking calls: one worker, started on first use, holding the process
  // alive only while calls are pending.
  let blockingWorker: HostWorker | null = null;
  let nextCall = 1;
  type Call = { resolve(r: number): void; reject(e: unknown): void; copies: [Uint8Array, Uint8Array][] };
  const calls = new Map<number, Call>();
  const settle = (msg: unknown) => {
    const m = msg as { id: number; result?: number; error?: string };
    const call = calls.get(m.id);
    if (!call) return;
    calls.delete(m.id);
    if (calls.size === 0) blockingWorker?.ref(false);
    for (const [mine, shared] of call.copies) mine.set(shared);
    if (m.error !== undefined) call.reject(new Error(`tsyncio: blocking call failed: ${m.error}`));
    else call.resolve(m.result as number);
  };
  const workerFailed = (e: unknown) => {
    const pending = [...calls.values()];
    calls.clear();
    blockingWorker?.terminate();
    blockingWorker = null;
    for (const call of pending) call.reject(e);
  };

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
    asyncContext,
    onHostIdle: (cb, ms) => void setTimeout(cb, ms).unref(),

    loadLibrary<T extends Record<string, SymbolDef>>(paths: readonly string[], symbols: T): Bound<T> | null {
      for (const path of paths) {
        // deno-lint-ignore no-explicit-any
        const libDefs: Record<string, any> = {};
        const maybe = new Set<string>();
        for (const [name, def] of Object.entries(symbols) as [string, SymbolDef][]) {
          if (def.os && def.os !== os) continue;
          if (def.optional) maybe.add(name);
          libDefs[name] = { args: def.params.map((p) => bunType[p]), returns: bunType[def.result] };
        }
        let lib = null;
        // As for libc: one missing symbol fails the whole dlopen, so drop absent optional ones and retry.
        while (lib === null) {
          try {
            lib = dlopen(path, libDefs);
          } catch (e) {
            const missing = [...maybe].find((n) => n in libDefs && String(e).includes(n));
            if (!missing) break;
            delete libDefs[missing];
          }
        }
        if (lib === null) continue;
        const table: Record<string, unknown> = {};
        for (const [name, def] of Object.entries(symbols) as [string, SymbolDef][]) {
          const f = lib.symbols[name];
          if (!f) table[name] = null;
          else if (def.result === "cstr") table[name] = (...a: unknown[]) => String(f(...a) ?? "");
          else table[name] = f;
        }
        return table as Bound<T>;
      }
      return null;
    },
    makeCallback(params, result, fn): NativeCallback {
      const cb = new JSCallback(fn, { args: params.map((p) => bunType[p]), returns: bunType[result] });
      return { pointer: cb.ptr as Pointer, close: () => cb.close() };
    },
    addSignalListener: (name, fn) => void process.on(name, fn),
    removeSignalListener: (name, fn) => void process.off(name, fn),

    callBlocking(name: BlockingSymbol, ...args: unknown[]): Promise<number> {
      if (!(name in blockingDefs)) return Promise.reject(new TypeError(`${name} is not a blocking libc symbol`));
      return new Promise<number>((resolve, reject) => {
        const copies: [Uint8Array, Uint8Array][] = [];
        // Only shared memory is seen by the worker: copy anything else there and back.
        const sent = args.map((a) => {
          if (!(a instanceof Uint8Array) || a.buffer instanceof SharedArrayBuffer) return a;
          const shared = new Uint8Array(new SharedArrayBuffer(Math.max(1, a.byteLength)), 0, a.byteLength);
          shared.set(a);
          copies.push([a, shared]);
          return shared;
        });
        blockingWorker ??= webWorker(blockingWorkerSource(libcPath[os], blockingDefs), settle, workerFailed);
        blockingWorker.ref(true);
        const id = nextCall++;
        calls.set(id, { resolve, reject, copies });
        blockingWorker.postMessage({ id, name, args: sent });
      });
    },
    allocShared: (n) => new Uint8Array(new SharedArrayBuffer(n)),
    readBytes(p: Pointer, offset: number, len: number): Uint8Array {
      if (len === 0) return new Uint8Array(0);
      return new Uint8Array(toArrayBuffer(p, offset, len)).slice();
    },
    readPointer: (p: Pointer, offset: number): Pointer => read.ptr(p, offset),
    readCString: (p: Pointer, offset = 0): string => new CString(p, offset).toString(),
    isNull: (p: Pointer): boolean => !p,
    pointerFromBuffer(buf: Uint8Array, offset: number): Pointer {
      const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(offset, true);
      return Number(v) as unknown as Pointer;
    },
    addressOf: (buf: Uint8Array): bigint => BigInt(bunPtr(buf)),
  };
}
