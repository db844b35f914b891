/**
 * tsyncio web-stream echo server for bench/run_net.mjs, on whichever runtime
 * runs it: `startServer` whose callback is
 * `reader.readable.pipeTo(writer.writable)` (the WHATWG views of the streams).
 * The hosts' own: bench/net/server_node_web.mjs (Node, and Bun), server_deno_web.ts.
 *
 *   npx bun bench/net/server_tsyncio_web.ts PORT [HOST]
 *   npx deno run --allow-ffi bench/net/server_tsyncio_web.ts PORT [HOST]
 *   node scripts/build-node.mjs .build/bench-net bench/net/server_tsyncio_web.ts && node .build/bench-net/server_tsyncio_web.mjs PORT
 */

import { run, startServer, type StreamReader, type StreamWriter } from "../../mod.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const runtime: string = typeof g.Deno?.dlopen === "function" ? "deno" : typeof g.Bun?.version === "string" ? "bun" : "node";
const argv: string[] = runtime === "deno" ? g.Deno.args : g.process.argv.slice(2);
const port = Number(argv[0] ?? 9000);
const host = argv[1] ?? "127.0.0.1";

async function echo(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    await reader.readable.pipeTo(writer.writable); // closes the writer at EOF
  } catch {
    // a peer's reset: the connection just closes
    writer.close();
  }
}

await run(async () => {
  const server = await startServer(echo, host, port);
  console.error(`[tsyncio-${runtime} web] echo server on ${host}:${port} (${server.sockets.length} socket(s))`);
  await server.serveForever();
});
