/** loop.sendfile and sockSendfile: sendfile(2) and the read/send fallback, over real sockets and a temp file. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { newEventLoop, Protocol, SendfileNotAvailableError, socketpair, ValueError } from "../mod.ts";
import { settledFds } from "./_helpers.ts";
import { concat, enc, pattern, Recorder, runUntil, sha256 } from "./_net.ts";
import { C, libc } from "../src/native.ts";

const O_RDWR = 2, O_CREAT = 0o100, O_TRUNC = 0o1000;

function tempFile(data: Uint8Array): [number, string] {
  const path = `/tmp/tsyncio-sendfile-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const fd = libc.open(enc.encode(path + "\0"), O_RDWR | O_CREAT | O_TRUNC | C.O_CLOEXEC, 0o600);
  assert.ok(fd >= 0);
  let off = 0;
  while (off < data.length) off += libc.write(fd, data.subarray(off), data.length - off);
  return [fd, path];
}

test("sendfile over a stream transport: whole file, then a slice; checked by hash", async () => {
  const before = await settledFds();
  const loop = newEventLoop();
  const data = pattern(3 * 1024 * 1024 + 123, 3);
  const [fd, path] = tempFile(data);
  const [a, b] = socketpair();
  try {
    const [tr] = await loop.runUntilComplete(loop.connectAcceptedSocket(() => new Protocol(), a));
    const peer = new Recorder();
    await loop.runUntilComplete(loop.connectAcceptedSocket(() => peer, b));
    tr.write(enc.encode("HEAD"));
    const n = await loop.runUntilComplete(loop.sendfile(tr, fd));
    assert.is(n, data.length);
    const m = await loop.runUntilComplete(loop.sendfile(tr, { fileno: () => fd }, 10, 100, { fallback: false }));
    assert.is(m, 100);
    await runUntil(loop, () => peer.received.length === 4 + data.length + 100, 20);
    const got = peer.received;
    assert.is(await sha256(got), await sha256(concat([enc.encode("HEAD"), data, data.subarray(10, 110)])));
    tr.close();
    await runUntil(loop, () => peer.events.includes("lost"));
  } finally {
    libc.close(fd);
    libc.unlink(enc.encode(path + "\0"));
    loop.close();
  }
  assert.equal(await settledFds(before), before);
});

test("sockSendfile: sendfile(2) where possible, the fallback for a pipe, SendfileNotAvailableError without it", async () => {
  const before = await settledFds();
  const loop = newEventLoop();
  const data = pattern(200_000, 9);
  const [fd, path] = tempFile(data);
  const [a, b] = socketpair();
  a.setblocking(false);
  b.setblocking(false);
  const pipe = new Int32Array(2);
  libc.pipe(new Uint8Array(pipe.buffer));
  try {
    const drain = (want: number) =>
      loop.runUntilComplete(function* () {
        const parts: Uint8Array[] = [];
        let got = 0;
        while (got < want) {
          const d = yield* loop.sockRecv(b, 65536);
          parts.push(d);
          got += d.length;
        }
        return concat(parts);
      });
    const sent = loop.sockSendfile(a, fd, 0, null);
    const received = await drain(data.length);
    assert.is(await loop.runUntilComplete(sent), data.length);
    assert.is(await sha256(received), await sha256(data));
    // sendfile(2) cannot read from a pipe: the fallback reads and sends.
    libc.write(pipe[1], enc.encode("from a pipe"), 11);
    libc.close(pipe[1]);
    pipe[1] = -1;
    try {
      await loop.runUntilComplete(loop.sockSendfile(a, pipe[0], 0, 11, { fallback: false }));
      assert.unreachable();
    } catch (e) {
      assert.instance(e, SendfileNotAvailableError);
    }
    // With the fallback (the default) the same call works.
    assert.is(await loop.runUntilComplete(loop.sockSendfile(a, pipe[0], 0, 11)), 11);
    assert.is(new TextDecoder().decode(await drain(11)), "from a pipe");
    try {
      await loop.runUntilComplete(loop.sockSendfile(a, fd, -1));
      assert.unreachable();
    } catch (e) {
      assert.instance(e, ValueError);
    }
  } finally {
    libc.close(fd);
    libc.close(pipe[0]);
    if (pipe[1] >= 0) libc.close(pipe[1]);
    libc.unlink(enc.encode(path + "\0"));
    a.close();
    b.close();
    loop.close();
  }
  assert.equal(await settledFds(before), before);
});

test.run();
