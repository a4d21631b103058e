/*
 * One iteration of the TX-timestamp zerocopy leak's trigger (see README,
 * "The second case"): a UDP socket asks for software TX timestamps and
 * MSG_ZEROCOPY, sends one empty datagram to the guest's own loopback
 * (port 9, discard: nobody listens, nothing leaves the guest) and is
 * closed with the timestamp still on its error queue. Kernels without
 * upstream 50749f2dd685 never free such a socket.
 *
 *   udp-zerocopy-tstamp [ipv4|ipv6] [leak|drain|no-zerocopy|no-timestamp]
 *
 * The other modes are the controls: `drain` reads the error queue before
 * closing (the timestamp and the zerocopy completion), `no-zerocopy` and
 * `no-timestamp` leave out one of the two ingredients. Exit 0 when every
 * call did what it should, 1 (with the call named) otherwise.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

static int fail(const char *call) {
  perror(call);
  return 1;
}

/* Reads the error queue until it is empty: the send is synchronous on loopback, so what it will hold is there. */
static int drain_error_queue(int fd) {
  char data[256], control[512];
  for (;;) {
    struct iovec iov = { data, sizeof(data) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
    if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return errno == EAGAIN ? 0 : fail("recvmsg(MSG_ERRQUEUE)");
  }
}

int main(int argc, char **argv) {
  const char *family = argc > 1 ? argv[1] : "ipv4";
  const char *mode = argc > 2 ? argv[2] : "leak";
  int v6 = strcmp(family, "ipv6") == 0;
  if (!v6 && strcmp(family, "ipv4") != 0) return fprintf(stderr, "unknown family %s (ipv4 or ipv6)\n", family), 1;
  if (strcmp(mode, "leak") && strcmp(mode, "drain") && strcmp(mode, "no-zerocopy") && strcmp(mode, "no-timestamp"))
    return fprintf(stderr, "unknown mode %s (leak, drain, no-zerocopy or no-timestamp)\n", mode), 1;

  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return fail("socket");
  int timestamping = SOF_TIMESTAMPING_TX_SOFTWARE, on = 1;
  if (strcmp(mode, "no-timestamp") && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &timestamping, sizeof(timestamping)))
    return fail("setsockopt(SO_TIMESTAMPING)");
  int zerocopy = strcmp(mode, "no-zerocopy") != 0;
  if (zerocopy && setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &on, sizeof(on))) return fail("setsockopt(SO_ZEROCOPY)");

  struct sockaddr_in to4 = { .sin_family = AF_INET, .sin_port = htons(9), .sin_addr = { htonl(INADDR_LOOPBACK) } };
  struct sockaddr_in6 to6 = { .sin6_family = AF_INET6, .sin6_port = htons(9), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
  const struct sockaddr *to = v6 ? (const struct sockaddr *)&to6 : (const struct sockaddr *)&to4;
  socklen_t len = v6 ? sizeof(to6) : sizeof(to4);
  if (sendto(fd, "", 0, zerocopy ? MSG_ZEROCOPY : 0, to, len) < 0) return fail("sendto");

  if (strcmp(mode, "drain") == 0 && drain_error_queue(fd)) return 1;
  if (close(fd)) return fail("close");
  return 0;
}
