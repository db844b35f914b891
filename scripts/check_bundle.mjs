#!/usr/bin/env node
// The library bundled into ONE file and compiled into binaries: it must load
// nothing from a path beside its sources. test/package/bundle_entry.ts (TCP
// echo, getaddrinfo and the executor off-thread, a child process) is bundled
// with esbuild and run on Node, Bun and Deno (Deno with --allow-ffi alone),
// from a temp dir; then compiled with `bun build --compile` and `deno compile`
// and the binaries run. Deno also imports mod.ts by file URL from a temp file.
// `deno compile` downloads a denort runtime (or uses DENORT_BIN); when it
// cannot, that step is skipped with the reason. KEEP_TMP=1 keeps the temp dir.
//   node scripts/check_bundle.mjs
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name) => join(root, "node_modules", ".bin", name);
const entry = join(root, "test", "package", "bundle_entry.ts");
const expected = "bundle: echo dns sum=5 child";
const tmp = mkdtempSync(join(tmpdir(), "tsyncio-bundle-"));
// Binaries run from here: nothing of the repo or of the bundle lies beside them.
const elsewhere = join(tmp, "elsewhere");
mkdirSync(elsewhere);
let failures = 0;
let skipped = 0;

/** Run a command with a timeout; never throws. */
function sh(cmd, args, { cwd = tmp, timeout = 60_000, env = {} } = {}) {
  const r = spawnSync(cmd, args, {
    cwd, timeout, encoding: "utf8", maxBuffer: 64 << 20,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...env },
  });
  let out = (r.stdout ?? "") + (r.stderr ?? "");
  if (r.error) out += `\n${r.error.code === "ETIMEDOUT" ? `timed out after ${timeout / 1000} s` : r.error.message}`;
  else if (r.signal) out += `\nkilled by ${r.signal}`;
  return { ok: r.status === 0, out: out.trim(), stdout: r.stdout ?? "" };
}

/** A command that must exit 0 and print the expected line. */
function prints(r) {
  if (!r.ok) return r.out || "exited non-zero with no output";
  return r.stdout.split("\n").includes(expected) || `expected a line "${expected}", got:\n${r.out}`;
}

/** One step: fn returns true, a string saying what is wrong, or { skip: reason }. */
async function step(name, fn, { fatal = false } = {}) {
  const t0 = Date.now();
  let res;
  try {
    res = await fn();
  } catch (e) {
    res = e?.stack ?? String(e);
  }
  const ms = Date.now() - t0;
  if (res === true) {
    console.log(`ok   ${name} (${ms} ms)`);
  } else if (res && typeof res === "object" && "skip" in res) {
    skipped++;
    console.log(`SKIP ${name}: ${res.skip}`);
  } else {
    failures++;
    console.log(`FAIL ${name} (${ms} ms)`);
    console.log(String(res).split("\n").slice(0, 60).map((l) => "     | " + l).join("\n"));
    if (fatal) finish();
  }
}

function finish() {
  if (process.env.KEEP_TMP) console.log(`temp dir kept: ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
  console.log(`check_bundle: ${failures ? `${failures} step(s) failed` : "all steps passed"}${skipped ? `, ${skipped} skipped` : ""}`);
  process.exit(failures ? 1 : 0);
}

const bundle = join(tmp, "bundle.mjs");
await step("esbuild bundles the entry into one file", async () => {
  // koffi is a native addon, loaded only on Node; bun:ffi only exists on Bun.
  await build({
    entryPoints: [entry], bundle: true, splitting: false, platform: "neutral", format: "esm", target: "es2022",
    outfile: bundle, external: ["koffi", "bun:ffi", "node:*"], logLevel: "error",
  });
  return existsSync(bundle) || "no bundle written";
}, { fatal: true });

await step("node runs the bundle", () => {
  // koffi, a native addon, cannot be bundled: Node resolves it from a node_modules beside the
  // bundle, as an app's would be. The binaries below run from a dir without it.
  mkdirSync(join(tmp, "node_modules"));
  symlinkSync(join(root, "node_modules", "koffi"), join(tmp, "node_modules", "koffi"), "dir");
  return prints(sh(process.execPath, [bundle]));
});

await step("bun runs the bundle", () => prints(sh(bin("bun"), [bundle])));

await step("deno runs the bundle with --allow-ffi alone", () =>
  prints(sh(bin("deno"), ["run", "--no-prompt", "--allow-ffi", bundle])));

await step("deno imports mod.ts by file URL from outside the repo with --allow-ffi alone", () => {
  const main = join(elsewhere, "import_by_url.ts");
  writeFileSync(main, `import ${JSON.stringify(pathToFileURL(entry).href)};\n`);
  return prints(sh(bin("deno"), ["run", "--no-prompt", "--allow-ffi", main], { cwd: elsewhere }));
});

await step("bun build --compile, binary runs", () => {
  const out = join(elsewhere, "bun-binary");
  const c = sh(bin("bun"), ["build", "--compile", bundle, "--external", "koffi", "--outfile", out], { timeout: 180_000 });
  if (!c.ok) return c.out;
  const r = prints(sh(out, [], { cwd: elsewhere }));
  rmSync(out, { force: true });
  return r;
});

await step("deno compile --allow-ffi, binary runs", () => {
  const out = join(elsewhere, "deno-binary");
  const c = sh(bin("deno"), ["compile", "--no-prompt", "--allow-ffi", "--output", out, bundle], { timeout: 180_000 });
  if (!c.ok) {
    // deno compile fetches denort (the runtime it embeds) from Deno's download server unless DENORT_BIN
    // names a local copy; no npm package ships denort, so without that network it cannot run at all.
    if (!process.env.DENORT_BIN && /denort/.test(c.out) && /error sending request|dns error|Connect|timed out/i.test(c.out)) {
      const url = /https:\/\/\S+denort\S+\.zip/.exec(c.out)?.[0] ?? "the denort runtime";
      return { skip: `cannot download ${url} here; set DENORT_BIN to a denort binary of this deno's version to run it` };
    }
    return c.out;
  }
  const r = prints(sh(out, [], { cwd: elsewhere }));
  rmSync(out, { force: true });
  return r;
});

finish();
