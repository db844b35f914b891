/**
 * tsyncio streams echo server for bench/run_net.mjs, on whichever runtime
 * runs it: asyncio's `start_server` echo (read / write / drain), written with
 * tsyncio's API (bench/net/server_asyncio_streams.py is the same in Python).
 *
 *   npx bun bench/net/server_tsyncio_streams.ts PORT [HOST]
 *   npx deno run --allow-ffi bench/net/server_tsyncio_streams.ts PORT [HOST]
 *   node scripts/build-node.mjs .build/bench-net bench/net/server_tsyncio_streams.ts && node .build/bench-net/server_tsyncio_streams.mjs PORT
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
    for (;;) {
      const data = await reader.read(65536);
      if (!data.length) break;
      writer.write(data);
      await writer.drain();
    }
    writer.close();
    await writer.waitClosed();
  } catch {
    // a peer's reset: the connection just closes
    writer.close();
  }
}

await run(async () => {
  const server = await startServer(echo, host, port);
  console.error(`[tsyncio-${runtime} streams] echo server on ${host}:${port} (${server.sockets.length} socket(s))`);
  await server.serveForever();
});
