/**
 * tsyncio: Python asyncio's low-level event loop for TypeScript, on Deno,
 * Bun and Node, over libc through each host's FFI.
 *
 * @example
 * ```ts
 * import { newEventLoop } from "tsyncio";
 * const loop = newEventLoop();
 * loop.callLater(0.1, () => { console.log("tick"); loop.stop(); });
 * await loop.runForever();
 * loop.close();
 * ```
 *
 * The contract is API.md: names are asyncio's in camelCase, time is in
 * seconds, bytes are Uint8Array.
 * @module
 */

export {
  AbstractEventLoopPolicy,
  DefaultEventLoopPolicy,
  getEventLoop,
  getEventLoopPolicy,
  getRunningLoop,
  newEventLoop,
  setEventLoop,
  setEventLoopPolicy,
} from "./src/events.ts";
export { EventLoop, type EventLoopOptions, type FileLike, SelectorEventLoop } from "./src/selector_events.ts";
export { BaseEventLoop, type ExceptionHandler, type TaskFactory } from "./src/base_events.ts";
export { Handle, TimerHandle } from "./src/handles.ts";
export { Future, isFuture } from "./src/futures.ts";
export { allTasks, currentTask, Task, type TaskOptions } from "./src/tasks.ts";
export { type Coroutine, isCoroutine } from "./src/coroutines.ts";
export { ensureFuture, run, sleep } from "./src/runners.ts";
export { type Executor, type ModuleFunction, ThreadPoolExecutor, type WorkPromise } from "./src/executor.ts";
export { type Logger, setLogger } from "./src/log.ts";
export {
  BlockingIOError,
  BrokenPipeError,
  CancelledError,
  ChildProcessError,
  ConnectionAbortedError,
  ConnectionError,
  ConnectionRefusedError,
  ConnectionResetError,
  FileExistsError,
  FileNotFoundError,
  IncompleteReadError,
  InterruptedError,
  InvalidStateError,
  IsADirectoryError,
  LimitOverrunError,
  NotADirectoryError,
  NotImplementedError,
  OSError,
  PermissionError,
  ProcessLookupError,
  RuntimeError,
  SendfileNotAvailableError,
  TimeoutError,
  ValueError,
} from "./src/errors.ts";
export {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  AF_UNSPEC,
  fromFd,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  MSG_DONTWAIT,
  MSG_PEEK,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SO_BROADCAST,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_TYPE,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  Socket,
  socketpair,
  SOL_SOCKET,
  TCP_NODELAY,
} from "./src/socket.ts";
