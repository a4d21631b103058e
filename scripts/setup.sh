#!/usr/bin/env bash
# Installs what leaklab needs on Debian 12 / Ubuntu: the Debian packages for
# building kernels, making guest images and running QEMU, then the npm
# dependencies. Safe to run again: apt and npm skip what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  qemu-system-x86            # the QEMU guests
  docker.io                  # container guests (leaklab run --backend docker)
  mmdebstrap cpio            # guest images (Debian userspace as an initramfs)
  kmod                       # depmod for distribution kernels' modules
  build-essential flex bison bc libelf-dev libssl-dev  # kernel builds
  ccache                     # kernel builds of one config share compiled files across source trees
  linux-source-6.1 linux-source-6.12  # the catalog's v6.1 and v6.12 kernels are built from them
  python3-kconfiglib         # says why a config option was dropped, from the kernel's own Kconfig
  rpm2cpio                   # kernels that come as RPM files (catalog rpm: entries)
  xz-utils patch git ca-certificates
)
# For `npm test` only: the HTML report is opened in headless Chromium,
# JUnit is checked with xmllint, kernel RPMs are made with rpmbuild. --no-test-tools leaves them out (the
# GitHub action, which only runs scenarios, passes it).
TEST_PACKAGES=(chromium libxml2-utils rpm)   # rpm: rpmbuild makes the kernel RPMs of the RPM tests
if [ "${1:-}" != "--no-test-tools" ]; then PACKAGES+=("${TEST_PACKAGES[@]}"); fi

# Node.js 20+ must come first: Debian 12's own nodejs is 18.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: leaklab needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "setup: install it (e.g. from NodeSource's Debian packages or with nvm), then run this again." >&2
  exit 2
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund
fi
echo "setup: done" >&2
