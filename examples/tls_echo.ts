// TLS echo server and client on loopback, with a self-signed certificate made
// for the run (examples/_selfsigned.ts). The server echoes one message and
// closes with close_notify; the client verifies the certificate and the name
// "localhost", prints what it learned of the connection, and the program ends.
//   bun examples/tls_echo.ts
//   deno run --allow-ffi --allow-write=/tmp examples/tls_echo.ts
//     (--allow-ffi for OpenSSL and the event loop; --allow-write=/tmp for the
//      certificate and key files, which loadCertChain reads through OpenSSL)
//   node scripts/build-node.mjs .build/examples examples/tls_echo.ts && node .build/examples/tls_echo.mjs
import { mkdtempSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import { newEventLoop, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER, Protocol, SSLContext, type SSLObject, type Transport } from "../mod.ts";
import { selfSigned } from "./_selfsigned.ts";

const { certPem, keyPem } = await selfSigned("localhost");
const dir = mkdtempSync("/tmp/tsyncio-tls-echo-");
writeFileSync(`${dir}/cert.pem`, certPem);
writeFileSync(`${dir}/key.pem`, keyPem, { mode: 0o600 });

const serverCtx = new SSLContext(PROTOCOL_TLS_SERVER);
try {
  serverCtx.loadCertChain(`${dir}/cert.pem`, `${dir}/key.pem`);
} finally {
  // The context holds what it needs now.
  unlinkSync(`${dir}/cert.pem`);
  unlinkSync(`${dir}/key.pem`);
  rmdirSync(dir);
}
// The client trusts exactly this certificate (from memory) and checks the name.
const clientCtx = new SSLContext(PROTOCOL_TLS_CLIENT);
clientCtx.loadVerifyLocations(null, null, certPem);

class EchoServer extends Protocol {
  transport: Transport | null = null;
  override connectionMade(transport: Transport): void {
    this.transport = transport;
    console.log("server: TLS connection from", transport.getExtraInfo("peername"));
  }
  override dataReceived(data: Uint8Array): void {
    console.log("server: received", JSON.stringify(new TextDecoder().decode(data)), "- echoing and closing");
    this.transport!.write(data);
    this.transport!.close(); // flushes, then sends close_notify
  }
}

class EchoClient extends Protocol {
  constructor(private onLost: (exc: Error | null) => void) {
    super();
  }
  override connectionMade(transport: Transport): void {
    const ssl = transport.getExtraInfo("ssl_object") as SSLObject;
    const [cipher] = ssl.cipher()!;
    const subject = ssl.getpeercert()!.subject?.flat().map(([k, v]) => `${k}=${v}`).join(", ");
    console.log(`client: connected, ${ssl.version()} with ${cipher}; server certificate: ${subject}`);
    const message = "Hello over TLS!";
    transport.write(new TextEncoder().encode(message));
    console.log("client: sent", JSON.stringify(message));
  }
  override dataReceived(data: Uint8Array): void {
    console.log("client: received", JSON.stringify(new TextDecoder().decode(data)));
  }
  override connectionLost(exc: Error | null): void {
    console.log(`client: the server closed the connection${exc ? ` (${exc})` : ""}`);
    this.onLost(exc);
  }
}

const loop = newEventLoop();
const server = await loop.runUntilComplete(loop.createServer(() => new EchoServer(), "127.0.0.1", 0, { ssl: serverCtx }));
const port = (server.sockets[0].getsockname() as [string, number])[1];
console.log(`server: serving TLS on 127.0.0.1:${port}`);

let failed: Error | null = null;
const done = loop.createFuture<void>();
await loop.runUntilComplete(
  loop.createConnection(() => new EchoClient((exc) => {
    failed = exc;
    done.setResult(undefined);
  }), "127.0.0.1", port, { ssl: clientCtx, serverHostname: "localhost" }),
);
await loop.runUntilComplete(done);
server.close();
await loop.runUntilComplete(server.waitClosed());
loop.close();
if (failed) throw failed;
