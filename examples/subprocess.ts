// Read a child process's output through subprocessExec and a SubprocessProtocol
// — asyncio docs, "Subprocess Transports" / "loop.subprocess_exec() and
// SubprocessProtocol" (there the child is Python printing the date; here `ls`).
//   bun examples/subprocess.ts [directory]
//   deno run --allow-ffi examples/subprocess.ts [directory]
//   node scripts/build-node.mjs .build/examples examples/subprocess.ts && node .build/examples/subprocess.mjs
import { DEVNULL, type Future, newEventLoop, SubprocessProtocol } from "../mod.ts";

const loop = newEventLoop();
// deno-lint-ignore no-explicit-any
const argv: string[] = (globalThis as any).Deno?.args ?? (globalThis as any).process.argv.slice(2);
const dir = argv[0] ?? ".";

class ListingProtocol extends SubprocessProtocol {
  output: Uint8Array[] = [];
  constructor(readonly exitFuture: Future<void>) {
    super();
  }

  override pipeDataReceived(fd: number, data: Uint8Array): void {
    // fd 1 is the child's stdout, fd 2 its stderr.
    if (fd === 1) this.output.push(data);
    else console.error("ls says:", new TextDecoder().decode(data).trimEnd());
  }

  override connectionLost(_exc: Error | null): void {
    // The child exited and all its pipes are closed: everything has arrived.
    this.exitFuture.setResult(undefined);
  }
}

const exitFuture = loop.createFuture<void>();
const [transport, protocol] = await loop.runUntilComplete(
  loop.subprocessExec(() => new ListingProtocol(exitFuture), ["ls", "-l", dir], { stdin: DEVNULL }),
);
console.log(`started ls, pid ${transport.getPid()}`);

// Wait for the child to exit and for its output to be read.
await loop.runUntilComplete(exitFuture);
transport.close();

const text = new TextDecoder().decode(new Uint8Array(
  (protocol as ListingProtocol).output.flatMap((chunk) => [...chunk]),
));
console.log(text.trimEnd());
console.log(`ls exited with code ${transport.getReturncode()}`);
loop.close();
