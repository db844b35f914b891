/**
 * Stress: 1,000,000 timers armed with loop.callLater, 90% of them cancelled
 * at random.
 *
 * Asserts:
 * - the loop's timer heap shrinks back: asyncio drops cancelled timers from
 *   the heap in one sweep once they are more than half of it (and more than
 *   100 timers), so after one iteration the heap holds only the live ones;
 * - the JavaScript heap, after a GC, lets go of the cancelled handles while
 *   the live ones are pending (at most 35% of the growth that arming caused
 *   is left: 10% of the timers are still live);
 * - each live timer fires exactly once, none before its deadline, in order
 *   of deadline (ties in any order); no cancelled timer fires;
 * - after the run, the loop closed and a GC: the JS heap is within 8 MiB of
 *   where it started and RSS within 64 MiB (the hosts keep some freed pages;
 *   not asserted on Deno, which keeps them all: see rssReturns in _common.ts).
 *
 *   stress/timers.ts --seconds N [--timers 1000000] [--seed S]
 *
 * Deadlines are spread over min(max(30% of --seconds, 2 s), 20 s).
 */

import { type EventLoop, newEventLoop, type TimerHandle } from "../mod.ts";
import { args, gc, heapUsedBytes, log, mib, opt, report, rng, rssBytes, rssReturns, runScenario, settledRss, watchdog } from "./_common.ts";

const NAME = "timers";
const CANCEL_FRACTION = 0.9;

async function main(): Promise<void> {
  const { seconds, seed } = args();
  const n = Number(opt("timers", "1000000"));
  if (!(Number.isInteger(n) && n > 0)) throw new Error("--timers must be a positive integer");
  const spread = Math.min(Math.max(seconds * 0.3, 2), 20);
  const figures: Record<string, unknown> = { timers: n, spreadSeconds: spread };
  const failures: string[] = [];
  watchdog(NAME, seconds, () => figures);
  const r = rng(seed);

  const rssBefore = await settledRss();
  const heapBefore = heapUsedBytes();
  const loop: EventLoop = newEventLoop();
  const exceptions: string[] = [];
  loop.setExceptionHandler((_l, ctx) => void exceptions.push(String(ctx.message) + (ctx.exception ? `: ${ctx.exception}` : "")));

  const whens = new Float64Array(n);
  const fired = new Uint8Array(n);
  const cancelled = new Uint8Array(n);
  let lastWhen = -Infinity;
  let outOfOrder = 0;
  let early = 0;
  let maxLate = 0;
  let firedCount = 0;
  let measureFrom = Infinity;
  let sweepGcMs = NaN;
  const res = loop._clockResolution;
  const fire = (id: number) => {
    fired[id]++;
    firedCount++;
    const w = whens[id];
    if (w < lastWhen) {
      outOfOrder++;
      if (outOfOrder <= 5) failures.push(`timer ${id} (deadline ${w}) fired after one with deadline ${lastWhen}`);
    } else lastWhen = w;
    const now = loop.time();
    if (now < w - res) {
      early++;
      if (early <= 5) failures.push(`timer ${id} fired ${((w - now) * 1000).toFixed(3)} ms before its deadline`);
    }
    // Lateness only of deadlines after the loop started and the sweep's GCs ended (arming takes a while).
    if (w >= measureFrom && now - w > maxLate) maxLate = now - w;
  };

  // Arm.
  let t = performance.now();
  let handles: (TimerHandle | null)[] | null = new Array(n);
  for (let i = 0; i < n; i++) {
    const h = loop.callLater(0.2 + r() * spread, fire, i);
    handles[i] = h;
    whens[i] = h.when();
  }
  const armMs = performance.now() - t;
  const scheduledArmed = loop._scheduled.length;
  const rssArmed = rssBytes();
  const heapArmed = heapUsedBytes();

  // Cancel 90% at random.
  t = performance.now();
  let nCancelled = 0;
  for (let i = 0; i < n; i++) {
    if (r() < CANCEL_FRACTION) {
      handles[i]!.cancel();
      cancelled[i] = 1;
      nCancelled++;
    }
  }
  const cancelMs = performance.now() - t;
  handles = null;
  const nLive = n - nCancelled;
  const scheduledAfterCancel = loop._scheduled.length;
  log(`armed ${n} timers in ${armMs.toFixed(0)} ms, cancelled ${nCancelled} in ${cancelMs.toFixed(0)} ms; heap ${scheduledAfterCancel} entries`);

  // One iteration later the sweep has run; a GC then frees the cancelled handles.
  let scheduledAfterSweep = -1;
  let heapSwept = NaN;
  loop.callSoon(() => {
    scheduledAfterSweep = loop._scheduled.length;
    const g0 = performance.now();
    gc();
    gc();
    sweepGcMs = performance.now() - g0;
    heapSwept = heapUsedBytes();
    measureFrom = loop.time();
  });
  let rssPeak = rssArmed;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes())), 100);
  const progress = setInterval(() => log(`fired ${firedCount} of ${nLive}`), 5000);
  t = performance.now();
  // The stop timer's deadline is after every other one.
  loop.callLater(0.2 + spread + 0.1, () => loop.stop());
  await loop.runForever();
  const runMs = performance.now() - t;
  clearInterval(sampler);
  clearInterval(progress);
  const leftInHeap = loop._scheduled.filter((h) => !h.cancelled()).length;
  loop.close();

  // Exactly once, and never a cancelled one.
  let missed = 0, twice = 0, cancelledFired = 0;
  for (let i = 0; i < n; i++) {
    if (cancelled[i]) {
      if (fired[i]) cancelledFired++;
    } else if (fired[i] === 0) missed++;
    else if (fired[i] > 1) twice++;
  }
  if (missed) failures.push(`${missed} live timers never fired`);
  if (twice) failures.push(`${twice} timers fired more than once`);
  if (cancelledFired) failures.push(`${cancelledFired} cancelled timers fired`);
  if (leftInHeap) failures.push(`${leftInHeap} live timers left in the heap after the last deadline`);
  if (firedCount !== nLive) failures.push(`${firedCount} callbacks for ${nLive} live timers`);
  if (scheduledAfterCancel !== n) failures.push(`heap has ${scheduledAfterCancel} entries after cancelling, expected ${n} (cancelled ones stay until the sweep)`);
  // The sweep leaves the live timers (plus the stop timer); timers that came due in that iteration are gone too.
  if (!(scheduledAfterSweep >= 0 && scheduledAfterSweep <= nLive + 1)) {
    failures.push(`heap has ${scheduledAfterSweep} entries one iteration after cancelling ${nCancelled} of ${n}: not swept (live ${nLive})`);
  }
  const armedGrowth = heapArmed - heapBefore;
  if (heapSwept - heapBefore > 0.35 * armedGrowth) {
    failures.push(`JS heap after the sweep ${mib(heapSwept)} holds more than 35% of the ${mib(armedGrowth)} arming took (start ${mib(heapBefore)})`);
  }

  // Memory back near the start once everything is gone (our arrays too).
  const rssAfterRun = rssBytes();
  const rssAfter = await settledRss();
  const heapAfter = heapUsedBytes();
  const heapBound = 8 * 1048576, rssBound = 64 * 1048576;
  // whens/fired/cancelled (10 bytes a timer) are still referenced: not counted against the bound.
  const ours = whens.byteLength + fired.byteLength + cancelled.byteLength;
  if (heapAfter - heapBefore > heapBound + ours) failures.push(`JS heap after ${mib(heapAfter)} > start ${mib(heapBefore)} + ${mib(heapBound)}`);
  if (rssReturns && rssAfter - rssBefore > rssBound + ours) failures.push(`RSS after ${mib(rssAfter)} > start ${mib(rssBefore)} + ${mib(rssBound)}`);
  if (exceptions.length) failures.push(`${exceptions.length} calls of the exception handler, first: ${exceptions[0]}`);

  Object.assign(figures, {
    cancelled: nCancelled, live: nLive, fired: firedCount, outOfOrder, early, maxLateMs: Number((maxLate * 1000).toFixed(1)), sweepGcMs: Math.round(sweepGcMs),
    armMs: Math.round(armMs), cancelMs: Math.round(cancelMs), runMs: Math.round(runMs),
    heapEntriesArmed: scheduledArmed, heapEntriesAfterCancel: scheduledAfterCancel, heapEntriesAfterSweep: scheduledAfterSweep,
    jsHeapBeforeMiB: Number((heapBefore / 1048576).toFixed(1)), jsHeapArmedMiB: Number((heapArmed / 1048576).toFixed(1)),
    jsHeapSweptMiB: Number((heapSwept / 1048576).toFixed(1)), jsHeapAfterMiB: Number((heapAfter / 1048576).toFixed(1)),
    rssBeforeMiB: Number((rssBefore / 1048576).toFixed(1)), rssPeakMiB: Number((rssPeak / 1048576).toFixed(1)),
    rssAfterRunMiB: Number((rssAfterRun / 1048576).toFixed(1)), rssAfterMiB: Number((rssAfter / 1048576).toFixed(1)),
  });
  log(`fired ${firedCount}/${nLive} (out of order ${outOfOrder}, early ${early}, max late ${(maxLate * 1000).toFixed(1)} ms); ` +
    `heap entries ${scheduledArmed} -> ${scheduledAfterCancel} -> ${scheduledAfterSweep}; JS heap ${mib(heapBefore)} -> ${mib(heapArmed)} -> ` +
    `${mib(heapSwept)} -> ${mib(heapAfter)}; RSS ${mib(rssBefore)} -> peak ${mib(rssPeak)} -> ${mib(rssAfter)}`);
  report(NAME, failures.length === 0, figures, failures);
}

await runScenario(NAME, main);
