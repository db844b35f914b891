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
export { type EventLoopOptions, type FileLike, SelectorEventLoop } from "./src/selector_events.ts";
export { interleaveAddrinfos, NetEventLoop } from "./src/net_events.ts";
export { EventLoop, UnixEventLoop } from "./src/unix_events.ts";
export { PipeTransport, ReadPipeTransport, WritePipeTransport } from "./src/unix_pipes.ts";
export { type SubprocessInfo, UnixSubprocessTransport } from "./src/base_subprocess.ts";
export { DEVNULL, PIPE, type StdioOption, STDOUT, type SubprocessOptions } from "./src/spawn.ts";
export { Server } from "./src/server.ts";
export {
  type AnyProtocol, BaseProtocol, BufferedProtocol, DatagramProtocol, Protocol, type ProtocolFactory, SubprocessProtocol,
} from "./src/protocols.ts";
export { BaseTransport, type DatagramTransport, type ReadTransport, type SubprocessTransport, type Transport, type WriteTransport } from "./src/transports.ts";
export { SelectorDatagramTransport, SelectorSocketTransport, SelectorTransport } from "./src/selector_transports.ts";
export { BaseEventLoop, type ExceptionHandler, type TaskFactory } from "./src/base_events.ts";
export { type Callback, Handle, TimerHandle } from "./src/handles.ts";
export { type SelectorName } from "./src/selectors.ts";
export { type ConnectionOptions, type DatagramOptions, type ServerOptions, type UnixServerOptions } from "./src/net_events.ts";
export { Future, type FutureLoop, type FutureOptions, isFuture } from "./src/futures.ts";
export {
  allTasks, createEagerTaskFactory, currentTask, eagerTaskFactory, Task, type TaskLoop, type TaskOptions,
} from "./src/tasks.ts";
export {
  type Awaitable, type Coroutine, type CoroutineFunction, type GeneratorCoroutine, isCoroutine,
} from "./src/coroutines.ts";
export { Timeout, timeout, timeoutAt, waitFor } from "./src/timeouts.ts";
export { TaskGroup, taskGroup } from "./src/taskgroups.ts";
export { Runner, type RunnerOptions } from "./src/runners.ts";
export { ensureFuture, run, sleep } from "./src/runners.ts";
export {
  Barrier, type Body, BoundedSemaphore, BrokenBarrierError, Condition, Event, Lock, runBody, Semaphore,
} from "./src/locks.ts";
export {
  LifoQueue, PriorityQueue, type PriorityQueueOptions, Queue, QueueEmpty, QueueFull, type QueueOptions, QueueShutDown,
} from "./src/queues.ts";
export {
  ALL_COMPLETED, AsCompleted, asCompleted, type AwaitableResult, FIRST_COMPLETED, FIRST_EXCEPTION, gather, type GatherOptions,
  type GatherResults, type GatherResultsOrErrors, type ReturnWhen, shield, toThread, wait,
} from "./src/tasks.ts";
export {
  type ClientConnectedCallback, FlowControlMixin, openConnection, type OpenConnectionOptions, openUnixConnection,
  type OpenUnixConnectionOptions, startServer, type StartServerOptions, startUnixServer, type StartUnixServerOptions,
  StreamReader, type StreamReaderOptions, StreamReaderProtocol, StreamWriter,
} from "./src/streams.ts";
export {
  type CreateSubprocessOptions, createSubprocessExec, createSubprocessShell, Process, SubprocessStreamProtocol,
} from "./src/subprocess.ts";
export { type Executor, type ModuleFunction, ThreadPoolExecutor, type WorkPromise } from "./src/executor.ts";
export { type Logger, setLogger } from "./src/log.ts";
export type { AddrInfo } from "./src/dns.ts";
export { signal } from "./src/unix_signals.ts";
export {
  BlockingIOError,
  BrokenPipeError,
  CancelledError,
  ChildProcessError,
  ExceptionGroup,
  ConnectionAbortedError,
  ConnectionError,
  ConnectionRefusedError,
  ConnectionResetError,
  FileExistsError,
  FileNotFoundError,
  GaiError,
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
  SSLCertVerificationError,
  SSLEOFError,
  SSLError,
  SSLSyscallError,
  SSLWantReadError,
  SSLWantWriteError,
  SSLZeroReturnError,
  TimeoutError,
  ValueError,
} from "./src/errors.ts";
export {
  CERT_NONE,
  CERT_OPTIONAL,
  CERT_REQUIRED,
  type CertStoreStats,
  createDefaultContext,
  OP_ALL,
  OP_CIPHER_SERVER_PREFERENCE,
  OP_ENABLE_KTLS,
  OP_ENABLE_MIDDLEBOX_COMPAT,
  OP_IGNORE_UNEXPECTED_EOF,
  OP_LEGACY_SERVER_CONNECT,
  OP_NO_COMPRESSION,
  OP_NO_RENEGOTIATION,
  OP_NO_SSLv2,
  OP_NO_SSLv3,
  OP_NO_TICKET,
  OP_NO_TLSv1,
  OP_NO_TLSv1_1,
  OP_NO_TLSv1_2,
  OP_NO_TLSv1_3,
  OP_SINGLE_DH_USE,
  OP_SINGLE_ECDH_USE,
  type PeerCertificate,
  PROTOCOL_TLS,
  PROTOCOL_TLS_CLIENT,
  PROTOCOL_TLS_SERVER,
  Purpose,
  type SessionStats,
  SSLContext,
  SSLObject,
  SSLSession,
  TLSVersion,
  VERIFY_ALLOW_PROXY_CERTS,
  VERIFY_CRL_CHECK_CHAIN,
  VERIFY_CRL_CHECK_LEAF,
  VERIFY_DEFAULT,
  VERIFY_X509_PARTIAL_CHAIN,
  VERIFY_X509_STRICT,
  VERIFY_X509_TRUSTED_FIRST,
  type X509Name,
} from "./src/ssl.ts";
export { SSLProtocolTransport } from "./src/sslproto.ts";
export {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  AF_UNSPEC,
  AI_ADDRCONFIG,
  AI_ALL,
  AI_CANONNAME,
  AI_DEFAULT,
  AI_MASK,
  AI_NUMERICHOST,
  AI_NUMERICSERV,
  AI_PASSIVE,
  AI_V4MAPPED,
  AI_V4MAPPED_CFG,
  EAI_ADDRFAMILY,
  EAI_AGAIN,
  EAI_BADFLAGS,
  EAI_BADHINTS,
  EAI_FAIL,
  EAI_FAMILY,
  EAI_MEMORY,
  EAI_NODATA,
  EAI_NONAME,
  EAI_OVERFLOW,
  EAI_PROTOCOL,
  EAI_SERVICE,
  EAI_SOCKTYPE,
  EAI_SYSTEM,
  fromFd,
  getdefaulttimeout,
  INADDR_ANY,
  INADDR_BROADCAST,
  INADDR_LOOPBACK,
  INADDR_NONE,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_HDRINCL,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_OPTIONS,
  IP_RECVOPTS,
  IP_RECVTOS,
  IP_TOS,
  IP_TTL,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_RAW,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV6_JOIN_GROUP,
  IPV6_LEAVE_GROUP,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_PKTINFO,
  IPV6_RECVPKTINFO,
  IPV6_RECVTCLASS,
  IPV6_TCLASS,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  MSG_CMSG_CLOEXEC,
  MSG_CONFIRM,
  MSG_CTRUNC,
  MSG_DONTROUTE,
  MSG_DONTWAIT,
  MSG_EOF,
  MSG_EOR,
  MSG_ERRQUEUE,
  MSG_FASTOPEN,
  MSG_MORE,
  MSG_NOSIGNAL,
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  MSG_WAITALL,
  NI_DGRAM,
  NI_MAXHOST,
  NI_MAXSERV,
  NI_NAMEREQD,
  NI_NOFQDN,
  NI_NUMERICHOST,
  NI_NUMERICSCOPE,
  NI_NUMERICSERV,
  setdefaulttimeout,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SO_ACCEPTCONN,
  SO_BINDTODEVICE,
  SO_BROADCAST,
  SO_DEBUG,
  SO_DOMAIN,
  SO_DONTROUTE,
  SO_ERROR,
  SO_INCOMING_CPU,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_MARK,
  SO_OOBINLINE,
  SO_PASSCRED,
  SO_PEERCRED,
  SO_PRIORITY,
  SO_PROTOCOL,
  SO_RCVBUF,
  SO_RCVLOWAT,
  SO_RCVTIMEO,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_SNDLOWAT,
  SO_SNDTIMEO,
  SO_TYPE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  Socket,
  type SocketAddress,
  socketpair,
  SOL_IP,
  SOL_SOCKET,
  SOL_TCP,
  SOL_UDP,
  SOMAXCONN,
  TCP_CONGESTION,
  TCP_CORK,
  TCP_DEFER_ACCEPT,
  TCP_FASTOPEN,
  TCP_INFO,
  TCP_KEEPALIVE,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_LINGER2,
  TCP_MAXSEG,
  TCP_NODELAY,
  TCP_NOTSENT_LOWAT,
  TCP_QUICKACK,
  TCP_SYNCNT,
  TCP_USER_TIMEOUT,
  TCP_WINDOW_CLAMP,
} from "./src/socket.ts";
