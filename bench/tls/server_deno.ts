// Deno.listenTls echo server for bench/run_tls.mjs (the host's own TLS, on Deno).
//   npx deno run --allow-net --allow-read bench/tls/server_deno.ts PORT CERT KEY
// A read/write loop per connection with a 32 KiB buffer, as bench/net/server_deno.ts.

const [port, certFile, keyFile] = [Number(Deno.args[0]), Deno.args[1], Deno.args[2]];

async function echo(conn: Deno.TlsConn): Promise<void> {
  const buf = new Uint8Array(32 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await conn.write(buf.subarray(off, n));
    }
  } catch {
    // a peer's reset or a failed handshake: just close
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

const listener = Deno.listenTls({
  hostname: "127.0.0.1",
  port,
  cert: Deno.readTextFileSync(certFile),
  key: Deno.readTextFileSync(keyFile),
});
console.error(`[Deno.listenTls] TLS echo server on 127.0.0.1:${port}`);
for await (const conn of listener) echo(conn);
