// Web streams over tsyncio's streams: a connection's `reader.readable` and
// `writer.writable` work with the host's own WHATWG consumers
// (TextDecoderStream, CompressionStream, Response, pipeTo), and
// StreamReader.fromReadable runs asyncio parsing code over any host stream.
//   bun examples/web_streams.ts
//   deno run --allow-ffi examples/web_streams.ts
//   node scripts/build-node.mjs .build/examples examples/web_streams.ts && node .build/examples/web_streams.mjs
import { openConnection, run, StreamReader, startServer } from "../mod.ts";

const enc = new TextEncoder();

await run(async () => {
  // A server that gzips whatever it receives and sends it back, through web streams only.
  const server = await startServer(async (reader, writer) => {
    await reader.readable.pipeThrough(new CompressionStream("gzip")).pipeTo(writer.writable);
  }, "127.0.0.1", 0);
  const [, port] = server.sockets[0].getsockname() as [string, number];

  const [reader, writer] = await openConnection("127.0.0.1", port);
  const text = "tsyncio ".repeat(10_000);
  writer.write(enc.encode(text));
  writer.writeEof(); // the server's readable ends here
  // The host's Response reads the whole connection, and gunzips it.
  const back = await new Response(reader.readable.pipeThrough(new DecompressionStream("gzip"))).text();
  console.log(`sent ${text.length} bytes, got ${back.length} back after gzip and gunzip: ${back === text ? "same" : "DIFFERENT"}`);
  writer.close();
  await writer.waitClosed();
  server.close();
  await server.waitClosed();

  // asyncio-style parsing over a host stream: readline and readexactly on a Response body.
  const body = new Response("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello").body!;
  const r = StreamReader.fromReadable(body);
  const status = new TextDecoder().decode(await r.readline()).trim();
  const headers: string[] = [];
  for (let line = await r.readline(); line.length > 2; line = await r.readline()) headers.push(new TextDecoder().decode(line).trim());
  console.log(status, headers, JSON.stringify(new TextDecoder().decode(await r.readexactly(5))));
});
