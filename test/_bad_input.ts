/**
 * The generated bad-input harness (issue 14, part 2). A table of cases, one
 * per (target, method): a valid baseline call, and for each argument the
 * name the error message must mention. fast-check replaces one argument at a
 * time with an arbitrary value (wrong types, hostile numbers, detached or
 * shared buffers, strings, symbols, null/undefined, objects whose getters
 * throw, closed objects, re-entrant callbacks) and the call must work, or
 * throw (or its future/promise reject with) TypeError, ValueError,
 * RuntimeError or an OSError subclass (plus what a case allows), with a
 * TypeError/ValueError naming the argument; never a raw runtime error, a
 * crash, a hang or a leaked descriptor.
 *
 * STRESS_FACTOR (default 1) multiplies the 200 runs per case; BAD_INPUT_SEED
 * overrides the fixed seed (printed with every failure).
 */

import fc from "fast-check";
import { test } from "uvu";
import { type EventLoop, newEventLoop, OSError, RuntimeError, sleep, Socket, ValueError } from "../mod.ts";
import { libc } from "../src/native.ts";
import { openFds, settledFds } from "./_helpers.ts";
import { mkdtempSync } from "node:fs";
import process from "node:process";

// Generated strings become AF_UNIX paths, which bind() creates relative to the
// working directory: work in a fresh temporary directory, not the repository.
process.chdir(mkdtempSync("/tmp/tsyncio-bad-input-"));

function env(name: string): string | undefined {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  return g.process?.env?.[name] ?? g.Deno?.env?.get(name);
}

export const FACTOR: number = Number(env("STRESS_FACTOR") ?? 1) || 1;
export const SEED: number = Number(env("BAD_INPUT_SEED") ?? 0x14b0) | 0;
export const NUM_RUNS: number = Math.round(200 * FACTOR);

// ---- generated values ----

/** A generated value: made fresh per case (some need the case's fixtures), shown by its label. */
export interface Val<Ctx = unknown> {
  label: string;
  make(ctx: Ctx): unknown;
}

export function val<Ctx = unknown>(label: string, make: (ctx: Ctx) => unknown): Val<Ctx> {
  return { label, make, [fc.toStringMethod]: () => label } as Val<Ctx>;
}

const k = (label: string, v: unknown): Val => val(label, () => v);

/** The error a hostile object's getters throw: user code's own error, which may propagate as it is. */
export class GetterBoom extends Error {
  override name = "GetterBoom";
}

function hostile(): object {
  const boom = () => {
    throw new GetterBoom("a getter of the argument threw");
  };
  return new Proxy({}, { get: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom, getPrototypeOf: boom, apply: boom });
}

function detached(): Uint8Array {
  const u = new Uint8Array(16);
  structuredClone(u.buffer, { transfer: [u.buffer] });
  return u;
}

function detachedView(): DataView {
  const b = new ArrayBuffer(16);
  const v = new DataView(b, 4, 8);
  structuredClone(b, { transfer: [b] });
  return v;
}

function shared(n = 16): Uint8Array {
  const u = new Uint8Array(new SharedArrayBuffer(n));
  u.set([104, 105]);
  return u;
}

/** Set by each case's runner: the loop the case runs on (for re-entrant callbacks). */
export let currentLoop: EventLoop | null = null;

/** Values that are not plain numbers a descriptor argument could alias. */
export const NASTY: Val[] = [
  k("undefined", undefined),
  k("null", null),
  k("true", true),
  k("false", false),
  k("-0", -0),
  k("-1", -1),
  k("0.5", 0.5),
  k("-0.5", -0.5),
  k("NaN", NaN),
  k("Infinity", Infinity),
  k("-Infinity", -Infinity),
  k("2**31", 2 ** 31),
  k("-(2**31)-1", -(2 ** 31) - 1),
  k("2**32", 2 ** 32),
  k("2**53", 2 ** 53),
  k("-(2**53)", -(2 ** 53)),
  k("MAX_VALUE", Number.MAX_VALUE),
  k("MIN_VALUE", Number.MIN_VALUE),
  k("1e300", 1e300),
  k("1n", 1n),
  k("2n**64n", 2n ** 64n),
  k('""', ""),
  k('"5"', "5"),
  k('"abc"', "abc"),
  k('"\\0"', "\0"),
  k('"a\\0b"', "a\0b"),
  k('"x"*70000', "x".repeat(70000)),
  k('"127.0.0.1"', "127.0.0.1"),
  k('"::1"', "::1"),
  k('"/nonexistent/dir/sock"', "/nonexistent/dir/sock"),
  k("Symbol()", Symbol("bad")),
  k("Symbol.iterator", Symbol.iterator),
  val("{}", () => ({})),
  val("[]", () => []),
  val("[1]", () => [1]),
  val("[null, null]", () => [null, null]),
  val('["127.0.0.1"]', () => ["127.0.0.1"]),
  val('["127.0.0.1", -1]', () => ["127.0.0.1", -1]),
  val('["127.0.0.1", 70000]', () => ["127.0.0.1", 70000]),
  val('[Symbol(), 0]', () => [Symbol("h"), 0]),
  val('["::1", 0, -1, 2**40]', () => ["::1", 0, -1, 2 ** 40]),
  val("Object.create(null)", () => Object.create(null)),
  val("{ toString: 1 }", () => ({ toString: 1, valueOf: 2 })),
  val("{ fileno() { return -5 } }", () => ({ fileno: () => -5 })),
  val("{ fileno: 3 }", () => ({ fileno: 3 })),
  // User code's own error (like a throwing getter): may propagate as it is.
  val("{ fileno() { throw } }", () => ({ fileno: () => { throw new GetterBoom("fileno() refused"); } })),
  val("{ length: -1 }", () => ({ length: -1 })),
  val("hostile proxy", hostile),
  val("() => {}", () => () => {}),
  val("async () => {}", () => async () => {}),
  val("function* () {}", () => function* () {}),
  val("class {}", () => class {}),
  val("re-entrant (runUntilComplete, close, callSoon)", () => () => {
    const loop = currentLoop;
    if (loop === null) return;
    const p = loop.runUntilComplete(sleep(0, undefined, { loop }));
    p.catch(() => {});
    loop.close();
  }),
  val("new Uint8Array(0)", () => new Uint8Array(0)),
  val("new Uint8Array(3)", () => new Uint8Array(3)),
  val("detached Uint8Array", detached),
  val("detached DataView", detachedView),
  val("SharedArrayBuffer Uint8Array", () => shared()),
  val("SharedArrayBuffer DataView", () => new DataView(new SharedArrayBuffer(8), 2, 4)),
  val("Float64Array(2)", () => new Float64Array([1.5, -2])),
  val("Uint8Array subarray", () => new Uint8Array(32).subarray(7, 12)),
  val("ArrayBuffer(8)", () => new ArrayBuffer(8)),
  val("SharedArrayBuffer(8)", () => new SharedArrayBuffer(8)),
  val("new Date(NaN)", () => new Date(NaN)),
  val("new Error()", () => new Error("an error as an argument")),
  val("Promise.resolve(1)", () => Promise.resolve(1)),
  val("new Map()", () => new Map()),
  val("closed Socket", () => {
    const s = new Socket();
    s.close();
    return s;
  }),
  val("closed loop", () => {
    const l = newEventLoop();
    l.close();
    return l;
  }),
];

/** True for values a descriptor argument would take as somebody else's open descriptor. */
function fdLike(v: unknown): boolean {
  return (typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 65536) ||
    (typeof v === "string" && /^\s*\d+\s*$/.test(v)) || typeof v === "bigint" || typeof v === "boolean";
}

/** An arbitrary replacement value: the table above, plus random primitives and plain data. */
export function nasty(extra: Val[] = [], options: { fd?: boolean } = {}): fc.Arbitrary<Val> {
  const random: fc.Arbitrary<Val> = fc.oneof(
    fc.integer().map((n) => k(String(n), n)),
    fc.double().map((n) => k(Object.is(n, -0) ? "-0" : String(n), n)),
    fc.string({ maxLength: 12 }).map((s) => k(JSON.stringify(s), s)),
    fc.anything({ maxDepth: 1 }).map((v) => val(fc.stringify(v), () => structuredCloneSafe(v))),
  );
  const arb = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...NASTY, ...extra) },
    { weight: 1, arbitrary: random },
  );
  // A descriptor argument must never be handed a number that may be a live descriptor of this process.
  return options.fd ? arb.filter((v) => v.make.length > 0 || !fdLike(v.make(null))) : arb;
}

function structuredCloneSafe(v: unknown): unknown {
  return v;
}

// ---- the property ----

/** One argument of a case: its valid value and what an error about it must name. */
export interface Arg<Ctx> {
  name: string;
  valid(ctx: Ctx): unknown;
  /** What a TypeError/ValueError about this argument must match (default: its name). */
  msg?: RegExp;
  /** Values tried for this argument besides the common ones. */
  extra?: Val<Ctx>[];
  /** A descriptor argument: never try small integers (they may be open descriptors of the host). */
  fd?: boolean;
}

// deno-lint-ignore no-explicit-any
type ErrorClass = abstract new (...a: any[]) => Error;

export interface Case<Ctx> {
  name: string;
  setup(loop: EventLoop): Ctx | Promise<Ctx>;
  args: Arg<Ctx>[];
  call(ctx: Ctx, args: unknown[]): unknown;
  /** Called after every call (result: its value, when it had one). */
  cleanup?(ctx: Ctx, result: unknown): void | Promise<void>;
  /** Error classes that are a documented outcome besides the four. */
  allow?: ErrorClass[];
  /** How long a returned future may take (ms, default 3000). */
  waitMs?: number;
  /** A future still pending after waitMs is fine (it is cancelled); else it is a hang. */
  pendingOk?: boolean;
  /** Run outside any loop (the lifecycle methods); default: inside a task of the case's loop. */
  outsideLoop?: boolean;
  /** Only the baseline (for values the property cannot replace). */
  runs?: number;
}

/** Raw runtime errors (V8, JavaScriptCore, koffi, Deno FFI) that must never reach the user. */
const RAW =
  /Cannot (read|set|convert|destructure|perform|use 'in')|is not a function|is not an object|is not iterable|evaluating '|\(In '|not a constructor|Maximum call stack|Invalid (typed )?array|koffi|FFI|pointer|Cannot mix BigInt|expected BigInt|has been detached|on a detached|Unexpected .* value|Invalid argument|Offset is outside|out of bounds|Symbol\(.*\) to a string|convert a Symbol/;

const BASE: ErrorClass[] = [TypeError, ValueError, RuntimeError, OSError];

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.constructor?.name ?? "Error"}: ${e.message}`;
  try {
    return `non-Error ${String(e)}`;
  } catch {
    return "non-Error value";
  }
}

/** Null if `e` is an acceptable outcome for a call whose argument `arg` was replaced, else why not. */
function judge(e: unknown, c: Case<unknown>, arg: Arg<unknown> | null | "baseline"): string | null {
  if (arg === "baseline") return `threw ${describeError(e)}`;
  if (e instanceof GetterBoom) return null; // the argument's own getter threw: propagated as it is
  // A class given where a function is called: the host's own TypeError from calling the user's value.
  if (e instanceof TypeError && /Class constructor|class constructor/.test(e.message)) return null;
  if (!(e instanceof Error)) return `threw ${describeError(e)}`;
  const allowed = [...BASE, ...(c.allow ?? [])];
  if (!allowed.some((cls) => e instanceof cls)) return `threw ${describeError(e)} (not an allowed class)`;
  if ((e instanceof TypeError || e.constructor === Error || e instanceof RangeError) && RAW.test(e.message)) {
    return `threw a raw runtime error ${describeError(e)}`;
  }
  if (arg !== null && (e instanceof TypeError || e instanceof ValueError)) {
    const re = arg.msg ?? new RegExp(arg.name);
    if (!re.test(e.message)) return `${describeError(e)}: the message does not name ${arg.name} (${re})`;
  }
  return null;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  try {
    return (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as PromiseLike<unknown>).then === "function";
  } catch {
    return false; // a hostile value handed back as the result
  }
}

/**
 * Run one call: its outcome (a violation message or null) and its result for
 * cleanup; synchronous unless the call returned a promise or future (so a
 * synchronous call is cleaned up before anything else runs).
 */
function runOne<Ctx>(c: Case<Ctx>, ctx: Ctx, args: unknown[], arg: Arg<Ctx> | "baseline"): [string | null, unknown] | Promise<[string | null, unknown]> {
  let result: unknown;
  try {
    result = c.call(ctx, args);
  } catch (e) {
    return [judge(e, c as Case<unknown>, arg as Arg<unknown> | null | "baseline"), undefined];
  }
  if (!isThenable(result)) return [null, result];
  return settle(c, result, arg);
}

async function settle<Ctx>(c: Case<Ctx>, pending: PromiseLike<unknown>, arg: Arg<Ctx> | "baseline"): Promise<[string | null, unknown]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    Promise.resolve(pending).then((v) => ({ ok: true as const, v }), (e) => ({ ok: false as const, e })),
    new Promise<"hang">((r) => timer = setTimeout(() => r("hang"), c.waitMs ?? 3000)),
  ]);
  clearTimeout(timer);
  if (outcome === "hang") {
    const f = pending as { cancel?: () => boolean };
    if (typeof f.cancel === "function") f.cancel();
    return [c.pendingOk ? null : `still pending after ${c.waitMs ?? 3000} ms (a hang)`, undefined];
  }
  if (outcome.ok) return [null, outcome.v];
  return [judge(outcome.e, c as Case<unknown>, arg as Arg<unknown> | null | "baseline"), undefined];
}

/** Exceptions reported to the loop's handler must be of the allowed classes too. */
function checkReported(c: Case<unknown>, seen: Record<string, unknown>[]): string | null {
  for (const ctx of seen.splice(0)) {
    let e: unknown;
    try {
      e = ctx.exception;
    } catch {
      continue; // a generated context handed to callExceptionHandler as it is
    }
    if (e === undefined || e === null) continue;
    const why = judge(e, c, null);
    if (why !== null) return `the exception handler got ${describeError(e)} (${String(ctx.message)}): ${why}`;
  }
  return null;
}

class Violation extends Error {
  override name = "Violation";
}

/** Debugging: BAD_INPUT_ONLY runs the cases whose name contains it; BAD_INPUT_FD_EACH checks descriptors after every call. */
const ONLY = env("BAD_INPUT_ONLY");
const FD_EACH = !!env("BAD_INPUT_FD_EACH");
const TRACE = !!env("BAD_INPUT_TRACE");

/** Register one uvu test per case. */
export function badInputTests<Ctx>(cases: Case<Ctx>[]): void {
  for (const c of cases) if (!ONLY || c.name.includes(ONLY)) test(`bad input: ${c.name}`, () => runCase(c));
}

/** Check one case: its baseline, then the generated calls, then the descriptors. */
export async function runCase<Ctx>(c: Case<Ctx>): Promise<void> {
  {
    {
      const before = await settledFds();
      const loop = newEventLoop();
      const seen: Record<string, unknown>[] = [];
      loop.setExceptionHandler((_l, ctx) => void seen.push(ctx));
      // A case may take long (many runs that each wait out waitMs): the guard grows with STRESS_FACTOR.
      const guard = setTimeout(() => loop.isRunning() && loop.stop(), 120_000 * FACTOR);
      currentLoop = loop;
      const one = async (i: number, v: Val | null) => {
        const fds0 = FD_EACH ? JSON.stringify(openFds()) : "";
        if (TRACE) console.error(`${c.name}: ${v === null ? "baseline" : `${c.args[i].name} = ${v.label}`}`);
        const ctx = await c.setup(loop);
        let result: unknown;
        try {
          const args = c.args.map((a, j) => (j === i && v !== null ? v.make(ctx) : a.valid(ctx)));
          const ran = runOne(c, ctx, args, i >= 0 ? c.args[i] : "baseline");
          const [why, r] = Array.isArray(ran) ? ran : await ran;
          if (TRACE) console.error(`  -> ${why}`);
          result = r;
          if (why !== null) {
            throw new Violation(v === null ? `the valid baseline call failed: ${why}` : `${c.name}, ${c.args[i].name} = ${v.label}: ${why}`);
          }
        } finally {
          const done = c.cleanup?.(ctx, result);
          if (done) await done;
        }
        if (TRACE) console.error(`  cleaned up`);
        if (!c.outsideLoop) await sleep(0, undefined, { loop });
        if (TRACE) console.error(`  slept`);
        if (FD_EACH) {
          await new Promise((r) => setTimeout(r, 5));
          const fds1 = JSON.stringify(openFds());
          if (fds1 !== fds0) throw new Violation(`${c.name}${v ? `, ${c.args[i].name} = ${v.label}` : ""}: descriptors ${fds0} became ${fds1}`);
        }
        const rep = checkReported(c as Case<unknown>, seen);
        if (rep !== null) throw new Violation(`${c.name}${v ? `, ${c.args[i].name} = ${v.label}` : ""}: ${rep}`);
      };
      const body = async () => {
        await one(-1, null);
        if (c.args.length === 0 || c.runs === 0) return;
        const arb = fc.integer({ min: 0, max: c.args.length - 1 }).chain((i) =>
          fc.tuple(fc.constant(i), nasty(c.args[i].extra as Val[] | undefined, { fd: c.args[i].fd }))
        );
        await fc.assert(fc.asyncProperty(arb, async ([i, v]) => await one(i, v)), {
          seed: SEED,
          numRuns: c.runs ?? NUM_RUNS,
          endOnFailure: true,
        });
      };
      try {
        if (c.outsideLoop) await body();
        else await loop.runUntilComplete(body);
      } catch (e) {
        const err = e as Error;
        const msg = String(err.message);
        throw new Error(`${msg}${/seed/.test(msg) ? "" : `\n(seed ${SEED})`}`);
      } finally {
        clearTimeout(guard);
        currentLoop = null;
        if (loop.isRunning()) loop.stop();
        if (!loop.isClosed()) loop.close();
      }
      const after = await settledFds(before);
      if (JSON.stringify(after) !== JSON.stringify(before)) {
        throw new Error(`${c.name}: descriptors leaked: before ${before}, after ${after} (seed ${SEED})`);
      }
    }
  }
}

/** Close every Socket in `xs` (ignoring already closed ones). */
export function closeAll(...xs: (Socket | null | undefined)[]): void {
  for (const s of xs) if (s && s.fileno() >= 0) s.close();
}

/** A pipe's two descriptors. */
export function pipeFds(): [number, number] {
  const fds = new Int32Array(2);
  if (libc.pipe(new Uint8Array(fds.buffer)) !== 0) throw new Error("pipe() failed");
  return [fds[0], fds[1]];
}

export function closeFd(fd: number): void {
  if (fd >= 0) libc.close(fd);
}
