// node:tls echo server for bench/run_tls.mjs (the host's own TLS, on Node).
//   node bench/tls/server_node.mjs PORT CERT KEY
import { readFileSync } from "node:fs";
import tls from "node:tls";

const [port, cert, key] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const server = tls.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (socket) => {
  socket.setNoDelay(true);
  socket.on("data", (data) => socket.write(data));
  socket.on("error", () => {}); // a peer's reset: the socket just closes
});
server.on("tlsClientError", () => {});
server.listen({ port, host: "127.0.0.1" }, () => console.error(`[node:tls] TLS echo server on 127.0.0.1:${port}`));
