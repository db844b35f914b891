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
  // int open(const char *pathname, int flags, ... /* mode_t mode */): variadic, called with
  // the mode as a fixed int (as fcntl above; fine on Linux, not on macOS arm64 for O_CREAT)
  open: { params: ["buf", "i32", "i32"], result: "i32" },
  // ssize_t pread(int fd, void *buf, size_t count, off_t offset)
  pread: { params: ["i32", "buf", "usize", "i64"], result: "ssize" },
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

  // ---- networking ----
  // int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen)
  bind: { params: ["i32", "buf", "u32"], result: "i32" },
  // int listen(int sockfd, int backlog)
  listen: { params: ["i32", "i32"], result: "i32" },
  // int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen)
  connect: { params: ["i32", "buf", "u32"], result: "i32" },
  // int accept(int sockfd, struct sockaddr *addr, socklen_t *addrlen)
  accept: { params: ["i32", "buf", "buf"], result: "i32" },
  // int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags): Linux, FreeBSD; not macOS
  accept4: { params: ["i32", "buf", "buf", "i32"], result: "i32", optional: true },
  // int getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen)
  getsockname: { params: ["i32", "buf", "buf"], result: "i32" },
  // int getpeername(int sockfd, struct sockaddr *addr, socklen_t *addrlen)
  getpeername: { params: ["i32", "buf", "buf"], result: "i32" },
  // int setsockopt(int s, int level, int name, const void *val, socklen_t len)
  setsockopt: { params: ["i32", "i32", "i32", "buf", "u32"], result: "i32" },
  // ssize_t recvfrom(int s, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen)
  recvfrom: { params: ["i32", "buf", "usize", "i32", "buf", "buf"], result: "ssize" },
  // ssize_t sendto(int s, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
  sendto: { params: ["i32", "buf", "usize", "i32", "buf", "u32"], result: "ssize" },
  // ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
  // (iov_base addresses come from Native.addressOf)
  writev: { params: ["i32", "buf", "i32"], result: "ssize" },
  // ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count): Linux only
  // (macOS has a sendfile with another prototype under the same name)
  sendfile: { params: ["i32", "i32", "buf", "usize"], result: "ssize", optional: true, os: "linux" },
  // int unlink(const char *pathname)
  unlink: { params: ["buf"], result: "i32" },
  // int stat(const char *pathname, struct stat *statbuf): a real symbol since glibc 2.33;
  // macOS x86_64 would need stat$INODE64 for the layout in darwin.ts (arm64 is fine)
  stat: { params: ["buf", "buf"], result: "i32", optional: true },
  // int lstat(const char *pathname, struct stat *statbuf)
  lstat: { params: ["buf", "buf"], result: "i32", optional: true },
  // int inet_pton(int af, const char *src, void *dst)
  inet_pton: { params: ["i32", "buf", "buf"], result: "i32" },
  // const char *inet_ntop(int af, const void *src, char *dst, socklen_t size)
  inet_ntop: { params: ["i32", "buf", "buf", "u32"], result: "ptr" },
  // int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
  getaddrinfo: { params: ["buf", "buf", "buf", "buf"], result: "i32", blocking: true },
  // void freeaddrinfo(struct addrinfo *res)
  freeaddrinfo: { params: ["ptr"], result: "void" },
  // int getnameinfo(const struct sockaddr *addr, socklen_t addrlen, char *host, socklen_t hostlen,
  //                 char *serv, socklen_t servlen, int flags)
  getnameinfo: { params: ["buf", "u32", "buf", "u32", "buf", "u32", "i32"], result: "i32", blocking: true },
  // const char *gai_strerror(int errcode)
  gai_strerror: { params: ["i32"], result: "cstr" },
  // unsigned int if_nametoindex(const char *ifname)
  if_nametoindex: { params: ["buf"], result: "u32" },
  // char *if_indextoname(unsigned int ifindex, char *ifname)
  if_indextoname: { params: ["u32", "buf"], result: "ptr" },
});

export type LibcSymbols = typeof libcSymbols;

/** Where libc lives, per OS. */
export const libcPath = { linux: "libc.so.6", darwin: "libSystem.B.dylib" } as const;
