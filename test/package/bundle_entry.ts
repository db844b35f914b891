/**
 * Entry for scripts/check_bundle.mjs: bundled with esbuild into one file,
 * run on Node, Bun and Deno, and compiled to a binary by `bun build --compile`
 * and `deno compile`. It uses what loads code besides the main module (the
 * host adapter, worker threads for the executor and for getaddrinfo, a child
 * process), so a bundle or a binary that lost any of it fails here.
 */
import { DEVNULL, type Future, getRunningLoop, PIPE, Protocol, run, SOCK_STREAM, SubprocessProtocol, type Transport } from "../../mod.ts";

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (b: Uint8Array): string => String.fromCharCode(...b);

class Echo extends Protocol {
  transport: Transport | null = null;
  override connectionMade(transport: Transport): void {
    this.transport = transport;
  }
  override dataReceived(data: Uint8Array): void {
    this.transport!.write(data);
  }
}

class Client extends Protocol {
  constructor(readonly received: Future<string>) {
    super();
  }
  override dataReceived(data: Uint8Array): void {
    if (!this.received.done()) this.received.setResult(text(data));
  }
}

class Child extends SubprocessProtocol {
  output = "";
  constructor(readonly exited: Future<void>) {
    super();
  }
  override pipeDataReceived(_fd: number, data: Uint8Array): void {
    this.output += text(data);
  }
  // After the child exited and every pipe reached EOF: all output has arrived.
  override connectionLost(_exc: Error | null): void {
    this.exited.setResult(undefined);
  }
}

const parts: string[] = await run(async () => {
  const loop = getRunningLoop();
  const server = await loop.createServer(() => new Echo(), "127.0.0.1", 0);
  const [, port] = server.sockets[0].getsockname() as [string, number];
  const received = loop.createFuture<string>();
  const [transport] = await loop.createConnection(() => new Client(received), "127.0.0.1", port);
  transport.write(ascii("echo"));
  const echoed = await received;
  transport.close();
  server.close();
  await server.waitClosed();

  const infos = await loop.getaddrinfo("localhost", 80, { type: SOCK_STREAM });
  const sum = await loop.runInExecutor<number>(null, (a: number, b: number) => a + b, 2, 3);

  const exited = loop.createFuture<void>();
  const [child, protocol] = await loop.subprocessExec(() => new Child(exited), ["/bin/sh", "-c", "echo child"], {
    stdin: DEVNULL,
    stdout: PIPE,
  });
  await exited;
  if (child.getReturncode() !== 0) throw new Error(`child exited with ${child.getReturncode()}`);
  child.close();
  return [echoed, infos.length > 0 ? "dns" : "no-dns", `sum=${sum}`, (protocol as Child).output.trim()];
});
console.log(`bundle: ${parts.join(" ")}`);
