#!/usr/bin/env bash
# Installs berth on a Debian machine and starts berthd.
#   scripts/install.sh             install everything, then start berthd
#   scripts/install.sh --no-start  install only (CI, packaging)
#   scripts/install.sh --uninstall remove what this script installed (data is kept)
# Idempotent: running it again only does what is missing.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
prefix="${PREFIX:-/usr/local}"
start=1
case "${1:-}" in
  --no-start) start=0 ;;
  --uninstall)
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
      systemctl disable --now berthd.service 2>/dev/null || true
      systemctl disable --now berthd.socket 2>/dev/null || true
    fi
    rm -f "$prefix/bin/berthd" /etc/systemd/system/berthd.service /etc/systemd/system/berthd.socket
    echo "berth uninstalled (kept /etc/berth and /var/lib/berth)"
    exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--no-start|--uninstall]" >&2; exit 2 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
  echo "berth must be installed as root (it runs containers): sudo $0 $*" >&2
  exit 1
fi

node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$node_major" -lt 20 ]; then
  echo "berth needs Node.js 20 or newer on PATH (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# Debian packages: the container runtime stack, busybox (static: the tar
# that docker cp unpacks with inside a container's root, and offline test
# images), procps for `docker top`, socat for sd_notify outside systemd tests,
# openssl for the TLS tests and the README's certificate recipe;
# docker-registry (a loopback registry) and htpasswd for the pull/push tests;
# networking: ip and iptables for berth's bridges and rules, the CNI plugins
# (in /usr/lib/cni, not on PATH), wrk for the port benchmark; tini for --init
# (its static build is bind-mounted into containers); mount, tar, xz and bzip2
# for docker build (COPY into snapshots, ADD archives), docker-compose for the
# build and compose tests; python3 binds the embedded name server's sockets
# in each container's namespace (node does it too, at six times the cost)
# and enters a container's root for that tar (without it, berthd unpacks
# uploads itself).
need=()
for pair in containerd:containerd runc:runc busybox:busybox-static ps:procps socat:socat mkfifo:coreutils openssl:openssl docker-registry:docker-registry htpasswd:apache2-utils ip:iproute2 iptables:iptables wrk:wrk tini-static:tini mount:mount tar:tar xz:xz-utils bzip2:bzip2 docker-compose:docker-compose; do
  cmd="${pair%%:*}" pkg="${pair#*:}"
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
[ -x /usr/bin/python3 ] || need+=(python3-minimal)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

cd "$repo"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent

install -d -m 0755 "$prefix/bin" /etc/berth
ln -sfn "$repo/bin/berthd" "$prefix/bin/berthd"
[ -f /etc/berth/daemon.json ] || install -m 0644 "$repo/packaging/daemon.json" /etc/berth/daemon.json
install -m 0644 "$repo/packaging/daemon.json.example" /etc/berth/daemon.json.example
# The API socket's group (members may use berth without sudo), as the socket unit names it.
getent group berth >/dev/null || groupadd --system berth
if [ -d /etc/systemd/system ]; then
  sed "s#@BERTHD@#$prefix/bin/berthd#g" "$repo/packaging/berthd.service" > /etc/systemd/system/berthd.service
  install -m 0644 "$repo/packaging/berthd.socket" /etc/systemd/system/berthd.socket
fi
echo "installed berthd -> $prefix/bin/berthd"

[ "$start" -eq 1 ] || exit 0
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now berthd.socket
  systemctl enable --now berthd.service
  echo "berthd is running under systemd: DOCKER_HOST=unix:///run/berth/berth.sock docker info"
else
  echo "starting berthd in the foreground (no systemd here): DOCKER_HOST=unix:///run/berth/berth.sock docker info"
  exec "$prefix/bin/berthd"
fi
