/**
 * A {@link Parker} for hosts whose only way to wait on descriptors without
 * holding the JavaScript thread is a blocking `poll(2)` on another thread
 * (Deno's nonblocking FFI calls, a Bun worker, koffi's async calls).
 *
 * Such a wait cannot be cancelled, so the parker owns a kick descriptor
 * (an eventfd, or a pipe where there is none) that sits in every wait: writing
 * to it frees the thread. A parked wait is reused across loop iterations:
 * unparking only forgets the callback, and releasing (when the loop stops)
 * kicks the thread so the process may exit.
 */

import type { Libc, Parker } from "../ffi/types.ts";
import type { OsConstants } from "../ffi/os.ts";

export type PollOffThread = (buf: Uint8Array, nfds: number) => Promise<number>;

/** A blocking poll(2) on another thread, and how to free that thread for good. */
export interface OffThreadPoller {
  poll: PollOffThread;
  /** Called once the parker is closed and no poll is pending. */
  close?(): void;
}

export class ThreadParker implements Parker {
  #libc: Libc;
  #c: OsConstants;
  #poller: OffThreadPoller;
  #alloc: (bytes: number) => Uint8Array;
  #kickRead: number;
  #kickWrite: number;
  #buf: Uint8Array;
  #nfds = 0;
  #pending = false;
  #cb: (() => void) | null = null;
  #restart = false;
  #closed = false;
  #one = new Uint8Array(new ArrayBuffer(8));

  constructor(libc: Libc, c: OsConstants, poller: OffThreadPoller, alloc: (bytes: number) => Uint8Array) {
    this.#libc = libc;
    this.#c = c;
    this.#poller = poller;
    this.#alloc = alloc;
    [this.#kickRead, this.#kickWrite] = makeKick(libc, c);
    this.#buf = alloc(8 * 64);
  }

  park(pollfds: Uint8Array, nfds: number, cb: () => void): void {
    if (this.#closed) return;
    this.#cb = cb;
    if (this.#pending) {
      // The parked thread reads #buf now: it must not be touched. If it waits
      // on another set, kick it and start again when it comes back.
      if (!sameSet(this.#buf, this.#nfds, pollfds, nfds)) {
        this.#restart = true;
        this.#kick();
      }
      return;
    }
    this.#start(pollfds, nfds);
  }

  unpark(release: boolean): void {
    this.#cb = null;
    this.#restart = false;
    if (release && this.#pending) this.#kick();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cb = null;
    if (this.#pending) this.#kick(); // the descriptors close when the thread returns
    else this.#closeKick();
  }

  #start(pollfds: Uint8Array, nfds: number): void {
    const bytes = (nfds + 1) * 8;
    if (this.#buf.byteLength < bytes) this.#buf = this.#alloc(bytes * 2);
    this.#buf.set(pollfds.subarray(0, nfds * 8));
    const dv = new DataView(this.#buf.buffer, this.#buf.byteOffset, bytes);
    for (let i = 0; i < nfds; i++) dv.setInt16(i * 8 + 6, 0, true);
    dv.setInt32(nfds * 8, this.#kickRead, true);
    dv.setInt16(nfds * 8 + 4, this.#c.POLLIN, true);
    dv.setInt16(nfds * 8 + 6, 0, true);
    this.#nfds = nfds;
    this.#pending = true;
    this.#poller.poll(this.#buf, nfds + 1).then(this.#done, this.#done);
  }

  #done = (): void => {
    this.#pending = false;
    const dv = new DataView(this.#buf.buffer, this.#buf.byteOffset, (this.#nfds + 1) * 8);
    if (dv.getInt16(this.#nfds * 8 + 6, true) !== 0) this.#drainKick();
    if (this.#closed) {
      this.#closeKick();
      return;
    }
    if (this.#restart && this.#cb) {
      this.#restart = false;
      // The caller's current set is not known here; let it park again.
      const cb = this.#cb;
      this.#cb = null;
      cb();
      return;
    }
    const cb = this.#cb;
    this.#cb = null;
    if (cb) cb();
  };

  #kick(): void {
    this.#one.fill(0);
    this.#one[0] = 1;
    this.#libc.write(this.#kickWrite, this.#one, 8);
  }

  #drainKick(): void {
    while (this.#libc.read(this.#kickRead, this.#one, 8) > 0) { /* empty it */ }
  }

  #closeKick(): void {
    this.#libc.close(this.#kickRead);
    if (this.#kickWrite !== this.#kickRead) this.#libc.close(this.#kickWrite);
    this.#poller.close?.();
  }
}

function sameSet(a: Uint8Array, na: number, b: Uint8Array, nb: number): boolean {
  if (na !== nb) return false;
  // Compare fd and events of each entry; revents (bytes 6..7) may differ.
  for (let i = 0; i < na * 8; i += 8) {
    for (let j = 0; j < 6; j++) if (a[i + j] !== b[i + j]) return false;
  }
  return true;
}

/** A non-blocking, close-on-exec descriptor pair to interrupt a parked poll. */
export function makeKick(libc: Libc, c: OsConstants): [number, number] {
  if (libc.eventfd) {
    const fd = libc.eventfd(0, c.EFD_CLOEXEC | c.EFD_NONBLOCK);
    if (fd >= 0) return [fd, fd];
  }
  const fds = new Int32Array(new ArrayBuffer(8));
  const u8 = new Uint8Array(fds.buffer);
  if (libc.pipe(u8) < 0) throw new Error("tsyncio: cannot create a wake-up pipe");
  for (const fd of fds) {
    libc.fcntl(fd, c.F_SETFL, libc.fcntl(fd, c.F_GETFL, 0) | c.O_NONBLOCK);
    libc.fcntl(fd, c.F_SETFD, c.FD_CLOEXEC);
  }
  return [fds[0], fds[1]];
}
