/**
 * createSubprocessExec / createSubprocessShell and Process (asyncio's
 * `subprocess` module) with real child processes: communicate(), the
 * stream pipes, exit codes and signals, cancellation, `await using`. Every
 * test checks that no descriptor leaked and that every child was reaped.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  BrokenPipeError, CancelledError, ConnectionResetError, createSubprocessExec, createSubprocessShell, type CreateSubprocessOptions, DEVNULL,
  type EventLoop, FileNotFoundError, type Future, gather, newEventLoop, NotADirectoryError, PermissionError, PIPE, type Process, ProcessLookupError, RuntimeError, sleep,
  STDOUT, StreamReader, StreamWriter, SubprocessStreamProtocol, timeout, TimeoutError, ValueError,
} from "../mod.ts";
import { assertClean, captureExceptions, openFds, rejects, settledFds, tick } from "./_helpers.ts";
import { concat, dec, enc, pattern, sha256 } from "./_net.ts";
import { C, libc } from "../src/native.ts";

// ---- Helpers ----

function cString(s: string): Uint8Array {
  const b = new Uint8Array(new ArrayBuffer(s.length * 3 + 1));
  b.set(enc.encode(s));
  return b;
}

/** A small file's text through libc (Deno needs no extra permission for that), or null if it cannot be opened. */
function readText(path: string): string | null {
  const fd = libc.open(cString(path), C.O_CLOEXEC, 0);
  if (fd < 0) return null;
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(new ArrayBuffer(65536));
  for (;;) {
    const n = libc.read(fd, buf, buf.byteLength);
    if (n <= 0) break;
    chunks.push(buf.slice(0, n));
  }
  libc.close(fd);
  return dec.decode(concat(chunks));
}

/** The state letter of a process in /proc ("Z" for a zombie), or null once it is gone. */
function procState(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
}

/** The pids of this process's living or zombie children (started by its main thread, where the loop spawns them). */
function childPids(): number[] {
  const self = readText("/proc/self/stat")!.split(" ")[0];
  const text = readText(`/proc/${self}/task/${self}/children`);
  return text === null ? [] : text.trim().split(/\s+/).filter((x) => x !== "").map(Number).sort((a, b) => a - b);
}

/** A close-on-exec pipe: [read end, write end]. */
function pipe(): [number, number] {
  const fds = new Int32Array(new ArrayBuffer(8));
  if (libc.pipe2!(new Uint8Array(fds.buffer), C.O_CLOEXEC) !== 0) throw new Error("pipe2 failed");
  return [fds[0], fds[1]];
}

/** The pids of the children the current test started (each must be reaped at its end). */
const children: number[] = [];

/** createSubprocessExec, remembering the child's pid. */
async function exec(program: string, ...args: [...string[], CreateSubprocessOptions] | string[]): Promise<Process> {
  const p = await createSubprocessExec(program, ...args);
  children.push(p.pid);
  return p;
}

/** createSubprocessShell, remembering the child's pid. */
async function shell(cmd: string, options: CreateSubprocessOptions = {}): Promise<Process> {
  const p = await createSubprocessShell(cmd, options);
  children.push(p.pid);
  return p;
}

/**
 * A test whose body runs as the main task of a fresh loop. Afterwards: no
 * task or timer left pending, every child started through exec()/shell()
 * reaped (no zombie, none still running) and no other child of ours
 * left, no descriptor leaked. A hang is turned into a failure after
 * `guard` seconds.
 */
function pt(name: string, fn: (loop: EventLoop) => Promise<void>, guard = 30): void {
  test(name, async () => {
    const before = await settledFds();
    const kids = childPids();
    children.length = 0;
    const loop = newEventLoop();
    const timer = setTimeout(() => loop.stop(), guard * 1000);
    try {
      await loop.runUntilComplete(async () => await fn(loop));
      assertClean(loop);
    } finally {
      clearTimeout(timer);
      if (!loop.isRunning()) loop.close();
    }
    for (const pid of children) assert.is(procState(pid), null, `child ${pid} was reaped`);
    assert.equal(childPids(), kids, "no child left running or unreaped");
    assert.equal(await settledFds(before), before, "no descriptor leaked");
  });
}

/** `fn()` fails with an instance of `cls`, by throwing or by returning a future that rejects. */
// deno-lint-ignore no-explicit-any
async function fails<E extends Error>(fn: () => unknown, cls: new (...a: any[]) => E, message?: RegExp): Promise<E> {
  let r: unknown;
  try {
    r = fn();
  } catch (e) {
    assert.instance(e, cls);
    if (message) assert.match((e as Error).message, message);
    return e as E;
  }
  return await rejects(r as PromiseLike<unknown>, cls, message);
}

/** `n` bytes of 0, 1, ..., 250, 0, 1, ... (what `bytes(range(251))` repeats to in python). */
function cycle251(n: number, offset = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i + offset) % 251;
  return out;
}

const MiB = 1 << 20;

// The first spawn and name lookup make the hosts open descriptors of their own, some of which they
// close a while later (Bun's workers): let them settle before the first descriptor count.
test("warm-up: a child runs, then the host's own descriptors settle", async () => {
  await settledFds();
  const loop = newEventLoop();
  try {
    const rc = await loop.runUntilComplete(async () => {
      const p = await createSubprocessExec("true");
      return await p.wait();
    });
    assert.is(rc, 0);
  } finally {
    loop.close();
  }
  let last = JSON.stringify(openFds());
  for (let stable = 0, i = 0; stable < 10 && i < 100; i++) {
    await tick(50);
    const now = JSON.stringify(openFds());
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
});

// ---- communicate() ----

pt("communicate(input) with sort: sorted output, no stderr pipe, returncode 0", async () => {
  const p = await exec("sort", { stdin: PIPE, stdout: PIPE });
  assert.instance(p.stdin, StreamWriter);
  assert.instance(p.stdout, StreamReader);
  assert.is(p.stderr, null);
  assert.is(p.returncode, null);
  assert.is(String(p), `<Process ${p.pid}>`);
  const [out, err] = await p.communicate(enc.encode("pear\napple\nfig\n"));
  assert.is(dec.decode(out!), "apple\nfig\npear\n");
  assert.is(err, null);
  assert.is(p.returncode, 0);
  assert.is(await p.wait(), 0, "wait() after communicate()");
});

pt("communicate() without input closes stdin: cat sees EOF and exits", async () => {
  const p = await exec("cat", { stdin: PIPE, stdout: PIPE, stderr: PIPE });
  const [out, err] = await timeout(5, () => p.communicate());
  assert.equal(out, new Uint8Array(0));
  assert.equal(err, new Uint8Array(0));
  assert.is(p.returncode, 0);
  assert.ok(p.stdin!.isClosing(), "stdin was closed");
  await p.stdin!.waitClosed();
});

pt("communicate(empty input) and an input given as any ArrayBufferView", async () => {
  const code = "import sys; data = sys.stdin.buffer.read(); print(len(data))";
  const p = await exec("python3", "-c", code, { stdin: PIPE, stdout: PIPE, stderr: PIPE });
  const [out, err] = await p.communicate(new Uint8Array(0));
  assert.is(dec.decode(out!), "0\n");
  assert.is(dec.decode(err!), "");
  const q = await exec("python3", "-c", code, { stdin: PIPE, stdout: PIPE });
  const [out2] = await q.communicate(new DataView(enc.encode("abcdefgh").buffer, 2, 3));
  assert.is(dec.decode(out2!), "3\n");
  assert.is(q.returncode, 0);
});

pt("communicate(): 16 MiB on stdout and 2 MiB on stderr at once, interleaved: no deadlock, same bytes", async () => {
  const n = 16 * MiB, m = 2 * MiB;
  const code = [
    "import sys",
    `n, m = ${n}, ${m}`,
    "out = (bytes(range(251)) * (n // 251 + 1))[:n]",
    "err = (bytes(range(251)) * (m // 251 + 1))[7:m + 7]",
    "o, e = sys.stdout.buffer, sys.stderr.buffer",
    "for i in range(0, n, 1 << 16):",
    "    o.write(out[i:i + (1 << 16)]); o.flush()",
    "    j = (i >> 16) * (1 << 13)",
    "    e.write(err[j:j + (1 << 13)]); e.flush()",
  ].join("\n");
  const p = await exec("python3", "-c", code, { stdout: PIPE, stderr: PIPE });
  assert.is(p.stdin, null);
  const [out, err] = await p.communicate();
  assert.is(p.returncode, 0);
  assert.is(out!.length, n);
  assert.is(err!.length, m);
  assert.is(await sha256(out!), await sha256(cycle251(n)));
  assert.is(await sha256(err!), await sha256(cycle251(m, 7)));
}, 60);

pt("communicate(): 16 MiB of zeros from head", async () => {
  const p = await exec("head", "-c", String(16 * MiB), "/dev/zero", { stdout: PIPE, stderr: PIPE });
  const [out, err] = await p.communicate();
  assert.is(out!.length, 16 * MiB);
  assert.ok(out!.every((b) => b === 0));
  assert.is(err!.length, 0);
  assert.is(p.returncode, 0);
}, 60);

pt("communicate(): 8 MiB in through cat and 8 MiB out at once: no deadlock, same hash", async () => {
  const data = pattern(8 * MiB, 11);
  const p = await exec("cat", { stdin: PIPE, stdout: PIPE, stderr: PIPE });
  const [out, err] = await p.communicate(data);
  assert.is(out!.length, data.length);
  assert.is(await sha256(out!), await sha256(data));
  assert.is(err!.length, 0);
  assert.is(p.returncode, 0);
}, 60);

pt("communicate() with a small limit: the reader pauses and resumes, nothing is lost", async () => {
  const p = await exec("head", "-c", String(MiB), "/dev/zero", { stdout: PIPE, limit: 10 });
  const [out] = await p.communicate();
  assert.is(out!.length, MiB);
  assert.is(p.returncode, 0);
});

pt("communicate() after part of stdout was read returns the rest", async () => {
  const p = await exec("sh", "-c", "echo first; echo second; echo third", { stdout: PIPE });
  assert.is(dec.decode(await p.stdout!.readline()), "first\n");
  const [out, err] = await p.communicate();
  assert.is(dec.decode(out!), "second\nthird\n");
  assert.is(err, null);
});

pt("communicate(input) on a child with no stdin pipe ignores the input, as asyncio", async () => {
  const p = await exec("sh", "-c", "echo ok", { stdout: PIPE, stdin: DEVNULL });
  const [out] = await p.communicate(enc.encode("ignored"));
  assert.is(dec.decode(out!), "ok\n");
  assert.is(p.returncode, 0);
});

pt("communicate() with no pipe at all just waits", async () => {
  const p = await exec("sh", "-c", "exit 4", { stdin: DEVNULL, stdout: DEVNULL, stderr: DEVNULL });
  assert.equal(await p.communicate(), [null, null]);
  assert.is(p.returncode, 4);
});

// ---- Reading and writing the streams ----

pt("stdout line by line with `for await`", async () => {
  const p = await exec("python3", "-c", "for i in range(2000): print('line', i)", { stdout: PIPE });
  let i = 0;
  for await (const line of p.stdout!) {
    assert.is(dec.decode(line), `line ${i}\n`);
    i++;
  }
  assert.is(i, 2000);
  assert.ok(p.stdout!.atEof());
  assert.is(await p.wait(), 0);
});

pt("`for await` yields a last line without newline", async () => {
  const p = await exec("printf", "a\\nb\\nc", { stdout: PIPE });
  const lines: string[] = [];
  for await (const line of p.stdout!) lines.push(dec.decode(line));
  assert.equal(lines, ["a\n", "b\n", "c"]);
  assert.is(await p.wait(), 0);
});

pt("stdin: write + drain in chunks, then close; cat's output read concurrently", async () => {
  const data = pattern(2 * MiB, 5);
  const p = await exec("cat", { stdin: PIPE, stdout: PIPE });
  const writer = async () => {
    for (let i = 0; i < data.length; i += 100_000) {
      p.stdin!.write(data.subarray(i, i + 100_000));
      await p.stdin!.drain();
    }
    p.stdin!.close();
    await p.stdin!.waitClosed();
  };
  const [, out] = await gather(writer(), p.stdout!.read());
  assert.is(await sha256(out), await sha256(data));
  assert.is(await p.wait(), 0);
  assert.ok(p.stdin!.isClosing());
});

pt("stdin: writeEof() is a half-close cat sees, then more reads of stdout", async () => {
  const p = await exec("cat", { stdin: PIPE, stdout: PIPE });
  assert.ok(p.stdin!.canWriteEof());
  p.stdin!.write(enc.encode("hello\n"));
  assert.is(dec.decode(await p.stdout!.readline()), "hello\n");
  p.stdin!.writeEof();
  assert.is(dec.decode(await p.stdout!.read()), "");
  assert.is(await p.wait(), 0);
});

pt("reading stdout slowly after the child exited: every byte arrives (flow control)", async () => {
  const code = "import sys\nfor _ in range(64): sys.stdout.write('x' * 4096)\nsys.stdout.flush()\nsys.exit(1)";
  const p = await exec("python3", "-c", code, { stdout: PIPE });
  let n = 0;
  for (;;) {
    const d = await p.stdout!.read(65536);
    if (d.length === 0) break;
    n += d.length;
    await sleep(0.01);
  }
  assert.is(n, 64 * 4096);
  assert.is(await p.wait(), 1);
});

pt("writing to a child that exited without reading: drain() rejects with BrokenPipeError or ConnectionResetError", async (loop) => {
  const seen = captureExceptions(loop);
  // head reads one byte and exits: what is beyond the pipe's buffer can never be written.
  const p = await exec("head", "-c", "1", { stdin: PIPE, stdout: DEVNULL });
  p.stdin!.write(new Uint8Array(4 * MiB).fill(120));
  const e = await rejection(p.stdin!.drain());
  assert.ok(e instanceof BrokenPipeError || e instanceof ConnectionResetError, `got ${e}`);
  assert.is(await p.wait(), 0);
  // Later drains keep failing: the connection is lost.
  p.stdin!.write(enc.encode("more"));
  const e2 = await rejection(p.stdin!.drain());
  assert.ok(e2 instanceof BrokenPipeError || e2 instanceof ConnectionResetError, `got ${e2}`);
  assert.equal(seen, [], "nothing reported to the exception handler");
});

pt("writing once the child is blocked and then exits (CPython's test_stdin_broken_pipe)", async (loop) => {
  const seen = captureExceptions(loop);
  const [rfd, wfd] = pipe();
  try {
    const p = await exec("python3", "-c", `import os; os.read(${rfd}, 1)`, { stdin: PIPE, passFds: [rfd] });
    p.stdin!.write(new Uint8Array(4 * MiB).fill(120));
    // Only now let the child exit, with our write buffer full.
    libc.write(wfd, enc.encode("go"), 2);
    const e = await rejection(p.stdin!.drain());
    assert.ok(e instanceof BrokenPipeError || e instanceof ConnectionResetError, `got ${e}`);
    assert.is(await p.wait(), 0);
  } finally {
    libc.close(rfd);
    libc.close(wfd);
  }
  assert.equal(seen, []);
});

pt("writing after the child exited and its pipes closed: drain() rejects with ConnectionResetError", async (loop) => {
  const seen = captureExceptions(loop);
  const p = await exec("sh", "-c", "exit 0", { stdin: PIPE });
  assert.is(await p.wait(), 0);
  await sleep(0.05);
  assert.ok(p.stdin!.isClosing(), "the transport closed the pipe once the child exited");
  p.stdin!.write(enc.encode("too late"));
  await rejects(p.stdin!.drain(), ConnectionResetError);
  await p.stdin!.waitClosed();
  assert.equal(seen, []);
});

pt("communicate() once stdin was closed by hand", async () => {
  const p = await exec("cat", { stdin: PIPE, stdout: PIPE });
  p.stdin!.write(enc.encode("written before close"));
  p.stdin!.close();
  const [out] = await p.communicate();
  assert.is(dec.decode(out!), "written before close");
  assert.is(p.returncode, 0);
});

pt("communicate() ignores BrokenPipeError/ConnectionResetError on stdin, as asyncio", async (loop) => {
  const seen = captureExceptions(loop);
  const p = await exec("head", "-c", "1", { stdin: PIPE, stdout: PIPE });
  const [out, err] = await p.communicate(new Uint8Array(4 * MiB).fill(97));
  assert.is(dec.decode(out!), "a");
  assert.is(err, null);
  assert.is(p.returncode, 0);
  const q = await exec("python3", "-c", "pass", { stdin: PIPE });
  assert.equal(await q.communicate(new Uint8Array(4 * MiB)), [null, null]);
  assert.is(q.returncode, 0);
  assert.equal(seen, []);
});

pt("stderr: STDOUT merges stderr into stdout", async () => {
  const p = await exec("sh", "-c", "echo out; echo err >&2; echo out2", { stdout: PIPE, stderr: STDOUT });
  assert.is(p.stderr, null);
  const [out, err] = await p.communicate();
  assert.is(dec.decode(out!), "out\nerr\nout2\n");
  assert.is(err, null);
});

pt("DEVNULL: stdin reads EOF at once, output to DEVNULL is dropped", async () => {
  const p = await exec("cat", { stdin: DEVNULL, stdout: PIPE });
  assert.is(p.stdin, null);
  const [out] = await timeout(5, () => p.communicate());
  assert.is(out!.length, 0);
  const q = await exec("sh", "-c", "echo dropped; echo kept >&2", { stdout: DEVNULL, stderr: PIPE });
  assert.is(q.stdout, null);
  const [out2, err2] = await q.communicate();
  assert.is(out2, null);
  assert.is(dec.decode(err2!), "kept\n");
});

pt("defaults: stdin, stdout and stderr are inherited (null streams; the child has our descriptors)", async () => {
  const p = await exec("sh", "-c", "exit 0");
  assert.is(p.stdin, null);
  assert.is(p.stdout, null);
  assert.is(p.stderr, null);
  assert.is(await p.wait(), 0);
  // The child's stdin and stderr are the very files ours are ($PPID is this process).
  const q = await exec("sh", "-c", "readlink /proc/self/fd/0 /proc/$PPID/fd/0 /proc/self/fd/2 /proc/$PPID/fd/2", { stdout: PIPE });
  const [out] = await q.communicate();
  const [in0, our0, err2, our2] = dec.decode(out!).trim().split("\n");
  assert.ok(in0 && our0 && err2 && our2, dec.decode(out!));
  assert.is(in0, our0, "stdin inherited");
  assert.is(err2, our2, "stderr inherited");
  assert.is(q.returncode, 0);
});

pt("stdout/stdin may be a descriptor of ours", async () => {
  const [r, w] = pipe();
  try {
    const p = await exec("sh", "-c", "echo via-fd", { stdout: w });
    assert.is(p.stdout, null);
    assert.is(await p.wait(), 0);
    const buf = new Uint8Array(64);
    const n = libc.read(r, buf, 64);
    assert.is(dec.decode(buf.subarray(0, n)), "via-fd\n");
  } finally {
    libc.close(r);
    libc.close(w);
  }
});

pt("passFds may be a one-shot iterable (the options are checked at the call and used by the task)", async () => {
  const [r, w] = pipe();
  try {
    const fds = (function* () {
      yield w;
    })();
    const p = await exec("python3", "-c", `import os; os.write(${w}, b"passed\\n")`, { passFds: fds });
    assert.is(await p.wait(), 0);
    const buf = new Uint8Array(64);
    const n = libc.read(r, buf, 64);
    assert.is(dec.decode(buf.subarray(0, Math.max(n, 0))), "passed\n");
  } finally {
    libc.close(r);
    libc.close(w);
  }
});

// ---- Exit codes and signals ----

pt("wait() resolves with the exit code; many concurrent waits agree", async () => {
  const p = await exec("sh", "-c", "exit 7");
  const codes = await gather(...Array.from({ length: 10 }, () => p.wait()));
  assert.equal(codes, Array(10).fill(7));
  assert.is(p.returncode, 7);
  for (const code of [0, 1, 255]) {
    const q = await exec("sh", "-c", `exit ${code}`);
    assert.is(await q.wait(), code);
    assert.is(q.returncode, code);
  }
});

pt("kill(), terminate(), sendSignal(\"SIGUSR1\"): returncode -9, -15, -10", async () => {
  const cases: [(p: Process) => void, number][] = [
    [(p) => p.kill(), -9],
    [(p) => p.terminate(), -15],
    [(p) => p.sendSignal("SIGUSR1"), -10],
    [(p) => p.sendSignal(C.signals.SIGHUP), -1],
  ];
  for (const [stop, rc] of cases) {
    const p = await exec("sleep", "10");
    assert.is(p.returncode, null);
    assert.ok(childPids().includes(p.pid), "the child is listed as ours");
    p.sendSignal(0); // kill(2)'s existence check: the child goes on
    assert.is(p.returncode, null);
    stop(p);
    assert.is(await timeout(5, () => p.wait()), rc);
    assert.is(p.returncode, rc);
  }
});

pt("a signal after a readline handshake (CPython's test_send_signal)", async () => {
  const p = await exec("python3", "-c", "import time; print('sleeping', flush=True); time.sleep(3600)", { stdout: PIPE });
  assert.is(dec.decode(await p.stdout!.readline()), "sleeping\n");
  p.sendSignal("SIGHUP");
  assert.is(await p.wait(), -1);
  assert.is(dec.decode(await p.stdout!.read()), "");
});

pt("signals once the child is gone: a no-op while reaped, ProcessLookupError once finished; bad names fail", async () => {
  const p = await exec("sh", "-c", "exit 0", { stdout: PIPE });
  assert.throws(() => p.sendSignal("SIGNOPE"), (e: Error) => e instanceof ValueError);
  await p.communicate();
  await sleep(0.05);
  assert.throws(() => p.kill(), (e: Error) => e instanceof ProcessLookupError);
  assert.throws(() => p.terminate(), (e: Error) => e instanceof ProcessLookupError);
  assert.is(p.returncode, 0);
});

pt("a killed shell (its own child still running) reports -9 (CPython's issue 43884)", async () => {
  const p = await shell("sleep 5; sleep 5", { stdout: DEVNULL });
  await sleep(0.1);
  p.kill();
  assert.is(await p.wait(), -9);
});

pt("cancelling wait() leaves the process alone; kill and wait again", async (loop) => {
  const p = await exec("sleep", "10");
  const w = loop.createTask(async () => await p.wait());
  loop.callSoon(() => w.cancel());
  await rejects(w, CancelledError);
  assert.is(p.returncode, null);
  p.kill();
  assert.is(await p.wait(), -9);
});

// ---- await using ----

pt("`await using` kills a running child and waits for it", async () => {
  let proc: Process;
  {
    await using p = await exec("sleep", "10");
    proc = p;
    assert.is(p.returncode, null);
  }
  assert.is(proc.returncode, -9);
});

pt("`await using` on a child that already exited just waits (no signal)", async () => {
  let proc: Process;
  {
    await using p = await exec("sh", "-c", "exit 3", { stdout: PIPE });
    proc = p;
    const [out] = await p.communicate();
    assert.is(out!.length, 0);
    await sleep(0.05);
  }
  assert.is(proc.returncode, 3);
  // Exited but not reaped yet (the loop does not run while we spin): kill() hits a zombie, the code stays 5.
  const p = await exec("sh", "-c", "exit 5");
  const deadline = performance.now() + 5000;
  while (procState(p.pid) !== "Z" && procState(p.pid) !== null && performance.now() < deadline) { /* spin */ }
  // A host may reap from a thread of its own (seen on Deno) before we see the zombie: then only the end is checked.
  if (procState(p.pid) === "Z") assert.is(p.returncode, null);
  else assert.is(procState(p.pid), null, "the child is a zombie or already reaped");
  await p[Symbol.asyncDispose]();
  assert.is(p.returncode, 5);
  await p[Symbol.asyncDispose]();
  assert.is(p.returncode, 5, "a second dispose is harmless");
});

pt("`await using` a child whose output was never read releases its pipes", async () => {
  {
    await using p = await exec("yes", "unread", { stdin: PIPE, stdout: PIPE, stderr: PIPE });
    // Let the child fill the pipe and the reader's buffer (the reader pauses).
    await sleep(0.1);
    assert.ok(p.stdout!._buffer.length > 0);
  }
});

pt("the body's error still kills the child", async () => {
  let proc: Process | null = null;
  const e = await rejection((async () => {
    await using p = await exec("sleep", "10", { stdout: PIPE });
    proc = p;
    throw new Error("boom");
  })());
  assert.is((e as Error).message, "boom");
  assert.is(proc!.returncode, -9);
});

// ---- createSubprocessShell, cwd, env, limit ----

pt("createSubprocessShell with a pipeline", async () => {
  const p = await shell("printf 'pear\\napple\\nfig\\n' | sort | head -n 2", { stdout: PIPE });
  const [out] = await p.communicate();
  assert.is(dec.decode(out!), "apple\nfig\n");
  const q = await shell("sort -r | tr a-z A-Z; echo done >&2; exit 3", { stdin: PIPE, stdout: PIPE, stderr: PIPE });
  const [out2, err2] = await q.communicate(enc.encode("a\nc\nb\n"));
  assert.is(dec.decode(out2!), "C\nB\nA\n");
  assert.is(dec.decode(err2!), "done\n");
  assert.is(q.returncode, 3);
});

pt("cwd: the child starts there; a bad cwd fails", async () => {
  const p = await exec("pwd", { stdout: PIPE, cwd: "/tmp" });
  assert.is(dec.decode((await p.communicate())[0]!), "/tmp\n");
  const q = await shell("pwd", { stdout: PIPE, cwd: "/" });
  assert.is(dec.decode((await q.communicate())[0]!), "/\n");
  await fails(() => createSubprocessExec("pwd", { cwd: "/nonexistent-tsyncio-dir" }), FileNotFoundError);
  await fails(() => createSubprocessExec("pwd", { cwd: "/etc/passwd" }), NotADirectoryError);
});

pt("env: the child's whole environment", async () => {
  const p = await exec("/bin/sh", "-c", "echo \"$FOO:${HOME-unset}\"", { stdout: PIPE, env: { FOO: "bar baz" } });
  assert.is(dec.decode((await p.communicate())[0]!), "bar baz:unset\n");
  const q = await shell("echo \"$A$B\"", { stdout: PIPE, env: { A: "1", B: "2" } });
  assert.is(dec.decode((await q.communicate())[0]!), "12\n");
});

pt("limit: a line longer than the limit is a ValueError from readline; reading goes on after it", async () => {
  const p = await exec("sh", "-c", "printf '%0200d\\nshort\\n' 0", { stdout: PIPE, limit: 100 });
  await rejects(p.stdout!.readline(), ValueError);
  assert.is(dec.decode(await p.stdout!.readline()), "short\n");
  assert.is(dec.decode(await p.stdout!.readline()), "");
  assert.is(await p.wait(), 0);
  // Within the limit, all is well.
  const q = await exec("sh", "-c", "printf '%050d\\n' 0", { stdout: PIPE, limit: 100 });
  assert.is((await q.stdout!.readline()).length, 51);
  assert.is(await q.wait(), 0);
});

// ---- Bad input ----

pt("bad input: non-string program, string input, unknown option, bad limit, text mode", async () => {
  await fails(() => createSubprocessExec(42 as unknown as string), TypeError);
  await fails(() => createSubprocessExec("echo", 1 as unknown as string, { stdout: PIPE }), TypeError);
  await fails(() => createSubprocessExec("echo", { stdoutt: PIPE } as CreateSubprocessOptions), TypeError, /stdoutt/);
  await fails(() => createSubprocessShell("echo", { shell: true } as CreateSubprocessOptions), TypeError, /shell/);
  await fails(() => createSubprocessExec("echo", { limit: 0 }), ValueError);
  await fails(() => createSubprocessExec("echo", { limit: -1 }), ValueError);
  await fails(() => createSubprocessExec("echo", { text: true }), ValueError);
  await fails(() => createSubprocessExec("echo", { universalNewlines: true }), ValueError);
  await fails(() => createSubprocessExec("echo", { bufsize: 4096 }), ValueError);
  await fails(() => createSubprocessShell(42 as unknown as string), ValueError);
  await fails(() => createSubprocessShell("true", 3 as unknown as CreateSubprocessOptions), TypeError);
  const p = await exec("cat", { stdin: PIPE, stdout: PIPE });
  await fails(() => p.communicate("text" as unknown as Uint8Array), TypeError);
  await fails(() => p.communicate(42 as unknown as Uint8Array), TypeError);
  // The failed calls left the child alone.
  assert.is(p.returncode, null);
  const [out] = await p.communicate(enc.encode("still fine"));
  assert.is(dec.decode(out!), "still fine");
});

pt("a nonexistent program is FileNotFoundError, a non-executable one PermissionError", async () => {
  const e = await fails(() => createSubprocessExec("/nonexistent/tsyncio-program", { stdin: PIPE, stdout: PIPE, stderr: PIPE }), FileNotFoundError);
  assert.match(e.message, /tsyncio-program|No such file/);
  await fails(() => createSubprocessExec("tsyncio-no-such-program-on-path"), FileNotFoundError);
  await fails(() => createSubprocessExec("/etc/passwd", { stdout: PIPE }), PermissionError);
  const shellOk = await shell("exit 127");
  assert.is(await shellOk.wait(), 127);
});

test("createSubprocessExec outside a running loop: RuntimeError, nothing spawned", () => {
  assert.throws(() => createSubprocessExec("true"), (e: Error) => e instanceof RuntimeError);
  assert.throws(() => createSubprocessShell("true"), (e: Error) => e instanceof RuntimeError);
});

// ---- Cancellation ----

pt("communicate() inside timeout(0.1) of a sleeping child: TimeoutError; the child can then be killed and waited", async () => {
  const p = await exec("sleep", "10", { stdin: PIPE, stdout: PIPE, stderr: PIPE });
  const t0 = performance.now();
  await rejects(timeout(0.1, () => p.communicate()), TimeoutError);
  assert.ok(performance.now() - t0 < 3000, "the timeout interrupted communicate()");
  assert.is(p.returncode, null);
  p.kill();
  assert.is(await p.wait(), -9);
  // The pipes see EOF and the transport closes (checked by the descriptor count).
  assert.is(dec.decode(await p.stdout!.read()), "");
});

pt("a cancelled communicate() with input; a second communicate() after kill finishes", async () => {
  const p = await exec("sleep", "10", { stdin: PIPE, stdout: PIPE });
  const c = p.communicate(enc.encode("x"));
  await sleep(0.05);
  c.cancel();
  await rejects(c, CancelledError);
  p.kill();
  const [out] = await p.communicate();
  assert.is(out!.length, 0);
  assert.is(p.returncode, -9);
});

pt("cancelling createSubprocessExec at every step: no child or pipe left behind", async (loop) => {
  // Cancelled before its task ran, while spawning, while connecting the pipes, just after it was started
  // (before the task resumed), or too late to matter: each case must leave nothing behind.
  let created = 0, cancelled = 0;
  for (let k = 0; k < 12; k++) {
    const t = createSubprocessExec("sleep", "10", { stdin: PIPE, stdout: PIPE, stderr: PIPE });
    const hop = (n: number): void => {
      if (n === 0) t.cancel();
      else loop.callSoon(() => hop(n - 1));
    };
    hop(k);
    try {
      const p = await t;
      created++;
      children.push(p.pid);
      p.kill();
      await p.communicate();
      assert.is(p.returncode, -9);
    } catch (e) {
      assert.instance(e, CancelledError);
      cancelled++;
    }
  }
  assert.ok(cancelled > 0, "some were cancelled");
  assert.ok(created > 0, "some were started");
  // A task cancelled before it ran spawned nothing; the others were killed and reaped (checked after the test).
});

// ---- Many at once ----

pt("50 concurrent children with gather", async () => {
  const one = async (i: number) => {
    const p = await exec("sh", "-c", "read x; echo \"$x-$0\"; echo e$0 >&2; exit $(($0 % 4))", String(i), { stdin: PIPE, stdout: PIPE, stderr: PIPE });
    const [out, err] = await p.communicate(enc.encode(`in${i}\n`));
    return [dec.decode(out!), dec.decode(err!), p.returncode];
  };
  const results = await gather(...Array.from({ length: 50 }, (_, i) => one(i)));
  results.forEach((r, i) => assert.equal(r, [`in${i}-${i}\n`, `e${i}\n`, i % 4]));
  assert.is(new Set(children).size, 50);
}, 60);

pt("the protocol behind a Process is a SubprocessStreamProtocol", async () => {
  const p = await exec("true", { stdout: PIPE });
  assert.instance(p._protocol, SubprocessStreamProtocol);
  assert.is(p._protocol.stdout, p.stdout);
  assert.is(p.stdout!._limit, 64 * 1024, "the default limit");
  await p.communicate();
  assert.is(p.returncode, 0);
});

async function rejection(f: PromiseLike<unknown> | Future<unknown>): Promise<unknown> {
  try {
    await f;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

test.run();
