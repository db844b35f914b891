// The npm package: one ESM bundle (koffi and bun:ffi stay external, loaded
// only on their runtime) plus .d.ts files from tsc.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
await build({
  entryPoints: ["mod.ts"], bundle: true, platform: "neutral", format: "esm", target: "es2022",
  outfile: "dist/mod.js", external: ["koffi", "bun:ffi", "node:*"], logLevel: "warning",
});
const r = spawnSync("npx", ["tsc", "-p", ".", "--noEmit", "false", "--declaration", "--emitDeclarationOnly",
  "--outDir", "dist", "--rewriteRelativeImportExtensions"], { stdio: "inherit" });
if (r.status !== 0) process.exit(r.status ?? 1);
// Declarations keep the sources' ".ts" specifiers; consumers resolve ".js" to the .d.ts beside it.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
