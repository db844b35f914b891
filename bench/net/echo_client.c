/*
 * Load generator of bench/run_net.mjs: a single-threaded epoll TCP client.
 * Prints ONE JSON line on stdout; errors go into it as "error".
 *
 *   cc -O2 -o echo_client bench/net/echo_client.c
 *
 * pingpong: CONNS connections, each strictly ping-pong: send SIZE bytes, wait
 *   until all SIZE echoed bytes are back, check them, repeat. WARMUP seconds
 *   are run and discarded, then SECONDS are measured: round trips, bytes
 *   echoed, latency percentiles (send of the first byte to receipt of the
 *   last), and, given --pid, the CPU time the server spent in that window
 *   (the first field of /proc/PID/task/TID/schedstat, over all threads of PID and of
 *   its descendants), sampled right at the window's start and end.
 *
 *   echo_client --mode=pingpong --port=P [--host=127.0.0.1] --conns=N --size=S
 *               --warmup=W --seconds=D [--pid=SERVER_PID] [--spin=1]
 *   --spin=1 busy-polls (epoll_wait with a zero timeout): for a client with a
 *   core of its own, so that its wake-ups stay out of the figures. A server
 *   that echoes nothing for 5 s ends the run with an error.
 *
 * hold: opens CONNS connections (at most --inflight connecting at once), does
 *   one 1-byte echo on each so the server has surely accepted it, holds them
 *   all, waits --settle seconds, then reads the server's VmRSS and closes them
 *   all with RST (no TIME_WAIT left behind). Gives up at --timeout seconds,
 *   or when no connection got its echo for 10 s.
 *
 *   echo_client --mode=hold --port=P --conns=K [--timeout=60] [--settle=1] [--pid=SERVER_PID]
 *
 * Loopback only: the host must be 127.x.x.x.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---------- options ---------- */
static const char *o_mode = "pingpong", *o_host = "127.0.0.1";
static int o_port = 0, o_conns = 1, o_size = 64, o_pid = 0, o_inflight = 128, o_spin = 0;
static double o_warmup = 1, o_seconds = 3, o_timeout = 60, o_settle = 1;

static void fail(const char *fmt, const char *detail) {
  printf("{\"mode\":\"%s\",\"error\":\"", o_mode);
  printf(fmt, detail);
  printf("\"}\n");
  fflush(stdout);
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---------- /proc sampling ---------- */

/* Nanoseconds on CPU of every thread of pid and, recursively, of its children. */
static uint64_t cpu_ns(int pid, int depth) {
  char path[96];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *d = opendir(path);
  if (!d) return 0;
  uint64_t sum = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char p[320];
    snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", pid, e->d_name);
    FILE *f = fopen(p, "r");
    if (f) {
      unsigned long long ns = 0;
      if (fscanf(f, "%llu", &ns) == 1) sum += ns;
      fclose(f);
    }
    if (depth < 4) {
      snprintf(p, sizeof p, "/proc/%d/task/%s/children", pid, e->d_name);
      f = fopen(p, "r");
      if (f) {
        int child;
        while (fscanf(f, "%d", &child) == 1) sum += cpu_ns(child, depth + 1);
        fclose(f);
      }
    }
  }
  closedir(d);
  return sum;
}

static uint64_t self_cpu_ns(void) {
  FILE *f = fopen("/proc/thread-self/schedstat", "r");
  unsigned long long ns = 0;
  if (f) {
    if (fscanf(f, "%llu", &ns) != 1) ns = 0;
    fclose(f);
  }
  return ns;
}

/* Seconds all CPUs spent busy in tasks or stolen by the hypervisor (user, nice,
 * system, steal; not irq/softirq, which is partly the loopback traffic itself),
 * from /proc/stat. */
static double busy_s(void) {
  FILE *f = fopen("/proc/stat", "r");
  unsigned long long u = 0, ni = 0, sy = 0, id = 0, io = 0, irq = 0, sirq = 0, st = 0;
  if (f) {
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &u, &ni, &sy, &id, &io, &irq, &sirq, &st) < 8) u = ni = sy = st = 0;
    fclose(f);
  }
  (void)irq;
  (void)sirq;
  return (double)(u + ni + sy + st) / (double)sysconf(_SC_CLK_TCK);
}

static long rss_kib(int pid) {
  char p[64], line[256];
  snprintf(p, sizeof p, "/proc/%d/status", pid);
  FILE *f = fopen(p, "r");
  if (!f) return -1;
  long kib = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  fclose(f);
  return kib;
}

static int pid_alive(int pid) {
  char p[64];
  snprintf(p, sizeof p, "/proc/%d/stat", pid);
  FILE *f = fopen(p, "r");
  if (!f) return 0;
  char st = '?';
  int ok = fscanf(f, "%*d %*s %c", &st) == 1;
  fclose(f);
  return ok && st != 'Z' && st != 'X';
}

/* ---------- sockets ---------- */
static struct sockaddr_in target;

static int start_connect(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&target, sizeof target) < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static int sock_error(int fd) {
  int err = 0;
  socklen_t l = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0) return errno;
  return err;
}

/* ---------- pingpong ---------- */
#define PERIOD 251 /* the pattern's period: prime, so each round's bytes differ */
#define HIST_NS 100 /* histogram resolution */
#define HIST_N 1000000 /* up to 100 ms */

typedef struct {
  int fd;
  size_t sent, recvd;
  uint64_t t0;
  unsigned shift;
  int want_out;
} pp_t;

static unsigned char *pat; /* PERIOD + size bytes of i % PERIOD, scrambled */
static uint32_t *hist;
static uint64_t hist_over, hist_n, lat_max;

static void hist_add(uint64_t ns) {
  uint64_t b = ns / HIST_NS;
  if (b >= HIST_N) hist_over++;
  else hist[b]++;
  hist_n++;
  if (ns > lat_max) lat_max = ns;
}

static double hist_pct(double p) {
  if (hist_n == 0) return -1;
  uint64_t rank = (uint64_t)(p / 100.0 * (double)hist_n + 0.999999);
  if (rank < 1) rank = 1;
  uint64_t acc = 0;
  for (uint64_t b = 0; b < HIST_N; b++) {
    acc += hist[b];
    if (acc >= rank) return ((double)b + 0.5) * HIST_NS / 1000.0;
  }
  return (double)lat_max / 1000.0; /* in the overflow: report the max */
}

static int pp_send(int ep, pp_t *c) {
  while (c->sent < (size_t)o_size) {
    ssize_t n = send(c->fd, pat + c->shift + c->sent, (size_t)o_size - c->sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return -1;
    }
    c->sent += (size_t)n;
  }
  int want = c->sent < (size_t)o_size;
  if (want != c->want_out) {
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
  }
  return 0;
}

static int pingpong(void) {
  pat = malloc((size_t)o_size + PERIOD);
  for (size_t i = 0; i < (size_t)o_size + PERIOD; i++) pat[i] = (unsigned char)((i % PERIOD) * 97 + 13);
  hist = calloc(HIST_N, sizeof *hist);
  size_t rbufsz = (size_t)o_size < 262144 ? 262144 : (size_t)o_size;
  unsigned char *rbuf = malloc(rbufsz);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  pp_t *cs = calloc((size_t)o_conns, sizeof *cs);

  /* connect all, each within 5 s */
  for (int i = 0; i < o_conns; i++) {
    int fd = start_connect();
    if (fd < 0) fail("connect: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    struct epoll_event got;
    int n = epoll_wait(ep, &got, 1, 5000);
    if (n <= 0) fail("connect: %s", "timed out after 5 s");
    int err = sock_error(fd);
    if (err) fail("connect: %s", strerror(err));
    cs[i].fd = fd;
    cs[i].shift = (unsigned)(i * 17) % PERIOD;
    struct epoll_event ev2 = {.events = EPOLLIN, .data.ptr = &cs[i]};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev2);
  }

  double t_start = now_s();
  double t_ws = t_start + o_warmup, t_we = t_ws + o_seconds;
  int measuring = o_warmup <= 0;
  uint64_t rts = 0, bytes = 0, cpu0 = 0, cpu1 = 0, self0 = self_cpu_ns(), self1;
  double busy0 = busy_s(), busy1;
  double ws = t_start, we = 0;
  if (measuring && o_pid) cpu0 = cpu_ns(o_pid, 0);
  const char *err = NULL;
  char errbuf[200];

  for (int i = 0; i < o_conns; i++) {
    cs[i].t0 = now_ns();
    if (pp_send(ep, &cs[i]) < 0) fail("send: %s", strerror(errno));
  }

  struct epoll_event evs[256];
  uint64_t done_total = 0, last_done = 0; /* round trips, warm-up included */
  double last_progress = now_s();
  for (;;) {
    double t = now_s();
    if (!measuring && t >= t_ws) {
      if (o_pid) cpu0 = cpu_ns(o_pid, 0);
      self0 = self_cpu_ns();
      busy0 = busy_s();
      ws = now_s();
      measuring = 1;
      rts = bytes = 0;
      memset(hist, 0, HIST_N * sizeof *hist);
      hist_n = hist_over = lat_max = 0;
    }
    if (measuring && t >= t_we) break;
    double next = measuring ? t_we : t_ws;
    int tmo = (int)((next - t) * 1000) + 1;
    if (tmo > 200) tmo = 200;
    int n = epoll_wait(ep, evs, 256, o_spin ? 0 : tmo);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("epoll_wait: %s", strerror(errno));
    }
    for (int k = 0; k < n && !err; k++) {
      pp_t *c = evs[k].data.ptr;
      if (evs[k].events & EPOLLOUT) {
        if (pp_send(ep, c) < 0) {
          snprintf(errbuf, sizeof errbuf, "send: %s", strerror(errno));
          err = errbuf;
        }
      }
      if (!(evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      ssize_t r = recv(c->fd, rbuf, rbufsz, 0);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0) {
        snprintf(errbuf, sizeof errbuf, "connection %s by the server after %llu round trips",
                 r == 0 ? "closed" : strerror(errno), (unsigned long long)rts);
        err = errbuf;
        break;
      }
      if (c->recvd + (size_t)r > c->sent) {
        err = "the server sent more bytes than it was sent";
        break;
      }
      if (memcmp(rbuf, pat + c->shift + c->recvd, (size_t)r) != 0) {
        err = "echoed bytes differ from those sent";
        break;
      }
      c->recvd += (size_t)r;
      if (c->recvd == (size_t)o_size) {
        uint64_t t1 = now_ns();
        done_total++;
        if (measuring) {
          hist_add(t1 - c->t0);
          rts++;
          bytes += (uint64_t)o_size;
        }
        c->sent = c->recvd = 0;
        c->shift = (c->shift + 1) % PERIOD;
        c->t0 = t1;
        if (pp_send(ep, c) < 0) {
          snprintf(errbuf, sizeof errbuf, "send: %s", strerror(errno));
          err = errbuf;
        }
      }
    }
    if (err) break;
    /* a server that stops answering for 5 s is reported, not waited for */
    double tn = now_s();
    if (done_total != last_done) {
      last_done = done_total;
      last_progress = tn;
    } else if (tn - last_progress > 5.0) {
      err = "no echo for 5 s (server stalled)";
      break;
    }
  }
  we = now_s();
  if (!err && rts == 0) err = "no round trip completed in the measured window (server stalled?)";
  if (o_pid) cpu1 = cpu_ns(o_pid, 0);
  self1 = self_cpu_ns();
  busy1 = busy_s();
  for (int i = 0; i < o_conns; i++) close(cs[i].fd);

  double secs = we - ws;
  printf("{\"mode\":\"pingpong\",\"conns\":%d,\"size\":%d,\"seconds\":%.4f,\"roundTrips\":%llu,\"bytes\":%llu,"
         "\"rtPerSec\":%.1f,\"mibPerSec\":%.2f,\"p50Us\":%.2f,\"p99Us\":%.2f,\"maxUs\":%.1f,\"over100ms\":%llu",
         o_conns, o_size, secs, (unsigned long long)rts, (unsigned long long)bytes,
         secs > 0 ? rts / secs : 0, secs > 0 ? bytes / secs / 1048576.0 : 0,
         hist_pct(50), hist_pct(99), lat_max / 1000.0, (unsigned long long)hist_over);
  if (o_pid && measuring) {
    double cpu = (double)(cpu1 - cpu0);
    printf(",\"serverCpuNs\":%.0f,\"serverCpuFraction\":%.4f,\"serverCpuUsPerRt\":%.3f", cpu, secs > 0 ? cpu / 1e9 / secs : 0,
           rts ? cpu / 1000.0 / (double)rts : -1);
  }
  /* what else ran meanwhile (other processes, steal, our own idle overhead): a noise gauge */
  double other = (busy1 - busy0) - (double)(self1 - self0) / 1e9 - (o_pid ? (double)(cpu1 - cpu0) / 1e9 : 0);
  printf(",\"clientCpuFraction\":%.4f,\"otherCpuFraction\":%.4f", secs > 0 ? (double)(self1 - self0) / 1e9 / secs : 0,
         secs > 0 && other > 0 ? other / secs : 0);
  if (err) printf(",\"error\":\"%s\"", err);
  printf("}\n");
  fflush(stdout);
  return err ? 1 : 0;
}

/* ---------- hold ---------- */
enum { H_CONNECTING = 1, H_ECHO = 2, H_HELD = 3 };

static int hold(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  if ((long)rl.rlim_cur < (long)o_conns + 32) {
    char b[96];
    snprintf(b, sizeof b, "RLIMIT_NOFILE %ld is too low for %d connections", (long)rl.rlim_cur, o_conns);
    fail("%s", b);
  }
  long rss0 = o_pid ? rss_kib(o_pid) : -1;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int *fds = malloc(sizeof(int) * (size_t)o_conns);
  unsigned char *state = calloc((size_t)o_conns, 1);
  int opened = 0, inflight = 0, held = 0, failed = 0;
  double t0 = now_s(), deadline = t0 + o_timeout, last_progress = t0;
  int last_held = 0;
  const char *err = NULL;
  char errbuf[200];
  struct epoll_event evs[512];

  while (held < o_conns && !err) {
    while (opened < o_conns && inflight < o_inflight) {
      int fd = start_connect();
      if (fd < 0) {
        snprintf(errbuf, sizeof errbuf, "connect #%d: %s", opened, strerror(errno));
        err = errbuf;
        break;
      }
      fds[opened] = fd;
      state[opened] = H_CONNECTING;
      struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)opened};
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      opened++;
      inflight++;
    }
    if (err) break;
    double t = now_s();
    if (held != last_held) {
      last_held = held;
      last_progress = t;
    }
    if (t > deadline || t - last_progress > 10) {
      snprintf(errbuf, sizeof errbuf, "%s with %d of %d held", t > deadline ? "timed out" : "no progress for 10 s", held, o_conns);
      err = errbuf;
      break;
    }
    int n = epoll_wait(ep, evs, 512, 200);
    if (n < 0 && errno != EINTR) fail("epoll_wait: %s", strerror(errno));
    for (int k = 0; k < n; k++) {
      uint32_t i = evs[k].data.u32;
      int fd = fds[i];
      if (state[i] == H_CONNECTING) {
        int e = sock_error(fd);
        if (e) {
          snprintf(errbuf, sizeof errbuf, "connect #%u: %s", i, strerror(e));
          err = errbuf;
          failed++;
          break;
        }
        if (send(fd, "h", 1, MSG_NOSIGNAL) != 1) {
          snprintf(errbuf, sizeof errbuf, "send #%u: %s", i, strerror(errno));
          err = errbuf;
          break;
        }
        state[i] = H_ECHO;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
      } else if (state[i] == H_ECHO) {
        char b[8];
        ssize_t r = recv(fd, b, sizeof b, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r != 1 || b[0] != 'h') {
          snprintf(errbuf, sizeof errbuf, "connection #%u: %s", i, r < 0 ? strerror(errno) : r == 0 ? "closed by the server" : "bad echo");
          err = errbuf;
          break;
        }
        state[i] = H_HELD;
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        held++;
        inflight--;
      }
    }
  }
  double t_conn = now_s() - t0;
  long rss1 = -1, cpu_alive = 1;
  if (!err) {
    struct timespec ts = {(time_t)o_settle, (long)((o_settle - (double)(time_t)o_settle) * 1e9)};
    nanosleep(&ts, NULL);
    if (o_pid) {
      rss1 = rss_kib(o_pid);
      cpu_alive = pid_alive(o_pid);
    }
  }
  /* RST every connection: nothing lingers in TIME_WAIT */
  struct linger lg = {1, 0};
  for (int i = 0; i < opened; i++) {
    setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fds[i]);
  }
  printf("{\"mode\":\"hold\",\"conns\":%d,\"held\":%d,\"connectSeconds\":%.3f,\"rssBeforeKiB\":%ld,\"rssKiB\":%ld",
         o_conns, held, t_conn, rss0, rss1);
  if (!cpu_alive) err = "the server died";
  if (err) printf(",\"error\":\"%s\"", err);
  (void)failed;
  printf("}\n");
  fflush(stdout);
  return err ? 1 : 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  for (int i = 1; i < argc; i++) {
    char *a = argv[i], *v = strchr(a, '=');
    if (strncmp(a, "--", 2) != 0 || !v) {
      fprintf(stderr, "bad argument %s\n", a);
      return 2;
    }
    *v++ = 0;
    a += 2;
    if (!strcmp(a, "mode")) o_mode = v;
    else if (!strcmp(a, "host")) o_host = v;
    else if (!strcmp(a, "port")) o_port = atoi(v);
    else if (!strcmp(a, "conns")) o_conns = atoi(v);
    else if (!strcmp(a, "size")) o_size = atoi(v);
    else if (!strcmp(a, "pid")) o_pid = atoi(v);
    else if (!strcmp(a, "inflight")) o_inflight = atoi(v);
    else if (!strcmp(a, "spin")) o_spin = atoi(v);
    else if (!strcmp(a, "warmup")) o_warmup = atof(v);
    else if (!strcmp(a, "seconds")) o_seconds = atof(v);
    else if (!strcmp(a, "timeout")) o_timeout = atof(v);
    else if (!strcmp(a, "settle")) o_settle = atof(v);
    else {
      fprintf(stderr, "unknown option --%s\n", a);
      return 2;
    }
  }
  /* bounded in count and time, loopback only */
  if (o_port <= 0 || o_port > 65535) fail("%s", "--port is required");
  if (o_conns < 1 || o_conns > 60000) fail("%s", "--conns must be in 1..60000");
  if (o_size < 1 || o_size > 16 * 1024 * 1024) fail("%s", "--size must be in 1..16 MiB");
  if (o_seconds <= 0 || o_seconds > 600 || o_warmup < 0 || o_warmup > 600) fail("%s", "--seconds/--warmup out of range");
  if (o_timeout <= 0 || o_timeout > 600 || o_settle < 0 || o_settle > 60) fail("%s", "--timeout/--settle out of range");
  if (o_inflight < 1) o_inflight = 1;
  target.sin_family = AF_INET;
  target.sin_port = htons((uint16_t)o_port);
  if (inet_pton(AF_INET, o_host, &target.sin_addr) != 1) fail("bad host %s", o_host);
  if ((ntohl(target.sin_addr.s_addr) >> 24) != 127) fail("%s", "loopback only: --host must be 127.x.x.x");
  if (!strcmp(o_mode, "pingpong")) return pingpong();
  if (!strcmp(o_mode, "hold")) return hold();
  fail("unknown --mode=%s", o_mode);
  return 2;
}
