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
process.exit(r.status ?? 1);
