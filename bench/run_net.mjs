#!/usr/bin/env node
// `npm run bench:net`: echo-server benchmark. Each server under test echoes
// TCP on 127.0.0.1; a C epoll client (bench/net/echo_client.c, built here
// with `cc -O2`) drives it, one server at a time, server pinned to core 0 and
// client to core 1 (taskset), and reports:
//   (a) 1 connection × 64 B ping-pong: p50 / p99 latency (µs), cross-core and
//       with both on core 0;
//   (b) 32 connections × 1 KiB ping-pong: round trips/s, and the server's own
//       CPU time per round trip (/proc/PID/task/*/schedstat over the window);
//   (c) 32 connections × 64 KiB ping-pong: MiB/s echoed;
//   (d) 10,000 idle connections held: the server's VmRSS (fresh server).
// Servers: C epoll (the floor), uvloop, asyncio, node:net, Bun.listen,
// Deno.listen, and tsyncio (bench/net/server_tsyncio.ts) on node, bun, deno.
// Streams rows, (b) and (c) only: the asyncio-streams echo (start_server,
// read(65536) / write / drain) on tsyncio (bench/net/server_tsyncio_streams.ts)
// on node, bun, deno, and on asyncio and uvloop (server_asyncio_streams.py);
// and the web-stream echo (readable.pipeTo(writable)) on tsyncio
// (server_tsyncio_web.ts) next to each host's own: node:net + Duplex.toWeb on
// Node and on Bun (a Bun.listen socket has no web streams), Deno.listen's
// conn.readable/conn.writable on Deno.
//
//   node bench/run_net.mjs [--quick] [--only=c,uvloop,...] [--seconds=N]
//                          [--warmup=N] [--idle=N] [--reps=N] [--json=FILE]
//                          [--malloc=pinned|default]
//
// Server names for --only: c uvloop asyncio node bun deno tsyncio-node
// tsyncio-bun tsyncio-deno (or "tsyncio" for the three, "host" for
// node,bun,deno); uvloop-streams asyncio-streams tsyncio-streams-node
// tsyncio-streams-bun tsyncio-streams-deno (or "streams" for the five);
// node-web bun-web deno-web tsyncio-web-node tsyncio-web-bun tsyncio-web-deno
// (or "web" for the six). Not a test: it only reports. Every step has a timeout; a
// server that fails to start or answer is reported as failed with the tail
// of its stderr, and every server is killed at the end.
//
// When it has a core to itself the client busy-polls (epoll_wait with a zero
// timeout), so its own wake-ups are not in the figures: on a VM, waking a
// sleeping vCPU costs tens of µs. All servers stay up for the whole run, and
// --reps=N runs every scenario on every server N times, interleaved (server
// A, B, C, then A, B, C again), and keeps each one's median (by p50, or by
// round trips/s): the machine's speed drifts over minutes, and interleaving
// spreads that drift over all the servers alike. The client
// also reports the CPU that neither it nor the server used (other processes,
// steal): a run disturbed by more than 15% of a core ranks after the quiet
// ones, and a row whose median run was disturbed is flagged "~".
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { killGroup, live, log, options } from "./_harness.mjs";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const opt = options(args);
for (const a of args) {
  if (!/^--(quick|only=.*|seconds=.*|warmup=.*|idle=.*|reps=.*|json=.*|malloc=(pinned|default)|help)$/.test(a)) {
    console.error(`unknown argument ${a}\nusage: node bench/run_net.mjs [--quick] [--only=name,...] [--seconds=N] [--warmup=N] [--idle=N] [--reps=N] [--json=FILE] [--malloc=pinned|default]`);
    process.exit(2);
  }
}
if (args.includes("--help")) {
  console.log("usage: node bench/run_net.mjs [--quick] [--only=c,uvloop,asyncio,node,bun,deno,tsyncio-node,tsyncio-bun,tsyncio-deno,streams,web,...] [--seconds=N] [--warmup=N] [--idle=N] [--reps=N] [--json=FILE] [--malloc=pinned|default]");
  process.exit(0);
}
const QUICK = args.includes("--quick");
const SECONDS = Number(opt("seconds", QUICK ? 1 : 3));
const WARMUP = Number(opt("warmup", QUICK ? 0.3 : 1));
const IDLE = Number(opt("idle", QUICK ? 2000 : 10000));
const REPS = Number(opt("reps", 1));
if (!(SECONDS > 0 && SECONDS <= 60) || !(WARMUP >= 0 && WARMUP <= 30) || !(IDLE >= 1 && IDLE <= 30000) || !(Number.isInteger(REPS) && REPS >= 1 && REPS <= 10)) {
  console.error("--seconds must be in (0,60], --warmup in [0,30], --idle in [1,30000], --reps in 1..10");
  process.exit(2);
}
const bin = (name) => join(root, "node_modules", ".bin", name);
const out = join(root, ".build", "bench-net");
const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };
// glibc's malloc gives the top of its heap back to the kernel past a trim
// threshold that it moves at run time, and takes it back at the next large
// allocation. On this VM a fresh page costs so much that a server caught in
// that cycle echoes (c) ten times slower (uvloop: ~250 against ~2,300 MiB/s;
// see bench/README.md). Pinning both thresholds, the same for every server,
// measures the servers instead of the allocator's state; --malloc=default
// measures without.
const MALLOC = opt("malloc", "pinned");
const PINNED_MALLOC = { MALLOC_TRIM_THRESHOLD_: String(64 << 20), MALLOC_MMAP_THRESHOLD_: String(1 << 20) };
const serverEnv = MALLOC === "pinned" ? { ...env, ...PINNED_MALLOC } : env;
const rel = (s) => String(s).replaceAll(root, "");

const STREAMS = ["uvloop-streams", "asyncio-streams", "tsyncio-streams-node", "tsyncio-streams-bun", "tsyncio-streams-deno"];
const WEB = ["node-web", "bun-web", "deno-web", "tsyncio-web-node", "tsyncio-web-bun", "tsyncio-web-deno"];
const ALL = ["c", "uvloop", "asyncio", "node", "bun", "deno", "tsyncio-node", "tsyncio-bun", "tsyncio-deno", ...STREAMS, ...WEB];
const LABEL = {
  c: "C epoll", uvloop: "uvloop", asyncio: "asyncio", node: "node:net", bun: "Bun.listen", deno: "Deno.listen",
  "tsyncio-node": "tsyncio-node", "tsyncio-bun": "tsyncio-bun", "tsyncio-deno": "tsyncio-deno",
  "uvloop-streams": "uvloop streams", "asyncio-streams": "asyncio streams",
  "tsyncio-streams-node": "tsyncio-node streams", "tsyncio-streams-bun": "tsyncio-bun streams", "tsyncio-streams-deno": "tsyncio-deno streams",
  "node-web": "node:net web (Node)", "bun-web": "node:net web (Bun)", "deno-web": "Deno.listen web",
  "tsyncio-web-node": "tsyncio-node web", "tsyncio-web-bun": "tsyncio-bun web", "tsyncio-web-deno": "tsyncio-deno web",
};
/** Streams and web rows: (b) and (c) only, no (a) and no restart for (d). */
const STREAMISH = new Set([...STREAMS, ...WEB]);
const GROUPS = { tsyncio: ["tsyncio-node", "tsyncio-bun", "tsyncio-deno"], host: ["node", "bun", "deno"], streams: STREAMS, web: WEB };
let selected = ALL;
const only = opt("only", null);
if (only) {
  const want = new Set(only.split(",").flatMap((n) => GROUPS[n] ?? [n]));
  for (const n of want) if (!ALL.includes(n)) (console.error(`unknown server ${n}; one of ${ALL.join(" ")} (or a group: ${Object.keys(GROUPS).join(" ")})`), process.exit(2));
  selected = ALL.filter((n) => want.has(n));
}

// ---- process bookkeeping (bench/_harness.mjs): nothing is left behind ----

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Start a long-lived process in its own group; keeps the tail of its stderr/stdout. */
function startProc(argv) {
  const child = spawn(argv[0], argv.slice(1), { cwd: root, env: serverEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  const st = { child, tail: "", exited: null };
  const keep = (d) => {
    st.tail = (st.tail + d.toString()).slice(-6000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  child.on("error", (e) => {
    st.tail += `\nspawn error: ${e.message}`;
    st.exited ??= "spawn error";
  });
  child.on("exit", (code, sig) => {
    st.exited = sig ? `killed by ${sig}` : `exit ${code}`;
    live.delete(child);
  });
  return st;
}

async function stopProc(st) {
  if (st.exited) return;
  killGroup(st.child, "SIGTERM");
  for (let i = 0; i < 20 && !st.exited; i++) await sleep(50);
  if (!st.exited) killGroup(st.child, "SIGKILL");
  for (let i = 0; i < 40 && !st.exited; i++) await sleep(50);
}

/** Run a command to completion with a timeout; the JSON on its stdout's last `{` line is the result. */
function runJson(argv, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    let stdout = "", stderr = "", timedOut = false;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGKILL");
    }, timeoutMs);
    const done = (why) => {
      clearTimeout(timer);
      live.delete(child);
      const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
      let r = null;
      try {
        r = line ? JSON.parse(line) : null;
      } catch { /* below */ }
      if (!r) r = { error: timedOut ? `timed out after ${timeoutMs / 1000}s` : `no result (${why}) ${stderr.trim().split("\n").pop() ?? ""}` };
      else if (timedOut) r.error ??= `timed out after ${timeoutMs / 1000}s`;
      resolve(r);
    };
    child.on("error", (e) => done(e.message));
    child.on("exit", (code, sig) => done(sig ? `killed by ${sig}` : `exit ${code}`));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** One echo round trip from here, within `ms`. */
function probe(port, ms) {
  return new Promise((resolve) => {
    const msg = Buffer.from(`probe-${port}-${Date.now()}`);
    let got = Buffer.alloc(0);
    const s = net.connect({ port, host: "127.0.0.1" });
    const end = (ok, why) => {
      clearTimeout(t);
      s.destroy();
      resolve({ ok, why });
    };
    const t = setTimeout(() => end(false, got.length ? "partial echo" : "no echo"), ms);
    s.on("connect", () => s.write(msg));
    s.on("data", (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= msg.length) end(got.subarray(0, msg.length).equals(msg), "wrong echo");
    });
    s.on("error", (e) => end(false, e.code ?? e.message));
  });
}

/** Start a server pinned to core 0 and wait until it echoes (≤ 20 s). */
async function startServer(name, cmd) {
  const port = await freePort();
  // Raise the fd limit as far as allowed: (d) holds IDLE connections.
  const sh = `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec taskset -c 0 "$@"`;
  const st = startProc(["sh", "-c", sh, "sh", ...cmd(port)]);
  st.port = port;
  const t0 = Date.now();
  let last = "";
  while (Date.now() - t0 < 20_000) {
    if (st.exited) return { st, error: `exited before answering (${st.exited})` };
    const p = await probe(port, 2000);
    if (p.ok) {
      log(`    ${name}: up on :${port} in ${((Date.now() - t0) / 1000).toFixed(1)}s (pid ${st.child.pid})`);
      return { st };
    }
    last = p.why;
    await sleep(p.why === "ECONNREFUSED" ? 100 : 10);
  }
  await stopProc(st);
  return { st, error: `no echo within 20 s (${last})` };
}

// ---- preflight ----
for (const [tool, argv] of [["taskset", ["-V"]], ["cc", ["--version"]]]) {
  if (spawnSync(tool, argv, { stdio: "ignore" }).status !== 0) {
    console.error(`${tool} not found (${tool === "taskset" ? "util-linux" : "a C compiler"} is required)`);
    process.exit(1);
  }
}
mkdirSync(out, { recursive: true });
for (const p of ["echo_client", "echo_server"]) {
  const r = spawnSync("cc", ["-O2", "-o", join(out, p), join(root, "bench/net", `${p}.c`)], { stdio: "inherit" });
  if (r.status !== 0) (console.error(`cc -O2 bench/net/${p}.c failed`), process.exit(1));
}
const CLIENT = join(out, "echo_client");
const notes = [];
const results = {};

// Python: the Debian python3-uvloop is for /usr/bin/python3, which may not be the python3 on PATH.
let py = null;
let hasUvloop = false;
if (["asyncio", "uvloop", "asyncio-streams", "uvloop-streams"].some((n) => selected.includes(n))) {
  const ok = (p, code) => spawnSync(p, ["-c", code], { stdio: "ignore", timeout: 20_000 }).status === 0;
  const candidates = ["/usr/bin/python3", "python3"].filter((p) => !p.startsWith("/") || existsSync(p));
  py = candidates.find((p) => ok(p, "import uvloop")) ?? null;
  hasUvloop = py !== null;
  py ??= candidates.find((p) => ok(p, "import asyncio")) ?? null;
  if (!py) notes.push("python3: not found: no asyncio / uvloop rows");
  else if (!hasUvloop && (selected.includes("uvloop") || selected.includes("uvloop-streams"))) notes.push("uvloop: not importable (apt-get install python3-uvloop): skipped, ratios n/a");
}

// Node 20 cannot run .ts: the tsyncio servers are bundled for it (esbuild).
const NODE_TS = { "tsyncio-node": "server_tsyncio", "tsyncio-streams-node": "server_tsyncio_streams", "tsyncio-web-node": "server_tsyncio_web" };
const nodeBundle = {};
const toBundle = Object.keys(NODE_TS).filter((n) => selected.includes(n));
if (toBundle.length) {
  const b = spawnSync(process.execPath, [join(root, "scripts/build-node.mjs"), out, ...toBundle.map((n) => join(root, `bench/net/${NODE_TS[n]}.ts`))], { cwd: root, stdio: "inherit", timeout: 120_000 });
  if (b.status === 0) for (const n of toBundle) nodeBundle[n] = join(out, `${NODE_TS[n]}.mjs`);
}
const ts = (name) => join(root, `bench/net/${name}.ts`);

const SERVERS = {
  c: (port) => [join(out, "echo_server"), "127.0.0.1", String(port)],
  uvloop: hasUvloop ? (port) => [py, join(root, "bench/net/server_asyncio.py"), "uvloop", String(port)] : null,
  asyncio: py ? (port) => [py, join(root, "bench/net/server_asyncio.py"), "asyncio", String(port)] : null,
  node: (port) => [process.execPath, join(root, "bench/net/server_node.mjs"), String(port)],
  bun: (port) => [bin("bun"), join(root, "bench/net/server_bun.ts"), String(port)],
  deno: (port) => [bin("deno"), "run", "--no-prompt", "--allow-net", join(root, "bench/net/server_deno.ts"), String(port)],
  "tsyncio-node": nodeBundle["tsyncio-node"] ? (port) => [process.execPath, nodeBundle["tsyncio-node"], String(port)] : null,
  "tsyncio-bun": (port) => [bin("bun"), ts("server_tsyncio"), String(port)],
  "tsyncio-deno": (port) => [bin("deno"), "run", "--no-prompt", "--allow-ffi", ts("server_tsyncio"), String(port)],
  // streams rows
  "uvloop-streams": hasUvloop ? (port) => [py, join(root, "bench/net/server_asyncio_streams.py"), "uvloop", String(port)] : null,
  "asyncio-streams": py ? (port) => [py, join(root, "bench/net/server_asyncio_streams.py"), "asyncio", String(port)] : null,
  "tsyncio-streams-node": nodeBundle["tsyncio-streams-node"] ? (port) => [process.execPath, nodeBundle["tsyncio-streams-node"], String(port)] : null,
  "tsyncio-streams-bun": (port) => [bin("bun"), ts("server_tsyncio_streams"), String(port)],
  "tsyncio-streams-deno": (port) => [bin("deno"), "run", "--no-prompt", "--allow-ffi", ts("server_tsyncio_streams"), String(port)],
  // web-stream rows: on Bun the host's reference is node:net + Duplex.toWeb too
  "node-web": (port) => [process.execPath, join(root, "bench/net/server_node_web.mjs"), String(port)],
  "bun-web": (port) => [bin("bun"), join(root, "bench/net/server_node_web.mjs"), String(port)],
  "deno-web": (port) => [bin("deno"), "run", "--no-prompt", "--allow-net", ts("server_deno_web"), String(port)],
  "tsyncio-web-node": nodeBundle["tsyncio-web-node"] ? (port) => [process.execPath, nodeBundle["tsyncio-web-node"], String(port)] : null,
  "tsyncio-web-bun": (port) => [bin("bun"), ts("server_tsyncio_web"), String(port)],
  "tsyncio-web-deno": (port) => [bin("deno"), "run", "--no-prompt", "--allow-ffi", ts("server_tsyncio_web"), String(port)],
};

const pp = (conns, size, core) => ({ mode: "pingpong", conns, size, core });
const SCEN = [
  ["a", pp(1, 64, 1)],
  ["aSame", pp(1, 64, 0)],
  ["b", pp(32, 1024, 1)],
  ["c", pp(32, 65536, 1)],
];

async function client(st, s) {
  const argv = ["taskset", "-c", String(s.core ?? 1), CLIENT, `--mode=${s.mode}`, `--port=${st.port}`, `--conns=${s.conns}`, `--pid=${st.child.pid}`];
  if (s.mode === "pingpong") argv.push(`--size=${s.size}`, `--warmup=${WARMUP}`, `--seconds=${SECONDS}`, `--spin=${s.core === 0 ? 0 : 1}`);
  else argv.push("--inflight=64", "--timeout=90", "--settle=1");
  const budget = s.mode === "pingpong" ? (WARMUP + SECONDS + 20) * 1000 : 100_000;
  return runJson(argv, budget);
}

// ---- run: every server up at once, repetitions interleaved ----
// The machine's speed drifts by up to 2× over minutes, so one server's
// repetitions run back to back would all share one phase. Instead all the
// servers stay up (idle ones use no CPU) and each repetition runs every
// scenario on every server in turn; a server's figure is the median of its
// REPS runs (by p50 for one connection, by round trips/s otherwise).
const NOISE = 0.15;
const tRun = Date.now();
log(`load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}`);
log(`echo bench: ${SECONDS}s measured after ${WARMUP}s warm-up per scenario, ${IDLE} idle connections; servers on core 0, client on core 1; ${REPS} repetition(s), interleaved`);
const up = new Map(); // name → the live server's state
for (const name of selected) {
  const cmd = SERVERS[name];
  if (!cmd) {
    // python or uvloop missing: noted above; no row
    if (NODE_TS[name]) results[name] = { error: `esbuild bundle of bench/net/${NODE_TS[name]}.ts failed` };
    continue;
  }
  const r = (results[name] = {});
  log(`--- ${LABEL[name]}: ${rel(cmd(0).join(" "))}`);
  const { st, error } = await startServer(name, cmd);
  if (error) {
    r.error = error;
    r.stderr = st.tail;
    log(`    ${name}: FAILED: ${error}`);
    continue;
  }
  up.set(name, st);
}
const scenariosOf = (name) => (STREAMISH.has(name) ? SCEN.filter(([k]) => k === "b" || k === "c") : SCEN);
const samples = {}; // name → key → client results
const dead = new Set(); // servers that stopped answering: no more runs
for (let rep = 1; rep <= REPS; rep++) {
  for (const [key, s] of SCEN) {
    for (const [name, st] of up) {
      if (dead.has(name) || st.exited || !scenariosOf(name).some(([k]) => k === key)) continue;
      const y = await client(st, s);
      ((samples[name] ??= {})[key] ??= []).push(y);
      const other = y.otherCpuFraction > 0.05 ? `; other CPU ${Math.round(y.otherCpuFraction * 100)}%` : "";
      log(`    [${rep}/${REPS}] ${LABEL[name]} ${key}: ${y.error ? `ERROR ${y.error}` : s.conns === 1 ? `p50 ${y.p50Us} µs, p99 ${y.p99Us} µs` : `${Math.round(y.rtPerSec)} rt/s, ${y.mibPerSec} MiB/s, server ${y.serverCpuUsPerRt} µs CPU/rt (${Math.round(y.serverCpuFraction * 100)}% of a core)`}${other}`);
      if (y.error && !st.exited && !(await probe(st.port, 3000)).ok) {
        log(`    ${name}: no longer answers; no more runs of it`);
        dead.add(name);
      }
    }
  }
}
/** The median run: errors rank last, then disturbed runs, then by the scenario's own figure. */
function median(runs, conns) {
  const fig = (z) => (conns === 1 ? z.p50Us : -z.rtPerSec);
  const good = runs.filter((z) => !z.error);
  if (good.length === 0) return runs[runs.length - 1];
  const quiet = good.filter((z) => !(z.otherCpuFraction > NOISE));
  const pool = (quiet.length ? quiet : good).slice().sort((a, b) => fig(a) - fig(b));
  return pool[(pool.length - 1) >> 1];
}
for (const [name, st] of up) {
  const r = results[name];
  for (const [key, s] of scenariosOf(name)) {
    const runs = samples[name]?.[key];
    r[key] = runs?.length ? median(runs, s.conns)
      : dead.has(name) ? { error: "skipped: the server no longer answered" }
      : { error: `server gone (${st.exited})` };
  }
  if (st.exited || Object.values(r).some((v) => v?.error)) r.stderr = st.tail;
  await stopProc(st);
}

// (d) on a fresh server: RSS of IDLE held connections, not of (c)'s buffers
// (not for the streams and web rows: they are about (b) and (c))
for (const name of up.keys()) {
  if (STREAMISH.has(name)) continue;
  const r = results[name];
  log(`--- ${LABEL[name]}: (d)`);
  const { st, error } = await startServer(name, SERVERS[name]);
  if (error) {
    r.d = { error: `restart: ${error}` };
    r.stderr = `${r.stderr ? `${r.stderr}\n` : ""}${st.tail}`;
    continue;
  }
  r.d = await client(st, { mode: "hold", conns: IDLE, core: 1 });
  const x = r.d;
  log(`    d: ${x.error ? `ERROR ${x.error}` : ""}${x.held ?? 0}/${IDLE} held in ${x.connectSeconds}s, RSS ${(x.rssBeforeKiB / 1024).toFixed(1)} → ${(x.rssKiB / 1024).toFixed(1)} MiB`);
  await stopProc(st);
  if (x.error) r.stderr = `${r.stderr ? `${r.stderr}\n` : ""}${st.tail}`;
}

// ---- the table ----
const rows = selected.filter((n) => results[n]);
const num = (v) => typeof v === "number" && Number.isFinite(v) && v >= 0;
/** A figure, "failed" when the scenario gave none, with "!" when it came with an error. */
const cell = (x, fields, f) => (!x ? "—" : fields.every((k) => num(x[k]) && (k !== "rtPerSec" || x[k] > 0)) ? f(x) + (x.error ? "!" : "") : "failed");
const fmtUs = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const fmtK = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e4 ? `${(v / 1e3).toFixed(0)}k` : `${(v / 1e3).toFixed(1)}k`);
const mb = (kib) => (kib * 1024) / 1e6;
const COLS = [
  ["(a) 1×64B p50/p99 µs", (r) => cell(r.a, ["p50Us", "p99Us"], (x) => `${fmtUs(x.p50Us)} / ${fmtUs(x.p99Us)}`)],
  ["(a) same core p50/p99", (r) => cell(r.aSame, ["p50Us", "p99Us"], (x) => `${fmtUs(x.p50Us)} / ${fmtUs(x.p99Us)}`)],
  ["(b) 32×1KiB rt/s", (r) => cell(r.b, ["rtPerSec"], (x) => fmtK(x.rtPerSec))],
  ["(b) srv CPU µs/rt", (r) => cell(r.b, ["rtPerSec", "serverCpuUsPerRt"], (x) => x.serverCpuUsPerRt.toFixed(2))],
  ["(b) srv CPU", (r) => cell(r.b, ["rtPerSec", "serverCpuFraction"], (x) => `${Math.round(x.serverCpuFraction * 100)}%`)],
  ["(c) 32×64KiB MiB/s", (r) => cell(r.c, ["rtPerSec", "mibPerSec"], (x) => x.mibPerSec.toFixed(0))],
  [`(d) RSS MB ${IDLE >= 1000 ? `${IDLE / 1000}k` : IDLE} idle`, (r) => cell(r.d, ["rssKiB"], (x) => mb(x.rssKiB).toFixed(1))],
];

function table(header, body) {
  const all = [header, ...body];
  const w = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join("  ");
  return [line(header), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n");
}

const text = [];
text.push("");
text.push(`Echo benchmark (${new Date().toISOString()}; ${SECONDS}s per scenario after ${WARMUP}s warm-up; server on core 0, client on core 1 unless "same core"; MiB/s = bytes echoed back per second)`);
text.push(MALLOC === "pinned"
  ? `(every server runs with glibc's malloc thresholds pinned: ${Object.entries(PINNED_MALLOC).map(([k, v]) => `${k}=${v}`).join(" ")}; --malloc=default runs without)`
  : "(glibc's malloc thresholds left to move: (c) may show the trim cycle described in bench/README.md)");
const noisyK = (n, k) => results[n]?.[k]?.otherCpuFraction > NOISE;
const noisy = (n) => ["a", "aSame", "b", "c"].some((k) => noisyK(n, k));
const tableRows = (names, cols) => names.map((n) => [LABEL[n] + (noisy(n) ? " ~" : ""), ...cols.map(([, f]) => (results[n].error ? "failed" : f(results[n])))]);
const mainRows = rows.filter((n) => !STREAMISH.has(n));
const streamRows = rows.filter((n) => STREAMISH.has(n));
if (mainRows.length) text.push(table(["server", ...COLS.map((c) => c[0])], tableRows(mainRows, COLS)));
if (streamRows.length) {
  // (b) and (c) only: the columns of COLS that are about them
  const SCOLS = COLS.filter(([h]) => h.startsWith("(b)") || h.startsWith("(c)"));
  if (mainRows.length) text.push("");
  text.push("Streams (asyncio start_server echo: read(65536) / write / drain) and web streams (readable.pipeTo(writable)); (b) and (c) only");
  text.push(table(["server", ...SCOLS.map((c) => c[0])], tableRows(streamRows, SCOLS)));
}

// failures, with the server's stderr tail
for (const n of rows) {
  const r = results[n];
  const errs = r.error ? [`start: ${r.error}`] : ["a", "aSame", "b", "c", "d"].filter((k) => r[k]?.error).map((k) => `${k}: ${r[k].error}`);
  if (errs.length === 0) continue;
  text.push(`${LABEL[n]}: ${errs.join("; ")}`);
  const tail = (r.stderr ?? "").trim().split("\n").slice(-6).map((l) => `    | ${l.slice(0, 200)}`);
  if (tail.length && tail[0] !== "    | ") text.push(...tail);
}
if (rows.some((n) => ["a", "aSame", "b", "c"].some((k) => results[n][k]?.error && results[n][k].rtPerSec > 0))) text.push("(a figure marked ! came with an error: partial)");
if (rows.some(noisy)) text.push(`~ other processes (or VM steal) used > ${NOISE * 100}% of a core during some of this row's scenarios: rerun to confirm`);
for (const n of notes) text.push(n);

// ---- targets: tsyncio vs uvloop (same run) and vs the host's own TCP ----
const ok = (x) => x && !x.error;
const uv = results.uvloop;
const HOST = { "tsyncio-node": "node", "tsyncio-bun": "bun", "tsyncio-deno": "deno" };
const mark = (v, noise) => (v == null ? "n/a" : (v ? "met" : "NOT met") + (noise ? "~" : ""));
const ratio = (a, b) => (num(a) && num(b) && b > 0 ? a / b : null);
const fr = (v) => (v == null ? "—" : `${v.toFixed(2)}×`);
/** `field` of scenario `k` for `r` over the same for `ref`; null when either run is missing or failed. */
const vs = (r, ref, k, field) => (ok(r?.[k]) && ok(ref?.[k]) ? ratio(r[k][field], ref[k][field]) : null);
/** The footnote for a target table that has a cell measured under other load. */
const noteNoisy = (body) => {
  if (body.some((row) => row.some((c) => String(c).endsWith("~")))) text.push("(~: measured under other load: not conclusive)");
};
const tRows = rows.filter((n) => HOST[n]).map((n) => {
  const r = results[n];
  const cpu = vs(r, uv, "b", "serverCpuUsPerRt");
  const rts = vs(r, uv, "b", "rtPerSec");
  const p50 = vs(r, uv, "aSame", "p50Us");
  const host = results[HOST[n]];
  const thr = vs(r, host, "c", "mibPerSec");
  const rss = ok(r.d) && num(r.d.rssKiB) ? mb(r.d.rssKiB) : null;
  const nz = (k, other) => noisyK(n, k) || noisyK(other, k);
  return [LABEL[n], fr(cpu), mark(cpu == null ? null : cpu <= 1, nz("b", "uvloop")), fr(rts), mark(rts == null ? null : rts >= 1, nz("b", "uvloop")),
    fr(p50), mark(p50 == null ? null : p50 <= 1.1, nz("aSame", "uvloop")), fr(thr), mark(thr == null ? null : thr >= 1, nz("c", HOST[n])),
    rss == null ? "—" : `${rss.toFixed(1)} MB`, mark(rss == null ? null : rss <= 100)];
});
if (tRows.length) {
  text.push("");
  text.push(`Targets (${ok(uv?.b) ? "vs uvloop in this run" : "uvloop missing or failed: its ratios n/a"}; (c) vs the same runtime's own TCP server)`);
  text.push(table(["", "(b) CPU/rt vs uvloop", "≤1×", "(b) rt/s vs uvloop", "≥1×", "(a same core) p50 vs uvloop", "≤1.1×", "(c) MiB/s vs host", "≥1×", "(d) RSS", "≤100 MB"], tRows));
  noteNoisy(tRows);
}

// the floor: the I/O path against uvloop and the C server (issue 13's targets)
const cSrv = results.c;
const fRows = rows.filter((n) => HOST[n]).map((n) => {
  const r = results[n];
  const cpuB = vs(r, uv, "b", "serverCpuUsPerRt");
  const rtsA1 = vs(r, uv, "aSame", "rtPerSec");
  const cpuA1 = vs(r, uv, "aSame", "serverCpuUsPerRt");
  const p99A1 = vs(r, uv, "aSame", "p99Us");
  const p50A = vs(r, uv, "a", "p50Us");
  const thrC = vs(r, cSrv, "c", "mibPerSec");
  const nz = (k, other) => noisyK(n, k) || noisyK(other, k);
  const m = (v, good, k, other) => [fr(v), mark(v == null ? null : good(v), nz(k, other))];
  return [LABEL[n], ...m(cpuB, (v) => v <= 0.9, "b", "uvloop"), ...m(rtsA1, (v) => v >= 1, "aSame", "uvloop"), ...m(cpuA1, (v) => v <= 1.1, "aSame", "uvloop"),
    ...m(p99A1, (v) => v <= 1.5, "aSame", "uvloop"), ...m(p50A, (v) => v <= 0.7, "a", "uvloop"), ...m(thrC, (v) => v >= 0.85, "c", "c")];
});
if (fRows.length) {
  text.push("");
  text.push(`Floor targets (vs uvloop and the C server in this run; (a1) is (a) with client and server on one core)`);
  text.push(table(["", "(b) CPU/rt vs uvloop", "≤0.9×", "(a1) rt/s vs uvloop", "≥1×", "(a1) CPU/rt vs uvloop", "≤1.1×", "(a1) p99 vs uvloop", "≤1.5×", "(a) p50 vs uvloop", "≤0.7×", "(c) MiB/s vs C", "≥0.85×"], fRows));
  noteNoisy(fRows);
}

// streams: tsyncio's start_server echo vs uvloop's (the issue's targets)
const uvs = results["uvloop-streams"];
const sRows = rows.filter((n) => n.startsWith("tsyncio-streams-")).map((n) => {
  const r = results[n];
  const cpu = vs(r, uvs, "b", "serverCpuUsPerRt");
  const rts = vs(r, uvs, "b", "rtPerSec");
  const thr = vs(r, uvs, "c", "mibPerSec");
  const nz = (k) => noisyK(n, k) || noisyK("uvloop-streams", k);
  return [LABEL[n], fr(cpu), mark(cpu == null ? null : cpu <= 0.8, nz("b")), fr(rts), fr(thr), mark(thr == null ? null : thr >= 1.5, nz("c"))];
});
if (sRows.length) {
  text.push("");
  text.push(`Streams targets (${ok(uvs?.b) || ok(uvs?.c) ? "vs uvloop's streams server in this run" : "uvloop streams missing or failed: ratios n/a"})`);
  text.push(table(["", "(b) CPU/rt vs uvloop streams", "≤0.8×", "(b) rt/s vs uvloop streams", "(c) MiB/s vs uvloop streams", "≥1.5×"], sRows));
  noteNoisy(sRows);
}

// web streams: tsyncio's pipeTo echo vs the same runtime's own web-stream echo
const WEB_HOST = { "tsyncio-web-node": "node-web", "tsyncio-web-bun": "bun-web", "tsyncio-web-deno": "deno-web" };
const wRows = rows.filter((n) => WEB_HOST[n]).map((n) => {
  const r = results[n], h = results[WEB_HOST[n]];
  const thr = vs(r, h, "c", "mibPerSec");
  const cpu = vs(r, h, "b", "serverCpuUsPerRt");
  const nz = (k) => noisyK(n, k) || noisyK(WEB_HOST[n], k);
  return [LABEL[n], LABEL[WEB_HOST[n]], fr(thr) + (nz("c") ? "~" : ""), fr(cpu) + (nz("b") ? "~" : "")];
});
if (wRows.length) {
  text.push("");
  text.push("Web streams: tsyncio readable.pipeTo(writable) vs the same runtime's own web-stream echo (Bun's: node:net + Duplex.toWeb, as Bun.listen has no web streams)");
  text.push(table(["", "host reference", "(c) MiB/s vs host", "(b) CPU/rt vs host"], wRows));
}
text.push(`(run took ${((Date.now() - tRun) / 1000).toFixed(0)}s)`);
console.log(text.join("\n"));

const jsonOut = opt("json", join(out, "results.json"));
writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, warmup: WARMUP, idle: IDLE, malloc: MALLOC, results }, null, 2));
log(`(raw figures: ${rel(jsonOut)})`);
for (const c of live) killGroup(c, "SIGKILL");
process.exit(0);
