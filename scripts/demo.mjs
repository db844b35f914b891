#!/usr/bin/env node
// `npm run demo`: bundles examples/*.ts for Node (scripts/build-node.mjs,
// into .build/examples) and runs each with node in turn. Exits non-zero if
// the build or any example fails.
//   node scripts/demo.mjs [name-filter ...]
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const filter = process.argv.slice(2);
// The client needs a server: the server's --once run starts it itself.
const skip = new Set(["tcp_echo_client.ts"]);
const args = { "tcp_echo_server.ts": ["--once"], "signals.ts": ["--once"] };
const examples = readdirSync(join(root, "examples"))
  .filter((f) => f.endsWith(".ts") && !skip.has(f) && !f.startsWith("_"))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
if (examples.length === 0) {
  console.error("no examples match");
  process.exit(1);
}

const outDir = join(root, ".build/examples");
const build = spawnSync(process.execPath, [join(root, "scripts/build-node.mjs"), outDir,
  ...examples.map((f) => join(root, "examples", f))], { stdio: "inherit" });
if (build.status !== 0) process.exit(1);

const failures = [];
for (const file of examples) {
  console.log(`\n=== examples/${file} ===`);
  const r = spawnSync(process.execPath, [join(outDir, file.replace(/\.ts$/, ".mjs")), ...(args[file] ?? [])],
    { cwd: root, stdio: "inherit", timeout: 60_000 });
  if (r.status !== 0) {
    failures.push(file);
    console.log(`--- FAILED (${r.error?.message ?? (r.signal ? `signal ${r.signal}` : `exit code ${r.status}`)})`);
  }
}
console.log(failures.length ? `\nFailed: ${failures.join(", ")}` : `\nAll ${examples.length} examples ran.`);
process.exit(failures.length ? 1 : 0);
