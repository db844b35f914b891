// Display the current date every second for 5 seconds with callLater() —
// asyncio docs, "Display the current date with call_later()".
//   bun examples/clock.ts
//   deno run --allow-ffi examples/clock.ts
//   node scripts/build-node.mjs .build/examples examples/clock.ts && node .build/examples/clock.mjs
import { type EventLoop, newEventLoop } from "../mod.ts";

function displayDate(endTime: number, loop: EventLoop) {
  console.log(new Date().toISOString());
  if (loop.time() + 1.0 < endTime) {
    loop.callLater(1, displayDate, endTime, loop); // seconds, as in asyncio
  } else {
    loop.stop();
  }
}

const loop = newEventLoop();

// Schedule the first call to displayDate(); loop.time() is a monotonic clock in seconds.
const endTime = loop.time() + 5.0;
loop.callSoon(displayDate, endTime, loop);

// Blocked until interrupted by loop.stop().
try {
  await loop.runForever();
} finally {
  loop.close();
}
