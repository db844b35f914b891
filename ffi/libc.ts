/**
 * The one libc symbol table. Each entry is written once, runtime-neutral,
 * with its C prototype beside it; `runtimes/` translates it for Deno.dlopen,
 * bun:ffi and koffi.
 */

import type { SymbolDef } from "./types.ts";

const def = <T extends Record<string, SymbolDef>>(t: T): T => t;

export const libcSymbols = def({
  // int epoll_create1(int flags)
  epoll_create1: { params: ["i32"], result: "i32", optional: true },
  // int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
  epoll_ctl: { params: ["i32", "i32", "i32", "buf"], result: "i32", optional: true },
  // int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
  epoll_wait: { params: ["i32", "buf", "i32", "i32"], result: "i32", optional: true },
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout)
  poll: { params: ["buf", "usize", "i32"], result: "i32" },
  // int eventfd(unsigned int initval, int flags)
  eventfd: { params: ["u32", "i32"], result: "i32", optional: true },
  // int pipe2(int pipefd[2], int flags)
  pipe2: { params: ["buf", "i32"], result: "i32", optional: true },
  // int pipe(int pipefd[2])
  pipe: { params: ["buf"], result: "i32" },
  // ssize_t read(int fd, void *buf, size_t count)
  read: { params: ["i32", "buf", "usize"], result: "ssize" },
  // ssize_t write(int fd, const void *buf, size_t count)
  write: { params: ["i32", "buf", "usize"], result: "ssize" },
  // int close(int fd)
  close: { params: ["i32"], result: "i32" },
  // int fcntl(int fd, int cmd, ... /* int arg */): variadic, called with one int,
  // which the Linux x86_64/aarch64 ABIs pass exactly like a fixed int.
  fcntl: { params: ["i32", "i32", "i32"], result: "i32" },
  // int socket(int domain, int type, int protocol)
  socket: { params: ["i32", "i32", "i32"], result: "i32" },
  // int socketpair(int domain, int type, int protocol, int sv[2])
  socketpair: { params: ["i32", "i32", "i32", "buf"], result: "i32" },
  // ssize_t send(int sockfd, const void *buf, size_t len, int flags)
  send: { params: ["i32", "buf", "usize", "i32"], result: "ssize" },
  // ssize_t recv(int sockfd, void *buf, size_t len, int flags)
  recv: { params: ["i32", "buf", "usize", "i32"], result: "ssize" },
  // int shutdown(int sockfd, int how)
  shutdown: { params: ["i32", "i32"], result: "i32" },
  // int getsockopt(int s, int level, int name, void *val, socklen_t *len)
  getsockopt: { params: ["i32", "i32", "i32", "buf", "buf"], result: "i32" },
  // int fstat(int fd, struct stat *statbuf)
  fstat: { params: ["i32", "buf"], result: "i32" },
  // int clock_gettime(clockid_t clk, struct timespec *tp)
  clock_gettime: { params: ["i32", "buf"], result: "i32" },
  // char *strerror(int errnum)
  strerror: { params: ["i32"], result: "cstr" },
  // pid_t getpid(void)
  getpid: { params: [], result: "i32" },
  // int kill(pid_t pid, int sig)
  kill: { params: ["i32", "i32"], result: "i32" },
});

export type LibcSymbols = typeof libcSymbols;

/** Where libc lives, per OS. */
export const libcPath = { linux: "libc.so.6", darwin: "libSystem.B.dylib" } as const;
