import { currentTask, getRunningLoop, run, sleep } from "../mod.ts";

await run(async () => {
  const loop = getRunningLoop();
  const download = loop.createTask(async () => {
    // fetch rejects with the signal's reason, the CancelledError, when the task is cancelled
    const res = await fetch("https://example.com/", { signal: currentTask()!.signal });
    return await res.text();
  });
  await sleep(0);
  download.cancel();
  await download.catch((e) => console.log("download:", (e as Error).name, download.cancelled()));
});
