// Deno.listen web-stream echo server for bench/run_net.mjs:
// conn.readable.pipeTo(conn.writable) per connection.
//   npx deno run --allow-net bench/net/server_deno_web.ts PORT [HOST]

const port = Number(Deno.args[0] ?? 9000);
const hostname = Deno.args[1] ?? "127.0.0.1";

const listener = Deno.listen({ hostname, port });
console.error(`[Deno.listen web] echo server on ${hostname}:${port}`);
for await (const conn of listener) {
  conn.setNoDelay(true);
  conn.readable.pipeTo(conn.writable).catch(() => {
    try {
      conn.close();
    } catch { /* already closed */ }
  });
}
