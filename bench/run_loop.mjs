#!/usr/bin/env node
// `npm run bench:loop`: runs bench/loop.ts on node, bun and deno and
// bench/loop_asyncio.py on Python asyncio and uvloop, one after the other
// (never in parallel: the figures are latencies), then prints everything side
// by side and the targets of DESIGN.md "The loop".
//
//   node bench/run_loop.mjs [node] [bun] [deno] [--quick] [--reps=N] [--no-python]
//
// Each runner prints one JSON line on stdout; progress goes to stderr. Not a
// test: nothing here fails the build; it only reports.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith("--"));
const passFlags = flags.filter((a) => a === "--quick" || a.startsWith("--reps="));
const noPython = flags.includes("--no-python");
let runtimes = args.filter((a) => !a.startsWith("--"));
if (runtimes.length === 0) runtimes = ["node", "bun", "deno"];
const bin = (name) => join(root, "node_modules", ".bin", name);
const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };
const TIMEOUT = 150_000;

/** Run a command whose last stdout line is JSON; stderr streams to ours. */
function runJson(label, cmd, argv) {
  const t0 = Date.now();
  process.stderr.write(`--- ${label}: ${[cmd, ...argv].map((s) => s.replace(root, "")).join(" ")}\n`);
  const r = spawnSync(cmd, argv, { cwd: root, env, encoding: "utf8", timeout: TIMEOUT, stdio: ["ignore", "pipe", "inherit"] });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const line = (r.stdout ?? "").trim().split("\n").filter((l) => l.startsWith("{")).pop();
  if (!line) {
    const why = r.error ? String(r.error) : `exit ${r.status}${r.signal ? ` (${r.signal})` : ""}`;
    process.stderr.write(`--- ${label}: FAILED after ${secs}s: ${why}\n${r.stdout ?? ""}\n`);
    return { runtime: label, error: why };
  }
  process.stderr.write(`--- ${label}: ${secs}s\n`);
  try {
    return JSON.parse(line);
  } catch (e) {
    return { runtime: label, error: `bad JSON: ${e}` };
  }
}

function canRun(cmd, argv) {
  const r = spawnSync(cmd, argv, { stdio: "ignore", timeout: 20_000 });
  return r.status === 0;
}

// ---- tsyncio on each runtime ----
const results = {};
for (const rt of runtimes) {
  if (rt === "node") {
    const b = spawnSync(process.execPath, [join(root, "scripts/build-node.mjs"), join(root, ".build/bench"), join(root, "bench/loop.ts")],
      { cwd: root, stdio: "inherit" });
    if (b.status !== 0) {
      results.node = { error: "esbuild bundle failed" };
      continue;
    }
    results.node = runJson("node", process.execPath, [join(root, ".build/bench/loop.mjs"), ...passFlags]);
  } else if (rt === "bun") {
    results.bun = runJson("bun", bin("bun"), [join(root, "bench/loop.ts"), ...passFlags]);
  } else if (rt === "deno") {
    results.deno = runJson("deno", bin("deno"), ["run", "--allow-ffi", join(root, "bench/loop.ts"), ...passFlags]);
  } else {
    console.error(`unknown runtime ${rt}`);
    process.exit(2);
  }
}

// ---- Python asyncio and uvloop ----
const notes = [];
let py = null;
if (!noPython) {
  // The Debian python3-uvloop is for /usr/bin/python3, which may not be the python3 on PATH.
  const candidates = ["/usr/bin/python3", "python3"].filter((p) => !p.startsWith("/") || existsSync(p));
  py = candidates.find((p) => canRun(p, ["-c", "import uvloop"])) ?? null;
  let hasUvloop = py !== null;
  if (!py) py = candidates.find((p) => canRun(p, ["-c", "import asyncio"])) ?? null;
  if (!py) notes.push("python3: not found (no asyncio / uvloop figures)");
  else {
    results.asyncio = runJson("asyncio", py, [join(root, "bench/loop_asyncio.py"), "asyncio", ...passFlags]);
    if (hasUvloop) results.uvloop = runJson("uvloop", py, [join(root, "bench/loop_asyncio.py"), "uvloop", ...passFlags]);
    else notes.push("uvloop: not installed (apt-get install python3-uvloop)");
  }
}

// ---- the table ----
const cols = [...runtimes, ...(results.asyncio ? ["asyncio"] : []), ...(results.uvloop ? ["uvloop"] : [])];
const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
const fmtRate = (v) => (v == null || !Number.isFinite(v) ? "—" : v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : `${(v / 1e3).toFixed(0)}k`);
const fmtMs = (v) => (v == null || !Number.isFinite(v) ? "—" : v.toFixed(1));
const fmtUs = (v) => (v == null || !Number.isFinite(v) ? "—" : v.toFixed(1));
const pair = (a, b, f) => (a == null ? "—" : `${f(a)} / ${f(b)}`);

const size = (k, d) => (passFlags.includes("--quick") ? k : d);
const rows = [
  [`callSoon chained ${size("100k", "1M")} (callbacks/s)`, (r) => fmtRate(get(r, "chained.perSec"))],
  [`callSoon ${size("100k", "1M")} up front (callbacks/s)`, (r) => fmtRate(get(r, "upfront.perSec"))],
  [`  of which scheduling (ms)`, (r) => fmtMs(get(r, "upfront.scheduleMs"))],
  [`callLater ${size("10k", "100k")} in [0,10ms] (ms wall)`, (r) => fmtMs(get(r, "timers.ms"))],
  [`  of which scheduling (ms)`, (r) => fmtMs(get(r, "timers.scheduleMs"))],
  [`idle wake-up median / p99 (µs)`, (r) => pair(get(r, "wake.medianUs"), get(r, "wake.p99Us"), fmtUs)],
  [`  same, reader parked (µs)`, (r) => pair(get(r, "wakeIo.medianUs"), get(r, "wakeIo.p99Us"), fmtUs)],
  [`host setImmediate chained (/s)`, (r) => fmtRate(get(r, "hostImmediate.perSec"))],
  [`host setTimeout ${size("10k", "100k")} [0,10ms] (ms)`, (r) => fmtMs(get(r, "hostTimers.ms"))],
  [`host timer→microtask floor (µs)`, (r) => pair(get(r, "hostWake.medianUs"), get(r, "hostWake.p99Us"), fmtUs)],
];

function table(header, body) {
  const all = [header, ...body];
  const w = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join("  ");
  return [line(header), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n");
}

const vers = (c) => (results[c]?.version ? `${c} ${results[c].version}` : c);
const out = [];
out.push("");
out.push(`Loop benchmark (best of ${passFlags.find((f) => f.startsWith("--reps="))?.slice(7) ?? 3}; ${new Date().toISOString()})`);
out.push(table(["", ...cols.map(vers)], rows.map(([label, f]) => [label, ...cols.map((c) => (results[c]?.error ? "error" : f(results[c])))])));
for (const c of cols) if (results[c]?.error) out.push(`${c}: ERROR ${results[c].error.split("\n")[0]}`);
for (const n of notes) out.push(n);

// ---- targets (DESIGN.md "The loop") ----
const uv = results.uvloop && !results.uvloop.error ? results.uvloop : null;
const mark = (ok) => (ok == null ? "n/a" : ok ? "met" : "NOT met");
const targets = runtimes.map((rt) => {
  const r = results[rt];
  if (!r || r.error) return [rt, "error", "", "error", "", "error", ""];
  const chained = uv ? get(r, "chained.perSec") / get(uv, "chained.perSec") : null;
  const timers = uv ? get(r, "timers.ms") / get(uv, "timers.ms") : null;
  const wake = get(r, "wake.medianUs");
  return [
    rt,
    chained == null ? "—" : `${chained.toFixed(2)}×`, mark(chained == null ? null : chained >= 1.0),
    timers == null ? "—" : `${timers.toFixed(2)}×`, mark(timers == null ? null : timers <= 0.5),
    `${fmtUs(wake)} µs`, mark(Number.isFinite(wake) ? wake <= 20 : null),
  ];
});
out.push("");
out.push("Targets" + (uv ? ` (vs uvloop ${uv.version})` : " (uvloop missing: ratios n/a)"));
out.push(table(["", "chained vs uvloop", "≥1.0×", "timers vs uvloop", "≤0.5×", "idle wake median", "≤20 µs"], targets));
console.log(out.join("\n"));
