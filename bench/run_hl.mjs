#!/usr/bin/env node
// `npm run bench:hl` (issue 11, "Speed"): runs bench/hl.ts on node, bun and
// deno and bench/hl_asyncio.py on Python asyncio and uvloop, one after the
// other (never in parallel), then prints one table per scenario with the
// ratios against uvloop and a verdict against each target:
//
//   1. 100k tasks from async functions, gathered: wall ms ≤ 0.5× uvloop
//   2. 1M items through a Queue (maxsize 0 and 100): items/s ≥ 2× uvloop
//   3. 1000 tasks × 100 Lock rounds (contended and not): rounds/s ≥ 2× uvloop
//   4. the task context (AsyncLocalStorage) on vs off, same work: ≤ 10% slower
//
//   node bench/run_hl.mjs [node] [bun] [deno] [--quick] [--reps=N] [--no-python] [--only=main|ctx]
//
// Scenarios 1-3: one process per runtime and scenario (best of N inside it).
// For 4, every repetition of every microbenchmark is a fresh process per mode
// (off and on alternate), since once a process has switched the context on
// it stays on; best of N processes. Each runner prints one JSON line on stdout; progress goes to
// stderr. Not a test: nothing here fails the build; it only reports.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { log, options } from "./_harness.mjs";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const opt = options(args);
const QUICK = args.includes("--quick");
const REPS = Number(opt("reps", 3));
const ONLY = opt("only", "");
const noPython = args.includes("--no-python");
const sizeFlags = QUICK ? ["--quick"] : [];
let runtimes = args.filter((a) => !a.startsWith("--"));
if (runtimes.length === 0) runtimes = ["node", "bun", "deno"];
for (const rt of runtimes) {
  if (!["node", "bun", "deno"].includes(rt)) {
    console.error(`unknown runtime ${rt}`);
    process.exit(2);
  }
}
const doMain = ONLY === "" || ONLY === "main";
const doCtx = ONLY === "" || ONLY === "ctx";
const bin = (name) => join(root, "node_modules", ".bin", name);
const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };
const TIMEOUT = 300_000;

/** Run a command whose last stdout line is JSON; stderr streams to ours. */
function runJson(label, cmd, argv) {
  const t0 = Date.now();
  log(`--- ${label}: ${[cmd, ...argv].map((s) => s.replace(root, "")).join(" ")}`);
  const r = spawnSync(cmd, argv, { cwd: root, env, encoding: "utf8", timeout: TIMEOUT, killSignal: "SIGKILL", stdio: ["ignore", "pipe", "inherit"] });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const line = (r.stdout ?? "").trim().split("\n").filter((l) => l.startsWith("{")).pop();
  if (!line) {
    const why = r.error ? String(r.error) : `exit ${r.status}${r.signal ? ` (${r.signal})` : ""}`;
    log(`--- ${label}: FAILED after ${secs}s: ${why}\n${r.stdout ?? ""}`);
    return { runtime: label, error: why };
  }
  log(`--- ${label}: ${secs}s`);
  try {
    return JSON.parse(line);
  } catch (e) {
    return { runtime: label, error: `bad JSON: ${e}` };
  }
}

function canRun(cmd, argv) {
  return spawnSync(cmd, argv, { stdio: "ignore", timeout: 20_000 }).status === 0;
}

// ---- tsyncio on each runtime ----
const commands = {};
for (const rt of runtimes) {
  if (rt === "node") {
    const b = spawnSync(process.execPath, [join(root, "scripts/build-node.mjs"), join(root, ".build/bench"), join(root, "bench/hl.ts")],
      { cwd: root, stdio: "inherit" });
    commands.node = b.status === 0 ? [process.execPath, [join(root, ".build/bench/hl.mjs")]] : null;
  } else if (rt === "bun") commands.bun = [bin("bun"), [join(root, "bench/hl.ts")]];
  else commands.deno = [bin("deno"), ["run", "--allow-ffi", join(root, "bench/hl.ts")]];
}
const run = (rt, extra) => (commands[rt] ? runJson(rt, commands[rt][0], [...commands[rt][1], ...extra, ...sizeFlags]) : { error: "esbuild bundle failed" });

const MAIN_KEYS = ["tasks", "queue0", "queue100", "lockHold", "lockFree"];
const CTX_KEYS = ["chained", "awaitResolved", "awaitSoon", "tasksAwait"];
/** Best (lowest ms) of each context microbenchmark over its one-shot processes. */
function mergeCtx(perKey) {
  const out = {};
  for (const k of CTX_KEYS) {
    const list = perKey[k] ?? [];
    const ms = list.map((r) => r[k]?.ms).filter(Number.isFinite);
    const bad = list.find((r) => r.error);
    out[k] = ms.length ? { ms: Math.min(...ms), runs: ms.map((x) => Math.round(x * 10) / 10) } : { error: bad?.error ?? "no run" };
    if (bad && ms.length) out[k].failed = bad.error;
    out.version ??= list.find((r) => r.version)?.version;
  }
  return out;
}

const main = {};
const ctx = {};
for (const rt of runtimes) {
  if (doMain) {
    // One process per scenario (best of REPS inside it): none inherits another's heap.
    const m = {};
    for (const k of MAIN_KEYS) {
      const r = run(rt, ["--part=main", `--bench=${k}`, `--reps=${REPS}`]);
      m.version ??= r.version;
      m[k] = r.error ? { error: r.error } : r[k];
    }
    const errs = MAIN_KEYS.filter((k) => m[k]?.error);
    if (errs.length === MAIN_KEYS.length) m.error = m[errs[0]].error;
    main[rt] = m;
  }
  if (doCtx) {
    // One fresh process per microbenchmark, mode and repetition; off and on alternate.
    const runs = { off: {}, on: {} };
    for (const k of CTX_KEYS) {
      for (let i = 0; i < REPS; i++) {
        for (const mode of i % 2 === 0 ? ["off", "on"] : ["on", "off"]) {
          (runs[mode][k] ??= []).push(run(rt, ["--part=ctx", `--mode=${mode}`, `--bench=${k}`, "--reps=1"]));
        }
      }
    }
    ctx[rt] = { off: mergeCtx(runs.off), on: mergeCtx(runs.on) };
    for (const m of ["off", "on"]) for (const k of CTX_KEYS) log(`[${rt} ctx ${m}] ${k} ms per process: ${ctx[rt][m][k]?.runs?.join(", ") ?? ctx[rt][m][k]?.error}`);
  }
}

// ---- Python asyncio and uvloop ----
const notes = [];
let py = null;
if (!noPython) {
  // The Debian python3-uvloop is for /usr/bin/python3, which may not be the python3 on PATH.
  const candidates = ["/usr/bin/python3", "python3"].filter((p) => !p.startsWith("/") || existsSync(p));
  py = candidates.find((p) => canRun(p, ["-c", "import uvloop"])) ?? null;
  const hasUvloop = py !== null;
  if (!py) py = candidates.find((p) => canRun(p, ["-c", "import asyncio"])) ?? null;
  if (!py) notes.push("python3: not found (no asyncio / uvloop figures)");
  else {
    const impls = hasUvloop ? ["asyncio", "uvloop"] : ["asyncio"];
    if (!hasUvloop) notes.push("uvloop: not installed (apt-get install python3-uvloop): ratios n/a");
    for (const impl of impls) {
      const argv = (part) => [join(root, "bench/hl_asyncio.py"), impl, `--part=${part}`, `--reps=${REPS}`, ...sizeFlags];
      if (doMain) main[impl] = runJson(impl, py, argv("main"));
      if (doCtx) ctx[impl] = runJson(impl, py, argv("ctx"));
    }
  }
}

// ---- the tables ----
const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
const fin = (v) => v != null && Number.isFinite(v);
const fmtRate = (v) => (!fin(v) ? "—" : v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : `${(v / 1e3).toFixed(0)}k`);
const fmtMs = (v) => (!fin(v) ? "—" : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const fmtX = (v) => (!fin(v) ? "—" : `${v.toFixed(2)}×`);
const fmtPct = (v) => (!fin(v) ? "—" : `${v >= 0 ? "+" : ""}${(v * 100).toFixed(1)}%`);
const mark = (ok) => (ok == null ? "n/a" : ok ? "met" : "NOT met");

function table(header, body) {
  const all = [header, ...body];
  const w = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join("  ");
  return [line(header), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n");
}

const isTs = (c) => runtimes.includes(c);
const label = (res, c) => (res[c]?.version ? `${c} ${String(res[c].version).split(" ")[0]}` : c);
const size = (q, f) => (QUICK ? q : f);
const out = [];
const verdicts = [];
out.push("");
out.push(`High-level benchmark (best of ${REPS}; ${new Date().toISOString()}${QUICK ? "; --quick sizes" : ""})`);
if (py) out.push(`Python: ${py} (${main.asyncio?.version ?? ctx.asyncio?.version ?? "?"})${main.uvloop || ctx.uvloop ? `, uvloop ${String((main.uvloop ?? ctx.uvloop).version).split(" ")[0]}` : ""}`);

/**
 * One table per scenario: rows are the implementations; for each metric the
 * figure, its ratio to uvloop, and (tsyncio rows) the verdict.
 */
function scenario(title, metrics) {
  const cols = [...runtimes, "asyncio", "uvloop"].filter((c) => main[c]);
  const uv = main.uvloop && !main.uvloop.error ? main.uvloop : null;
  const header = [""];
  for (const m of metrics) header.push(m.name, "vs uvloop", m.targetLabel);
  const errors = [];
  const body = cols.map((c) => {
    const r = main[c];
    const row = [label(main, c)];
    for (const m of metrics) {
      if (r.error) {
        row.push("error", "", "");
        continue;
      }
      if (get(r, m.path.split(".")[0])?.error) {
        row.push("error", "", "");
        errors.push(`${c} ${m.path.split(".")[0]}: ERROR ${String(get(r, m.path.split(".")[0]).error).split("\n")[0]}`);
        continue;
      }
      const v = get(r, m.path);
      const u = uv ? get(uv, m.path) : null;
      const ratio = fin(v) && fin(u) ? v / u : null;
      const ok = isTs(c) ? (ratio == null ? null : m.ok(ratio)) : undefined;
      if (isTs(c)) verdicts.push([`${c}: ${m.short}`, fmtX(ratio), mark(ok)]);
      row.push(m.fmt(v), fmtX(ratio), ok === undefined ? "" : mark(ok));
    }
    return row;
  });
  out.push("");
  out.push(title);
  out.push(table(header, body));
  for (const c of cols) if (main[c]?.error) out.push(`${c}: ERROR ${String(main[c].error).split("\n")[0]}`);
  for (const e of errors) out.push(e);
}

if (doMain) {
  scenario(`1. ${size("10k", "100k")} tasks: createTask(async () => { await sleep(0); await sleep(0) }) then gather(), inside run()`, [
    { name: "wall ms", path: "tasks.ms", fmt: fmtMs, targetLabel: "≤0.5× uvloop", short: "tasks wall ms ≤0.5× uvloop", ok: (x) => x <= 0.5 },
  ]);
  scenario(`2. ${size("100k", "1M")} items producer → consumer task through a Queue (await put / await get)`, [
    { name: "maxsize=0 items/s", path: "queue0.perSec", fmt: fmtRate, targetLabel: "≥2× uvloop", short: "queue maxsize=0 ≥2× uvloop", ok: (x) => x >= 2 },
    { name: "maxsize=100 items/s", path: "queue100.perSec", fmt: fmtRate, targetLabel: "≥2× uvloop", short: "queue maxsize=100 ≥2× uvloop", ok: (x) => x >= 2 },
  ]);
  scenario(`3. ${size("100", "1000")} tasks × 100 rounds of one Lock: await acquire(); [await sleep(0);] release()`, [
    { name: "with sleep(0) held rounds/s", path: "lockHold.perSec", fmt: fmtRate, targetLabel: "≥2× uvloop", short: "lock contended ≥2× uvloop", ok: (x) => x >= 2 },
    { name: "no sleep rounds/s", path: "lockFree.perSec", fmt: fmtRate, targetLabel: "≥2× uvloop", short: "lock uncontended ≥2× uvloop", ok: (x) => x >= 2 },
  ]);
}

if (doCtx) {
  const benches = [
    ["chained", `(a) chained callSoon ${size("100k", "1M")}`],
    ["awaitResolved", `(b) 1 task, ${size("100k", "1M")} await of a resolved Future`],
    ["awaitSoon", `(c) 1 task, ${size("100k", "1M")} await of a callSoon-resolved Future`],
    ["tasksAwait", `(d) ${size("10k", "100k")} tasks awaiting a resolved Future, gathered`],
  ];
  const refs = ["asyncio", "uvloop"].filter((c) => ctx[c] && !ctx[c].error);
  const body = [];
  for (const rt of runtimes) {
    const r = ctx[rt];
    for (const [k, name] of benches) {
      const off = get(r.off, `${k}.ms`);
      const on = get(r.on, `${k}.ms`);
      const slow = fin(off) && fin(on) ? on / off - 1 : null;
      const ok = slow == null ? null : slow <= 0.10;
      verdicts.push([`${rt}: context ${k} ≤+10%`, fmtPct(slow), mark(ok)]);
      body.push([`${rt} ${name}`, fmtMs(off), fmtMs(on), fmtPct(slow), mark(ok), ...refs.map((c) => fmtMs(get(ctx[c], `${k}.ms`)))]);
    }
  }
  out.push("");
  out.push(`4. The task context: same work with the context off (Tasks over started promises, fresh process) and on (coroutine-function Tasks); ms, best of ${REPS} processes each`);
  out.push(table(["", "off ms", "on ms", "slowdown", "≤+10%", ...refs.map((c) => `${c} ms (ref)`)], body));
  for (const rt of runtimes) {
    for (const m of ["off", "on"]) {
      for (const k of CTX_KEYS) {
        const e = ctx[rt][m][k]?.error ?? ctx[rt][m][k]?.failed;
        if (e) out.push(`${rt} ${m} ${k}: ERROR ${String(e).split("\n")[0]}`);
      }
    }
  }
  for (const c of ["asyncio", "uvloop"]) if (ctx[c]?.error) out.push(`${c}: ERROR ${String(ctx[c].error).split("\n")[0]}`);
}
for (const n of notes) out.push(n);

const met = verdicts.filter((v) => v[2] === "met").length;
out.push("");
out.push(`Targets: ${met} of ${verdicts.length} met`);
const missed = verdicts.filter((v) => v[2] !== "met");
if (missed.length) out.push(`  not met: ${missed.map((v) => `${v[0]} (${v[1]})`).join("; ")}`);
console.log(out.join("\n"));
