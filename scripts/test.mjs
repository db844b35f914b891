#!/usr/bin/env node
// Runs every test/*_test.ts on each runtime (node, bun, deno), one process
// per file, and fails if any file fails on any runtime.
//   node scripts/test.mjs [node|bun|deno ...] [-- name-filter]
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const args = process.argv.slice(2);
const sep = args.indexOf("--");
const filter = sep >= 0 ? args.slice(sep + 1) : [];
const runtimes = (sep >= 0 ? args.slice(0, sep) : args);
if (runtimes.length === 0) runtimes.push("node", "bun", "deno");

const root = new URL("..", import.meta.url).pathname;
const bin = (name) => join(root, "node_modules", ".bin", name);
const files = readdirSync(join(root, "test"))
  .filter((f) => f.endsWith("_test.ts"))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();

// Deno needs --allow-ffi for the library; --allow-env and --allow-read only for uvu and test fixtures.
const denoFlags = ["run", "--allow-ffi", "--allow-env", "--allow-read", "--allow-write=/tmp", "--v8-flags=--expose-gc"];

function command(rt, file) {
  if (rt === "node") return [process.execPath, ["--expose-gc", join(root, ".build/test", file.replace(/\.ts$/, ".mjs"))]];
  if (rt === "bun") return [bin("bun"), [join(root, "test", file)]];
  if (rt === "deno") return [bin("deno"), [...denoFlags, join(root, "test", file)]];
  throw new Error(`unknown runtime ${rt}`);
}

let passed = 0, failed = 0;
const failures = [];
for (const rt of runtimes) {
  if (rt === "node") {
    const b = spawnSync(process.execPath, [join(root, "scripts/build-node.mjs"), join(root, ".build/test"),
      ...files.map((f) => join(root, "test", f))], { stdio: "inherit" });
    if (b.status !== 0) process.exit(1);
  }
  for (const file of files) {
    const [cmd, argv] = command(rt, file);
    const t0 = Date.now();
    const r = spawnSync(cmd, argv, { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }, timeout: 300_000 });
    const out = (r.stdout ?? "") + (r.stderr ?? "");
    const p = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const ok = r.status === 0 && total > 0 && p === total;
    passed += p;
    failed += ok ? 0 : Math.max(1, total - p);
    const ms = Date.now() - t0;
    console.log(`${ok ? "ok  " : "FAIL"} ${rt.padEnd(4)} ${file} (${p}/${total}, ${ms} ms)`);
    if (!ok) {
      failures.push(`${rt} ${file}`);
      console.log(out.split("\n").map((l) => "     | " + l).join("\n"));
      if (r.error) console.log("     | " + r.error.message);
    }
  }
}
if (failures.length) console.log(`\nFailed: ${failures.join(", ")}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
