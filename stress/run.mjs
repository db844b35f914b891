#!/usr/bin/env node
// `npm run stress`: runs each stress scenario (stress/<name>.ts, files not
// starting with "_") on node, bun and deno, one process per scenario ×
// runtime, and fails if any fails. See stress/README.md.
//
//   node stress/run.mjs [--seconds N] [--only=name1,name2] [--runtimes=node,bun,deno] [-- extra scenario args]
//
// A scenario gets `--seconds N` (default 30) plus anything after `--`, prints
// human lines and, last, `RESULT {"scenario","ok","figures","failures"}`,
// and exits 0 if ok, 1 if not. It is killed (with its process group) after
// seconds*3+120 s, which counts as a hang. The full output of each run is
// kept in .build/stress/logs/<scenario>.<runtime>.log; a failing run's tail
// is printed.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killGroup, live } from "../bench/_harness.mjs";

const root = new URL("..", import.meta.url).pathname;
const here = join(root, "stress");
const out = join(root, ".build", "stress");
const logs = join(out, "logs");
const bin = (name) => join(root, "node_modules", ".bin", name);
const DENO_FLAGS = ["--allow-ffi", "--allow-env", "--allow-read", "--allow-write=/tmp", "--v8-flags=--expose-gc"];
const RUNTIMES = ["node", "bun", "deno"];

// ---- options ----
const raw = process.argv.slice(2);
const sep = raw.indexOf("--");
const argv = sep >= 0 ? raw.slice(0, sep) : raw;
const extra = sep >= 0 ? raw.slice(sep + 1) : [];
function usage(msg) {
  if (msg) console.error(msg);
  console.error("usage: node stress/run.mjs [--seconds N] [--only=name1,name2] [--runtimes=node,bun,deno] [-- scenario args]");
  process.exit(2);
}
const opts = { seconds: "30", only: null, runtimes: RUNTIMES.join(",") };
for (let i = 0; i < argv.length; i++) {
  const m = /^--(seconds|only|runtimes)(?:=(.*))?$/.exec(argv[i]);
  if (argv[i] === "--help" || argv[i] === "-h") usage();
  if (!m) usage(`unknown argument ${argv[i]}`);
  opts[m[1]] = m[2] ?? argv[++i];
  if (opts[m[1]] === undefined) usage(`--${m[1]} needs a value`);
}
const seconds = Number(opts.seconds);
if (!(seconds > 0)) usage("--seconds must be a positive number");
const runtimes = opts.runtimes.split(",").filter(Boolean);
for (const rt of runtimes) if (!RUNTIMES.includes(rt)) usage(`unknown runtime ${rt}`);
const all = readdirSync(here).filter((f) => f.endsWith(".ts") && !f.startsWith("_")).map((f) => f.slice(0, -3)).sort();
let scenarios = all;
if (opts.only) {
  const want = opts.only.split(",").filter(Boolean);
  for (const n of want) if (!all.includes(n)) usage(`unknown scenario ${n}; one of ${all.join(" ")}`);
  scenarios = all.filter((n) => want.includes(n));
}

// ---- children: own process group, all killed on the way out (bench/_harness.mjs) ----

function command(rt, name) {
  const args = ["--seconds", String(seconds), ...extra];
  if (rt === "node") return [process.execPath, ["--expose-gc", join(out, `${name}.mjs`), ...args]];
  if (rt === "bun") return [bin("bun"), [join(here, `${name}.ts`), ...args]];
  return [bin("deno"), ["run", ...DENO_FLAGS, join(here, `${name}.ts`), ...args]];
}

/** Run one scenario on one runtime; resolves with { status, result, output, ms, hung }. */
function runOne(rt, name) {
  return new Promise((resolve) => {
    const [cmd, args] = command(rt, name);
    const t0 = Date.now();
    const child = spawn(cmd, args, {
      cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    });
    live.add(child);
    let output = "";
    let hung = false;
    const take = (d) => {
      output += d;
      if (output.length > 8_000_000) output = output.slice(-4_000_000);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    const limit = (seconds * 3 + 120) * 1000;
    const timer = setTimeout(() => {
      hung = true;
      output += `\n[run.mjs] killed after ${limit / 1000} s\n`;
      killGroup(child, "SIGKILL");
    }, limit);
    let spawnError = null;
    child.on("error", (e) => (spawnError = e));
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      live.delete(child);
      // Whatever the scenario started in its own group and left behind goes too.
      killGroup(child, "SIGKILL");
      if (spawnError) output += `\n[run.mjs] spawn error: ${spawnError.message}\n`;
      const lines = output.split("\n").filter((l) => l.startsWith("RESULT "));
      let result = null;
      if (lines.length > 0) {
        try {
          result = JSON.parse(lines[lines.length - 1].slice(7));
        } catch (e) {
          output += `\n[run.mjs] bad RESULT line: ${e.message}\n`;
        }
      }
      resolve({ status: sig ? `signal ${sig}` : code, result, output, ms: Date.now() - t0, hung, resultLines: lines.length });
    });
  });
}

function fmtFigure(v) {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    return v.toFixed(Math.abs(v) >= 100 ? 0 : 2);
  }
  if (v !== null && typeof v === "object") return JSON.stringify(v);
  return String(v);
}

// ---- run ----
mkdirSync(logs, { recursive: true });
if (runtimes.includes("node")) {
  const b = spawnSync(process.execPath, [join(root, "scripts/build-node.mjs"), out, ...scenarios.map((n) => join(here, `${n}.ts`))],
    { cwd: root, stdio: "inherit", timeout: 180_000 });
  if (b.status !== 0) {
    console.error("esbuild bundle for node failed");
    process.exit(1);
  }
}
for (const rt of runtimes) {
  const b = rt === "node" ? process.execPath : bin(rt);
  if (!existsSync(b)) usage(`no ${rt} binary at ${b}`);
}

console.log(`stress: ${scenarios.join(", ")} on ${runtimes.join(", ")}, --seconds ${seconds}${extra.length ? " " + extra.join(" ") : ""}`);
const rows = [];
for (const name of scenarios) {
  for (const rt of runtimes) {
    const r = await runOne(rt, name);
    const logFile = join(logs, `${name}.${rt}.log`);
    writeFileSync(logFile, r.output);
    const problems = [];
    if (r.hung) problems.push(`hang: killed after ${seconds * 3 + 120} s`);
    if (!r.result) problems.push("no RESULT line");
    else if (r.resultLines > 1) problems.push(`${r.resultLines} RESULT lines`);
    if (r.result && r.result.ok !== true) problems.push(...(r.result.failures?.length ? r.result.failures : ["ok: false"]));
    if (!r.hung && r.status !== (r.result?.ok ? 0 : 1)) problems.push(`exit status ${r.status}`);
    if (r.result && r.result.ok === true && r.status !== 0) problems.push("ok but exit status not 0");
    const verdict = r.hung ? "HANG" : problems.length ? "FAIL" : "ok";
    const figs = Object.entries(r.result?.figures ?? {}).map(([k, v]) => `${k}=${fmtFigure(v)}`).join(" ");
    console.log(`${verdict.padEnd(4)} ${name.padEnd(16)} ${rt.padEnd(4)} ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${figs}`);
    if (verdict !== "ok") {
      for (const p of problems) console.log(`     - ${p}`);
      const tail = r.output.split("\n").slice(-40);
      console.log(tail.map((l) => "     | " + l).join("\n"));
      console.log(`     (full output: ${logFile.replace(root, "")})`);
    }
    rows.push({ name, rt, verdict, ms: r.ms });
  }
}

// ---- summary ----
console.log("\nsummary");
const width = Math.max(8, ...scenarios.map((n) => n.length));
console.log(`${"scenario".padEnd(width)}  ${runtimes.map((rt) => rt.padEnd(14)).join(" ")}`);
for (const name of scenarios) {
  const cells = runtimes.map((rt) => {
    const r = rows.find((x) => x.name === name && x.rt === rt);
    return `${r.verdict} ${(r.ms / 1000).toFixed(1)}s`.padEnd(14);
  });
  console.log(`${name.padEnd(width)}  ${cells.join(" ")}`);
}
const failed = rows.filter((r) => r.verdict !== "ok");
console.log(failed.length ? `\n${failed.length} of ${rows.length} failed: ${failed.map((r) => `${r.name}/${r.rt}`).join(", ")}` : `\nall ${rows.length} passed`);
process.exit(failed.length ? 1 : 0);
