/** Web-standard workers (Deno, Bun) from inline source: bundle-safe, no file paths. */

import type { HostWorker } from "../ffi/types.ts";

const prelude = "const hostPost = (m) => self.postMessage(m);" +
  "const hostOnMessage = (f) => { self.onmessage = (e) => f(e.data); };\n";

export function webWorker(
  source: string,
  onMessage: (msg: unknown) => void,
  onError: (err: unknown) => void,
): HostWorker {
  const url = URL.createObjectURL(new Blob([prelude + source], { type: "application/javascript" }));
  const w = new Worker(url, { type: "module" });
  w.onmessage = (e: MessageEvent) => onMessage(e.data);
  w.onerror = (e: Event) => {
    e.preventDefault();
    onError((e as ErrorEvent).error ?? new Error((e as ErrorEvent).message));
  };
  // deno-lint-ignore no-explicit-any
  const anyW = w as any;
  return {
    postMessage: (m) => w.postMessage(m),
    ref: (on) => {
      if (on) anyW.ref?.();
      else anyW.unref?.();
    },
    terminate: () => {
      w.terminate();
      // Bun resolves the URL after the constructor returns: revoke only now.
      URL.revokeObjectURL(url);
    },
  };
}
