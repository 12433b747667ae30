/*
 * udp-batch: the native part of Meridian's batched UDP path (src/dns/udp-batched.ts).
 *
 * A Node-API addon (stable ABI: one build loads on every Node with N-API 8, so on Node 20 and
 * Node 24 alike) that owns one UDP socket and moves datagrams in batches:
 *
 *   readable (uv_poll) → recvmmsg() up to BATCH datagrams into a receive arena
 *                      → one call into JavaScript: onBatch(n), which answers them and writes the
 *                        answers into a send arena, returning how many it wrote
 *                      → sendmmsg() of those answers, each to the address its query came from
 *
 * so the cost per datagram is a slice of two system calls and of one trip into JavaScript, and
 * the client address reaches JavaScript as bytes (family, port, 16 address octets), not a string.
 *
 * Memory shared with JavaScript (ArrayBuffers made here, written by C, read and written by JS):
 *   recv   BATCH × SLOT octets: datagram i at i × SLOT
 *   lens   BATCH int32: datagram i's length
 *   addrs  BATCH × ADDR_STRIDE octets: [0] family (4 or 6), [2..3] port (big endian),
 *          [4..19] the address (IPv4 in the first four octets)
 *   send   SEND_ARENA octets: the answers, packed
 *   meta   SEND_MAX × 3 int32: answer j is (slot of the query it answers, offset in send, length)
 *
 * The contents of recv, lens and addrs are valid only during onBatch: the next recvmmsg()
 * overwrites them. JavaScript calls flush(handle, count) itself when the send arena or meta fills
 * up inside one batch.
 *
 * Replies leave from the address the query was sent to: on a socket bound to a wildcard address
 * (0.0.0.0, ::) the destination of each query comes in IP_PKTINFO / IPV6_PKTINFO and goes back out
 * as the reply's source (RFC 1122 §4.1.3.5 asks a UDP reply's source to be the request's
 * destination; a multi-homed host breaks resolvers that check it, as they should: RFC 5452 §9.1).
 *
 * When the send buffer is full (EAGAIN), unsent answers are copied into a bounded queue and
 * sent when the socket is writable again, in order; beyond PENDING_MAX they are dropped and
 * counted. SO_RXQ_OVFL reports the datagrams the kernel dropped because the receive buffer was
 * full; stats() returns it with the other counters.
 *
 * Built by scripts/build-native.mjs with `cc` against Node's headers (no node-gyp, nothing
 * downloaded); optional: without it Meridian uses node:dgram.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define SLOT 65536
#define ADDR_STRIDE 20
#define SEND_ARENA (256 * 1024)
#define SEND_MAX 256
#define PENDING_MAX 8192
#define ROUNDS 4
#define CTL_SIZE 128

typedef union {
  char buf[CTL_SIZE];
  struct cmsghdr align;
} ctl_t;

/* Where a query was sent to (for the reply's source), when the socket asked for it. */
typedef struct {
  int family; /* 0: unknown */
  struct in_pktinfo v4;
  struct in6_pktinfo v6;
} dst_t;

/* An answer waiting for the socket to become writable again. */
typedef struct pending_s {
  struct pending_s *next;
  struct sockaddr_storage to;
  socklen_t tolen;
  dst_t dst;
  size_t len;
  uint8_t data[];
} pending_t;

typedef struct {
  napi_env env;
  uv_poll_t *poll;
  int fd;
  int open;          /* polling, fd open */
  int handle_closed; /* uv_close has called back */
  int orphan;        /* finalized before the handle closed: free on close */
  int pktinfo;       /* 0, 4 or 6: the socket reports destinations */
  int events;
  napi_ref self;     /* strong while open: the JS object holds the shared buffers */
  napi_ref cb;
  napi_async_context actx;
  uint8_t *recv;
  int32_t *lens;
  uint8_t *addrs;
  uint8_t *send;
  int32_t *meta;
  int last_n; /* datagrams of the batch being answered */
  struct mmsghdr rmsg[BATCH];
  struct iovec riov[BATCH];
  struct sockaddr_storage from[BATCH];
  ctl_t rctl[BATCH];
  dst_t dst[BATCH];
  struct mmsghdr smsg[SEND_MAX];
  struct iovec siov[SEND_MAX];
  ctl_t sctl[SEND_MAX];
  const dst_t *sdst[SEND_MAX];
  pending_t *phead, *ptail;
  uint32_t pcount;
  double received, sent, send_errors, send_dropped, batches, recv_errors;
  uint32_t rxq_dropped;
} batch_t;

/* ---- errors ----------------------------------------------------------------------------------- */

/* Throws an Error with a libuv-style code (EADDRINUSE) and the failing system call. */
static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_value code, msg, error, sc;
  char text[256];
  snprintf(text, sizeof text, "%s %s (%s)", syscall, uv_err_name(-err), uv_strerror(-err));
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, error, "syscall", sc);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *text) {
  napi_throw_type_error(env, NULL, text);
  return NULL;
}

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

/* ---- sockets ---------------------------------------------------------------------------------- */

/* Parses a numeric host (IPv4 or IPv6, with a scope id) into `ss`. */
static int parse_host(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  hints.ai_family = AF_UNSPEC;
  if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) return -1;
  memcpy(ss, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  if (ss->ss_family == AF_INET) ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
  else ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
  return 0;
}

static int bound_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
  return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int get_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

static int get_bool(napi_env env, napi_value v) {
  bool b = false;
  napi_get_value_bool(env, v, &b);
  return b;
}

/* Creates a non-blocking socket of `type`, bound to host:port; SO_REUSEPORT when asked. */
static int open_socket(napi_env env, napi_value *argv, int type, int *fd_out, const char **failed) {
  char host[INET6_ADDRSTRLEN + 64];
  size_t hlen = 0;
  int32_t port = 0;
  struct sockaddr_storage ss;
  socklen_t sslen = 0;
  *failed = NULL; /* bad arguments */
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hlen) != napi_ok) return -EINVAL;
  if (get_int(env, argv[1], &port) != 0 || port < 0 || port > 65535) return -EINVAL;
  if (parse_host(host, port, &ss, &sslen) != 0) return -EINVAL;
  *failed = "socket";
  int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) goto fail;
  /* As Node does for its TCP servers: a restart can bind while old connections sit in TIME_WAIT. */
  if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) goto fail;
  *failed = "setsockopt SO_REUSEPORT";
  if (get_bool(env, argv[2]) && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) goto fail;
  *failed = "bind";
  if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) goto fail;
  *fd_out = fd;
  return 0;
fail: {
  int err = errno;
  close(fd);
  return -err;
}
}

static void set_int_prop(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

/*
 * openUdp(host, port, reusePort, recvBufferBytes, sendBufferBytes)
 *   → { fd, port, recvBufferBytes, sendBufferBytes }
 * A bound, non-blocking UDP socket (IPV6_V6ONLY on IPv6). Buffer sizes of 0 keep the system's;
 * the sizes returned are what the kernel reports (Linux doubles what was asked, for its own
 * bookkeeping, and caps the request at net.core.rmem_max / wmem_max).
 */
static napi_value open_udp(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return throw_type(env, "openUdp(host, port, reusePort, recvBufferBytes, sendBufferBytes)");
  int fd = -1;
  const char *failed = NULL;
  int err = open_socket(env, argv, SOCK_DGRAM, &fd, &failed);
  if (err != 0 && failed == NULL) return throw_type(env, "openUdp: host must be an IP address and port 0-65535");
  if (err != 0) return throw_errno(env, -err, failed);
  int32_t rcv = 0, snd = 0;
  get_int(env, argv[3], &rcv);
  get_int(env, argv[4], &snd);
  if (rcv > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  if (snd > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
  int v = 0;
  socklen_t vl = sizeof v;
  napi_value out;
  CHECK(napi_create_object(env, &out));
  set_int_prop(env, out, "fd", fd);
  set_int_prop(env, out, "port", bound_port(fd));
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &vl);
  set_int_prop(env, out, "recvBufferBytes", v);
  vl = sizeof v;
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &vl);
  set_int_prop(env, out, "sendBufferBytes", v);
  return out;
}

/*
 * openTcp(host, port, reusePort) → { fd, port }
 * A bound (not yet listening), non-blocking TCP socket, for `net.Server.listen({ fd })`: how a
 * DNS worker shares the TCP port on a Node without `reusePort` in node:net (Node 20).
 */
static napi_value open_tcp(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return throw_type(env, "openTcp(host, port, reusePort)");
  int fd = -1;
  const char *failed = NULL;
  int err = open_socket(env, argv, SOCK_STREAM, &fd, &failed);
  if (err != 0 && failed == NULL) return throw_type(env, "openTcp: host must be an IP address and port 0-65535");
  if (err != 0) return throw_errno(env, -err, failed);
  napi_value out;
  CHECK(napi_create_object(env, &out));
  set_int_prop(env, out, "fd", fd);
  set_int_prop(env, out, "port", bound_port(fd));
  return out;
}

/* closeFd(fd): for a socket that was opened but will not be used. */
static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || get_int(env, argv[0], &fd) != 0 || fd < 0) return throw_type(env, "closeFd(fd)");
  close(fd);
  return NULL;
}

/* ---- receiving -------------------------------------------------------------------------------- */

static void prepare_recv(batch_t *b) {
  for (int i = 0; i < BATCH; i++) {
    struct msghdr *h = &b->rmsg[i].msg_hdr;
    b->riov[i].iov_base = b->recv + (size_t)i * SLOT;
    b->riov[i].iov_len = SLOT;
    h->msg_name = &b->from[i];
    h->msg_namelen = sizeof b->from[i];
    h->msg_iov = &b->riov[i];
    h->msg_iovlen = 1;
    h->msg_control = b->rctl[i].buf;
    h->msg_controllen = CTL_SIZE;
    h->msg_flags = 0;
    b->rmsg[i].msg_len = 0;
  }
}

/* Receives up to BATCH datagrams and fills lens/addrs; returns how many (0 when none). */
static int receive(batch_t *b) {
  prepare_recv(b);
  int n;
  do n = recvmmsg(b->fd, b->rmsg, BATCH, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n <= 0) {
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) b->recv_errors++;
    return 0;
  }
  for (int i = 0; i < n; i++) {
    struct msghdr *h = &b->rmsg[i].msg_hdr;
    uint8_t *a = b->addrs + (size_t)i * ADDR_STRIDE;
    memset(a, 0, ADDR_STRIDE);
    /* A slot holds the largest UDP payload there is (65,527 octets), so nothing is truncated. */
    b->lens[i] = (int32_t)b->rmsg[i].msg_len;
    if (b->from[i].ss_family == AF_INET) {
      struct sockaddr_in *s = (struct sockaddr_in *)&b->from[i];
      a[0] = 4;
      memcpy(a + 2, &s->sin_port, 2);
      memcpy(a + 4, &s->sin_addr, 4);
    } else if (b->from[i].ss_family == AF_INET6) {
      struct sockaddr_in6 *s = (struct sockaddr_in6 *)&b->from[i];
      a[0] = 6;
      memcpy(a + 2, &s->sin6_port, 2);
      memcpy(a + 4, &s->sin6_addr, 16);
    }
    b->dst[i].family = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        memcpy(&b->dst[i].v4, CMSG_DATA(c), sizeof(struct in_pktinfo));
        b->dst[i].family = 4;
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        memcpy(&b->dst[i].v6, CMSG_DATA(c), sizeof(struct in6_pktinfo));
        b->dst[i].family = 6;
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        memcpy(&b->rxq_dropped, CMSG_DATA(c), sizeof(uint32_t));
      }
    }
  }
  b->received += n;
  b->batches++;
  return n;
}

/* ---- sending ---------------------------------------------------------------------------------- */

/* Fills a message header for `len` octets at `data` to `to`, from `dst` when known. */
static void fill_send(struct mmsghdr *m, struct iovec *iov, ctl_t *ctl, const uint8_t *data, size_t len, const struct sockaddr_storage *to,
                      socklen_t tolen, const dst_t *dst) {
  struct msghdr *h = &m->msg_hdr;
  memset(h, 0, sizeof *h);
  iov->iov_base = (void *)data;
  iov->iov_len = len;
  h->msg_name = (void *)to;
  h->msg_namelen = tolen;
  h->msg_iov = iov;
  h->msg_iovlen = 1;
  m->msg_len = 0;
  if (dst->family == 4) {
    h->msg_control = ctl->buf;
    h->msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
    struct cmsghdr *c = CMSG_FIRSTHDR(h);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    pi.ipi_spec_dst = dst->v4.ipi_addr; /* the address the query was sent to */
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
  } else if (dst->family == 6) {
    h->msg_control = ctl->buf;
    h->msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
    struct cmsghdr *c = CMSG_FIRSTHDR(h);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
    memcpy(CMSG_DATA(c), &dst->v6, sizeof(struct in6_pktinfo)); /* address and interface */
  }
}

static socklen_t addr_len(const struct sockaddr_storage *ss) {
  return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* Copies an answer into the pending queue; false when the queue is full (the answer is dropped). */
static int enqueue(batch_t *b, const uint8_t *data, size_t len, const struct sockaddr_storage *to, socklen_t tolen, const dst_t *dst) {
  if (b->pcount >= PENDING_MAX) {
    b->send_dropped++;
    return 0;
  }
  pending_t *p = malloc(sizeof(pending_t) + len);
  if (p == NULL) {
    b->send_dropped++;
    return 0;
  }
  p->next = NULL;
  memcpy(&p->to, to, tolen);
  p->tolen = tolen;
  p->dst = *dst;
  p->len = len;
  memcpy(p->data, data, len);
  if (b->ptail) b->ptail->next = p;
  else b->phead = p;
  b->ptail = p;
  b->pcount++;
  return 1;
}

/*
 * Sends messages [0, n) of smsg; returns how many left the socket (sent or failed for good).
 * Stops at the first EAGAIN: the rest wait for writability.
 */
static int send_some(batch_t *b, int n) {
  int i = 0;
  while (i < n) {
    int r = sendmmsg(b->fd, b->smsg + i, (unsigned)(n - i), 0);
    if (r > 0) {
      i += r;
      b->sent += r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) break;
    /* This message cannot be sent (an address the kernel refuses): count it and go on. */
    b->send_errors++;
    i++;
  }
  return i;
}

/* Sends what waits in the queue, in order, until it is empty or the socket is full again. */
static void flush_pending(batch_t *b) {
  while (b->phead && b->open) {
    int n = 0;
    pending_t *p = b->phead;
    for (; p != NULL && n < SEND_MAX; p = p->next, n++) fill_send(&b->smsg[n], &b->siov[n], &b->sctl[n], p->data, p->len, &p->to, p->tolen, &p->dst);
    int done = send_some(b, n);
    for (int k = 0; k < done; k++) {
      pending_t *q = b->phead;
      b->phead = q->next;
      free(q);
      b->pcount--;
    }
    if (b->phead == NULL) b->ptail = NULL;
    if (done < n) break;
  }
}

/* Sends the `count` answers JavaScript described in meta. */
static void send_answers(batch_t *b, int count) {
  if (!b->open || count <= 0) return;
  if (count > SEND_MAX) count = SEND_MAX;
  if (b->phead) flush_pending(b);
  int n = 0;
  for (int j = 0; j < count; j++) {
    int32_t slot = b->meta[j * 3], off = b->meta[j * 3 + 1], len = b->meta[j * 3 + 2];
    if (slot < 0 || slot >= b->last_n || off < 0 || len <= 0 || (int64_t)off + len > SEND_ARENA) {
      b->send_errors++;
      continue;
    }
    const struct sockaddr_storage *to = &b->from[slot];
    b->sdst[n] = &b->dst[slot];
    fill_send(&b->smsg[n], &b->siov[n], &b->sctl[n], b->send + off, (size_t)len, to, addr_len(to), &b->dst[slot]);
    n++;
  }
  /* Keep the order: behind a queue, new answers queue too. */
  int done = b->phead ? 0 : send_some(b, n);
  for (int k = done; k < n; k++) {
    struct msghdr *h = &b->smsg[k].msg_hdr;
    enqueue(b, h->msg_iov->iov_base, h->msg_iov->iov_len, (const struct sockaddr_storage *)h->msg_name, h->msg_namelen, b->sdst[k]);
  }
}

/* ---- the poll loop ---------------------------------------------------------------------------- */

/* Calls onBatch(n) and returns the number of answers it wrote (0 on an exception, which is rethrown as uncaught). */
static int call_js(batch_t *b, int n) {
  napi_env env = b->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return 0;
  int32_t count = 0;
  napi_value cb, self, arg, result;
  if (napi_get_reference_value(env, b->cb, &cb) == napi_ok && napi_get_reference_value(env, b->self, &self) == napi_ok &&
      napi_create_int32(env, n, &arg) == napi_ok) {
    napi_status s = napi_make_callback(env, b->actx, self, cb, 1, &arg, &result);
    if (s == napi_ok) {
      if (napi_get_value_int32(env, result, &count) != napi_ok) count = 0;
    } else {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);
      }
      count = 0;
    }
  }
  napi_close_handle_scope(env, scope);
  return count;
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  batch_t *b = handle->data;
  if (!b->open) return;
  if (status < 0) {
    b->recv_errors++;
    return;
  }
  if (events & UV_WRITABLE) flush_pending(b);
  if (events & UV_READABLE) {
    for (int round = 0; round < ROUNDS && b->open; round++) {
      int n = receive(b);
      if (n == 0) break;
      b->last_n = n;
      int count = call_js(b, n);
      send_answers(b, count);
      b->last_n = 0;
      if (n < BATCH) break;
    }
  }
  if (b->open) {
    int want = UV_READABLE | (b->phead ? UV_WRITABLE : 0);
    if (want != b->events) {
      b->events = want;
      uv_poll_start(b->poll, want, on_poll);
    }
  }
}

/* ---- lifetime --------------------------------------------------------------------------------- */

static void free_pending(batch_t *b) {
  while (b->phead) {
    pending_t *q = b->phead;
    b->phead = q->next;
    free(q);
  }
  b->ptail = NULL;
  b->pcount = 0;
}

static void on_closed(uv_handle_t *handle) {
  batch_t *b = handle->data;
  free(b->poll);
  b->poll = NULL;
  b->handle_closed = 1;
  if (b->orphan) {
    free(b);
    return;
  }
  napi_delete_reference(b->env, b->cb);
  napi_async_destroy(b->env, b->actx);
  napi_delete_reference(b->env, b->self); /* the object may now be collected, and b with it */
}

static void stop(batch_t *b) {
  if (!b->open) return;
  b->open = 0;
  uv_poll_stop(b->poll);
  close(b->fd);
  b->fd = -1;
  free_pending(b);
  uv_close((uv_handle_t *)b->poll, on_closed);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  batch_t *b = data;
  if (b->open) {
    /* Only at environment teardown (an open handle holds its object strongly). */
    b->open = 0;
    uv_poll_stop(b->poll);
    close(b->fd);
    free_pending(b);
    b->orphan = 1;
    return; /* the handle may still be in the loop: leave its memory */
  }
  if (b->handle_closed) free(b);
  else b->orphan = 1;
}

static napi_value make_buffer(napi_env env, napi_value obj, const char *name, size_t size, void **data) {
  napi_value ab;
  if (napi_create_arraybuffer(env, size, data, &ab) != napi_ok) return NULL;
  if (napi_set_named_property(env, obj, name, ab) != napi_ok) return NULL;
  return ab;
}

/*
 * attach(fd, onBatch) → handle
 * Starts polling a UDP socket made by openUdp. The handle carries the shared buffers (recv,
 * lens, addrs, send, meta) as properties; onBatch(n) is called with `this` = the handle.
 */
static napi_value attach(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  napi_valuetype t;
  if (argc < 2 || get_int(env, argv[0], &fd) != 0 || fd < 0) return throw_type(env, "attach(fd, onBatch)");
  CHECK(napi_typeof(env, argv[1], &t));
  if (t != napi_function) return throw_type(env, "attach: onBatch must be a function");
  int type = 0;
  socklen_t tl = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0) return throw_errno(env, errno, "getsockopt SO_TYPE");
  if (type != SOCK_DGRAM) return throw_type(env, "attach: not a UDP socket");

  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) return throw_errno(env, errno, "getsockname");
  int one = 1, pktinfo = 0;
  if (ss.ss_family == AF_INET && ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY)) {
    if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) != 0) return throw_errno(env, errno, "setsockopt IP_PKTINFO");
    pktinfo = 4;
  } else if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr)) {
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) != 0) return throw_errno(env, errno, "setsockopt IPV6_RECVPKTINFO");
    pktinfo = 6;
  }
  /* Best effort: a kernel without it just reports no receive drops. */
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);

  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  batch_t *b = calloc(1, sizeof(batch_t));
  if (b == NULL) return throw_errno(env, ENOMEM, "calloc");
  b->env = env;
  b->fd = fd;
  b->pktinfo = pktinfo;
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) goto fail;
  if (!make_buffer(env, obj, "recv", (size_t)BATCH * SLOT, (void **)&b->recv) || !make_buffer(env, obj, "lens", BATCH * sizeof(int32_t), (void **)&b->lens) ||
      !make_buffer(env, obj, "addrs", BATCH * ADDR_STRIDE, (void **)&b->addrs) || !make_buffer(env, obj, "send", SEND_ARENA, (void **)&b->send) ||
      !make_buffer(env, obj, "meta", SEND_MAX * 3 * sizeof(int32_t), (void **)&b->meta))
    goto fail;
  if (napi_wrap(env, obj, b, finalize, NULL, NULL) != napi_ok) goto fail;
  napi_value name;
  napi_create_string_utf8(env, "MeridianUdpBatch", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, obj, name, &b->actx);
  napi_create_reference(env, argv[1], 1, &b->cb);
  napi_create_reference(env, obj, 1, &b->self);
  b->poll = malloc(uv_handle_size(UV_POLL));
  if (b->poll == NULL || uv_poll_init(loop, b->poll, fd) != 0) {
    /* The wrap owns b now; mark it closed so the finalizer frees it. */
    free(b->poll);
    b->poll = NULL;
    b->handle_closed = 1;
    napi_delete_reference(env, b->cb);
    napi_async_destroy(env, b->actx);
    napi_delete_reference(env, b->self);
    return throw_errno(env, EINVAL, "uv_poll_init");
  }
  b->poll->data = b;
  b->open = 1;
  b->events = UV_READABLE;
  uv_poll_start(b->poll, UV_READABLE, on_poll);
  return obj;
fail:
  free(b);
  return NULL;
}

static batch_t *unwrap(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_unwrap(env, v, &data) != napi_ok) return NULL;
  return data;
}

/* flush(handle, count): sends the first `count` answers in meta now (the arena or meta is full). */
static napi_value flush(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t count = 0;
  batch_t *b = argc >= 2 ? unwrap(env, argv[0]) : NULL;
  if (b == NULL || get_int(env, argv[1], &count) != 0) return throw_type(env, "flush(handle, count)");
  send_answers(b, count);
  return NULL;
}

/* close(handle): stops polling and closes the socket (idempotent). */
static napi_value close_handle(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  batch_t *b = argc >= 1 ? unwrap(env, argv[0]) : NULL;
  if (b == NULL) return throw_type(env, "close(handle)");
  stop(b);
  return NULL;
}

/* stats(handle) → counters since attach. */
static napi_value stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  batch_t *b = argc >= 1 ? unwrap(env, argv[0]) : NULL;
  if (b == NULL) return throw_type(env, "stats(handle)");
  napi_value out;
  CHECK(napi_create_object(env, &out));
  set_int_prop(env, out, "received", b->received);
  set_int_prop(env, out, "sent", b->sent);
  set_int_prop(env, out, "batches", b->batches);
  set_int_prop(env, out, "sendErrors", b->send_errors);
  set_int_prop(env, out, "sendDropped", b->send_dropped);
  set_int_prop(env, out, "receiveErrors", b->recv_errors);
  set_int_prop(env, out, "receiveDropped", b->rxq_dropped);
  set_int_prop(env, out, "pending", b->pcount);
  set_int_prop(env, out, "replySource", b->pktinfo);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
    {"openUdp", NULL, open_udp, NULL, NULL, NULL, napi_enumerable, NULL},
    {"openTcp", NULL, open_tcp, NULL, NULL, NULL, napi_enumerable, NULL},
    {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
    {"attach", NULL, attach, NULL, NULL, NULL, napi_enumerable, NULL},
    {"flush", NULL, flush, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, close_handle, NULL, NULL, NULL, napi_enumerable, NULL},
    {"stats", NULL, stats, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok) return NULL;
  set_int_prop(env, exports, "BATCH", BATCH);
  set_int_prop(env, exports, "SLOT", SLOT);
  set_int_prop(env, exports, "ADDR_STRIDE", ADDR_STRIDE);
  set_int_prop(env, exports, "SEND_ARENA", SEND_ARENA);
  set_int_prop(env, exports, "SEND_MAX", SEND_MAX);
  set_int_prop(env, exports, "PENDING_MAX", PENDING_MAX);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
