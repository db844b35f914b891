// Waiting for several things at once: gather, wait, asCompleted, shield, toThread
// (the asyncio docs' "Running Tasks Concurrently" and friends).
//   bun examples/gather_wait.ts
//   deno run --allow-ffi examples/gather_wait.ts
//   node scripts/build-node.mjs .build/examples examples/gather_wait.ts && node .build/examples/gather_wait.mjs
import { asCompleted, FIRST_COMPLETED, gather, run, shield, sleep, toThread, wait } from "../mod.ts";

/** The asyncio docs' factorial, slowed down a little per step. */
async function factorial(name: string, n: number): Promise<number> {
  let f = 1;
  for (let i = 2; i <= n; i++) {
    console.log(`Task ${name}: Compute factorial(${n}), currently i=${i}...`);
    await sleep(0.01);
    f *= i;
  }
  console.log(`Task ${name}: factorial(${n}) = ${f}`);
  return f;
}

await run(async () => {
  // gather: run concurrently, results in argument order.
  const results = await gather(() => factorial("A", 2), () => factorial("B", 3), () => factorial("C", 4));
  console.log("gather:", results);

  // gather with returnExceptions: a failure takes its place among the results.
  const mixed = await gather(sleep(0.01, "ok"), async () => {
    throw new Error("boom");
  }, { returnExceptions: true });
  console.log("gather, returnExceptions:", mixed.map(String));

  // wait: stop at the first one done; nothing is cancelled.
  const fast = sleep(0.01, "fast"), slow = sleep(10, "slow");
  const [done, pending] = await wait([fast, slow], { returnWhen: FIRST_COMPLETED });
  console.log(`wait: ${done.size} done (${[...done].map((f) => f.result())}), ${pending.size} pending`);
  slow.cancel();

  // asCompleted: take results in the order they finish.
  for (const f of asCompleted([sleep(0.03, "third"), sleep(0.01, "first"), sleep(0.02, "second")])) {
    console.log("asCompleted:", await f);
  }

  // shield: cancelling the outer future leaves the inner work running.
  const inner = sleep(0.02, "inner survived");
  const outer = shield(inner);
  outer.cancel();
  console.log("shield: outer cancelled:", outer.cancelled(), "->", await inner);

  // toThread: a self-contained function runs on a worker thread.
  const sum = await toThread((n: number) => {
    let s = 0;
    for (let i = 1; i <= n; i++) s += i;
    return s;
  }, 1000);
  console.log("toThread: sum(1..1000) =", sum);
});
