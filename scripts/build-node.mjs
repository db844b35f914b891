// Bundle TypeScript entry points for Node 20 (which cannot run .ts itself).
import { build } from "esbuild";
const [out, ...entries] = process.argv.slice(2);
await build({
  entryPoints: entries, bundle: true, platform: "node", format: "esm", target: "node20",
  outdir: out, outExtension: { ".js": ".mjs" }, external: ["koffi", "bun:ffi", "uvu", "uvu/*"], logLevel: "warning",
});
