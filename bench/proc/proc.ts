/**
 * Subprocess benchmark for bench/run_proc.mjs, on whichever runtime runs it:
 * tsyncio's `subprocessExec` with a SubprocessProtocol, and in the same
 * process the runtime's own API (node:child_process spawn, Bun.spawn,
 * Deno.Command), one after the other, REPS times each, best kept:
 *   spawn: N × /bin/true (stdio all /dev/null), CONC at a time, each waited for: children/s
 *   cat:   TOTAL bytes written to /bin/cat's stdin in CHUNK-byte writes, its stdout read and counted: MB/s
 *
 *   bun bench/proc/proc.ts [--n=1000] [--conc=8] [--mib=256] [--chunk=65536] [--reps=2]
 *   deno run --allow-ffi --allow-read --allow-run --allow-env bench/proc/proc.ts ...
 *   node scripts/build-node.mjs .build/bench-proc bench/proc/proc.ts && node .build/bench-proc/proc.mjs ...
 *
 * --who=host or --who=tsyncio measures one side only (for profiling).
 * Prints one JSON line on stdout; progress on stderr.
 */

import { DEVNULL, type Future, newEventLoop, PIPE, type UnixSubprocessTransport } from "../../mod.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const runtime: string = typeof g.Deno?.dlopen === "function" ? "deno" : typeof g.Bun?.version === "string" ? "bun" : "node";
const args: string[] = runtime === "deno" ? g.Deno.args : g.process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};
const N = opt("n", 1000);
const CONC = opt("conc", 8);
const TOTAL = opt("mib", 256) * 1024 * 1024;
const CHUNK = opt("chunk", 65536);
const REPS = opt("reps", 2);
const TRUE = "/bin/true";
const CAT = "/bin/cat";
const log = (s: string) => (runtime === "deno" ? console.error(s) : g.process.stderr.write(`${s}\n`));
const now = () => performance.now();
const chunk = new Uint8Array(CHUNK).fill(0x61);

// ---- tsyncio ----
// deno-lint-ignore no-explicit-any
type Loop = any;
const loop: Loop = newEventLoop();
const NULLS = { stdin: DEVNULL, stdout: DEVNULL, stderr: DEVNULL };

function tsyncioSpawn(n: number): Future<number> {
  const done: Future<number> = loop.createFuture();
  let started = 0, finished = 0, bad = 0;
  const startOne = () => {
    started++;
    let tr: UnixSubprocessTransport | null = null;
    const proto = {
      connectionMade(t: UnixSubprocessTransport) {
        tr = t;
      },
      connectionLost() {
        if (tr!.getReturncode() !== 0) bad++;
        tr!.close();
        finished++;
        if (started < n) startOne();
        else if (finished === n && !done.done()) done.setResult(bad);
      },
    };
    const f = loop.subprocessExec(() => proto, [TRUE], NULLS);
    f.addDoneCallback((f: Future<unknown>) => {
      const e = f.cancelled() ? new Error("cancelled") : f.exception();
      if (e && !done.done()) done.setException(e);
    });
  };
  for (let i = 0; i < Math.min(CONC, n); i++) startOne();
  return done;
}

function tsyncioCat(total: number): Future<number> {
  const done: Future<number> = loop.createFuture();
  let sent = 0, received = 0, paused = false;
  let tr: UnixSubprocessTransport | null = null;
  // deno-lint-ignore no-explicit-any
  let stdin: any = null;
  const pump = () => {
    while (!paused && sent < total) {
      const n = Math.min(CHUNK, total - sent);
      stdin.write(n === CHUNK ? chunk : chunk.subarray(0, n));
      sent += n;
    }
    if (sent >= total && stdin && !stdin.isClosing()) stdin.close();
  };
  const proto = {
    connectionMade(t: UnixSubprocessTransport) {
      tr = t;
    },
    pipeDataReceived(fd: number, data: Uint8Array) {
      if (fd === 1) received += data.length;
    },
    pauseWriting() {
      paused = true;
    },
    resumeWriting() {
      paused = false;
      if (stdin) pump();
    },
    connectionLost(exc: Error | null) {
      const rc = tr!.getReturncode();
      tr!.close();
      if (done.done()) return;
      if (exc) done.setException(exc);
      else if (rc !== 0) done.setException(new Error(`cat exited ${rc}`));
      else done.setResult(received);
    },
  };
  const f = loop.subprocessExec(() => proto, [CAT], { stdin: PIPE, stdout: PIPE, stderr: DEVNULL });
  f.addDoneCallback((f: Future<[UnixSubprocessTransport, unknown]>) => {
    const e = f.cancelled() ? new Error("cancelled") : f.exception();
    if (e) {
      if (!done.done()) done.setException(e);
      return;
    }
    stdin = f.result()[0].getPipeTransport(0);
    pump();
  });
  return done;
}

// ---- the host's own ----
async function pool(n: number, one: () => Promise<number>): Promise<number> {
  let next = 0, bad = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      if ((await one()) !== 0) bad++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONC, n) }, worker));
  return bad;
}

// deno-lint-ignore no-explicit-any
let cp: any = null;
if (runtime === "node") cp = await import("node:child_process");

function hostSpawnOne(): Promise<number> {
  if (runtime === "bun") {
    const p = g.Bun.spawn([TRUE], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    return p.exited;
  }
  if (runtime === "deno") {
    const p = new g.Deno.Command(TRUE, { stdin: "null", stdout: "null", stderr: "null" }).spawn();
    return p.status.then((s: { code: number }) => s.code);
  }
  return new Promise((resolve, reject) => {
    const c = cp.spawn(TRUE, [], { stdio: "ignore" });
    c.on("error", reject);
    c.on("exit", (code: number | null) => resolve(code ?? -1));
  });
}

async function hostCat(total: number): Promise<number> {
  const last = total % CHUNK;
  const count = Math.floor(total / CHUNK);
  if (runtime === "bun") {
    const p = g.Bun.spawn([CAT], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
    const writer = (async () => {
      for (let i = 0; i < count; i++) {
        p.stdin.write(chunk);
        await p.stdin.flush();
      }
      if (last) p.stdin.write(chunk.subarray(0, last));
      await p.stdin.end();
    })();
    let received = 0;
    for await (const c of p.stdout) received += c.byteLength;
    await writer;
    const rc = await p.exited;
    if (rc !== 0) throw new Error(`cat exited ${rc}`);
    return received;
  }
  if (runtime === "deno") {
    const p = new g.Deno.Command(CAT, { stdin: "piped", stdout: "piped", stderr: "null" }).spawn();
    const writer = (async () => {
      const w = p.stdin.getWriter();
      for (let i = 0; i < count; i++) await w.write(chunk);
      if (last) await w.write(chunk.subarray(0, last));
      await w.close();
    })();
    let received = 0;
    for await (const c of p.stdout) received += c.byteLength;
    await writer;
    const st = await p.status;
    if (st.code !== 0) throw new Error(`cat exited ${st.code}`);
    return received;
  }
  return new Promise((resolve, reject) => {
    const c = cp.spawn(CAT, [], { stdio: ["pipe", "pipe", "ignore"] });
    let received = 0, i = 0;
    c.on("error", reject);
    c.stdout.on("data", (d: Uint8Array) => (received += d.length));
    const pump = () => {
      while (i < count) {
        i++;
        if (!c.stdin.write(chunk)) return c.stdin.once("drain", pump);
      }
      if (last) c.stdin.write(chunk.subarray(0, last));
      c.stdin.end();
    };
    pump();
    c.on("close", (code: number | null) => (code === 0 ? resolve(received) : reject(new Error(`cat exited ${code}`))));
  });
}

// ---- measure ----
type R = { spawnPerSec?: number; spawnErr?: string; catMBps?: number; catErr?: string };
const res: Record<string, R> = { tsyncio: {}, host: {} };

async function spawnRun(who: string, n: number): Promise<number> {
  const t0 = now();
  const bad = who === "tsyncio" ? await loop.runUntilComplete(tsyncioSpawn(n)) : await pool(n, hostSpawnOne);
  const secs = (now() - t0) / 1000;
  if (bad) throw new Error(`${bad} of ${n} children did not exit 0`);
  return n / secs;
}

async function catRun(who: string, total: number): Promise<number> {
  const t0 = now();
  const got = who === "tsyncio" ? await loop.runUntilComplete(tsyncioCat(total)) : await hostCat(total);
  const secs = (now() - t0) / 1000;
  if (got !== total) throw new Error(`cat returned ${got} bytes of ${total}`);
  return total / 1e6 / secs;
}

const errText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));
const whoArg = args.find((x) => x.startsWith("--who="));
const WHO = whoArg ? whoArg.slice(6).split(",") : ["host", "tsyncio"];
for (const who of WHO) {
  try {
    await spawnRun(who, 50); // warm-up
    await catRun(who, 16 * 1024 * 1024);
  } catch (e) {
    log(`[${runtime}] ${who} warm-up: ${errText(e)}`);
  }
}
for (let rep = 0; rep < REPS; rep++) {
  for (const who of rep % 2 ? [...WHO].reverse() : WHO) {
    const r = res[who];
    if (r.spawnErr === undefined) {
      try {
        const v = await spawnRun(who, N);
        r.spawnPerSec = Math.max(r.spawnPerSec ?? 0, v);
        log(`[${runtime}] ${who} spawn: ${v.toFixed(0)} children/s`);
      } catch (e) {
        r.spawnErr = errText(e);
        log(`[${runtime}] ${who} spawn: ${r.spawnErr}`);
      }
    }
  }
  for (const who of rep % 2 ? [...WHO].reverse() : WHO) {
    const r = res[who];
    if (r.catErr === undefined) {
      try {
        const v = await catRun(who, TOTAL);
        r.catMBps = Math.max(r.catMBps ?? 0, v);
        log(`[${runtime}] ${who} cat: ${v.toFixed(0)} MB/s`);
      } catch (e) {
        r.catErr = errText(e);
        log(`[${runtime}] ${who} cat: ${r.catErr}`);
      }
    }
  }
}
loop.close();
console.log(JSON.stringify({ runtime, n: N, conc: CONC, total: TOTAL, chunk: CHUNK, reps: REPS, results: res }));
if (runtime === "node") g.process.exit(0);
if (runtime === "deno") g.Deno.exit(0);
