// The npm package: one ESM bundle (koffi and bun:ffi stay external, loaded
// only on their runtime) plus .d.ts files from tsc. Run by `npm pack`/`npm
// publish` (prepack) and `npm run build`.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

process.chdir(fileURLToPath(new URL("..", import.meta.url)));
rmSync("dist", { recursive: true, force: true });
await build({
  entryPoints: ["mod.ts"], bundle: true, platform: "neutral", format: "esm", target: "es2022",
  outfile: "dist/mod.js", external: ["koffi", "bun:ffi", "node:*"], logLevel: "warning",
});
const r = spawnSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", ".", "--noEmit", "false", "--declaration",
  "--emitDeclarationOnly", "--outDir", "dist", "--rewriteRelativeImportExtensions"], { stdio: "inherit" });
if (r.status !== 0) process.exit(r.status ?? 1);
// Declarations keep the sources' ".ts" specifiers; consumers resolve ".js" to the .d.ts beside it.
function fix(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) fix(p);
    else if (p.endsWith(".d.ts")) {
      writeFileSync(p, readFileSync(p, "utf8").replace(/(from\s+|import\()(["'])(\.{1,2}\/[^"']+)\.ts\2/g, "$1$2$3.js$2"));
    }
  }
}
fix("dist");

// The declarations use a few globals that a consumer's `lib: ["es2022"]` lacks.
// Symbol.dispose/asyncDispose come from TypeScript's own lib (TS >= 5.2). The
// web globals (AbortSignal, AbortController, URL, ReadableStream,
// WritableStream) exist at run time on Node,
// Bun and Deno, whose type packages (@types/node, bun-types, Deno's lib) and
// lib "dom" declare them; we declare only members that all of those declare
// identically, so these interfaces merge with theirs and a consumer without
// any of them still compiles. Pulling in lib "dom" instead would give a Node
// program `window` and `document`. A new global in a public signature shows up
// in scripts/check_package.mjs as "Cannot find name": add it here.
const globals = `// Minimal web globals used by tsyncio's declarations (see scripts/build.mjs).
interface AbortSignal {
  readonly aborted: boolean;
  throwIfAborted(): void;
}
interface AbortController {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}
interface URL {
  href: string;
  toString(): string;
}
// deno-lint-ignore no-explicit-any
interface ReadableStream<R = any> {
  readonly locked: boolean;
}
// deno-lint-ignore no-explicit-any
interface WritableStream<W = any> {
  readonly locked: boolean;
}
`;
writeFileSync("dist/globals.d.ts", globals);
const entry = readFileSync("dist/mod.d.ts", "utf8");
writeFileSync("dist/mod.d.ts",
  `/// <reference lib="es2022" />\n/// <reference lib="esnext.disposable" />\n/// <reference path="./globals.d.ts" />\n${entry}`);

// tsc emits every file of the program (runtimes/ too); ship only what the entry declaration reaches.
const reached = new Set();
(function walk(file) {
  if (reached.has(file)) return;
  reached.add(file);
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(/(?:from\s+|import\(\s*|reference path=)(["'])(\.{1,2}\/[^"']+)\1/g)) {
    const target = resolve(dirname(file), m[2].replace(/\.js$/, ".d.ts"));
    if (!existsSync(target)) throw new Error(`${file}: ${m[2]} has no declaration file`);
    walk(target);
  }
})(resolve("dist/mod.d.ts"));
(function prune(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      prune(p);
      if (readdirSync(p).length === 0) rmdirSync(p);
    } else if (p.endsWith(".d.ts") && !reached.has(resolve(p))) {
      rmSync(p);
    }
  }
})("dist");
