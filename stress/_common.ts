/**
 * Shared helpers for the stress scenarios (stress/<name>.ts), run by
 * stress/run.mjs on node, bun and deno.
 *
 * Scenario protocol (stress/README.md): a scenario runs as its own process
 * with argv `--seconds N` (and maybe `--seed N` or options of its own),
 * prints human lines freely and, last, exactly one line
 * `RESULT {"scenario":..,"ok":..,"figures":{..},"failures":[..]}`, then exits
 * 0 if ok, 1 if not ({@link report} does both). It must end by itself within
 * its seconds + 60 s ({@link watchdog}).
 *
 * Everything here goes through tsyncio's libc binding (src/native.ts), so it
 * works the same on the three runtimes without their own APIs, except for
 * argv, exit and gc, which have no libc equivalent.
 */

import { C, libc, native } from "../src/native.ts";
import { concat } from "../test/_net.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

/** The runtime this scenario runs on. */
export const runtime: "node" | "bun" | "deno" = native.runtime;

/** The process's argv after the script name. */
export function argv(): string[] {
  return runtime === "deno" ? [...g.Deno.args] : g.process.argv.slice(2);
}

/**
 * The value of option `--name N` or `--name=N`, or `dflt`. Unknown options
 * are ignored here: each scenario reads the ones it knows.
 */
export function opt(name: string, dflt: string): string;
export function opt(name: string, dflt?: string): string | undefined;
export function opt(name: string, dflt?: string): string | undefined {
  const a = argv();
  for (let i = 0; i < a.length; i++) {
    if (a[i] === `--${name}` && i + 1 < a.length) return a[i + 1];
    if (a[i].startsWith(`--${name}=`)) return a[i].slice(name.length + 3);
  }
  return dflt;
}

let parsed: { seconds: number; seed: number } | null = null;

/**
 * `--seconds N` (default 30) and `--seed N` (default: random; printed once,
 * so a failing run can be repeated with the same choices).
 */
export function args(): { seconds: number; seed: number } {
  if (parsed) return parsed;
  const seconds = Number(opt("seconds", "30"));
  if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${opt("seconds")}`);
  const s = opt("seed");
  const seed = s !== undefined ? Number(s) >>> 0 : (Math.random() * 0x1_0000_0000) >>> 0;
  parsed = { seconds, seed };
  console.log(`[${runtime}] seconds=${seconds} seed=${seed} (repeat with --seed ${seed})`);
  return parsed;
}

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** An integer in [lo, hi] from `r`. */
export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

// ---- the process: memory, descriptors, limits ----

const O_RDONLY = 0;

/** The whole content of a (small, /proc) file, read with libc; null if it cannot be opened. */
export function readProcFile(path: string): string | null {
  const p = new TextEncoder().encode(path + "\0");
  const fd = libc.open(p, O_RDONLY | C.O_CLOEXEC, 0);
  if (fd < 0) return null;
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(new ArrayBuffer(16384));
  try {
    for (;;) {
      const n = Number(libc.read(fd, buf, buf.byteLength));
      if (n <= 0) break;
      chunks.push(buf.slice(0, n));
    }
  } finally {
    libc.close(fd);
  }
  return new TextDecoder().decode(concatBytes(chunks));
}

/**
 * Resident set size of this process in bytes (VmRSS of /proc/self/status,
 * Linux), or NaN where there is no /proc.
 */
export function rssBytes(): number {
  const s = readProcFile("/proc/self/status");
  const m = s && /^VmRSS:\s+(\d+)\s+kB/m.exec(s);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Peak resident set size so far (VmHWM), bytes; NaN without /proc. */
export function rssPeakBytes(): number {
  const s = readProcFile("/proc/self/status");
  const m = s && /^VmHWM:\s+(\d+)\s+kB/m.exec(s);
  return m ? Number(m[1]) * 1024 : NaN;
}

const F_GETFD = 1;

/**
 * Number of open descriptors of this process that are not regular files
 * (the hosts open and close their own cache files at any time), probed with
 * fcntl/fstat up to `limit` (default: the soft RLIMIT_NOFILE, at most
 * 1,048,576). test/_helpers.ts has `openFds()` with the same rule, but it
 * stops at 4096 and imports uvu; this one has to see 10,000 sockets.
 * Deno may open a socket pair of its own mid-run: compare counts with a
 * small slack, not exactly.
 */
export function openFdCount(limit?: number): number {
  const lim = Math.min(limit ?? fdLimit().soft, 1 << 20);
  const st = new Uint8Array(new ArrayBuffer(C.STAT_SIZE));
  const view = new DataView(st.buffer);
  let n = 0;
  for (let fd = 0; fd < lim; fd++) {
    if (libc.fcntl(fd, F_GETFD, 0) < 0) continue;
    if (libc.fstat(fd, st) === 0 && (view.getUint32(C.STAT_MODE_OFFSET, true) & C.S_IFMT) === C.S_IFREG) continue;
    n++;
  }
  return n;
}

const RLIMIT_NOFILE = native.os === "linux" ? 7 : 8;
const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/** The RLIMIT_NOFILE soft and hard limits (Infinity for RLIM_INFINITY). */
export function fdLimit(): { soft: number; hard: number } {
  const b = new Uint8Array(new ArrayBuffer(16));
  if (libc.getrlimit(RLIMIT_NOFILE, b) !== 0) throw new Error(`getrlimit: errno ${native.errno()}`);
  const v = new DataView(b.buffer);
  const num = (x: bigint) => (x === RLIM_INFINITY ? Infinity : Number(x));
  return { soft: num(v.getBigUint64(0, true)), hard: num(v.getBigUint64(8, true)) };
}

/**
 * Raise the soft RLIMIT_NOFILE to `want` (default: the hard limit). When
 * `want` is above the hard limit, first tries to raise both (allowed with
 * CAP_SYS_RESOURCE, e.g. as root; the kernel caps at fs.nr_open), else stops
 * at the hard limit. Never above 1,048,576. Returns the limits after.
 */
export function raiseFdLimit(want?: number): { soft: number; hard: number } {
  const { soft, hard } = fdLimit();
  const b = new Uint8Array(new ArrayBuffer(16));
  const v = new DataView(b.buffer);
  const set = (s: number, h: number) => {
    v.setBigUint64(0, BigInt(s), true);
    v.setBigUint64(8, h === Infinity ? RLIM_INFINITY : BigInt(h), true);
    return libc.setrlimit(RLIMIT_NOFILE, b) === 0;
  };
  const goal = Math.min(want ?? hard, 1 << 20);
  if (goal > hard && set(goal, goal)) return fdLimit();
  const target = Math.min(goal, hard);
  if (target > soft && !set(target, hard)) throw new Error(`setrlimit(${target}): errno ${native.errno()}`);
  return fdLimit();
}

/**
 * Bytes used by the JavaScript heap (the host's memoryUsage().heapUsed):
 * unlike RSS, it drops back once garbage is collected, so it is the figure
 * that shows a leak of JavaScript objects.
 */
export function heapUsedBytes(): number {
  const mu = runtime === "deno" ? g.Deno.memoryUsage() : g.process.memoryUsage();
  return mu.heapUsed;
}

/**
 * Whether RSS after a GC is expected to come back near where it started.
 * Not on Deno: it keeps the pages V8 freed (plain JavaScript, no tsyncio:
 * 1M small objects dropped and collected leave RSS at 42 -> 318 -> 309 MiB,
 * while the JS heap is back at 3 MiB), so there the JS heap is the check.
 */
export const rssReturns: boolean = runtime !== "deno";

/** Force a full garbage collection (node and deno run with --expose-gc; Bun has Bun.gc). */
export function gc(): void {
  if (typeof g.Bun?.gc === "function") g.Bun.gc(true);
  else if (typeof g.gc === "function") g.gc();
  else throw new Error("run with --expose-gc (node), --v8-flags=--expose-gc (deno)");
}

/** Several GCs with host macrotasks between them (finalizers, freed buffers), then RSS. */
export async function settledRss(rounds = 3): Promise<number> {
  for (let i = 0; i < rounds; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return rssBytes();
}

// ---- reporting ----

/** Human-readable byte count. */
export function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** Print a human line, prefixed with the runtime. */
export function log(s: string): void {
  console.log(`[${runtime}] ${s}`);
}

/** Exit the process now with `code`. */
export function exit(code: number): never {
  if (runtime === "deno") g.Deno.exit(code);
  g.process.exit(code);
  throw new Error("unreachable");
}

/**
 * Print the one `RESULT {json}` line and exit: 0 if `ok` and no failures, 1
 * otherwise. `failures` non-empty forces ok=false.
 */
export function report(scenario: string, ok: boolean, figures: Record<string, unknown>, failures: string[]): never {
  const okAll = ok && failures.length === 0;
  const line = "RESULT " + JSON.stringify({ scenario, ok: okAll, figures, failures });
  console.log(line);
  exit(okAll ? 0 : 1);
}

/**
 * Report a failure (and exit 1) if the scenario is still running after
 * `seconds` + `graceSeconds` (60): a scenario must end by itself. Returns the
 * timer, to clear once done (report() exits anyway). The host timer keeps
 * running while a tsyncio loop runs (the loop parks, it does not block).
 */
export function watchdog(scenario: string, seconds: number, figures: () => Record<string, unknown> = () => ({}), graceSeconds = 60): unknown {
  const t = setTimeout(() => {
    log(`watchdog: still running after ${seconds + graceSeconds} s`);
    report(scenario, false, figures(), [`did not finish within ${seconds + graceSeconds} s (watchdog)`]);
  }, (seconds + graceSeconds) * 1000);
  // deno-lint-ignore no-explicit-any
  (t as any)?.unref?.();
  return t;
}

/** Run `main` and report a thrown error as a failure of `scenario`. */
export async function runScenario(scenario: string, main: () => Promise<never | void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    console.log(e instanceof Error ? e.stack : msg);
    report(scenario, false, {}, [`uncaught: ${msg}`]);
  }
}

// ---- data ----

/** All of `chunks` in one array (the tests' helper). */
export const concatBytes: (chunks: Uint8Array[]) => Uint8Array = concat;

/**
 * An incremental 64-bit FNV-1a-like hash in two 32-bit lanes (fast, no
 * allocation, streamable: chunks may split anywhere). Not cryptographic; it
 * only has to catch lost, duplicated or reordered bytes.
 */
export class StreamHash {
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193 ^ 0x5bd1e995;
  bytes = 0;
  update(d: Uint8Array): this {
    let h1 = this.h1, h2 = this.h2;
    for (let i = 0; i < d.length; i++) {
      const b = d[i];
      h1 = Math.imul(h1 ^ b, 0x01000193);
      h2 = Math.imul(h2 ^ b ^ (h1 >>> 13), 0x5bd1e995);
    }
    this.h1 = h1;
    this.h2 = h2;
    this.bytes += d.length;
    return this;
  }
  digest(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, "0") + (this.h2 >>> 0).toString(16).padStart(8, "0") + ":" + this.bytes;
  }
}

/** Deterministic pseudo-random bytes (xorshift32), `n` of them from `seed`. */
export function patternBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(n));
  let x = seed >>> 0 || 1;
  let i = 0;
  const n4 = n & ~3;
  const w = new DataView(out.buffer);
  for (; i < n4; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    w.setUint32(i, x >>> 0, true);
  }
  for (; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * The argv that runs this same scenario again on this same runtime, with
 * the same runtime flags (a scenario may split itself into two processes:
 * 10,000 connections need 20,000 descriptors, more than one process may
 * have under a 20,000 hard limit). Append the child's own options.
 */
export function selfCommand(): string[] {
  if (runtime === "deno") {
    return [g.Deno.execPath(), "run", ...DENO_FLAGS, new URL(g.Deno.mainModule).pathname];
  }
  return [g.process.execPath, ...(g.process.execArgv ?? []), g.process.argv[1]];
}

/** The flags stress/run.mjs gives deno (scenario code needs FFI, /proc reads and gc). */
export const DENO_FLAGS: readonly string[] = ["--allow-ffi", "--allow-env", "--allow-read", "--allow-write=/tmp", "--v8-flags=--expose-gc"];
