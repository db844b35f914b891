/**
 * tsyncio TLS echo server for bench/run_tls.mjs, on whichever runtime runs it:
 * asyncio's Protocol-based echo over `createServer(..., { ssl })`.
 *
 *   npx bun bench/tls/server_tsyncio.ts PORT CERT KEY
 *   npx deno run --allow-ffi --allow-read bench/tls/server_tsyncio.ts PORT CERT KEY
 *   node scripts/build-node.mjs .build/bench-tls bench/tls/server_tsyncio.ts && node .build/bench-tls/server_tsyncio.mjs PORT CERT KEY
 */

import { newEventLoop, PROTOCOL_TLS_SERVER, Protocol, SSLContext, type Transport } from "../../mod.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const runtime: string = typeof g.Deno?.dlopen === "function" ? "deno" : typeof g.Bun?.version === "string" ? "bun" : "node";
const argv: string[] = runtime === "deno" ? g.Deno.args : g.process.argv.slice(2);
const [port, cert, key] = [Number(argv[0]), argv[1], argv[2]];

class EchoProtocol extends Protocol {
  transport!: Transport;
  override connectionMade(transport: Transport): void {
    this.transport = transport;
  }
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
ctx.loadCertChain(cert, key);
const loop = newEventLoop();
await loop.runUntilComplete(loop.createServer(() => new EchoProtocol(), "127.0.0.1", port, { ssl: ctx }));
console.error(`[tsyncio-${runtime}] TLS echo server on 127.0.0.1:${port}`);
await loop.runForever();
