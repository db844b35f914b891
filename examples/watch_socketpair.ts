// Watch a file descriptor for read events with addReader() — asyncio docs,
// "Watch a file descriptor for read events".
//   bun examples/watch_socketpair.ts
//   deno run --allow-ffi examples/watch_socketpair.ts
//   node scripts/build-node.mjs .build/examples examples/watch_socketpair.ts && node .build/examples/watch_socketpair.mjs
import { newEventLoop, socketpair } from "../mod.ts";

const loop = newEventLoop();

// Create a pair of connected sockets (AF_UNIX, SOCK_STREAM), non-blocking.
const [rsock, wsock] = socketpair();
rsock.setblocking(false);
wsock.setblocking(false);

function reader() {
  const data = rsock.recv(100);
  console.log("Received:", new TextDecoder().decode(data));

  // We are done: unregister the file descriptor.
  loop.removeReader(rsock);

  // Stop the event loop.
  loop.stop();
}

// Register the file descriptor for read events (a Socket, or any object with
// fileno(), or a plain fd number: pipes, ttys, eventfd, inotify, ...).
loop.addReader(rsock, reader);

// Simulate the reception of data from the network — from a host timer,
// which runs while the loop waits (the loop does not hold the JS thread).
setTimeout(() => wsock.send(new TextEncoder().encode("abc")), 10);

try {
  // Run the event loop until reader() stops it.
  await loop.runForever();
} finally {
  // We are done. Close sockets and the event loop.
  rsock.close();
  wsock.close();
  loop.close();
}
