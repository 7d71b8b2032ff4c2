#!/usr/bin/env bash
# Make sure a Docker engine answers. Where none does and we are root on Debian, install Debian's
# docker.io and start dockerd in the background; install Debian's docker-compose too (the deployment
# test runs docker-compose.yml with it). Exit 0 when the engine answers; 3 with the reason on stderr
# when it cannot here (the Docker tests then skip, or fail under CI=true).
set -euo pipefail
LOG=${GENTRADE_DOCKERD_LOG:-/var/log/gentrade-dockerd.log}

apt_install() {  # package...: quietly, refreshing the package lists once if the first try fails
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}
if ! command -v docker-compose >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's docker-compose" >&2
  apt_install docker-compose || echo "apt-get install docker-compose failed: the deployment test will skip" >&2
fi
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "no Docker engine answers, and only root may install or start one here" >&2
  exit 3
fi
if ! command -v dockerd >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "no Docker engine, and no apt-get to install Debian's docker.io" >&2
    exit 3
  fi
  echo "installing Debian's docker.io" >&2
  apt_install docker.io || {
    echo "apt-get install docker.io failed" >&2
    exit 3
  }
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "starting dockerd (log: $LOG)" >&2
  setsid nohup dockerd >"$LOG" 2>&1 </dev/null &
fi
for _ in $(seq 1 120); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "dockerd did not answer within 60 s; the end of $LOG:" >&2
tail -n 20 "$LOG" >&2 || true
exit 3
