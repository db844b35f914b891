/**
 * Deno adapter: libc through Deno.dlopen. Waiting uses a `nonblocking` poll
 * on Deno's blocking pool (it cannot be cancelled: see ThreadParker).
 */

import { libcPath, libcSymbols } from "../ffi/libc.ts";
import { osConstants } from "../ffi/os.ts";
import type { BlockingSymbol, Bound, SymbolDef, CType, HostWorker, Libc, Native, NativeCallback, Pointer } from "../ffi/types.ts";
import { ThreadParker } from "./thread_parker.ts";
import { asyncContext } from "./async_context.ts";
import { webWorker } from "./web_worker.ts";

// deno-lint-ignore no-explicit-any
declare const Deno: any;

const denoType: Record<CType, string> = {
  i32: "i32", u32: "u32", i64: "i64", usize: "usize", ssize: "i32",
  buf: "buffer", ptr: "pointer", cstr: "pointer", void: "void",
};

/**
 * Deno's fast FFI calls take a 64-bit parameter (usize, i64) only as a
 * BigInt: a number sends the call down the slow path (about 150 ns instead of
 * 20 here) and deoptimises the JS function that made it, again and again
 * (`--trace-deopt`: "not a BigInt" in send/recv's callers). So the 64-bit
 * arguments are widened here, once, for every symbol that has any. A value
 * that is not an integer is passed as it is, to get Deno's own error.
 */
const big = (v: unknown): unknown => (typeof v === "number" && Number.isInteger(v) ? BigInt(v) : v);

// deno-lint-ignore no-explicit-any
type AnyFn = (...a: any[]) => any;

/** `f` with its 64-bit arguments (by the symbol's parameter types) made BigInts. */
function widen64(f: AnyFn, params: readonly CType[]): AnyFn {
  const w = params.map((p) => p === "usize" || p === "i64");
  if (!w.includes(true)) return f;
  const [w0, w1, w2, w3, w4, w5] = w;
  // One fixed-arity wrapper per length: TurboFan inlines it into the caller
  // and keeps the FFI call at a fast, monomorphic site.
  switch (params.length) {
    case 1:
      return (a) => f(w0 ? big(a) : a);
    case 2:
      return (a, b) => f(w0 ? big(a) : a, w1 ? big(b) : b);
    case 3:
      return (a, b, c) => f(w0 ? big(a) : a, w1 ? big(b) : b, w2 ? big(c) : c);
    case 4:
      return (a, b, c, d) => f(w0 ? big(a) : a, w1 ? big(b) : b, w2 ? big(c) : c, w3 ? big(d) : d);
    case 5:
      return (a, b, c, d, e) => f(w0 ? big(a) : a, w1 ? big(b) : b, w2 ? big(c) : c, w3 ? big(d) : d, w4 ? big(e) : e);
    case 6:
      return (a, b, c, d, e, g) => f(w0 ? big(a) : a, w1 ? big(b) : b, w2 ? big(c) : c, w3 ? big(d) : d, w4 ? big(e) : e, w5 ? big(g) : g);
    default:
      return (...a) => f(...a.map((v, i) => (w[i] ? big(v) : v)));
  }
}

export async function createNative(): Promise<Native> {
  const { setImmediate } = await import("node:timers");
  const os = Deno.build.os === "darwin" ? "darwin" : "linux";
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "x64";
  const c = osConstants(os, arch);
  // deno-lint-ignore no-explicit-any
  const defs: Record<string, any> = {};
  for (const [name, d] of Object.entries(libcSymbols)) {
    const def = d as SymbolDef;
    if (def.os && def.os !== os) continue;
    defs[name] = {
      parameters: def.params.map((p) => denoType[p]),
      result: denoType[def.result],
      optional: def.optional ?? false,
    };
    // Off-thread calls: a twin on Deno's blocking pool that returns a promise.
    if (def.blocking) defs[`${name}__nb`] = { ...defs[name], name, nonblocking: true };
  }
  const errnoSym = os === "darwin" ? "__error" : "__errno_location";
  defs.__errno = { name: errnoSym, parameters: [], result: "pointer" };
  defs.__poll_nb = { name: "poll", parameters: ["buffer", "usize", "i32"], result: "i32", nonblocking: true };
  const lib = Deno.dlopen(libcPath[os], defs);
  const s = lib.symbols;
  const libc = {} as Record<string, unknown>;
  for (const [name, def] of Object.entries(libcSymbols)) {
    if (!(name in defs)) {
      libc[name] = null;
    } else if (def.result === "cstr") {
      const f = widen64(s[name], (def as SymbolDef).params);
      libc[name] = (...a: unknown[]) => {
        const p = f(...a);
        return p === null ? "" : new Deno.UnsafePointerView(p).getCString();
      };
    } else {
      libc[name] = s[name] ? widen64(s[name], (def as SymbolDef).params) : null;
    }
  }
  const bound = libc as Libc;
  let errnoView: { getInt32(): number } | null = null;
  // performance.now() is an op here (about 100 ns, three per await of a
  // pending future); a fast FFI call to the vDSO clock takes half that.
  const timespec = new Int32Array(4); // tv_sec and tv_nsec, 64-bit little-endian: their low halves suffice
  const timespecBytes = new Uint8Array(timespec.buffer);
  const clockGettime = s.clock_gettime;
  const monotonic = c.CLOCK_MONOTONIC;

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
    now: () => {
      clockGettime(monotonic, timespecBytes);
      return timespec[0] * 1000 + timespec[2] / 1e6;
    },
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
    asyncContext,
    onHostIdle: (cb, ms) => Deno.unrefTimer(setTimeout(cb, ms)),

    loadLibrary<T extends Record<string, SymbolDef>>(paths: readonly string[], symbols: T): Bound<T> | null {
      // deno-lint-ignore no-explicit-any
      const libDefs: Record<string, any> = {};
      for (const [name, def] of Object.entries(symbols) as [string, SymbolDef][]) {
        if (def.os && def.os !== os) continue;
        libDefs[name] = { parameters: def.params.map((p) => denoType[p]), result: denoType[def.result], optional: def.optional ?? false };
      }
      for (const path of paths) {
        let lib;
        try {
          // Fails when the library is absent or lacks a required symbol: try the next one.
          lib = Deno.dlopen(path, libDefs);
        } catch {
          continue;
        }
        const table: Record<string, unknown> = {};
        for (const [name, def] of Object.entries(symbols) as [string, SymbolDef][]) {
          const f = lib.symbols[name] ? widen64(lib.symbols[name], def.params) : null;
          table[name] = f !== null && def.result === "cstr"
            ? (...a: unknown[]) => {
              const p = f(...a);
              return p === null ? "" : new Deno.UnsafePointerView(p).getCString();
            }
            : f;
        }
        return table as Bound<T>;
      }
      return null;
    },
    makeCallback(params, result, fn): NativeCallback {
      // Not ref'ed: a callback C calls synchronously need not keep the process alive.
      const cb = new Deno.UnsafeCallback({ parameters: params.map((p) => denoType[p]), result: denoType[result] }, fn);
      return { pointer: cb.pointer as Pointer, close: () => cb.close() };
    },
    addSignalListener: (name, fn) => Deno.addSignalListener(name, fn),
    removeSignalListener: (name, fn) => Deno.removeSignalListener(name, fn),

    async callBlocking(name: BlockingSymbol, ...args: unknown[]): Promise<number> {
      const f = s[`${name}__nb`];
      if (!f) throw new TypeError(`${name} is not a blocking libc symbol`);
      return Number(await f(...args));
    },
    allocShared: (n) => new Uint8Array(new ArrayBuffer(n)),
    readBytes(ptr: Pointer, offset: number, len: number): Uint8Array {
      const out = new Uint8Array(len);
      if (len > 0) new Deno.UnsafePointerView(ptr).copyInto(out, offset);
      return out;
    },
    readPointer: (ptr: Pointer, offset: number): Pointer => new Deno.UnsafePointerView(ptr).getPointer(offset),
    readCString: (ptr: Pointer, offset = 0): string => new Deno.UnsafePointerView(ptr).getCString(offset),
    isNull: (ptr: Pointer): boolean => ptr === null,
    pointerFromBuffer(buf: Uint8Array, offset: number): Pointer {
      const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(offset, true);
      return Deno.UnsafePointer.create(v);
    },
    addressOf: (buf: Uint8Array): bigint => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf))),
  };
}
