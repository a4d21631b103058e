/*
 * leaklab-tcp: opens and closes COUNT TCP connections, one after another,
 * each sending BYTES that the server reads to the end. leaklab runs it in
 * the guest for `traffic: { protocol: tcp }`; the connections are counted
 * by the guest's kernel (Tcp ActiveOpens / PassiveOpens), not by this tool.
 *
 * One process, two namespaces: the listening socket is made in the server's
 * network namespace, then the process forks: the child accepts, the parent
 * connects from the client's namespace (a socket keeps the namespace it was
 * made in). Listening before the fork means the first connect never races
 * the server. Both ends close normally (FIN both ways); leaklab turns
 * TIME_WAIT off in the guest's namespaces so a closed connection keeps no
 * socket for 60 s. alarm() bounds the whole run: a path that drops the
 * connections ends it with an error instead of a hang.
 *
 *   leaklab-tcp -4|-6 CLIENT_NS SERVER_NS ADDR PORT COUNT BYTES SECONDS [SOURCE]
 *
 * CLIENT_NS / SERVER_NS: a network namespace file (/run/netns/peer,
 * /proc/1/ns/net) or "-" for the namespace it was started in.
 * Exit 0 when all COUNT connections were made and closed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The server's pid in the client: a client that fails takes the server with it, so nothing is left accepting. */
static pid_t server_pid;

static void die(const char *what) {
  fprintf(stderr, "leaklab-tcp: %s: %s\n", what, strerror(errno));
  if (server_pid > 0) kill(server_pid, SIGKILL);
  exit(2);
}

/* "-" is the namespace the tool was started in: opened too, since the other end may have been entered before it. */
static int open_ns(const char *path) {
  int fd = open(strcmp(path, "-") == 0 ? "/proc/self/ns/net" : path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(path);
  return fd;
}

static void enter_ns(int fd, const char *path) {
  if (setns(fd, CLONE_NEWNET) < 0) die(path);
}

/* ADDR and PORT as a socket address of the family; port 0 for a source address. */
static socklen_t make_addr(int family, const char *text, int port, struct sockaddr_storage *out) {
  memset(out, 0, sizeof(*out));
  if (family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, text, &a->sin6_addr) != 1) {
      fprintf(stderr, "leaklab-tcp: not an IPv6 address: %s\n", text);
      exit(2);
    }
    return sizeof(*a);
  }
  struct sockaddr_in *a = (struct sockaddr_in *)out;
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  if (inet_pton(AF_INET, text, &a->sin_addr) != 1) {
    fprintf(stderr, "leaklab-tcp: not an IPv4 address: %s\n", text);
    exit(2);
  }
  return sizeof(*a);
}

/* Reads until the peer closes; returns the bytes read. */
static long drain(int fd) {
  char buf[16384];
  long total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n == 0) return total;
    if (n < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    total += n;
  }
}

static void send_all(int fd, long bytes) {
  static char zeros[16384];
  while (bytes > 0) {
    ssize_t n = write(fd, zeros, bytes < (long)sizeof(zeros) ? (size_t)bytes : sizeof(zeros));
    if (n < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    bytes -= n;
  }
}

static void serve(int listener, long count, long bytes) {
  for (long i = 0; i < count; i++) {
    int c = accept(listener, NULL, NULL);
    if (c < 0) die("accept");
    long got = drain(c);
    if (got != bytes) {
      fprintf(stderr, "leaklab-tcp: connection %ld sent %ld bytes, not %ld\n", i + 1, got, bytes);
      exit(2);
    }
    close(c);
  }
  exit(0);
}

static void connect_all(int family, struct sockaddr_storage *to, socklen_t tolen, const char *source, long count, long bytes) {
  struct sockaddr_storage src;
  socklen_t srclen = source ? make_addr(family, source, 0, &src) : 0;
  for (long i = 0; i < count; i++) {
    int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) die("socket");
    if (source && bind(s, (struct sockaddr *)&src, srclen) < 0) die("bind to the source address");
    if (connect(s, (struct sockaddr *)to, tolen) < 0) die("connect");
    send_all(s, bytes);
    if (shutdown(s, SHUT_WR) < 0) die("shutdown");
    drain(s);
    close(s);
  }
}

int main(int argc, char **argv) {
  if (argc < 9 || argc > 10 || (strcmp(argv[1], "-4") != 0 && strcmp(argv[1], "-6") != 0)) {
    fprintf(stderr, "usage: leaklab-tcp -4|-6 CLIENT_NS SERVER_NS ADDR PORT COUNT BYTES SECONDS [SOURCE]\n");
    return 2;
  }
  int family = strcmp(argv[1], "-6") == 0 ? AF_INET6 : AF_INET;
  const char *client_ns = argv[2], *server_ns = argv[3], *addr = argv[4];
  int port = atoi(argv[5]);
  long count = atol(argv[6]), bytes = atol(argv[7]);
  unsigned seconds = (unsigned)atoi(argv[8]);
  const char *source = argc == 10 ? argv[9] : NULL;
  alarm(seconds); /* a fork does not inherit it: the server sets its own below */

  /* Both namespaces are opened before either is entered: a path is resolved in the mount namespace, not the network one. */
  int client_fd = open_ns(client_ns), server_fd = open_ns(server_ns);
  struct sockaddr_storage to;
  socklen_t tolen = make_addr(family, addr, port, &to);

  enter_ns(server_fd, server_ns);
  int listener = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) die("socket");
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(listener, (struct sockaddr *)&to, tolen) < 0) die("bind the server to ADDR PORT");
  if (listen(listener, 128) < 0) die("listen");

  pid_t server = fork();
  if (server < 0) die("fork");
  if (server == 0) {
    alarm(seconds);
    serve(listener, count, bytes);
  }
  server_pid = server;
  close(listener);
  enter_ns(client_fd, client_ns);
  connect_all(family, &to, tolen, source, count, bytes);
  int status;
  if (waitpid(server, &status, 0) < 0) die("waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "leaklab-tcp: the server ended with status %d\n", status);
    return 2;
  }
  printf("connections %ld\n", count);
  return 0;
}
