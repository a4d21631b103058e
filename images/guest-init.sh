#!/bin/busybox sh
# leaklab guest init: PID 1 inside every QEMU guest, and inside every
# container (LEAKLAB_GUEST=container, set by the container image).
# Mounts the kernel's filesystems (a container has them already), makes
# Debian's tools callable by their usual names, then, in a QEMU guest,
# serves QEMU's guest agent protocol on the second serial port (ttyS1) so
# the host can run commands and read their exit status and output; in a
# container, sleeps (the host runs commands with docker exec).
# It never exits: PID 1 exiting would panic the guest (or stop the container).
BB=/bin/busybox
if [ "$LEAKLAB_GUEST" != container ]; then
  $BB mkdir -p /proc /sys /dev /run /tmp /var/run
  $BB mount -t proc proc /proc
  $BB mount -t sysfs sysfs /sys
  $BB mount -t devtmpfs devtmpfs /dev 2>/dev/null
  $BB mount -t tmpfs tmpfs /run
  $BB mount -t tmpfs tmpfs /tmp
fi
$BB mkdir -p /bb /run/netns /tmp
# Busybox applets go last on PATH: iproute2's ip, iputils' ping and
# nftables' nft must win over busybox's cut-down versions.
$BB --install -s /bb
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/bb
# Debian's alternatives are set by maintainer scripts, which an extracted
# image never runs: point the iptables names at the nft-based binaries.
for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  [ -e /usr/sbin/$t ] || $BB ln -s xtables-nft-multi /usr/sbin/$t
done
# /bin/sh must be dash: busybox's sh prefers its own applets over PATH, so
# `ip` or `ping` in a scenario would silently be busybox's cut-down ones.
$BB ln -sf dash /bin/sh
if [ "$LEAKLAB_GUEST" = container ]; then
  $BB touch /run/leaklab-ready
  exec $BB sleep 2147483647
fi
$BB hostname leaklab-guest
# Load the modules leaklab packed for this kernel (none for built-in kernels).
if [ -f /leaklab/modules.load ]; then
  while read -r m; do /usr/sbin/modprobe "$m" || echo "leaklab-init: modprobe $m failed"; done < /leaklab/modules.load
fi
$BB ip link set lo up 2>/dev/null || /usr/bin/ip link set lo up
echo "leaklab-init: starting guest agent on ttyS1 ($($BB uname -r))"
while true; do
  /usr/sbin/qemu-ga -m isa-serial -p /dev/ttyS1 -t /run -f /run/qemu-ga.pid
  echo "leaklab-init: guest agent exited ($?), restarting"
  $BB sleep 1
done
