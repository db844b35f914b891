/**
 * `openssl s_server` for the TLS tests, spawned through tsyncio's own
 * subprocess API (Deno's test permissions do not allow Deno.Command): its
 * output is collected, and lines written to its stdin are sent to the
 * client (or are commands: "R" renegotiates).
 */

import * as assert from "uvu/assert";
import { type EventLoop, PIPE, SubprocessProtocol, type SubprocessTransport } from "../mod.ts";
import { dec, enc, runUntil } from "./_net.ts";
import type { TestPki } from "./_tls.ts";

export class OpensslServer extends SubprocessProtocol {
  out = "";
  exited = false;
  transport: SubprocessTransport | null = null;
  override connectionMade(tr: SubprocessTransport): void {
    this.transport = tr;
  }
  override pipeDataReceived(_fd: number, data: Uint8Array): void {
    this.out += dec.decode(data);
  }
  override processExited(): void {
    this.exited = true;
  }
  /** A line to s_server's stdin: data for the client, or a command ("R" renegotiates). */
  send(line: string): void {
    (this.transport!.getPipeTransport(0) as unknown as { write(d: Uint8Array): void }).write(enc.encode(line));
  }
  get port(): number {
    return Number(/ACCEPT [^\n]*:(\d+)/.exec(this.out)![1]);
  }
}

/** Start `openssl s_server` on 127.0.0.1 (port chosen by the system) with the test PKI's server certificate. */
export async function sServer(loop: EventLoop, pki: TestPki, args: string[]): Promise<OpensslServer> {
  const argv = ["openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", pki.serverCert, "-key", pki.serverKey, ...args];
  const [, p] = await loop.runUntilComplete(loop.subprocessExec(() => new OpensslServer(), argv, { stdin: PIPE, stdout: PIPE, stderr: PIPE }));
  const srv = p as OpensslServer;
  await runUntil(loop, () => /ACCEPT [^\n]*:\d+/.test(srv.out) || srv.exited, 10);
  assert.ok(!srv.exited, `s_server exited: ${srv.out}`);
  return srv;
}

/** Stop s_server and wait for it to be gone (pipes closed, child reaped). */
export async function stopServer(loop: EventLoop, srv: OpensslServer): Promise<void> {
  const tr = srv.transport!;
  if (!srv.exited) tr.kill();
  await runUntil(loop, () => srv.exited, 10);
  tr.close();
  await runUntil(loop, () => tr.isClosing(), 1);
  // Let the pipes' close callbacks run.
  for (let i = 0; i < 5; i++) await runUntil(loop, () => true, 1);
}

