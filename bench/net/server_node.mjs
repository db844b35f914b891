// node:net echo server for bench/run_net.mjs (the host's own TCP, on Node).
//   node bench/net/server_node.mjs PORT [HOST]
import net from "node:net";

const port = Number(process.argv[2] ?? 9000);
const host = process.argv[3] ?? "127.0.0.1";
const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on("data", (data) => socket.write(data));
  socket.on("error", () => {}); // a peer's reset: the socket just closes
});
server.listen({ port, host }, () => console.error(`[node:net] echo server on ${host}:${port}`));
