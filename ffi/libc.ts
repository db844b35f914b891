/**
 * The one libc symbol table. Each entry is written once, runtime-neutral,
 * with its C prototype beside it; `runtimes/` translates it for Deno.dlopen,
 * bun:ffi and koffi.
 */

import type { SymbolDef } from "./types.ts";

// `as const` (not a helper call) keeps the table's type explicit enough for
// JSR's public-API check, which cannot follow an inferred call result.
export const libcSymbols = {
  // int epoll_create1(int flags)
  epoll_create1: { params: ["i32"], result: "i32", optional: true },
  // int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
  epoll_ctl: { params: ["i32", "i32", "i32", "buf"], result: "i32", optional: true },
  // int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
  epoll_wait: { params: ["i32", "buf", "i32", "i32"], result: "i32", optional: true },
  // int sched_yield(void): let another runnable thread on this core go first
  sched_yield: { params: [], result: "i32" },
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
  // int getrlimit(int resource, struct rlimit *rlim): struct rlimit is two rlim_t (u64 on 64-bit)
  getrlimit: { params: ["i32", "buf"], result: "i32" },
  // int setrlimit(int resource, const struct rlimit *rlim)
  setrlimit: { params: ["i32", "buf"], result: "i32" },

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

  // ---- processes (posix_spawn; the opaque structs are zeroed JavaScript buffers) ----
  // int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *file_actions,
  //                 const posix_spawnattr_t *attrp, char *const argv[], char *const envp[])
  // Returns an errno value (it does not set errno); glibc reports a failed exec here too.
  posix_spawn: { params: ["buf", "buf", "buf", "buf", "buf", "buf"], result: "i32" },
  // int posix_spawnp(...same as posix_spawn...): searches PATH (the caller's) for `file`
  posix_spawnp: { params: ["buf", "buf", "buf", "buf", "buf", "buf"], result: "i32" },
  // int posix_spawn_file_actions_init(posix_spawn_file_actions_t *file_actions)
  posix_spawn_file_actions_init: { params: ["buf"], result: "i32" },
  // int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *file_actions)
  posix_spawn_file_actions_destroy: { params: ["buf"], result: "i32" },
  // int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *file_actions, int fildes, int newfildes)
  // (fildes == newfildes clears FD_CLOEXEC in the child: glibc >= 2.29, POSIX 2024)
  posix_spawn_file_actions_adddup2: { params: ["buf", "i32", "i32"], result: "i32" },
  // int posix_spawn_file_actions_addclose(posix_spawn_file_actions_t *file_actions, int fildes)
  posix_spawn_file_actions_addclose: { params: ["buf", "i32"], result: "i32" },
  // int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *file_actions, int fildes,
  //                                      const char *path, int oflag, mode_t mode)
  posix_spawn_file_actions_addopen: { params: ["buf", "i32", "buf", "i32", "u32"], result: "i32" },
  // int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *file_actions, int lowfd):
  // glibc >= 2.34 (close_range in the child)
  posix_spawn_file_actions_addclosefrom_np: { params: ["buf", "i32"], result: "i32", optional: true, os: "linux" },
  // int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *file_actions, const char *path):
  // glibc >= 2.29, macOS >= 10.15
  posix_spawn_file_actions_addchdir_np: { params: ["buf", "buf"], result: "i32", optional: true },
  // int posix_spawnattr_init(posix_spawnattr_t *attr)
  posix_spawnattr_init: { params: ["buf"], result: "i32" },
  // int posix_spawnattr_destroy(posix_spawnattr_t *attr)
  posix_spawnattr_destroy: { params: ["buf"], result: "i32" },
  // int posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags): a short travels as an int
  posix_spawnattr_setflags: { params: ["buf", "i32"], result: "i32" },
  // int posix_spawnattr_setsigdefault(posix_spawnattr_t *attr, const sigset_t *sigdefault)
  posix_spawnattr_setsigdefault: { params: ["buf", "buf"], result: "i32" },
  // int posix_spawnattr_setsigmask(posix_spawnattr_t *attr, const sigset_t *sigmask)
  posix_spawnattr_setsigmask: { params: ["buf", "buf"], result: "i32" },
  // int posix_spawnattr_setpgroup(posix_spawnattr_t *attr, pid_t pgroup)
  posix_spawnattr_setpgroup: { params: ["buf", "i32"], result: "i32" },
  // int sigemptyset(sigset_t *set)
  sigemptyset: { params: ["buf"], result: "i32" },
  // int sigaddset(sigset_t *set, int signum)
  sigaddset: { params: ["buf", "i32"], result: "i32" },
  // int sigfillset(sigset_t *set)
  sigfillset: { params: ["buf"], result: "i32" },
  // pid_t waitpid(pid_t pid, int *wstatus, int options): always for one pid of ours, never -1
  waitpid: { params: ["i32", "buf", "i32"], result: "i32" },
  // int pidfd_open(pid_t pid, unsigned int flags): glibc >= 2.36 (Linux >= 5.3)
  pidfd_open: { params: ["i32", "u32"], result: "i32", optional: true, os: "linux" },
  // long syscall(long number, ...): variadic, called with two longs; for pidfd_open on
  // glibc < 2.36. The result is read as an int (a descriptor or -1).
  syscall: { params: ["i64", "i64", "i64"], result: "i32", optional: true, os: "linux" },
  // int access(const char *pathname, int mode)
  access: { params: ["buf", "i32"], result: "i32" },
  // void *dlsym(void *handle, const char *symbol): in libc since glibc 2.34; with
  // handle = RTLD_DEFAULT (NULL on Linux) it finds `environ`, the live environment
  dlsym: { params: ["buf", "buf"], result: "ptr", optional: true, os: "linux" },
  // char ***_NSGetEnviron(void): macOS's way to reach `environ` from a shared library
  _NSGetEnviron: { params: [], result: "ptr", optional: true, os: "darwin" },
  // char *getenv(const char *name): the live environment (what children inherit), or NULL
  getenv: { params: ["buf"], result: "ptr" },
} as const;
libcSymbols satisfies Record<string, SymbolDef>;

export type LibcSymbols = typeof libcSymbols;

/** Where libc lives, per OS. */
export const libcPath = { linux: "libc.so.6", darwin: "libSystem.B.dylib" } as const;
