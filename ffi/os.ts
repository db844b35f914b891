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
  /** errno number → symbolic name ("ECONNREFUSED"). */
  errnoNames: Record<number, string>;
  /** Signal name → number. */
  signals: Record<string, number>;
}

export function osConstants(os: "linux" | "darwin", arch: "x64" | "arm64"): OsConstants {
  return os === "linux" ? linuxConstants(arch) : darwinConstants(arch);
}
