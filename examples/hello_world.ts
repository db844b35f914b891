// Hello World with callSoon() — asyncio docs, "Hello World with call_soon()".
//   bun examples/hello_world.ts
//   deno run --allow-ffi examples/hello_world.ts
//   node scripts/build-node.mjs .build/examples examples/hello_world.ts && node .build/examples/hello_world.mjs
import { type EventLoop, newEventLoop } from "../mod.ts";

function helloWorld(loop: EventLoop) {
  console.log("Hello World");
  loop.stop();
}

const loop = newEventLoop();

// Schedule a call to helloWorld().
loop.callSoon(helloWorld, loop);

// Blocked until interrupted by loop.stop(). runForever() returns a promise:
// a JavaScript thread cannot block, so the loop runs while we await it.
try {
  await loop.runForever();
} finally {
  loop.close();
}
