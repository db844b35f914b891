// Subprocesses with streams — asyncio docs, "Subprocesses": read a child's
// output line by line as it comes, then feed another child with
// communicate().
//   bun examples/subprocess_lines.ts
//   deno run --allow-ffi examples/subprocess_lines.ts
//   node scripts/build-node.mjs .build/examples examples/subprocess_lines.ts && node .build/examples/subprocess_lines.mjs
import { createSubprocessExec, createSubprocessShell, PIPE, run } from "../mod.ts";

const dec = new TextDecoder(), enc = new TextEncoder();

await run(async () => {
  // A child that prints three lines, a little apart.
  const proc = await createSubprocessExec("sh", "-c", "for i in 1 2 3; do echo \"tick $i\"; sleep 0.05; done", { stdout: PIPE });
  for await (const line of proc.stdout!) console.log(`[child ${proc.pid}] ${dec.decode(line).trimEnd()}`);
  console.log(`exited with ${await proc.wait()}`);

  // communicate(): write stdin, read stdout and stderr to the end, wait.
  const sort = await createSubprocessExec("sort", { stdin: PIPE, stdout: PIPE });
  const [out] = await sort.communicate(enc.encode("pear\napple\nfig\n"));
  console.log(`sorted: ${dec.decode(out!).trim().split("\n").join(", ")}`);

  // A shell command; a signal ends it, and returncode says which.
  const sleeper = await createSubprocessShell("sleep 10");
  sleeper.terminate();
  console.log(`sleep ended with ${await sleeper.wait()} (-15: SIGTERM)`);
});
