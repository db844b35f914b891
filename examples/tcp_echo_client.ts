// TCP echo client with a Protocol — asyncio docs, "TCP Echo Client".
// Start examples/tcp_echo_server.ts first (or run the server with --once,
// which starts this client itself).
//   bun examples/tcp_echo_client.ts
//   deno run --allow-ffi examples/tcp_echo_client.ts
import { type EventLoop, newEventLoop, Protocol, type Transport } from "../mod.ts";

class EchoClientProtocol extends Protocol {
  constructor(private message: string, private onLost: () => void) {
    super();
  }

  override connectionMade(transport: Transport): void {
    transport.write(new TextEncoder().encode(this.message));
    console.log("Data sent:", JSON.stringify(this.message));
  }

  override dataReceived(data: Uint8Array): void {
    console.log("Data received:", JSON.stringify(new TextDecoder().decode(data)));
  }

  override connectionLost(_exc: Error | null): void {
    console.log("The server closed the connection");
    this.onLost();
  }
}

/** Connect to the echo server on `port` and say hello (used by the server's --once demo too). */
export function demoClient(loop: EventLoop, port: number, onLost: () => void = () => {}): void {
  loop.createConnection(() => new EchoClientProtocol("Hello World!", onLost), "127.0.0.1", port);
}

if (import.meta.main ?? (globalThis as { process?: { argv: string[] } }).process?.argv[1]?.includes("tcp_echo_client")) {
  const loop = newEventLoop();
  demoClient(loop, 8888, () => loop.stop());
  await loop.runForever();
  loop.close();
}
