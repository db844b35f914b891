// Bun.listen echo server for bench/run_net.mjs (the host's own TCP, on Bun).
//   npx bun bench/net/server_bun.ts PORT [HOST]
// socket.write() may take only part of the data: the rest waits for drain().

type State = { pending: Uint8Array[] };

const port = Number(process.argv[2] ?? 9000);
const hostname = process.argv[3] ?? "127.0.0.1";

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
  hostname,
  port,
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
console.error(`[Bun.listen] echo server on ${hostname}:${port}`);
