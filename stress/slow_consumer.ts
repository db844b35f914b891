/**
 * Stress: a tsyncio server streams a large amount (256 MiB, scaled to the
 * time given) to a slow peer that reads 64 KiB every 10 ms (at most
 * 6.4 MB/s): a tsyncio client whose BufferedProtocol hands out a 64 KiB
 * buffer, pauses reading after each read and resumes 10 ms later.
 *
 * The server writes only while its transport has not paused it (asyncio's
 * flow control: pauseWriting above the high-water mark, resumeWriting below
 * the low one). Asserts: pauseWriting was called; the transport's buffer
 * never went above high-water + one chunk; the process's RSS stayed within
 * its start + high-water + 48 MiB (the stated bound for the hosts' own
 * allocation noise) and the JS heap within 16 MiB of its start; every byte
 * arrived, in order (streamed hash of what was written = hash of what was
 * read).
 *
 *   stress/slow_consumer.ts --seconds N [--mib M] [--seed S]
 *
 * The amount: 256 MiB takes ≥ 40 s at 6.4 MB/s, so by default it is what
 * 60% of --seconds allows at that rate (≈ 112 MiB for 30 s: reads come
 * every 10 ms plus the loop's overhead, ~4.5 MB/s in practice), at most
 * 256 MiB; --mib sets it (the run then takes as long as it takes; the
 * watchdog allows amount / 6.4 MB/s + 60 s).
 */

import { BufferedProtocol, type EventLoop, newEventLoop, Protocol, type Transport } from "../mod.ts";
import { args, heapUsedBytes, log, mib, opt, report, rng, rssBytes, runScenario, settledRss, StreamHash, watchdog } from "./_common.ts";

const NAME = "slow_consumer";
const READ_SIZE = 64 * 1024;
const READ_EVERY = 0.010;
const RATE = READ_SIZE / READ_EVERY; // bytes/s, at best
const CHUNK = 64 * 1024;
const HIGH_WATER = 64 * 1024; // the transport's default; set explicitly below
const RSS_SLACK = 48 * 1048576;
const HEAP_SLACK = 16 * 1048576;

async function main(): Promise<void> {
  const { seconds, seed } = args();
  const mibOpt = opt("mib");
  const amount = mibOpt !== undefined
    ? Math.floor(Number(mibOpt) * 1048576)
    : Math.min(256 * 1048576, Math.max(1048576, Math.floor((seconds * 0.6 * RATE) / 1048576) * 1048576));
  if (!(amount > 0)) throw new Error("--mib must be positive");
  const budget = Math.max(seconds, amount / RATE);
  const figures: Record<string, unknown> = { amountMiB: amount / 1048576 };
  const failures: string[] = [];
  watchdog(NAME, budget, () => figures);
  log(`streaming ${mib(amount)} to a reader of ${READ_SIZE} bytes every ${READ_EVERY * 1000} ms ` +
    `(${(RATE / 1e6).toFixed(1)} MB/s at best: >= ${(amount / RATE).toFixed(1)} s)` +
    (amount < 256 * 1048576 ? `; 256 MiB would need >= ${(256 * 1048576 / RATE).toFixed(0)} s (--mib 256)` : ""));

  // The data: chunks cut at random offsets of a 1 MiB random block.
  const r = rng(seed);
  const block = new Uint8Array(new ArrayBuffer(1 << 20));
  for (let i = 0; i < block.length; i++) block[i] = (r() * 256) | 0;

  const loop: EventLoop = newEventLoop();
  const exceptions: string[] = [];
  loop.setExceptionHandler((_l, ctx) => void exceptions.push(String(ctx.message) + (ctx.exception ? `: ${ctx.exception}` : "")));

  const rssBefore = await settledRss();
  const heapBefore = heapUsedBytes();
  let rssPeak = rssBefore;
  let heapPeak = heapBefore;
  const sample = () => {
    const x = rssBytes();
    if (x > rssPeak) rssPeak = x;
    const h = heapUsedBytes();
    if (h > heapPeak) heapPeak = h;
  };
  const sampler = setInterval(sample, 100);

  const sent = new StreamHash();
  const srv = { pauses: 0, resumes: 0, maxBuffer: 0, writes: 0, done: false };
  class Producer extends Protocol {
    t!: Transport;
    paused = false;
    override connectionMade(t: Transport): void {
      this.t = t;
      t.setWriteBufferLimits(HIGH_WATER);
      this.pump();
    }
    pump(): void {
      while (!this.paused && sent.bytes < amount) {
        const n = Math.min(CHUNK, amount - sent.bytes);
        const off = Math.floor(r() * (block.length - n));
        const chunk = block.subarray(off, off + n);
        sent.update(chunk);
        this.t.write(chunk);
        srv.writes++;
        const b = this.t.getWriteBufferSize();
        if (b > srv.maxBuffer) srv.maxBuffer = b;
      }
      if (sent.bytes >= amount && !srv.done) {
        srv.done = true;
        this.t.close(); // flushes what is buffered, then closes
      }
    }
    override pauseWriting(): void {
      srv.pauses++;
      this.paused = true;
    }
    override resumeWriting(): void {
      srv.resumes++;
      this.paused = false;
      this.pump();
    }
    override connectionLost(exc: Error | null): void {
      if (exc) failures.push(`server connection lost: ${exc}`);
    }
  }

  const received = new StreamHash();
  const finished = loop.createFuture<void>();
  let reads = 0;
  let t0 = 0;
  let tEnd = 0;
  class SlowReader extends BufferedProtocol {
    t!: Transport;
    buf = new Uint8Array(new ArrayBuffer(READ_SIZE));
    override connectionMade(t: Transport): void {
      this.t = t;
      t0 = loop.time();
    }
    override getBuffer(_hint: number): Uint8Array {
      return this.buf;
    }
    override bufferUpdated(n: number): void {
      reads++;
      received.update(this.buf.subarray(0, n));
      this.t.pauseReading();
      loop.callLater(READ_EVERY, () => {
        if (!this.t.isClosing()) this.t.resumeReading();
      });
    }
    override eofReceived(): boolean {
      tEnd = loop.time();
      return false;
    }
    override connectionLost(exc: Error | null): void {
      if (exc) failures.push(`client connection lost: ${exc}`);
      if (!finished.done()) finished.setResult();
    }
  }

  const server = await loop.runUntilComplete(loop.createServer(() => new Producer(), "127.0.0.1", 0));
  const port = (server.sockets[0].getsockname() as [string, number])[1];
  const progress = setInterval(() => log(`received ${mib(received.bytes)} of ${mib(amount)}, pauses ${srv.pauses}, RSS ${mib(rssBytes())}`), 5000);
  await loop.runUntilComplete(loop.createConnection(() => new SlowReader(), "127.0.0.1", port));
  await loop.runUntilComplete(finished);
  clearInterval(progress);
  server.close();
  await loop.runUntilComplete(server.waitClosed());
  loop.close();
  clearInterval(sampler);
  sample();
  const rssAfter = await settledRss();

  const secs = (tEnd || loop.time()) - t0;
  if (received.digest() !== sent.digest()) failures.push(`data differs: sent ${sent.digest()}, received ${received.digest()}`);
  if (received.bytes !== amount) failures.push(`received ${received.bytes} of ${amount} bytes`);
  if (srv.pauses === 0) failures.push("pauseWriting was never called");
  if (srv.pauses !== srv.resumes && srv.pauses !== srv.resumes + 1) failures.push(`${srv.pauses} pauses but ${srv.resumes} resumes`);
  if (srv.maxBuffer > HIGH_WATER + CHUNK) failures.push(`write buffer reached ${srv.maxBuffer} > high-water ${HIGH_WATER} + one chunk ${CHUNK}`);
  if (rssPeak - rssBefore > HIGH_WATER + RSS_SLACK) {
    failures.push(`RSS grew by ${mib(rssPeak - rssBefore)} > high-water ${HIGH_WATER / 1024} KiB + ${mib(RSS_SLACK)}`);
  }
  if (heapPeak - heapBefore > HEAP_SLACK) failures.push(`JS heap grew by ${mib(heapPeak - heapBefore)} > ${mib(HEAP_SLACK)}`);
  if (exceptions.length) failures.push(`${exceptions.length} calls of the exception handler, first: ${exceptions[0]}`);
  Object.assign(figures, {
    receivedMiB: Number((received.bytes / 1048576).toFixed(1)), seconds: Number(secs.toFixed(1)),
    MBps: Number((received.bytes / secs / 1e6).toFixed(2)), reads, pauses: srv.pauses, resumes: srv.resumes,
    maxWriteBuffer: srv.maxBuffer, rssBeforeMiB: Number((rssBefore / 1048576).toFixed(1)),
    rssPeakMiB: Number((rssPeak / 1048576).toFixed(1)), rssAfterMiB: Number((rssAfter / 1048576).toFixed(1)),
    rssGrowthMiB: Number(((rssPeak - rssBefore) / 1048576).toFixed(1)), heapGrowthMiB: Number(((heapPeak - heapBefore) / 1048576).toFixed(1)),
    hashOk: received.digest() === sent.digest(),
  });
  log(`received ${mib(received.bytes)} in ${secs.toFixed(1)} s with ${reads} reads; ${srv.pauses} pauses / ${srv.resumes} resumes; ` +
    `max write buffer ${srv.maxBuffer}; RSS ${mib(rssBefore)} -> peak ${mib(rssPeak)} -> ${mib(rssAfter)}`);
  report(NAME, failures.length === 0, figures, failures);
}

await runScenario(NAME, main);
