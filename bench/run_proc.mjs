#!/usr/bin/env node
// `npm run bench:proc`: subprocess benchmark. bench/proc/proc.ts runs on node
// (esbuild bundle), bun and deno and measures, in one process, tsyncio's
// `subprocessExec` (a SubprocessProtocol) and the runtime's own API
// (node:child_process spawn, Bun.spawn, Deno.Command); bench/proc/proc_asyncio.py
// measures Python's asyncio.create_subprocess_exec on asyncio and uvloop
// (/usr/bin/python3, uvloop if importable). One runner at a time:
//   spawn: N × /bin/true (stdin/stdout/stderr /dev/null), CONC at a time, each
//          waited for (exit status 0 checked): children/s
//   cat:   MiB MiB written to /bin/cat's stdin in 64 KiB writes (with the API's
//          own flow control), its stdout read and counted (count checked): MB/s
// Each figure is the best of REPS runs (after a warm-up); in a runtime the
// host's own and tsyncio alternate which goes first.
//
//   node bench/run_proc.mjs [--quick] [--only=node,bun,deno,asyncio,uvloop]
//                           [--n=1000] [--conc=8] [--mib=256] [--reps=3]
//
// Not a test: it only reports. Every runner has a timeout and runs in its own
// process group, killed at the end (children included).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { killGroup, live, log, options } from "./_harness.mjs";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const usage = "usage: node bench/run_proc.mjs [--quick] [--only=node,bun,deno,asyncio,uvloop] [--n=1000] [--conc=8] [--mib=256] [--reps=3]";
for (const a of args) {
  if (!/^--(quick|help|only=.*|n=\d+|conc=\d+|mib=\d+|reps=\d+)$/.test(a)) (console.error(`unknown argument ${a}\n${usage}`), process.exit(2));
}
if (args.includes("--help")) (console.log(usage), process.exit(0));
const opt = options(args);
const QUICK = args.includes("--quick");
const N = Number(opt("n", QUICK ? 200 : 1000));
const CONC = Number(opt("conc", 8));
const MIB = Number(opt("mib", QUICK ? 32 : 256));
const REPS = Number(opt("reps", QUICK ? 1 : 3));
if (!(N >= 1 && N <= 20000) || !(CONC >= 1 && CONC <= 256) || !(MIB >= 1 && MIB <= 4096) || !(REPS >= 1 && REPS <= 10)) {
  console.error("--n in 1..20000, --conc in 1..256, --mib in 1..4096, --reps in 1..10");
  process.exit(2);
}
const ALL = ["node", "bun", "deno", "asyncio", "uvloop"];
const only = opt("only", null);
const selected = only ? only.split(",") : ALL;
for (const n of selected) if (!ALL.includes(n)) (console.error(`unknown runner ${n}; one of ${ALL.join(" ")}`), process.exit(2));

const bin = (name) => join(root, "node_modules", ".bin", name);
const out = join(root, ".build", "bench-proc");
const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };
const rel = (s) => String(s).replaceAll(root, "");
const TIMEOUT = 90_000;
const pass = [`--n=${N}`, `--conc=${CONC}`, `--mib=${MIB}`, `--reps=${REPS}`];

// ---- process bookkeeping (bench/_harness.mjs): nothing is left behind ----

/** Run a command in its own process group with a timeout; the last `{` line of its stdout is the result. */
function runJson(label, argv) {
  log(`--- ${label}: ${rel(argv.join(" "))}`);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    let stdout = "", stderr = "", timedOut = false;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      process.stderr.write(d);
      stderr = (stderr + d).slice(-4000);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGKILL");
    }, TIMEOUT);
    let finished = false;
    const done = (why) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      // Whatever it left in its group (a child it spawned) goes too.
      killGroup(child, "SIGKILL");
      live.delete(child);
      const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
      let r = null;
      try {
        r = line ? JSON.parse(line) : null;
      } catch { /* below */ }
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      if (!r) {
        const tail = stderr.trim().split("\n").slice(-3).join(" | ");
        r = { error: timedOut ? `timed out after ${TIMEOUT / 1000}s` : `no result (${why})`, tail };
        log(`--- ${label}: FAILED after ${secs}s: ${r.error}`);
      } else log(`--- ${label}: ${secs}s`);
      resolve(r);
    };
    child.on("error", (e) => done(e.message));
    child.on("close", (code, sig) => done(sig ? `killed by ${sig}` : `exit ${code}`));
  });
}

// ---- preflight ----
mkdirSync(out, { recursive: true });
const notes = [];
for (const p of ["/bin/true", "/bin/cat"]) if (!existsSync(p)) (console.error(`${p} not found`), process.exit(1));
let py = null, hasUvloop = false;
if (selected.includes("asyncio") || selected.includes("uvloop")) {
  const ok = (p, code) => spawnSync(p, ["-c", code], { stdio: "ignore", timeout: 20_000 }).status === 0;
  // The Debian python3-uvloop is for /usr/bin/python3, which may not be the python3 on PATH.
  const candidates = ["/usr/bin/python3", "python3"].filter((p) => !p.startsWith("/") || existsSync(p));
  py = candidates.find((p) => ok(p, "import uvloop")) ?? null;
  hasUvloop = py !== null;
  py ??= candidates.find((p) => ok(p, "import asyncio")) ?? null;
  if (!py) notes.push("python3: not found: no asyncio / uvloop rows");
  else if (!hasUvloop && selected.includes("uvloop")) notes.push("uvloop: not importable (apt-get install python3-uvloop): skipped");
}

// ---- run, one runner at a time ----
const tRun = Date.now();
log(`load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}`);
log(`proc bench: spawn ${N} × /bin/true, ${CONC} at a time; cat ${MIB} MiB in 64 KiB writes; best of ${REPS}`);
const raw = {};
for (const name of selected) {
  if (name === "node") {
    const b = spawnSync(process.execPath, [join(root, "scripts/build-node.mjs"), out, join(root, "bench/proc/proc.ts")], { cwd: root, stdio: "inherit", timeout: 120_000 });
    raw.node = b.status === 0 ? await runJson("node", [process.execPath, join(out, "proc.mjs"), ...pass]) : { error: "esbuild bundle of bench/proc/proc.ts failed" };
  } else if (name === "bun") raw.bun = await runJson("bun", [bin("bun"), join(root, "bench/proc/proc.ts"), ...pass]);
  else if (name === "deno") raw.deno = await runJson("deno", [bin("deno"), "run", "--no-prompt", "--allow-ffi", "--allow-read", "--allow-run", join(root, "bench/proc/proc.ts"), ...pass]);
  else if (py && (name === "asyncio" || hasUvloop)) raw[name] = await runJson(name, [py, join(root, "bench/proc/proc_asyncio.py"), name, ...pass]);
}

// ---- rows ----
const HOSTNAME = { node: "node:child_process", bun: "Bun.spawn", deno: "Deno.Command" };
const rows = []; // [label, result-or-error, key]
for (const rt of ["node", "bun", "deno"]) {
  if (!raw[rt]) continue;
  rows.push([`tsyncio-${rt}`, raw[rt].error ? raw[rt] : raw[rt].results.tsyncio, `tsyncio-${rt}`]);
  rows.push([`${HOSTNAME[rt]} (${rt})`, raw[rt].error ? raw[rt] : raw[rt].results.host, rt]);
}
for (const k of ["asyncio", "uvloop"]) if (raw[k]) rows.push([k === "asyncio" ? "asyncio (CPython)" : "uvloop", raw[k].error ? raw[k] : raw[k].results[k], k]);
const byKey = Object.fromEntries(rows.map(([, r, k]) => [k, r]));

function table(header, body) {
  const all = [header, ...body];
  const w = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join("  ");
  return [line(header), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n");
}
const num = (v) => typeof v === "number" && Number.isFinite(v) && v > 0;
const text = [""];
text.push(`Subprocess benchmark (${new Date().toISOString()}; best of ${REPS}; spawn = ${N} × /bin/true, ${CONC} at a time, each waited for; cat = ${MIB} MiB through /bin/cat in 64 KiB writes, byte count checked)`);
text.push(table(["contender", "spawn children/s", "cat MB/s"], rows.map(([label, r]) => [
  label,
  r.error ? "failed" : num(r.spawnPerSec) ? r.spawnPerSec.toFixed(0) : "failed",
  r.error ? "failed" : num(r.catMBps) ? r.catMBps.toFixed(0) : "failed",
])));
for (const [label, r] of rows) {
  if (r.error) text.push(`${label}: ${r.error}${r.tail ? `\n    | ${r.tail}` : ""}`);
  else {
    if (r.spawnErr) text.push(`${label} spawn: ${r.spawnErr}`);
    if (r.catErr) text.push(`${label} cat: ${r.catErr}`);
  }
}
for (const n of notes) text.push(n);

// ---- targets: tsyncio vs the host's own, same process, same run ----
const ratio = (a, b) => (num(a) && num(b) ? a / b : null);
const fr = (v) => (v == null ? "—" : `${v.toFixed(2)}×`);
const mark = (v, goal) => (v == null ? "n/a" : v >= goal ? "met" : "NOT met");
const tRows = ["node", "bun", "deno"].filter((rt) => raw[rt]).map((rt) => {
  const t = byKey[`tsyncio-${rt}`], h = byKey[rt];
  const s = ratio(t?.spawnPerSec, h?.spawnPerSec), c = ratio(t?.catMBps, h?.catMBps);
  return [`tsyncio-${rt} vs ${HOSTNAME[rt]}`, fr(s), mark(s, 1), fr(c), mark(c, 0.9)];
});
if (tRows.length) {
  text.push("");
  text.push("Targets (tsyncio vs the host's own API in the same process and run)");
  text.push(table(["", "spawn children/s", "≥1×", "cat MB/s", "≥0.9×"], tRows));
}
text.push(`(run took ${((Date.now() - tRun) / 1000).toFixed(0)}s)`);
console.log(text.join("\n"));
for (const c of live) killGroup(c, "SIGKILL");
process.exit(0);
