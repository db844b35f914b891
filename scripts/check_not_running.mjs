#!/usr/bin/env node
// Awaiting a future of a loop that nothing runs must not fail silently: on
// each runtime, run test/fixtures/not_running.ts and expect tsyncio's one
// line on stderr (Node then exits with 13, Deno with 1; Bun would wait for
// ever, so it is stopped once the line has appeared).
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const bin = (name) => join(root, "node_modules", ".bin", name);
const fixture = join(root, "test/fixtures/not_running.ts");
const expected = "is awaited but its event loop is not running";

const b = spawnSync(process.execPath, [join(root, "scripts/build-node.mjs"), join(root, ".build/fixtures"), fixture], { stdio: "inherit" });
if (b.status !== 0) process.exit(1);

const runs = {
  node: [process.execPath, [join(root, ".build/fixtures/not_running.mjs")]],
  bun: [bin("bun"), [fixture]],
  deno: [bin("deno"), ["run", "--allow-ffi", fixture]],
};

function runOne(name, [cmd, args]) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, NO_COLOR: "1" } });
    let err = "";
    let out = "";
    const finish = (ok, why) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      resolve({ name, ok, why });
    };
    const timer = setTimeout(() => finish(false, `no message within 20 s; stderr: ${err.trim()}`), 20_000);
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => {
      err += d;
      if (err.includes(expected)) finish(!out.includes("unreachable"), out);
    });
    child.on("exit", () => finish(err.includes(expected), `exited without the message; stderr: ${err.trim()}`));
  });
}

let failed = 0;
for (const [name, cmd] of Object.entries(runs)) {
  const r = await runOne(name, cmd);
  console.log(`${r.ok ? "ok  " : "FAIL"} not-running loop message on ${name}${r.ok ? "" : `: ${r.why}`}`);
  if (!r.ok) failed++;
}
process.exit(failed ? 1 : 0);
