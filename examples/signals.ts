// Set signal handlers for SIGINT and SIGTERM that stop the loop — asyncio
// docs, "Set signal handlers for SIGINT and SIGTERM".
// It runs until you press Ctrl+C (or send SIGTERM); with --once it sends
// itself SIGTERM after half a second, through a child `kill` process.
//   bun examples/signals.ts [--once]
//   deno run --allow-ffi examples/signals.ts [--once]
//   node scripts/build-node.mjs .build/examples examples/signals.ts && node .build/examples/signals.mjs --once
import { DEVNULL, newEventLoop, SubprocessProtocol } from "../mod.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const once = (g.Deno?.args ?? g.process?.argv.slice(2) ?? []).includes("--once");
const pid: number = g.Deno?.pid ?? g.process.pid;

const loop = newEventLoop();

function askExit(signame: string): void {
  console.log(`got signal ${signame}: exit`);
  loop.stop();
}

for (const signame of ["SIGINT", "SIGTERM"]) {
  loop.addSignalHandler(signame, askExit, signame);
}

console.log("Event loop running for 1 hour, press Ctrl+C to interrupt.");
console.log(`pid ${pid}: send SIGINT or SIGTERM to stop it.`);
const timer = loop.callLater(3600, () => loop.stop());

if (once) {
  loop.callLater(0.5, () => {
    // `kill` is a child process too; close its transport once it has exited.
    class Done extends SubprocessProtocol {
      transport: { close(): void } | null = null;
      override connectionMade(t: { close(): void }): void {
        this.transport = t;
      }
      override processExited(): void {
        this.transport?.close();
      }
    }
    loop.subprocessExec(() => new Done(), ["kill", "-TERM", String(pid)], { stdin: DEVNULL, stdout: DEVNULL });
  });
}

await loop.runForever();
timer.cancel();
loop.close(); // also removes the handlers: the default behaviour is back
