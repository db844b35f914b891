/**
 * tsyncio echo server for bench/run_net.mjs, on whichever runtime runs it:
 * asyncio's Protocol-based echo, written with tsyncio's API.
 *
 *   npx bun bench/net/server_tsyncio.ts PORT
 *   npx deno run --allow-ffi --allow-net --allow-read --allow-env bench/net/server_tsyncio.ts PORT
 *   node scripts/build-node.mjs .build/bench-net bench/net/server_tsyncio.ts && node .build/bench-net/server_tsyncio.mjs PORT
 */

import { newEventLoop, Protocol, type Transport } from "../../mod.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const runtime: string = typeof g.Deno?.dlopen === "function" ? "deno" : typeof g.Bun?.version === "string" ? "bun" : "node";
const argv: string[] = runtime === "deno" ? g.Deno.args : g.process.argv.slice(2);
const port = Number(argv[0] ?? 9000);
const host = argv[1] ?? "127.0.0.1";

class EchoProtocol extends Protocol {
  transport!: Transport;
  override connectionMade(transport: Transport): void {
    this.transport = transport;
  }
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

const loop = newEventLoop();
const server = await loop.runUntilComplete(loop.createServer(() => new EchoProtocol(), host, port));
console.error(`[tsyncio-${runtime}] echo server on ${host}:${port} (${server.sockets.length} socket(s))`);
await loop.runForever();
