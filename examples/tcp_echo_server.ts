// TCP echo server with a Protocol — asyncio docs, "TCP Echo Server".
// It echoes what each client sends and closes the connection; it runs until
// stopped, or (with --once) serves one client of its own and exits.
//   bun examples/tcp_echo_server.ts --once
//   deno run --allow-ffi examples/tcp_echo_server.ts --once
//   node scripts/build-node.mjs .build/examples examples/tcp_echo_server.ts && node .build/examples/tcp_echo_server.mjs --once
import { newEventLoop, Protocol, type Transport } from "../mod.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const once = (g.Deno?.args ?? g.process?.argv.slice(2) ?? []).includes("--once");

const loop = newEventLoop();

class EchoServerProtocol extends Protocol {
  transport: Transport | null = null;

  override connectionMade(transport: Transport): void {
    console.log("Connection from", transport.getExtraInfo("peername"));
    this.transport = transport;
  }

  override dataReceived(data: Uint8Array): void {
    const message = new TextDecoder().decode(data);
    console.log("Data received:", JSON.stringify(message));
    console.log("Send:", JSON.stringify(message));
    this.transport!.write(data);
    console.log("Close the client socket");
    this.transport!.close();
    if (once) loop.stop();
  }
}

const server = await loop.runUntilComplete(loop.createServer(() => new EchoServerProtocol(), "127.0.0.1", 8888));
console.log("Serving on", server.sockets.map((s) => s.getsockname()));
if (once) {
  // For the demo: connect to ourselves once, so the example ends by itself.
  const { demoClient } = await import("./tcp_echo_client.ts");
  demoClient(loop, 8888);
}
await loop.runForever();
server.close();
await loop.runUntilComplete(server.waitClosed());
loop.close();
