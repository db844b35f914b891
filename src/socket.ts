/**
 * Socket: the counterpart of Python's `socket.socket`, over libc.
 *
 * Semantics are Python's: a new socket is close-on-exec and blocking;
 * `settimeout(null)` blocks, `settimeout(0)` (= `setblocking(false)`) raises
 * BlockingIOError instead of waiting, and `settimeout(t > 0)` makes each
 * operation wait with poll(2) up to `t` seconds, then raise
 * TimeoutError("timed out"). A blocking or timed operation holds the
 * JavaScript thread, as it holds Python's; the event loop uses non-blocking
 * sockets only.
 *
 * Addresses are Python's shapes (see sockaddr.ts). Hosts in addresses given
 * to bind/connect/sendto must be numeric (`"127.0.0.1"`, `"::1"`,
 * `"fe80::1%eth0"`), `""` (the wildcard address), `"<broadcast>"`, or
 * `"localhost"` (resolved synchronously by libc from /etc/hosts): Python
 * would run a blocking DNS lookup here, which would freeze the event loop;
 * any other name raises GaiError EAI_NONAME saying to resolve it with
 * `loop.getaddrinfo()` first.
 *
 * Hot paths (send, recv, recvfrom, sendto, accept) use module scratch
 * buffers and try the system call first; the timeout machinery only runs
 * when a call fails with EAGAIN/EINTR.
 */

import { C, libc, native } from "./native.ts";
import { codeToErrno, OSError, raiseErrno, TimeoutError, ValueError } from "./errors.ts";
import { formatValue } from "./format.ts";
import {
  decodeSockaddr,
  parseIP,
  scopeIndex,
  type SocketAddress,
  writeInetSockaddr,
  writeUnixSockaddr,
} from "./sockaddr.ts";
import { resolveHostSync } from "./dns.ts";

export type { SocketAddress } from "./sockaddr.ts";

// ---- constants, as Python's socket module exports them (undefined where this OS lacks one) ----

/** Address family: any (in getaddrinfo hints; Python's `socket.AF_UNSPEC`). */
export const AF_UNSPEC: number = C.AF_UNSPEC;
/** Address family: Unix-domain sockets, addressed by path (Python's `socket.AF_UNIX`). */
export const AF_UNIX: number = C.AF_UNIX;
/** Address family: IPv4 (Python's `socket.AF_INET`). */
export const AF_INET: number = C.AF_INET;
/** Address family: IPv6 (Python's `socket.AF_INET6`). */
export const AF_INET6: number = C.AF_INET6;
/** Socket type: a reliable byte stream (TCP; Python's `socket.SOCK_STREAM`). */
export const SOCK_STREAM: number = C.SOCK_STREAM;
/** Socket type: datagrams (UDP; Python's `socket.SOCK_DGRAM`). */
export const SOCK_DGRAM: number = C.SOCK_DGRAM;
/** Socket type: raw network-layer packets (Python's `socket.SOCK_RAW`). */
export const SOCK_RAW: number = C.SOCK_RAW;
/** Socket type: reliable datagrams in order, boundaries kept (Python's `socket.SOCK_SEQPACKET`). */
export const SOCK_SEQPACKET: number = C.SOCK_SEQPACKET;
/** Socket type flag: non-blocking from creation (Python's `socket.SOCK_NONBLOCK`); Linux only (0 elsewhere): `new Socket(family, SOCK_STREAM | SOCK_NONBLOCK)`. */
export const SOCK_NONBLOCK: number = C.SOCK_NONBLOCK;
/** Socket type flag: close-on-exec (Linux only, 0 elsewhere; every Socket gets it anyway; Python's `socket.SOCK_CLOEXEC`). */
export const SOCK_CLOEXEC: number = C.SOCK_CLOEXEC;
/** The system's largest listen backlog (Python's `socket.SOMAXCONN`). */
export const SOMAXCONN: number = C.SOMAXCONN;

/** Option level: the socket itself, for the SO_* options (Python's `socket.SOL_SOCKET`). */
export const SOL_SOCKET: number = C.SOL_SOCKET;
/** Option level: IP (the same as IPPROTO_IP; Python's `socket.SOL_IP`). */
export const SOL_IP: number = C.SOL_IP;
/** Option level: TCP (the same as IPPROTO_TCP; Python's `socket.SOL_TCP`). */
export const SOL_TCP: number = C.SOL_TCP;
/** Option level: UDP (the same as IPPROTO_UDP; Python's `socket.SOL_UDP`). */
export const SOL_UDP: number = C.SOL_UDP;
/** Socket option: whether the socket listens (read-only; Python's `socket.SO_ACCEPTCONN`). */
export const SO_ACCEPTCONN: number = C.SO_ACCEPTCONN;
/** Socket option: allow sending to broadcast addresses (Python's `socket.SO_BROADCAST`). */
export const SO_BROADCAST: number = C.SO_BROADCAST;
/** Socket option: kernel debugging records (Python's `socket.SO_DEBUG`). */
export const SO_DEBUG: number = C.SO_DEBUG;
/** Socket option: bypass routing, reach directly connected hosts only (Python's `socket.SO_DONTROUTE`). */
export const SO_DONTROUTE: number = C.SO_DONTROUTE;
/** Socket option: read and clear the pending error (how a non-blocking connect reports its outcome; Python's `socket.SO_ERROR`). */
export const SO_ERROR: number = C.SO_ERROR;
/** Socket option: send TCP keepalive probes on idle connections (Python's `socket.SO_KEEPALIVE`). */
export const SO_KEEPALIVE: number = C.SO_KEEPALIVE;
/** Socket option: how long close() waits for unsent data (a struct linger, as bytes; Python's `socket.SO_LINGER`). */
export const SO_LINGER: number = C.SO_LINGER;
/** Socket option: deliver out-of-band data inline (Python's `socket.SO_OOBINLINE`). */
export const SO_OOBINLINE: number = C.SO_OOBINLINE;
/** Socket option: the kernel's receive buffer size (Python's `socket.SO_RCVBUF`). */
export const SO_RCVBUF: number = C.SO_RCVBUF;
/** Socket option: the least data a receive waits for (Python's `socket.SO_RCVLOWAT`). */
export const SO_RCVLOWAT: number = C.SO_RCVLOWAT;
/** Socket option: a kernel receive timeout (a struct timeval, as bytes); `settimeout` is the portable way (Python's `socket.SO_RCVTIMEO`). */
export const SO_RCVTIMEO: number = C.SO_RCVTIMEO;
/** Socket option: bind an address whose old connections are still in TIME_WAIT (Python's `socket.SO_REUSEADDR`). */
export const SO_REUSEADDR: number = C.SO_REUSEADDR;
/** Socket option: let several sockets bind the same address and port (Python's `socket.SO_REUSEPORT`). */
export const SO_REUSEPORT: number = C.SO_REUSEPORT;
/** Socket option: the kernel's send buffer size (Python's `socket.SO_SNDBUF`). */
export const SO_SNDBUF: number = C.SO_SNDBUF;
/** Socket option: the least buffer space a send waits for (Python's `socket.SO_SNDLOWAT`). */
export const SO_SNDLOWAT: number = C.SO_SNDLOWAT;
/** Socket option: a kernel send timeout (a struct timeval, as bytes); `settimeout` is the portable way (Python's `socket.SO_SNDTIMEO`). */
export const SO_SNDTIMEO: number = C.SO_SNDTIMEO;
/** Socket option: the socket type (read-only; Python's `socket.SO_TYPE`). */
export const SO_TYPE: number = C.SO_TYPE;
/** Socket option: the address family (read-only); Linux only, undefined elsewhere (Python's `socket.SO_DOMAIN`). */
export const SO_DOMAIN: number | undefined = C.SO_DOMAIN || undefined;
/** Socket option: the protocol (read-only); Linux only, undefined elsewhere (Python's `socket.SO_PROTOCOL`). */
export const SO_PROTOCOL: number | undefined = C.SO_PROTOCOL || undefined;
/** Socket option: bind to a network interface by name; Linux only, undefined elsewhere (Python's `socket.SO_BINDTODEVICE`). */
export const SO_BINDTODEVICE: number | undefined = C.SO_BINDTODEVICE;
/** Socket option: receive the sender's credentials on AF_UNIX sockets; Linux only, undefined elsewhere (Python's `socket.SO_PASSCRED`). */
export const SO_PASSCRED: number | undefined = C.SO_PASSCRED;
/** Socket option: the AF_UNIX peer's pid, uid and gid (a struct ucred, as bytes); Linux only, undefined elsewhere (Python's `socket.SO_PEERCRED`). */
export const SO_PEERCRED: number | undefined = C.SO_PEERCRED;
/** Socket option: the queuing priority of outgoing packets; Linux only, undefined elsewhere (Python's `socket.SO_PRIORITY`). */
export const SO_PRIORITY: number | undefined = C.SO_PRIORITY;
/** Socket option: the firewall mark of outgoing packets; Linux only, undefined elsewhere (Python's `socket.SO_MARK`). */
export const SO_MARK: number | undefined = C.SO_MARK;
/** Socket option: the CPU that handles the socket's packets; Linux only, undefined elsewhere (Python's `socket.SO_INCOMING_CPU`). */
export const SO_INCOMING_CPU: number | undefined = C.SO_INCOMING_CPU;

/** Protocol: IP; also the option level of the IP_* options (Python's `socket.IPPROTO_IP`). */
export const IPPROTO_IP: number = C.IPPROTO_IP;
/** Protocol: IPv6; also the option level of the IPV6_* options (Python's `socket.IPPROTO_IPV6`). */
export const IPPROTO_IPV6: number = C.IPPROTO_IPV6;
/** Protocol: TCP; also the option level of the TCP_* options (Python's `socket.IPPROTO_TCP`). */
export const IPPROTO_TCP: number = C.IPPROTO_TCP;
/** Protocol: UDP (Python's `socket.IPPROTO_UDP`). */
export const IPPROTO_UDP: number = C.IPPROTO_UDP;
/** Protocol: ICMP (Python's `socket.IPPROTO_ICMP`). */
export const IPPROTO_ICMP: number = C.IPPROTO_ICMP;
/** Protocol: ICMPv6 (Python's `socket.IPPROTO_ICMPV6`). */
export const IPPROTO_ICMPV6: number = C.IPPROTO_ICMPV6;
/** Protocol: raw IP packets (Python's `socket.IPPROTO_RAW`). */
export const IPPROTO_RAW: number = C.IPPROTO_RAW;
/** Protocol: SCTP (Python's `socket.IPPROTO_SCTP`). */
export const IPPROTO_SCTP: number = C.IPPROTO_SCTP;

/** TCP option: send small segments at once (no Nagle algorithm; Python's `socket.TCP_NODELAY`). */
export const TCP_NODELAY: number = C.TCP_NODELAY;
/** TCP option: the largest segment size (Python's `socket.TCP_MAXSEG`). */
export const TCP_MAXSEG: number = C.TCP_MAXSEG;
/** TCP option: seconds between keepalive probes (Python's `socket.TCP_KEEPINTVL`). */
export const TCP_KEEPINTVL: number = C.TCP_KEEPINTVL;
/** TCP option: unanswered keepalive probes before the connection is dropped (Python's `socket.TCP_KEEPCNT`). */
export const TCP_KEEPCNT: number = C.TCP_KEEPCNT;
/** TCP option: accept data in the SYN (TCP Fast Open; a queue length on a listener; Python's `socket.TCP_FASTOPEN`). */
export const TCP_FASTOPEN: number = C.TCP_FASTOPEN;
/** TCP option: unsent bytes above which the socket is not writable (Python's `socket.TCP_NOTSENT_LOWAT`). */
export const TCP_NOTSENT_LOWAT: number = C.TCP_NOTSENT_LOWAT;
/** TCP option: idle seconds before the first keepalive probe; Linux only, undefined elsewhere (Python's `socket.TCP_KEEPIDLE`). */
export const TCP_KEEPIDLE: number | undefined = C.TCP_KEEPIDLE;
/** TCP option: idle seconds before the first keepalive probe; macOS only, undefined elsewhere (Python's `socket.TCP_KEEPALIVE`). */
export const TCP_KEEPALIVE: number | undefined = C.TCP_KEEPALIVE;
/** TCP option: hold partial segments until uncorked; Linux only, undefined elsewhere (Python's `socket.TCP_CORK`). */
export const TCP_CORK: number | undefined = C.TCP_CORK;
/** TCP option: acknowledge at once instead of delaying; Linux only, undefined elsewhere (Python's `socket.TCP_QUICKACK`). */
export const TCP_QUICKACK: number | undefined = C.TCP_QUICKACK;
/** TCP option: milliseconds data may stay unacknowledged before the connection is dropped; Linux only, undefined elsewhere (Python's `socket.TCP_USER_TIMEOUT`). */
export const TCP_USER_TIMEOUT: number | undefined = C.TCP_USER_TIMEOUT;
/** TCP option: wake a listener only once data arrives (seconds); Linux only, undefined elsewhere (Python's `socket.TCP_DEFER_ACCEPT`). */
export const TCP_DEFER_ACCEPT: number | undefined = C.TCP_DEFER_ACCEPT;
/** TCP option: connection statistics (a struct tcp_info, as bytes); Linux only, undefined elsewhere (Python's `socket.TCP_INFO`). */
export const TCP_INFO: number | undefined = C.TCP_INFO;
/** TCP option: the congestion-control algorithm's name (bytes); Linux only, undefined elsewhere (Python's `socket.TCP_CONGESTION`). */
export const TCP_CONGESTION: number | undefined = C.TCP_CONGESTION;
/** TCP option: SYN retransmissions before connect gives up; Linux only, undefined elsewhere (Python's `socket.TCP_SYNCNT`). */
export const TCP_SYNCNT: number | undefined = C.TCP_SYNCNT;
/** TCP option: how long an orphaned socket stays in FIN_WAIT2; Linux only, undefined elsewhere (Python's `socket.TCP_LINGER2`). */
export const TCP_LINGER2: number | undefined = C.TCP_LINGER2;
/** TCP option: a bound on the advertised window; Linux only, undefined elsewhere (Python's `socket.TCP_WINDOW_CLAMP`). */
export const TCP_WINDOW_CLAMP: number | undefined = C.TCP_WINDOW_CLAMP;

/** IP option: the type-of-service (DSCP/ECN) byte (Python's `socket.IP_TOS`). */
export const IP_TOS: number = C.IP_TOS;
/** IP option: the time to live of unicast packets (Python's `socket.IP_TTL`). */
export const IP_TTL: number = C.IP_TTL;
/** IP option: on raw sockets, the application writes the IP header (Python's `socket.IP_HDRINCL`). */
export const IP_HDRINCL: number = C.IP_HDRINCL;
/** IP option: IP header options (Python's `socket.IP_OPTIONS`). */
export const IP_OPTIONS: number = C.IP_OPTIONS;
/** IP option: receive IP options as ancillary data (Python's `socket.IP_RECVOPTS`). */
export const IP_RECVOPTS: number = C.IP_RECVOPTS;
/** IP option: receive the TOS byte as ancillary data (Python's `socket.IP_RECVTOS`). */
export const IP_RECVTOS: number = C.IP_RECVTOS;
/** IP option: the interface for outgoing multicast (Python's `socket.IP_MULTICAST_IF`). */
export const IP_MULTICAST_IF: number = C.IP_MULTICAST_IF;
/** IP option: the time to live of multicast packets (Python's `socket.IP_MULTICAST_TTL`). */
export const IP_MULTICAST_TTL: number = C.IP_MULTICAST_TTL;
/** IP option: loop multicast back to local sockets (Python's `socket.IP_MULTICAST_LOOP`). */
export const IP_MULTICAST_LOOP: number = C.IP_MULTICAST_LOOP;
/** IP option: join a multicast group (a struct ip_mreq, as bytes; Python's `socket.IP_ADD_MEMBERSHIP`). */
export const IP_ADD_MEMBERSHIP: number = C.IP_ADD_MEMBERSHIP;
/** IP option: leave a multicast group (a struct ip_mreq, as bytes; Python's `socket.IP_DROP_MEMBERSHIP`). */
export const IP_DROP_MEMBERSHIP: number = C.IP_DROP_MEMBERSHIP;

/** IPv6 option: no IPv4-mapped traffic, so an IPv4 socket can bind the same port (Python's `socket.IPV6_V6ONLY`). */
export const IPV6_V6ONLY: number = C.IPV6_V6ONLY;
/** IPv6 option: the hop limit of unicast packets (Python's `socket.IPV6_UNICAST_HOPS`). */
export const IPV6_UNICAST_HOPS: number = C.IPV6_UNICAST_HOPS;
/** IPv6 option: the interface index for outgoing multicast (Python's `socket.IPV6_MULTICAST_IF`). */
export const IPV6_MULTICAST_IF: number = C.IPV6_MULTICAST_IF;
/** IPv6 option: the hop limit of multicast packets (Python's `socket.IPV6_MULTICAST_HOPS`). */
export const IPV6_MULTICAST_HOPS: number = C.IPV6_MULTICAST_HOPS;
/** IPv6 option: loop multicast back to local sockets (Python's `socket.IPV6_MULTICAST_LOOP`). */
export const IPV6_MULTICAST_LOOP: number = C.IPV6_MULTICAST_LOOP;
/** IPv6 option: join a multicast group (a struct ipv6_mreq, as bytes; Python's `socket.IPV6_JOIN_GROUP`). */
export const IPV6_JOIN_GROUP: number = C.IPV6_JOIN_GROUP;
/** IPv6 option: leave a multicast group (a struct ipv6_mreq, as bytes; Python's `socket.IPV6_LEAVE_GROUP`). */
export const IPV6_LEAVE_GROUP: number = C.IPV6_LEAVE_GROUP;
/** IPv6 option: the traffic class of outgoing packets (Python's `socket.IPV6_TCLASS`). */
export const IPV6_TCLASS: number = C.IPV6_TCLASS;
/** IPv6 option: receive the traffic class as ancillary data (Python's `socket.IPV6_RECVTCLASS`). */
export const IPV6_RECVTCLASS: number = C.IPV6_RECVTCLASS;
/** IPv6 option: the source address and interface of outgoing packets (Python's `socket.IPV6_PKTINFO`). */
export const IPV6_PKTINFO: number = C.IPV6_PKTINFO;
/** IPv6 option: receive destination address and interface as ancillary data (Python's `socket.IPV6_RECVPKTINFO`). */
export const IPV6_RECVPKTINFO: number = C.IPV6_RECVPKTINFO;

/** Message flag: send or receive out-of-band data (Python's `socket.MSG_OOB`). */
export const MSG_OOB: number = C.MSG_OOB;
/** Message flag: look at received data without consuming it (Python's `socket.MSG_PEEK`). */
export const MSG_PEEK: number = C.MSG_PEEK;
/** Message flag: bypass routing for this send (Python's `socket.MSG_DONTROUTE`). */
export const MSG_DONTROUTE: number = C.MSG_DONTROUTE;
/** Message flag: do not block, for this call only (Python's `socket.MSG_DONTWAIT`). */
export const MSG_DONTWAIT: number = C.MSG_DONTWAIT;
/** Message flag: end of record (SOCK_SEQPACKET; Python's `socket.MSG_EOR`). */
export const MSG_EOR: number = C.MSG_EOR;
/** Message flag: the datagram was longer than the buffer (Python's `socket.MSG_TRUNC`). */
export const MSG_TRUNC: number = C.MSG_TRUNC;
/** Message flag: ancillary data was cut short (Python's `socket.MSG_CTRUNC`). */
export const MSG_CTRUNC: number = C.MSG_CTRUNC;
/** Message flag: a receive waits for the full amount (Python's `socket.MSG_WAITALL`). */
export const MSG_WAITALL: number = C.MSG_WAITALL;
/** Message flag: no SIGPIPE on a broken connection (Socket's sends always add it); Linux only, undefined elsewhere (Python's `socket.MSG_NOSIGNAL`). */
export const MSG_NOSIGNAL: number | undefined = C.MSG_NOSIGNAL || undefined;
/** Message flag: descriptors received with SCM_RIGHTS are close-on-exec; Linux only, undefined elsewhere (Python's `socket.MSG_CMSG_CLOEXEC`). */
export const MSG_CMSG_CLOEXEC: number | undefined = C.MSG_CMSG_CLOEXEC;
/** Message flag: the peer answered, so skip neighbour probes; Linux only, undefined elsewhere (Python's `socket.MSG_CONFIRM`). */
export const MSG_CONFIRM: number | undefined = C.MSG_CONFIRM;
/** Message flag: receive from the socket's error queue; Linux only, undefined elsewhere (Python's `socket.MSG_ERRQUEUE`). */
export const MSG_ERRQUEUE: number | undefined = C.MSG_ERRQUEUE;
/** Message flag: more data follows, hold this send back; Linux only, undefined elsewhere (Python's `socket.MSG_MORE`). */
export const MSG_MORE: number | undefined = C.MSG_MORE;
/** Message flag: send the data in the SYN (TCP Fast Open); Linux only, undefined elsewhere (Python's `socket.MSG_FASTOPEN`). */
export const MSG_FASTOPEN: number | undefined = C.MSG_FASTOPEN;
/** Message flag: send, then shut down writing; macOS only, undefined elsewhere (Python's `socket.MSG_EOF`). */
export const MSG_EOF: number | undefined = C.MSG_EOF;

/** `shutdown` argument: no more receives (Python's `socket.SHUT_RD`). */
export const SHUT_RD: number = C.SHUT_RD;
/** `shutdown` argument: no more sends (the peer sees EOF; Python's `socket.SHUT_WR`). */
export const SHUT_WR: number = C.SHUT_WR;
/** `shutdown` argument: no more receives or sends (Python's `socket.SHUT_RDWR`). */
export const SHUT_RDWR: number = C.SHUT_RDWR;

/** The IPv4 wildcard address 0.0.0.0, as a number (Python's `socket.INADDR_ANY`). */
export const INADDR_ANY: number = C.INADDR_ANY;
/** The IPv4 broadcast address 255.255.255.255, as a number (Python's `socket.INADDR_BROADCAST`). */
export const INADDR_BROADCAST: number = C.INADDR_BROADCAST;
/** The IPv4 loopback address 127.0.0.1, as a number (Python's `socket.INADDR_LOOPBACK`). */
export const INADDR_LOOPBACK: number = C.INADDR_LOOPBACK;
/** The invalid IPv4 address marker (0xffffffff; Python's `socket.INADDR_NONE`). */
export const INADDR_NONE: number = C.INADDR_NONE;

/** getaddrinfo flag: with no host, return wildcard addresses to bind (Python's `socket.AI_PASSIVE`). */
export const AI_PASSIVE: number = C.AI_PASSIVE;
/** getaddrinfo flag: put the canonical name in the first result (Python's `socket.AI_CANONNAME`). */
export const AI_CANONNAME: number = C.AI_CANONNAME;
/** getaddrinfo flag: the host must be numeric; no lookup (Python's `socket.AI_NUMERICHOST`). */
export const AI_NUMERICHOST: number = C.AI_NUMERICHOST;
/** getaddrinfo flag: the port must be numeric (Python's `socket.AI_NUMERICSERV`). */
export const AI_NUMERICSERV: number = C.AI_NUMERICSERV;
/** getaddrinfo flag: for AF_INET6 with no IPv6 address, return IPv4-mapped ones (Python's `socket.AI_V4MAPPED`). */
export const AI_V4MAPPED: number = C.AI_V4MAPPED;
/** getaddrinfo flag: with AI_V4MAPPED, return IPv6 and IPv4-mapped addresses both (Python's `socket.AI_ALL`). */
export const AI_ALL: number = C.AI_ALL;
/** getaddrinfo flag: only families this host has an address in (Python's `socket.AI_ADDRCONFIG`). */
export const AI_ADDRCONFIG: number = C.AI_ADDRCONFIG;
/** getaddrinfo flag: AI_V4MAPPED_CFG | AI_ADDRCONFIG; macOS only, undefined elsewhere (Python's `socket.AI_DEFAULT`). */
export const AI_DEFAULT: number | undefined = C.AI_DEFAULT;
/** getaddrinfo flag: every flag getaddrinfo accepts; macOS only, undefined elsewhere (Python's `socket.AI_MASK`). */
export const AI_MASK: number | undefined = C.AI_MASK;
/** getaddrinfo flag: AI_V4MAPPED when the system supports it; macOS only, undefined elsewhere (Python's `socket.AI_V4MAPPED_CFG`). */
export const AI_V4MAPPED_CFG: number | undefined = C.AI_V4MAPPED_CFG;

/** getnameinfo flag: the numeric host, no reverse lookup (Python's `socket.NI_NUMERICHOST`). */
export const NI_NUMERICHOST: number = C.NI_NUMERICHOST;
/** getnameinfo flag: the numeric port, no service name (Python's `socket.NI_NUMERICSERV`). */
export const NI_NUMERICSERV: number = C.NI_NUMERICSERV;
/** getnameinfo flag: only the host part of local names (Python's `socket.NI_NOFQDN`). */
export const NI_NOFQDN: number = C.NI_NOFQDN;
/** getnameinfo flag: fail (EAI_NONAME) rather than return a numeric host (Python's `socket.NI_NAMEREQD`). */
export const NI_NAMEREQD: number = C.NI_NAMEREQD;
/** getnameinfo flag: look the port up as a UDP service (Python's `socket.NI_DGRAM`). */
export const NI_DGRAM: number = C.NI_DGRAM;
/** The longest host name getnameinfo returns (Python's `socket.NI_MAXHOST`). */
export const NI_MAXHOST: number = C.NI_MAXHOST;
/** The longest service name getnameinfo returns (Python's `socket.NI_MAXSERV`). */
export const NI_MAXSERV: number = C.NI_MAXSERV;
/** getnameinfo flag: the numeric IPv6 scope; macOS only, undefined elsewhere (Python's `socket.NI_NUMERICSCOPE`). */
export const NI_NUMERICSCOPE: number | undefined = C.NI_NUMERICSCOPE;

/** GaiError code: the host has no address in the requested family (Python's `socket.EAI_ADDRFAMILY`). */
export const EAI_ADDRFAMILY: number = C.EAI_ADDRFAMILY;
/** GaiError code: a temporary failure in name resolution; try again later (Python's `socket.EAI_AGAIN`). */
export const EAI_AGAIN: number = C.EAI_AGAIN;
/** GaiError code: invalid flags (Python's `socket.EAI_BADFLAGS`). */
export const EAI_BADFLAGS: number = C.EAI_BADFLAGS;
/** GaiError code: a non-recoverable failure in name resolution (Python's `socket.EAI_FAIL`). */
export const EAI_FAIL: number = C.EAI_FAIL;
/** GaiError code: the address family is not supported (Python's `socket.EAI_FAMILY`). */
export const EAI_FAMILY: number = C.EAI_FAMILY;
/** GaiError code: out of memory (Python's `socket.EAI_MEMORY`). */
export const EAI_MEMORY: number = C.EAI_MEMORY;
/** GaiError code: the host has no address (Python's `socket.EAI_NODATA`). */
export const EAI_NODATA: number = C.EAI_NODATA;
/** GaiError code: unknown host or service (or a name where a number was required; Python's `socket.EAI_NONAME`). */
export const EAI_NONAME: number = C.EAI_NONAME;
/** GaiError code: a result buffer was too small (Python's `socket.EAI_OVERFLOW`). */
export const EAI_OVERFLOW: number = C.EAI_OVERFLOW;
/** GaiError code: the service is not available for the socket type (Python's `socket.EAI_SERVICE`). */
export const EAI_SERVICE: number = C.EAI_SERVICE;
/** GaiError code: the socket type is not supported (Python's `socket.EAI_SOCKTYPE`). */
export const EAI_SOCKTYPE: number = C.EAI_SOCKTYPE;
/** GaiError code: a system error, in errno (Python's `socket.EAI_SYSTEM`). */
export const EAI_SYSTEM: number = C.EAI_SYSTEM;
/** GaiError code: invalid hints; macOS only, undefined elsewhere (Python's `socket.EAI_BADHINTS`). */
export const EAI_BADHINTS: number | undefined = C.EAI_BADHINTS;
/** GaiError code: the resolved protocol is unknown; macOS only, undefined elsewhere (Python's `socket.EAI_PROTOCOL`). */
export const EAI_PROTOCOL: number | undefined = C.EAI_PROTOCOL;

// ---- internals ----

const EBADF = codeToErrno("EBADF");
const EINTR = codeToErrno("EINTR");
const EAGAIN = codeToErrno("EAGAIN");
const EINPROGRESS = codeToErrno("EINPROGRESS");
const ECONNRESET = codeToErrno("ECONNRESET");
const EAFNOSUPPORT = codeToErrno("EAFNOSUPPORT");
const EINVAL = codeToErrno("EINVAL");
const NONBLOCK_FLAGS = C.SOCK_NONBLOCK | C.SOCK_CLOEXEC;

// Scratch shared by every socket; each call is synchronous, so none overlaps.
// Small receives land in `scratch` and are copied out at their exact size.
const scratch = new Uint8Array(new ArrayBuffer(64 * 1024));
const sa = new Uint8Array(new ArrayBuffer(C.SOCKADDR_STORAGE_SIZE));
const saLen = new Uint8Array(new ArrayBuffer(4));
const saLenView = new DataView(saLen.buffer);
const hostBytes = new Uint8Array(new ArrayBuffer(16));
const opt = new Uint8Array(new ArrayBuffer(1024));
const optView = new DataView(opt.buffer);
const optLen = new Uint8Array(new ArrayBuffer(4));
const optLenView = new DataView(optLen.buffer);
const pollfd = new Uint8Array(new ArrayBuffer(8));
const pollView = new DataView(pollfd.buffer);

/** The last numeric host parsed for an address (sendto in a loop parses the same one). */
let lastHost = "", lastFamily = -1, lastScope = 0;
const lastBytes = new Uint8Array(new ArrayBuffer(16));

/** The largest buffer recv/recvfrom allocate: more than any socket buffer holds, so no read returns more. */
const MAX_RECV = 1 << 26;

/** Whether `b` was detached (transferred): its views have no bytes any more and must not reach a system call. */
export function isDetached(b: ArrayBufferLike): boolean {
  const d = (b as { detached?: boolean }).detached;
  if (typeof d === "boolean") return d;
  if (b.byteLength !== 0) return false;
  try {
    new Uint8Array(b);
    return false;
  } catch {
    return true;
  }
}

/** View any ArrayBufferView as bytes; TypeError for anything else (strings included) and for detached buffers. */
export function asBytes(data: unknown, what = "data"): Uint8Array {
  if (ArrayBuffer.isView(data) && isDetached(data.buffer)) {
    throw new TypeError(`${what} is a view of a detached ArrayBuffer`);
  }
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const kind = typeof data === "string" ? "a string" : formatValue(data);
  throw new TypeError(`${what} must be a bytes-like object (Uint8Array or another ArrayBufferView), not ${kind}`);
}

/** The buffers of an iterable of bytes-like objects (`writelines`); TypeError for anything else. */
export function asBytesList(list: unknown, what = "list"): Uint8Array[] {
  if (typeof list !== "object" || list === null || typeof (list as Iterable<unknown>)[Symbol.iterator] !== "function") {
    throw new TypeError(`${what} must be an iterable of bytes-like objects, got ${formatValue(list)}`);
  }
  if (ArrayBuffer.isView(list) && isDetached(list.buffer)) throw new TypeError(`${what} is a view of a detached ArrayBuffer`);
  return Array.from(list as Iterable<unknown>, (d) => asBytes(d, `an item of ${what}`));
}

function checkInt(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, got ${formatValue(v)}`);
  return v;
}

/** An integer a C `int` parameter holds: ValueError outside its range (Python's OverflowError); -0 becomes 0 (no integer to Deno's FFI). */
function checkCInt(v: unknown, what: string): number {
  checkInt(v, what);
  if ((v as number) < -0x80000000 || (v as number) > 0x7fffffff) throw new ValueError(`${what} ${v} does not fit in a C int`);
  return (v as number) | 0;
}

function checkSize(n: unknown, what: string): number {
  checkInt(n, what);
  if ((n as number) < 0) throw new ValueError(`negative ${what}`);
  return (n as number) + 0; // -0 → 0
}

/** A timeout in seconds (-1 for none) from Python's `None | float >= 0`. */
function parseTimeout(t: unknown): number {
  if (t === null || t === undefined) return -1;
  if (typeof t !== "number") throw new TypeError(`timeout must be a number of seconds or null, not ${formatValue(t)}`);
  if (Number.isNaN(t)) throw new ValueError("Invalid timeout value NaN (not a number)");
  if (t < 0 || !Number.isFinite(t)) throw new ValueError("Timeout value out of range");
  return t;
}

function setNonblocking(fd: number, on: boolean): void {
  const fl = libc.fcntl(fd, C.F_GETFL, 0);
  if (fl < 0) raiseErrno("fcntl(F_GETFL)");
  const next = on ? fl | C.O_NONBLOCK : fl & ~C.O_NONBLOCK;
  if (next !== fl && libc.fcntl(fd, C.F_SETFL, next) < 0) raiseErrno("fcntl(F_SETFL)");
}

let defaultTimeout = -1;

/** The timeout new sockets get (Python's `socket.getdefaulttimeout()`): null means blocking. */
export function getdefaulttimeout(): number | null {
  return defaultTimeout < 0 ? null : defaultTimeout;
}

/** Set the timeout new sockets (and accepted ones) get; null (the default) makes them blocking. */
export function setdefaulttimeout(timeout: number | null): void {
  defaultTimeout = parseTimeout(timeout);
}

/**
 * The address bytes (into `hostBytes`) and scope of `host` for a socket of
 * `family`: numeric text, "" (any), "<broadcast>", or "localhost".
 */
function hostToBytes(family: number, host: string): number {
  const v6 = family === C.AF_INET6;
  if (host === "") {
    hostBytes.fill(0);
    return 0;
  }
  if (host === "<broadcast>" || host === "255.255.255.255") {
    if (v6) throw new OSError(EAFNOSUPPORT, undefined, "address family mismatched");
    hostBytes.fill(255, 0, 4);
    return 0;
  }
  if (host === lastHost && family === lastFamily) {
    hostBytes.set(lastBytes);
    return lastScope;
  }
  const pct = v6 ? host.indexOf("%") : -1;
  let scope = 0;
  let ok = parseIP(family, pct < 0 ? host : host.slice(0, pct), hostBytes);
  if (ok && pct >= 0) {
    scope = scopeIndex(host.slice(pct + 1));
    ok = scope >= 0;
  }
  if (!ok) {
    // Not numeric for this family: let libc judge, without touching the network.
    const r = resolveHostSync(family, host, /^localhost\.?$/i.test(host));
    hostBytes.set(r.bytes);
    return r.scopeId;
  }
  lastHost = host;
  lastFamily = family;
  lastScope = scope;
  lastBytes.set(hostBytes);
  return scope;
}

/** Encode an AF_INET/AF_INET6 address into `sa`; returns its length. */
function encodeInet(family: number, address: unknown, what: string): number {
  const v6 = family === C.AF_INET6;
  const shape = v6 ? "[host, port, flowinfo?, scopeId?]" : "[host, port]";
  const name = v6 ? "AF_INET6" : "AF_INET";
  if (!Array.isArray(address)) throw new TypeError(`${what}: ${name} address must be an array ${shape}, not ${formatValue(address)}`);
  if (v6 ? address.length < 2 || address.length > 4 : address.length !== 2) {
    throw new TypeError(`${what}: ${name} address must be ${shape}, got ${formatValue(address)}`);
  }
  const [host, port, flowinfo = 0, scopeId = 0] = address as unknown[];
  if (typeof host !== "string") throw new TypeError(`${what}: host must be a string, not ${formatValue(host)}`);
  if (host.includes("\0")) throw new ValueError(`${what}: host contains an embedded null character`);
  checkInt(port, `${what}: port`);
  if ((port as number) < 0 || (port as number) > 0xffff) throw new ValueError(`${what}: port must be 0-65535.`);
  if (v6) {
    checkInt(flowinfo, `${what}: flowinfo`);
    checkInt(scopeId, `${what}: scopeId`);
    if ((flowinfo as number) < 0 || (flowinfo as number) > 0xfffff) throw new ValueError(`${what}: flowinfo must be 0-1048575.`);
    if ((scopeId as number) < 0 || (scopeId as number) > 0xffffffff) throw new ValueError(`${what}: scopeId must be 0-4294967295.`);
  }
  const scope = hostToBytes(family, host);
  return writeInetSockaddr(sa, v6 ? hostBytes : hostBytes.subarray(0, 4), port as number, flowinfo as number, (scopeId as number) || scope);
}

// Set by adopt() around a constructor call: the new socket's timeout is known.
let adopting = -2;

/** A Socket for a descriptor whose mode we know (`timeout` -1: blocking, as accept4/socketpair make it). */
function adopt(family: number, type: number, proto: number, fd: number): Socket {
  if (defaultTimeout >= 0) setNonblocking(fd, true);
  adopting = defaultTimeout;
  try {
    return new Socket(family, type, proto, fd);
  } finally {
    adopting = -2;
  }
}

/**
 * A socket (Python's `socket.socket`). Methods raise OSError subclasses
 * with `errno` and `code` ("ECONNREFUSED"), TypeError/ValueError for bad
 * arguments, OSError EBADF once closed.
 *
 * @example
 * ```ts
 * import { AF_INET, SOCK_STREAM, Socket } from "tsyncio";
 *
 * const srv = new Socket(AF_INET, SOCK_STREAM);
 * srv.bind(["127.0.0.1", 0]);
 * srv.listen();
 * const cli = new Socket(AF_INET, SOCK_STREAM);
 * cli.connect(srv.getsockname()); // the backlog completes the handshake: no wait
 * const [conn, addr] = srv.accept();
 * conn.sendall(new TextEncoder().encode("hi"));
 * console.log(addr, cli.recv(2));
 * for (const s of [conn, cli, srv]) s.close();
 * ```
 */
export class Socket {
  #fd: number;
  /** Seconds; -1: none (blocking), 0: non-blocking. */
  #timeout: number;
  /** The address family: AF_INET, AF_INET6, AF_UNIX, ... (Python's `socket.family`). */
  readonly family: number;
  /** The socket type without the SOCK_NONBLOCK/SOCK_CLOEXEC flags, as in Python 3.7+ (Python's `socket.type`). */
  readonly type: number;
  /** The protocol number, usually 0 (Python's `socket.proto`). */
  readonly proto: number;

  /**
   * A new socket, or (with `fileno`) one adopting an existing descriptor;
   * then -1 for `family`, `type` or `proto` asks the descriptor. New
   * sockets are close-on-exec and get the default timeout (blocking unless
   * `setdefaulttimeout` said otherwise, or `type` has SOCK_NONBLOCK); an
   * adopted descriptor keeps its mode (non-blocking means timeout 0).
   * @param fileno a descriptor to adopt (Python's `socket.socket(fileno=...)`); `close()` then closes it
   */
  constructor(family: number = AF_INET, type: number = SOCK_STREAM, proto = 0, fileno?: number) {
    family = checkCInt(family, "family");
    type = checkCInt(type, "type");
    proto = checkCInt(proto, "proto");
    if (fileno !== undefined) {
      if (typeof fileno !== "number" || !Number.isInteger(fileno) || fileno < 0 || fileno > 0x7fffffff) {
        throw new ValueError(`negative or invalid file descriptor: ${formatValue(fileno)}`);
      }
      fileno = fileno | 0;
      this.#fd = fileno;
      if (adopting !== -2) {
        this.#timeout = adopting;
      } else {
        const fl = libc.fcntl(fileno, C.F_GETFL, 0);
        if (fl < 0) raiseErrno("fcntl(F_GETFL)");
        if (fl & C.O_NONBLOCK) {
          this.#timeout = 0;
        } else {
          this.#timeout = defaultTimeout;
          if (defaultTimeout >= 0) setNonblocking(fileno, true);
        }
      }
      if (family === -1 || type === -1 || proto === -1) [family, type, proto] = detect(fileno, family, type, proto);
    } else {
      if (family === -1) family = AF_INET;
      if (type === -1) type = SOCK_STREAM;
      if (proto === -1) proto = 0;
      this.#fd = libc.socket(family, type | C.SOCK_CLOEXEC, proto);
      if (this.#fd < 0) raiseErrno("socket()");
      if (!C.SOCK_CLOEXEC) libc.fcntl(this.#fd, C.F_SETFD, C.FD_CLOEXEC);
      this.#timeout = C.SOCK_NONBLOCK && type & C.SOCK_NONBLOCK ? 0 : defaultTimeout;
      if (this.#timeout >= 0) setNonblocking(this.#fd, true);
    }
    this.family = family;
    // As Python 3.7+: the type flags are not part of the type.
    this.type = NONBLOCK_FLAGS ? type & ~NONBLOCK_FLAGS : type;
    this.proto = proto;
  }

  /** The descriptor, or -1 once closed or detached. */
  fileno(): number {
    return this.#fd;
  }

  #check(): number {
    if (this.#fd < 0) throw OSError.fromErrno(EBADF, "the socket is closed");
    return this.#fd;
  }

  /**
   * After a failed call: retry on EINTR; on EAGAIN with a timeout, wait for
   * `events` (computing the deadline on first use) and retry; else throw.
   * Returns the deadline for the next round.
   */
  #retry(context: string, events: number, deadline: number): number {
    const errno = native.errno();
    if (errno === EINTR) return deadline;
    if (errno === EAGAIN && this.#timeout > 0) {
      if (deadline < 0) deadline = native.now() + this.#timeout * 1000;
      this.#waitFor(events, deadline);
      return deadline;
    }
    throw OSError.fromErrno(errno, context);
  }

  /** Wait with poll(2) until the descriptor has `events`, or throw TimeoutError at `deadline` (ms, native.now()). */
  #waitFor(events: number, deadline: number): void {
    for (;;) {
      const left = deadline - native.now();
      if (left <= 0) throw new TimeoutError();
      pollView.setInt32(0, this.#fd, true);
      pollView.setInt16(4, events, true);
      pollView.setInt16(6, 0, true);
      // Round up: a wait shorter than asked would spin (as CPython's selectors and mio do).
      const r = libc.poll(pollfd, 1, deadline === Infinity ? -1 : Math.ceil(left));
      if (r > 0) return; // ready, or an error the retried call will report
      if (r < 0) {
        const errno = native.errno();
        if (errno !== EINTR) throw OSError.fromErrno(errno, "poll()");
      }
    }
  }

  /** Encode `address` for this socket's family into the sockaddr scratch; returns its length. */
  #encode(address: unknown, what: string): number {
    if (this.family === C.AF_INET || this.family === C.AF_INET6) return encodeInet(this.family, address, what);
    if (this.family === C.AF_UNIX) {
      if (typeof address === "string") return writeUnixSockaddr(sa, address);
      if (address instanceof Uint8Array) return writeUnixSockaddr(sa, asBytes(address, `${what}: address`));
      throw new TypeError(`${what}: AF_UNIX address must be a path string, not ${formatValue(address)}`);
    }
    throw new OSError(EAFNOSUPPORT, undefined, `${what}: addresses of family ${this.family} are not supported`);
  }

  // ---- blocking mode and timeouts ----

  /** `setblocking(true)` is `settimeout(null)`; `setblocking(false)` is `settimeout(0)`. */
  setblocking(flag: boolean): void {
    this.settimeout(flag ? null : 0);
  }

  /** False only when the timeout is 0 (Python: `gettimeout() != 0`). */
  getblocking(): boolean {
    this.#check();
    return this.#timeout !== 0;
  }

  /**
   * null: operations block; 0: they raise BlockingIOError instead of
   * waiting; seconds > 0: they wait up to that long, then raise
   * TimeoutError("timed out"). The descriptor is O_NONBLOCK unless null.
   */
  settimeout(timeout: number | null): void {
    const t = parseTimeout(timeout);
    setNonblocking(this.#check(), t >= 0);
    this.#timeout = t;
  }

  /** The timeout in seconds, or null when blocking. */
  gettimeout(): number | null {
    return this.#timeout < 0 ? null : this.#timeout;
  }

  // ---- addresses and connections ----

  /** Bind to `address` (`[host, port]`, `[host, port, flowinfo, scopeId]` or a path). */
  bind(address: unknown): void {
    const fd = this.#check();
    const len = this.#encode(address, "bind()");
    if (libc.bind(fd, sa, len) < 0) raiseErrno(`bind(${formatValue(address)})`);
  }

  /** Listen for connections; `backlog` defaults to min(SOMAXCONN, 128), as in Python. */
  listen(backlog: number = Math.min(C.SOMAXCONN, 128)): void {
    checkInt(backlog, "backlog");
    if (libc.listen(this.#check(), Math.max(0, Math.min(backlog, 0x7fffffff))) < 0) raiseErrno("listen()");
  }

  /**
   * Connect to `address`. Blocking sockets wait for the connection; a timed
   * one waits up to its timeout (TimeoutError); a non-blocking one raises
   * BlockingIOError (EINPROGRESS) while the connection proceeds.
   */
  connect(address: unknown): void {
    this.#connect(address, true);
  }

  /**
   * `connect` that returns the errno instead of raising it: 0 on success,
   * EINPROGRESS for a non-blocking socket, ECONNREFUSED, ... (Python's
   * `connect_ex`). Address errors still throw.
   */
  connectEx(address: unknown): number {
    return this.#connect(address, false);
  }

  #connect(address: unknown, raise: boolean): number {
    const fd = this.#fd;
    if (fd < 0 && !raise) {
      this.#encode(address, "connect_ex()");
      return EBADF;
    }
    this.#check();
    const len = this.#encode(address, raise ? "connect()" : "connect_ex()");
    if (libc.connect(fd, sa, len) === 0) return 0;
    let err = native.errno();
    // The connection goes on in the background: a timed socket waits for it,
    // and so does a blocking one whose connect() a signal interrupted.
    if ((err === EINPROGRESS && this.#timeout > 0) || (err === EINTR && this.#timeout !== 0)) {
      try {
        this.#waitFor(C.POLLOUT, this.#timeout > 0 ? native.now() + this.#timeout * 1000 : Infinity);
      } catch (e) {
        if (!raise && e instanceof TimeoutError) return EAGAIN;
        throw e;
      }
      err = this.getsockopt(C.SOL_SOCKET, C.SO_ERROR);
      if (err === 0) return 0;
    }
    if (raise) throw OSError.fromErrno(err, `connect(${formatValue(address)})`);
    return err;
  }

  /**
   * Accept a connection: `[socket, address]`. The new socket is blocking
   * (or gets the default timeout), close-on-exec, and of this socket's
   * family, type and protocol.
   */
  accept(): [Socket, SocketAddress] {
    const fd = this.#check();
    let nfd: number;
    for (let deadline = -1;;) {
      saLenView.setUint32(0, sa.byteLength, true);
      nfd = libc.accept4 ? libc.accept4(fd, sa, saLen, C.SOCK_CLOEXEC) : libc.accept(fd, sa, saLen);
      if (nfd >= 0) break;
      deadline = this.#retry("accept()", C.POLLIN, deadline);
    }
    const address = decodeSockaddr(sa, Math.min(saLenView.getUint32(0, true), sa.byteLength));
    if (!libc.accept4) {
      // accept(2) leaves close-on-exec unset, and on the BSDs copies O_NONBLOCK from the listener.
      libc.fcntl(nfd, C.F_SETFD, C.FD_CLOEXEC);
      setNonblocking(nfd, false);
    }
    return [adopt(this.family, this.type, this.proto, nfd), address];
  }

  /** The address this socket is bound to. */
  getsockname(): SocketAddress {
    const fd = this.#check();
    saLenView.setUint32(0, sa.byteLength, true);
    if (libc.getsockname(fd, sa, saLen) < 0) raiseErrno("getsockname()");
    return decodeSockaddr(sa, Math.min(saLenView.getUint32(0, true), sa.byteLength));
  }

  /** The address of the peer (OSError ENOTCONN when not connected). */
  getpeername(): SocketAddress {
    const fd = this.#check();
    saLenView.setUint32(0, sa.byteLength, true);
    if (libc.getpeername(fd, sa, saLen) < 0) raiseErrno("getpeername()");
    return decodeSockaddr(sa, Math.min(saLenView.getUint32(0, true), sa.byteLength));
  }

  // ---- data ----

  /** Send bytes; returns how many were sent. BlockingIOError when a non-blocking socket is full. */
  send(data: ArrayBufferView, flags = 0): number {
    flags = checkCInt(flags, "flags");
    const bytes = asBytes(data);
    const fd = this.#check();
    for (let deadline = -1;;) {
      const n = libc.send(fd, bytes, bytes.byteLength, flags | C.MSG_NOSIGNAL);
      if (n >= 0) return n;
      deadline = this.#retry("send()", C.POLLOUT, deadline);
    }
  }

  /**
   * Send all bytes. A timeout bounds the whole call (as in Python 3.5+); a
   * non-blocking socket may raise BlockingIOError part way.
   */
  sendall(data: ArrayBufferView, flags = 0): void {
    flags = checkCInt(flags, "flags");
    let bytes = asBytes(data);
    const fd = this.#check();
    let deadline = -1;
    while (bytes.byteLength > 0) {
      const n = libc.send(fd, bytes, bytes.byteLength, flags | C.MSG_NOSIGNAL);
      if (n >= 0) bytes = bytes.subarray(n);
      else deadline = this.#retry("sendall()", C.POLLOUT, deadline);
    }
  }

  /** Send a datagram to `address`: `sendto(data, address)` or `sendto(data, flags, address)`. */
  sendto(data: ArrayBufferView, address: unknown): number;
  /** Send a datagram to `address` with `flags` (MSG_*); returns how many bytes were sent. */
  sendto(data: ArrayBufferView, flags: number, address: unknown): number;
  sendto(data: ArrayBufferView, ...rest: unknown[]): number {
    if (rest.length < 1 || rest.length > 2) throw new TypeError(`sendto() takes 2 or 3 arguments (${rest.length + 1} given)`);
    const bytes = asBytes(data);
    const flags = rest.length === 2 ? checkCInt(rest[0], "flags") : 0;
    const fd = this.#check();
    const len = this.#encode(rest[rest.length - 1], "sendto()");
    for (let deadline = -1;;) {
      const n = libc.sendto(fd, bytes, bytes.byteLength, flags | C.MSG_NOSIGNAL, sa, len);
      if (n >= 0) return n;
      deadline = this.#retry("sendto()", C.POLLOUT, deadline);
    }
  }

  /** Receive up to `bufsize` bytes; an empty array means EOF. */
  recv(bufsize: number, flags = 0): Uint8Array {
    bufsize = checkSize(bufsize, "buffersize");
    flags = checkCInt(flags, "flags");
    const fd = this.#check();
    // recv(2) with length 0 would block or fail on an empty socket; Python answers at once.
    if (bufsize === 0) return new Uint8Array(0);
    // No read returns more than a socket buffer holds: a huge size is capped, not allocated.
    bufsize = Math.min(bufsize, MAX_RECV);
    const buf = bufsize <= scratch.byteLength ? scratch : new Uint8Array(new ArrayBuffer(bufsize));
    for (let deadline = -1;;) {
      const n = libc.recv(fd, buf, bufsize, flags);
      if (n >= 0) return buf === scratch ? scratch.slice(0, n) : buf.subarray(0, n);
      deadline = this.#retry("recv()", C.POLLIN, deadline);
    }
  }

  /** Receive into `buffer` (up to `nbytes`, default its length); returns the count. */
  recvInto(buffer: ArrayBufferView, nbytes = 0, flags = 0): number {
    flags = checkCInt(flags, "flags");
    const bytes = asBytes(buffer, "buffer");
    checkSize(nbytes, "nbytes");
    if (nbytes > bytes.byteLength) throw new ValueError("buffer too small for requested bytes");
    const fd = this.#check();
    const len = nbytes || bytes.byteLength;
    if (len === 0) return 0;
    for (let deadline = -1;;) {
      const n = libc.recv(fd, bytes, len, flags);
      if (n >= 0) return n;
      deadline = this.#retry("recv_into()", C.POLLIN, deadline);
    }
  }

  /** Receive a datagram of up to `bufsize` bytes: `[data, address]` (address null when the sender has none). */
  recvfrom(bufsize: number, flags = 0): [Uint8Array, SocketAddress] {
    bufsize = checkSize(bufsize, "buffersize");
    flags = checkCInt(flags, "flags");
    const fd = this.#check();
    bufsize = Math.min(bufsize, MAX_RECV);
    const buf = bufsize <= scratch.byteLength ? scratch : new Uint8Array(new ArrayBuffer(bufsize));
    for (let deadline = -1;;) {
      saLenView.setUint32(0, sa.byteLength, true);
      const n = libc.recvfrom(fd, buf, bufsize, flags, sa, saLen);
      if (n >= 0) {
        const data = buf === scratch ? scratch.slice(0, n) : buf.subarray(0, n);
        return [data, decodeSockaddr(sa, Math.min(saLenView.getUint32(0, true), sa.byteLength))];
      }
      deadline = this.#retry("recvfrom()", C.POLLIN, deadline);
    }
  }

  /** Receive a datagram into `buffer` (up to `nbytes`, default its length): `[count, address]`. */
  recvfromInto(buffer: ArrayBufferView, nbytes = 0, flags = 0): [number, SocketAddress] {
    flags = checkCInt(flags, "flags");
    const bytes = asBytes(buffer, "buffer");
    checkSize(nbytes, "nbytes");
    if (nbytes > bytes.byteLength) throw new ValueError("nbytes is greater than the length of the buffer");
    const fd = this.#check();
    const len = nbytes || bytes.byteLength;
    for (let deadline = -1;;) {
      saLenView.setUint32(0, sa.byteLength, true);
      const n = libc.recvfrom(fd, bytes, len, flags, sa, saLen);
      if (n >= 0) return [n, decodeSockaddr(sa, Math.min(saLenView.getUint32(0, true), sa.byteLength))];
      deadline = this.#retry("recvfrom_into()", C.POLLIN, deadline);
    }
  }

  // ---- options ----

  /**
   * Set a socket option: an integer (or boolean) value is passed as a C
   * int; bytes are passed as they are; `null` with `optlen` passes NULL.
   */
  setsockopt(level: number, optname: number, value: number | boolean | ArrayBufferView | null, optlen?: number): void {
    level = checkCInt(level, "level");
    optname = checkCInt(optname, "optname");
    const fd = this.#check();
    let r: number;
    if (value === null) {
      optlen = checkSize(optlen, "optlen");
      if (optlen > 0x7fffffff) throw new ValueError(`optlen ${optlen} does not fit in a socklen_t`);
      r = libc.setsockopt(fd, level, optname, null, optlen);
    } else if (typeof value === "number" || typeof value === "boolean") {
      const v = typeof value === "boolean" ? +value : checkInt(value, "value") + 0;
      if (v < -0x80000000 || v > 0x7fffffff) throw new ValueError(`setsockopt(): value ${v} does not fit in a C int`);
      optView.setInt32(0, v, true);
      r = libc.setsockopt(fd, level, optname, opt, 4);
    } else {
      const b = asBytes(value, "value");
      r = libc.setsockopt(fd, level, optname, b, b.byteLength);
    }
    if (r < 0) raiseErrno("setsockopt()");
  }

  /**
   * Read a socket option: a C int, or (with `buflen`, 1..1024) the raw
   * bytes the kernel returned.
   */
  getsockopt(level: number, optname: number): number;
  /** Read a socket option as the raw bytes the kernel returned (at most `buflen`, 1..1024). */
  getsockopt(level: number, optname: number, buflen: number): Uint8Array;
  getsockopt(level: number, optname: number, buflen?: number): number | Uint8Array {
    level = checkCInt(level, "level");
    optname = checkCInt(optname, "optname");
    const fd = this.#check();
    if (buflen === undefined) {
      optView.setInt32(0, 0, true);
      optLenView.setUint32(0, 4, true);
      if (libc.getsockopt(fd, level, optname, opt, optLen) < 0) raiseErrno("getsockopt()");
      return optView.getInt32(0, true);
    }
    checkInt(buflen, "buflen");
    if (buflen <= 0 || buflen > opt.byteLength) throw new OSError(EINVAL, undefined, "getsockopt buflen out of range");
    opt.fill(0, 0, buflen);
    optLenView.setUint32(0, buflen, true);
    if (libc.getsockopt(fd, level, optname, opt, optLen) < 0) raiseErrno("getsockopt()");
    return opt.slice(0, Math.min(optLenView.getUint32(0, true), buflen));
  }

  // ---- ending ----

  /** Shut down reading (SHUT_RD), writing (SHUT_WR) or both (SHUT_RDWR). */
  shutdown(how: number): void {
    how = checkCInt(how, "how");
    if (libc.shutdown(this.#check(), how) < 0) raiseErrno("shutdown()");
  }

  /** Close the descriptor; closing twice is a no-op (ECONNRESET from close is ignored, as Python does). */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    if (libc.close(fd) < 0) {
      const errno = native.errno();
      if (errno !== ECONNRESET) throw OSError.fromErrno(errno, "close()");
    }
  }

  /** Forget the descriptor without closing it, and return it. */
  detach(): number {
    const fd = this.#fd;
    this.#fd = -1;
    return fd;
  }

  /** Python's repr: descriptor, family, type, protocol, and the local and remote addresses when there are any. */
  toString(): string {
    const fd = this.#fd;
    let s = `<Socket fd=${fd}, family=${this.family}, type=${this.type}, proto=${this.proto}`;
    if (fd >= 0) {
      for (const [name, get] of [["laddr", () => this.getsockname()], ["raddr", () => this.getpeername()]] as const) {
        try {
          const a = get();
          if (a !== null && a !== "") s += `, ${name}=${JSON.stringify(a)}`;
        } catch { /* not bound / not connected */ }
      }
    }
    return s + ">";
  }

  /** Close the socket at the end of a `using` block (Python's `with socket:`). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** family, type and proto of an adopted descriptor, for the ones given as -1. */
function detect(fd: number, family: number, type: number, proto: number): [number, number, number] {
  const intOption = (name: number): number => {
    optView.setInt32(0, 0, true);
    optLenView.setUint32(0, 4, true);
    if (libc.getsockopt(fd, C.SOL_SOCKET, name, opt, optLen) < 0) raiseErrno("getsockopt()");
    return optView.getInt32(0, true);
  };
  if (family === -1) {
    saLenView.setUint32(0, sa.byteLength, true);
    if (libc.getsockname(fd, sa, saLen) < 0) raiseErrno("getsockname()");
    family = C.SA_LEN ? sa[1] : sa[0] | (sa[1] << 8);
  }
  if (type === -1) type = intOption(C.SO_TYPE);
  if (proto === -1) proto = C.SO_PROTOCOL ? intOption(C.SO_PROTOCOL) : 0;
  return [family, type, proto];
}

/** A pair of connected sockets (AF_UNIX, SOCK_STREAM by default), both close-on-exec. */
export function socketpair(family: number = AF_UNIX, type: number = SOCK_STREAM, proto = 0): [Socket, Socket] {
  family = checkCInt(family, "family");
  type = checkCInt(type, "type");
  proto = checkCInt(proto, "proto");
  const fds = new Int32Array(new ArrayBuffer(8));
  if (libc.socketpair(family, type | C.SOCK_CLOEXEC, proto, new Uint8Array(fds.buffer)) < 0) raiseErrno("socketpair()");
  if (!C.SOCK_CLOEXEC) for (const fd of fds) libc.fcntl(fd, C.F_SETFD, C.FD_CLOEXEC);
  if (C.SOCK_NONBLOCK && type & C.SOCK_NONBLOCK) {
    return [new Socket(family, type, proto, fds[0]), new Socket(family, type, proto, fds[1])];
  }
  return [adopt(family, type, proto, fds[0]), adopt(family, type, proto, fds[1])];
}

/** A Socket adopting an existing descriptor (Python's `socket.fromfd` dups it; this one does not). */
export function fromFd(fd: number, family: number, type: number, proto = 0): Socket {
  return new Socket(family, type, proto, fd);
}
