#!/usr/bin/env node
// `npm run bench:tls`: TLS echo benchmark. Each server under test echoes over
// TLS on 127.0.0.1 with the same certificate (ECDSA P-256, self-signed, made
// in-process by examples/_selfsigned.ts); one server at a time, pinned to
// core 0, is driven by a load generator pinned to core 1:
//
//   THE CLIENT is Node's own node:tls (OpenSSL), bench/tls/client.mjs, one
//   process, the same for every server. It does not verify the certificate.
//
//   (rt) 32 connections × 1 KiB ping-pong: round trips/s, and the server's
//        CPU time per round trip (/proc/PID/task/*/schedstat over the window);
//   (hs) 16 concurrent loops of connect → full handshake (TLS 1.3, no
//        resumption) → 1 byte echoed → close: handshakes/s, and the server's
//        CPU time per handshake.
//   (rs) the same loops, each offering the session ticket the server gave
//        its previous connection: resumed handshakes/s, the server's CPU
//        time per handshake, and the share the server actually resumed.
// Servers: node:tls, Bun.listen({tls}), Deno.listenTls, Python asyncio with
// ssl (/usr/bin/python3), and tsyncio (bench/tls/server_tsyncio.ts) on node,
// bun, deno. When one client process is the bottleneck (its CPU near 100%),
// the rates of fast servers tie and the CPU-per-operation columns are the
// telling ones; the table says so.
//
//   node bench/run_tls.mjs [--only=node,tsyncio-node,...] [--seconds=N] [--warmup=N] [--reps=N] [--json=FILE]
//
// Each scenario runs --reps times (2 by default) and the best rate is kept:
// on a shared VM, runs vary by tens of percent.
//
// Not a test: it only reports. Every step has a timeout, and every server is
// killed at the end (each runs in its own process group).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { killGroup, live, log, options } from "./_harness.mjs";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const opt = options(args);
const USAGE = "usage: node bench/run_tls.mjs [--only=node,bun,deno,asyncio,tsyncio-node,tsyncio-bun,tsyncio-deno] [--seconds=N] [--warmup=N] [--reps=N] [--json=FILE]";
for (const a of args) {
  if (!/^--(only=.*|seconds=.*|warmup=.*|reps=.*|json=.*|help)$/.test(a)) (console.error(`unknown argument ${a}\n${USAGE}`), process.exit(2));
}
if (args.includes("--help")) (console.log(USAGE), process.exit(0));
const SECONDS = Number(opt("seconds", 3));
const WARMUP = Number(opt("warmup", 1));
const REPS = Number(opt("reps", 2));
if (!(SECONDS > 0 && SECONDS <= 30) || !(WARMUP >= 0 && WARMUP <= 10) || !(Number.isInteger(REPS) && REPS >= 1 && REPS <= 5)) {
  console.error("--seconds must be in (0,30], --warmup in [0,10], --reps in 1..5");
  process.exit(2);
}

const bin = (name) => join(root, "node_modules", ".bin", name);
const out = join(root, ".build", "bench-tls");
const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };
const rel = (s) => String(s).replaceAll(root, "");
const BUDGET_MS = 170_000; // the whole run: servers still waiting after this are skipped

const ALL = ["node", "tsyncio-node", "bun", "tsyncio-bun", "deno", "tsyncio-deno", "asyncio"];
const LABEL = {
  node: "node:tls", bun: "Bun.listen tls", deno: "Deno.listenTls", asyncio: "asyncio+ssl (py)",
  "tsyncio-node": "tsyncio-node", "tsyncio-bun": "tsyncio-bun", "tsyncio-deno": "tsyncio-deno",
};
let selected = ALL;
const only = opt("only", null);
if (only) {
  const want = new Set(only.split(",").flatMap((n) => (n === "tsyncio" ? ["tsyncio-node", "tsyncio-bun", "tsyncio-deno"] : n === "host" ? ["node", "bun", "deno"] : [n])));
  for (const n of want) if (!ALL.includes(n)) (console.error(`unknown server ${n}; one of ${ALL.join(" ")}`), process.exit(2));
  selected = ALL.filter((n) => want.has(n));
}

// ---- process bookkeeping (bench/_harness.mjs): nothing is left behind ----
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function startProc(argv) {
  const child = spawn(argv[0], argv.slice(1), { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  const st = { child, tail: "", exited: null };
  const keep = (d) => (st.tail = (st.tail + d.toString()).slice(-6000));
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

/** Run a command to completion with a timeout; its last stdout line starting with `{` is the result. */
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
      r ??= { error: timedOut ? `timed out after ${timeoutMs / 1000}s` : `no result (${why}) ${stderr.trim().split("\n").pop() ?? ""}` };
      resolve(r);
    };
    child.on("error", (e) => done(e.message));
    child.on("exit", (code, sig) => done(sig ? `killed by ${sig}` : `exit ${code}`));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = tls.createServer({});
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** One TLS echo round trip from here, within `ms`. */
function probe(port, ms) {
  return new Promise((resolve) => {
    const msg = Buffer.from(`probe-${port}-${Date.now()}`);
    let got = Buffer.alloc(0);
    const s = tls.connect({ port, host: "127.0.0.1", servername: "localhost", rejectUnauthorized: false });
    const end = (ok, why) => {
      clearTimeout(t);
      s.destroy();
      resolve({ ok, why });
    };
    const t = setTimeout(() => end(false, got.length ? "partial echo" : "no echo"), ms);
    s.on("secureConnect", () => s.write(msg));
    s.on("data", (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= msg.length) end(got.subarray(0, msg.length).equals(msg), "wrong echo");
    });
    s.on("error", (e) => end(false, e.code ?? e.message));
  });
}

const pin = (core, argv) => (hasTaskset ? ["taskset", "-c", String(core), ...argv] : argv);

async function startServer(name, cmd) {
  const port = await freePort();
  const st = startProc(pin(0, cmd(port)));
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

// ---- preflight: the certificate, the bundles, python ----
const hasTaskset = spawnSync("taskset", ["-V"], { stdio: "ignore" }).status === 0;
mkdirSync(out, { recursive: true });
// One entry point per build: several from different folders would land in subfolders.
for (const entry of ["examples/_selfsigned.ts", "bench/tls/server_tsyncio.ts"]) {
  const b = spawnSync(process.execPath, [join(root, "scripts/build-node.mjs"), out, join(root, entry)], { cwd: root, stdio: "inherit", timeout: 120_000 });
  if (b.status !== 0) (console.error(`esbuild bundling of ${entry} failed`), process.exit(1));
}
const { selfSigned } = await import(join(out, "_selfsigned.mjs"));
const { certPem, keyPem } = await selfSigned("localhost");
const CERT = join(out, "cert.pem"), KEY = join(out, "key.pem");
writeFileSync(CERT, certPem);
writeFileSync(KEY, keyPem, { mode: 0o600 });

const notes = [];
const py = ["/usr/bin/python3", "python3"].find((p) => (!p.startsWith("/") || existsSync(p)) &&
  spawnSync(p, ["-c", "import asyncio, ssl"], { stdio: "ignore", timeout: 20_000 }).status === 0) ?? null;
if (selected.includes("asyncio") && !py) notes.push("python3 with ssl: not found: no asyncio row");
if (!hasTaskset) notes.push("taskset not found: server and client are not pinned to cores");

const SERVERS = {
  node: (port) => [process.execPath, join(root, "bench/tls/server_node.mjs"), String(port), CERT, KEY],
  bun: (port) => [bin("bun"), join(root, "bench/tls/server_bun.ts"), String(port), CERT, KEY],
  deno: (port) => [bin("deno"), "run", "--no-prompt", "--allow-net", "--allow-read", join(root, "bench/tls/server_deno.ts"), String(port), CERT, KEY],
  asyncio: py ? (port) => [py, join(root, "bench/tls/server_asyncio.py"), String(port), CERT, KEY] : null,
  "tsyncio-node": (port) => [process.execPath, join(out, "server_tsyncio.mjs"), String(port), CERT, KEY],
  "tsyncio-bun": (port) => [bin("bun"), join(root, "bench/tls/server_tsyncio.ts"), String(port), CERT, KEY],
  "tsyncio-deno": (port) => [bin("deno"), "run", "--no-prompt", "--allow-ffi", join(root, "bench/tls/server_tsyncio.ts"), String(port), CERT, KEY],
};

const SCEN = [
  ["rt", ["--mode=pingpong", "--conns=32", "--size=1024"]],
  ["hs", ["--mode=handshake", "--conc=16"]],
  ["rs", ["--mode=resume", "--conc=16"]],
];

// ---- run, one server at a time ----
const results = {};
const tRun = Date.now();
log(`load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}`);
log(`TLS echo bench: ${SECONDS}s measured after ${WARMUP}s warm-up per scenario; server on core 0, node:tls client on core 1`);
for (const name of selected) {
  const cmd = SERVERS[name];
  if (!cmd) continue;
  const r = (results[name] = {});
  if (Date.now() - tRun > BUDGET_MS) {
    r.error = "skipped: the run's time budget was spent";
    continue;
  }
  log(`--- ${LABEL[name]}: ${rel(cmd(0).join(" "))}`);
  const { st, error } = await startServer(name, cmd);
  if (error) {
    r.error = error;
    r.stderr = st.tail;
    log(`    ${name}: FAILED: ${error}`);
    continue;
  }
  for (const [key, argv] of SCEN) {
    if (st.exited) {
      r[key] = { error: `server gone (${st.exited})` };
      continue;
    }
    let x = null;
    for (let i = 0; i < REPS && !st.exited; i++) {
      const y = await runJson(
        pin(1, [process.execPath, join(root, "bench/tls/client.mjs"), ...argv, `--port=${st.port}`, `--pid=${st.child.pid}`, `--warmup=${key === "rt" ? WARMUP : Math.min(WARMUP, 0.5)}`, `--seconds=${SECONDS}`]),
        (WARMUP + SECONDS + 40) * 1000,
      );
      if (!x || (x.error && !y.error) || (!y.error && y.perSec > x.perSec)) x = y;
      if (y.error) break;
    }
    r[key] = x ??= { error: `server gone (${st.exited})` };
    log(`    ${key}: ${x.error ? `ERROR ${x.error}` : `${Math.round(x.perSec)}/s, server ${x.serverCpuUsPerOp?.toFixed(1)} µs CPU/op (${Math.round(x.serverCpuFraction * 100)}% of a core), client ${Math.round(x.clientCpuFraction * 100)}%${x.errors ? `, ${x.errors} errors (${x.lastError})` : ""}`}`);
  }
  if (st.exited || Object.values(r).some((v) => v?.error)) r.stderr = st.tail;
  await stopProc(st);
}

// ---- the table ----
const num = (v) => typeof v === "number" && Number.isFinite(v) && v > 0;
const fmtK = (v) => (v >= 1e4 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));
const cell = (x, f) => (!x ? "—" : x.error || !num(x.perSec) ? "failed" : f(x));
const rows = selected.filter((n) => results[n]);
const COLS = [
  ["rt/s (32×1KiB)", (r) => cell(r.rt, (x) => fmtK(x.perSec))],
  ["srv µs/rt", (r) => cell(r.rt, (x) => x.serverCpuUsPerOp.toFixed(1))],
  ["srv CPU", (r) => cell(r.rt, (x) => `${Math.round(x.serverCpuFraction * 100)}%`)],
  ["client CPU", (r) => cell(r.rt, (x) => `${Math.round(x.clientCpuFraction * 100)}%`)],
  ["handshakes/s", (r) => cell(r.hs, (x) => fmtK(x.perSec))],
  ["srv µs/hs", (r) => cell(r.hs, (x) => x.serverCpuUsPerOp.toFixed(0))],
  ["srv CPU ", (r) => cell(r.hs, (x) => `${Math.round(x.serverCpuFraction * 100)}%`)],
  ["client CPU ", (r) => cell(r.hs, (x) => `${Math.round(x.clientCpuFraction * 100)}%`)],
  ["resumed/s", (r) => cell(r.rs, (x) => fmtK(x.perSec))],
  ["srv µs/rs", (r) => cell(r.rs, (x) => x.serverCpuUsPerOp.toFixed(0))],
  ["resumed", (r) => cell(r.rs, (x) => `${Math.round(x.resumedFraction * 100)}%`)],
];
function table(header, body) {
  const all = [header, ...body];
  const w = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join("  ");
  return [line(header), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n");
}
const text = [""];
text.push(`TLS echo benchmark (${new Date().toISOString()}; best of ${REPS} × ${SECONDS}s per scenario; client: one Node ${process.version} node:tls process on core 1, server on core 0)`);
text.push(table(["server", ...COLS.map((c) => c[0].trim())], rows.map((n) => [LABEL[n], ...COLS.map(([, f]) => (results[n].error ? "failed" : f(results[n])))])));
for (const n of rows) {
  const r = results[n];
  const errs = r.error ? [r.error] : ["rt", "hs", "rs"].filter((k) => r[k]?.error).map((k) => `${k}: ${r[k].error}`);
  if (errs.length === 0) continue;
  text.push(`${LABEL[n]}: ${errs.join("; ")}`);
  const tail = (r.stderr ?? "").trim().split("\n").slice(-4).filter(Boolean).map((l) => `    | ${l.slice(0, 200)}`);
  text.push(...tail);
}
for (const n of notes) text.push(n);

// ---- targets: tsyncio vs the same runtime's own TLS (and vs asyncio) ----
const ok = (x) => x && !x.error && num(x.perSec);
const ratio = (a, b, k) => (ok(a) && ok(b) ? a[k] / b[k] : null);
const fr = (v) => (v == null ? "—" : `${v.toFixed(2)}×`);
const mark = (v) => (v == null ? "n/a" : v ? "met" : "NOT met");
const HOST = { "tsyncio-node": "node", "tsyncio-bun": "bun", "tsyncio-deno": "deno" };
const tRows = rows.filter((n) => HOST[n]).map((n) => {
  const r = results[n], h = results[HOST[n]] ?? {}, a = results.asyncio ?? {};
  const rt = ratio(r.rt, h.rt, "perSec"), hs = ratio(r.hs, h.hs, "perSec");
  const rtCpu = ratio(r.rt, h.rt, "serverCpuUsPerOp"), hsCpu = ratio(r.hs, h.hs, "serverCpuUsPerOp");
  const rs = ratio(r.rs, h.rs, "perSec"), rsCpu = ratio(r.rs, h.rs, "serverCpuUsPerOp");
  return [LABEL[n], fr(rt), mark(rt == null ? null : rt >= 0.995), fr(hs), mark(hs == null ? null : hs >= 0.9),
    fr(rs), mark(rs == null ? null : rs >= 1), fr(rtCpu), fr(hsCpu), fr(rsCpu), fr(ratio(r.rt, a.rt, "perSec")), fr(ratio(r.hs, a.hs, "perSec"))];
});
if (tRows.length) {
  text.push("");
  text.push("Targets: tsyncio vs the same runtime's own TLS server in this run (CPU/op: lower is better)");
  text.push(table(["", "rt/s vs host", "≥1×", "hs/s vs host", "≥0.9×", "resumed/s vs host", "≥1×", "CPU/rt vs host", "CPU/hs vs host", "CPU/rs vs host", "rt/s vs asyncio", "hs/s vs asyncio"], tRows));
  const notResumed = rows.filter((n) => results[n].rs && !results[n].rs.error && results[n].rs.resumedFraction < 0.9);
  if (notResumed.length) text.push(`(resumed below 90%: ${notResumed.map((n) => LABEL[n]).join(", ")}: those rows measure mostly full handshakes)`);
  const sat = rows.some((n) => ["rt", "hs", "rs"].some((k) => results[n][k]?.clientCpuFraction > 0.9));
  if (sat) text.push("(client CPU ≥ 90%: the single node:tls client was the bottleneck there; compare server µs/op)");
}
text.push(`(run took ${((Date.now() - tRun) / 1000).toFixed(0)}s)`);
console.log(text.join("\n"));
const jsonOut = opt("json", join(out, "results.json"));
writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, warmup: WARMUP, results }, null, 2));
log(`(raw figures: ${rel(jsonOut)})`);
for (const c of live) killGroup(c, "SIGKILL");
process.exit(0);
