/**
 * Node adapter: libc through koffi. Waiting on a single descriptor (the epoll
 * fd) uses koffi's libuv poll handle on Node's own loop (no thread); any other
 * set waits in `poll(2)` on libuv's thread pool.
 */

import type koffiTypes from "koffi";
import { libcPath, libcSymbols } from "../ffi/libc.ts";
import { osConstants } from "../ffi/os.ts";
import type { BlockingSymbol, Bound, CType, HostWorker, Libc, Native, NativeCallback, Parker, Pointer, SymbolDef } from "../ffi/types.ts";
import { ThreadParker } from "./thread_parker.ts";
import { asyncContext } from "./async_context.ts";

const koffiType: Record<CType, string> = {
  i32: "int", u32: "uint32_t", i64: "int64_t", usize: "size_t", ssize: "int",
  buf: "void *", ptr: "void *", cstr: "const char *", void: "void",
};

export async function createNative(): Promise<Native> {
  // Dynamic imports keep bundles that also serve Bun free of koffi.
  const koffi: typeof koffiTypes = (await import("koffi")).default;
  const { Worker } = await import("node:worker_threads");
  const { availableParallelism } = await import("node:os");
  const { performance } = await import("node:perf_hooks");
  const os = process.platform === "darwin" ? "darwin" : "linux";
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  const c = osConstants(os, arch);
  const lib = koffi.load(libcPath[os]);
  const libc = {} as Record<string, unknown>;
  // deno-lint-ignore no-explicit-any
  const raw: Record<string, any> = {};
  for (const [name, d] of Object.entries(libcSymbols)) {
    const def = d as SymbolDef;
    if (def.os && def.os !== os) {
      libc[name] = null;
      continue;
    }
    try {
      raw[name] = lib.func(name, koffiType[def.result], def.params.map((p) => koffiType[p]));
      libc[name] = raw[name];
    } catch (e) {
      if (!def.optional) throw e;
      libc[name] = null;
    }
  }
  const bound = libc as Libc;
  const callbackProtos = new Map<string, ReturnType<typeof koffi.proto>>();

  const pollOffThread = (buf: Uint8Array, nfds: number) =>
    new Promise<number>((resolve) => raw.poll.async(buf, nfds, -1, (_err: unknown, r: number) => resolve(r)));

  // The poll handle stays armed between waits while the loop runs: stopping
  // and restarting it costs two epoll_ctl calls on Node's own epoll per
  // wake-up. While nobody waits, a readiness report is simply ignored.
  class NodeParker implements Parker {
    #handles = new Map<number, ReturnType<typeof koffi.node.poll>>();
    #active: ReturnType<typeof koffi.node.poll> | null = null;
    #cb: (() => void) | null = null;
    #threads: ThreadParker | null = null;
    #fire = () => {
      const cb = this.#cb;
      this.#cb = null;
      cb?.();
    };
    park(pollfds: Uint8Array, nfds: number, cb: () => void, dedicated = false): void {
      // uv_poll makes its descriptor non-blocking: use it only on our own epoll fd.
      if (!dedicated || nfds !== 1) {
        this.#threads ??= new ThreadParker(bound, c, { poll: pollOffThread }, (n) => new Uint8Array(new ArrayBuffer(n)));
        this.#threads.park(pollfds, nfds, cb);
        return;
      }
      const fd = new DataView(pollfds.buffer, pollfds.byteOffset, 8).getInt32(0, true);
      this.#cb = cb;
      let h = this.#handles.get(fd);
      if (h === this.#active && h) return; // still armed
      this.#active?.stop();
      if (!h) {
        h = koffi.node.poll(fd, { readable: true }, this.#fire);
        this.#handles.set(fd, h);
      } else {
        h.start({ readable: true }, this.#fire);
      }
      this.#active = h;
    }
    unpark(release: boolean): void {
      this.#cb = null;
      if (release) {
        this.#active?.stop();
        this.#active = null;
      }
      this.#threads?.unpark(release);
    }
    close(): void {
      this.unpark(true);
      for (const h of this.#handles.values()) h.close();
      this.#handles.clear();
      this.#threads?.close();
    }
  }

  return {
    runtime: "node",
    os,
    arch,
    libc: bound,
    errno: () => koffi.errno(),
    now: () => performance.now(),
    macrotask: (cb) => void setImmediate(cb),
    setTimer: (cb, ms) => setTimeout(cb, ms),
    clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
    keepAlive() {
      const t = setInterval(() => {}, 0x7fffffff);
      return () => clearInterval(t);
    },
    createParker: () => new NodeParker(),
    startWorker(source, onMessage, onError): HostWorker {
      const prelude = "const { parentPort: __p } = require('node:worker_threads');" +
        "const hostPost = (m) => __p.postMessage(m);" +
        "const hostOnMessage = (f) => __p.on('message', f);\n";
      const w = new Worker(prelude + source, { eval: true });
      w.on("message", onMessage);
      w.on("error", onError);
      return {
        postMessage: (m) => w.postMessage(m),
        ref: (on) => (on ? w.ref() : w.unref()),
        terminate: () => void w.terminate(),
      };
    },
    cpuCount: () => availableParallelism(),
    asyncContext,
    onHostIdle: (cb) => void process.once("beforeExit", cb),

    loadLibrary<T extends Record<string, SymbolDef>>(paths: readonly string[], symbols: T): Bound<T> | null {
      for (const path of paths) {
        let lib: ReturnType<typeof koffi.load>;
        try {
          // RTLD_DEEPBIND: Node exports its own OpenSSL, which would interpose (see Native.loadLibrary).
          lib = koffi.load(path, { deep: os === "linux" });
        } catch {
          continue;
        }
        const table: Record<string, unknown> = {};
        let complete = true;
        for (const [name, def] of Object.entries(symbols) as [string, SymbolDef][]) {
          table[name] = null;
          if (def.os && def.os !== os) continue;
          try {
            table[name] = lib.func(name, koffiType[def.result], def.params.map((p) => koffiType[p]));
          } catch {
            if (!def.optional) {
              complete = false;
              break;
            }
          }
        }
        if (complete) return table as Bound<T>;
        lib.unload();
      }
      return null;
    },
    makeCallback(params, result, fn): NativeCallback {
      // One prototype per signature: koffi names types, and a name can be declared once.
      const sig = `${koffiType[result]}(${params.map((p) => koffiType[p]).join(",")})`;
      let proto = callbackProtos.get(sig);
      if (!proto) {
        proto = koffi.proto(`tsyncio_cb${callbackProtos.size}`, koffiType[result], params.map((p) => koffiType[p]));
        callbackProtos.set(sig, proto);
      }
      const pointer = koffi.register(fn as (...a: unknown[]) => unknown, koffi.pointer(proto));
      return { pointer: pointer as unknown as Pointer, close: () => koffi.unregister(pointer) };
    },
    addSignalListener: (name, fn) => void process.on(name as NodeJS.Signals, fn),
    removeSignalListener: (name, fn) => void process.off(name as NodeJS.Signals, fn),

    callBlocking(name: BlockingSymbol, ...args: unknown[]): Promise<number> {
      const f = raw[name];
      if (!f || !(libcSymbols[name] as SymbolDef).blocking) {
        return Promise.reject(new TypeError(`${name} is not a blocking libc symbol`));
      }
      // koffi runs .async calls on libuv's thread pool; a pending call keeps Node alive.
      return new Promise<number>((resolve, reject) =>
        f.async(...args, (err: unknown, r: number | bigint) => (err ? reject(err) : resolve(Number(r))))
      );
    },
    allocShared: (n) => new Uint8Array(new ArrayBuffer(n)),
    // koffi 3 pointers are BigInts (null for NULL); decode copies.
    readBytes: (p: Pointer, offset: number, len: number): Uint8Array =>
      len === 0 ? new Uint8Array(0) : koffi.decode(p, offset, "uint8_t", len) as Uint8Array,
    readPointer: (p: Pointer, offset: number): Pointer => koffi.decode(p, offset, "void *"),
    readCString: (p: Pointer, offset = 0): string => koffi.decode(p, offset, "char", -1),
    isNull: (p: Pointer): boolean => p === null || (p as unknown) === 0n,
    pointerFromBuffer(buf: Uint8Array, offset: number): Pointer {
      const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(offset, true);
      return (v === 0n ? null : v) as unknown as Pointer;
    },
    addressOf: (buf: Uint8Array): bigint => koffi.address(buf),
  };
}
