// Bun.listen TLS echo server for bench/run_tls.mjs (the host's own TLS, on Bun).
//   npx bun bench/tls/server_bun.ts PORT CERT KEY
// socket.write() may take only part of the data: the rest waits for drain().

type State = { pending: Uint8Array[] };

const [port, cert, key] = [Number(process.argv[2]), process.argv[3], process.argv[4]];

function flush(socket: Bun.Socket<State>): void {
  const q = socket.data.pending;
  while (q.length > 0) {
    const chunk = q[0];
    const n = socket.write(chunk);
    if (n < 0) return; // closed
    if (n < chunk.byteLength) {
      q[0] = chunk.subarray(n);
      return;
    }
    q.shift();
  }
}

Bun.listen<State>({
  hostname: "127.0.0.1",
  port,
  tls: { cert: Bun.file(cert), key: Bun.file(key) },
  socket: {
    open(socket) {
      socket.data = { pending: [] };
      socket.setNoDelay?.(true);
    },
    data(socket, data) {
      const q = socket.data.pending;
      if (q.length > 0) {
        q.push(new Uint8Array(data)); // copy: `data` is only ours for this call
        return;
      }
      const n = socket.write(data);
      if (n >= 0 && n < data.byteLength) q.push(new Uint8Array(data.subarray(n)));
    },
    drain(socket) {
      flush(socket);
    },
    error() {},
  },
});
console.error(`[Bun.listen tls] TLS echo server on 127.0.0.1:${port}`);
