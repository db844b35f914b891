/*
 * The floor of bench/run_net.mjs: a single-threaded, level-triggered epoll
 * TCP echo server in plain C. Whatever a connection sends is written back;
 * what the kernel does not take at once is kept per connection and sent on
 * EPOLLOUT (reading from that connection pauses meanwhile, as a transport's
 * flow control would).
 *
 *   cc -O2 -o echo_server bench/net/echo_server.c && ./echo_server 127.0.0.1 9000
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFSZ (256 * 1024)

typedef struct {
  int fd;
  char *pend;     /* bytes read but not yet written back */
  size_t len, off;
} conn_t;

static char buf[BUFSZ];

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void drop(int ep, conn_t *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->pend);
  free(c);
}

/* Write c's pending bytes; 1 when all are out, 0 when some remain, -1 on error. */
static int flush(conn_t *c) {
  while (c->off < c->len) {
    ssize_t n = send(c->fd, c->pend + c->off, c->len - c->off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0;
      return -1;
    }
    c->off += (size_t)n;
  }
  c->off = c->len = 0;
  return 1;
}

int main(int argc, char **argv) {
  const char *host = argc > 1 ? argv[1] : "127.0.0.1";
  int port = argc > 2 ? atoi(argv[2]) : 9000;
  signal(SIGPIPE, SIG_IGN);

  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (ls < 0) die("socket");
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) die("inet_pton");
  if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  if (listen(ls, 4096) < 0) die("listen");

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  fprintf(stderr, "echo_server listening on %s:%d\n", host, port);

  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c == NULL) { /* the listening socket */
        for (;;) {
          int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn_t *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          struct epoll_event e = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
        }
        continue;
      }
      if (evs[i].events & EPOLLOUT) {
        int r = flush(c);
        if (r < 0) { drop(ep, c); continue; }
        if (r == 1) { /* all out: read again */
          struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        }
        continue;
      }
      if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t r = recv(c->fd, buf, BUFSZ, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) { drop(ep, c); continue; }
        if (r < 0) continue;
        ssize_t w = send(c->fd, buf, (size_t)r, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) { drop(ep, c); continue; }
        if (w < 0) w = 0;
        if (w < r) { /* keep the rest; wait for EPOLLOUT, stop reading */
          c->pend = realloc(c->pend, (size_t)(r - w));
          memcpy(c->pend, buf + w, (size_t)(r - w));
          c->len = (size_t)(r - w);
          c->off = 0;
          struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        }
      }
    }
  }
}
