/**
 * A future awaited while its loop is not running settles only if something
 * runs that loop. The first thing a JavaScript user writes,
 * `await loop.createServer(...)` at the top level with no loop running,
 * would otherwise end in silence: Node exits with status 13, Bun waits for
 * ever. So such awaits are noted, and when the host goes idle with one still
 * pending and its loop still stopped, one line says what to do.
 */

import { libc, native } from "./native.ts";
import { isConsoleLogger, logger } from "./log.ts";

/** What this check needs of a future and its loop. */
interface Awaited {
  done(): boolean;
  getLoop(): { isRunning(): boolean; isClosed(): boolean };
  toString(): string;
}

/** How long (ms) a stopped loop's future may be awaited before we speak, where the host cannot tell us it drained. */
const GRACE_MS = 1000;

// Held strongly until the next check (at most 64): an await of a stopped
// loop's future is often the only thing that leads to that future, and a
// weak reference let the garbage collector take it before we could speak.
const noted = new Set<Awaited>();
let armed = false;
let warned = false;

/** `fut` is being awaited while its loop is not running. */
export function noteAwaitWhileStopped(fut: Awaited): void {
  if (warned || noted.size >= 64) return;
  noted.add(fut);
  if (!armed) {
    armed = true;
    native.onHostIdle(check, GRACE_MS);
  }
}

function check(): void {
  armed = false;
  let stuck: Awaited | null = null;
  for (const fut of noted) {
    if (fut.done() || fut.getLoop().isRunning()) noted.delete(fut);
    else stuck ??= fut;
  }
  if (stuck === null) return;
  if (stuck.getLoop().isClosed()) {
    warned = true;
    noted.clear();
    say(`tsyncio: ${stuck} is awaited but its event loop is closed, so it will never settle.`);
    return;
  }
  warned = true;
  noted.clear();
  say(
    `tsyncio: ${stuck} is awaited but its event loop is not running, so nothing will settle it: ` +
      "put the code in `await run(async () => { ... })`, or await `loop.runUntilComplete(...)`, " +
      "instead of awaiting loop methods directly.",
  );
}

/**
 * Log the line. The console may buffer it, and a host stalled on a top-level
 * await does not always flush that buffer (Bun), so the console logger's
 * line goes straight to stderr.
 */
function say(line: string): void {
  if (!isConsoleLogger()) {
    logger.error(line);
    return;
  }
  const text = new TextEncoder().encode(line + "\n");
  const buf = new Uint8Array(new ArrayBuffer(text.byteLength));
  buf.set(text);
  libc.write(2, buf, buf.byteLength);
}
