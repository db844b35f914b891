// Web-stream echo server for bench/run_net.mjs on node:net, for Node and for
// Bun (a Bun.listen socket has no WHATWG streams, so Bun's reference is its
// node:net with Duplex.toWeb too): readable.pipeTo(writable) per connection.
//   node bench/net/server_node_web.mjs PORT [HOST]
//   npx bun bench/net/server_node_web.mjs PORT [HOST]
import net from "node:net";
import { Duplex } from "node:stream";

const port = Number(process.argv[2] ?? 9000);
const host = process.argv[3] ?? "127.0.0.1";
const runtime = typeof globalThis.Bun?.version === "string" ? "bun" : "node";
const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on("error", () => {}); // a peer's reset: the socket just closes
  const { readable, writable } = Duplex.toWeb(socket);
  readable.pipeTo(writable).catch(() => socket.destroy());
});
server.listen({ port, host }, () => console.error(`[${runtime} node:net web] echo server on ${host}:${port}`));
