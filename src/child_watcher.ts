/**
 * Child exit watching for a loop (asyncio 3.14's `_PidfdChildWatcher`, with
 * a polling fallback in place of its thread watcher).
 *
 * Each child of ours gets a pidfd (`pidfd_open`) watched for readability in
 * the loop's selector; when it becomes readable the child has exited and
 * `waitpid(pid, WNOHANG)` reaps it. Where pidfds are unavailable (Linux
 * < 5.3, a seccomp filter, macOS) the loop polls `waitpid(pid, WNOHANG)` on
 * a short timer, for its own pids only.
 *
 * Never `waitpid(-1)`: the host runtimes reap their own children by pid
 * (libuv, Deno, Bun), and stealing one would break them (FFI-NOTES.md §6).
 *
 * A child still running when its loop closes is remembered process-wide
 * and reaped, without blocking, at the next spawn or loop close, as
 * CPython's `subprocess` keeps `_active`: no zombie outlives that.
 */

import { C, libc, native } from "./native.ts";
import { codeToErrno } from "./errors.ts";
import { logger } from "./log.ts";
import type { Handle, Callback } from "./handles.ts";
import type { TimerHandle } from "./handles.ts";

const ECHILD = codeToErrno("ECHILD");
const EINTR = codeToErrno("EINTR");
const ESRCH = codeToErrno("ESRCH");
const EMFILE = codeToErrno("EMFILE");
const ENFILE = codeToErrno("ENFILE");
const ENOMEM = codeToErrno("ENOMEM");

/** Polling fallback: first check after this many seconds, doubling up to the maximum. */
const POLL_FIRST = 0.001;
const POLL_MAX = 0.05;

/** What the watcher needs of its loop. */
export interface WatcherLoop {
  _addReader(fd: number, cb: Callback, ...args: unknown[]): Handle;
  _removeReader(fd: number): boolean;
  _callAt(when: number, callback: Callback, args: unknown[]): TimerHandle;
  time(): number;
  getDebug(): boolean;
  isClosed(): boolean;
}

/** Called once with the child's return code: its exit status, or -N when killed by signal N. */
export type ExitCallback = (returncode: number) => void;

interface Child {
  pid: number;
  /** The pidfd watched in the selector, or -1 when this child is polled. */
  pidfd: number;
  onExit: ExitCallback;
}

const statusBuf = new Int32Array(new ArrayBuffer(4));
const statusBytes = new Uint8Array(statusBuf.buffer);

/** asyncio's return code for a wait status: the exit code, or -signal. */
export function returncodeOf(status: number): number {
  const sig = status & 0x7f;
  if (sig === 0) return (status >> 8) & 0xff; // WIFEXITED
  if (sig !== 0x7f) return -sig; // WIFSIGNALED
  return status; // stopped: never asked for (no WUNTRACED); pass it on unchanged, as asyncio
}

/**
 * `waitpid(pid, WNOHANG)`: the return code once the child is reaped, null
 * while it runs. A child someone else reaped reports 255 with a warning,
 * as CPython does.
 */
export function tryWait(pid: number): number | null {
  for (;;) {
    const r = libc.waitpid(pid, statusBytes, C.WNOHANG);
    if (r === pid) return returncodeOf(statusBuf[0]);
    if (r === 0) return null;
    const errno = native.errno();
    if (errno === EINTR) continue;
    if (errno !== ECHILD) logger.warning(`waitpid(${pid}) failed with errno ${errno}`);
    logger.warning(`Unknown child process pid ${pid}, will report returncode 255`);
    return 255;
  }
}

/** pidfd_open through glibc's wrapper (2.36) or the raw system call; -1 with errno, or null when neither exists. */
function pidfdOpen(pid: number): number | null {
  if (libc.pidfd_open) return libc.pidfd_open(pid, 0);
  if (libc.syscall && C.SYS_pidfd_open) return libc.syscall(C.SYS_pidfd_open, pid, 0);
  return null;
}

/** Whether pidfds work here; cleared on the first ENOSYS/EPERM (old kernel, seccomp). */
let pidfdWorks = native.os === "linux";

/** Children whose loop closed before they exited: pid → what to tell when reaped. */
const orphans = new Map<number, ExitCallback>();

/** Reap the orphans that have exited (never blocks). */
export function reapOrphans(): void {
  for (const [pid, onExit] of orphans) {
    const rc = tryWait(pid);
    if (rc === null) continue;
    orphans.delete(pid);
    onExit(rc);
  }
}

export class ChildWatcher {
  #loop: WatcherLoop;
  #children = new Map<number, Child>();
  #polled = new Set<number>();
  #pollTimer: TimerHandle | null = null;
  #pollDelay = POLL_FIRST;
  /** @internal tests turn pidfds off to exercise the polling fallback */
  _usePidfd = true;

  constructor(loop: WatcherLoop) {
    this.#loop = loop;
  }

  /** How many children are watched. */
  get size(): number {
    return this.#children.size;
  }

  /** Watch `pid` (a child of ours); `onExit(returncode)` is called once, from a loop callback. */
  add(pid: number, onExit: ExitCallback): void {
    const child: Child = { pid, pidfd: -1, onExit };
    this.#children.set(pid, child);
    if (this._usePidfd && pidfdWorks) {
      const fd = pidfdOpen(pid);
      if (fd !== null && fd >= 0) {
        child.pidfd = fd;
        this.#loop._addReader(fd, this.#pidfdReady, pid);
        return;
      }
      const errno = fd === null ? 0 : native.errno();
      if (errno === ESRCH) {
        // Gone already: someone else reaped it. Report it from a callback, as any exit.
        this.#poll(pid);
        return;
      }
      // Out of descriptors: poll this one. Anything else means no pidfds here at all.
      if (errno !== EMFILE && errno !== ENFILE && errno !== ENOMEM) pidfdWorks = false;
    }
    this.#poll(pid);
  }

  /**
   * Reap `pid` now if it has exited (its `onExit` runs before this returns
   * true); false while it runs or when it is not watched.
   */
  reap(pid: number): boolean {
    const child = this.#children.get(pid);
    if (!child) return false;
    const rc = tryWait(pid);
    if (rc === null) return false;
    this.#forget(child);
    if (this.#loop.getDebug()) logger.debug(`process ${pid} exited with returncode ${rc}`);
    child.onExit(rc);
    return true;
  }

  /**
   * The loop is closing: stop watching. Children that exited are reaped now;
   * the others become orphans, reaped by a later spawn or loop close.
   */
  close(): void {
    if (this.#pollTimer) this.#pollTimer.cancel();
    this.#pollTimer = null;
    for (const child of [...this.#children.values()]) {
      this.#forget(child);
      const rc = tryWait(child.pid);
      if (rc === null) orphans.set(child.pid, child.onExit);
      else child.onExit(rc);
    }
    reapOrphans();
  }

  #forget(child: Child): void {
    this.#children.delete(child.pid);
    this.#polled.delete(child.pid);
    if (child.pidfd >= 0) {
      this.#loop._removeReader(child.pidfd);
      libc.close(child.pidfd);
      child.pidfd = -1;
    }
  }

  #pidfdReady = (pid: number): void => {
    // A pidfd turns readable once the process has exited; a spurious wake-up just finds it running.
    this.reap(pid);
  };

  /** Poll `pid` on a timer that starts fast and backs off; a new child restarts it fast. */
  #poll(pid: number): void {
    this.#polled.add(pid);
    this.#pollTimer?.cancel();
    this.#pollDelay = POLL_FIRST;
    this.#pollTimer = this.#loop._callAt(this.#loop.time() + this.#pollDelay, this.#pollAll, []);
  }

  #pollAll = (): void => {
    this.#pollTimer = null;
    for (const pid of [...this.#polled]) this.reap(pid);
    if (this.#polled.size === 0 || this.#loop.isClosed()) return;
    this.#pollDelay = Math.min(this.#pollDelay * 2, POLL_MAX);
    this.#pollTimer = this.#loop._callAt(this.#loop.time() + this.#pollDelay, this.#pollAll, []);
  };
}
