// @ts-nocheck: checked in a project of its own by scripts/check_package.mjs (which drops this line), not by tsconfig.all.json
/**
 * A consumer of the published package: scripts/check_package.mjs copies
 * test/package/ to a temp dir, installs the `npm pack` tarball there,
 * typechecks this file (strict, lib es2022 only, no DOM, no @types/node,
 * skipLibCheck false) and runs it on Node and Bun.
 */
import {
  CancelledError,
  type EventLoop,
  type Future,
  getRunningLoop,
  Protocol,
  run,
  type Server,
  sleep,
  type Transport,
} from "tsyncio";

// lib es2022 has no console: declare the little this program uses.
declare const console: { log(...data: unknown[]): void };

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (b: Uint8Array): string => String.fromCharCode(...b);

class EchoServer extends Protocol {
  transport: Transport | null = null;
  override connectionMade(transport: Transport): void {
    this.transport = transport;
  }
  override dataReceived(data: Uint8Array): void {
    this.transport!.write(data);
  }
}

class EchoClient extends Protocol {
  readonly received: Future<string>;
  constructor(loop: EventLoop) {
    super();
    this.received = loop.createFuture<string>();
  }
  override dataReceived(data: Uint8Array): void {
    if (!this.received.done()) this.received.setResult(text(data));
  }
}

const result: string = await run(async () => {
  const loop = getRunningLoop();
  const fut = loop.createFuture<string>();
  loop.callLater(0.005, () => fut.setResult("future"));
  const fromFuture: string = await fut;

  const sleeper = loop.createTask(async () => {
    await sleep(10);
  });
  await sleep(0);
  sleeper.cancel();
  let cancelled = "not cancelled";
  try {
    await sleeper;
  } catch (e) {
    if (e instanceof CancelledError) cancelled = "cancelled";
  }

  await using server: Server = await loop.createServer(() => new EchoServer(), "127.0.0.1", 0);
  const [, port] = server.sockets[0].getsockname() as [string, number];
  const client = new EchoClient(loop);
  const [transport] = await loop.createConnection(() => client, "127.0.0.1", port);
  transport.write(ascii("ping"));
  const echoed = await client.received;
  transport.close();
  return `${fromFuture} ${cancelled} ${echoed}`;
});
console.log(`consumer: ${result}`);
if (result !== "future cancelled ping") throw new Error(`unexpected result: ${result}`);

// Wrong calls are type errors (tsc fails on an unused @ts-expect-error).
export function typeErrors(loop: EventLoop, transport: Transport): void {
  // @ts-expect-error: bytes are Uint8Array, not strings
  transport.write("ping");
  // @ts-expect-error: a Future<string> takes a string result
  loop.createFuture<string>().setResult(42);
  // @ts-expect-error: delays are numbers of seconds
  loop.callLater("1", () => {});
  // @ts-expect-error: no such method
  loop.createFutur();
  // @ts-expect-error: the loop is typed, not any
  const n: number = getRunningLoop();
  void n;
}
