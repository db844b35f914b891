// Deno.listen echo server for bench/run_net.mjs (the host's own TCP, on Deno).
//   npx deno run --allow-net bench/net/server_deno.ts PORT [HOST]
// A read/write loop per connection with a 32 KiB buffer (@std/io's default
// copy size): much faster than `conn.readable.pipeTo(conn.writable)` here,
// and lighter for idle connections (a pending read holds its buffer, and the
// stream's pull holds a 64 KiB chunk).

const port = Number(Deno.args[0] ?? 9000);
const hostname = Deno.args[1] ?? "127.0.0.1";

async function echo(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buf = new Uint8Array(32 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await conn.write(buf.subarray(off, n));
    }
  } catch {
    // a peer's reset: just close
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

const listener = Deno.listen({ hostname, port });
console.error(`[Deno.listen] echo server on ${hostname}:${port}`);
for await (const conn of listener) echo(conn);
