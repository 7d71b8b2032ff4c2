#!/usr/bin/env bash
# `make docker-images`: bring up a Docker engine where we can, then build, offline, the images:
#   gentrade/freqtrade:<version>                  the Freqtrade image the docker runner uses by default
#   gentrade/freqtrade:<version>-official-layout  a test image laid out like freqtradeorg/freqtrade
#   gentrade-backend:local                        the project's own image (API, worker, beat, migrate)
#   gentrade/postgres-standin:15, gentrade/rabbitmq-standin:3.10
#                                                 stand-ins for the official postgres and rabbitmq images,
#                                                 for the compose deployment test on hosts with no registry
# Idempotent: Docker's layer cache keys every step by its inputs (Dockerfile, requirements, base),
# so a second run takes seconds. The base is made offline with debootstrap unless
# GENTRADE_IMAGE_BASE names another (python:3.12-slim, on a host with a registry).
# Exit 3 when no engine can run here (the reason on stderr).
set -euo pipefail
cd "$(dirname "$0")/.."

images/engine.sh
base=${GENTRADE_IMAGE_BASE:-$(images/base-image.sh)}
version=$(sed -n 's/^freqtrade==//p' requirements/freqtrade.txt)
# pip in the build trusts the host's CA bundle (a TLS-intercepting proxy's CA is in it, if any).
ca=${GENTRADE_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}
if [ -f "$ca" ]; then cp "$ca" images/ca/host-ca-certificates.crt; fi

build() {  # tag dockerfile
  local started=$SECONDS
  DOCKER_BUILDKIT=0 docker build --quiet --build-arg "BASE=$base" -t "$1" -f "$2" . >/dev/null 2>images/.build.log \
    || { echo "building $1 failed:" >&2; tail -n 30 images/.build.log >&2; exit 1; }
  echo "$1 ($((SECONDS - started)) s)"
}
build "gentrade/freqtrade:$version" images/freqtrade.Dockerfile
build "gentrade/freqtrade:$version-official-layout" images/freqtrade-official-layout.Dockerfile
build gentrade-backend:local Dockerfile
build gentrade/postgres-standin:15 images/postgres.Dockerfile
build gentrade/rabbitmq-standin:3.10 images/rabbitmq.Dockerfile
