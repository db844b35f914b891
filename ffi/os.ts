/** Per-OS constants, selected once from the runtime's OS and architecture. */

import { linuxConstants } from "./linux.ts";
import { darwinConstants } from "./darwin.ts";

export interface OsConstants {
  EPOLL_EVENT_SIZE: number; EPOLL_DATA_OFFSET: number;
  EPOLLIN: number; EPOLLPRI: number; EPOLLOUT: number; EPOLLERR: number; EPOLLHUP: number; EPOLLRDHUP: number;
  EPOLL_CTL_ADD: number; EPOLL_CTL_DEL: number; EPOLL_CTL_MOD: number; EPOLL_CLOEXEC: number;
  EFD_CLOEXEC: number; EFD_NONBLOCK: number;
  POLLIN: number; POLLPRI: number; POLLOUT: number; POLLERR: number; POLLHUP: number; POLLNVAL: number;
  O_NONBLOCK: number; O_CLOEXEC: number;
  F_GETFD: number; F_SETFD: number; F_GETFL: number; F_SETFL: number; FD_CLOEXEC: number;
  CLOCK_MONOTONIC: number;
  AF_UNSPEC: number; AF_UNIX: number; AF_INET: number; AF_INET6: number;
  SOCK_STREAM: number; SOCK_DGRAM: number; SOCK_RAW: number; SOCK_SEQPACKET: number;
  SOCK_NONBLOCK: number; SOCK_CLOEXEC: number;
  SOL_SOCKET: number; SO_REUSEADDR: number; SO_TYPE: number; SO_ERROR: number; SO_BROADCAST: number;
  SO_SNDBUF: number; SO_RCVBUF: number; SO_KEEPALIVE: number; SO_REUSEPORT: number; SO_DOMAIN: number;
  SO_PROTOCOL: number;
  IPPROTO_IP: number; IPPROTO_TCP: number; IPPROTO_UDP: number; IPPROTO_IPV6: number; TCP_NODELAY: number;
  MSG_PEEK: number; MSG_DONTWAIT: number; MSG_NOSIGNAL: number;
  SHUT_RD: number; SHUT_WR: number; SHUT_RDWR: number;
  /** struct stat: its size and where st_mode sits; the S_IF* file types. */
  STAT_SIZE: number; STAT_MODE_OFFSET: number;
  S_IFMT: number; S_IFREG: number; S_IFIFO: number; S_IFSOCK: number; S_IFCHR: number; S_IFDIR: number;
  /** struct stat: where st_dev and st_ino sit (both 8 bytes on Linux; st_dev is 4 bytes on macOS). */
  STAT_DEV_OFFSET: number; STAT_INO_OFFSET: number;

  // ---- networking ----
  /** Type flags and options that exist on one OS only are `undefined` on the other (Python omits them). */
  SOMAXCONN: number;
  SO_ACCEPTCONN: number; SO_DEBUG: number; SO_DONTROUTE: number; SO_LINGER: number; SO_OOBINLINE: number;
  SO_RCVLOWAT: number; SO_SNDLOWAT: number; SO_RCVTIMEO: number; SO_SNDTIMEO: number;
  SO_BINDTODEVICE?: number; SO_PASSCRED?: number; SO_PEERCRED?: number; SO_PRIORITY?: number; SO_MARK?: number;
  SO_INCOMING_CPU?: number; SO_NOSIGPIPE?: number;
  SOL_IP: number; SOL_TCP: number; SOL_UDP: number;
  IPPROTO_ICMP: number; IPPROTO_ICMPV6: number; IPPROTO_RAW: number; IPPROTO_SCTP: number;
  TCP_MAXSEG: number; TCP_KEEPINTVL: number; TCP_KEEPCNT: number; TCP_FASTOPEN: number; TCP_NOTSENT_LOWAT: number;
  TCP_KEEPIDLE?: number; TCP_KEEPALIVE?: number; TCP_CORK?: number; TCP_QUICKACK?: number; TCP_USER_TIMEOUT?: number;
  TCP_DEFER_ACCEPT?: number; TCP_INFO?: number; TCP_CONGESTION?: number; TCP_SYNCNT?: number;
  TCP_LINGER2?: number; TCP_WINDOW_CLAMP?: number;
  IP_TOS: number; IP_TTL: number; IP_HDRINCL: number; IP_OPTIONS: number; IP_RECVOPTS: number;
  IP_MULTICAST_IF: number; IP_MULTICAST_TTL: number; IP_MULTICAST_LOOP: number;
  IP_ADD_MEMBERSHIP: number; IP_DROP_MEMBERSHIP: number; IP_RECVTOS: number;
  IPV6_V6ONLY: number; IPV6_UNICAST_HOPS: number; IPV6_MULTICAST_IF: number; IPV6_MULTICAST_HOPS: number;
  IPV6_MULTICAST_LOOP: number; IPV6_JOIN_GROUP: number; IPV6_LEAVE_GROUP: number; IPV6_TCLASS: number;
  IPV6_RECVPKTINFO: number; IPV6_PKTINFO: number; IPV6_RECVTCLASS: number;
  MSG_OOB: number; MSG_DONTROUTE: number; MSG_EOR: number; MSG_TRUNC: number; MSG_CTRUNC: number; MSG_WAITALL: number;
  MSG_CMSG_CLOEXEC?: number; MSG_CONFIRM?: number; MSG_ERRQUEUE?: number; MSG_MORE?: number; MSG_FASTOPEN?: number;
  MSG_EOF?: number;
  INADDR_ANY: number; INADDR_BROADCAST: number; INADDR_LOOPBACK: number; INADDR_NONE: number;
  AI_PASSIVE: number; AI_CANONNAME: number; AI_NUMERICHOST: number; AI_NUMERICSERV: number;
  AI_V4MAPPED: number; AI_ALL: number; AI_ADDRCONFIG: number; AI_DEFAULT?: number; AI_MASK?: number;
  AI_V4MAPPED_CFG?: number;
  NI_NUMERICHOST: number; NI_NUMERICSERV: number; NI_NOFQDN: number; NI_NAMEREQD: number; NI_DGRAM: number;
  NI_MAXHOST: number; NI_MAXSERV: number; NI_NUMERICSCOPE?: number;
  /** getaddrinfo/getnameinfo error codes (negative on Linux, positive on macOS), and code → name. */
  EAI_ADDRFAMILY: number; EAI_AGAIN: number; EAI_BADFLAGS: number; EAI_FAIL: number; EAI_FAMILY: number;
  EAI_MEMORY: number; EAI_NODATA: number; EAI_NONAME: number; EAI_OVERFLOW: number; EAI_SERVICE: number;
  EAI_SOCKTYPE: number; EAI_SYSTEM: number; EAI_BADHINTS?: number; EAI_PROTOCOL?: number;
  eaiNames: Record<number, string>;
  /** Socket address layouts: BSDs start every sockaddr with a length byte (`sa_len`) before an 8-bit family. */
  SA_LEN: boolean;
  SOCKADDR_IN_SIZE: number; SOCKADDR_IN6_SIZE: number; SOCKADDR_UN_SIZE: number; SOCKADDR_STORAGE_SIZE: number;
  /** struct addrinfo (LP64): size and field offsets (ai_addr and ai_canonname swap places on the BSDs). */
  ADDRINFO_SIZE: number; AI_ADDRLEN_OFFSET: number; AI_ADDR_OFFSET: number; AI_CANONNAME_OFFSET: number;
  AI_NEXT_OFFSET: number;

  // ---- processes ----
  /** posix_spawnattr flags (POSIX_SPAWN_SETSID: glibc >= 2.26, macOS). */
  POSIX_SPAWN_SETPGROUP: number; POSIX_SPAWN_SETSIGDEF: number; POSIX_SPAWN_SETSIGMASK: number;
  POSIX_SPAWN_SETSID: number;
  /**
   * Bytes to allocate for posix_spawn_file_actions_t, posix_spawnattr_t and
   * sigset_t: at least their size (80, 336 and 128 on glibc LP64), rounded up.
   */
  SPAWN_FILE_ACTIONS_SIZE: number; SPAWNATTR_SIZE: number; SIGSET_SIZE: number;
  WNOHANG: number;
  O_RDWR: number;
  F_DUPFD_CLOEXEC: number;
  X_OK: number;
  /** The pidfd_open system call number (the same on every Linux architecture); 0 elsewhere. */
  SYS_pidfd_open: number;

  /** errno number → symbolic name ("ECONNREFUSED"). */
  errnoNames: Record<number, string>;
  /** Signal name → number. */
  signals: Record<string, number>;
}

export function osConstants(os: "linux" | "darwin", arch: "x64" | "arm64"): OsConstants {
  return os === "linux" ? linuxConstants(arch) : darwinConstants(arch);
}
