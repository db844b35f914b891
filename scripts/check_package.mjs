#!/usr/bin/env node
// The npm package as a user gets it: `npm pack` (prepack builds dist/), a fresh
// project made from test/package/ installs the tarball (koffi comes from the
// registry), typechecks it with strict settings and lib es2022 only (bundler,
// then node16 resolution), and runs it on Node and Bun. One line per step;
// exits non-zero if any step fails. KEEP_TMP=1 keeps the temp dir.
//   node scripts/check_package.mjs
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name) => join(root, "node_modules", ".bin", name);
const tsc = [process.execPath, join(root, "node_modules", "typescript", "bin", "tsc")];
const tmp = mkdtempSync(join(tmpdir(), "tsyncio-package-"));
const app = join(tmp, "app");
const expected = "consumer: future cancelled ping";
let failures = 0;

/** Run a command with a timeout; never throws. */
function sh(cmd, args, { cwd = root, timeout = 120_000 } = {}) {
  const r = spawnSync(cmd, args, {
    cwd, timeout, encoding: "utf8", maxBuffer: 64 << 20,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  let out = (r.stdout ?? "") + (r.stderr ?? "");
  if (r.error) out += `\n${r.error.code === "ETIMEDOUT" ? `timed out after ${timeout / 1000} s` : r.error.message}`;
  else if (r.signal) out += `\nkilled by ${r.signal}`;
  return { ok: r.status === 0, out: out.trim(), stdout: r.stdout ?? "" };
}

/** One step: fn returns true, or a string saying what is wrong. A failed fatal step ends the run. */
function step(name, fn, { fatal = true } = {}) {
  const t0 = Date.now();
  let res;
  try {
    res = fn();
  } catch (e) {
    res = e?.stack ?? String(e);
  }
  const ms = Date.now() - t0;
  if (res === true) {
    console.log(`ok   ${name} (${ms} ms)`);
    return true;
  }
  failures++;
  console.log(`FAIL ${name} (${ms} ms)`);
  console.log(String(res).split("\n").slice(0, 80).map((l) => "     | " + l).join("\n"));
  if (fatal) finish();
  return false;
}

function finish() {
  if (process.env.KEEP_TMP) console.log(`temp dir kept: ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
  console.log(failures ? `check_package: ${failures} step(s) failed` : "check_package: all steps passed");
  process.exit(failures ? 1 : 0);
}

/** The declarations (from the tarball) with comments removed. */
function declarations(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...declarations(p));
    else if (p.endsWith(".d.ts")) out.push([p, readFileSync(p, "utf8")]);
  }
  return out;
}

let tgz = "";
step("npm pack (prepack builds dist/)", () => {
  const r = sh("npm", ["pack", "--pack-destination", tmp, "--silent"], { timeout: 300_000 });
  if (!r.ok) return r.out;
  tgz = readdirSync(tmp).find((f) => f.endsWith(".tgz")) ?? "";
  if (!tgz) return `no tarball in ${tmp}\n${r.out}`;
  tgz = join(tmp, tgz);
  return true;
});

step("tarball holds the bundle, declarations, README.md, LICENSE and nothing else", () => {
  const r = sh("tar", ["xzf", tgz, "-C", tmp]);
  if (!r.ok) return r.out;
  const pkg = join(tmp, "package");
  const files = declarations(pkg).map(([p]) => p.slice(pkg.length + 1));
  const all = sh("tar", ["tzf", tgz]).stdout.split("\n").filter(Boolean).map((f) => f.replace(/^package\//, ""));
  const missing = ["package.json", "README.md", "LICENSE", "dist/mod.js", "dist/mod.d.ts", "dist/globals.d.ts"]
    .filter((f) => !all.includes(f));
  const stray = all.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts))$/.test(f));
  if (missing.length || stray.length) return `missing: ${missing.join(", ") || "-"}\nunexpected: ${stray.join(", ") || "-"}`;
  const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
  const dot = manifest.exports?.["."];
  if (!dot || Object.keys(dot)[0] !== "types") return `exports["."] must list "types" first: ${JSON.stringify(dot)}`;
  if (files.length < 2) return "no declarations";
  return true;
});

// `any` that no public signature reaches, each with why (the file ships only for other types in it).
const allowedAny = [
  // ffi/types.ts `Bound`: the adapters' libc table, used by no public name (ffi/types.d.ts ships for Pointer, Parker, AsyncContext).
  { file: "dist/ffi/types.d.ts", line: /^\} \? \(\(\.\.\.args: any\[\]\) => any\) \| null : \(\.\.\.args: any\[\]\) => any;$/ },
  // The web stream globals: a merged declaration must repeat lib dom's and @types/node's type parameter default, which is any.
  { file: "dist/globals.d.ts", line: /^interface (Readable|Writable)Stream<[RW] = any> \{$/ },
];

step("no `any` in the shipped declarations", () => {
  const pkg = join(tmp, "package");
  const hits = [];
  for (const [p, text] of declarations(join(pkg, "dist"))) {
    const file = p.slice(pkg.length + 1);
    const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")).replace(/\/\/.*$/gm, "");
    code.split("\n").forEach((line, i) => {
      if (!/\bany\b/.test(line)) return;
      if (allowedAny.some((a) => a.file === file && a.line.test(line.trim()))) return;
      hits.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  return hits.length === 0 || `${hits.length} declaration(s) use any:\n${hits.join("\n")}`;
}, { fatal: false });

step("consumer project from test/package/ installs the tarball", () => {
  cpSync(join(root, "test", "package"), app, { recursive: true });
  const main = join(app, "src", "main.ts");
  const lines = readFileSync(main, "utf8").split("\n");
  // The template opts out of tsconfig.all.json with @ts-nocheck; here it is checked for real.
  if (!lines[0].startsWith("// @ts-nocheck")) return "test/package/src/main.ts must start with its // @ts-nocheck line";
  writeFileSync(main, lines.slice(1).join("\n"));
  writeFileSync(join(app, "tsconfig.node16.json"), JSON.stringify({
    extends: "./tsconfig.json",
    compilerOptions: { module: "node16", moduleResolution: "node16", noEmit: true },
  }, null, 2));
  const r = sh("npm", ["install", tgz, "--no-audit", "--no-fund", "--prefer-offline"], { cwd: app, timeout: 300_000 });
  if (!r.ok) return r.out;
  return existsSync(join(app, "node_modules", "tsyncio", "dist", "mod.js")) || `tsyncio not installed\n${r.out}`;
});

step("tsc: strict, lib es2022, skipLibCheck false, moduleResolution bundler (emits out/)", () => {
  const r = sh(tsc[0], [tsc[1], "-p", app]);
  return r.ok || r.out;
}, { fatal: false });

step("tsc: the same with module/moduleResolution node16", () => {
  const r = sh(tsc[0], [tsc[1], "-p", join(app, "tsconfig.node16.json")]);
  return r.ok || r.out;
}, { fatal: false });

if (existsSync(join(root, "node_modules", "@types", "node"))) {
  // The package's own global declarations must merge with those a Node (or browser-typed) project has.
  step("tsc: the same with lib dom and @types/node", () => {
    const r = sh(tsc[0], [tsc[1], "-p", join(app, "tsconfig.node16.json"), "--lib", "es2022,dom",
      "--types", "node", "--typeRoots", join(root, "node_modules", "@types")]);
    return r.ok || r.out;
  }, { fatal: false });
}

function runs(name, cmd, args) {
  step(name, () => {
    const r = sh(cmd, args, { cwd: app, timeout: 60_000 });
    if (!r.ok) return r.out;
    return r.stdout.split("\n").includes(expected) || `expected a line "${expected}", got:\n${r.out}`;
  }, { fatal: false });
}
if (existsSync(join(app, "out", "main.js"))) {
  runs("node runs the compiled consumer", process.execPath, [join(app, "out", "main.js")]);
} else {
  step("node runs the compiled consumer", () => "out/main.js was not emitted (see the tsc step)", { fatal: false });
}
runs("bun runs the consumer's TypeScript", bin("bun"), [join(app, "src", "main.ts")]);

finish();
