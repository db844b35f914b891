// Producers and consumers with a Queue, a Lock and an Event — asyncio's
// "Queues" and "Synchronization Primitives" docs, in one program.
//   bun examples/locks_queues.ts
//   deno run --allow-ffi examples/locks_queues.ts
//   node scripts/build-node.mjs .build/examples examples/locks_queues.ts && node .build/examples/locks_queues.mjs
import { Event, getRunningLoop, gather, Lock, Queue, run, sleep } from "../mod.ts";

await run(async () => {
  const loop = getRunningLoop();
  const queue = new Queue<[string, number]>({ maxsize: 2 }); // a full queue makes producers wait
  const lock = new Lock(); // guards the shared report below
  const start = new Event(); // consumers wait for the starting signal
  const report: string[] = [];

  async function producer(name: string, count: number): Promise<void> {
    for (let i = 1; i <= count; i++) {
      await queue.put([name, i]);
      console.log(`${name} put item ${i} (queue size ${queue.qsize()})`);
    }
  }

  async function consumer(name: string): Promise<number> {
    await start.wait();
    let handled = 0;
    // The iteration ends when the queue is shut down and empty.
    for await (const [from, n] of queue) {
      await sleep(0.005); // pretend to work
      await lock.use(async () => {
        report.push(`${name} handled ${from}#${n}`);
      });
      handled++;
      queue.taskDone();
    }
    return handled;
  }

  const consumers = [loop.createTask(() => consumer("consumer-A")), loop.createTask(() => consumer("consumer-B"))];
  const producers = gather(producer("producer-1", 3), producer("producer-2", 3));

  await sleep(0.01);
  console.log("starting the consumers");
  start.set();

  await producers;
  await queue.join(); // every item put has been handled
  queue.shutdown();
  const counts = await gather(...consumers);

  for (const line of report) console.log(line);
  console.log(`handled ${counts[0] + counts[1]} items (A: ${counts[0]}, B: ${counts[1]})`);
});
