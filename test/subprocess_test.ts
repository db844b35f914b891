/** subprocessExec / subprocessShell with real child processes. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  BrokenPipeError, DEVNULL, type OSError, type EventLoop, FileNotFoundError, type Future, newEventLoop, NotADirectoryError, PermissionError,
  PIPE, ProcessLookupError, setLogger, STDOUT, type SubprocessInfo, SubprocessProtocol, type SubprocessTransport,
  type UnixSubprocessTransport, ValueError, type WritePipeTransport,
} from "../mod.ts";
import { captureExceptions, isA, SELECTORS, settledFds } from "./_helpers.ts";
import { concat, dec, enc, pattern, runUntil, sha256 } from "./_net.ts";
import { C, libc, native } from "../src/native.ts";

/** A subprocess protocol that records every callback, with when it came. */
class ProcRecorder extends SubprocessProtocol {
  events: string[] = [];
  times: Record<string, number> = {};
  data: Record<number, Uint8Array[]> = { 1: [], 2: [] };
  pipeLost: Record<number, Error | null> = {};
  lost: Error | null | undefined = undefined;
  transport: SubprocessTransport | null = null;
  done: Future<void>;
  onData: ((fd: number, d: Uint8Array) => void) | null = null;
  constructor(readonly loop: EventLoop) {
    super();
    this.done = loop.createFuture<void>();
  }
  #note(e: string): void {
    this.events.push(e);
    this.times[e] ??= this.loop.time();
  }
  override connectionMade(t: SubprocessTransport): void {
    this.transport = t;
    this.#note("made");
  }
  override pipeDataReceived(fd: number, d: Uint8Array): void {
    if (this.events[this.events.length - 1] !== `data${fd}`) this.#note(`data${fd}`);
    this.data[fd].push(d);
    this.onData?.(fd, d);
  }
  override pipeConnectionLost(fd: number, exc: Error | null): void {
    this.pipeLost[fd] = exc;
    this.#note(`pipe${fd}`);
  }
  override processExited(): void {
    this.#note("exited");
  }
  override connectionLost(exc: Error | null): void {
    this.lost = exc;
    this.#note("lost");
    this.done.setResult(undefined);
  }
  text(fd: number): string {
    return dec.decode(concat(this.data[fd]));
  }
}

type Started = { tr: UnixSubprocessTransport; p: ProcRecorder };

async function start(loop: EventLoop, argv: string[], options = {}): Promise<Started> {
  const [tr, p] = await loop.runUntilComplete(loop.subprocessExec(() => new ProcRecorder(loop), argv, options));
  return { tr, p: p as ProcRecorder };
}

/** Run to completion: the recorder once connectionLost came. */
async function runToEnd(loop: EventLoop, argv: string[], options = {}): Promise<Started> {
  const s = await start(loop, argv, options);
  await loop.runUntilComplete(s.p.done);
  return s;
}

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

function pipe(): [number, number] {
  const fds = new Int32Array(new ArrayBuffer(8));
  if (libc.pipe2!(new Uint8Array(fds.buffer), C.O_CLOEXEC) !== 0) throw new Error("pipe2 failed");
  return [fds[0], fds[1]];
}

/** Set a variable in the host's own environment (what the host's setenv changes). */
function setHostEnv(name: string, value: string): void {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Deno) g.Deno.env.set(name, value);
  else g.process.env[name] = value;
}

async function rejection(loop: EventLoop, fut: Future<unknown>): Promise<Error> {
  try {
    await loop.runUntilComplete(fut);
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

for (const selector of SELECTORS) {
  const t = (name: string, fn: (loop: EventLoop) => Promise<void>) =>
    test(`[${selector}] ${name}`, async () => {
      const before = await settledFds();
      const loop = newEventLoop({ selector });
      try {
        await fn(loop);
      } finally {
        loop.close();
      }
      assert.equal(await settledFds(before), before, "no descriptor leaked");
    });

  t("1 MiB through cat: same hash back, callbacks in asyncio's order", async (loop) => {
    const { tr, p } = await start(loop, ["cat"]);
    assert.equal(p.events, ["made"]);
    const data = pattern(1 << 20, 3);
    const stdin = tr.getPipeTransport(0) as WritePipeTransport;
    stdin.write(data);
    stdin.close();
    await loop.runUntilComplete(p.done);
    assert.is(await sha256(concat(p.data[1])), await sha256(data));
    assert.is(p.text(2), "");
    assert.is(p.events[0], "made");
    assert.is(p.events[p.events.length - 1], "lost");
    for (const e of ["pipe0", "pipe1", "pipe2", "exited"]) assert.ok(p.events.includes(e), e);
    assert.ok(p.events.indexOf("pipe0") < p.events.indexOf("exited"), "stdin closed before cat could exit");
    assert.equal(p.pipeLost, { 0: null, 1: null, 2: null });
    assert.is(p.lost, null);
    assert.is(tr.getReturncode(), 0);
    const info = tr.getExtraInfo("subprocess") as SubprocessInfo;
    assert.is(info.pid, tr.getPid());
    assert.is(info.returncode, 0);
    assert.equal(info.args, ["cat"]);
    tr.close();
  });

  t("stderr apart, and merged into stdout with STDOUT", async (loop) => {
    const sep = await runToEnd(loop, ["sh", "-c", "echo out; echo err >&2"]);
    assert.is(sep.p.text(1), "out\n");
    assert.is(sep.p.text(2), "err\n");
    sep.tr.close();
    const merged = await runToEnd(loop, ["sh", "-c", "echo out; echo err >&2"], { stderr: STDOUT });
    assert.is(merged.p.text(1), "out\nerr\n");
    assert.is(merged.tr.getPipeTransport(2), null);
    assert.not.ok(merged.p.events.includes("pipe2"));
    merged.tr.close();
  });

  t("exit codes, and deaths by signal as negative return codes", async (loop) => {
    for (const [cmd, rc] of [["exit 0", 0], ["exit 7", 7], ["exit 255", 255], ["kill -9 $$", -9], ["kill -TERM $$", -15]] as const) {
      const { tr } = await runToEnd(loop, ["sh", "-c", cmd], { stdin: DEVNULL });
      assert.is(tr.getReturncode(), rc, cmd);
      tr.close();
    }
    const shell = await loop.runUntilComplete(loop.subprocessShell(() => new ProcRecorder(loop), "echo $((6 * 7)); exit 3"));
    const sp = shell[1] as ProcRecorder;
    await loop.runUntilComplete(sp.done);
    assert.is(sp.text(1), "42\n");
    assert.is(shell[0].getReturncode(), 3);
    shell[0].close();
  });

  t("terminate, kill and sendSignal while output flows", async (loop) => {
    const cases: [(tr: UnixSubprocessTransport) => void, number][] = [
      [(tr) => tr.terminate(), -15],
      [(tr) => tr.kill(), -9],
      [(tr) => tr.sendSignal("SIGINT"), -2],
      [(tr) => tr.sendSignal(C.signals.SIGUSR1), -C.signals.SIGUSR1],
    ];
    for (const [stop, rc] of cases) {
      const { tr, p } = await start(loop, ["yes", "flowing"], { stdin: DEVNULL });
      let n = 0;
      p.onData = (_fd, d) => {
        n += d.length;
        if (n >= 256 * 1024 && n - d.length < 256 * 1024) stop(tr);
      };
      await loop.runUntilComplete(p.done);
      assert.ok(n >= 256 * 1024, "output was flowing");
      assert.is(tr.getReturncode(), rc);
      assert.ok(p.events.indexOf("exited") < p.events.indexOf("lost"));
      assert.not.ok(procState(tr.getPid()), "reaped");
      tr.close();
    }
    const { tr } = await start(loop, ["sleep", "10"], { stdin: DEVNULL, stdout: DEVNULL, stderr: DEVNULL });
    assert.throws(() => tr.sendSignal("SIGNOPE"), isA(ValueError));
    assert.throws(() => tr.sendSignal({} as unknown as number), isA(TypeError));
    tr.kill();
    tr.close();
  });

  t("200 short-lived children at once: all reaped (no zombie), no descriptor leaked", async (loop) => {
    const seen = captureExceptions(loop);
    const started = await loop.runUntilComplete(loop.createTask((function* () {
      const futs = [];
      for (let i = 0; i < 200; i++) {
        const opts = i % 2 ? { stdin: DEVNULL, stderr: DEVNULL } : { stdin: DEVNULL, stdout: DEVNULL, stderr: DEVNULL };
        futs.push(loop.subprocessExec(() => new ProcRecorder(loop), i % 3 ? ["true"] : ["/bin/sh", "-c", "exit 1"], opts));
      }
      const out: Started[] = [];
      for (const f of futs) {
        const [tr, p] = yield* f;
        out.push({ tr, p: p as ProcRecorder });
      }
      for (const s of out) yield* s.p.done;
      return out;
    })()));
    assert.is(started.length, 200);
    const pids = new Set(started.map((s) => s.tr.getPid()));
    assert.is(pids.size, 200);
    started.forEach((s, i) => assert.is(s.tr.getReturncode(), i % 3 ? 0 : 1));
    for (const pid of pids) {
      const state = procState(pid);
      assert.ok(state === null || state !== "Z", `pid ${pid} is not a zombie (${state})`);
    }
    for (const s of started) s.tr.close();
    assert.equal(seen, []);
  });

  t("a child that closes stdout long before it exits: pipeConnectionLost(1) first, processExited later", async (loop) => {
    const { tr, p } = await runToEnd(loop, ["sh", "-c", "echo early; exec 1>&-; sleep 0.3"], { stdin: DEVNULL });
    assert.is(p.text(1), "early\n");
    assert.ok(p.events.indexOf("pipe1") < p.events.indexOf("exited"));
    assert.ok(p.times.exited - p.times.pipe1 > 0.2, "stdout closed well before the exit");
    assert.is(p.events[p.events.length - 1], "lost");
    assert.is(tr.getReturncode(), 0);
    tr.close();
  });

  t("writing to a child that has exited: no crash, stdin ends with null or BrokenPipeError", async (loop) => {
    const seen = captureExceptions(loop);
    const { tr, p } = await start(loop, ["true"]);
    await loop.runUntilComplete(p.done);
    const stdin = tr.getPipeTransport(0) as WritePipeTransport;
    stdin.write(enc.encode("too late")); // dropped: the pipe is already closed
    tr.close();
    // A child that exits while we are still writing to it.
    const b = await start(loop, ["sh", "-c", "exit 0"]);
    (b.tr.getPipeTransport(0) as WritePipeTransport).write(pattern(4 << 20));
    await loop.runUntilComplete(b.p.done);
    const exc = b.p.pipeLost[0];
    assert.ok(exc === null || exc instanceof BrokenPipeError, `stdin lost with ${exc}`);
    assert.is(b.tr.getReturncode(), 0);
    b.tr.close();
    assert.equal(seen, []);
  });

  t("close() kills a running child and reaps it; later signals are refused or ignored as asyncio", async (loop) => {
    const { tr, p } = await start(loop, ["sleep", "30"]);
    const pid = tr.getPid();
    assert.is(tr.getReturncode(), null);
    tr.close();
    assert.ok(tr.isClosing());
    await loop.runUntilComplete(p.done);
    assert.is(tr.getReturncode(), -9);
    assert.ok(p.events.includes("exited"));
    assert.is(procState(pid), null, "reaped");
    assert.throws(() => tr.sendSignal("SIGTERM"), isA(ProcessLookupError));
    tr.close();
    // Exited, but a grandchild holds stdout open so connectionLost waits: signals are a
    // no-op now (the pid is no longer ours to signal).
    const b = await start(loop, ["sh", "-c", "(sleep 0.3) & exit 4"], { stdin: DEVNULL, stderr: DEVNULL });
    await runUntil(loop, () => b.tr.getReturncode() !== null);
    assert.not.ok(b.p.events.includes("pipe1"), "stdout still open");
    b.tr.terminate();
    await loop.runUntilComplete(b.p.done);
    assert.is(b.tr.getReturncode(), 4);
    assert.ok(b.p.events.indexOf("exited") < b.p.events.indexOf("pipe1"));
    b.tr.close();
  });

  t("cwd, env (the whole environment) and the inherited, live environment", async (loop) => {
    const a = await runToEnd(loop, ["pwd"], { cwd: "/tmp" });
    assert.is(a.p.text(1), "/tmp\n");
    a.tr.close();
    const b = await runToEnd(loop, ["/usr/bin/env"], { env: { ONLY: "this", EMPTY: "" } });
    assert.equal(b.p.text(1).split("\n").filter(Boolean).sort(), ["EMPTY=", "ONLY=this"]);
    b.tr.close();
    const c = await runToEnd(loop, ["env"], { env: { PATH: "/usr/bin:/bin", X: "1" } });
    assert.equal(c.p.text(1).split("\n").filter(Boolean).sort(), ["PATH=/usr/bin:/bin", "X=1"], "PATH searched in the given env");
    c.tr.close();
    // Node's process.env and Deno.env.set call setenv(3): children see the change. Bun keeps
    // process.env in a map of its own (its own Bun.spawn does not pass such changes on either).
    setHostEnv("TSYNCIO_SUBPROCESS_TEST", "live value");
    const d = await runToEnd(loop, ["sh", "-c", 'printf %s "$TSYNCIO_SUBPROCESS_TEST"']);
    assert.is(d.p.text(1), native.runtime === "bun" ? "" : "live value", "the environment as it is at spawn time");
    d.tr.close();
    const e = await runToEnd(loop, ["sh", "-c", 'printf %s "$HOME"']);
    assert.ok(e.p.text(1).length > 0, "HOME inherited");
    e.tr.close();
  });

  t("startNewSession and processGroup", async (loop) => {
    const fields = (s: string) => s.slice(s.lastIndexOf(")") + 2).split(" "); // [state, ppid, pgrp, session, ...]
    const mine = fields(readText("/proc/self/stat")!);
    const a = await runToEnd(loop, ["cat", "/proc/self/stat"], { startNewSession: true });
    const fa = fields(a.p.text(1));
    assert.is(Number(fa[3]), a.tr.getPid(), "session leader");
    assert.is(Number(fa[2]), a.tr.getPid(), "and group leader");
    a.tr.close();
    const b = await runToEnd(loop, ["cat", "/proc/self/stat"], { processGroup: 0 });
    const fb = fields(b.p.text(1));
    assert.is(Number(fb[2]), b.tr.getPid(), "a new group");
    assert.is(fb[3], mine[3], "in our session");
    b.tr.close();
    const c = await runToEnd(loop, ["cat", "/proc/self/stat"]);
    const fc = fields(c.p.text(1));
    assert.is(fc[2], mine[2], "our group by default");
    assert.is(fc[3], mine[3]);
    c.tr.close();
  });

  t("only 0, 1, 2 and passFds reach the child; the signal mask and SIGPIPE/SIGXFSZ are reset", async (loop) => {
    // Even descriptors this process inherited without close-on-exec (test harnesses leave some) are closed.
    const a = await runToEnd(loop, ["ls", "-1", "/proc/self/fd"]);
    assert.equal(a.p.text(1).trim().split("\n"), ["0", "1", "2", "3"], "fd 3 is ls's own directory");
    a.tr.close();
    // (dash's `>&N` takes one digit only: open the descriptor through /proc instead.)
    const [r, w] = pipe();
    const b = await runToEnd(loop, ["sh", "-c", `echo passed > /proc/self/fd/${w}; ls -1 /proc/self/fd`], { passFds: [w] });
    assert.ok(b.p.text(1).trim().split("\n").includes(String(w)));
    b.tr.close();
    libc.close(w);
    const buf = new Uint8Array(new ArrayBuffer(64));
    const n = libc.read(r, buf, 64);
    assert.is(dec.decode(buf.subarray(0, n)), "passed\n");
    assert.is(libc.read(r, buf, 64), 0, "no child kept a copy of the write end");
    libc.close(r);
    // closeFds: false leaves what we inherited without close-on-exec to the child; ours stay closed.
    const [r2, w2] = pipe();
    const c = await runToEnd(loop, ["ls", "-1", "/proc/self/fd"], { closeFds: false });
    assert.not.ok(c.p.text(1).trim().split("\n").includes(String(w2)), "close-on-exec still applies");
    c.tr.close();
    libc.close(r2);
    libc.close(w2);
    const d = await runToEnd(loop, ["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"]);
    const sig = Object.fromEntries(d.p.text(1).trim().split("\n").map((l) => l.split(/:\s+/)));
    assert.is(BigInt("0x" + sig.SigBlk), 0n, "empty signal mask");
    const ign = BigInt("0x" + sig.SigIgn);
    for (const s of ["SIGPIPE", "SIGXFSZ"]) assert.is(ign & (1n << BigInt(C.signals[s] - 1)), 0n, `${s} not ignored`);
    d.tr.close();
  });

  t("stdio choices: DEVNULL, a descriptor, inherit (null); a stdin pipe closed early", async (loop) => {
    const a = await runToEnd(loop, ["cat"], { stdin: DEVNULL });
    assert.is(a.p.text(1), "");
    assert.is(a.tr.getPipeTransport(0), null);
    assert.is(a.tr.getReturncode(), 0);
    a.tr.close();
    // (dash's `>&N` takes one digit only: open the descriptor through /proc instead.)
    const [r, w] = pipe();
    const b = await runToEnd(loop, ["sh", "-c", "echo to-fd; echo err-to-fd >&2"], { stdout: w, stderr: STDOUT, stdin: null });
    assert.is(b.tr.getPipeTransport(1), null);
    libc.close(w);
    const buf = new Uint8Array(new ArrayBuffer(64));
    const n = libc.read(r, buf, 64);
    assert.is(dec.decode(buf.subarray(0, n)), "to-fd\nerr-to-fd\n");
    b.tr.close();
    libc.close(r);
    // A descriptor below 3 given for another stream is our descriptor, even when the
    // child's own descriptor of that number was rewired first (stdin here).
    const ours = await runToEnd(loop, ["readlink", "/proc/self/fd/0"], { stdin: null });
    const c = await runToEnd(loop, ["sh", "-c", 'echo "$(readlink /proc/$$/fd/1) $(readlink /proc/$$/fd/0)" >&2'], { stdin: PIPE, stdout: 0 });
    const [out, inp] = c.p.text(2).trim().split(" ");
    assert.is(out, ours.p.text(1).trim(), "the child's stdout is a copy of our stdin");
    assert.is.not(out, inp, "not the stdin pipe made for the child");
    ours.tr.close();
    c.tr.close();
  });

  t("a missing program or cwd → FileNotFoundError; not executable → PermissionError", async (loop) => {
    const factory = () => new ProcRecorder(loop);
    let e = await rejection(loop, loop.subprocessExec(factory, ["tsyncio-no-such-program"]));
    assert.instance(e, FileNotFoundError);
    assert.match(e.message, "tsyncio-no-such-program");
    e = await rejection(loop, loop.subprocessExec(factory, ["/nonexistent/prog"]));
    assert.instance(e, FileNotFoundError);
    e = await rejection(loop, loop.subprocessExec(factory, ["true"], { cwd: "/nonexistent-dir" }));
    assert.instance(e, FileNotFoundError);
    assert.match(e.message, "/nonexistent-dir");
    e = await rejection(loop, loop.subprocessExec(factory, ["true"], { cwd: "/etc/passwd" }));
    assert.instance(e, NotADirectoryError);
    e = await rejection(loop, loop.subprocessExec(factory, ["/etc/passwd"]));
    assert.instance(e, PermissionError);
    e = await rejection(loop, loop.subprocessExec(factory, ["tsyncio-no-such-program"], { env: { PATH: "/bin" } }));
    assert.instance(e, FileNotFoundError);
    e = await rejection(loop, loop.subprocessShell(factory, "exit 0", { executable: "/no/such/shell" }));
    assert.instance(e, FileNotFoundError);
    e = await rejection(loop, loop.subprocessExec(factory, ["true"], { stdout: 987 }));
    assert.is((e as OSError).code, "EBADF");
    assert.match(e.message, "stdout=987");
  });

  t("bad input: TypeError / ValueError at once", async (loop) => {
    const f = () => new ProcRecorder(loop);
    assert.throws(() => loop.subprocessExec(f, []), isA(ValueError, "empty"));
    assert.throws(() => loop.subprocessExec(f, "ls" as unknown as string[]), isA(TypeError));
    assert.throws(() => loop.subprocessExec(f, ["echo", 1 as unknown as string]), isA(TypeError, "argv\\[1\\]"));
    assert.throws(() => loop.subprocessExec(f, ["echo", "a\0b"]), isA(ValueError, "null byte"));
    assert.throws(() => loop.subprocessExec(f, ["cat"], { stdin: STDOUT }), isA(ValueError, "stdin"));
    assert.throws(() => loop.subprocessExec(f, ["cat"], { stdin: -7 }), isA(ValueError, "stdin"));
    assert.throws(() => loop.subprocessExec(f, ["cat"], { stdout: "pipe" as unknown as number }), isA(ValueError, "stdout"));
    assert.throws(() => loop.subprocessExec(f, ["cat"], { env: { A: 1 as unknown as string } }), isA(TypeError));
    assert.throws(() => loop.subprocessExec(f, ["cat"], { env: { "A=B": "x" } }), isA(ValueError));
    assert.throws(() => loop.subprocessExec(f, ["cat"], { passFds: [-1] }), isA(ValueError));
    assert.throws(() => loop.subprocessExec(f, ["cat"], { text: true }), isA(ValueError));
    assert.throws(() => loop.subprocessExec(f, ["cat"], { bufsize: 4096 }), isA(ValueError));
    assert.throws(() => loop.subprocessExec(f, ["cat"], { start_new_session: true } as unknown as object), isA(TypeError, "start_new_session"));
    assert.throws(() => loop.subprocessShell(f, ["ls"] as unknown as string), isA(ValueError, "cmd must be a string"));
    assert.throws(() => loop.subprocessExec(null as unknown as () => ProcRecorder, ["true"]), isA(TypeError));
    assert.is(PIPE, -1);
    assert.is(STDOUT, -2);
    assert.is(DEVNULL, -3);
  });

  t("cancelling subprocessExec while the pipes connect kills and reaps the child", async (loop) => {
    let made: ProcRecorder | null = null;
    const fut = loop.subprocessExec(() => (made = new ProcRecorder(loop)), ["sleep", "30"]);
    // The task spawns in its first step; this runs right after it, before the pipes are connected.
    loop.callSoon(() => fut.cancel());
    const e = await rejection(loop, fut);
    assert.is(e.name, "CancelledError");
    assert.ok(made !== null, "the child was spawned");
    assert.not.ok((made as ProcRecorder | null)!.events.includes("made"), "no connectionMade for a cancelled start");
  });

  t("a child someone else reaped reports returncode 255 with a warning, as CPython", async (loop) => {
    const warnings: string[] = [];
    setLogger({ debug() {}, info() {}, error() {}, warning: (m) => void warnings.push(m) });
    try {
      const { tr, p } = await start(loop, ["sh", "-c", "sleep 0.1; exit 5"], { stdin: DEVNULL, stdout: DEVNULL, stderr: DEVNULL });
      const status = new Uint8Array(new ArrayBuffer(4));
      assert.is(libc.waitpid(tr.getPid(), status, 0), tr.getPid(), "stolen");
      await loop.runUntilComplete(p.done);
      assert.is(tr.getReturncode(), 255);
      assert.ok(warnings.some((w) => w.includes(`Unknown child process pid ${tr.getPid()}`)));
      tr.close();
    } finally {
      setLogger(null);
    }
  });

  t("pidfd_open through the raw system call works too (glibc < 2.36 has no wrapper)", async () => {
    if (!libc.syscall || !C.SYS_pidfd_open) return;
    const fd = libc.syscall(C.SYS_pidfd_open, libc.getpid(), 0);
    assert.ok(fd >= 0, "a pidfd for ourselves");
    assert.ok(libc.fcntl(fd, C.F_GETFD, 0) & C.FD_CLOEXEC, "close-on-exec from birth");
    libc.close(fd);
  });

  t("without pidfds, exits are found by polling waitpid for our own pids", async (loop) => {
    (loop as unknown as { _childWatcher: { _usePidfd: boolean } })._childWatcher._usePidfd = false;
    const { tr, p } = await start(loop, ["sh", "-c", "echo polled; exit 9"], { stdin: DEVNULL });
    await loop.runUntilComplete(p.done);
    assert.is(p.text(1), "polled\n");
    assert.is(tr.getReturncode(), 9);
    tr.close();
    const b = await start(loop, ["sleep", "30"], { stdin: DEVNULL });
    b.tr.terminate();
    await loop.runUntilComplete(b.p.done);
    assert.is(b.tr.getReturncode(), -15);
    assert.is(procState(b.tr.getPid()), null);
    b.tr.close();
  });
}

test("a loop closed while its child runs: the child is reaped later, nothing leaks", async () => {
  const before = await settledFds();
  const loop = newEventLoop();
  const { tr } = await start(loop, ["sh", "-c", "exit 0"], { stdin: DEVNULL, stdout: DEVNULL, stderr: DEVNULL });
  const pid = tr.getPid();
  loop.close(); // the exit may not have been seen yet
  // The next spawn (on any loop) reaps what the closed loop left behind.
  await new Promise((r) => setTimeout(r, 50));
  const loop2 = newEventLoop();
  try {
    const { tr: t2, p: p2 } = await start(loop2, ["true"], { stdin: DEVNULL, stdout: DEVNULL, stderr: DEVNULL });
    await loop2.runUntilComplete(p2.done);
    t2.close();
  } finally {
    loop2.close();
  }
  assert.is(procState(pid), null, "no zombie left");
  assert.is(tr.getReturncode(), 0);
  tr.close(); // nothing to kill: it was reaped
  assert.equal(await settledFds(before), before, "no descriptor leaked");
});

test.run();
