// createConnection on a socket from socketpair() — asyncio docs, "Register an
// open socket to wait for data using a protocol".
//   bun examples/socketpair_connection.ts
//   deno run --allow-ffi examples/socketpair_connection.ts
import { newEventLoop, Protocol, socketpair, type Transport } from "../mod.ts";

const loop = newEventLoop();
const [rsock, wsock] = socketpair();

class MyProtocol extends Protocol {
  transport: Transport | null = null;

  override connectionMade(transport: Transport): void {
    this.transport = transport;
  }

  override dataReceived(data: Uint8Array): void {
    console.log("Received:", new TextDecoder().decode(data));
    // We are done: close the transport; connectionLost() will be called.
    this.transport!.close();
  }

  override connectionLost(_exc: Error | null): void {
    // The socket has been closed.
    loop.stop();
  }
}

// Register the socket to wait for data.
await loop.runUntilComplete(loop.createConnection(() => new MyProtocol(), null, null, { sock: rsock }));

// Simulate the reception of data from the network.
loop.callSoon(() => wsock.send(new TextEncoder().encode("abc")));

await loop.runForever();
wsock.close();
loop.close();
