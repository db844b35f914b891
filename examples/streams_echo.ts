// TCP echo server and client using streams — asyncio docs, "TCP echo client
// using streams" and "TCP echo server using streams", in one program: the
// server answers one client, then both end.
//   bun examples/streams_echo.ts
//   deno run --allow-ffi examples/streams_echo.ts
//   node scripts/build-node.mjs .build/examples examples/streams_echo.ts && node .build/examples/streams_echo.mjs
import { openConnection, run, type StreamReader, type StreamWriter, startServer } from "../mod.ts";

const enc = new TextEncoder(), dec = new TextDecoder();

async function handleEcho(reader: StreamReader, writer: StreamWriter): Promise<void> {
  const data = await reader.read(100);
  const message = dec.decode(data);
  const addr = writer.getExtraInfo("peername");
  console.log(`Received ${JSON.stringify(message)} from ${JSON.stringify(addr)}`);
  console.log(`Send: ${JSON.stringify(message)}`);
  writer.write(data);
  await writer.drain();
  console.log("Close the connection");
  writer.close();
  await writer.waitClosed();
}

async function tcpEchoClient(message: string, port: number): Promise<void> {
  const [reader, writer] = await openConnection("127.0.0.1", port);
  console.log(`Send: ${JSON.stringify(message)}`);
  writer.write(enc.encode(message));
  await writer.drain();
  const data = await reader.read(100);
  console.log(`Received: ${JSON.stringify(dec.decode(data))}`);
  console.log("Close the connection");
  writer.close();
  await writer.waitClosed();
}

await run(async () => {
  // Port 0: the kernel picks a free one.
  const server = await startServer(handleEcho, "127.0.0.1", 0);
  const [host, port] = server.sockets[0].getsockname() as [string, number];
  console.log(`Serving on ${host}:${port}`);
  await tcpEchoClient("Hello World!", port);
  server.close();
  await server.waitClosed();
});
